// SQLite on asmalloc against SQLite on wasi-libc's dlmalloc: the same driver (interop/sqlite/
// driver.c), the same SQL, the same result checksums required of both.
//   node interop/sqlite-bench.mjs [--rows N] [--runs K] [--json FILE]
// Defaults: 100000 rows, 5 runs of each build, interleaved; JSON to bench/out/sqlite.json.
// Time: wall clock of _start (SQLite work only), each run in a fresh process after a small
// warm-up run (interop/sqlite-run.mjs).
// Peak memory: memory.buffer.byteLength after the run (linear memory never shrinks), which for
// asmalloc includes its own metadata since it lives in the same memory.
// Needs npm run build (dist/, build/asmalloc.wasm) and clang for wasm32-wasi.
import { spawnSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSqlite, root, haveWasiClang } from "./build.mjs";
import { arg, summarizeRuns, printRuns, writeResult } from "./runs.mjs";

const here = dirname(fileURLToPath(import.meta.url));

/** Runs one build once, in a fresh process (interop/sqlite-run.mjs); returns
 *  { ms, peakBytes, output, exitCode }. */
export async function runSqlite(kind, file, rows) {
  const r = spawnSync(process.execPath, ["--no-warnings", join(here, "sqlite-run.mjs"), kind, file, String(rows)],
    { encoding: "utf8", maxBuffer: 1 << 26 });
  const last = r.stderr.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !last.startsWith("{")) throw new Error(`${kind} run failed (status ${r.status} ${r.signal ?? ""}):\n${r.stderr}`);
  return { ...JSON.parse(last), output: r.stdout };
}


/** Runs both builds `runs` times each, interleaved. Throws if any outputs differ. */
export async function compareSqlite({ rows = 100000, runs = 5, log = console.log } = {}) {
  const files = buildSqlite();
  const results = { asmalloc: [], dlmalloc: [] };
  for (let r = 0; r < runs; r++) {
    for (const kind of r % 2 ? ["dlmalloc", "asmalloc"] : ["asmalloc", "dlmalloc"]) {
      const res = await runSqlite(kind, files[kind], rows);
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
  const a = summarizeRuns(results.asmalloc), d = summarizeRuns(results.dlmalloc);
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
  printRuns("build", [["asmalloc", r.asmalloc], ["dlmalloc", r.dlmalloc]]);
  console.log(`\nasmalloc/dlmalloc: time ${r.timeRatio.toFixed(3)}x (floor <= 1.0: ${r.timeRatio <= 1 ? "met" : "MISSED"}), ` +
    `peak memory ${r.peakRatio.toFixed(3)}x (floor <= 1.1: ${r.peakRatio <= 1.1 ? "met" : "MISSED"}); outputs identical`);
  const { output, ...json } = r;
  writeResult(jsonFile, json);
}
