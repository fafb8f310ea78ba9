// Generates the size-class table: assembly/sizeclasses.ts (the allocator) and
// src/sizeclasses.ts (the host library's copy). Run `npm run gen`; with --check it
// only compares the committed files with what it would write (tests do that too).
//
// Policy (the one place it is decided):
//  - Sizes 1..8 share class 1 (8 B, 8-byte aligned). Every larger class is a multiple
//    of 16, so blocks of 16 B or more are 16-byte aligned (max_align_t on wasm32, and
//    what AssemblyScript's runtime needs).
//  - Up to 128 B classes are spaced by the alignment (16 B). Rounding waste there is
//    bounded by the alignment, not by a ratio: a 17 B request needs 32 B anyway.
//  - Above 128 B each power-of-two range (2^b, 2^(b+1)] is cut into 8 equal steps of
//    2^(b-3), so a request rounds up by less than 1/8 of its class: <= 12.5% waste.
//    That makes size -> class a few shifts (no table, no loop), like mimalloc's bins.
//  - From 4 KiB (FINE_SHIFT) the ranges are cut into 16 steps: a span there holds few objects,
//    so its rounding is not averaged out by many requests of other sizes, and buffers of a
//    power of two plus a header are common at these sizes. Measured: SQLite's page cache
//    entries (4096 + 176 B) took 4608 B objects packed 5 per 3 pages (4915 B each, +15%); with
//    4352 B objects, 11 per 6-page hot span (below), they take 4468 B (+4.6%), and SQLite's
//    peak went from 1.15x to 1.08x dlmalloc's. The cost is 32 more classes, each with spans
//    and a cache list of its own: 0-5% on the bench traces' peaks, ~9% on the time of bench
//    mixed (sizes log-uniform to 64 KiB).
//  - A class whose size would be a multiple of 1 KiB gets 64 more bytes (CACHE_SKEW), but for
//    the largest: 64 KiB is a common request, and 64 more bytes would take its span from 8
//    pages to 9 (measured: bench gcc trace peak 5568 -> 5952 KiB). Objects of those classes
//    would otherwise start at only a few offsets in a 4 KiB page (and in a 64 KiB L2 set
//    period) and compete for the same few cache sets. Measured: appending a byte round-robin to
//    1000 buffers of 16 KiB ran ~5x slower than with dlmalloc, whose headers skew its blocks;
//    with 1000 vectors doubling to 16 KiB (bench realloc-double), skewing the 1 and 2 KiB
//    classes as well made the run ~12% faster (the 1 KiB stride reaches only 64 of the L2's
//    1024 sets: 512 lines for 1000 buffers).
//  - A class's span is the fewest pages whose tail (span bytes mod object size)
//    wastes at most 1/8 of the span. A hot class (one holding HOT_SPANS spans: config.ts) takes
//    hot spans, the fewest pages up to HOT_SPAN_MAX_PAGES whose tail wastes at most 1/32: a
//    class in heavy use wastes little in its tail, while a class with a few objects keeps
//    small spans (larger spans for all took the bench traces' peaks up 5-30%).
//  - A large block (above MAX_SMALL_SIZE: a page run) starts at a colour, a multiple of 64 B
//    below LARGE_COLOURS_BYTES past its first page, the next one for each block (jemalloc's
//    cache-oblivious large blocks). From LARGE_COLOUR_ROOM_FROM (128 KiB, where a page is at
//    most 1/16 of the block) it takes room for the largest colour: whole pages for
//    size + LARGE_COLOURS_BYTES - 64; a smaller block's colours are those its last page's slack
//    holds (none for a page multiple). Measured (bench; peaks at 8 heap bases): room for every
//    large block took the gcc trace's peak from 5568 to 5696 KiB (its 64-172 KB blocks) and the
//    large workload's from 36.2 to 40.1 MB; from 256 KiB, 5568 KiB and 36.2 MB, but
//    realloc-double-32 ran 9% slower than from 128 KiB (its vectors' 128 KiB stage aliased); from
//    128 KiB, 5504 KiB and 39.2 MB. Page-aligned blocks all start at one offset of the 4 KiB
//    over which L1's sets (and the store buffer's address check) repeat: a program that walks
//    16 or more of them in step (vectors appended round-robin, an image's planes, a table's
//    columns) has every access contend for one L1 set. Measured (bench, 32 vectors doubling to
//    2 MiB, a byte appended to each in turn): 447 ms page-aligned against dlmalloc's 105; 64
//    vectors of 1 MiB: 724 against 114. A loop storing bytes to 64 such buffers in step: 8.2 ns
//    a store with one colour, 2.2 with 4, 0.7 with 8 or more; 16 colours keep 64 streams to 4
//    an L1 set. The room costs a page only for sizes within 960 B of a page multiple.
//  - Objects moved between the cache and the central list per batch: 32 KiB worth,
//    clamped to [2, 32] (TCMalloc's num_objects_to_move). A fetch writes a link into every
//    object it takes, so a batch of big objects touches a page per object, fresh pages that the
//    program may never use (each first touch costs ~2 us in V8 here). Against 64 KiB (bench
//    traces, peak KiB at 8 heap bases): sqlite 6848 -> 5440, python 13160 -> 12288, others
//    equal; times equal. 16 KiB: sqlite 5440 too, python 13160.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

export const PAGE_SHIFT = 13;                 // 8 KiB allocator pages: see docs/ARCHITECTURE.md
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const MAX_SMALL_SHIFT = 16;            // classes reach 64 KiB; above that, page runs
export const MAX_SMALL_SIZE = 1 << MAX_SMALL_SHIFT;
const BATCH_BYTES = 32 * 1024, BATCH_MIN = 2, BATCH_MAX = 32;
const TAIL_SHIFT = 3, HOT_TAIL_SHIFT = 5, HOT_SPAN_MAX_PAGES = 12, MAX_ROUND_WASTE = 1 / 8;
export const FINE_SHIFT = 12;                 // 16 classes per power of two from 2^12 = 4 KiB

// size -> class, the exact formula the allocator compiles (see sizeToClass in the output)
export function sizeToClass(size) {
  if (size <= 8) return 1;
  if (size <= 128) return ((size + 15) >>> 4) + 1;
  const b = 31 - Math.clz32(size - 1), fine = b >= FINE_SHIFT ? 1 : 0, s = 3 + fine;
  return (b << s) + ((size - 1) >>> (b - s)) - STEPPED_BIAS - fine * FINE_BIAS;
}
// (size - 1) >> (b - s) is 2^s + the step within the range (2^b, 2^(b+1)]; the biases make the
// first stepped class (129..144 B) 10 and the first fine one follow the last 8-step class.
const STEPPED_BIAS = (7 << 3) + 8 - 10;
const FINE_BIAS = 8 + (FINE_SHIFT << 3);
export const CACHE_SKEW = 64;
export const LARGE_COLOURS_BYTES = 1024, COLOUR_STEP = 64, LARGE_COLOUR_ROOM_FROM = 128 * 1024;
/** The class's size before the skew: what sizeToClass rounds requests up to. */
function baseSize(cls) {
  if (cls <= 1) return cls << 3;
  if (cls <= 9) return (cls - 1) << 4;
  const k = cls - 10;
  if (k < (FINE_SHIFT - 7) << 3) return (9 + (k & 7)) << (4 + (k >>> 3));
  const f = k - ((FINE_SHIFT - 7) << 3);
  return (17 + (f & 15)) << (FINE_SHIFT - 4 + (f >>> 4));
}
export function classToSize(cls) {
  const size = baseSize(cls);
  return size & 1023 || size == MAX_SMALL_SIZE ? size : size + CACHE_SKEW;
}
export const CLASS_COUNT = sizeToClass(MAX_SMALL_SIZE) + 1;   // class 0 is "not a small block"

/** classSpanPages below: fewest pages whose tail is at most 1/2^tailShift of the span, looking
 *  no further than HOT_SPAN_MAX_PAGES for a tail under 1/8. */
export function spanPages(size, tailShift = TAIL_SHIFT) {
  const first = Math.ceil(size / PAGE_SIZE);
  let n = first;
  while ((n * PAGE_SIZE) % size > (n * PAGE_SIZE) / 2 ** tailShift) {
    if (++n > HOT_SPAN_MAX_PAGES && tailShift > TAIL_SHIFT) { n = first; tailShift = TAIL_SHIFT; }
  }
  return n;
}
export function batchSize(size) {
  return Math.min(BATCH_MAX, Math.max(BATCH_MIN, Math.floor(BATCH_BYTES / size)));
}
// offset / size as (offset * magic) >> 32, exact for every offset inside a span (Go's divMagic)
export function divMagic(size) { return Math.floor(0xffffffff / size) + 1; }

export function buildTable() {
  const rows = [];
  let prev = 0;
  for (let cls = 1; cls < CLASS_COUNT; cls++) {
    const size = classToSize(cls), pages = spanPages(size), spanBytes = pages * PAGE_SIZE;
    const objects = Math.floor(spanBytes / size), tail = spanBytes % size;
    const roundWaste = (size - prev - 1) / size;
    const align = size >= 16 ? Math.min(16, size & -size) : 8;
    // worst case: every object holds the smallest request of its class, plus the tail
    const maxWaste = (spanBytes - objects * (prev + 1)) / spanBytes;
    const hotPages = spanPages(size, HOT_TAIL_SHIFT), hotBytes = hotPages * PAGE_SIZE;
    rows.push({ cls, size, pages, spanBytes, objects, tail, roundWaste, maxWaste, align, batch: batchSize(size), magic: divMagic(size),
      hotPages, hotBytes, hotObjects: Math.floor(hotBytes / size), hotTail: hotBytes % size });
    prev = size;
  }
  return rows;
}

function check(rows) {
  const fail = (m) => { throw new Error("size classes: " + m); };
  for (const r of rows) {
    if (r.size > 128 && r.roundWaste > MAX_ROUND_WASTE) fail(`class ${r.cls} rounding waste ${r.roundWaste}`);
    if (r.size >= 16 && r.size % 16) fail(`class ${r.cls} (${r.size}) is not 16-byte aligned`);
    if (r.tail > r.spanBytes / 8 || r.hotTail > r.hotBytes / 8) fail(`class ${r.cls} tail waste`);
    if (r.pages > 16 || r.hotPages > 16) fail(`class ${r.cls} span of ${r.pages} or ${r.hotPages} pages`);
    if (r.hotPages < r.pages) fail(`class ${r.cls} hot span smaller than its span`);
    if (r.size >= 1024 && r.size < MAX_SMALL_SIZE && r.size % 1024 === 0) fail(`class ${r.cls} (${r.size}) is a multiple of 1 KiB`);
    for (let off = 0; off <= r.hotBytes; off++) {       // brute-force check of the magic division
      if (Number((BigInt(off) * BigInt(r.magic)) >> 32n) !== Math.floor(off / r.size)) fail(`divMagic wrong for class ${r.cls} at ${off}`);
    }
  }
  for (let size = 1; size <= MAX_SMALL_SIZE; size++) {   // the formula picks a class that fits,
    const c = sizeToClass(size);                          // the smallest but for the skew's 64 B
    if (classToSize(c) < size || (c > 1 && baseSize(c - 1) >= size)) fail(`sizeToClass(${size}) = ${c}`);
  }
}

const pct = (x) => (100 * x).toFixed(2).padStart(6) + "%";
function tableComment(rows) {
  const head = "// class  bytes/obj  bytes/span  objects  tail waste  round waste  max waste  align  batch | hot span  objects  tail";
  const lines = rows.map((r) =>
    `// ${String(r.cls).padStart(5)} ${String(r.size).padStart(10)} ${String(r.spanBytes).padStart(11)} ${String(r.objects).padStart(8)} ${String(r.tail).padStart(11)} ${pct(r.roundWaste).padStart(12)} ${pct(r.maxWaste).padStart(10)} ${String(r.align).padStart(6)} ${String(r.batch).padStart(6)} | ${String(r.hotBytes).padStart(8)} ${String(r.hotObjects).padStart(8)} ${String(r.hotTail).padStart(5)}`);
  return [head, ...lines].join("\n");
}

export function render() {
  const rows = buildTable();
  check(rows);
  const banner = "// Code generated by scripts/mksizeclasses.mjs — DO NOT EDIT.\n";
  const as = `${banner}// Size classes: the allocator computes the table below from these functions when it needs a
// row (it has no data segments, and a table built at init would cost more code than it saves).
// round waste: worst rounding of a request into this class; tail: bytes left at the end of a span;
// max waste: both together, every object holding the smallest request of its class.
${tableComment(rows)}

/** Allocator page = 2^PAGE_SHIFT bytes. */
export const PAGE_SHIFT: u32 = ${PAGE_SHIFT};
/** Largest size served by a class; larger requests are page runs. */
export const MAX_SMALL_SIZE: u32 = ${MAX_SMALL_SIZE};
/** Classes 1..CLASS_COUNT-1; class 0 marks a span that is not made of small objects. */
export const CLASS_COUNT: u32 = ${CLASS_COUNT};
/** A large block starts at a colour below this many bytes past its first page, a multiple of
 *  its alignment (${COLOUR_STEP} B at least); from LARGE_COLOUR_ROOM_FROM bytes its pages hold its
 *  size and the largest colour, below it the colours its pages' slack holds. */
export const LARGE_COLOURS_BYTES: u32 = ${LARGE_COLOURS_BYTES};
export const LARGE_COLOUR_ROOM_FROM: u32 = ${LARGE_COLOUR_ROOM_FROM};
/** The top class holds sizes above this one: its objects fill their spans' pages exactly (no
 *  tail for a colour). */
export const TOP_CLASS_FLOOR: u32 = ${classToSize(CLASS_COUNT - 2)};

/** REQUIRES 1 <= size <= MAX_SMALL_SIZE. Shifts only: classes above 128 B are 8 per power of
 *  two, 16 from ${1 << FINE_SHIFT} B. No branch: every formula is computed and one selected (a program's
 *  sizes straddle 128 B unpredictably, and a mispredicted branch costs as much as the rest of
 *  malloc). (size - 1) >> (b - s) is 2^s plus the step within (2^b, 2^(b+1)]. */
// @ts-ignore: decorator
@inline export function sizeToClass(size: u32): u32 {
  const b = 31 - clz<u32>(size - 1), fine = <u32>(b >= ${FINE_SHIFT}), s = 3 + fine;
  const stepped = (b << s) + ((size - 1) >> (b - s)) - ${STEPPED_BIAS} - fine * ${FINE_BIAS};   // garbage for <= 128
  return select<u32>(select<u32>(1, ((size + 15) >> 4) + 1, size <= 8), stepped, size <= 128);
}

/** Bytes per object of class cls: 8 per power of two (16 from ${1 << FINE_SHIFT} B), skewed by ${CACHE_SKEW} B off multiples of 1 KiB. */
export function classToSize(cls: u32): u32 {
  if (cls <= 1) return cls << 3;
  if (cls <= 9) return (cls - 1) << 4;
  const k = cls - 10, f = k - ${(FINE_SHIFT - 7) << 3};   // f: class within the 16-step ranges
  const size: u32 = <i32>f >= 0 ? (17 + (f & 15)) << (${FINE_SHIFT - 4} + (f >> 4)) : (9 + (k & 7)) << (4 + (k >> 3));
  return size & 1023 || size == MAX_SMALL_SIZE ? size : size + ${CACHE_SKEW};
}

/** Tail waste of a span: at most 1/2^SPAN_TAIL_SHIFT; of a hot span, 1/2^HOT_SPAN_TAIL_SHIFT. */
export const SPAN_TAIL_SHIFT: u32 = ${TAIL_SHIFT};
export const HOT_SPAN_TAIL_SHIFT: u32 = ${HOT_TAIL_SHIFT};

/** Fewest pages whose tail wastes at most 1/2^tailShift of the span; if none up to
 *  ${HOT_SPAN_MAX_PAGES} pages does, at most 1/2^SPAN_TAIL_SHIFT (which the generator checks ends by 16). */
export function classSpanPages(size: u32, tailShift: u32): u32 {
  const first = (size + (1 << PAGE_SHIFT) - 1) >> PAGE_SHIFT;
  let n = first;
  while (((n << PAGE_SHIFT) % size) > ((n << PAGE_SHIFT) >> tailShift)) {
    if (++n > ${HOT_SPAN_MAX_PAGES} && tailShift > SPAN_TAIL_SHIFT) {
      n = first;
      tailShift = SPAN_TAIL_SHIFT;
    }
  }
  return n;
}

/** Objects per cache<->central transfer: ${BATCH_BYTES / 1024} KiB worth, clamped to [${BATCH_MIN}, ${BATCH_MAX}]. */
export function classBatch(size: u32): u32 {
  return min<u32>(${BATCH_MAX}, max<u32>(${BATCH_MIN}, ${BATCH_BYTES} / size));
}

/** offset / size == (offset * magic) >> 32 for every offset within a span (checked by the generator). */
export function classDivMagic(size: u32): u32 {
  return <u32>(0xFFFFFFFF / size) + 1;
}
`;
  const ts = `${banner}// The host library's copy of the size classes (see assembly/sizeclasses.ts for the table).
export const PAGE_SHIFT = ${PAGE_SHIFT};
export const PAGE_SIZE = ${PAGE_SIZE};
export const MAX_SMALL_SIZE = ${MAX_SMALL_SIZE};
export const CLASS_COUNT = ${CLASS_COUNT};
/** Bytes added to classes that would be multiples of 1 KiB, against cache-set aliasing. */
export const CACHE_SKEW = ${CACHE_SKEW};
/** A large block starts at a colour below this many bytes past its first page (a multiple of
 *  ${COLOUR_STEP} B, or of its alignment), against cache-set aliasing; its usable size is its pages
 *  less its colour. From LARGE_COLOUR_ROOM_FROM bytes its pages hold its size and the largest
 *  colour; below, its colours are those its pages' slack holds. */
export const LARGE_COLOURS_BYTES = ${LARGE_COLOURS_BYTES};
export const LARGE_COLOUR_ROOM_FROM = ${LARGE_COLOUR_ROOM_FROM};
/** CLASS_SIZES[cls] = bytes per object; index 0 is unused. */
export const CLASS_SIZES: readonly number[] = [0, ${rows.map((r) => r.size).join(", ")}];
/** CLASS_SPAN_PAGES[cls] = pages per span of that class; CLASS_HOT_SPAN_PAGES[cls], per hot span
 *  (a class holding many spans takes hot ones: see assembly/sizeclasses.ts). */
export const CLASS_SPAN_PAGES: readonly number[] = [0, ${rows.map((r) => r.pages).join(", ")}];
export const CLASS_HOT_SPAN_PAGES: readonly number[] = [0, ${rows.map((r) => r.hotPages).join(", ")}];

/** The allocator's size -> class mapping (1 <= size <= MAX_SMALL_SIZE). */
export function sizeToClass(size: number): number {
  if (size <= 8) return 1;
  if (size <= 128) return ((size + 15) >>> 4) + 1;
  const b = 31 - Math.clz32(size - 1), fine = b >= ${FINE_SHIFT} ? 1 : 0, s = 3 + fine;
  return (b << s) + ((size - 1) >>> (b - s)) - ${STEPPED_BIAS} - fine * ${FINE_BIAS};
}

/** Bytes a request of \`size\` occupies: its class size, or above MAX_SMALL_SIZE whole pages
 *  (from LARGE_COLOUR_ROOM_FROM, with room for its colour). */
export function roundedSize(size: number): number {
  const s = Math.max(size, 1);
  if (s <= MAX_SMALL_SIZE) return CLASS_SIZES[sizeToClass(s)];
  const room = s >= LARGE_COLOUR_ROOM_FROM ? LARGE_COLOURS_BYTES - ${COLOUR_STEP} : 0;
  return Math.ceil((s + room) / PAGE_SIZE) * PAGE_SIZE;
}
`;
  return { as, ts, rows };
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const OUTPUTS = { as: join(root, "assembly/sizeclasses.ts"), ts: join(root, "src/sizeclasses.ts") };

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = render();
  if (process.argv.includes("--check")) {
    for (const k of ["as", "ts"]) {
      if (readFileSync(OUTPUTS[k], "utf8") !== out[k]) { console.error(`${OUTPUTS[k]} is stale: run npm run gen`); process.exit(1); }
    }
  } else {
    writeFileSync(OUTPUTS.as, out.as);
    writeFileSync(OUTPUTS.ts, out.ts);
    console.log(tableComment(out.rows).replace(/^\/\/ /gm, ""));
  }
}
