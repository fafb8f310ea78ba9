// Runs a wasm32-wasi program on asmalloc: node interop/run.mjs program.wasm [args...]
// (needs dist/: npm run build). The exit code is the program's.
import { readFileSync } from "node:fs";
import { runWasiWithHeap } from "../dist/src/interop.js";

const [file, ...args] = process.argv.slice(2);
if (!file) { console.error("usage: node interop/run.mjs program.wasm [args...]"); process.exit(2); }
const { exitCode, linkage, heapBase, memory } = await runWasiWithHeap(readFileSync(file), { args: [file, ...args] });
if (process.env.ASMALLOC_VERBOSE) {
  console.error(`linkage ${linkage}, heap base ${heapBase}, memory ${memory.buffer.byteLength} bytes`);
}
process.exitCode = exitCode;
