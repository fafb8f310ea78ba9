// CentralFreeList: the middle tier, one per size class. Keeps the class's spans that still
// have free objects and moves objects to and from the front-end caches in batches; a span
// whose objects are all free goes back to the page heap. See index.ts for the design.
import { OFF_CENTRAL, CACHE_LINE, PAGE_SHIFT, CLASS_COUNT, HOT_SPANS, DEBUG, THREADS, Status } from "./config";
import { countRefusal } from "./lock";
import { poison, reportWriteAfterFree } from "./debug";
import { Span, SpanState, spanFreeMark, cacheFreeMark, debugFreeObject, chainHolds, linkLimit } from "./span";
import { pageHeapAlloc, pageHeapFree, refreshLinkLimit } from "./pageheap";
import { pagemapGetInline } from "./pagemap";
import { heapBase, heapHeader } from "./header";
import { classToSize, classSpanPages, classDivMagic, classBatch, SPAN_TAIL_SHIFT, HOT_SPAN_TAIL_SHIFT } from "./sizeclasses";

@unmanaged export class CentralFreeList {
  /** spans of this class with a free or never-handed-out object, linked through next/prev */
  nonempty: u32;
  /** spans of this class: those on `nonempty` and the full ones (on no list) */
  spans: u32;
  /** objects out of this class's spans == sum of span.allocated */
  objectsOut: u32;
  /** free objects in this class's spans (freed, or not yet carved) */
  objectsFree: u32;
  /** THREADS: the transfer cache (TCMalloc's): up to two whole batches a cache gave back, each
   *  a chain of classBatch objects (first, last), handed to the next cache that needs a batch
   *  without touching a span, so the lock is held for a few stores instead of a walk. Their
   *  objects count as out of their spans (objectsOut), like objects in caches. 0: empty. */
  parked0: u32;
  parkedLast0: u32;
  parked1: u32;
  parkedLast1: u32;
}

// @ts-ignore: decorator
@inline export function centralList(cls: u32): CentralFreeList {
  return changetype<CentralFreeList>(heapBase + OFF_CENTRAL + (cls << 5));
}

function linkNonempty(c: CentralFreeList, s: Span): void {
  s.prev = 0;
  s.next = c.nonempty;
  if (c.nonempty) changetype<Span>(c.nonempty).prev = changetype<u32>(s);
  c.nonempty = changetype<u32>(s);
}

function unlinkNonempty(c: CentralFreeList, s: Span): void {
  if (s.prev) changetype<Span>(s.prev).next = s.next;
  else c.nonempty = s.next;
  if (s.next) changetype<Span>(s.next).prev = s.prev;
  s.next = s.prev = 0;
}

/** Colours handed out so far (per instance: any sequence will do). */
let coloursUsed: u32 = 0;

/** Bytes before a new span's first object: its colour, taken from the span's tail waste, in
 *  steps of a cache line, successive spans taking successive colours. Spans start on a page,
 *  so without it the k-th objects of a class's spans all share the cache sets of one page
 *  offset: a program touching one spot of each of many big objects (say 1000 buffers of
 *  16 KiB, a byte appended to each in turn; 4 objects per span) then finds a few L1 and L2
 *  sets (8-16 ways each) full of its lines and the rest of the cache unused. Measured (bench
 *  realloc-double, which does that, side by side, 21 rounds): 4% faster, the driver's own loop
 *  ~12% (CPU profile), now level with dlmalloc; other cells and the traces unchanged. A step of
 *  the size's lowest set bit (when above a line) keeps every object as aligned as the class
 *  size, which alignedBlock relies on. Costs no memory: the colour is tail waste moved ahead. */
function spanColour(size: u32, tail: u32): u32 {
  const step = max<u32>(CACHE_LINE, size & (0 - size));
  return (coloursUsed++ % (tail / step + 1)) * step;
}

function newSmallSpan(cls: u32, c: CentralFreeList, mayGrow: bool): Span | null {
  const size = classToSize(cls);
  const pages = classSpanPages(size, select<u32>(HOT_SPAN_TAIL_SHIFT, SPAN_TAIL_SHIFT, c.spans >= HOT_SPANS));
  const s = pageHeapAlloc(pages, SpanState.SMALL, mayGrow);
  if (!s) return null;
  const objects = (pages << PAGE_SHIFT) / size;
  s.start += spanColour(size, (pages << PAGE_SHIFT) - objects * size);
  s.cls = <u16>cls;
  s.objSize = size;
  s.divMagic = classDivMagic(size);
  s.freeList = 0;
  s.carved = 0;
  s.limit = objects * size;
  s.allocated = 0;
  if (DEBUG) poison(s.start, s.start + s.limit);   // never-used objects look freed: reuse checks them alike
  c.spans++;
  c.objectsFree += objects;
  heapHeader().smallSpans++;
  linkNonempty(c, s);
  return s;
}

/** Free objects a span must list before centralFetch puts them in address order: the two
 *  sequential passes over the span cost about a cache miss, walking the list one per object. */
const ORDER_MIN: u32 = 16;

/** Relinks s's free list in address order, when its objects' marks (spanFreeMark) count exactly
 *  the `listed` objects on it. A list is in the order objects came back: after a GC's sweep or
 *  any long-lived heap, scattered over the span, so that handing them out walks the span at
 *  random, one cache miss per object, for the allocator and then for the program; in address
 *  order the hardware prefetcher streams them (measured: the AssemblyScript JSON program ran
 *  ~25% faster). Reading live objects' second words is safe only with no other thread writing
 *  them between the passes: not in the threads build. */
function orderFreeList(s: Span, listed: u32): void {
  let head: u32 = 0, marked: u32 = 0;
  for (let relink = false; ; relink = true) {   // count the marks; if they are exact, relink
    for (let p = s.start + s.carved; p > s.start; ) {
      p -= s.objSize;
      if (load<u32>(p, 4) != spanFreeMark(p, s.cls)) continue;
      if (relink) {
        store<u32>(p, head);
        head = p;
      } else marked++;
    }
    if (relink) break;
    if (marked != listed) return;   // a live object's data looks like a mark: keep the list
  }
  s.freeList = head;
}

/** Moves up to `want` objects of class cls onto the chain starting at `*chain` (a list head in
 *  a cache), in the order taken: address order within a span, as the cache will hand them out.
 *  Returns how many; fewer than `want` only when a new span is needed and memory is exhausted,
 *  or would have to grow and `mayGrow` is false. */
export function centralFetch(cls: u32, want: u32, chain: usize, mayGrow: bool): u32 {
  const c = centralList(cls);
  const rest = load<u32>(chain);
  let last = chain, got: u32 = 0;   // the chain's head word first: the first object goes there
  while (got < want) {
    let s = changetype<Span>(c.nonempty);
    if (!s) {
      const fresh = newSmallSpan(cls, c, mayGrow);
      if (!fresh) break;
      s = fresh;
    }
    if (!DEBUG && !THREADS && !s.ordered) {
      s.ordered = 1;
      const listed = s.carved / s.objSize - s.allocated;
      if (listed >= ORDER_MIN) orderFreeList(s, listed);
    }
    // As many as this span gives, in locals: the stores into objects could alias the span's
    // fields, so the compiler would reload each field every object. Freed objects first (they
    // are warm), then never-used ones. Each now carries the cache's free mark (span.ts); the
    // debug build keeps its poison there instead.
    const room = want - got;
    let n: u32 = 0, p = s.freeList;
    while (p && n < room) {
      if (!spanObject(s, p)) {   // a write after free broke the list: cut it (span.ts)
        cutFreeList(c, s, n, p);
        p = 0;
        break;
      }
      if (!DEBUG) store<u32>(p, cacheFreeMark(p, cls), 4);
      store<u32>(last, p);   // p's own link is read below, before p becomes `last`
      last = p;
      n++;
      p = load<u32>(p);
    }
    s.freeList = p;
    if (n < room) {
      let carved = s.carved;
      const start = s.start, size = s.objSize, limit = s.limit;
      while (n < room && carved < limit) {
        const q = start + carved;
        if (!DEBUG) store<u32>(q, cacheFreeMark(q, cls), 4);
        store<u32>(last, q);
        last = q;
        n++;
        carved += size;
      }
      s.carved = carved;
    }
    s.allocated += n;
    got += n;
    if (!s.freeList && s.carved >= s.limit) unlinkNonempty(c, s);
  }
  store<u32>(last, rest);
  c.objectsOut += got;
  c.objectsFree -= got;
  return got;
}

/** Can p be on small span s's free list: below its carved mark (so inside memory), marked free
 *  in its span (an address off the objects' boundaries would need the mark of its own address
 *  there)? The debug build, which has no marks, asks debugFreeObject. */
// @ts-ignore: decorator
@inline function spanObject(s: Span, p: u32): bool {
  return DEBUG ? debugFreeObject(s, p) : p - s.start < s.carved && load<u32>(p, 4) == spanFreeMark(p, s.cls);
}

/** Ends s's free list, broken by a write after free (the link to `at`), after the `taken` objects
 *  centralFetch has taken from it: the objects behind the cut count as out of the span (leaked:
 *  never handed out twice, and the span's counts stay true), and the event is counted. */
function cutFreeList(c: CentralFreeList, s: Span, taken: u32, at: u32): void {
  const lost = s.carved / s.objSize - s.allocated - taken;
  s.freeList = 0;
  s.allocated += lost;
  c.objectsOut += lost;
  c.objectsFree -= lost;
  brokenList(at, s.cls);
}

/** Counts a free list of class cls found broken by a write after free (span.ts), and so cut,
 *  `at` the link it would have followed; the debug build also reports it (env.report). */
export function brokenList(at: usize, cls: u32): void {
  if (DEBUG) reportWriteAfterFree(at, cls);
  countRefusal(Status.WRITE_AFTER_FREE);
}

/** centralRelease's answer when the chain was broken by a write after free (see span.ts): the
 *  objects before the break went back, the rest are leaked, and `*chain` is 0. */
export const BROKEN_CHAIN: u32 = 0xFFFFFFFF;

/** Takes `n` objects of class cls off the chain at `*chain` back into their spans. Each was
 *  checked when it was freed (free() refuses a marked object); a second copy that got past that
 *  (the program wrote over the freed object's mark, then freed it again) is caught here (already
 *  marked free in its span, or its span has no object out or is gone) and dropped (and counted
 *  as a double free): the span's counts stay right. Stops early at the end of the chain; returns
 *  how many objects it took off. */
export function centralRelease(cls: u32, n: u32, chain: usize): u32 {
  const c = centralList(cls);
  let p = load<u32>(chain);
  let dropped: u32 = 0, i: u32 = 0, freed: u32 = 0;   // counts kept in locals: see centralFetch
  // The span the last object went to, with its free list and count in locals: a batch's
  // objects mostly share spans, so the page map is read and the span written once per run.
  let s = changetype<Span>(0), start: u32 = 0, carved: u32 = 0, head: u32 = 0, out: u32 = 0;
  let wasFull = false;
  let broken = false;
  refreshLinkLimit();   // (under the lock: another instance may have grown memory)
  for (; i < n && p; i++) {
    // a link past memory, or to what is not a cached object (its cache mark; a second copy of
    // one already back in its span is dropped below), or to no object of this class (the debug
    // build, which has no marks, asks debugFreeObject below): a write after free broke the
    // chain, which ends here (span.ts)
    const mark = p <= linkLimit ? load<u32>(p, 4) : 0;
    if (p > linkLimit || (!DEBUG && mark != cacheFreeMark(p, cls) && mark != spanFreeMark(p, cls))) {
      broken = true;
      break;
    }
    const next = load<u32>(p);
    // p's page maps to a SMALL span holding p if p is below its carved mark (free()'s test:
    // carved is 0 in every other state, and a stale record's span lies elsewhere)
    if (p - start >= carved) {
      if (s) putBack(c, s, head, out, wasFull);
      s = changetype<Span>(pagemapGetInline(p));
      if (!s || p - s.start >= s.carved || s.cls != cls) {
        s = changetype<Span>(0);
        broken = true;
        break;
      }
      start = s.start;
      carved = s.carved;
      head = s.freeList;
      out = s.allocated;
      wasFull = !head && carved >= s.limit;
    }
    if (DEBUG && !debugFreeObject(s, p)) {
      broken = true;
      break;
    }
    if (!out || (!DEBUG && mark == spanFreeMark(p, cls))) {
      dropped++;
      p = next;
      continue;
    }
    store<u32>(p, head);
    if (!DEBUG) store<u32>(p, spanFreeMark(p, cls), 4);
    head = p;
    freed++;
    p = next;
    if (!--out) {   // every object is free: the pages go back now, and the span is left behind
      putBack(c, s, head, out, wasFull);
      s = changetype<Span>(0);
      start = carved = 0;
    }
  }
  if (s) putBack(c, s, head, out, wasFull);
  if (p > linkLimit) broken = true;   // what is left becomes the chain's head: it must load
  c.objectsOut -= i - dropped;
  c.objectsFree += freed;
  store<u32>(chain, broken ? 0 : p);
  if (dropped) countRefusal(Status.DOUBLE_FREE, dropped);
  if (!broken) return i;
  brokenList(p, cls);
  return BROKEN_CHAIN;
}

/** centralRelease's write-back of a span it gave objects: onto the nonempty list if it was full
 *  and got one; back to the page heap if every object is free. */
function putBack(c: CentralFreeList, s: Span, head: u32, out: u32, wasFull: bool): void {
  if (head == s.freeList) return;   // nothing came back to it (each was refused)
  s.freeList = head;
  s.allocated = out;
  s.ordered = 0;
  if (wasFull) linkNonempty(c, s);
  if (!out) {   // every object is free: the pages go back
    unlinkNonempty(c, s);
    c.spans--;
    c.objectsFree -= s.limit / s.objSize;
    heapHeader().smallSpans--;
    s.carved = 0;   // no longer SMALL: free() must not take its objects (see Span.carved)
    pageHeapFree(s);
  }
}

/** Is object p of small span s on the span's free list? free()'s slow path asks when p carries
 *  a free mark, to tell a double free from a live object whose data looks like one (not in the
 *  threads build: see classify). */
export function centralHolds(s: Span, p: usize): bool {
  refreshLinkLimit();
  return chainHolds(s.freeList, s.limit / s.objSize, p);
}

// ---- transfer cache (THREADS) -------------------------------------------------------------
// REQUIRES the heap lock for all of these.

/** Batches a class's transfer cache holds (slots parked0/parkedLast0, parked1/parkedLast1). */
export const TRANSFER_SLOTS: u32 = 2;

/** Address of transfer slot `slot` of c: the parked batch's first object, then (+4) its last. */
// @ts-ignore: decorator
@inline export function parkedSlot(c: CentralFreeList, slot: u32): usize {
  return changetype<usize>(c) + offsetof<CentralFreeList>("parked0") + (<usize>slot << 3);
}

/** Parks the batch chain first..last (classBatch objects of class cls, linked through their
 *  first word; last's link is not read). False if every slot is taken. */
export function transferPark(cls: u32, first: u32, last: u32): bool {
  const c = centralList(cls);
  for (let slot: u32 = 0; slot < TRANSFER_SLOTS; slot++) {
    const at = parkedSlot(c, slot);
    if (!load<u32>(at)) {
      store<u32>(at, first);
      store<u32>(at, last, 4);
      return true;
    }
  }
  return false;
}

/** The last object of the chain transferTake returned last. */
export let transferLast: u32 = 0;

/** Takes a parked batch of class cls: its first object (its last in transferLast), or 0. */
export function transferTake(cls: u32): u32 {
  const c = centralList(cls);
  for (let slot = TRANSFER_SLOTS; slot-- > 0; ) {
    const at = parkedSlot(c, slot), first = load<u32>(at);
    if (first) {
      transferLast = load<u32>(at, 4);
      store<u32>(at, 0);
      return first;
    }
  }
  return 0;
}

/** Objects parked in class cls's transfer cache. */
export function parkedObjects(cls: u32): u32 {
  const c = centralList(cls);
  let batches: u32 = 0;
  for (let slot: u32 = 0; slot < TRANSFER_SLOTS; slot++) if (load<u32>(parkedSlot(c, slot))) batches++;
  return batches * classBatch(classToSize(cls));
}

/** Hands every parked batch back to its spans (out of memory: spans they keep alive can then go
 *  back to the page heap). */
export function transferDrain(): void {
  for (let cls: u32 = 1; cls < CLASS_COUNT; cls++) {
    const c = centralList(cls), n = classBatch(classToSize(cls));
    for (let slot: u32 = 0; slot < TRANSFER_SLOTS; slot++) {
      const at = parkedSlot(c, slot);
      if (!load<u32>(at)) continue;
      centralRelease(cls, n, at);   // takes the batch's n objects; what it leaves in the slot is past the batch
      store<u32>(at, 0);
    }
  }
}
