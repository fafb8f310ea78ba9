// PageHeap: the back end. Owns the heap's pages, takes more with memory.grow (its sbrk), hands
// out runs of pages as spans, and coalesces freed runs. See index.ts for the design.
//
//   heap.base      start                                                        end = memory end
//   ├─ header ─────┼─ spans, free runs, metadata chunks ... ─────┼─── top run ───┤
//   (one page)                                                   (free, grows with memory.grow)
//
// Free runs of n < BIG_RUN pages sit on list n (LIFO); longer ones on list BIG_RUN (best fit).
// The top run, the free run that ends at `end`, is on no list: it is the last resort, so that
// whatever lives just below it (typically a block grown by realloc) can keep growing in place.
import { PAGE_SHIFT, PAGE_SIZE, WASM_PAGE_SHIFT, BIG_RUN, GROWTH_DIVISOR, TOP_GROWTH_DIVISOR, BIG_MEMORY, BIG_MEMORY_DIVISOR, META_CHUNK_PAGES,
  LEAF_BYTES, REGION_SHIFT, OFF_PAGEHEAP, OFF_FREE_LISTS, THREADS } from "./config";
import { Span, SpanState, SPAN_BYTES, spanPage, spanEnd, setLinkLimit } from "./span";
import { pagemapGet, pagemapSetAll, pagemapSetEnds, pagemapHasLeaf, pagemapAddLeaf, pagemapMoveLeaves, findSpan } from "./pagemap";
import { heapHeader, HeapHeader, headerField } from "./header";
import { count } from "./lock";

@unmanaged class PageHeap {
  /** first page the page heap manages */
  start: u32;
  /** end of the memory the heap owns; pages above belong to whoever grew memory after us */
  end: u32;
  /** Span: the free run ending at `end`, or 0 */
  top: u32;
  /** dead span records, linked through `next` */
  recycle: u32;
  /** metadata bump arena: [metaCursor, metaEnd) */
  metaCursor: u32;
  metaEnd: u32;
  /** freePages == sum of npages over free runs and top; freeRuns counts them */
  freePages: u32;
  freeRuns: u32;
  /** Spans: the SPARES large blocks freed last, kept whole (SPARE); 0 where none */
  spare0: u32; spare1: u32; spare2: u32; spare3: u32;
  /** bit n set: list n (1 <= n < BIG_RUN) holds a run, so findRun takes a bit scan, not a walk
   *  of up to 127 list heads per span made (bench Lua trace: 2466 spans a replay) */
  nonempty0: u32; nonempty1: u32; nonempty2: u32; nonempty3: u32;
  /** bytes at the heap's end, [end - tail, end), holding page-map leaves and nothing else (the
   *  top run ends below them: heapTop); they move to the new end whenever memory grows (addMemory) */
  tail: u32;
}

let ph: PageHeap = changetype<PageHeap>(0);

/** Freed large blocks kept whole: enough for a program that cycles a few big buffers. */
const SPARES: u32 = 4;
// @ts-ignore: compile-time check
if (offsetof<PageHeap>() > OFF_FREE_LISTS - OFF_PAGEHEAP) ERROR("PageHeap overlaps the free lists");

// @ts-ignore: decorator
@inline function spareSlot(i: u32): usize {
  return changetype<usize>(ph) + offsetof<PageHeap>("spare0") + (i << 2);
}

// @ts-ignore: compile-time check
if (BIG_RUN != 128) ERROR("the nonempty bitmap has 128 bits: one per list below BIG_RUN");

/** Address of the nonempty bitmap's word holding list n's bit. */
// @ts-ignore: decorator
@inline function nonemptyWord(n: u32): usize {
  return changetype<usize>(ph) + offsetof<PageHeap>("nonempty0") + ((n >> 5) << 2);
}

/** Sets or clears list n's bit in the nonempty bitmap (n < BIG_RUN). */
// @ts-ignore: decorator
@inline function markList(n: u32, nonempty: bool): void {
  const word = nonemptyWord(n), bit: u32 = 1 << (n & 31);
  store<u32>(word, nonempty ? load<u32>(word) | bit : load<u32>(word) & ~bit);
}

/** The list that runs of n pages go on: list n, or list BIG_RUN for n >= BIG_RUN. */
// @ts-ignore: decorator
@inline function listHead(n: u32): usize {
  return changetype<usize>(ph) - OFF_PAGEHEAP + OFF_FREE_LISTS + (min<u32>(n, BIG_RUN) << 2);
}
/** Where the page heap's pages end: the heap's end but for the leaves kept there (ph.tail). */
// @ts-ignore: decorator
@inline function heapTop(): u32 {
  return ph.end - ph.tail;
}

// @ts-ignore: decorator
@inline function bytesToPages(bytes: u32): u32 {
  return (bytes + PAGE_SIZE - 1) >> PAGE_SHIFT;
}

/** Points this instance at the page heap in the header at `base`. */
export function pageHeapBind(base: usize): void {
  ph = changetype<PageHeap>(base + OFF_PAGEHEAP);
  refreshLinkLimit();
}

/** Brings linkLimit up to the heap's end (another instance may have grown it). */
export function refreshLinkLimit(): void {
  setLinkLimit(ph.end);
}

/** Sets up an empty page heap in the header at `base` (zeroed, and bound: pageHeapBind);
 *  memory [base+PAGE_SIZE, memEnd) becomes free. */
export function pageHeapInit(base: usize, memEnd: u32, zeroed: bool): bool {
  ph.start = <u32>base + PAGE_SIZE;
  ph.end = ph.start;
  // memory already above the header is ours; too little of it to hold metadata is left unused
  if (memEnd >= ph.end + ((META_CHUNK_PAGES + 1) << PAGE_SHIFT)) return addMemory(ph.end, memEnd, zeroed, 0, false);
  return true;
}

// ---- span records and other metadata ------------------------------------------------------

/** Zeroed metadata of `bytes` (a multiple of 4), or 0 when memory is exhausted. Never freed. */
export function allocMeta(bytes: u32): usize {
  if (ph.metaEnd - ph.metaCursor < bytes && !refillMetaSlow(bytes)) return 0;
  return bumpMeta(bytes);
}

function bumpMeta(bytes: u32): usize {
  const p = ph.metaCursor;
  ph.metaCursor += bytes;
  memory.fill(p, 0, bytes);
  return p;
}

/** Chunks grow with the metadata already taken (by half of it), so refills are rare: each one
 *  may land between a growing block and the memory it would grow into. */
function metaChunkPages(bytes: u32): u32 {
  return max<u32>(max<u32>(META_CHUNK_PAGES, bytesToPages(bytes)), heapHeader().metadataBytes >> (PAGE_SHIFT + 1));
}

function refillMetaSlow(bytes: u32): bool {
  if (metaFromFree(bytes, true)) return true;
  // growHeap leaves the arena with at least `bytes` (taken from the new memory if need be)
  return growHeap(0, bytes, GROWTH_DIVISOR) && ph.metaEnd - ph.metaCursor >= bytes;
}

/** Refills the metadata arena from free pages: the best-fitting free run (a hole below
 *  whatever grows at the top), else, if `orTop`, the bottom of the top run. Metadata pages are
 *  left out of the page map, so nothing coalesces with them and a pointer into them is foreign. */
function metaFromFree(bytes: u32, orTop: bool): bool {
  const npages = metaChunkPages(bytes);
  let run = findRun(npages);
  if (!run) {
    if (!orTop) return false;
    run = changetype<Span>(ph.top);
    if (!run || run.npages <= npages) return false;
  }
  ph.metaCursor = run.start;
  ph.metaEnd = run.start + (npages << PAGE_SHIFT);
  heapHeader().metadataBytes += npages << PAGE_SHIFT;
  takeFront(run, npages);
  return true;
}

function newSpan(start: u32, npages: u32, state: SpanState): Span {
  let s = changetype<Span>(ph.recycle);
  if (s) ph.recycle = s.next;
  else s = changetype<Span>(allocMeta(SPAN_BYTES));   // REQUIRES: caller reserved it (see reserveSpans)
  s.start = start;
  s.npages = npages;
  s.state = <u16>state;
  s.zeroed = 0;
  s.carved = 0;
  s.next = 0;
  s.prev = 0;
  return s;
}

function deleteSpan(s: Span): void {
  s.state = <u16>SpanState.DEAD;
  s.next = ph.recycle;
  ph.recycle = changetype<u32>(s);
}

/** Span records a split may take (carve: the split-off span; an aligned block: its lead). */
const SPLIT_RECORDS: u32 = 2;

/** Makes sure `n` span records can be had without touching memory: splits may then never fail. */
function reserveSpans(n: u32): bool {
  // Keep a page-map leaf's worth in the arena too: growing memory then finds its metadata here
  // instead of cutting it from the new memory, between the top block and its growth. (Here,
  // before a run is chosen: a refill may take pages from any free run.)
  if (ph.metaEnd - ph.metaCursor < LEAF_BYTES + 4 * SPAN_BYTES) metaFromFree(LEAF_BYTES * 2, true);
  let have: u32 = (ph.metaEnd - ph.metaCursor) / SPAN_BYTES;
  for (let r = ph.recycle; r && have < n; r = changetype<Span>(r).next) have++;
  return have >= n || refillMetaSlow(n * SPAN_BYTES);
}

// ---- free lists ---------------------------------------------------------------------------

function pushFree(s: Span): void {
  s.state = <u16>SpanState.FREE;
  pagemapSetEnds(s);
  ph.freePages += s.npages;
  ph.freeRuns++;
  if (spanEnd(s) == heapTop()) {   // the top run
    ph.top = changetype<u32>(s);
    return;
  }
  const head = listHead(s.npages);
  const first = load<u32>(head);
  s.next = first;
  s.prev = 0;
  if (first) changetype<Span>(first).prev = changetype<u32>(s);
  else if (s.npages < BIG_RUN) markList(s.npages, true);
  store<u32>(head, changetype<u32>(s));
}

function unlinkFree(s: Span): void {
  ph.freePages -= s.npages;
  ph.freeRuns--;
  if (changetype<u32>(s) == ph.top) {
    ph.top = 0;
    return;
  }
  if (s.prev) changetype<Span>(s.prev).next = s.next;
  else {
    store<u32>(listHead(s.npages), s.next);
    if (!s.next && s.npages < BIG_RUN) markList(s.npages, false);
  }
  if (s.next) changetype<Span>(s.next).prev = s.prev;
}

/** Takes the first npages of free run `run` (REQUIRES npages <= its pages) out of the free
 *  runs; the rest, if any, stays free in the same record. */
function takeFront(run: Span, npages: u32): void {
  unlinkFree(run);
  if (run.npages > npages) {
    run.start += npages << PAGE_SHIFT;
    run.npages -= npages;
    pushFree(run);
  } else deleteSpan(run);
}

/** The smallest free run of at least npages on the lists (not the top run), or null.
 *  The lists below BIG_RUN are exact, so the first non-empty one at or above npages (the
 *  nonempty bitmap's first set bit from npages) holds a best fit. */
function findRun(npages: u32): Span | null {
  for (let n = npages; n < BIG_RUN; n = (n | 31) + 1) {   // a word of the bitmap a step
    const bits = load<u32>(nonemptyWord(n)) & (<u32>-1 << (n & 31));
    if (bits) return changetype<Span>(load<u32>(listHead((n & ~31) + ctz(bits))));
  }
  // runs of BIG_RUN pages or more: best fit
  let best: Span | null = null;
  for (let s = changetype<Span>(load<u32>(listHead(BIG_RUN))); s; s = changetype<Span>(s.next)) {
    if (s.npages >= npages && (!best || s.npages < best.npages)) best = s;
  }
  return best;
}

// ---- growth -------------------------------------------------------------------------------

/** Current end of linear memory. Under threads another instance may have grown it, and
 *  memory.size can lag that (FACTS.md): memory.grow(0) is always current. */
// @ts-ignore: decorator
@inline export function memoryEnd(): u32 {
  return <u32>(THREADS ? memory.grow(0) : memory.size()) << WASM_PAGE_SHIFT;
}

/** Grows linear memory so that the top run has at least `npages` pages and the metadata arena
 *  `metaBytes`. Takes at least heap/`divisor` if it can. False when memory.grow fails. */
function growHeap(npages: u32, metaBytes: u32, divisor: u32): bool {
  // Metadata this growth needs (page-map leaves, a span record) comes from a free hole if there
  // is one (the spares go back to make one if need be), so that the new memory stays contiguous
  // with the top run and with whatever grows into it; failing that, addMemory cuts it from the
  // new memory. (A buffer grown 4 KiB at a time had to move, 24 MB, at the 24 MiB page-map
  // region: the leaf went right after it while 18 spare pages sat idle.)
  const metaNeed = metaBytes + 2 * LEAF_BYTES + 4 * SPAN_BYTES;
  if (ph.metaEnd - ph.metaCursor < metaNeed && !metaFromFree(metaNeed, false) && releaseSpares()) metaFromFree(metaNeed, false);
  const top = changetype<Span>(ph.top);
  const have: u32 = memoryEnd() == ph.end && top ? top.npages : 0;
  const wantBytes = (<u64>(npages - min<u32>(have, npages)) << PAGE_SHIFT) + metaNeed + ph.tail +
    (<u64>npages << PAGE_SHIFT >> REGION_SHIFT) * LEAF_BYTES + (META_CHUNK_PAGES << PAGE_SHIFT);
  if (memoryEnd() >= BIG_MEMORY) divisor = min<u32>(divisor, BIG_MEMORY_DIVISOR);
  const stepBytes = max<u64>(wantBytes, <u64>((ph.end - ph.start) / divisor));
  let old = memory.grow(wasmPages(stepBytes));
  if (old < 0 && stepBytes > wantBytes) old = memory.grow(wasmPages(wantBytes));
  if (old < 0) return false;
  count(headerField(offsetof<HeapHeader>("memoryGrows")));
  return addMemory(<u32>old << WASM_PAGE_SHIFT, memoryEnd(), true, metaBytes, !THREADS);
}

// @ts-ignore: decorator
@inline function wasmPages(bytes: u64): i32 {
  return <i32>((bytes + (1 << WASM_PAGE_SHIFT) - 1) >> WASM_PAGE_SHIFT);
}

/** Takes [start, end) into the heap: a page-map leaf for every 8 MiB region it touches and at
 *  least `metaBytes` in the metadata arena (both cut from its bottom if the arena is short),
 *  then its pages as free, merged into the top run when contiguous with it. `atEnd` (memory.grow
 *  just added it; single-threaded build): leaves the arena cannot hold go at its end instead,
 *  with those already there (ph.tail), so that nothing lies between the heap's pages and the
 *  new ones and a block growing at the top grows on in place. (Cut from the bottom, the three
 *  leaves a buffer doubling from 32 to 64 MiB needed, with no free hole below it, went right
 *  after it: it moved, 32 MB.) Leaves can move where span records cannot: only the root points
 *  at a leaf, and no other thread reads the map meanwhile. */
function addMemory(start: u32, end: u32, zeroed: bool, metaBytes: u32, atEnd: bool): bool {
  let leaves: u32 = 0;
  for (let r = start >> REGION_SHIFT; r <= (end - 1) >> REGION_SHIFT; r++) {
    if (!pagemapHasLeaf(r << REGION_SHIFT)) leaves++;
  }
  // the record of a new top run, and the records pageHeapAlloc reserved before it grew memory:
  // a split of the new top run must not find the arena empty and refill it from that very run
  const records = metaBytes + (1 + SPLIT_RECORDS) * SPAN_BYTES;
  const room = ph.metaEnd - ph.metaCursor, contiguous = start == ph.end;
  const tail = bytesToPages(ph.tail + leaves * LEAF_BYTES) << PAGE_SHIFT;
  let cursor = start, limit = end, leafAt: u32 = 0;
  // leaves already at the end move on to the new end (their pages free), and new ones go there
  // too when the arena cannot hold them; memory someone else grew after the leaves there leaves
  // them where they are, as any metadata
  if (contiguous && end - start > tail &&
      (ph.tail || (atEnd && leaves && room < records + leaves * LEAF_BYTES && room >= records))) {
    limit = end - tail;
    cursor = start - ph.tail;
    if (ph.tail) {
      pagemapMoveLeaves(cursor, ph.tail, limit);
      memory.fill(cursor, 0, ph.tail);
    }
    leafAt = limit + ph.tail;
    heapHeader().metadataBytes += tail - ph.tail;
    ph.tail = tail;
  } else ph.tail = 0;
  const need = records + (leafAt ? 0 : leaves * LEAF_BYTES);
  if (ph.metaEnd - ph.metaCursor < need) {
    const chunk = metaChunkPages(need) << PAGE_SHIFT;
    if (limit - cursor < chunk) return false;
    ph.metaCursor = cursor;
    ph.metaEnd = cursor + chunk;
    cursor += chunk;
    heapHeader().metadataBytes += chunk;
  }
  for (let r = start >> REGION_SHIFT; r <= (end - 1) >> REGION_SHIFT; r++) {
    if (pagemapHasLeaf(r << REGION_SHIFT)) continue;
    if (leafAt) {   // (new memory: zero already)
      pagemapAddLeaf(r << REGION_SHIFT, leafAt);
      leafAt += LEAF_BYTES;
    } else pagemapAddLeaf(r << REGION_SHIFT, bumpMeta(LEAF_BYTES));
  }
  ph.end = end;
  setLinkLimit(end);
  if (cursor >= limit) return true;
  const npages = (limit - cursor) >> PAGE_SHIFT;
  const top = changetype<Span>(ph.top);
  if (contiguous && top && spanEnd(top) == cursor) {   // extend the top run
    ph.freePages += npages;
    top.npages += npages;
    if (!zeroed) top.zeroed = 0;
    pagemapSetEnds(top);
    return true;
  }
  if (top) {   // the old top run no longer ends at the top: file it on its list
    unlinkFree(top);
    pushFree(top);
  }
  const s = newSpan(cursor, npages, SpanState.FREE);
  s.zeroed = <u16>zeroed;
  pushFree(s);
  return true;
}

// ---- allocation and freeing ---------------------------------------------------------------

/** Cuts the first npages off free run `run` and returns them as a span in `state`, mapped. */
function carve(run: Span, npages: u32, state: SpanState): Span {
  let s = run;
  if (run.npages > npages) {
    s = newSpan(run.start, npages, state);
    s.zeroed = run.zeroed;
    const rest = run.npages - npages;
    if (changetype<u32>(run) == ph.top || rest >= BIG_RUN) {
      // the rest stays where it is (the top, or the list of long runs): only its start moves
      run.start += npages << PAGE_SHIFT;
      run.npages = rest;
      ph.freePages -= npages;
      pagemapSetEnds(run);   // for its new first page (its last maps to it already)
    } else takeFront(run, npages);
  } else unlinkFree(run);
  s.state = <u16>state;
  if (state == SpanState.SMALL) pagemapSetAll(s);   // objects are looked up on any page
  else pagemapSetEnds(s);                            // a large block by its ends: O(1), not O(pages)
  return s;
}

/** A spare of npages or up to 1/8 more, taken whole as a LARGE span (still mapped); or null. */
export function pageHeapTakeSpare(npages: u32): Span | null {
  const slot = findSpare(npages, true);
  if (!slot) return null;
  const s = changetype<Span>(load<u32>(slot));
  store<u32>(slot, 0);
  ph.freePages -= s.npages;
  s.state = <u16>SpanState.LARGE;
  return s;
}

/** A span of npages in `state` (SMALL or LARGE), mapped; null when memory is exhausted, or
 *  when it would have to grow and `mayGrow` is false (the caller then has the cache hand its
 *  objects back first: see flushCacheFor). Best fit from the free lists, then the top run,
 *  then memory.grow (spares are for largeAlloc to take first: pageHeapTakeSpare). A large
 *  block no free run holds has the spares go back first, to coalesce into one that does,
 *  before it takes fresh pages from the top: vectors doubling in turn free blocks that pair up
 *  into the next size, which the spares held apart (bench, 32 vectors doubling to 2 MiB: 2.5 MB
 *  fewer fresh pages; realloc-4k-mixed's peak 139 -> 121 MB; the traces' peaks unchanged).
 *  `atTop`: from the bottom of the top run if it has room, where the block can later grow in
 *  place (realloc moving a block that outgrew its place). */
export function pageHeapAlloc(npages: u32, state: SpanState, mayGrow: bool, atTop: bool = false): Span | null {
  if (!reserveSpans(SPLIT_RECORDS)) return null;   // first: it may take metadata from any free run
  const top = changetype<Span>(ph.top);
  let run = atTop && top && top.npages >= npages ? top : findRun(npages);
  if (!run && state == SpanState.LARGE && releaseSpares()) run = findRun(npages);
  if (!run) run = takeTop(npages, mayGrow);
  if (!run) return null;
  return carve(run, npages, state);
}

/** The top run with at least npages, growing memory if needed and `mayGrow`; else null. */
function takeTop(npages: u32, mayGrow: bool): Span | null {
  let top = changetype<Span>(ph.top);
  if (!top || top.npages < npages) {
    if (releaseSpares()) {   // before growing memory, the spares go back and coalesce
      const run = findRun(npages);
      if (run) return run;
      top = changetype<Span>(ph.top);
      if (top && top.npages >= npages) return top;
    }
    if (!mayGrow || !growHeap(npages, 0, GROWTH_DIVISOR)) return null;
    top = changetype<Span>(ph.top);
    if (!top || top.npages < npages) return null;
  }
  return top;
}

/** A large block's span of npages whose start is a multiple of alignBytes (> PAGE_SIZE, a power
 *  of two). */
export function pageHeapAllocAligned(npages: u32, alignBytes: u32, mayGrow: bool): Span | null {
  const slack = (alignBytes >> PAGE_SHIFT) - 1;
  if (npages + slack < npages) return null;
  const s = pageHeapAlloc(npages + slack, SpanState.LARGE, mayGrow);
  if (!s) return null;
  const lead = ((alignBytes - (s.start & (alignBytes - 1))) & (alignBytes - 1)) >> PAGE_SHIFT;
  if (lead) {   // hand the leading pages back
    if (!reserveSpans(SPLIT_RECORDS)) { pageHeapFree(s); return null; }
    const head = newSpan(s.start, lead, SpanState.LARGE);
    s.start += lead << PAGE_SHIFT;
    s.npages -= lead;
    pagemapSetEnds(s);
    pageHeapFree(head);
  }
  pageHeapShrink(s, npages);
  return s;
}

/** A large block freed: kept whole as a spare (a program that frees and allocates the same big
 *  buffers again, bzip2's two 3.6 MB blocks per file, then reuses them without splitting and
 *  coalescing runs); the older spare goes back to the free runs. Spares count as free pages
 *  and go back before memory grows. s may still start at its colour: a spare starts on its page. */
export function pageHeapFreeLarge(s: Span): void {
  s.start = spanPage(s);
  const old = changetype<Span>(load<u32>(spareSlot(SPARES - 1)));
  for (let i = SPARES - 1; i > 0; i--) store<u32>(spareSlot(i), load<u32>(spareSlot(i - 1)));
  store<u32>(spareSlot(0), changetype<u32>(s));
  s.state = <u16>SpanState.SPARE;
  s.zeroed = 0;
  ph.freePages += s.npages;
  if (old) releaseSpare(old);
}

/** The slot of a spare of at least npages (`tight`: wasting at most 1/8 of itself), or 0. */
function findSpare(npages: u32, tight: bool): usize {
  for (let i: u32 = 0; i < SPARES; i++) {
    const s = changetype<Span>(load<u32>(spareSlot(i)));
    if (s && s.npages >= npages && (!tight || s.npages - npages <= s.npages >> 3)) return spareSlot(i);
  }
  return 0;
}

function releaseSpare(s: Span): void {
  ph.freePages -= s.npages;
  pageHeapFree(s);
}

/** Hands every spare back to the free runs; true if there was one. */
export function releaseSpares(): bool {
  let any = false;
  for (let i: u32 = 0; i < SPARES; i++) {
    const s = changetype<Span>(load<u32>(spareSlot(i)));
    if (s) {
      store<u32>(spareSlot(i), 0);
      releaseSpare(s);
      any = true;
    }
  }
  return any;
}

export function pageHeapIsSpare(s: usize): bool {
  for (let i: u32 = 0; i < SPARES; i++) if (load<u32>(spareSlot(i)) == <u32>s) return true;
  return false;
}


/** Returns span s's pages to the heap, merging with free neighbours. s may still start at its
 *  colour (a small span's, a large block's): a free run starts on its page. */
export function pageHeapFree(s: Span): void {
  s.start = spanPage(s);
  const before = pagemapGet(s.start - 1);
  if (s.start > ph.start && before) {
    const left = changetype<Span>(before);
    if (left.state == SpanState.FREE && spanEnd(left) == s.start) {
      unlinkFree(left);
      left.npages += s.npages;
      deleteSpan(s);
      s = left;
    }
  }
  const end = spanEnd(s);
  if (end < heapTop()) {
    const after = pagemapGet(end);
    if (after) {
      const right = changetype<Span>(after);
      if (right.state == SpanState.FREE && right.start == end) {
        unlinkFree(right);
        s.npages += right.npages;
        deleteSpan(right);
      }
    }
  }
  s.zeroed = 0;   // a span that was in use has been written
  pushFree(s);
}

/** Grows span s in place to npages by taking the free pages right after it, growing memory
 *  when s ends at the top. False, with s unchanged, when its neighbour is in use. */
export function pageHeapExtend(s: Span, npages: u32): bool {
  const extra = npages - s.npages;
  const end = spanEnd(s);
  // no span record is needed: the free run after s shrinks in place or is deleted; and taking
  // one here could put metadata right where s is about to grow
  const top = changetype<Span>(ph.top);
  const topAfter: u32 = top && top.start == end ? top.npages : 0;
  if ((end == heapTop() || topAfter) && topAfter < extra) {
    // growing memory under s beats copying it, unless a free run could take it: then the heap
    // should not grow (dlmalloc grows its top; sqlite's growing buffer peaked 1.3x higher here)
    if (memoryEnd() != ph.end || findRun(npages) || findSpare(npages, false) || !growHeap(extra, 0, TOP_GROWTH_DIVISOR)) return false;
  }
  if (end >= heapTop()) return false;
  const after = pagemapGet(end);
  if (!after) return false;
  let right = changetype<Span>(after);
  if (right.state == SpanState.SPARE && right.start == end) {   // a spare in the way: spares go back
    releaseSpares();
    right = changetype<Span>(pagemapGet(end));
  }
  if (right.state != SpanState.FREE || right.start != end || right.npages < extra) return false;
  takeFront(right, extra);
  s.npages = npages;
  pagemapSetEnds(s);
  return true;
}

/** Shrinks span s in place to npages (>= 1), handing its tail pages back to the heap. */
export function pageHeapShrink(s: Span, npages: u32): void {
  if (npages >= s.npages || !reserveSpans(1)) return;
  const tail = newSpan(spanPage(s) + (npages << PAGE_SHIFT), s.npages - npages, SpanState.FREE);
  s.npages = npages;
  pagemapSetEnds(s);
  pageHeapFree(tail);   // maps the tail's ends; its other pages' stale entries fall outside s
}

// ---- inspection ---------------------------------------------------------------------------

/** The live span containing addr (any page of a large block or free run), or null. */
export function pageHeapFindSpan(addr: u32): Span | null {
  if (!changetype<usize>(ph) || addr - ph.start >= ph.end - ph.start) return null;
  return findSpan(addr, ph.start);
}

/** Does [start, end) overlap the metadata arena's unused bytes, or hold span record s?
 *  (Metadata lives outside every span: check() asks this of each span.) */
export function pageHeapOverlapsMeta(start: u32, end: u32, s: usize): bool {
  return (start < ph.metaEnd && ph.metaCursor < end) || (s >= start && s < end);
}

export function pageHeapFreeBytes(): u32 { return ph.freePages << PAGE_SHIFT; }
export function pageHeapFreeRuns(): u32 { return ph.freeRuns; }
export function pageHeapStart(): u32 { return ph.start; }
export function pageHeapEnd(): u32 { return ph.end; }

/** Checks the free lists against the page map walk's totals (see check.ts): every run on list
 *  n is FREE, not the top, of min(npages, BIG_RUN) == n, doubly linked; runs and pages add
 *  up. Returns the first bad record, 0 if none, or 1 when the totals disagree. */
export function pageHeapCheckLists(runsSeen: u32, pagesSeen: u32): usize {
  if (runsSeen != ph.freeRuns || pagesSeen != ph.freePages) return 1;
  const top = changetype<Span>(ph.top);
  if (top && (top.state != SpanState.FREE || spanEnd(top) != heapTop())) return changetype<usize>(top);
  let listed: u32 = 0;
  if (load<u32>(nonemptyWord(0)) & 1) return 1;   // no list 0
  for (let n: u32 = 1; n <= BIG_RUN; n++) {
    const first = load<u32>(listHead(n));
    if (n < BIG_RUN && ((load<u32>(nonemptyWord(n)) >> (n & 31)) & 1) != <u32>(first != 0)) return 1;
    let prev: u32 = 0;
    for (let s = changetype<Span>(first); s; s = changetype<Span>(s.next)) {
      if (s.state != SpanState.FREE || changetype<u32>(s) == ph.top || min<u32>(s.npages, BIG_RUN) != n ||
          s.prev != prev || ++listed > ph.freeRuns) return changetype<usize>(s);
      prev = changetype<u32>(s);
    }
  }
  return listed + (top ? 1 : 0) == ph.freeRuns ? 0 : 1;
}
