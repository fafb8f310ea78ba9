// asmalloc — a TCMalloc / Go-style allocator for WebAssembly linear memory.
//
// This header is the design; docs/ARCHITECTURE.md has the memory layout and invariants.
// Vocabulary: a "wasm page" is 64 KiB (memory.grow's unit); a "page" is the allocator's
// 8 KiB unit; a "span" is a run of pages; a "class" is one of 113 object sizes, 8 B .. 64 KiB.
//
// Tiers, each with one job, one file each:
//   ThreadCache      (threadcache.ts) per instance, in Wasm globals' reach: a free list per class.
//                    No locks. Bounded: adaptive per-class lengths within a byte budget.
//   CentralFreeList  (central.ts) per class, shared: spans with free objects; moves objects to and
//                    from caches in batches; returns a span's pages when all its objects are free.
//   PageHeap         (pageheap.ts) shared: free page runs by length; splits, coalesces, and grows
//                    linear memory with memory.grow (its sbrk) in steps of >= 1/32 of the heap
//                    (1/8 from 64 MiB of memory, where memory.grow sets off V8 JS heap collections);
//                    keeps the last 4 freed large blocks whole for reuse ("spares").
//   PageMap          (pagemap.ts) address -> span, so free(p) needs no header and can refuse a
//                    pointer it never handed out.
//   Large blocks     (largeblock.ts) > 64 KiB: page runs; realloc grows/shrinks them in place.
//
// Allocation, malloc(n):
//   1. n <= 64 KiB: class = sizeToClass(n) (shifts, no table); pop the cache's list, if the
//      object carries the list's free mark and its link stays in memory (else a write after free
//      broke the list: it is cut, span.ts). Done: this is the fast path, a leaf (malloc.ts).
//   2. Cache miss: fetch a batch from the class's central list (cacheFetchSlow), a span's
//      objects in address order (its free list relinked so first, when objects came back to it).
//   3. Central list empty: a new span of the class's page count (larger, with less tail, once the
//      class holds 16 spans) from the page heap; its objects start at its colour, a few cache
//      lines of its tail moved ahead, so that successive spans' objects use different cache sets.
//   4. Page heap: a spare that fits (large blocks), else best-fit free run (for a large block,
//      again after the spares have gone back and coalesced), else the top run, else, once this
//      instance's cache has handed back its objects of 1 KiB or more and the spares have gone
//      back (pages they kept may free up), memory.grow.
//   n > 64 KiB: a page run from the page heap (step 4); the block starts at its colour, a few
//      cache lines past the run's first page, so that big buffers walked in step use different
//      cache sets.
// Free, free(p):
//   1. Page map -> span. p below the span's carved mark (only SMALL spans have one), on an
//      object boundary and not carrying a free mark in its second word (every free object has
//      one, span.ts): push on the cache's list, marked (fast path). Anything else goes to
//      freeSlow, which frees large blocks (at once if the record is a large block starting at p)
//      and refuses and counts the rest (foreign, interior, free pages, double free: a marked
//      object that is on a list).
//   2. List longer than its adaptive bound: a batch goes back to the central list.
//   3. A span whose objects are all free goes back to the page heap, coalescing with neighbours.
//
// Threads (build/asmalloc.mt.wasm, config.ts THREADS): every worker instantiates this module on
// one shared memory; each instance's globals give it its own cache, and the shared tiers run
// under one futex-style lock in the heap header (lock.ts), taken once per batch, never on a fast
// path; whole batches pass between caches through a transfer cache in the central list without
// touching their spans. In the single-threaded build the lock compiles to nothing.
//
// Why: size classes + per-instance caches make the common case a few instructions with no shared
// state; batches amortise the shared tiers; page-granular spans with a page map give headerless
// blocks and checkable frees; memory.grow is slow at large sizes, so growth is geometric.
// The module has no data segments: all state lives in the header page at the heap base and in
// metadata chunks taken from the heap, so it can share any module's memory.
export { malloc, free, freeChecked as free_checked, realloc, calloc, aligned_alloc, posix_memalign,
  malloc_usable_size } from "./malloc";
import { initHeap, exitThread } from "./init";
import { setBlocking } from "./lock";
import { lastError } from "./malloc";

/** Sets the heap up at heap_base (0: at the end of memory). Optional: the first allocation sets
 *  it up at the end of memory. Returns 1, or 0 when memory cannot hold the heap's header. */
export function init(heap_base: usize): u32 {
  return initHeap(heap_base) ? 1 : 0;
}

/** Hands this instance's cached objects back to the central lists (a trim). Threads build: also
 *  gives its cache record up and detaches it (call before a worker ends); a later call into the
 *  instance attaches it again. */
export function thread_exit(): void {
  exitThread();
}

/** Threads: whether this instance may block in memory.atomic.wait32 when the heap's lock is
 *  contended (0 on a browser's main thread: it then spins). Default 1. */
export function set_blocking(allowed: u32): void {
  setBlocking(allowed != 0);
}

/** The Status of the last call that failed (see config.ts), cleared by reading. */
export function last_error(): u32 {
  const e = lastError;
  clearLastError();
  return e;
}
import { clearLastError } from "./malloc";
