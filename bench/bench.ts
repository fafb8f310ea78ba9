// `asmalloc bench`: every allocator on every workload, median of N runs, a table and results.json.
import { mkdirSync, writeFileSync, readdirSync, existsSync, readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { cpus, totalmem } from "node:os";
import { ALLOCATORS, ALLOCATOR_INFO, type AllocatorName, BenchFailure, getAllocator, getDriver, layout, peerBytes, runOnce, type RunResult, type Sample, type Peer, MAX_PAGES } from "./run.js";
import { syntheticWorkloads, traceWorkload, type Workload } from "./workloads.js";
import { readTrace } from "./traces.js";
import { ROOT, DL_SKIP, asmallocPath } from "./build.js";
import { captureHeapMaps, type HeapMapCapture } from "./report/heapmap.js";

export interface BenchOptions {
  allocators: AllocatorName[];
  /** workload names (synthetic names, "traces", or "trace:<name>"); empty = all */
  workloads: string[];
  traceFiles: string[];
  /** replay the bundled cut traces */
  bundledTraces: boolean;
  outDir: string;
  quick: boolean;
  runs: number;
  /** a run slower than this many ms is not repeated */
  slowMs: number;
  /** cells whose runs are short get more runs, up to this much timed work (max 31 runs) */
  minTotalMs: number;
  log: (s: string) => void;
}

/** results.json, schema version 1 (see bench/README.md). */
export interface BenchResults {
  schema: "asmalloc-bench/1";
  date: string;
  machine: { cpu: string; cores: number; memoryBytes: number; node: string; platform: string;
    /** share of all CPU time used by other processes while the bench ran (from /proc/stat), null off Linux */
    otherCpuShare: number | null };
  /** sha1 (12 hex) of build/asmalloc.wasm as measured */
  asmallocSha1: string;
  options: { quick: boolean; runs: number; memoryMaxBytes: number };
  allocators: { name: string; description: string; wasmBytes: number | null; skipped?: string }[];
  workloads: { name: string; description: string; ops: number; heapBase: number; realloc: boolean;
    /** growth workloads: the grown buffers' total final size (bytes copied / this is reported) */
    finalBytes?: number; trace?: { file: string; peakLiveBytes: number; slots: number } }[];
  results: Cell[];
  /** asmalloc's heap map at its peak of live bytes, per workload (for the HTML report; optional) */
  heapMaps?: Record<string, HeapMapCapture>;
}
export interface Cell {
  allocator: string;
  workload: string;
  status: "ok" | "oom" | "corrupt" | "trap" | "skipped";
  error?: string;
  runs: number;
  /** median over runs; per run in runMs */
  nsPerOp?: number;
  runMs?: number[];
  /** peers: time vs asmalloc's on this workload, paired by round (pairedRatio); > 1 = slower */
  timeRatio?: number;
  /** peers: the 95% interval of timeRatio (pairedRatioInterval), when there were rounds enough */
  timeRatioInterval?: [number, number];
  peakHeapBytes?: number;
  peakLiveBytes?: number;
  /** peakLiveBytes / peakHeapBytes */
  heapEfficiency?: number;
  /** median over runs of RunResult.touchedBytes: fresh memory the run wrote first (resident growth) */
  touchedBytes?: number;
  /** reallocs that returned a new pointer, and min(old, new) bytes summed over them (measured by the driver) */
  reallocMoves?: number;
  reallocMovedBytes?: number;
  /** asmalloc and copyalways (asmalloc underneath) only: its stats record at the end of the median run */
  stats?: Record<string, number>;
  /** memory over time in the median run: [allocator calls so far, heap bytes, live requested bytes] */
  samples?: [number, number, number][];
}

export const BUNDLED_TRACES = () => {
  const dir = join(ROOT, "bench", "traces");
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".trace.gz")).sort().map((f) => join(dir, f)) : [];
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The median over the rounds both ran of a's run time over b's in the same round. The
 *  allocators take turns run by run, so the two runs of a round meet the machine in the same
 *  state; this VM's speed shifts by 30% or more for several runs at a time, and a ratio of two
 *  medians, each over its own mix of fast and slow runs, reads that as a difference between the
 *  allocators (python trace, 11 runs each: medians 23.1 and 18.6 ms, 0.80x; paired, 1.00x). */
export function pairedRatio(a: number[], b: number[]): number | undefined {
  const r = roundRatios(a, b);
  return r.length ? median(r) : undefined;
}

/** a's run over b's, round by round, over the rounds both ran. */
function roundRatios(a: number[], b: number[]): number[] {
  return Array.from({ length: Math.min(a.length, b.length) }, (_, i) => a[i] / b[i]);
}

/** A 95% interval for pairedRatio's median, with no assumption on how run times spread (the
 *  sign test's: a round's ratio falls on either side of the true median with probability 1/2):
 *  the k-th smallest and k-th largest of the rounds' ratios, k the largest with
 *  P(Binomial(n, 1/2) < k) <= 2.5%. None below 6 rounds. A ratio whose interval holds 1 does
 *  not tell the two allocators apart in that run: this VM's speed moves by more than many of
 *  the differences the bench looks for. */
export function pairedRatioInterval(a: number[], b: number[]): [number, number] | undefined {
  const r = roundRatios(a, b).sort((x, y) => x - y), n = r.length;
  let k = 0;
  for (let i = 0, below = 0, choose = 1; i < n; choose = (choose * (n - i)) / (i + 1), i++) {
    below += choose;   // C(n, 0) + ... + C(n, i): outcomes with at most i ratios on one side
    if (below / 2 ** n > 0.025) break;
    k = i + 1;
  }
  return k ? [r[k - 1], r[n - k]] : undefined;
}

/** Does this run leave c's time ratio undecided: its interval holds 1, or there were too few
 *  rounds for one (asmalloc and c not told apart)? */
export const tiedWithAsmalloc = (c: Cell) => !c.timeRatioInterval || (c.timeRatioInterval[0] <= 1 && c.timeRatioInterval[1] >= 1);

/** A cell's time vs asmalloc's cell `base` on the same workload (> 1: slower): paired by round
 *  when the bench computed it (timeRatio), else (results.json of older runs) the two medians'. */
export function timeVsAsmalloc(c: Cell, base?: Cell): number | undefined {
  return c.timeRatio ?? (c.nsPerOp && base?.nsPerOp ? c.nsPerOp / base.nsPerOp : undefined);
}

export async function selectWorkloads(o: BenchOptions): Promise<Workload[]> {
  let ws: Workload[] = syntheticWorkloads(o.quick);
  const traceFiles = [...(o.bundledTraces ? BUNDLED_TRACES() : []), ...o.traceFiles];
  for (const f of traceFiles) ws.push(traceWorkload(readTrace(f)));
  if (o.workloads.length) {
    const want = new Set(o.workloads);
    const userTraces = new Set(o.traceFiles.map((f) => traceWorkload(readTrace(f)).name));
    ws = ws.filter((w) => want.has(w.name) || (want.has("traces") && w.trace) || (want.has("synthetic") && !w.trace) || userTraces.has(w.name));
  }
  return ws;
}

class Progress {
  private done = 0;
  private readonly tty = process.stderr.isTTY;
  constructor(private readonly total: number) {}
  step(label: string) {
    this.done++;
    const width = 30, filled = Math.round((this.done / this.total) * width);
    const line = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${this.done}/${this.total} ${label}`;
    if (this.tty) process.stderr.write(`\r\x1b[K${line}`);
    else if (this.done % 10 === 0 || this.done === this.total) process.stderr.write(line + "\n");
  }
  end() { if (this.tty) process.stderr.write("\r\x1b[K"); }
}

function procStat(): { busy: number; total: number } | null {
  try {
    const f = readFileSync("/proc/stat", "latin1").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch { return null; }
}

/** The cell of an allocator's timed runs on a workload: medians, and the run nearest the median
 *  time for everything measured once per run. */
function okCell(a: AllocatorName, w: Workload, runs: RunResult[]): Cell {
  const times = runs.map((r) => r.ms);
  const med = median(times);
  const mid = runs.reduce((b, r) => (Math.abs(r.ms - med) < Math.abs(b.ms - med) ? r : b));
  return {
    allocator: a, workload: w.name, status: "ok", runs: runs.length,
    nsPerOp: median(runs.map((r) => r.nsPerOp)), runMs: times.map((t) => +t.toFixed(3)),
    peakHeapBytes: mid.peakHeapBytes, peakLiveBytes: mid.peakLiveBytes,
    heapEfficiency: mid.peakLiveBytes / mid.peakHeapBytes,
    ...(runs.every((r) => r.touchedBytes !== undefined) ? { touchedBytes: median(runs.map((r) => r.touchedBytes!)) } : {}),
    reallocMoves: mid.reallocMoves, reallocMovedBytes: mid.reallocMovedBytes,
    stats: mid.stats,
    samples: mid.samples.map((s: Sample) => [s.op, s.heapBytes, s.liveBytes]),
  };
}

/** The JS objects the current workload has the host hold (Workload.jsHeapObjects): module state,
 *  so that no liveness analysis of a suspended async frame can let them go during its runs. */
let heldJsObjects: object[] = [];

export async function runBench(o: BenchOptions): Promise<{ results: BenchResults; failed: boolean }> {
  const stat0 = procStat(), cpu0 = process.cpuUsage();
  const workloads = await selectWorkloads(o);
  await getDriver();
  const allocators: BenchResults["allocators"] = [];
  for (const a of o.allocators) {
    const p = await getAllocator(a, 256 * 1024);
    if (typeof p === "string") { allocators.push({ name: a, description: ALLOCATOR_INFO[a], wasmBytes: null, skipped: p }); o.log(`${a}: ${p}`); }
    else allocators.push({ name: a, description: ALLOCATOR_INFO[a], wasmBytes: peerBytes(p) });
  }
  const results: Cell[] = [];
  const progress = new Progress(workloads.length * o.allocators.length * (o.runs + 1));
  let failed = false;
  for (const w of workloads) {
    heldJsObjects = w.jsHeapObjects ? Array.from({ length: w.jsHeapObjects }, (_, i) => ({ i, pair: [i, -i], name: "o" + i })) : [];
    // The allocators take turns, run by run (a1 a2 a3, a1 a2 a3, ...), so that whatever else the
    // machine does, and the process's own warming up (background compilation, the first fresh
    // memories), falls on all of them alike instead of on whichever ran first.
    interface Lane { a: AllocatorName; peer: Peer; runs: RunResult[]; total: number; done: boolean; cell?: Cell }
    const lanes: Lane[] = [];
    for (const a of o.allocators) {
      const peer = await getAllocator(a, layout(w).heapBase);
      if (typeof peer === "string") {
        results.push({ allocator: a, workload: w.name, status: "skipped", error: peer, runs: 0 });
        for (let i = 0; i <= o.runs; i++) progress.step(`${a} ${w.name}`);
      } else lanes.push({ a, peer, runs: [], total: o.runs, done: false });
    }
    // run 0 warms the JIT up and is not counted; short cells get more runs (up to 31) so that
    // the timed runs add up to minTotalMs, which steadies their median
    for (let i = 0; lanes.some((l) => !l.done); i++) {
      for (const l of lanes) {
        if (l.done) continue;
        if (i <= o.runs) progress.step(`${l.a} ${w.name}`);
        try {
          const r = await runOnce(l.peer, w);
          if (i > 0) l.runs.push(r);
          if (i === 0) l.total = Math.min(31, Math.max(o.runs, Math.ceil(o.minTotalMs / Math.max(r.ms, 0.01))));
          if (r.ms > o.slowMs && i === 0) l.runs.push(r);   // too slow to repeat: one run
          if (r.ms > o.slowMs || i >= l.total) l.done = true;
        } catch (e) {
          if (!(e instanceof BenchFailure)) throw e;
          l.cell = { allocator: l.a, workload: w.name, status: e.kind, error: e.message, runs: 0 };
          if (e.kind === "corrupt") { failed = true; progress.end(); o.log(`FAILED ${e.message}`); }
          l.done = true;
        }
        if (l.done) for (let j = i + 1; j <= o.runs; j++) progress.step(`${l.a} ${w.name}`);
      }
    }
    const cells = lanes.map((l) => l.cell ?? okCell(l.a, w, l.runs));
    const base = cells.find((c) => c.allocator === "asmalloc" && c.status === "ok");
    for (const c of cells) {
      if (base && c !== base && c.status === "ok") {
        c.timeRatio = pairedRatio(c.runMs!, base.runMs!);
        const interval = pairedRatioInterval(c.runMs!, base.runMs!);
        if (interval) c.timeRatioInterval = interval;
      }
      results.push(c);
    }
  }
  heldJsObjects = [];
  progress.end();
  // one extra, untimed asmalloc run per workload for the report's heap map (after the timings)
  const heapMaps = o.allocators.includes("asmalloc")
    ? await captureHeapMaps(workloads, (w) => results.some((c) => c.allocator === "asmalloc" && c.workload === w && c.status === "ok"))
    : {};
  const stat1 = procStat(), cpu1 = process.cpuUsage(cpu0);
  let otherCpuShare: number | null = null;
  if (stat0 && stat1 && stat1.total > stat0.total) {
    const ownTicks = ((cpu1.user + cpu1.system) / 1e6) * 100; // USER_HZ = 100
    otherCpuShare = Math.max(0, (stat1.busy - stat0.busy - ownTicks) / (stat1.total - stat0.total));
  }
  const c = cpus();
  const res: BenchResults = {
    schema: "asmalloc-bench/1",
    date: new Date().toISOString(),
    machine: { cpu: c[0]?.model ?? "unknown", cores: c.length, memoryBytes: totalmem(), node: process.version, platform: `${process.platform}-${process.arch}`, otherCpuShare },
    asmallocSha1: createHash("sha1").update(readFileSync(asmallocPath())).digest("hex").slice(0, 12),
    options: { quick: o.quick, runs: o.runs, memoryMaxBytes: MAX_PAGES * 65536 },
    allocators,
    workloads: workloads.map((w) => ({ name: w.name, description: w.description, ops: w.ops, heapBase: layout(w).heapBase, realloc: !!w.realloc,
      ...(w.finalBytes ? { finalBytes: w.finalBytes } : {}),
      ...(w.trace ? { trace: { file: w.trace.name, peakLiveBytes: w.trace.peakLiveBytes, slots: w.trace.slots } } : {}) })),
    results,
    ...(Object.keys(heapMaps).length ? { heapMaps } : {}),
  };
  mkdirSync(o.outDir, { recursive: true });
  writeFileSync(join(o.outDir, "results.json"), JSON.stringify(res));
  return { results: res, failed };
}

// ---- the summary: one line per peer ---------------------------------------------------------------
/** A peer against asmalloc over a run's workloads: geometric means of its time and peak memory
 *  over asmalloc's (> 1: asmalloc faster or smaller) on the synthetic workloads and on the traces,
 *  counting only workloads both completed; the workloads where the peer was ahead; and those it
 *  failed (out of memory, corrupted, trapped). What someone choosing an allocator reads first. */
export interface SummaryRow {
  allocator: string;
  time: { synthetic?: number; traces?: number };
  peak: { synthetic?: number; traces?: number };
  /** workloads (of those both completed) where the peer took less time / less peak memory */
  fasterOn: string[];
  /** of fasterOn, those where its time-ratio interval lies below 1 (not within this run's noise) */
  clearlyFasterOn: string[];
  smallerOn: string[];
  /** workloads the peer did not complete, with its status */
  failed: { workload: string; status: string }[];
}

function geomean(xs: number[]): number | undefined {
  return xs.length ? Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length) : undefined;
}

export function summarize(r: BenchResults): SummaryRow[] {
  const cell = (w: string, a: string) => r.results.find((c) => c.workload === w && c.allocator === a);
  const rows: SummaryRow[] = [];
  for (const a of r.allocators) {
    if (a.name === "asmalloc" || a.skipped) continue;
    const ratios = { time: { synthetic: [] as number[], traces: [] as number[] }, peak: { synthetic: [] as number[], traces: [] as number[] } };
    const row: SummaryRow = { allocator: a.name, time: {}, peak: {}, fasterOn: [], clearlyFasterOn: [], smallerOn: [], failed: [] };
    for (const w of r.workloads) {
      const base = cell(w.name, "asmalloc"), c = cell(w.name, a.name);
      if (!c || c.status === "skipped") continue;
      if (c.status !== "ok") { row.failed.push({ workload: w.name, status: c.status }); continue; }
      if (base?.status !== "ok") continue;
      const kind = w.trace ? "traces" : "synthetic";
      const t = timeVsAsmalloc(c, base);
      if (t) {
        ratios.time[kind].push(t);
        if (t < 1) row.fasterOn.push(w.name);
        if (c.timeRatioInterval && c.timeRatioInterval[1] < 1) row.clearlyFasterOn.push(w.name);
      }
      if (c.peakHeapBytes && base.peakHeapBytes) {
        ratios.peak[kind].push(c.peakHeapBytes / base.peakHeapBytes);
        if (c.peakHeapBytes < base.peakHeapBytes) row.smallerOn.push(w.name);
      }
    }
    for (const m of ["time", "peak"] as const) for (const k of ["synthetic", "traces"] as const) {
      const g = geomean(ratios[m][k]);
      if (g !== undefined) row[m][k] = g;
    }
    rows.push(row);
  }
  return rows;
}

// ---- the terminal table --------------------------------------------------------------------------
const fmtBytes = (b: number) => (b >= 1 << 30 ? `${(b / (1 << 30)).toFixed(1)}G` : b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)}M` : `${Math.round(b / 1024)}K`);
/** Bytes copied by realloc moves / the grown buffers' final size, formatted (undefined when the
 *  workload has no final size: not a growth workload). */
export function copiedPerFinal(c: Cell, w: { finalBytes?: number }): string | undefined {
  if (!w.finalBytes) return undefined;
  const x = (c.reallocMovedBytes ?? 0) / w.finalBytes;
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}
function pad(s: string, n: number, left = false) { return left ? s.padEnd(n) : s.padStart(n); }

export function formatTable(r: BenchResults): string {
  const names = r.allocators.map((a) => a.name);
  const out: string[] = [];
  const cell = (w: string, a: string) => r.results.find((c) => c.workload === w && c.allocator === a);
  const W = Math.max(14, ...r.workloads.map((w) => w.name.length)) + 1;
  // columns are at least 15 wide, wider when a cell's text needs it
  const section = (title: string, f: (c: Cell, base?: Cell) => string, workloads = r.workloads) => {
    const rows = workloads.map((w) => {
      const base = cell(w.name, "asmalloc");
      return names.map((n) => {
        const c = cell(w.name, n);
        if (!c) return "";
        if (c.status !== "ok") return c.status === "skipped" ? "skipped" : c.status.toUpperCase();
        return f(c, base);
      });
    });
    const colW = Math.max(15, ...names.map((n) => n.length + 2), ...rows.flat().map((t) => t.length + 2));
    out.push("", title);
    out.push(pad("workload", W, true) + names.map((n) => pad(n, colW)).join(""));
    workloads.forEach((w, i) => out.push(pad(w.name, W, true) + rows[i].map((t) => pad(t, colW)).join("")));
  };
  const summary = summarize(r);
  if (summary.length) {
    const x = (v?: number) => (v === undefined ? "-" : `${v.toFixed(2)}x`);
    const head = ["allocator", "time synthetic", "time traces", "peak synthetic", "peak traces", "faster on", "smaller on", "failed"];
    const lines = summary.map((s) => [s.allocator, x(s.time.synthetic), x(s.time.traces), x(s.peak.synthetic), x(s.peak.traces),
      `${s.fasterOn.length} (${s.clearlyFasterOn.length} clearly)`, String(s.smallerOn.length), s.failed.length ? s.failed.map((f) => `${f.workload} (${f.status})`).join(", ") : "-"]);
    const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)) + 2);
    out.push("", "summary: each peer against asmalloc, geometric means of its time and peak over asmalloc's (>1 = asmalloc faster or smaller); faster/smaller on = workloads where the peer beat asmalloc (clearly: its time ratio's 95% interval below 1)");
    out.push([head, ...lines].map((l) => l.map((t, i) => (i === 0 ? t.padEnd(widths[i]) : i === 7 ? "  " + t : t.padStart(widths[i]))).join("").trimEnd()).join("\n"));
  }
  section("ns per allocator call (median; in brackets: time vs asmalloc's, the median over rounds of the two runs' ratio, >1 = slower than asmalloc; ~: its 95% interval holds 1, or too few rounds for one: the two not told apart in this run)",
    (c, b) => {
      const t = timeVsAsmalloc(c, b);
      return `${c.nsPerOp!.toFixed(1)}${c.allocator !== "asmalloc" && t !== undefined ? ` (${t.toFixed(2)}${tiedWithAsmalloc(c) ? "~" : ""})` : ""}`;
    });
  /** bytes of a cell, and a peer's over asmalloc's in brackets */
  const bytesVs = (c: Cell, b: Cell | undefined, key: "peakHeapBytes" | "touchedBytes") =>
    c[key] === undefined ? "-" : `${fmtBytes(c[key]!)}${c.allocator !== "asmalloc" && b?.[key] ? ` (${(c[key]! / b[key]!).toFixed(2)})` : ""}`;
  section("peak heap (linear memory above the heap base; in brackets: vs asmalloc's)", (c, b) => bytesVs(c, b, "peakHeapBytes"));
  section("heap efficiency (peak live requested bytes / peak heap)", (c) => (c.peakLiveBytes ? `${(100 * c.heapEfficiency!).toFixed(0)}%` : "-"));
  if (r.results.some((c) => c.touchedBytes !== undefined)) {
    section("memory touched (pages the run wrote first: the process's page faults x 4 KiB, median; in brackets: vs asmalloc's)",
      (c, b) => bytesVs(c, b, "touchedBytes"));
  }
  const rw = r.workloads.filter((w) => w.realloc);
  if (rw.length) {
    section("realloc: bytes copied by moves (driver-measured min(old,new) per moved block) / moves [copied / final size of the grown buffers]", (c) => {
      const ratio = copiedPerFinal(c, rw.find((w) => w.name === c.workload)!);
      return `${fmtBytes(c.reallocMovedBytes!)}/${c.reallocMoves}${ratio !== undefined ? ` [${ratio}]` : ""}`;
    }, rw);
  }
  out.push("", "wasm size: " + r.allocators.map((a) => `${a.name} ${a.wasmBytes ?? "-"} B`).join(", "));
  for (const a of r.allocators) if (a.skipped) out.push(`${a.name}: ${a.skipped}`);
  for (const c of r.results) if (c.status !== "ok" && c.status !== "skipped") out.push(`${c.status.toUpperCase()}: ${c.error}`);
  return out.join("\n");
}
export { DL_SKIP };
