// `asmalloc micro`: the JS-call path. tinybench timings of
//   - a malloc+free pair through the host library (src/index.ts: Heap.malloc / Heap.free, which
//     check their arguments and turn a refusal into a HeapError),
//   - the same pair through asmalloc's Wasm exports, called from JS,
//   - a pair of no-op Wasm calls (the JS -> Wasm boundary alone),
//   - @thi.ng/malloc's MemPool malloc+free (an allocator written in JS over an ArrayBuffer).
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Bench } from "tinybench";
import { MemPool } from "@thi.ng/malloc";
import { asmallocPath } from "./build.js";
import { createHeapSync } from "../src/index.js";

// (module (func (export "nop1") (param i32) (result i32) local.get 0) (func (export "nop2") (param i32)))
const NOP_WASM = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 10, 2, 96, 1, 127, 1, 127, 96, 1, 127, 0, 3, 3, 2, 0, 1,
  7, 15, 2, 4, 110, 111, 112, 49, 0, 0, 4, 110, 111, 112, 50, 0, 1, 10, 9, 2, 4, 0, 32, 0, 11, 2, 0, 11]);

/** micro.json (the report's "JS-call path" section). */
export interface MicroResults {
  workload: string;
  rows: { name: string; nsPerPair: number }[];
  date: string;
  node: string;
}

/** Runs the four timings, logs them, and writes micro.json into outDir if one is given. */
export async function runMicro(log: (s: string) => void, outDir?: string): Promise<MicroResults> {
  const memory = new WebAssembly.Memory({ initial: 16, maximum: 32768 });
  const asmalloc = new WebAssembly.Module(readFileSync(asmallocPath()));
  const a = new WebAssembly.Instance(asmalloc, { env: { memory } }).exports as any;
  a.init(0);
  const heap = createHeapSync({ wasm: asmalloc, inspector: false });
  const nop = new WebAssembly.Instance(new WebAssembly.Module(NOP_WASM)).exports as any;
  const pool = new MemPool({ size: 64 << 20 });
  const sizes = new Uint32Array(4096);
  let seed = 1;
  for (let i = 0; i < sizes.length; i++) { seed = (seed * 1103515245 + 12345) >>> 0; sizes[i] = 8 + (seed >>> 8) % 249; }
  let k = 0, sink = 0;
  const bench = new Bench({ time: 500, warmup: true });
  // each task does INNER pairs so that tinybench's per-iteration timing (tens of ns) is amortised
  const INNER = 1000;
  bench
    .add("asmalloc host library heap.malloc+heap.free", () => { for (let i = 0; i < INNER; i++) { const p = heap.malloc(sizes[k++ & 4095]); heap.free(p); sink ^= p; } })
    .add("asmalloc malloc+free (JS -> Wasm exports)", () => { for (let i = 0; i < INNER; i++) { const p = a.malloc(sizes[k++ & 4095]); a.free(p); sink ^= p; } })
    .add("no-op Wasm call pair", () => { for (let i = 0; i < INNER; i++) { const p = nop.nop1(sizes[k++ & 4095]); nop.nop2(p); sink ^= p; } })
    .add("@thi.ng/malloc MemPool malloc+free", () => { for (let i = 0; i < INNER; i++) { const p = pool.malloc(sizes[k++ & 4095]); pool.free(p); sink ^= p; } });
  await bench.run();
  const rows = bench.tasks.map((t) => {
    const r: any = t.result;
    const mean = r?.latency?.mean ?? r?.mean; // ms
    return { name: t.name, ns: (mean * 1e6) / INNER };
  });
  log("JS-call path, sizes 8-256 B (tinybench, mean):");
  for (const r of rows) log(`  ${r.name.padEnd(44)} ${r.ns.toFixed(1).padStart(7)} ns/pair`);
  if (sink === 0.5) log("");
  const res: MicroResults = { workload: "malloc+free pairs called from JS, sizes 8-256 B pseudo-random (tinybench mean)",
    rows: rows.map((r) => ({ name: r.name, nsPerPair: +r.ns.toFixed(2) })), date: new Date().toISOString(), node: process.version };
  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "micro.json"), JSON.stringify(res, null, 2) + "\n");
  }
  return res;
}
