// The bench's summary (bench/bench.ts summarize): a row per peer with geometric means of its time
// and peak over asmalloc's, split into synthetic workloads and traces, over the workloads both
// completed; the workloads where the peer beat asmalloc; and the ones it failed.
import { describe, it, expect } from "vitest";
// @ts-ignore: built by scripts/build.mjs
import { summarize, formatTable, pairedRatio, pairedRatioInterval } from "../../dist/bench/bench.js";

function results() {
  const wl = (name: string, trace = false) => ({ name, description: name, ops: 1, heapBase: 0, realloc: false,
    ...(trace ? { trace: { file: name, peakLiveBytes: 1, slots: 1 } } : {}) });
  const ok = (allocator: string, workload: string, nsPerOp: number, peakHeapBytes: number) =>
    ({ allocator, workload, status: "ok", runs: 5, nsPerOp, peakHeapBytes, peakLiveBytes: 1, heapEfficiency: 1 / peakHeapBytes });
  return {
    schema: "asmalloc-bench/1", date: "2026-11-22T00:00:00Z",
    machine: { cpu: "cpu", cores: 2, memoryBytes: 1, node: "v20", platform: "linux-x64", otherCpuShare: 0 },
    asmallocSha1: "0", options: { quick: true, runs: 5, memoryMaxBytes: 1 },
    allocators: [
      { name: "asmalloc", description: "", wasmBytes: 1 },
      { name: "peer", description: "", wasmBytes: 1 },
      { name: "absent", description: "", wasmBytes: null, skipped: "not installed" },
    ],
    workloads: [wl("a"), wl("b"), wl("c"), wl("t1", true), wl("t2", true)],
    results: [
      ok("asmalloc", "a", 10, 100), ok("peer", "a", 20, 100),      // peer 2x slower, same memory
      ok("asmalloc", "b", 10, 100), ok("peer", "b", 5, 400),       // peer faster, 4x the memory
      ok("asmalloc", "c", 10, 100), { allocator: "peer", workload: "c", status: "oom", error: "x", runs: 0 },
      ok("asmalloc", "t1", 10, 100), ok("peer", "t1", 30, 50),     // traces: slower, smaller
      { allocator: "asmalloc", workload: "t2", status: "trap", error: "x", runs: 0 }, ok("peer", "t2", 1, 1),
      { allocator: "absent", workload: "a", status: "skipped", error: "not installed", runs: 0 },
    ],
  };
}

describe("bench summary", () => {
  it("geometric means over the workloads both completed, split synthetic / traces; wins and failures listed", () => {
    const rows = summarize(results());
    expect(rows.map((r: any) => r.allocator)).toEqual(["peer"]);   // not asmalloc, not a skipped peer
    const [p] = rows;
    expect(p.time.synthetic).toBeCloseTo(Math.sqrt(2 * 0.5), 10);   // a: 2, b: 0.5; c failed
    expect(p.peak.synthetic).toBeCloseTo(Math.sqrt(1 * 4), 10);
    expect(p.time.traces).toBeCloseTo(3, 10);                       // t2: asmalloc trapped, left out
    expect(p.peak.traces).toBeCloseTo(0.5, 10);
    expect(p.fasterOn).toEqual(["b"]);
    expect(p.smallerOn).toEqual(["t1"]);
    expect(p.failed).toEqual([{ workload: "c", status: "oom" }]);
  });

  it("time ratios pair runs by round: a machine that changes speed between runs does not read as the allocators", () => {
    // the python trace at 11:00: both allocators ran ~17 ms in fast phases and ~23.5 in slow
    // ones, asmalloc's median fell on a slow run and dlmalloc's on a fast one (0.81x)
    const asm = [23.3, 23.7, 23.1, 23.7, 15.7, 24.8, 23.3, 15.7, 16.9, 17.7, 17.0];
    const dl = [23.3, 23.8, 23.1, 23.2, 17.1, 24.1, 18.6, 17.3, 16.8, 17.3, 18.0];
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    expect(med(dl) / med(asm)).toBeCloseTo(0.81, 2);
    expect(pairedRatio(dl, asm)).toBeCloseTo(1.0, 2);
    expect(pairedRatio([2, 4, 6], [1, 2])).toBe(2);   // the rounds both ran
    expect(pairedRatio([], [1])).toBeUndefined();
    // the summary and the table use a cell's timeRatio when it has one
    const r = results();
    (r.results[1] as any).timeRatio = 1.5;
    expect(summarize(r)[0].time.synthetic).toBeCloseTo(Math.sqrt(1.5 * 0.5), 10);
    expect(formatTable(r)).toMatch(/\na +10\.0 +20\.0 \(1\.50~\)/);
  });

  it("the terminal table opens with it", () => {
    const text: string = formatTable(results());
    const lines = text.split("\n");
    const at = lines.findIndex((l) => l.startsWith("summary:"));
    expect(at).toBeGreaterThanOrEqual(0);
    expect(lines[at + 2]).toMatch(/^peer\s+1\.00x\s+3\.00x\s+2\.00x\s+0\.50x\s+1 \(0 clearly\)\s+1\s+c \(oom\)$/);
    // a ratio with no interval (too few rounds) is not told apart from 1 either
    expect(text).toMatch(/\na +10\.0 +20\.0 \(2\.00~\)/);
  });

  it("a time ratio's 95% interval: the sign test's order statistics; ~ marks a ratio it does not tell from 1", () => {
    // 9 rounds: the 2nd smallest and 2nd largest ratio (P(Binomial(9, 1/2) <= 1) = 10/512 <= 2.5%)
    const base = [10, 10, 10, 10, 10, 10, 10, 10, 10];
    expect(pairedRatioInterval([9, 11, 10.5, 9.5, 12, 8, 10.2, 9.8, 10.1], base)).toEqual([0.9, 1.1]);
    // 6 rounds: the extremes (1/64 <= 2.5%); 5: none (1/32 > 2.5%)
    expect(pairedRatioInterval([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1])).toEqual([1, 6]);
    expect(pairedRatioInterval([1, 2, 3, 4, 5], [1, 1, 1, 1, 1])).toBeUndefined();
    // 20 rounds: k = 6 (P(X <= 5) = 2.1%, P(X <= 6) = 5.8%)
    const twenty = Array.from({ length: 20 }, (_, i) => 100 + i);
    expect(pairedRatioInterval(twenty, twenty.map(() => 100))).toEqual([1.05, 1.14]);
    // the table marks a tie, the summary counts only clear wins
    const r = results();
    Object.assign(r.results[1], { timeRatio: 1.02, timeRatioInterval: [0.97, 1.08] });   // a: a tie
    Object.assign(r.results[3], { timeRatio: 0.5, timeRatioInterval: [0.45, 0.55] });    // b: peer clearly faster
    expect(formatTable(r)).toMatch(/\na +10\.0 +20\.0 \(1\.02~\)/);
    expect(formatTable(r)).toMatch(/\nb +10\.0 +5\.0 \(0\.50\)/);
    expect(summarize(r)[0].clearlyFasterOn).toEqual(["b"]);
    Object.assign(r.results[3], { timeRatioInterval: [0.45, 1.01] });
    expect(summarize(r)[0].fasterOn).toEqual(["b"]);
    expect(summarize(r)[0].clearlyFasterOn).toEqual([]);
  });
});
