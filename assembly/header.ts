// HeapHeader: the first page of the heap. Holds the shared tiers' state (page heap, central
// lists, page-map root; offsets in config.ts) and the heap's event counters.
// See index.ts for the design.
import { OFF_REFUSALS, OFF_PAGEHEAP, Status } from "./config";

@unmanaged export class HeapHeader {
  /** HEADER_MAGIC once the heap is set up */
  magic: u32;
  /** THREADS: the lock word of the shared tiers (0 free, 1 held, 2 held with waiters) */
  lock: u32;
  /** HEAP_DEBUG if made by the debug build (its blocks carry tails; its free objects poison) */
  flags: u32;
  /** bytes of header, metadata chunks and page-map leaves */
  metadataBytes: u32;
  /** large blocks: count and pages */
  largeSpans: u32;
  largePages: u32;
  smallSpans: u32;
  /** every instance's ThreadCache, linked through CacheHeader.next */
  caches: u32;
  // event counters (64-bit: they outgrow 32 bits in long runs), added to with lock.ts count()
  memoryGrows: u64;
  reallocMoves: u64;
  reallocInPlace: u64;
  reallocCopiedBytes: u64;
  /** DEBUG: bytes requested in blocks in use */
  requestedBytes: u64;
}

export const HEAP_DEBUG: u32 = 1;

/** Address of the heap header; 0 until init. */
export let heapBase: usize = 0;

export function setHeapBase(base: usize): void {
  heapBase = base;
}

// @ts-ignore: decorator
@inline export function heapHeader(): HeapHeader {
  return changetype<HeapHeader>(heapBase);
}

/** How many calls were refused with `status`. */
export function refusals(status: Status): u64 {
  return load<u64>(heapBase + OFF_REFUSALS + (<usize>status << 3));
}


/** Address of a field of the heap header, for lock.ts count(). */
// @ts-ignore: decorator
@inline export function headerField(offset: usize): usize {
  return heapBase + offset;
}

// @ts-ignore: compile-time check
if (offsetof<HeapHeader>("lock") != 4) ERROR("lock.ts expects the lock word at offset 4");
// @ts-ignore: compile-time check
if (offsetof<HeapHeader>() > OFF_REFUSALS || OFF_REFUSALS + (Status.INIT_FAILED + 1) * 8 > OFF_PAGEHEAP) ERROR("HeapHeader and refusal counters must fit below OFF_PAGEHEAP");
