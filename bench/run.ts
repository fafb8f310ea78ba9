// Runs one (allocator, workload) pair: a fresh Memory and fresh instances of the allocator and the
// driver per run, the driver calling the allocator directly (wasm -> wasm).
//
// Linear memory layout of every run:
//   0 .. 64 KiB           unused (the driver keeps no static data)
//   64 KiB ..             driver region: slot table (8 B/slot), 16 KiB size table, op buffer
//   heapBase ..           the allocator's heap (a power of two >= 256 KiB above the region);
//                         dlmalloc's statics and 16 KiB C stack and TLSF's root start here too
// Peak heap = memory.buffer.byteLength at the end (linear memory never shrinks) - heapBase.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { decodeStats, STATS_FIELDS } from "../src/statsfields.js";
import * as B from "./build.js";
import type { Workload } from "./workloads.js";

export const ALLOCATORS = ["asmalloc", "dlmalloc", "tlsf", "firstfit", "bump", "copyalways"] as const;
/** Allocators run only when named with --allocators: another build of asmalloc
 *  (ASMALLOC_PREV_WASM=path), to compare a change side by side in one run. */
export const EXTRA_ALLOCATORS = ["asmalloc-prev"] as const;
export type AllocatorName = (typeof ALLOCATORS)[number] | (typeof EXTRA_ALLOCATORS)[number];
export const ALLOCATOR_INFO: Record<AllocatorName, string> = {
  "asmalloc-prev": "another asmalloc build ($ASMALLOC_PREV_WASM), for side-by-side comparison",
  asmalloc: "this project (build/asmalloc.wasm)",
  dlmalloc: "dlmalloc from Debian's wasi-libc, clang -O2",
  tlsf: "AssemblyScript's TLSF (--runtime minimal, heap.alloc)",
  firstfit: "first fit, boundary tags, coalescing (bench/wasm/firstfit.ts)",
  bump: "bump pointer, frees only the newest block (bench/wasm/bump.ts)",
  copyalways: "asmalloc with a realloc that always moves: malloc + copy + free, never in place (bench/wasm/copyalways.ts)",
};

const DRIVER_BASE = 64 * 1024;
const SIZES_BYTES = 16 * 1024;
const OPBUF_OPS = 64 * 1024;            // trace ops per refill (512 KiB)
export const MAX_PAGES = 32768;          // 2 GiB: the same ceiling for every allocator
const SAMPLES = 200;                     // memory samples per run (about)

export interface Sample { op: number; heapBytes: number; liveBytes: number }
export interface RunResult {
  ms: number;
  nsPerOp: number;
  peakHeapBytes: number;
  peakLiveBytes: number;
  /** fresh memory the run wrote first: the process's minor page faults during the timed run x 4 KiB
   *  (Linux; undefined where the platform does not count them). See minorFaults. */
  touchedBytes?: number;
  memoryGrows?: number;
  reallocMoves: number;
  reallocMovedBytes: number;
  samples: Sample[];
  stats?: Record<string, number>;
}
export class BenchFailure extends Error {
  constructor(message: string, readonly kind: "oom" | "corrupt" | "trap") { super(message); }
}

export function layout(w: Workload): { heapBase: number; slotBase: number; sizesBase: number; opBase: number } {
  const slotBase = DRIVER_BASE;
  const sizesBase = slotBase + Math.ceil((w.slots * 8) / 16) * 16;
  const opBase = sizesBase + SIZES_BYTES;
  const end = opBase + (w.trace ? Math.min(w.trace.count, OPBUF_OPS) * 8 : 0);
  let heapBase = 256 * 1024;
  while (heapBase < end) heapBase *= 2;
  return { heapBase, slotBase, sizesBase, opBase };
}

/** Before each timed run: a full garbage collection, then a wait until the process's resident
 *  memory stops falling, for V8 to finish sweeping and freeing on its background threads. The
 *  runs before leave their memories as garbage (bump's is 1.5 GB on `mixed`), and V8 would
 *  otherwise collect them inside a later run, when a memory.grow crosses its external-memory
 *  limit: most often in the run of an allocator that grows memory in many small steps. Measured
 *  (mixed, all six allocators taking turns, median of 7): dlmalloc 218.8 ns/op without, 95.9
 *  with (asmalloc 119.3 and 124.7). The wait matters:
 *  with the collection alone, a full run had copyalways (asmalloc underneath) at 1.3-2.7x
 *  asmalloc's time on the cells right after bump's, whose memory was still being freed; with a
 *  fixed 30 ms pause, still 1.63x on fifo and 1.29x on the sqlite trace; with the wait, 1.00,
 *  1.06 and 0.98x. */
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;
async function settleGarbage(): Promise<void> {
  collectGarbage();
  // until the process's resident memory stops falling (a freed 0.5 GB memory takes ~100 ms)
  const sleep = () => new Promise((resolve) => setTimeout(resolve, 10));
  let rss = process.memoryUsage.rss();
  for (let waited = 0; waited < 1000; waited += 10) {
    await sleep();
    const now = process.memoryUsage.rss();
    if (rss - now < 1 << 20) break;
    rss = now;
  }
}

/** The process's minor page faults so far (NaN where the platform does not count them). Each is a
 *  page written for the first time since memory.grow handed it out (or V8's own), and costs ~2 us
 *  here: on the bench traces that is 10-40% of a run's time, the same for every allocator except
 *  for the pages it makes the program touch. So the bench reports it beside the time. */
function minorFaults(): number {
  const n = process.resourceUsage().minorPageFault;
  return n > 0 ? n : NaN;
}

/** An allocator: its module and, for copyalways, the module whose realloc replaces the allocator's
 *  (instantiated over the same memory, importing the allocator instance's exports as "asmalloc"). */
export interface Peer { name: AllocatorName; mod: B.BuiltModule; realloc?: B.BuiltModule }
/** The .wasm bytes of a peer (both modules for copyalways). */
export const peerBytes = (p: Peer) => p.mod.size + (p.realloc?.size ?? 0);
const cache = new Map<string, Peer | string>();
/** The allocator module for a heap base, or a string saying why it is unavailable. */
export async function getAllocator(name: AllocatorName, heapBase: number): Promise<Peer | string> {
  const key = `${name}@${name === "tlsf" || name === "dlmalloc" ? heapBase : 0}`;
  let p = cache.get(key);
  if (!p) {
    let m: B.BuiltModule | string, realloc: B.BuiltModule | undefined;
    switch (name) {
      case "asmalloc": m = B.buildAsmalloc(); break;
      case "copyalways": m = B.buildAsmalloc(); realloc = await B.buildCopyAlways(); break;
      case "asmalloc-prev": m = process.env.ASMALLOC_PREV_WASM ? B.buildAsmalloc(process.env.ASMALLOC_PREV_WASM) : "skipped: set ASMALLOC_PREV_WASM to a build of asmalloc"; break;
      case "dlmalloc": m = B.buildDlmalloc(heapBase); break;
      case "tlsf": m = await B.buildTlsf(heapBase); break;
      case "firstfit": m = await B.buildFirstFit(); break;
      case "bump": m = await B.buildBump(); break;
    }
    p = typeof m === "string" ? m : { name, mod: m, ...(realloc ? { realloc } : {}) };
    cache.set(key, p);
  }
  return p;
}
let driverMod: B.BuiltModule | undefined;
export async function getDriver(): Promise<B.BuiltModule> { return (driverMod ??= await B.buildDriver()); }

const OPS = ["", "malloc", "free", "realloc", "calloc", "aligned_alloc", "final check"];
function describe(code: number, ptr: number, size: number): [string, BenchFailure["kind"]] {
  const op = OPS[code & 15] ?? "replay";
  switch (code & ~15) {
    case 16: return [`${op}(${size}) returned 0 (out of memory)`, "oom"];
    case 32: return [`${op}(${size}) returned misaligned pointer ${ptr}`, "corrupt"];
    case 48: return [`block ${ptr} (${size} B) corrupted, found at ${op}`, "corrupt"];
    case 64: return [`calloc(${size}) returned non-zero memory at ${ptr}`, "corrupt"];
    default: return [`trace op invalid (id ${ptr}, size ${size})`, "trap"];
  }
}

/** Optional observers of a run (the report's heap-map capture, bench/report/heapmap.ts). */
export interface RunHooks { start?(memory: WebAssembly.Memory, heapBase: number): void; sample?(op: number, liveBytes: number): void }

/** One run on fresh instances. Throws BenchFailure. */
export async function runOnce(peer: Peer, w: Workload, hooks?: RunHooks): Promise<RunResult> {
  const L = layout(w);
  const driver = await getDriver();
  const startBytes = Math.max(L.heapBase, peer.mod.staticEnd);
  const memory = new WebAssembly.Memory({ initial: Math.ceil(startBytes / 65536), maximum: MAX_PAGES });
  let alloc: WebAssembly.Instance;
  try {
    alloc = new WebAssembly.Instance(peer.mod.module, { env: { memory } });
  } catch (e: any) { throw new BenchFailure(`instantiate: ${e.message}`, "trap"); }
  const ax = alloc.exports as any;
  if (typeof ax._initialize === "function") ax._initialize();
  if (typeof ax.init === "function") ax.init(L.heapBase);
  const realloc = peer.realloc
    ? (new WebAssembly.Instance(peer.realloc.module, { env: { memory }, asmalloc: ax }).exports as any).realloc
    : ax.realloc;

  const samples: Sample[] = [];
  const heapBase = L.heapBase;
  let tracePos = 0;
  const trace = w.trace;
  const imports = {
    alloc: { malloc: ax.malloc, free: ax.free, realloc, calloc: ax.calloc, aligned_alloc: ax.aligned_alloc },
    env: {
      memory,
      report(code: number, ptr: number, size: number) {
        const [msg, kind] = describe(code, ptr >>> 0, size >>> 0);
        throw new BenchFailure(`${peer.name} on ${w.name}: ${msg}`, kind);
      },
      sample(op: number, live: number) { samples.push({ op, heapBytes: memory.buffer.byteLength - heapBase, liveBytes: live }); hooks?.sample?.(op, live); },
      refill(): number {
        if (!trace || tracePos >= trace.count) return 0;
        const n = Math.min(OPBUF_OPS, trace.count - tracePos);
        new Uint32Array(memory.buffer, L.opBase, 2 * n).set(trace.ops.subarray(2 * tracePos, 2 * (tracePos + n)));
        tracePos += n;
        return n;
      },
    },
  };
  const d = new WebAssembly.Instance(driver.module, imports).exports as any;
  const every = Math.max(1, Math.floor(w.ops / SAMPLES));
  d.setup(L.slotBase, w.slots, L.sizesBase, L.opBase, 12345, every);
  samples.push({ op: 0, heapBytes: memory.buffer.byteLength - heapBase, liveBytes: 0 });
  hooks?.start?.(memory, heapBase);
  await settleGarbage();
  const faults0 = minorFaults();
  const t0 = performance.now();
  try {
    d[w.fn](...w.args);
  } catch (e: any) {
    if (e instanceof BenchFailure) throw e;
    throw new BenchFailure(`${peer.name} on ${w.name}: trapped (${e.message})${/unreachable/.test(e.message) ? ", TLSF traps when memory cannot grow" : ""}`, "trap");
  }
  const ms = performance.now() - t0;
  const faults = minorFaults() - faults0;
  d.verifyAll(w.slots);
  const ops = d.getOps() as number;
  samples.push({ op: ops, heapBytes: memory.buffer.byteLength - heapBase, liveBytes: d.getLive() });
  const peakHeapBytes = memory.buffer.byteLength - heapBase;
  // asmalloc (and copyalways, asmalloc underneath): its stats and a full heap check, through the
  // inspector module (after the peak is taken: binding takes a little heap metadata)
  let stats: Record<string, number> | undefined;
  if (peer.name === "asmalloc" || peer.name === "copyalways") {
    const insp = B.buildInspector();
    if (insp) {
      const ix = new WebAssembly.Instance(insp, { env: { memory } }).exports as any;
      if (ix.bind(heapBase)) {
        const bad = ix.check();
        if (bad) throw new BenchFailure(`${peer.name} on ${w.name}: heap check failed after the run (Broken code ${bad} at ${ix.check_where() >>> 0})`, "corrupt");
        const ptr = ix.stats() >>> 0;
        stats = { ...decodeStats(new Float64Array(memory.buffer.slice(ptr, ptr + 8 * STATS_FIELDS.length))) };
      }
    }
  }
  return {
    ms, nsPerOp: (ms * 1e6) / ops,
    peakHeapBytes,
    peakLiveBytes: d.getPeakLive(),
    touchedBytes: Number.isNaN(faults) ? undefined : faults * 4096,
    memoryGrows: stats?.memoryGrows,
    reallocMoves: d.getMoves(), reallocMovedBytes: d.getMovedBytes(),
    samples, stats,
  };
}
