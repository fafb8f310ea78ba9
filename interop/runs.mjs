// What interop/sqlite-bench.mjs and interop/as-bench.mjs share: their flags, the summary of one
// build's runs, the table they print and the JSON they write.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** The value after flag `name` on the command line, or `dflt`. */
export function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** One build's runs ({ ms, peakBytes }) summed up: median and min time, peak memory, every time. */
export function summarizeRuns(runs) {
  return {
    medianMs: median(runs.map((r) => r.ms)),
    minMs: Math.min(...runs.map((r) => r.ms)),
    peakBytes: Math.max(...runs.map((r) => r.peakBytes)),
    runsMs: runs.map((r) => +r.ms.toFixed(2)),
  };
}

/** Prints a markdown table of summaries: `[name, summary]` rows under a first column `title`. */
export function printRuns(title, rows) {
  const w = Math.max(title.length, ...rows.map(([name]) => name.length));
  console.log(`\n| ${title.padEnd(w)} | median ms  | min ms   | peak MiB   |\n|${"-".repeat(w + 2)}|-----------:|---------:|-----------:|`);
  for (const [name, s] of rows) {
    console.log(`| ${name.padEnd(w)} | ${s.medianMs.toFixed(1).padStart(10)} | ${s.minMs.toFixed(1).padStart(8)} | ${(s.peakBytes / 2 ** 20).toFixed(2).padStart(10)} |`);
  }
}

/** Writes a result to `file` as JSON, stamped with the date and Node's version. */
export function writeResult(file, result) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...result, date: new Date().toISOString(), node: process.version }, null, 2) + "\n");
  console.log(`wrote ${file}`);
}
