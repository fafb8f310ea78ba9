// asmalloc/node: the host library plus loading the allocator from this package's build/
// directory with node:fs. Everything in index.ts is re-exported; createHeap and createHeapSync
// here default `wasm` to the file instead of a URL.
import { readFileSync, existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import * as lib from "./index.js";
import type { Heap, HeapOptions } from "./index.js";

export * from "./index.js";

/** Path of build/asmalloc.wasm (release) or build/asmalloc.debug.wasm in this package, from
 *  src/ (running the TypeScript directly) or dist/src/ (compiled). */
export function wasmPath(debug = false): string {
  const name = `build/asmalloc${debug ? ".debug" : ""}.wasm`;
  for (const up of ["../", "../../"]) {
    const path = fileURLToPath(new URL(up + name, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error(`asmalloc: ${name} not found next to ${fileURLToPath(import.meta.url)}; run \`npm run build\``);
}

const modules = new Map<string, WebAssembly.Module>();

/** The compiled allocator (cached per build: compiling once serves any number of heaps). */
export function loadAllocatorSync(debug = false): WebAssembly.Module {
  const path = wasmPath(debug);
  let m = modules.get(path);
  if (!m) modules.set(path, m = new WebAssembly.Module(readFileSync(path)));
  return m;
}

/** Async loadAllocatorSync. */
export async function loadAllocator(debug = false): Promise<WebAssembly.Module> {
  const path = wasmPath(debug);
  let m = modules.get(path);
  if (!m) modules.set(path, m = await WebAssembly.compile(await readFile(path)));
  return m;
}

/** createHeap with `wasm` defaulting to this package's build/asmalloc[.debug].wasm. */
export async function createHeap(options: HeapOptions = {}): Promise<Heap> {
  return lib.createHeap({ ...options, wasm: options.wasm ?? await loadAllocator(options.debug) });
}

/** Synchronous createHeap; `wasm` defaults to this package's build/asmalloc[.debug].wasm. */
export function createHeapSync(options: HeapOptions = {}): Heap {
  const wasm = options.wasm ?? loadAllocatorSync(options.debug);
  if (!(wasm instanceof WebAssembly.Module) && !ArrayBuffer.isView(wasm) && !(wasm instanceof ArrayBuffer)) {
    throw new TypeError("asmalloc: createHeapSync needs options.wasm as a WebAssembly.Module or its bytes");
  }
  return lib.createHeapSync({ ...options, wasm });
}
