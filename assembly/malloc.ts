// The C API: malloc, free, realloc, calloc, aligned_alloc, posix_memalign, malloc_usable_size.
// Fast paths pop and push the front-end cache and are leaves; everything else is *Slow.
// See index.ts for the design.
import { PAGE_SIZE, MIN_ALIGN, Status, DEBUG, THREADS } from "./config";
import { MAX_SMALL_SIZE, TOP_CLASS_FLOOR, CLASS_COUNT, sizeToClass, classToSize } from "./sizeclasses";
import { Span, SpanState, spanEnd, looksFree } from "./span";
import { pagemapGet, pagemapGetInline } from "./pagemap";
import { heapBase, HeapHeader, headerField } from "./header";
import { count, countRefusal } from "./lock";
import { cacheList, cacheTake, cachePush, cacheFetchSlow, cacheHolds } from "./threadcache";
import { centralHolds } from "./central";
import { largeAlloc, largeAllocForGrowth, largeFree, largeResizeInPlace } from "./largeblock";
import { initHeap } from "./init";
import { pageHeapEnd, pageHeapFindSpan } from "./pageheap";
import { debugMalloc, debugFree, debugRealloc, debugAdopt, debugRequested, setDebugOp, DebugOp, DEBUG_EXTRA, POISON } from "./debug";

/** MAX_SMALL_SIZE once the heap is set up, 0 before: `size - 1 < smallLimit` then sends every
 *  call down the slow path, which sets the heap up, with no separate "initialised?" test. */
export let smallLimit: usize = 0;

export function setSmallLimit(limit: usize): void {
  smallLimit = limit;
}

/** Why the last failing call failed (Status); cleared by reading it. */
export let lastError: u32 = Status.OK;

export function fail(status: Status): usize {
  lastError = status;
  if (heapBase) countRefusal(status);
  return 0;
}

/** THREADS: an instance that left with thread_exit attaches again on its next call. */
export function reattach(): bool {
  return THREADS && !smallLimit && heapBase != 0 && initHeap(0);
}

// ---- malloc -------------------------------------------------------------------------------

/** A block of at least `size` bytes, or 0 (lastError says why). The debug build wraps every
 *  block with a canary and its requested size (debug.ts). */
export function malloc(size: usize): usize {
  return DEBUG ? debugMalloc(size) : allocBlock(size);
}

/** The allocation fast path: pop the cache's list of the class, a leaf. */
// @ts-ignore: decorator
@inline export function allocBlock(size: usize): usize {
  if (size - 1 < smallLimit) {
    const cls = sizeToClass(<u32>size), list = cacheList(cls);
    const p = list.head;
    if (p) return cacheTake(list, p, cls);
  }
  return mallocSlow(size);
}

function mallocSlow(size: usize): usize {
  if (!smallLimit && !initHeap(0)) return fail(Status.OUT_OF_MEMORY);
  if (size <= MAX_SMALL_SIZE) return mallocClass(classOf(<u32>size));   // size 0 too: its class is 1
  const p = largeAlloc(size, MIN_ALIGN);
  return p ? p : fail(Status.OUT_OF_MEMORY);
}

/** sizeToClass for the slow paths: one out-of-line copy (it is inlined into malloc alone).
 *  Size 0 gets class 1, as sizes 1-8 (the formula selects 1 for any size <= 8). */
function classOf(size: u32): u32 {
  return sizeToClass(size);
}

export function mallocClass(cls: u32): usize {
  const list = cacheList(cls);
  const p = list.head;
  if (p) return cacheTake(list, p, cls);
  return mallocFetch(cls);
}

/** mallocClass with the cache's list of cls empty (also after cacheTakeSlow cut it). */
export function mallocFetch(cls: u32): usize {
  const q = cacheFetchSlow(cls);
  return q ? q : fail(Status.OUT_OF_MEMORY);
}

// ---- free ---------------------------------------------------------------------------------

export function free(p: usize): void {
  if (DEBUG) debugFree(p);
  else freeBlock(p);   // inlined here: the C free() is this export, with no call in between
}

/** free() that says what it did: Status.OK, or why it refused (then nothing changed; the
 *  refusal is also in lastError, as for any failing call). */
export function freeChecked(p: usize): u32 {
  lastError = Status.OK;
  free(p);
  return lastError;
}

/** Is p a small object this heap handed out, s being the record p's page maps to? Below the
 *  span's carved mark (so a SMALL span) and at an object boundary: the fast paths' check; false
 *  sends them down their slow paths, which find out what p is. */
// @ts-ignore: decorator
@inline function isSmallBlock(s: Span, p: usize): bool {
  const off = <u32>p - s.start;
  return off < s.carved && <u32>((<u64>off * s.divMagic) >> 32) * s.objSize == off;
}

/** The free fast path: push on the cache's list of the block's class, marked free. A block
 *  that already carries a free mark (a double free, wherever its first copy is) takes the slow
 *  path, as does anything not a small block. The debug build has checked the block (debugFree). */
// @ts-ignore: decorator
@inline export function freeBlock(p: usize): u32 {
  const sp = pagemapGetInline(<u32>p);
  if (sp && isSmallBlock(changetype<Span>(sp), p) && (DEBUG || !looksFree(p, changetype<Span>(sp).cls))) {
    cachePush(changetype<Span>(sp).cls, p);
    return Status.OK;
  }
  return freeSlow(p, sp);
}

/** A large block (then freed: OK), or why p is not a block. */
function freeSlow(p: usize, sp: usize): u32 {
  // a large block: the record its first page maps to (sp) describes it, no walk needed
  let s = changetype<Span>(sp);
  if (!sp || s.state != SpanState.LARGE || s.start != <u32>p) {
    if (!p) return Status.OK;
    if (reattach()) return freeChecked(p);
    s = changetype<Span>(blockSpan(p));   // refuses (and counts) what is not a live block, a freed one too
    if (!s) return lastError;
    if (s.state != SpanState.LARGE) {   // a live small block whose data looked like a free mark
      cachePush(s.cls, p);
      return Status.OK;
    }
  }
  largeFree(s);
  return Status.OK;
}

/** Is p the start of a live block the heap handed out? OK, or the reason it is not. A freed
 *  small block is DOUBLE_FREE: free, realloc and malloc_usable_size all refuse it. The release
 *  build knows one by its free mark (span.ts), made sure of on the lists (a live block's data
 *  could look like a mark); the threads build cannot see the other instances' caches, so there
 *  the mark alone decides (a live block is refused only if the program stored exactly its free
 *  mark in its second word). The debug build knows one by its poison (its last word is poison,
 *  not its size). */
export function classify(p: usize, s: Span | null): Status {
  if (!s) return Status.FOREIGN;
  const off = <u32>p - s.start;
  if (s.state == SpanState.FREE || s.state == SpanState.SPARE) return Status.FREE_PAGES;
  if (s.state == SpanState.LARGE) return off ? Status.INTERIOR : Status.OK;
  if (off >= s.carved) return Status.FOREIGN;   // never handed out
  if (<u32>((<u64>off * s.divMagic) >> 32) * s.objSize != off) return Status.INTERIOR;
  if (DEBUG ? load<u32>(p + s.objSize - 4) == POISON : looksFree(p, s.cls) && (THREADS || cacheHolds(s.cls, p) || centralHolds(s, p))) {
    return Status.DOUBLE_FREE;
  }
  return Status.OK;
}

/** The span of block p, or null (counted, and lastError set) if p is not a live block start. */
export function blockSpan(p: usize): Span | null {
  if (reattach()) return blockSpan(p);
  const s = pageHeapFindSpan(<u32>p);
  const status = classify(p, s);
  if (status != Status.OK) { fail(status); return null; }
  return s;
}

// ---- the rest of the C API ----------------------------------------------------------------

export function malloc_usable_size(p: usize): usize {
  if (!p) return 0;
  if (DEBUG) setDebugOp(DebugOp.USABLE_SIZE);
  const s = blockSpan(p);
  if (!s) return 0;
  return DEBUG ? debugRequested(p, s) : blockBytes(s);
}

/** Bytes in the block of span s: its class size, or its pages from its colour on. */
export function blockBytes(s: Span): usize {
  return s.state == SpanState.SMALL ? <usize>s.objSize : <usize>(spanEnd(s) - s.start);
}

export function calloc(n: usize, size: usize): usize {
  const total = <u64>n * <u64>size;
  if (total > <u64>0xFFFFFFFF) return fail(Status.SIZE_OVERFLOW);
  const p = malloc(<usize>total);
  if (!p) return 0;
  if (total > MAX_SMALL_SIZE) {   // a large block
    const s = changetype<Span>(pagemapGet(<u32>p));
    if (s.zeroed) {   // pages fresh from memory.grow are zero already
      s.zeroed = 0;
      return p;
    }
  }
  memory.fill(p, 0, <usize>total);
  return p;
}

export function realloc(p: usize, size: usize): usize {
  if (DEBUG) return debugRealloc(p, size);
  // fast path: a small block to a small size, checked as free() checks it; it stays, or moves
  // to its new class without the slow path's lookup
  const sp = pagemapGetInline(<u32>p), small = changetype<Span>(sp);
  if (sp && isSmallBlock(small, p) && !looksFree(p, small.cls)) {
    const objSize = small.objSize;
    if (staysInPlace(size, objSize)) {
      count(headerField(offsetof<HeapHeader>("reallocInPlace")));
      return p;
    }
    // to another class (mallocSlow: a move copies anyway, no need to inline malloc's fast path)
    if (size - 1 < MAX_SMALL_SIZE && !growsPastClasses(size, objSize)) return moveTo(mallocSlow(size), p, objSize, size);
  }
  return reallocSlow(p, size);
}

/** realloc but for the fast path's cases: p 0, size 0, a large block, a small block growing past
 *  the classes or carrying what looks like a free mark, and what is not a live block. */
function reallocSlow(p: usize, size: usize): usize {
  if (reattach()) return realloc(p, size);
  if (!p) return malloc(size);
  const s = blockSpan(p);
  if (!s) return 0;
  if (!size) {
    free(p);
    return 0;
  }
  const large = s.state != SpanState.SMALL, oldBytes: usize = large ? s.allocated : s.objSize;
  // in place: a small block within its class (data that looked like a free mark sent it here),
  // a large block staying large whose neighbours allow
  // (a large block resized in place keeps more than the classes' limit, as it may hold a size
  // of the top class: see growsPastClasses)
  if (large ? size > TOP_CLASS_FLOOR && largeResizeInPlace(s, max<usize>(size, MAX_SMALL_SIZE + 1)) : staysInPlace(size, <u32>oldBytes)) {
    count(headerField(offsetof<HeapHeader>("reallocInPlace")));
    return p;
  }
  if (size <= MAX_SMALL_SIZE && !growsPastClasses(size, oldBytes)) return moveTo(mallocSlow(size), p, oldBytes, size);
  // a block that outgrows the classes, or a large block whose neighbour is in use, goes where it
  // can keep growing (a block of the top class's sizes with a page more, for its colour)
  const q = largeAllocForGrowth(max<usize>(size, MAX_SMALL_SIZE + 1), oldBytes);
  return q ? moveTo(q, p, oldBytes, size) : fail(Status.OUT_OF_MEMORY);
}

/** realloc's move of p (oldBytes) to q, for a new size of `size`; q 0 (its refusal already
 *  counted) leaves p as it was and returns 0. */
function moveTo(q: usize, p: usize, oldBytes: usize, size: usize): usize {
  if (!q) return 0;
  moveBlock(q, p, min<usize>(oldBytes, size));
  free(p);
  return q;
}

/** Does realloc grow a block of oldBytes into the top class's sizes? Then it goes large instead:
 *  the top class's objects fill their pages exactly, so each starts on a page (its span has no
 *  tail for a colour) and has no room to grow in place, while a large block gets both (a colour,
 *  largeAllocForGrowth's headroom) for one more page. Buffers doubled in step (vectors appended
 *  round-robin, an image's planes) otherwise all meet at one page offset at 64 KiB, every store
 *  contending for one L1 set. Measured (bench realloc-double-32, 32 vectors doubling to 2 MiB):
 *  the driver's appends in the 64 KiB stage took 6.5 ms against TLSF's 0.36, the run 4-6% more. */
// @ts-ignore: decorator
@inline function growsPastClasses(size: usize, oldBytes: usize): bool {
  return size > TOP_CLASS_FLOOR && size > oldBytes;
}

/** Does a small block of objSize bytes keep its place when realloc'd to `size`? If it fits and
 *  would not shrink to less than about half (TCMalloc's rule: moving to save less is not worth a
 *  copy); every size of its own class stays, the 8-byte class's too. */
// @ts-ignore: decorator
@inline export function staysInPlace(size: usize, objSize: u32): bool {
  return size <= objSize && (size << 1) + 8 > objSize;
}

/** realloc's move: copies `bytes` from p to q and counts them. */
export function moveBlock(q: usize, p: usize, bytes: usize): void {
  memory.copy(q, p, bytes);
  count(headerField(offsetof<HeapHeader>("reallocMoves")));
  count(headerField(offsetof<HeapHeader>("reallocCopiedBytes")), <u64>bytes);
}

/** REQUIRES alignBytes a power of two. */
function alignedAlloc(alignBytes: usize, size: usize): usize {
  if (!DEBUG) return alignedBlock(alignBytes, size);
  if (size > <usize>-1 - DEBUG_EXTRA) return fail(Status.SIZE_OVERFLOW);
  setDebugOp(DebugOp.ALIGNED_ALLOC);
  return debugAdopt(alignedBlock(alignBytes, size + DEBUG_EXTRA), size);
}

function alignedBlock(alignBytes: usize, size: usize): usize {
  if (alignBytes <= MIN_ALIGN) return mallocSlow(max<usize>(size, alignBytes));   // >= 16 B: 16-aligned
  if (!smallLimit && !initHeap(0)) return fail(Status.OUT_OF_MEMORY);
  if (size <= MAX_SMALL_SIZE && alignBytes <= PAGE_SIZE) {
    // spans start on a page, so a class whose size is a multiple of the alignment keeps every
    // object aligned; within twice the size (else a page run, its colour a multiple of the alignment)
    const need = max<u32>(<u32>size, <u32>alignBytes);
    for (let cls = classOf(need); cls < CLASS_COUNT; cls++) {
      const bytes = classToSize(cls);
      if (bytes > need << 1) break;
      if (!(bytes & (<u32>alignBytes - 1))) return mallocClass(cls);
    }
  }
  // A page run of the pages the block needs, even below the classes' limit (free and realloc
  // tell blocks by their span, not their size): sized up to that limit, aligned_alloc(4096, 4096)
  // took 72 KiB (an alignment of 1 KiB or more finds no class: their sizes are skewed off
  // multiples of 1 KiB); now a page. Below the limit the block starts on its page (asked aligned
  // to a page at least): a colour would take a page more.
  const runAlign = size <= MAX_SMALL_SIZE ? max<usize>(alignBytes, PAGE_SIZE) : alignBytes;
  const p = largeAlloc(max<usize>(size, 1), <u32>runAlign);
  return p ? p : fail(Status.OUT_OF_MEMORY);
}

export function aligned_alloc(alignBytes: usize, size: usize): usize {
  if (!alignBytes || (alignBytes & (alignBytes - 1))) return fail(Status.BAD_ALIGNMENT);
  return alignedAlloc(alignBytes, size);
}

const EINVAL: i32 = 28;   // WASI errno values (wasi-libc's <errno.h>)
const ENOMEM: i32 = 48;

export function posix_memalign(memptr: usize, alignBytes: usize, size: usize): i32 {
  if (!alignBytes || (alignBytes & (alignBytes - 1)) || (alignBytes & 3)) {
    fail(Status.BAD_ALIGNMENT);
    return EINVAL;
  }
  // memptr must be writable by the program: never the heap's own metadata
  if (!memptr || (memptr & 3) || !isProgramMemory(memptr)) {
    fail(Status.FOREIGN);
    return EINVAL;
  }
  const p = alignedAlloc(alignBytes, size);
  if (!p) return ENOMEM;
  store<u32>(memptr, <u32>p);
  return 0;
}

/** May the heap store a pointer at addr for the program? Not into its own pages: the header,
 *  metadata, or pages it holds free. */
function isProgramMemory(addr: usize): bool {
  if (addr < heapBase || addr >= pageHeapEnd()) return true;
  const s = pageHeapFindSpan(<u32>addr);
  return s != null && (s.state == SpanState.SMALL || s.state == SpanState.LARGE);
}

export function clearLastError(): void {
  lastError = Status.OK;
}
