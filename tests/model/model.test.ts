// Randomized model-based tests of the C ABI (issue 2 item 13): seeded op streams of 200k+
// operations in total over both builds, plus fast-check op arrays that shrink to a minimal
// failing sequence. Sizes are log-uniform over 0 B .. 1 MiB (see helpers/model.ts).
//
// Replay a failure: ASMALLOC_SEED=<seed printed in the failure> npx vitest run tests/model
// Soak: ASMALLOC_OPS=10 multiplies the stream lengths.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { BUILDS, makeHeap } from "../helpers/heaps.js";
import { Model, OP_KINDS, opStream, type Op } from "../helpers/model.js";
import { Rng, testSeed, opsScale } from "../helpers/rng.js";

const SEED = testSeed(0x5eed2);
/** Ops per build in the seeded streams (plus ~12k per build from fast-check): ≥ 200k in total. */
const STREAM_OPS: Record<string, number> = { release: 250_000, debug: 150_000 };

function withSeed<T>(seed: number, run: () => T): T {
  try {
    return run();
  } catch (e) {
    const err = e as Error;
    err.message = `[seed ${seed}: replay with ASMALLOC_SEED=${seed}] ${err.message}`;
    throw err;
  }
}

describe.each(BUILDS)("model (%s build)", (build) => {
  it(`seeded op stream matches the shadow model`, () => {
    const ops = Math.round(STREAM_OPS[build] * opsScale());
    // several heaps per run, each a fresh stream segment: a long-lived heap and new ones
    const segments = [{ ops: Math.round(ops * 0.7), live: 400 }, { ops: Math.round(ops * 0.2), live: 50 }, { ops: ops - Math.round(ops * 0.7) - Math.round(ops * 0.2), live: 2000 }];
    let done = 0;
    segments.forEach((seg, i) => {
      const seed = (SEED + i * 0x9e3779b9 + (build === "debug" ? 0x1000 : 0)) >>> 0;
      withSeed(SEED, () => {
        const model = new Model(makeHeap(build), seed, { statsEvery: 500, contentsEvery: 25_000 });
        const rng = new Rng(seed);
        for (const op of opStream(rng, seg.ops, seg.live, () => model.shadow.count)) model.apply(op);
        model.finish();
        done += model.summary.ops;
        console.log(`[model ${build} seed ${SEED} segment ${i}] ${model.summary.ops} ops, max live ${model.summary.maxLive}, max heap ${(model.summary.maxHeapBytes / 2 ** 20).toFixed(1)} MiB`, JSON.stringify(model.summary.byKind));
      });
    });
    expect(done).toBe(ops);
  });

  it("fast-check op arrays (shrinking) match the shadow model", () => {
    const u32 = fc.nat({ max: 0xFFFFFFFF });
    const op: fc.Arbitrary<Op> = fc.record({ k: fc.constantFrom(...OP_KINDS), a: u32, b: u32, c: u32 });
    let total = 0;
    withSeed(SEED, () => fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 250, size: "max" }), (ops) => {
        const model = new Model(makeHeap(build), SEED, { statsEvery: 25, contentsEvery: 100 });
        for (const o of ops) model.apply(o);
        model.finish();
        total += ops.length;
      }),
      { seed: SEED | 0, numRuns: 120 },
    ));
    console.log(`[model ${build} fast-check seed ${SEED}] ${total} ops`);
  });
});
