// asmalloc/node: the host library plus loading the allocator from this package's build/
// directory with node:fs. Everything in index.ts is re-exported; createHeap, createHeapSync,
// attachHeap and attachHeapSync here default `wasm` and `inspector` to the files instead of URLs
// (build/asmalloc.mt.wasm and asmalloc.inspect.mt.wasm for shared heaps).
import { readFileSync, existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import * as lib from "./index.js";
import type { Heap, HeapOptions, WasmVariant, SharedHeapHandle, AttachOptions, SyncAttachOptions } from "./index.js";

export * from "./index.js";

/** Path of build/asmalloc.wasm (release) or build/asmalloc.<variant>.wasm in this package, from
 *  src/ (running the TypeScript directly) or dist/src/ (compiled). */
export function wasmPath(variant: WasmVariant = "release"): string {
  const name = `build/asmalloc${variant === "release" ? "" : "." + variant}.wasm`;
  for (const up of ["../", "../../"]) {
    const path = fileURLToPath(new URL(up + name, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error(`asmalloc: ${name} not found next to ${fileURLToPath(import.meta.url)}; run \`npm run build\``);
}

const modules = new Map<string, WebAssembly.Module>();

/** A compiled module of this package (cached per build: compiling once serves any number of heaps). */
export function loadAllocatorSync(variant: WasmVariant = "release"): WebAssembly.Module {
  const path = wasmPath(variant);
  let m = modules.get(path);
  if (!m) modules.set(path, m = new WebAssembly.Module(readFileSync(path)));
  return m;
}

/** Async loadAllocatorSync. */
export async function loadAllocator(variant: WasmVariant = "release"): Promise<WebAssembly.Module> {
  const path = wasmPath(variant);
  let m = modules.get(path);
  if (!m) modules.set(path, m = await WebAssembly.compile(await readFile(path)));
  return m;
}

// shared + debug is refused by the library (no debug threads build): keep its error
const variant = (o: HeapOptions): WasmVariant => (o.shared && !o.debug ? "mt" : o.debug ? "debug" : "release");
const inspectVariant = (o: HeapOptions): WasmVariant => (o.shared ? "inspect.mt" : "inspect");

/** createHeap with `wasm` and `inspector` defaulting to this package's build/asmalloc[.debug].wasm
 *  and build/asmalloc.inspect.wasm (shared heaps: asmalloc.mt.wasm and asmalloc.inspect.mt.wasm),
 *  read from disk. */
export async function createHeap(options: HeapOptions = {}): Promise<Heap> {
  return lib.createHeap({
    ...options,
    wasm: options.wasm ?? await loadAllocator(variant(options)),
    inspector: options.inspector ?? await loadAllocator(inspectVariant(options)),
  });
}

/** attachHeap (in a worker_threads Worker) with the modules defaulting to the handle's, else to
 *  build/asmalloc.mt.wasm and build/asmalloc.inspect.mt.wasm read from disk. */
export async function attachHeap(handle: SharedHeapHandle, options: AttachOptions = {}): Promise<Heap> {
  return lib.attachHeap(handle, {
    ...options,
    wasm: options.wasm ?? handle?.module ?? await loadAllocator("mt"),
    inspector: options.inspector ?? handle?.inspector ?? await loadAllocator("inspect.mt"),
  });
}

/** Synchronous attachHeap with the same defaults as this entry's attachHeap. */
export function attachHeapSync(handle: SharedHeapHandle, options: SyncAttachOptions = {}): Heap {
  return lib.attachHeapSync(handle, {
    ...options,
    wasm: options.wasm ?? handle?.module ?? loadAllocatorSync("mt"),
    inspector: options.inspector ?? handle?.inspector ?? loadAllocatorSync("inspect.mt"),
  });
}

/** Synchronous createHeap with the same defaults as this entry's createHeap. */
export function createHeapSync(options: HeapOptions = {}): Heap {
  const wasm = options.wasm ?? loadAllocatorSync(variant(options));
  const inspector = options.inspector ?? loadAllocatorSync(inspectVariant(options));
  const sync = (x: unknown): x is WebAssembly.Module | BufferSource =>
    x instanceof WebAssembly.Module || ArrayBuffer.isView(x) || x instanceof ArrayBuffer;
  if (!sync(wasm) || (inspector !== false && !sync(inspector))) {
    throw new TypeError("asmalloc: createHeapSync needs options.wasm and options.inspector as WebAssembly.Modules or bytes");
  }
  return lib.createHeapSync({ ...options, wasm, inspector });
}
