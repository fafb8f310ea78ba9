// The lock over the shared tiers (central lists, page heap, page map writes, the cache registry)
// and the heap's event counters. In the single-threaded build the lock compiles to nothing and
// counters to plain adds. See index.ts for the design.
//
// The lock is a futex-style mutex on HeapHeader.lock (Drepper, "Futexes Are Tricky", mutex 2):
// 0 free, 1 held, 2 held with waiters. A contender spins briefly (critical sections are a batch
// move, well under a microsecond), then sleeps in memory.atomic.wait32 if this instance may
// block, or keeps spinning if it may not (a browser's main thread: set_blocking(0)).
import { THREADS, WASM_PAGE_SHIFT, OFF_REFUSALS, Status } from "./config";
import { pageHeapEnd } from "./pageheap";
import { heapBase } from "./header";

/** THREADS: may this instance block in memory.atomic.wait32? (false on a browser main thread) */
let canBlock: bool = true;

export function setBlocking(allowed: bool): void {
  canBlock = allowed;
}

/** Spins before sleeping: futex sleeps cost several microseconds here (shared/FACTS.md), more
 *  than a batch move holds the lock. Measured (bench/threads, producer/consumer, 2 workers):
 *  128 spins 28.4 Mcalls/s, 4096 spins 42.1; churn unchanged. */
const SPINS: i32 = 4096;

// @ts-ignore: decorator
@inline function lockWord(): usize {
  return heapBase + offsetof<LockedHeader>("lock");
}

@unmanaged class LockedHeader { magic: u32; lock: u32; }

// @ts-ignore: decorator
@inline export function lockHeap(): void {
  if (THREADS) {
    if (atomic.cmpxchg<u32>(lockWord(), 0, 1) != 0) lockSlow();
    // Another instance may have grown memory, and this instance's view of its size can lag
    // (shared/FACTS.md): an access past the stale size would trap while holding the lock, and
    // every other thread would wait forever. memory.grow(0) brings the view up to date.
    if (pageHeapEnd() > <u32>memory.size() << WASM_PAGE_SHIFT) memory.grow(0);
  }
}

function lockSlow(): void {
  const w = lockWord();
  for (let i = 0; i < SPINS; i++) {
    if (atomic.load<u32>(w) == 0 && atomic.cmpxchg<u32>(w, 0, 1) == 0) return;
  }
  // mark the lock contended, then sleep until it is released
  while (atomic.xchg<u32>(w, 2) != 0) pause(w, 2);
}

/** Waits while the word at addr holds `value`: sleeps in memory.atomic.wait32 if this instance
 *  may block, else returns at once for the caller's loop to spin (a browser's main thread). */
export function pause(addr: usize, value: u32): void {
  if (canBlock) memory.atomic.wait32(addr, <i32>value, -1);
}

// @ts-ignore: decorator
@inline export function unlockHeap(): void {
  if (THREADS) {
    if (atomic.sub<u32>(lockWord(), 1) != 1) unlockSlow();
  }
}

function unlockSlow(): void {
  atomic.store<u32>(lockWord(), 0);
  atomic.notify(lockWord(), 1);
}

/** Adds to the heap header's counter of calls refused (or misuse found) with `status`. */
// @ts-ignore: decorator
@inline export function countRefusal(status: Status, by: u64 = 1): void {
  count(heapBase + OFF_REFUSALS + (<usize>status << 3), by);
}

/** Adds to a 64-bit event counter in the heap header (atomically under threads). */
// @ts-ignore: decorator
@inline export function count(counter: usize, by: u64 = 1): void {
  if (THREADS) atomic.add<u64>(counter, by);
  else store<u64>(counter, load<u64>(counter) + by);
}
