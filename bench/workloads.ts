// The bench's workloads: which driver function, its arguments, and how many allocator calls
// it makes (for ns/op and the sampling interval). Sizes are in bytes.
import type { OpStream } from "./traces.js";

export interface Workload {
  name: string;
  description: string;
  /** driver export and its arguments */
  fn: string;
  args: number[];
  /** allocator calls one run makes */
  ops: number;
  /** slot table length */
  slots: number;
  /** realloc-heavy: report bytes copied */
  realloc?: boolean;
  /** growth workloads: the grown buffers' total final size (bytes copied are reported relative to it) */
  finalBytes?: number;
  trace?: OpStream;
  /** JS objects the host holds while this workload runs: how an embedder's JS heap weighs on it */
  jsHeapObjects?: number;
}

const KiB = 1024, MiB = 1024 * 1024;

/** The synthetic workloads; quick = about 1/5 of the work. */
export function syntheticWorkloads(quick: boolean): Workload[] {
  const q = (full: number, small: number) => (quick ? small : full);
  const churnSteps = q(1_000_000, 200_000);
  const pairs = q(1_000_000, 200_000), rounds = q(4000, 800);
  const mixedSteps = q(200_000, 40_000);
  const batchRounds = q(1000, 200), bigBatchRounds = q(20, 4);
  const largeSteps = q(1500, 300), growBlocks = q(256, 128);
  const bytesFinal = q(2048, 512), doubleFinal = q(16 * KiB, 4 * KiB);
  const growFinal = q(64 * MiB, 16 * MiB);  // one buffer's final size, or the total of several
  const log2 = (n: number) => Math.ceil(Math.log2(n));
  // the growth workloads with other blocks interleaved: GROWN buffers, and a ring of RING other
  // blocks (log-uniform 16 B-128 KiB) after them, the oldest replaced at each interleaved allocation
  const GROWN = 8, RING = 512, otherLo = 16, otherHi = 128 * KiB;
  const mixedFinal = growFinal / GROWN;
  // many big buffers walked in step (an image's planes, a table's columns): where each one starts
  // within 4 KiB decides whether the appends contend for one L1 set
  const STEPPED = 32, steppedFinal = growFinal / STEPPED;
  const others = `other blocks (${otherLo} B-${otherHi / KiB} KiB log-uniform, a ring of ${RING}: the oldest freed) allocated in between`;
  /** reallocDoubling's allocator calls: n mallocs, log2(final/16) reallocs and a free per buffer,
   *  and with others a malloc and (sooner or later) a free per 4 KiB appended to each buffer */
  const doublingOps = (n: number, final: number, ring: number) => n * (2 + log2(final / 16)) + (ring ? 2 * n * Math.floor(final / 4096) : 0);
  /** reallocStep's: a realloc per step per buffer and a free per buffer, and with others a malloc and a free per step */
  const stepOps = (n: number, step: number, final: number, ring: number) => n * (final / step) * (ring ? 3 : 1) + n;
  return [
    { name: "churn", description: "small-object churn: 10k live, sizes uniform 8-256 B, a random slot replaced each step",
      fn: "churn", args: [10_000, churnSteps, 8, 256], ops: 2 * 10_000 + 2 * churnSteps, slots: 10_000 },
    { name: "micro", description: "allocator only: malloc/free pairs, then batches of 256 freed LIFO; sizes 8-256 B; blocks not touched",
      fn: "micro", args: [pairs, rounds, 256, 8, 256], ops: 2 * pairs + 2 * rounds * 256, slots: 256 },
    { name: "mixed", description: "churn of 1000 live blocks, sizes log-uniform 8 B-64 KiB",
      fn: "churnLog", args: [1000, mixedSteps, 8, 64 * KiB], ops: 2 * 1000 + 2 * mixedSteps, slots: 1000 },
    { name: "lifo", description: "batches of 1000 blocks (16-1024 B) freed newest first",
      fn: "batches", args: [batchRounds, 1000, 16, 1024, 1], ops: 2 * 1000 * batchRounds, slots: 1000 },
    { name: "fifo", description: "batches of 1000 blocks (16-1024 B) freed oldest first",
      fn: "batches", args: [batchRounds, 1000, 16, 1024, 0], ops: 2 * 1000 * batchRounds, slots: 1000 },
    // a program that builds a big structure and then drops it (a parsed document, a request's
    // objects): far more blocks than any front-end cache holds pass through the shared tiers
    { name: "fifo-100k", description: "batches of 100k blocks (16-256 B) freed oldest first",
      fn: "batches", args: [bigBatchRounds, 100_000, 16, 256, 0], ops: 2 * 100_000 * bigBatchRounds, slots: 100_000 },
    { name: "large", description: "churn of 16 live blocks, sizes log-uniform 64 KiB-4 MiB",
      fn: "churnLog", args: [16, largeSteps, 64 * KiB, 4 * MiB], ops: 2 * 16 + 2 * largeSteps, slots: 16 },
    // V8 answers memory.grow on a big memory with full garbage collections of the JS heap, so the
    // number of grows an allocator makes costs in proportion to the embedder's JS heap
    { name: "grow-js-heap", description: `${growBlocks} blocks of 1 MiB allocated, then freed, while the host holds 1M JS objects (V8 collects the JS heap on memory.grow past ~64 MiB)`,
      fn: "batches", args: [1, growBlocks, MiB, MiB, 1], ops: 2 * growBlocks, slots: growBlocks, jsHeapObjects: 1_000_000 },
    { name: "realloc-bytes", description: "256 buffers grown round-robin by realloc(p, len+1), 1 byte at a time",
      fn: "reallocBytes", args: [256, bytesFinal], ops: 256 * bytesFinal + 256, slots: 256, realloc: true, finalBytes: 256 * bytesFinal },
    { name: "realloc-double", description: "1000 vectors: a byte appended per step round-robin, capacity doubled from 16 B when full",
      fn: "reallocDoubling", args: [1000, doubleFinal, 0, 0, 0], ops: doublingOps(1000, doubleFinal, 0), slots: 1000, realloc: true, finalBytes: 1000 * doubleFinal },
    { name: "realloc-double-1", description: `one vector: a byte appended per step, capacity doubled from 16 B to ${growFinal / MiB} MiB`,
      fn: "reallocDoubling", args: [1, growFinal, 0, 0, 0], ops: doublingOps(1, growFinal, 0), slots: 1, realloc: true, finalBytes: growFinal },
    { name: "realloc-double-mixed", description: `${GROWN} vectors doubling round-robin from 16 B to ${mixedFinal / MiB} MiB each (${growFinal / MiB} MiB in all); per 4 KiB appended to each, ${GROWN} ${others}`,
      fn: "reallocDoubling", args: [GROWN, mixedFinal, RING, otherLo, otherHi], ops: doublingOps(GROWN, mixedFinal, RING), slots: GROWN + RING, realloc: true, finalBytes: growFinal },
    { name: "realloc-double-32", description: `${STEPPED} vectors doubling round-robin from 16 B to ${steppedFinal / KiB} KiB each (${growFinal / MiB} MiB in all), a byte appended to each in turn: big buffers walked in step`,
      fn: "reallocDoubling", args: [STEPPED, steppedFinal, 0, 0, 0], ops: doublingOps(STEPPED, steppedFinal, 0), slots: STEPPED, realloc: true, finalBytes: growFinal },
    { name: "realloc-4k", description: `one buffer grown 4 KiB at a time to ${growFinal / MiB} MiB`,
      fn: "reallocStep", args: [1, 4 * KiB, growFinal, 0, 0, 0], ops: stepOps(1, 4 * KiB, growFinal, 0), slots: 1, realloc: true, finalBytes: growFinal },
    { name: "realloc-4k-mixed", description: `${GROWN} buffers grown round-robin 4 KiB at a time to ${mixedFinal / MiB} MiB each (${growFinal / MiB} MiB in all); after each step, one of the ${others}`,
      fn: "reallocStep", args: [GROWN, 4 * KiB, mixedFinal, RING, otherLo, otherHi], ops: stepOps(GROWN, 4 * KiB, mixedFinal, RING), slots: GROWN + RING, realloc: true, finalBytes: growFinal },
  ];
}

export function traceWorkload(t: OpStream): Workload {
  const k = t.kinds;
  return {
    name: `trace:${t.name.replace(/\.cut$/, "")}`,
    description: `replay of ${t.name}: ${t.count} ops (${k.a} malloc, ${k.c} calloc, ${k.m} aligned, ${k.r} realloc, ${k.f} free), ${t.slots} slots, peak live ${(t.peakLiveBytes / MiB).toFixed(1)} MiB`,
    fn: "replay", args: [t.count], ops: t.count, slots: t.slots, trace: t, realloc: k.r > 0,
  };
}
