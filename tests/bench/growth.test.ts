// The bench's realloc growth workloads and the copy-always peer (bench/wasm/copyalways.ts), run
// through the real driver (dist/: `node scripts/build.mjs` first): each workload's op count in
// bench/workloads.ts is what the driver does, and copyalways moves on every realloc of a live
// block, copying min(old, new) bytes each time.
import { describe, it, expect } from "vitest";
// @ts-ignore: built by scripts/build.mjs
import { getAllocator, layout, runOnce } from "../../dist/bench/run.js";
// @ts-ignore: built by scripts/build.mjs
import { syntheticWorkloads } from "../../dist/bench/workloads.js";

const KiB = 1024;
const growth = () => (syntheticWorkloads(true) as any[]).filter((w) => w.realloc);

async function run(allocator: string, w: any) {
  const peer = await getAllocator(allocator, layout(w).heapBase);
  if (typeof peer === "string") throw new Error(peer);
  const r = await runOnce(peer, w);
  return { ...r, ops: r.samples[r.samples.length - 1].op };
}

describe("bench growth workloads", () => {
  it("the realloc workloads include one buffer doubling and interleaved variants, with final sizes", () => {
    const names = growth().map((w) => w.name);
    expect(names).toEqual(expect.arrayContaining(["realloc-bytes", "realloc-double", "realloc-double-1", "realloc-double-mixed", "realloc-double-32", "realloc-4k", "realloc-4k-mixed"]));
    for (const w of growth()) expect(w.finalBytes, w.name).toBeGreaterThan(0);
  });

  it("each workload's ops is the number of allocator calls the driver makes (asmalloc, --quick)", async () => {
    for (const w of growth()) {
      const r = await run("asmalloc", w);
      expect(r.ops, w.name).toBe(w.ops);
    }
  });

  it("copyalways moves every live block it reallocs and copies min(old, new) each time", async () => {
    const n = 3, step = 4 * KiB, final = 64 * KiB, ring = 16;
    const w = { name: "t", description: "", fn: "reallocStep", args: [n, step, final, ring, 16, 8 * KiB], ops: 3 * n * (final / step) + n, slots: n + ring, realloc: true };
    const r = await run("copyalways", w);
    expect(r.ops).toBe(w.ops);
    const steps = final / step;
    expect(r.reallocMoves).toBe(n * (steps - 1));                       // the first realloc is realloc(0, n)
    expect(r.reallocMovedBytes).toBe(n * step * ((steps - 1) * steps) / 2); // step + 2 step + … + (steps-1) step
    expect(r.stats).toBeDefined();                                       // the heap check ran (asmalloc underneath)
  });
});
