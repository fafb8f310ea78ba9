// Fuzzing with misuse (issue 5 item 5): fast-check sequences of good and bad operations on the
// raw C ABI (tests/helpers/fuzzmodel.ts). After every step nothing trapped, every bad call was
// refused and counted, check() is clean and every live block keeps its pattern.
// Both builds face every kind of misuse: foreign, interior and free-page pointers, double frees
// immediate and delayed, overflowing sizes, bad alignments (the debug build knows a freed block
// by its poison, the release build by its free mark).
// Seeds: a fixed one in CI, printed; ASMALLOC_SEED=<n> replays a run (fast-check's own failure
// report also prints its seed and shrink path); ASMALLOC_FUZZ_RUNS=<n> runs longer (default 300
// sequences per build). Small freed blocks go to realloc and malloc_usable_size too (the bugs
// that once made that unsafe are regression tests in knownbugs.test.ts); ASMALLOC_FUZZ_ALL=0
// leaves them out.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { makeHeap, type Build } from "../helpers/heaps.js";
import { testSeed } from "../helpers/rng.js";
import { FuzzModel, GOOD_KINDS, BAD_KINDS, FUZZ_MAX_PAGES, type FuzzKind, type FuzzOp } from "../helpers/fuzzmodel.js";

const SEED = testSeed(0x5eed_0005);
const RUNS = Number(process.env.ASMALLOC_FUZZ_RUNS ?? "300") || 300;
const ALL = process.env.ASMALLOC_FUZZ_ALL !== "0";
const u32 = fc.integer({ min: 0, max: 0xFFFFFFFF });

/** Ops: good ones weighted so live blocks accumulate, every bad kind regularly. */
function opArb(bad: readonly FuzzKind[]): fc.Arbitrary<FuzzOp> {
  const good: [FuzzKind, number][] = [["malloc", 12], ["calloc", 3], ["realloc", 6], ["free", 7], ["aligned_alloc", 3], ["usable_size", 2]];
  const kind = fc.oneof(
    ...good.map(([k, w]) => ({ arbitrary: fc.constant(k), weight: w })),
    ...bad.map((k) => ({ arbitrary: fc.constant(k), weight: 2 })),
  );
  return fc.record({ k: kind, a: u32, b: u32, c: u32 });
}

function fuzz(build: Build, bad: readonly FuzzKind[], seed: number, runs: number) {
  const totals: Record<string, number> = {};
  fc.assert(
    fc.property(fc.array(opArb(bad), { minLength: 20, maxLength: 200, size: "max" }), fc.nat(), (ops, patternSeed) => {
      const heap = makeHeap(build, { maximumMemory: FUZZ_MAX_PAGES });
      const model = new FuzzModel(heap, patternSeed, { freedToRealloc: ALL });
      for (const op of ops) model.apply(op);
      model.finish();
      for (const [k, n] of Object.entries(model.counts)) totals[k] = (totals[k] ?? 0) + n;
    }),
    { seed, numRuns: runs, verbose: 1 },
  );
  return totals;
}

describe.each([
  ["debug", [...BAD_KINDS]],
  ["release", [...BAD_KINDS]],
] as [Build, FuzzKind[]][])("fuzz with misuse (%s build)", (build, bad) => {
  it(`${RUNS} sequences of good and bad operations: every bad call refused and counted, no corruption`, () => {
    const seed = (SEED + (build === "debug" ? 0 : 1)) >>> 0;
    console.log(`fuzz ${build}: seed ${seed} (replay: ASMALLOC_SEED=${SEED}), ${RUNS} runs${ALL ? ", freed blocks to realloc/usable_size" : ""}`);
    const totals = fuzz(build, bad, seed, RUNS);
    if (process.env.ASMALLOC_VERBOSE) console.log(totals);
    // every kind actually ran (the weights make a miss over many sequences vanishingly unlikely)
    for (const k of [...GOOD_KINDS, ...bad]) expect(totals[k] ?? 0, `ops of kind ${k}`).toBeGreaterThan(0);
  });
});
