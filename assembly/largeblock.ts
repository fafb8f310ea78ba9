// Large blocks: requests above MAX_SMALL_SIZE are page runs straight from the page heap, each
// block starting at its colour (LARGE_COLOURS_BYTES), and realloc grows and shrinks them in
// place where the neighbouring pages allow.
// See index.ts for the design.
import { PAGE_SHIFT, PAGE_SIZE, CACHE_LINE, LARGE_COLOURS_BYTES, LARGE_COLOUR_ROOM_FROM, MIN_ALIGN } from "./config";
import { Span, SpanState, spanPage } from "./span";
import { pageHeapAlloc, pageHeapTakeSpare, pageHeapAllocAligned, pageHeapFreeLarge, pageHeapExtend, pageHeapShrink } from "./pageheap";
import { heapHeader } from "./header";
import { lockHeap, unlockHeap } from "./lock";
import { flushCacheFor } from "./threadcache";

/** Pages for `bytes`, or 0 when the rounding overflows 32 bits. Inlined: a large allocation is
 *  a chain of calls (mallocSlow, largeAlloc, largeAllocOnce, pageHeapAlloc ...); this and adopt
 *  as calls cost bzip2's trace, 3 large blocks per file, 4% of its time (side by side, 31
 *  rounds; the large workload 6%). adopt, which colours the block, is a call again: inlined in
 *  its three callers it costs 209 B, and read 2.8% faster on bzip2 but 4.6% slower on large
 *  (side by side, 21 rounds). */
// @ts-ignore: decorator
@inline export function pagesFor(bytes: u64): u32 {
  const n = (bytes + PAGE_SIZE - 1) >> PAGE_SHIFT;
  return n > 0xFFFFFFFF >> PAGE_SHIFT ? 0 : <u32>n;
}

/** A block that realloc must move gets room for at least a quarter more than its old size:
 *  a block that grows in small steps while others are placed after it then moves at most once
 *  per 25% of growth, so the bytes copied stay within a few times its final size. A block that
 *  grows geometrically (doubling) already asks for more and gets no headroom, nor extra memory. */
const REALLOC_HEADROOM_SHIFT: u32 = 2;

/** Colours this instance has given large blocks (see LARGE_COLOURS_BYTES). */
let coloursUsed: u32 = 0;

/** Bytes past its size for the largest colour of a block aligned to alignBytes: the colours are
 *  multiples of the alignment (a cache line at least) below LARGE_COLOURS_BYTES. */
// @ts-ignore: decorator
@inline function colourRoom(alignBytes: u32): u32 {
  return LARGE_COLOURS_BYTES - min<u32>(max<u32>(alignBytes, CACHE_LINE), LARGE_COLOURS_BYTES);
}

/** Pages for a large block of `size` bytes: with room for the largest colour from
 *  LARGE_COLOUR_ROOM_FROM (a page of it is then at most 1/16 of the block). */
function blockPages(size: u64): u32 {
  return pagesFor(size + select<u32>(colourRoom(CACHE_LINE), 0, size >= LARGE_COLOUR_ROOM_FROM));
}

/** s (page-aligned) as a large block of `size` bytes starting at the next colour, or at the
 *  largest its pages' slack holds if that is smaller (no division: a call on every large
 *  allocation); its address. */
function adopt(s: Span | null, size: usize, alignBytes: u32): usize {
  if (!s) return 0;
  const step = max<u32>(alignBytes, CACHE_LINE);
  const slack = (s.npages << PAGE_SHIFT) - <u32>size;   // (mod 2^32: right for 4 GiB of pages too)
  s.start += min<u32>((coloursUsed++ * step) & colourRoom(alignBytes), slack & (0 - step));
  s.cls = 0;
  s.allocated = <u32>size;
  const h = heapHeader();
  h.largeSpans++;
  h.largePages += s.npages;
  return s.start;
}

/** A large block of `size` bytes aligned to alignBytes (a power of two), or 0 when memory is
 *  exhausted. Its span's `zeroed` tells whether its pages are untouched since memory.grow.
 *  A spare that fits is taken first, in as few calls as can be: a program that cycles a few big
 *  buffers (bzip2: three per file) does little else with them. Measured (bench bzip2 trace, side
 *  by side, 21 rounds): 4-5% faster than at the end of the general path's chain of calls. */
export function largeAlloc(size: usize, alignBytes: u32): usize {
  const npages = blockPages(size);
  if (!npages) return 0;   // no memory holds it: nothing to flush for
  if (alignBytes <= PAGE_SIZE) {
    lockHeap();
    const q = adopt(pageHeapTakeSpare(npages), size, alignBytes);
    unlockHeap();
    if (q) return q;
  }
  let p = largeAllocOnce(npages, size, alignBytes, false);
  if (!p) {   // the pages need memory to grow
    flushCacheFor(true);
    p = largeAllocOnce(npages, size, alignBytes, true);
  }
  if (!p) {   // memory is exhausted
    flushCacheFor(false);
    p = largeAllocOnce(npages, size, alignBytes, true);
  }
  return p;
}

function largeAllocOnce(npages: u32, size: usize, alignBytes: u32, mayGrow: bool): usize {
  lockHeap();
  const s = alignBytes > PAGE_SIZE
    ? pageHeapAllocAligned(npages, alignBytes, mayGrow)
    : pageHeapAlloc(npages, SpanState.LARGE, mayGrow);
  const p = adopt(s, size, alignBytes);
  unlockHeap();
  return p;
}

/** A large block for a block that realloc must move: placed at the top of the heap with
 *  headroom, where it can keep growing in place; one that at least doubles, which will move
 *  again anyway, where any block goes (best fit). It may grow memory at once, with no flush of
 *  the cache first (see largeAlloc): a block placed at the top grows into new memory anyway. */
export function largeAllocForGrowth(size: usize, oldBytes: usize): usize {
  const npages = blockPages(max<u64>(<u64>size, <u64>oldBytes + (<u64>oldBytes >> REALLOC_HEADROOM_SHIFT)));
  if (!npages) return 0;
  lockHeap();
  const s = pageHeapAlloc(npages, SpanState.LARGE, true, size < oldBytes << 1);   // (a wrap past 2 GiB only picks the other place)
  const p = adopt(s, size, MIN_ALIGN);
  unlockHeap();
  return p ? p : largeAlloc(size, MIN_ALIGN);   // no room for headroom: exact
}

export function largeFree(s: Span): void {
  lockHeap();
  const h = heapHeader();
  h.largeSpans--;
  h.largePages -= s.npages;
  pageHeapFreeLarge(s);
  unlockHeap();
}

/** Resizes large block s in place to `size` bytes if its neighbours allow; true if it did.
 *  Shrinks only when at least a quarter of the block would be freed, so that alternating
 *  small changes neither thrash the page heap nor throw away growth headroom. */
export function largeResizeInPlace(s: Span, size: usize): bool {
  const npages = pagesFor(<u64>(s.start - spanPage(s)) + size);   // the colour stays
  if (!npages) return false;
  const h = heapHeader();
  if (npages <= s.npages) {
    if (npages < s.npages - (s.npages >> 2)) {
      lockHeap();
      h.largePages -= s.npages - npages;
      pageHeapShrink(s, npages);
      unlockHeap();
    }
    s.allocated = <u32>size;
    return true;
  }
  lockHeap();
  const old = s.npages;
  const ok = pageHeapExtend(s, npages);
  if (ok) h.largePages += npages - old;
  unlockHeap();
  if (ok) s.allocated = <u32>size;
  return ok;
}
