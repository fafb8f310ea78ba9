// ThreadCache: the front end, one per instance (Wasm globals are per instance, so each worker
// has its own). A free list per class, no locks or atomics; list lengths adapt like TCMalloc's
// max_length slow start, within a byte budget for the whole cache. See index.ts for the design.
import { GROWTH_FLUSH_MIN_SIZE, FLUSHES_PER_GROWTH, CLASS_COUNT, CACHE_BUDGET, CACHE_STEAL_EVERY, CACHE_MAX_LENGTH, CACHE_MAX_OVERAGES, THREADS, DEBUG } from "./config";
import { centralFetch, centralRelease, transferPark, transferTake, transferLast, transferDrain, BROKEN_CHAIN, brokenList } from "./central";
import { heapHeader } from "./header";
import { sizeToClass, classToSize, classBatch } from "./sizeclasses";
import { allocMeta, refreshLinkLimit } from "./pageheap";
import { Span, cacheFreeMark, debugFreeObject, chainHolds, linkLimit } from "./span";
import { pagemapGet } from "./pagemap";
import { lockHeap, unlockHeap } from "./lock";
import { mallocFetch } from "./malloc";

// Cache layout: CLASS_COUNT slots of 16 bytes; slot 0 (no class) holds the cache's own fields.
@unmanaged export class CacheList {
  /** free objects of this class, linked through their first word */
  head: u32;
  /** maxLength - length: the fast paths keep this instead of the length, so free() tests
   *  `--room < 0` (one field) for "longer than its bound" */
  room: i32;
  /** adaptive bound: grows on misses (slow start), shrinks after CACHE_MAX_OVERAGES overflows */
  maxLength: u32;
  overages: u32;

  /** objects on the list; length <= max(maxLength, 1) (the last object freed is kept) */
  get length(): u32 { return this.maxLength - <u32>this.room; }
}

@unmanaged export class CacheHeader {
  /** sum over classes of maxLength * size <= CACHE_BUDGET: bounds the bytes the cache holds */
  capacityBytes: u32;
  /** next class to take capacity from when the budget is used up (round robin) */
  victim: u32;
  /** every instance's cache is on the heap's list (HeapHeader.caches), for stats and checks */
  next: u32;
  /** 1 while an instance uses this cache; 0 after thread exit, free for the next instance */
  owned: u32;
}

/** This instance's cache; 0 until init. */
export let cacheBase: usize = 0;
/** Flushes this instance has made before memory growth. */
let flushesBeforeGrowth: u32 = 0;

/** Gives this instance a cache: one an exited instance left, or a new one. */
export function cacheInit(): bool {
  lockHeap();
  const h = heapHeader();
  let c: usize = h.caches;
  while (c && changetype<CacheHeader>(c).owned) c = changetype<CacheHeader>(c).next;
  if (!c) {
    c = allocMeta(CLASS_COUNT << 4);
    if (c) {
      changetype<CacheHeader>(c).next = h.caches;
      h.caches = <u32>c;
    }
  }
  if (c) changetype<CacheHeader>(c).owned = 1;
  unlockHeap();
  cacheBase = c;
  return c != 0;
}

/** Empties this instance's cache into the central lists and gives the record up. */
export function cacheRelease(): void {
  cacheFlush(1);
  lockHeap();
  cacheHeader().owned = 0;
  unlockHeap();
  cacheBase = 0;
}

// @ts-ignore: decorator
@inline export function cacheList(cls: u32): CacheList {
  return changetype<CacheList>(cacheBase + (cls << 4));
}

/** Takes p, the object at the head of `list` (REQUIRES p == list.head, not 0): live now, so no
 *  longer marked free (span.ts). The fast path (malloc.ts) and the slow ones pop through here.
 *  p must carry the cache's free mark and its link stay inside memory (span.ts, linkLimit); else
 *  something wrote to p after it was freed (cacheTakeSlow). The test costs one load from p's
 *  line, which the link's load brings in anyway, and ~20 instructions with the class in the mark
 *  (malloc 73 -> 93). Measured with the other tests of span.ts's "writes after free", side by
 *  side (bench's runner, 15 rounds): micro +14%, LIFO/FIFO +8-9%, churn and mixed +2%, the traces
 *  +1-4% (bzip2 0.7, sqlite 2.7, gcc 3.0, Lua 3.1, Python 3.6); without the class in the marks
 *  about half that. The same test on the next object instead, an extra line: +2-4% more. */
// @ts-ignore: decorator
@inline export function cacheTake(list: CacheList, p: usize, cls: u32): usize {
  const next = load<u32>(p);
  // one branch, both tests evaluated (p's second word is in bounds: p passed as a link)
  if (<u32>(next > linkLimit) | <u32>!holdsCacheMark(p, cls)) return cacheTakeSlow(list, p, cls);
  list.head = next;
  if (!DEBUG) store<u32>(p, 0, 4);
  list.room++;
  return p;
}

/** cacheTake of an object that failed its test, and the pop after a fetch (cacheFetchSlow),
 *  which has just put the object there and is a miss anyway. A link past linkLimit may be fine
 *  after all if another instance grew memory: then p is taken as usual. Else the list is cut
 *  (cacheCut): at p if p lacks its mark (a broken link led here: p is not a cached object, and
 *  is not handed out; a new object of the class is), else after p. */
function cacheTakeSlow(list: CacheList, p: usize, cls: u32): usize {
  refreshLinkLimit();
  const next = load<u32>(p), marked = holdsCacheMark(p, cls);
  if (marked && next <= linkLimit) {
    list.head = next;
    list.room++;
  } else {
    brokenList(marked ? next : <u32>p, cls);   // the bad link (for the debug build's report)
    cacheCut(list);
    if (!marked) return mallocFetch(cls);
  }
  if (!DEBUG) store<u32>(p, 0, 4);
  return p;
}

/** Does object p (inside memory) carry the mark of a cached object of class cls? The debug
 *  build's free objects hold poison instead of marks: there its span says (a slower test, which
 *  the debug build can afford). */
// @ts-ignore: decorator
@inline function holdsCacheMark(p: usize, cls: u32): bool {
  if (!DEBUG) return load<u32>(p, 4) == cacheFreeMark(p, cls);
  const s = changetype<Span>(pagemapGet(<u32>p));
  return s != null && s.cls == cls && debugFreeObject(s, p);
}

/** Whether cacheCut has cut a list since this was last cleared (cacheOverflowSlow's keep). */
let listCut = false;

/** Empties `list` where a write after free broke it: its objects are leaked (counted out of
 *  their spans, never handed out again). The caller counts the event. */
function cacheCut(list: CacheList): void {
  list.head = 0;
  list.room = list.maxLength;
  listCut = true;
}

/** Pushes object p of class cls on this instance's list, marked free; a list longer than its
 *  bound sends a batch back (cacheOverflowSlow). */
// @ts-ignore: decorator
@inline export function cachePush(cls: u32, p: usize): void {
  const list = cacheList(cls);
  store<u32>(p, list.head);
  if (!DEBUG) store<u32>(p, cacheFreeMark(p, cls), 4);
  list.head = <u32>p;
  if (--list.room < 0) cacheOverflowSlow(cls);
}

// @ts-ignore: decorator
@inline function cacheHeader(): CacheHeader {
  return changetype<CacheHeader>(cacheBase);
}

/** Cache miss: fetches a batch of class cls from the central list and returns one object,
 *  or 0 when memory is exhausted. */
// @ts-ignore: decorator (one caller: mallocFetch)
@inline export function cacheFetchSlow(cls: u32): usize {
  const list = cacheList(cls);
  const batch = classBatch(classToSize(cls));
  let want: u32;
  if (list.maxLength < batch) {   // slow start: 1, 2, 3 ... objects per miss
    growMaxLength(cls, 1);
    want = max<u32>(list.maxLength, 1);
  } else {
    want = batch;
    if (list.maxLength + batch <= CACHE_MAX_LENGTH) growMaxLength(cls, batch);
  }
  lockHeap();
  let got: u32 = 0;
  const first = THREADS && want == batch ? transferTake(cls) : 0;
  if (!first) got = centralFetch(cls, want, changetype<usize>(list), false);
  unlockHeap();
  if (first) {   // a parked batch: ours now, spliced in without the lock (transferLast is this instance's)
    store<u32>(transferLast, list.head);
    list.head = first;
    got = batch;
  }
  // no object without a new span, and no span without growing memory
  if (!got) got = flushAndFetchOne(cls, true);
  if (!got) got = flushAndFetchOne(cls, false);   // memory is exhausted
  if (!got) return 0;
  list.room -= got;   // got objects on; one is handed out
  return cacheTakeSlow(list, list.head, cls);
}

function flushAndFetchOne(cls: u32, beforeGrowth: bool): u32 {
  flushCacheFor(beforeGrowth);
  lockHeap();
  const got = centralFetch(cls, 1, changetype<usize>(cacheList(cls)), true);
  unlockHeap();
  return got;
}

/** A free made the list of class cls longer than its maxLength: a batch goes back to the
 *  central list, and the bound adapts (TCMalloc's ListTooLong). */
export function cacheOverflowSlow(cls: u32): void {
  const list = cacheList(cls);
  const batch = classBatch(classToSize(cls));
  if (list.maxLength < batch) growMaxLength(cls, 1);
  else if (list.maxLength > batch && ++list.overages > CACHE_MAX_OVERAGES) {
    setMaxLength(cls, list.maxLength - batch);
    list.overages = 0;
  }
  // A batch goes back (more if the bound shrank), but the object just freed stays, so the list
  // never empties here: a class whose list overflows at a length of 1 or 2 would otherwise send
  // its last objects back on every overflow, likely emptying its span and taking a new one from
  // the page heap at the next miss. Measured (releasing it too; bench traces, peak at 8 heap
  // bases): gcc 5504 -> 5952 KiB, python 12288 -> 13168, sqlite 5440 -> 6848.
  const keep = list.head;
  list.head = load<u32>(keep);
  // a batch, or down to below the bound (it may have shrunk), whichever is more, of the others
  const length = list.length, bound = max<u32>(list.maxLength, 1);
  listCut = false;
  release(cls, min<u32>(length - 1, max<u32>(batch, length > bound ? length - bound : 0)));
  store<u32>(keep, list.head);
  list.head = keep;
  if (listCut) list.room = list.maxLength - 1;   // the others were cut off: keep is the list
}

/** Is p on this instance's list of class cls? (free()'s slow path: see centralHolds.) */
export function cacheHolds(cls: u32, p: usize): bool {
  refreshLinkLimit();
  return cacheBase != 0 && chainHolds(cacheList(cls).head, cacheList(cls).length, p);
}

function release(cls: u32, n: u32): void {
  if (!n) return;
  const list = cacheList(cls);
  if (THREADS && n == classBatch(classToSize(cls))) {
    // a whole batch: parked in the transfer cache if there is room (the list is this
    // instance's, so its end is found before taking the lock; a list shorter than counted
    // goes the span way below)
    // (every link checked as cacheTake checks it: one that fails sends the batch the span way,
    // which cuts the list there)
    refreshLinkLimit();
    let last = list.head;
    for (let k: u32 = 1; k < n && last; k++) last = cachedObject(last, cls) ? load<u32>(last) : 0;
    if (last && cachedObject(last, cls) && load<u32>(last) <= linkLimit) {   // (rest becomes the head)
      const rest = load<u32>(last);
      lockHeap();
      const parked = transferPark(cls, list.head, last);
      unlockHeap();
      if (parked) {
        list.head = rest;
        list.room += n;
        return;
      }
    }
  }
  lockHeap();
  // bounded, and by what is really on the list: a list that a double free made cyclic or
  // miscounted cannot keep us here
  const taken = centralRelease(cls, min<u32>(n, CACHE_MAX_LENGTH + 1), changetype<usize>(list));
  unlockHeap();
  if (taken == BROKEN_CHAIN) cacheCut(list);
  else list.room += min<u32>(taken, list.length);
}

/** Does p look like an object on a cache list of class cls: inside memory, marked as cached? */
// @ts-ignore: decorator
@inline function cachedObject(p: u32, cls: u32): bool {
  return p <= linkLimit && holdsCacheMark(p, cls);
}

/** Growths this instance's cache refused for want of budget (see CACHE_STEAL_EVERY). */
let refusedGrowths: u32 = 0;

function growMaxLength(cls: u32, by: u32): void {
  const h = cacheHeader();
  const bytes = by * classToSize(cls);
  // over budget: the list keeps its bound, except every CACHE_STEAL_EVERY-th time, when it takes
  // capacity from other classes, round robin, until this growth fits
  if (h.capacityBytes + bytes > CACHE_BUDGET) {
    if (++refusedGrowths & (CACHE_STEAL_EVERY - 1)) return;
    for (let tries: u32 = 0; h.capacityBytes + bytes > CACHE_BUDGET; tries++) {
      if (tries == CLASS_COUNT) return;
      const v = h.victim % (CLASS_COUNT - 1) + 1;   // 1, 2 ... CLASS_COUNT - 1, 1 ...
      h.victim = v;
      if (v != cls) shrinkMaxLength(v, cacheList(v).maxLength >> 1);
    }
  }
  const list = cacheList(cls);
  list.maxLength += by;
  list.room += by;
  h.capacityBytes += bytes;
}

function shrinkMaxLength(cls: u32, to: u32): void {
  const list = cacheList(cls);
  if (list.length > to) release(cls, list.length - to);
  setMaxLength(cls, to);
}

/** REQUIRES to <= maxLength. */
function setMaxLength(cls: u32, to: u32): void {
  const list = cacheList(cls);
  cacheHeader().capacityBytes -= (list.maxLength - to) * classToSize(cls);
  list.room -= list.maxLength - to;
  list.maxLength = to;
}

/** Hands cached objects back, so that spans only they kept alive return to the page heap and
 *  coalesce (and under threads, the transfer cache's). `beforeGrowth`: memory is about to grow,
 *  and the pages needed may be had without it: objects of GROWTH_FLUSH_MIN_SIZE or more, so long
 *  as this instance has made fewer than FLUSHES_PER_GROWTH such flushes for each time memory has
 *  grown (see config.ts). Else memory is exhausted: every object. REQUIRES the instance's cache
 *  (every allocation sets the heap up, and so the cache, before it asks for memory). */
export function flushCacheFor(beforeGrowth: bool): void {
  if (beforeGrowth) {
    if (flushesBeforeGrowth >= <u32>heapHeader().memoryGrows * FLUSHES_PER_GROWTH) return;
    flushesBeforeGrowth++;
  }
  cacheFlush(beforeGrowth ? sizeToClass(GROWTH_FLUSH_MIN_SIZE) : 1);
  if (THREADS) {
    lockHeap();
    transferDrain();
    unlockHeap();
  }
}

/** Hands every cached object of class `from` or above back to the central lists (thread exit,
 *  or trimming the heap: from class 1). The lists keep their bounds, so a busy class refills by
 *  whole batches, not from slow start again. */
export function cacheFlush(from: u32): void {
  for (let cls = from; cls < CLASS_COUNT; cls++) release(cls, cacheList(cls).length);
}
