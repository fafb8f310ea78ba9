// Setting the heap up: the header page at the base and the page heap over the
// memory above it; and, per instance, binding to the heap and making its cache.
// See index.ts for the design.
import { PAGE_SIZE, WASM_PAGE_SHIFT, HEADER_MAGIC, HEADER_BUILDING, OFF_ROOT, DEBUG, THREADS } from "./config";
import { MAX_SMALL_SIZE } from "./sizeclasses";
import { heapBase, setHeapBase, HeapHeader, HEAP_DEBUG } from "./header";
import { pagemapInit } from "./pagemap";
import { pageHeapInit, pageHeapBind, memoryEnd } from "./pageheap";
import { cacheInit, cacheRelease, cacheFlush } from "./threadcache";
import { pause } from "./lock";
import { smallLimit, setSmallLimit } from "./malloc";

/** Sets the heap up at `base` rounded up to a page, or at the end of memory if base is 0; the
 *  memory between the base and the end of memory becomes the heap's. An instance whose base
 *  already holds a heap attaches to it. False (and nothing set up) if memory cannot hold the
 *  header and first metadata.
 *  THREADS: base is required and every instance passes the same one; memory must already reach
 *  past the header page. The first instance to claim the header (CAS on its magic word) sets
 *  the heap up; the others wait until it is ready, then attach. */
export function initHeap(base: usize): bool {
  if (smallLimit) return true;
  let memEnd = memoryEnd();
  if (!base) base = heapBase;   // attaching again after thread_exit
  if (THREADS && !base) return false;
  if (!base) base = memEnd;
  base = (base + PAGE_SIZE - 1) & ~(<usize>PAGE_SIZE - 1);
  if (base < PAGE_SIZE) base = PAGE_SIZE;   // address 0 is NULL: never part of the heap
  if (base + PAGE_SIZE > memEnd) {
    if (THREADS) return false;
    if (memory.grow(<i32>((base + PAGE_SIZE - memEnd + 0xFFFF) >> WASM_PAGE_SHIFT)) < 0) return false;
    memEnd = memoryEnd();
  }
  if (THREADS) {
    const claimed = atomic.cmpxchg<u32>(base, 0, HEADER_BUILDING);
    if (claimed == 0) {
      if (!buildHeap(base, memEnd)) {
        atomic.store<u32>(base, 0);
        atomic.notify(base);   // waiters see it was not built, and fail too
        return abandon();
      }
      atomic.store<u32>(base, HEADER_MAGIC);
      atomic.notify(base);
    } else {
      while (atomic.load<u32>(base) == HEADER_BUILDING) pause(base, HEADER_BUILDING);
    }
    if (!bindHeap(base)) return false;
  } else if (!bindHeap(base)) {
    if (!buildHeap(base, memEnd)) return abandon();
    store<u32>(base, HEADER_MAGIC);
  }
  if (!cacheInit()) return abandon();
  setSmallLimit(MAX_SMALL_SIZE);
  return true;
}

/** A fresh heap in [base, memEnd): header (all but its magic word) and page heap. */
function buildHeap(base: usize, memEnd: u32): bool {
  memory.fill(base + 4, 0, PAGE_SIZE - 4);
  attach(base);
  const h = changetype<HeapHeader>(base);
  h.metadataBytes = PAGE_SIZE;
  h.flags = DEBUG ? HEAP_DEBUG : 0;
  return pageHeapInit(base, memEnd, false);
}

/** Hands this instance's cache back (its objects to the central lists, its record to the next
 *  instance that starts) and detaches the instance; a later call sets it up again. */
export function exitThread(): void {
  if (!smallLimit) return;
  if (!THREADS) {   // one instance: it keeps its cache, emptied (a trim)
    cacheFlush(1);
    return;
  }
  cacheRelease();
  setSmallLimit(0);
  pagemapInit(0);   // every call now takes a slow path, which attaches again
}

/** Points this instance's globals at the heap whose header is at `base`, if there is one. */
export function bindHeap(base: usize): bool {
  if (load<u32>(base) != HEADER_MAGIC) return false;
  attach(base);
  return true;
}

/** Points this instance's globals at the heap whose header is at `base`. */
function attach(base: usize): void {
  setHeapBase(base);
  pagemapInit(base + OFF_ROOT);
  pageHeapBind(base);
}

function abandon(): bool {
  setHeapBase(0);
  pagemapInit(0);
  return false;
}
