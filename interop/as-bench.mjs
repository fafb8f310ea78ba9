// The AssemblyScript JSON round trip (interop/as/json.ts) under the stock incremental runtime
// (TLSF + itcms) and under interop/as/runtime (asmalloc + itcms): same output required, times
// compared.
//   node interop/as-bench.mjs [--rounds R] [--records N] [--runs K] [--json FILE]
// Defaults: 5 rounds of 2000 records, 5 runs each, interleaved, a fresh instance per run;
// JSON to bench/out/as-json.json. Time: wall clock of run(); peak: memory.buffer.byteLength.
// Needs npm run build (dist/, build/asmalloc.wasm).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { buildAs, root } from "./build.mjs";
import { instantiateWithHeap, loadAsmallocModule } from "../dist/src/interop.js";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

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
  const summary = (kind) => ({
    medianMs: median(results[kind].map((r) => r.ms)),
    minMs: Math.min(...results[kind].map((r) => r.ms)),
    peakBytes: Math.max(...results[kind].map((r) => r.peakBytes)),
    runsMs: results[kind].map((r) => +r.ms.toFixed(2)),
  });
  const a = summary("asmalloc"), t = summary("tlsf");
  return { workload: "interop/as/json.ts", rounds, records, runs, checksum: ref.checksum.toString(16),
    identicalOutput: true, asmalloc: a, tlsf: t, timeRatio: a.medianMs / t.medianMs, peakRatio: a.peakBytes / t.peakBytes,
    floors: { timeRatioBelow: 1.0 } };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const rounds = Number(arg("--rounds", 5)), records = Number(arg("--records", 2000)), runs = Number(arg("--runs", 5));
  const jsonFile = arg("--json", join(root, "bench/out/as-json.json"));
  console.log(`AssemblyScript JSON round trip, ${rounds} rounds x ${records} records, ${runs} runs each (median)`);
  const r = await compareJson({ rounds, records, runs });
  const row = (name, s) => `| ${name.padEnd(18)} | ${s.medianMs.toFixed(1).padStart(10)} | ${s.minMs.toFixed(1).padStart(8)} | ${(s.peakBytes / 2 ** 20).toFixed(2).padStart(10)} |`;
  console.log("\n| runtime            | median ms  | min ms   | peak MiB   |\n|--------------------|-----------:|---------:|-----------:|");
  console.log(row("asmalloc + itcms", r.asmalloc));
  console.log(row("TLSF + itcms", r.tlsf));
  console.log(`\nasmalloc/TLSF: time ${r.timeRatio.toFixed(3)}x (floor < 1.0: ${r.timeRatio < 1 ? "met" : "MISSED"}), ` +
    `peak memory ${r.peakRatio.toFixed(3)}x; outputs identical (checksum ${r.checksum})`);
  mkdirSync(dirname(jsonFile), { recursive: true });
  writeFileSync(jsonFile, JSON.stringify({ ...r, date: new Date().toISOString(), node: process.version }, null, 2) + "\n");
  console.log(`wrote ${jsonFile}`);
}
