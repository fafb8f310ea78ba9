// Span: a run of pages, the unit the page heap hands out and the page map points at.
// See index.ts for the design.
import { PAGE_SHIFT } from "./sizeclasses";
import { POISON } from "./debug";

/** What a span record currently describes. */
export const enum SpanState {
  /** record is on the recycle list and describes nothing */
  DEAD = 0,
  /** free pages in the page heap (a free list or the top run) */
  FREE = 1,
  /** carved into objects of one size class */
  SMALL = 2,
  /** one large block */
  LARGE = 3,
  /** a freed large block kept whole for reuse (PageHeap.spare0/1), counted as free pages */
  SPARE = 4,
}

// A small span:
//
//   page     start                                   start+carved   start+limit      page+npages*PAGE
//   ├─ colour ─┼─ obj 0 ─┬─ obj 1 ─┬─ ... ─┬─ obj k ─┬─ ... ──┼── never ──────┼── tail ───┤
//   │          │ in use  │ free ───┼──> freeList chain ...     │ handed out   │           │
//
//   colour + tail < 1/8 of the span (the tail waste the class table allows): the colour moves
//   the objects of successive spans to different cache sets (central.ts, spanColour).
//   objects = limit / objSize == allocated + length(freeList) + (limit - carved) / objSize
//
// A large span: one block at `start`, its colour past its first page; `allocated` holds the
// bytes the program asked for.
// A free span: `zeroed` says its pages are still as memory.grow gave them (all zero).
@unmanaged export class Span {
  /** address of the first page (page-aligned); SMALL: of the first object, and LARGE: of the
   *  block, the span's colour (less than a page) past its first page (spanPage) */
  start: u32;
  /** length in pages */
  npages: u32;
  /** links: the page heap's free list of this length, or the central list of this class */
  next: u32;
  prev: u32;
  /** SMALL: freed objects of this span, linked through their first word */
  freeList: u32;
  /** SMALL: bytes from start that have been handed out as objects; objects from start+carved
   *  to start+limit never have. 0 in every other state, so free()'s one test
   *  `p - start < carved` also says "a SMALL span" (newSpan sets it to 0, central clears it
   *  when the pages go back). */
  carved: u32;
  /** SMALL: bytes from start that whole objects cover */
  limit: u32;
  /** SMALL: objects out of the span (in caches or in use); LARGE: requested bytes */
  allocated: u32;
  /** SMALL: size class and its object size and divMagic (copied here: one cache line per free) */
  cls: u16;
  /** SMALL: 1 when centralFetch has looked at the free list since an object last came back
   *  (and put it in address order if it was long enough and its marks exact); 0 otherwise. */
  ordered: u16;
  objSize: u32;
  divMagic: u32;
  /** SpanState, plus ZEROED for free pages never written since memory.grow */
  state: u16;
  zeroed: u16;
}

export const SPAN_BYTES: u32 = offsetof<Span>();

/** Address of s's first page. */
// @ts-ignore: decorator
@inline export function spanPage(s: Span): u32 {
  return s.start & ~((1 << PAGE_SHIFT) - 1);
}

// @ts-ignore: decorator
@inline export function spanEnd(s: Span): u32 {
  return spanPage(s) + (s.npages << PAGE_SHIFT);
}

// A free small object carries a mark in its second word, which a free object does not use
// (release build; the debug build poisons free objects instead): spanFreeMark on its span's free
// list, cacheFreeMark on a cache list or in a transfer cache. A freed object is marked at once,
// so free(), realloc and malloc_usable_size see from the object itself that it is free, wherever
// it is, and refuse it (a double free) before any list is touched. A live object's data could
// look like a mark: the slow path then makes sure the object is really listed (freeSlow).
// The two marks differ in bit 0 only: one test sees either. Each holds the object's class too
// (bits 24-30), so that a link a write after free pointed at a free object of another class is
// refused (span.ts, linkLimit): taken, it would hand a small object out for a bigger request.
const FREE_MARK: u32 = 0xF5EEF5EE;

// @ts-ignore: decorator
@inline export function spanFreeMark(p: usize, cls: u32): u32 {
  return <u32>p ^ FREE_MARK ^ (cls << 24);
}

// @ts-ignore: decorator
@inline export function cacheFreeMark(p: usize, cls: u32): u32 {
  return <u32>p ^ (FREE_MARK | 1) ^ (cls << 24);
}

/** The debug build's test (it has no marks) that p is a free object of small span s: below its
 *  carved mark, on an object boundary, poison in its second word and in its last (a live block's
 *  last word holds its requested size; a program's data of poison bytes cannot make it look
 *  free). */
// @ts-ignore: decorator
@inline export function debugFreeObject(s: Span, p: usize): bool {
  const off = <u32>p - s.start;
  return off < s.carved && <u32>((<u64>off * s.divMagic) >> 32) * s.objSize == off &&
    load<u32>(p, 4) == POISON && load<u32>(p + s.objSize - 4) == POISON;
}

/** Does small object p of class cls carry either free mark? */
// @ts-ignore: decorator
@inline export function looksFree(p: usize, cls: u32): bool {
  return ((load<u32>(p, 4) ^ <u32>p ^ (cls << 24)) | 1) == (FREE_MARK | 1);
}

// A free object's first word links it to the next on its list, and a program that writes into a
// block after freeing it (the commonest heap bug: a freed struct's first field) overwrites that
// link. Followed, it would hand out a live block a second time, memory outside the heap, or trap.
// So a link is followed only if it stays inside memory, and an object is taken off a list only if
// it carries the list's free mark (a live block, or memory the heap does not own, does not): a
// list that fails either test is cut there, its objects behind the cut leaked (still counted as
// out of their spans, so every count stays true) and the event counted as a write after free.
// glibc's safe-linking and mimalloc's encoded free lists guard the same link.

/** Highest address a link may hold: the heap's end less 8, so that its object's two words load.
 *  Kept up to date by the page heap as memory grows; another instance's growth (threads) leaves
 *  it low, and a link past it is then looked at again against the heap's end (cacheTakeSlow). */
export let linkLimit: u32 = 0;

export function setLinkLimit(heapEnd: u32): void {
  linkLimit = max<u32>(heapEnd, 8) - 8;
}

/** Is p on the chain of free objects from `head` (linked through their first word), within its
 *  first `bound` links? Bounded, and a link past memory is not followed: a chain that a double
 *  free made cyclic, or a write after free broke, cannot keep us here or trap. */
export function chainHolds(head: u32, bound: u32, p: usize): bool {
  for (let q = head; q && bound && q <= linkLimit; q = load<u32>(q), bound--) if (q == <u32>p) return true;
  return false;
}
