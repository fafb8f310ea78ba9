// Creating heaps for tests: both shipped builds, through the host library.
// ASMALLOC_BUILD_DIR points the tests at another build directory (default: build/).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createHeapSync, type Heap, type HeapOptions, type HeapReport } from "../../src/index.js";

/** The builds every suite runs against (STYLE 30). */
export const BUILDS = ["release", "debug"] as const;
export type Build = (typeof BUILDS)[number];

export const BUILD_DIR = process.env.ASMALLOC_BUILD_DIR ?? join(import.meta.dirname, "../../build");

const modules = new Map<string, WebAssembly.Module>();
/** build/asmalloc.wasm, asmalloc.debug.wasm, asmalloc.inspect.wasm, or the threads builds
 *  asmalloc.mt.wasm and asmalloc.inspect.mt.wasm, compiled once per test file. */
export function wasmModule(variant: Build | "inspect" | "mt" | "inspect.mt"): WebAssembly.Module {
  let m = modules.get(variant);
  if (!m) modules.set(variant, m = new WebAssembly.Module(readFileSync(wasmFile(variant))));
  return m;
}
export function wasmFile(variant: Build | "inspect" | "mt" | "inspect.mt"): string {
  return join(BUILD_DIR, `asmalloc${variant === "release" ? "" : "." + variant}.wasm`);
}

export interface TestHeap extends Heap {
  /** reports the debug build made through env.report, in order */
  reports: HeapReport[];
}

/** A heap of the given build; the debug build's reports are collected in `reports`. */
export function makeHeap(build: Build, options: Omit<HeapOptions, "wasm" | "inspector"> = {}): TestHeap {
  const reports: HeapReport[] = [];
  const heap = createHeapSync({
    ...options,
    wasm: wasmModule(build),
    inspector: wasmModule("inspect"),
    debug: build === "debug",
    onReport: (r) => { reports.push(r); options.onReport?.(r); },
  }) as TestHeap;
  Object.defineProperty(heap, "reports", { value: reports });
  return heap;
}

/** The i32 a raw export returns, as the u32 it means. */
export const u = (x: number): number => x >>> 0;
