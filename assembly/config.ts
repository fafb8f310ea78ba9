// asmalloc — build switches and the primary constants every tier derives from.
// The design is described in index.ts. This is the only file that reads --use flags
// (asconfig.json sets them per target; tests/build/builds.test.ts shows each one changes the output):
//   ASMALLOC_DEBUG    build/asmalloc.debug.wasm: every free is checked against its span, freed
//                     objects are poisoned and checked on reuse, blocks carry a canary and their
//                     requested size, and misuse is reported through the imported env.report.
//   ASMALLOC_THREADS  build/asmalloc.mt.wasm: shared memory; the shared tiers run under a lock.

// @ts-ignore: defined by --use
export const DEBUG: bool = isDefined(ASMALLOC_DEBUG);
// @ts-ignore: defined by --use
export const THREADS: bool = isDefined(ASMALLOC_THREADS);

import { PAGE_SHIFT, CLASS_COUNT } from "./sizeclasses";
export { PAGE_SHIFT, CLASS_COUNT, MAX_SMALL_SIZE, LARGE_COLOURS_BYTES, LARGE_COLOUR_ROOM_FROM } from "./sizeclasses";

/** Allocator page: 8 KiB, TCMalloc's classic size; 8 pages make one 64 KiB wasm page. */
export const PAGE_SIZE: u32 = 1 << PAGE_SHIFT;
export const WASM_PAGE_SHIFT: u32 = 16;
/** Cache line of the CPUs Wasm runs on (x86-64, arm64): the unit of span and large-block colours. */
export const CACHE_LINE: u32 = 64;
/** Blocks of 16 B or more are 16-byte aligned (max_align_t on wasm32; AssemblyScript's AL_SIZE). */
export const MIN_ALIGN: u32 = 16;

// Page map: root -> leaf -> span record. A leaf covers 2^LEAF_BITS pages (8 MiB) and is
// 4 KiB of u32, made only where the heap has memory; the root covers all 4 GiB.
export const LEAF_BITS: u32 = 10;
export const LEAF_BYTES: u32 = 4 << LEAF_BITS;
export const REGION_SHIFT: u32 = PAGE_SHIFT + LEAF_BITS;            // 23: 8 MiB per leaf
export const ROOT_ENTRIES: u32 = 1 << (32 - REGION_SHIFT);         // 512
// @ts-ignore: compile-time check
if (PAGE_SHIFT + LEAF_BITS + (32 - REGION_SHIFT) != 32) ERROR("page map must cover 32 address bits");

// Page heap: exact free lists for runs of 1..BIG_RUN-1 pages (a bitmap marks the non-empty
// ones), list BIG_RUN holds longer runs (best fit by scan). 128 pages = 1 MiB: above that, runs
// are rare enough that a scan is cheap.
export const BIG_RUN: u32 = 128;
/** memory.grow takes at least heap/GROWTH_DIVISOR: a grow costs 0.4-0.6 ms at 256 MiB+ in V8
 *  (shared/FACTS.md), so growth is geometric, yet overshoots the need by at most 1/32. Measured
 *  against 16 (bench traces, peak linear memory): gcc 5632 -> 5504 KiB, python 13056 -> 12288,
 *  lua 21440 -> 20672, sqlite 7104 -> 5504 (its last step no longer lands past a 2 MB realloc),
 *  bzip2 equal; SQLite (interop) 41.4 -> 40.3 MiB; about twice the grow calls (measured here:
 *  ~3 us each below 16 MiB of memory, 0.1-0.6 ms above; 45 calls from 256 MiB to 1 GiB). */
export const GROWTH_DIVISOR: u32 = 32;
/** A block growing in place at the top of the heap (realloc in a loop: the typical case) takes
 *  memory in steps of heap/TOP_GROWTH_DIVISOR: each memory.grow once memory passes 16 MiB costs
 *  0.1-0.6 ms in V8 (measured here: ~3 us below 16 MiB). Measured (bench realloc-4k, one buffer
 *  grown 4 KiB at a time to 64 MiB): 4523 ns/op with the general heap/32 step, 3693 with heap/8. */
export const TOP_GROWTH_DIVISOR: u32 = 8;
/** A class holding this many spans is hot: its next spans are hot spans, larger ones with less
 *  tail waste (assembly/sizeclasses.ts). 16 small spans are 16-48 pages for the classes whose
 *  hot span differs, so a hot span's extra pages are a few percent of the class's memory.
 *  Measured (SQLite interop, 6000 page-cache entries of 4272 B): peak 39.7 MB, 40.2 MB if the
 *  threshold is 64, and 16 or 32 left every bench trace's peak as it was at 64. */
export const HOT_SPANS: u32 = 16;
/** From BIG_MEMORY of linear memory, growth takes heap/BIG_MEMORY_DIVISOR at least: there
 *  memory.grow sets off full JS garbage collections in V8 (Node 20: a mark-compact every ~6
 *  grows), which take as long as the embedder's JS heap makes them, not as long as we do.
 *  Measured, 64 grows of 64 KiB with 1M JS objects alive: 0.2 ms in all from 16 MiB, ~90 ms from
 *  40 MiB, ~1 s from 64 MiB (32 mark-compacts in 192 grows). Growing a heap to 256 MiB in 1 MiB
 *  blocks under that JS heap took 736 ms with heap/32 steps, 334 ms with heap/8 (memory 261 ->
 *  266 MiB) and 319 ms with heap/4 (308 MiB). Grows cost from 32 MiB even under a small JS
 *  heap (incremental marking: ~0.2 ms a grow from 33 MiB, 3 us below), yet below 64 MiB /32
 *  keeps peaks low. Measured, heap/8 from 32 MiB: SQLite interop's peak 40.2 -> 43.5 MB (1.18x
 *  dlmalloc's); only for large blocks' growth: bench large and realloc-double-mixed peaks +7%
 *  and +5% (8 heap bases) for realloc-double-32 ~3% faster, still level with TLSF. */
export const BIG_MEMORY: u32 = 64 << 20;
export const BIG_MEMORY_DIVISOR: u32 = 8;
/** Metadata (span records, page-map leaves, caches) comes in chunks of 2 pages (16 KiB: 341 span
 *  records): small, so a small heap stays small; a bigger need takes a bigger chunk. */
export const META_CHUNK_PAGES: u32 = 2;

// Front-end cache. Budget: objects one instance may keep cached, across all classes
// (TCMalloc's per-thread cache default is 2-4 MiB for many threads; a Wasm heap is small).
// A budget smaller than a program's working round makes classes take capacity from each other
// again and again. Measured (bench, side by side, when every refused growth took it): 256 ->
// 512 KiB took mixed sizes 130 -> 95 ns/op and LIFO/FIFO batches of 1000 blocks of 16 B-1 KiB
// (about 520 KiB a round) 22 -> 18 ns/op; once the cache's large objects went back before memory
// grows (GROWTH_FLUSH_MIN_SIZE), 512 KiB -> 1 MiB took LIFO 19.7 -> 11.6 ns/op and FIFO 21.0 ->
// 12.0 (dlmalloc 12.3, 15.2), mixed 106 -> 92, traces unchanged within noise; peaks: LIFO/FIFO
// 0.9 -> 1.1 MB, gcc trace 5376 -> 5568 KiB, sqlite trace 5440 -> 6848 (still 1.10x dlmalloc's),
// python 13168 -> 12984. With 32 KiB batches and capacity taken every 16th refusal, 512 and
// 768 KiB took LIFO/FIFO to 13-18 ns/op and python's peak up 7-9%.
export const CACHE_BUDGET: u32 = 1 << 20;
/** Before memory grows, the cache hands back its objects of this size or more: a span of such a
 *  class holds few objects (8 per page at 1 KiB, one at 64 KiB), so one the cache holds is
 *  often all that keeps its span, pages that could have served the growth. Measured (bench
 *  traces, peak linear memory, KiB, at 8 heap bases): sqlite 6848 -> 5440 (dlmalloc 6208), gcc
 *  5528 -> 5376, bzip2 7872 -> 7616, lua 20672 -> 20416, python 12992 -> 13168; times equal
 *  within noise. Every class (down to 8 B): python 13248 and 15% slower (its cache holds ~16k
 *  small objects, which go back to spans they share with live ones, for nothing). */
export const GROWTH_FLUSH_MIN_SIZE: u32 = 1024;
/** An instance flushes before growth at most this many times for each time memory has grown: a
 *  flush that frees the pages needed keeps the heap as it is, the cache refills, and the next
 *  need would flush again. With no limit (and every class flushed), micro (256 blocks live) went
 *  5 -> 84 ns/op, a flush per batch; with one flush per growth the sqlite trace kept its 1.10x
 *  peak. 4 -> 16 once the cache kept its capacity longer (CACHE_STEAL_EVERY): the gcc trace had
 *  used up its 4 and grew with 953 KiB cached; peak 5888 -> 5568 KiB, times equal. */
export const FLUSHES_PER_GROWTH: u32 = 16;
/** A list that would grow past the budget takes capacity from other classes only every this
 *  many times it is refused (the other times it keeps its bound). Taking capacity on every
 *  refusal makes a program that touches more classes than the budget holds (mixed sizes: ~110
 *  classes, then 64 KiB a batch above 2 KiB) hand objects back to spans and fetch them again on
 *  nearly every miss. Measured (bench, side by side, ns/op): mixed 91.3 -> 69.9 (every 8th),
 *  65.3 (16th), 62.7 (32nd), 61.0 (64th), 72.4 (never; dlmalloc 70.9), LIFO/FIFO and traces
 *  unchanged within noise; gcc trace peak 5568 -> 5696-5760 KiB (5568 again with
 *  FLUSHES_PER_GROWTH 16). Never taking it starves a program's later phase: 1100 blocks of 1 KiB
 *  freed, then batches of 48-160 B: 17.5 ns/op, 25.1 with no taking, 18.6 with every 8th.
 *  Power of two (a mask). */
export const CACHE_STEAL_EVERY: u32 = 16;
// @ts-ignore: compile-time check
if (CACHE_STEAL_EVERY & (CACHE_STEAL_EVERY - 1)) ERROR("CACHE_STEAL_EVERY must be a power of two");
/** Longest list a class may have (TCMalloc's kMaxDynamicFreeListLength is 8192). */
export const CACHE_MAX_LENGTH: u32 = 1024;
/** A list that overflows this many times in a row shrinks by a batch (TCMalloc's kMaxOverages). */
export const CACHE_MAX_OVERAGES: u32 = 3;

// Heap header page layout (one page at the heap base; see docs/ARCHITECTURE.md).
export const HEADER_MAGIC: u32 = 0x6D736100 | 1;  // "\0asm" + layout version
/** THREADS: the header's magic word while the first instance builds the heap. */
export const HEADER_BUILDING: u32 = 0x6D736100;
/** Refusal counters: one u64 per Status (OUT_OF_MEMORY, FOREIGN, ...), after the HeapHeader. */
export const OFF_REFUSALS: u32 = 160;
export const OFF_PAGEHEAP: u32 = 256;
export const OFF_FREE_LISTS: u32 = OFF_PAGEHEAP + 96;                // BIG_RUN+1 heads
export const OFF_CENTRAL: u32 = 1024;                               // CLASS_COUNT lists x 32 B
export const OFF_ROOT: u32 = 5120;                                  // ROOT_ENTRIES x u32
// @ts-ignore: compile-time check
if (OFF_FREE_LISTS + (BIG_RUN + 1) * 4 > OFF_CENTRAL) ERROR("free lists overlap the central lists");
// @ts-ignore: compile-time check
if (OFF_CENTRAL + CLASS_COUNT * 32 > OFF_ROOT) ERROR("central lists overlap the page map root");
// @ts-ignore: compile-time check
if (OFF_ROOT + ROOT_ENTRIES * 4 > PAGE_SIZE) ERROR("heap header must fit one page");

/** Why a call was refused; returned by free_checked and kept in last_error. */
export const enum Status {
  OK = 0,
  /** not an address the heap handed out: outside the heap, in metadata, or never allocated */
  FOREIGN = 1,
  /** inside a block, not at its start */
  INTERIOR = 2,
  /** in pages the heap holds free */
  FREE_PAGES = 3,
  /** the block is already free */
  DOUBLE_FREE = 4,
  /** linear memory is exhausted (memory.grow failed or the maximum is reached) */
  OUT_OF_MEMORY = 5,
  /** the size does not fit in 32 bits (calloc's n*size, or rounding up) */
  SIZE_OVERFLOW = 6,
  /** alignment not a power of two (or, for posix_memalign, not a multiple of 4) */
  BAD_ALIGNMENT = 7,
  /** debug build: a freed object was written after it was freed */
  WRITE_AFTER_FREE = 8,
  /** debug build: bytes past the requested size were overwritten */
  CANARY = 9,
  /** the heap could not be set up at the given base */
  INIT_FAILED = 10,
}
