// npm run bench: the whole benchmark report. The suites that feed sections of the report run
// first (threads scaling, SQLite and an AssemblyScript program on asmalloc vs their default
// allocators, the JS-call path against @thi.ng/malloc), each skipped with a note if it cannot
// run here (no clang/wasi-libc, no shared memory), and a long run of the misuse fuzzer; then the
// main bench, which writes results.json and report.html with all of them.
// Arguments go to the main bench (`npm run bench -- --quick`); --quick also shortens the suites.
import { spawnSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const quick = args.includes("--quick");
// SQLite runs 7 times per build (about 1 s each): its 360k allocations take under 2% of a run, so the
// median of 3 swung 0.99-1.06x dlmalloc's between runs of one build on this shared VM.
const suites = [
  ["threads scaling", ["dist/bench/threads/index.js", ...(quick ? ["--quick"] : [])]],
  ["SQLite on asmalloc vs dlmalloc", ["interop/sqlite-bench.mjs", "--runs", quick ? "1" : "7", ...(quick ? ["--rows", "20000"] : [])]],
  ["JS-call path (tinybench)", ["dist/src/cli.js", "micro", "--out", "bench/out"]],
  ["AssemblyScript program on asmalloc vs TLSF", ["interop/as-bench.mjs", "--runs", quick ? "1" : "3", ...(quick ? ["--rounds", "1"] : [])]],
  // the misuse fuzzer, longer than in CI: good and bad calls mixed, check() after every step
  ["misuse fuzz, long run", ["node_modules/vitest/vitest.mjs", "run", "tests/fuzz/fuzz.test.ts"], { ASMALLOC_FUZZ_RUNS: quick ? "300" : "3000" }],
];
for (const [name, argv, env] of suites) {
  process.stderr.write(`\n== ${name}\n`);
  const r = spawnSync(process.execPath, argv, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  if (r.status !== 0) process.stderr.write(`(${name}: skipped, exit ${r.status}; the report leaves its section out)\n`);
}
process.stderr.write("\n== allocators x workloads\n");
const main = spawnSync(process.execPath, ["dist/src/cli.js", "bench", ...args], { cwd: root, stdio: "inherit" });
process.exit(main.status ?? 1);
