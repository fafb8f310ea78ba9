// check(): walks every tier and verifies its invariants. Part of the inspector module
// (inspect.ts); the randomized tests call it after every sequence. See index.ts for the design.
import { PAGE_SHIFT, PAGE_SIZE, CLASS_COUNT, CACHE_BUDGET, HEADER_MAGIC, CACHE_LINE, LARGE_COLOURS_BYTES } from "./config";
import { Span, SpanState, spanPage, spanEnd, spanFreeMark, cacheFreeMark } from "./span";
import { pagemapGet } from "./pagemap";
import { heapBase, heapHeader, HEAP_DEBUG } from "./header";
import { classToSize, classSpanPages, classDivMagic, classBatch, SPAN_TAIL_SHIFT, HOT_SPAN_TAIL_SHIFT } from "./sizeclasses";
import { centralList, parkedSlot, parkedObjects, TRANSFER_SLOTS } from "./central";
import { CacheHeader, CacheList } from "./threadcache";
import { pageHeapStart, pageHeapEnd, pageHeapCheckLists, pageHeapIsSpare, pageHeapOverlapsMeta } from "./pageheap";
import { POISON } from "./debug";

/** What check() found broken (0: nothing). */
export const enum Broken {
  NONE = 0,
  /** the header's magic or base is wrong */
  HEADER = 1,
  /** spans overlap (each other or metadata), are empty, or run past the heap */
  TILING = 2,
  /** a page of an in-use span, or an end page of a free one, does not map to its span */
  PAGEMAP = 3,
  /** two free runs are adjacent (should have been coalesced) */
  COALESCE = 4,
  /** the page heap's free lists, bitmap, spares or totals disagree with the page walk */
  FREE_LISTS = 5,
  /** a small span's fields or counting equation, or a free object outside/misaligned */
  SPAN_OBJECTS = 6,
  /** an object is free twice (twice on one list, or on two lists) */
  DUPLICATE = 7,
  /** a central list's counts or its list of non-empty spans disagree with the spans */
  CENTRAL = 8,
  /** a cache list's length, bound, budget or objects are wrong */
  CACHE = 9,
  /** large-block totals disagree with the spans, or a block's colour or size does not fit it */
  LARGE = 10,
  /** release build: a free object's second word is not its free mark (written after it was freed) */
  FREE_MARK = 11,
}

/** Address of the record or object where check() found the problem. */
export let brokenAt: usize = 0;

function broken(what: Broken, at: usize): Broken {
  brokenAt = at;
  return what;
}

// Tallies per class, in scratch memory supplied by the caller: spans, objects out, objects free,
// spans with free objects.
// @ts-ignore: decorator
@inline function tally(scratch: usize, cls: u32, field: u32): usize {
  return scratch + (cls << 4) + (field << 2);
}

/** Verifies every invariant. `scratch` is CLASS_COUNT * 16 bytes the function may overwrite. */
export function checkHeap(scratch: usize): Broken {
  brokenAt = 0;
  const h = heapHeader();
  if (!heapBase || h.magic != HEADER_MAGIC) return broken(Broken.HEADER, heapBase);
  memory.fill(scratch, 0, CLASS_COUNT << 4);
  let runs: u32 = 0, freePages: u32 = 0, largePages: u32 = 0, largeSpans: u32 = 0, smallSpans: u32 = 0;
  let prevFree = false;
  const end = pageHeapEnd();
  for (let a = pageHeapStart(); a < end; ) {
    const raw = pagemapGet(a);
    const s = changetype<Span>(raw);
    if (!raw || s.state == SpanState.DEAD || spanPage(s) != a) {   // metadata, leaves or a gap
      a += PAGE_SIZE;
      prevFree = false;
      continue;
    }
    if (!s.npages || spanEnd(s) > end || spanEnd(s) <= a || pageHeapOverlapsMeta(a, spanEnd(s), raw)) return broken(Broken.TILING, raw);
    if (s.carved && s.state != SpanState.SMALL) return broken(Broken.SPAN_OBJECTS, raw);   // free() would take its pages
    // a colour (objects' or a large block's) is a whole number of cache lines; free runs and
    // spares start on their page (the page heap's neighbour lookups go by it)
    if ((s.start - a) % CACHE_LINE || (s.start != a && s.state != SpanState.SMALL && s.state != SpanState.LARGE)) return broken(Broken.TILING, raw);
    if (s.state == SpanState.FREE) {
      if (prevFree) return broken(Broken.COALESCE, raw);
      if (pagemapGet(spanEnd(s) - PAGE_SIZE) != raw) return broken(Broken.PAGEMAP, raw);
      runs++;
      freePages += s.npages;
      prevFree = true;
    } else {
      if (pagemapGet(spanEnd(s) - PAGE_SIZE) != raw) return broken(Broken.PAGEMAP, raw);
      if (s.state == SpanState.SMALL) {
        for (let p = a; p < spanEnd(s); p += PAGE_SIZE) if (pagemapGet(p) != raw) return broken(Broken.PAGEMAP, p);
      }
      if (s.state == SpanState.LARGE) {
        // its colour below LARGE_COLOURS_BYTES, the bytes asked for after it within its pages
        if (s.start - a >= LARGE_COLOURS_BYTES || <u64>s.start + s.allocated > spanEnd(s)) return broken(Broken.LARGE, raw);
        largePages += s.npages;
        largeSpans++;
      } else if (s.state == SpanState.SPARE) {
        if (!pageHeapIsSpare(raw)) return broken(Broken.FREE_LISTS, raw);
        freePages += s.npages;
      } else if (s.state == SpanState.SMALL) {
        const r = checkSmallSpan(s, scratch);
        if (r != Broken.NONE) return r;
        smallSpans++;
      } else return broken(Broken.TILING, raw);
      prevFree = false;
    }
    a = spanEnd(s);
  }
  const bad = pageHeapCheckLists(runs, freePages);
  if (bad) return broken(Broken.FREE_LISTS, bad);
  if (largePages != h.largePages || largeSpans != h.largeSpans) return broken(Broken.LARGE, heapBase);
  if (smallSpans != h.smallSpans) return broken(Broken.CENTRAL, heapBase);
  const r = checkCentral(scratch);
  if (r != Broken.NONE) return r;
  const c = checkCaches();
  if (c != Broken.NONE) return c;
  const t = checkParked();
  if (t != Broken.NONE) return t;
  return checkDuplicates();
}

function checkSmallSpan(s: Span, scratch: usize): Broken {
  const cls = s.cls;
  if (cls == 0 || cls >= CLASS_COUNT) return broken(Broken.SPAN_OBJECTS, changetype<usize>(s));
  const size = classToSize(cls);
  const objects = (s.npages << PAGE_SHIFT) / size;
  if (s.objSize != size || s.divMagic != classDivMagic(size) || (s.npages != classSpanPages(size, SPAN_TAIL_SHIFT) && s.npages != classSpanPages(size, HOT_SPAN_TAIL_SHIFT)) ||
      s.limit != objects * size || s.carved > s.limit ||
      s.carved % size || s.start + s.limit > spanEnd(s)) return broken(Broken.SPAN_OBJECTS, changetype<usize>(s));
  let free: u32 = 0;
  for (let p = s.freeList; p; p = load<u32>(p)) {
    if (p - s.start >= s.carved || (p - s.start) % size || ++free > objects) return broken(Broken.SPAN_OBJECTS, p);
  }
  const uncarved = (s.limit - s.carved) / size;
  if (s.allocated + free + uncarved != objects || s.allocated == 0) return broken(Broken.SPAN_OBJECTS, changetype<usize>(s));
  store<u32>(tally(scratch, cls, 0), load<u32>(tally(scratch, cls, 0)) + 1);
  store<u32>(tally(scratch, cls, 1), load<u32>(tally(scratch, cls, 1)) + s.allocated);
  store<u32>(tally(scratch, cls, 2), load<u32>(tally(scratch, cls, 2)) + free + uncarved);
  if (free + uncarved) store<u32>(tally(scratch, cls, 3), load<u32>(tally(scratch, cls, 3)) + 1);
  return Broken.NONE;
}

function checkCentral(scratch: usize): Broken {
  for (let cls: u32 = 1; cls < CLASS_COUNT; cls++) {
    const c = centralList(cls);
    if (c.spans != load<u32>(tally(scratch, cls, 0)) || c.objectsOut != load<u32>(tally(scratch, cls, 1)) ||
        c.objectsFree != load<u32>(tally(scratch, cls, 2))) return broken(Broken.CENTRAL, changetype<usize>(c));
    let listed: u32 = 0, prev: u32 = 0;
    for (let s = changetype<Span>(c.nonempty); s; s = changetype<Span>(s.next)) {
      if (s.state != SpanState.SMALL || s.cls != cls || s.prev != prev || (!s.freeList && s.carved >= s.limit) ||
          ++listed > c.spans) return broken(Broken.CENTRAL, changetype<usize>(s));
      prev = changetype<u32>(s);
    }
    if (listed != load<u32>(tally(scratch, cls, 3))) return broken(Broken.CENTRAL, changetype<usize>(c));
  }
  return Broken.NONE;
}

/** Is p an object of class cls that the heap handed out (so it may sit in a cache)? */
function isHandedOut(p: u32, cls: u32): bool {
  const raw = pagemapGet(p);
  if (!raw) return false;
  const s = changetype<Span>(raw);
  return s.state == SpanState.SMALL && s.cls == cls && p - s.start < s.carved && (p - s.start) % s.objSize == 0;
}

/** Each parked batch of the transfer cache (threads) is classBatch handed-out objects of its
 *  class, ending at the slot's last, and all batches together are no more than the objects out
 *  of its spans. */
function checkParked(): Broken {
  for (let cls: u32 = 1; cls < CLASS_COUNT; cls++) {
    const c = centralList(cls), n = classBatch(classToSize(cls));
    for (let slot: u32 = 0; slot < TRANSFER_SLOTS; slot++) {
      const at = parkedSlot(c, slot);
      let p = load<u32>(at);
      if (!p) continue;
      for (let k: u32 = 1; k <= n; k++) {
        if (!isHandedOut(p, cls)) return broken(Broken.CENTRAL, p);
        if (k < n) p = load<u32>(p);
      }
      if (p != load<u32>(at, 4)) return broken(Broken.CENTRAL, changetype<usize>(c));
    }
    if (parkedObjects(cls) > c.objectsOut) return broken(Broken.CENTRAL, changetype<usize>(c));
  }
  return Broken.NONE;
}

function checkCaches(): Broken {
  for (let c = heapHeader().caches; c; c = changetype<CacheHeader>(c).next) {
    let capacity: u32 = 0;
    for (let cls: u32 = 1; cls < CLASS_COUNT; cls++) {
      const list = changetype<CacheList>(c + (cls << 4));
      let n: u32 = 0;
      for (let p = list.head; p; p = load<u32>(p)) {
        if (!isHandedOut(p, cls) || ++n > list.length) return broken(Broken.CACHE, p ? <usize>p : changetype<usize>(list));
      }
      if (n != list.length || n > max<u32>(list.maxLength, 1) || n > centralList(cls).objectsOut) return broken(Broken.CACHE, changetype<usize>(list));
      capacity += list.maxLength * classToSize(cls);
    }
    const ch = changetype<CacheHeader>(c);
    if (capacity != ch.capacityBytes || capacity > CACHE_BUDGET) return broken(Broken.CACHE, c);
  }
  return Broken.NONE;
}

// Duplicates: every free object (on a span's free list or in a cache) is marked in its second
// word, which a free object does not use; an object reached twice is free twice. Three passes
// (clear, mark, restore), so that garbage that happens to equal the mark cannot mislead, after
// one that finds a release-build free object without its free mark (span.ts).
const MARK: u32 = 0x5EE17A6;

function forEachFreeObject(pass: u32): Broken {
  const debug = (heapHeader().flags & HEAP_DEBUG) != 0;
  for (let cls: u32 = 1; cls < CLASS_COUNT; cls++) {
    // every walk is bounded (by the span's objects, the list's length): a list another thread is
    // changing, or that corruption made cyclic, cannot keep check() here
    let spans: u32 = 0;
    for (let s = changetype<Span>(centralList(cls).nonempty); s && ++spans <= centralList(cls).spans; s = changetype<Span>(s.next)) {
      let n: u32 = 0, objects = s.limit / s.objSize;
      for (let p = s.freeList; p && ++n <= objects; p = load<u32>(p)) {
        const r = visit(p, pass, debug ? POISON : spanFreeMark(p, cls), debug);
        if (r) return broken(r, p);
      }
    }
    for (let c = heapHeader().caches; c; c = changetype<CacheHeader>(c).next) {
      const list = changetype<CacheList>(c + (cls << 4));
      let n: u32 = 0;
      for (let p = list.head; p && ++n <= list.length; p = load<u32>(p)) {
        const r = visit(p, pass, debug ? POISON : cacheFreeMark(p, cls), debug);
        if (r) return broken(r, p);
      }
    }
    const batch = classBatch(classToSize(cls));
    for (let slot: u32 = 0; slot < TRANSFER_SLOTS; slot++) {
      let p = load<u32>(parkedSlot(centralList(cls), slot));
      for (let k: u32 = 0; p && k < batch; k++) {
        const r = visit(p, pass, cacheFreeMark(p, cls), debug);
        if (r) return broken(r, p);
        p = load<u32>(p);
      }
    }
  }
  return Broken.NONE;
}

/** Pass 0 only reads (FREE_MARK: a release-build object's word is not `restore`), pass 1 clears
 *  the word, pass 2 marks (DUPLICATE: already marked), pass 3 puts back `restore` (the debug
 *  build's poison, or the release build's free mark). */
function visit(p: u32, pass: u32, restore: u32, debug: bool): Broken {
  const w = <usize>p + 4;
  if (pass == 0) {
    if (!debug && load<u32>(w) != restore) return Broken.FREE_MARK;
  } else if (pass == 1) store<u32>(w, 0);
  else if (pass == 2) {
    if (load<u32>(w) == MARK) return Broken.DUPLICATE;
    store<u32>(w, MARK);
  } else store<u32>(w, restore);
  return Broken.NONE;
}

function checkDuplicates(): Broken {
  const marks = forEachFreeObject(0);
  if (marks) return marks;
  forEachFreeObject(1);
  const r = forEachFreeObject(2);
  forEachFreeObject(3);
  return r;
}
