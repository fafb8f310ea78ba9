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
export function wasmPath(variant: "release" | "debug" | "inspect" = "release"): string {
  const name = `build/asmalloc${variant === "release" ? "" : "." + variant}.wasm`;
  for (const up of ["../", "../../"]) {
    const path = fileURLToPath(new URL(up + name, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error(`asmalloc: ${name} not found next to ${fileURLToPath(import.meta.url)}; run \`npm run build\``);
}

const modules = new Map<string, WebAssembly.Module>();

/** A compiled module of this package (cached per build: compiling once serves any number of heaps). */
export function loadAllocatorSync(variant: "release" | "debug" | "inspect" = "release"): WebAssembly.Module {
  const path = wasmPath(variant);
  let m = modules.get(path);
  if (!m) modules.set(path, m = new WebAssembly.Module(readFileSync(path)));
  return m;
}

/** Async loadAllocatorSync. */
export async function loadAllocator(variant: "release" | "debug" | "inspect" = "release"): Promise<WebAssembly.Module> {
  const path = wasmPath(variant);
  let m = modules.get(path);
  if (!m) modules.set(path, m = await WebAssembly.compile(await readFile(path)));
  return m;
}

const variant = (o: HeapOptions): "release" | "debug" => (o.debug ? "debug" : "release");

/** createHeap with `wasm` and `inspector` defaulting to this package's build/asmalloc[.debug].wasm
 *  and build/asmalloc.inspect.wasm, read from disk. */
export async function createHeap(options: HeapOptions = {}): Promise<Heap> {
  return lib.createHeap({
    ...options,
    wasm: options.wasm ?? await loadAllocator(variant(options)),
    inspector: options.inspector ?? await loadAllocator("inspect"),
  });
}

/** Synchronous createHeap with the same defaults as this entry's createHeap. */
export function createHeapSync(options: HeapOptions = {}): Heap {
  const wasm = options.wasm ?? loadAllocatorSync(variant(options));
  const inspector = options.inspector ?? loadAllocatorSync("inspect");
  const sync = (x: unknown): x is WebAssembly.Module | BufferSource =>
    x instanceof WebAssembly.Module || ArrayBuffer.isView(x) || x instanceof ArrayBuffer;
  if (!sync(wasm) || (inspector !== false && !sync(inspector))) {
    throw new TypeError("asmalloc: createHeapSync needs options.wasm and options.inspector as WebAssembly.Modules or bytes");
  }
  return lib.createHeapSync({ ...options, wasm, inspector });
}
