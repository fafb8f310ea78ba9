// SQLite on asmalloc against SQLite on wasi-libc's dlmalloc: the same driver (interop/sqlite/
// driver.c), the same SQL, the same result checksums required of both.
//   node interop/sqlite-bench.mjs [--rows N] [--runs K] [--json FILE]
// Defaults: 100000 rows, 5 runs of each build, interleaved; JSON to bench/out/sqlite.json.
// Time: wall clock of _start (SQLite work only; compilation excluded, module compiled once).
// Peak memory: memory.buffer.byteLength after the run (linear memory never shrinks), which for
// asmalloc includes its own metadata since it lives in the same memory.
// Needs npm run build (dist/, build/asmalloc.wasm) and clang for wasm32-wasi.
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { WASI } from "node:wasi";
import { buildSqlite, root, haveWasiClang } from "./build.mjs";
import { instantiateWithHeap, loadAsmallocModule } from "../dist/src/interop.js";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};

/** Runs one build once; returns { ms, peakBytes, output, exitCode }. */
export async function runSqlite(kind, module, rows, asmallocModule) {
  const dir = mkdtempSync(join(tmpdir(), "asmalloc-sqlite-"));
  const outFile = join(dir, "stdout");
  const fd = openSync(outFile, "w");
  try {
    const wasi = new WASI({ version: "preview1", args: ["sqlite", String(rows)], env: {}, returnOnExit: true, stdout: fd });
    const imports = { wasi_snapshot_preview1: wasi.wasiImport };
    let startable, memory;
    if (kind === "asmalloc") {
      const linked = await instantiateWithHeap(module, imports, { asmalloc: asmallocModule });
      if (linked.linkage !== "imported") throw new Error("sqlite_asmalloc.wasm should import its memory");
      memory = linked.memory;
      startable = { exports: { ...linked.instance.exports, memory } };
    } else {
      const instance = await WebAssembly.instantiate(module, imports);
      memory = instance.exports.memory;
      startable = instance;
    }
    const t0 = performance.now();
    const exitCode = wasi.start(startable);
    const ms = performance.now() - t0;
    closeSync(fd);
    return { ms, peakBytes: memory.buffer.byteLength, output: readFileSync(outFile, "utf8"), exitCode };
  } finally {
    try { closeSync(fd); } catch {}
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

/** Runs both builds `runs` times each, interleaved. Throws if any outputs differ. */
export async function compareSqlite({ rows = 100000, runs = 5, log = console.log } = {}) {
  const files = buildSqlite();
  const asmallocModule = await loadAsmallocModule();
  const modules = {
    asmalloc: await WebAssembly.compile(readFileSync(files.asmalloc)),
    dlmalloc: await WebAssembly.compile(readFileSync(files.dlmalloc)),
  };
  const results = { asmalloc: [], dlmalloc: [] };
  for (let r = 0; r < runs; r++) {
    for (const kind of r % 2 ? ["dlmalloc", "asmalloc"] : ["asmalloc", "dlmalloc"]) {
      const res = await runSqlite(kind, modules[kind], rows, asmallocModule);
      if (res.exitCode !== 0) throw new Error(`${kind} exited with ${res.exitCode}:\n${res.output}`);
      results[kind].push(res);
      log(`  run ${r + 1} ${kind.padEnd(8)} ${res.ms.toFixed(1).padStart(8)} ms  ${(res.peakBytes / 2 ** 20).toFixed(2)} MiB`);
    }
  }
  const reference = results.dlmalloc[0].output;
  for (const kind of ["asmalloc", "dlmalloc"]) {
    for (const res of results[kind]) {
      if (res.output !== reference) throw new Error(`${kind} output differs:\n${res.output}\n--- dlmalloc:\n${reference}`);
    }
  }
  const summary = (kind) => ({
    medianMs: median(results[kind].map((r) => r.ms)),
    minMs: Math.min(...results[kind].map((r) => r.ms)),
    peakBytes: Math.max(...results[kind].map((r) => r.peakBytes)),
    runsMs: results[kind].map((r) => +r.ms.toFixed(2)),
  });
  const a = summary("asmalloc"), d = summary("dlmalloc");
  return {
    workload: "interop/sqlite/driver.c", sqlite: "3.51.1 (better-sqlite3@12.5.0)", rows, runs,
    checksum: /checksum (\w+)/.exec(reference)?.[1], identicalOutput: true, output: reference,
    asmalloc: a, dlmalloc: d,
    timeRatio: a.medianMs / d.medianMs, peakRatio: a.peakBytes / d.peakBytes,
    floors: { timeRatioAtMost: 1.0, peakRatioAtMost: 1.1 },
  };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  if (!haveWasiClang()) { console.error("clang cannot target wasm32-wasi here: install clang, lld, wasi-libc"); process.exit(1); }
  const rows = Number(arg("--rows", 100000)), runs = Number(arg("--runs", 5));
  const jsonFile = arg("--json", join(root, "bench/out/sqlite.json"));
  console.log(`SQLite workload, ${rows} rows, ${runs} runs each (median)`);
  const r = await compareSqlite({ rows, runs });
  process.stdout.write(r.output);
  const row = (name, s) => `| ${name.padEnd(8)} | ${s.medianMs.toFixed(1).padStart(10)} | ${s.minMs.toFixed(1).padStart(8)} | ${(s.peakBytes / 2 ** 20).toFixed(2).padStart(10)} |`;
  console.log("\n| build    | median ms  | min ms   | peak MiB   |\n|----------|-----------:|---------:|-----------:|");
  console.log(row("asmalloc", r.asmalloc));
  console.log(row("dlmalloc", r.dlmalloc));
  console.log(`\nasmalloc/dlmalloc: time ${r.timeRatio.toFixed(3)}x (floor <= 1.0: ${r.timeRatio <= 1 ? "met" : "MISSED"}), ` +
    `peak memory ${r.peakRatio.toFixed(3)}x (floor <= 1.1: ${r.peakRatio <= 1.1 ? "met" : "MISSED"}); outputs identical`);
  mkdirSync(dirname(jsonFile), { recursive: true });
  const { output, ...json } = r;
  writeFileSync(jsonFile, JSON.stringify({ ...json, date: new Date().toISOString(), node: process.version }, null, 2) + "\n");
  console.log(`wrote ${jsonFile}`);
}
