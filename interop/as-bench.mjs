// The AssemblyScript JSON round trip (interop/as/json.ts) under the stock incremental runtime
// (TLSF + itcms) and under interop/as/runtime (asmalloc + itcms): same output required, times
// compared.
//   node interop/as-bench.mjs [--rounds R] [--records N] [--runs K] [--json FILE]
// Defaults: 5 rounds of 2000 records, 5 runs each, interleaved, a fresh instance per run;
// JSON to bench/out/as-json.json. Time: wall clock of run(); peak: memory.buffer.byteLength.
// Needs npm run build (dist/, build/asmalloc.wasm).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildAs, root } from "./build.mjs";
import { arg, summarizeRuns, printRuns, writeResult } from "./runs.mjs";
import { instantiateWithHeap, loadAsmallocModule } from "../dist/src/interop.js";

function readResult(exports, memory) {
  const ptr = exports.result() >>> 0, len = exports.resultLength();
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, len));
}

/** One run on a fresh instance: { ms, peakBytes, checksum, text }. */
export async function runJson(kind, module, rounds, records, asmallocModule) {
  let exports, memory;
  if (kind === "asmalloc") {
    const linked = await instantiateWithHeap(module, {}, { asmalloc: asmallocModule });
    exports = linked.instance.exports;
    memory = linked.memory;
  } else {
    exports = (await WebAssembly.instantiate(module, {})).exports;
    memory = exports.memory;
  }
  const t0 = performance.now();
  const checksum = exports.run(rounds, records) >>> 0;
  const ms = performance.now() - t0;
  return { ms, peakBytes: memory.buffer.byteLength, checksum, text: readResult(exports, memory) };
}

export async function compareJson({ rounds = 20, records = 2000, runs = 5, log = console.log } = {}) {
  const files = await buildAs();
  const asmallocModule = await loadAsmallocModule();
  const modules = {
    asmalloc: await WebAssembly.compile(readFileSync(files.asmalloc)),
    tlsf: await WebAssembly.compile(readFileSync(files.tlsf)),
  };
  const results = { asmalloc: [], tlsf: [] };
  for (let r = 0; r < runs; r++) {
    for (const kind of r % 2 ? ["tlsf", "asmalloc"] : ["asmalloc", "tlsf"]) {
      const res = await runJson(kind, modules[kind], rounds, records, asmallocModule);
      results[kind].push(res);
      log(`  run ${r + 1} ${kind.padEnd(8)} ${res.ms.toFixed(1).padStart(8)} ms  ${(res.peakBytes / 2 ** 20).toFixed(2)} MiB  ${res.checksum.toString(16)}`);
    }
  }
  const ref = results.tlsf[0];
  for (const kind of ["asmalloc", "tlsf"]) {
    for (const res of results[kind]) {
      if (res.checksum !== ref.checksum || res.text !== ref.text) throw new Error(`${kind}: output differs from TLSF's`);
    }
  }
  const a = summarizeRuns(results.asmalloc), t = summarizeRuns(results.tlsf);
  return { workload: "interop/as/json.ts", rounds, records, runs, checksum: ref.checksum.toString(16),
    identicalOutput: true, asmalloc: a, tlsf: t, timeRatio: a.medianMs / t.medianMs, peakRatio: a.peakBytes / t.peakBytes,
    floors: { timeRatioBelow: 1.0 } };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const rounds = Number(arg("--rounds", 5)), records = Number(arg("--records", 2000)), runs = Number(arg("--runs", 5));
  const jsonFile = arg("--json", join(root, "bench/out/as-json.json"));
  console.log(`AssemblyScript JSON round trip, ${rounds} rounds x ${records} records, ${runs} runs each (median)`);
  const r = await compareJson({ rounds, records, runs });
  printRuns("runtime", [["asmalloc + itcms", r.asmalloc], ["TLSF + itcms", r.tlsf]]);
  console.log(`\nasmalloc/TLSF: time ${r.timeRatio.toFixed(3)}x (floor < 1.0: ${r.timeRatio < 1 ? "met" : "MISSED"}), ` +
    `peak memory ${r.peakRatio.toFixed(3)}x; outputs identical (checksum ${r.checksum})`);
  writeResult(jsonFile, r);
}
