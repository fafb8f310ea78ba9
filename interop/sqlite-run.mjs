// One SQLite run in its own process (interop/sqlite-bench.mjs spawns it): node:wasi instances
// sharing a process with per-run stdout files crashed Node 20 (segfault) after a few runs, so
// each run gets a fresh process. Usage: node sqlite-run.mjs asmalloc|dlmalloc file.wasm rows
// The program's output goes to stdout; the last stderr line is JSON { ms, peakBytes, exitCode }.
// ASMALLOC_WASM=file runs the asmalloc build on that allocator module instead of build/asmalloc.wasm.
// A warm-up run (rows/20, output to /dev/null) first lets V8 tier the code up, as in a long-
// running host; only the second run is timed.
import { readFileSync, openSync } from "node:fs";
import { WASI } from "node:wasi";
import { instantiateWithHeap, loadAsmallocModule } from "../dist/src/interop.js";

const [kind, file, rowsArg] = process.argv.slice(2);
const rows = Number(rowsArg);
const module = await WebAssembly.compile(readFileSync(file));
const asmalloc = await loadAsmallocModule(process.env.ASMALLOC_WASM);
const devnull = openSync("/dev/null", "w");

async function once(n, stdout) {
  const wasi = new WASI({ version: "preview1", args: ["sqlite", String(n)], env: {}, returnOnExit: true, stdout });
  const imports = { wasi_snapshot_preview1: wasi.wasiImport };
  let startable, memory;
  if (kind === "asmalloc") {
    const linked = await instantiateWithHeap(module, imports, { asmalloc });
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
  return { ms: performance.now() - t0, peakBytes: memory.buffer.byteLength, exitCode };
}

await once(Math.max(1000, Math.floor(rows / 20)), devnull);
const r = await once(rows, 1);
process.stderr.write(JSON.stringify(r) + "\n");
