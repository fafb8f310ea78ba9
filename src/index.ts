// asmalloc host library: load build/asmalloc.wasm onto a WebAssembly.Memory and use it from
// JavaScript with checked arguments, exceptions instead of 0 returns, and views of linear memory
// that survive memory.grow.
//
// Threads: createHeap({ shared: true }) puts the heap in a shared WebAssembly.Memory run by
// build/asmalloc.mt.wasm; heap.share() gives a handle to post to a Worker, where attachHeap(handle)
// instantiates the allocator again on the same memory (its own cache, the same heap) and returns
// the same Heap API. Each thread calls heap.threadExit() when it is done with the heap.
//
// This file runs in Node and in browsers: it imports nothing from `node:`. Node users who want
// the .wasm read from the package's build/ directory use the `asmalloc/node` entry (src/node.ts).
//
// Error policy (one rule, everywhere):
//   - A JS argument that no C call could mean (negative, fractional, NaN, >= 4 GiB sizes and
//     pointers; alignments that are not powers of two) throws RangeError before the allocator
//     runs; a non-number throws TypeError.
//   - A call the allocator refuses throws HeapError, whose `code` names the allocator's Status:
//     OUT_OF_MEMORY (and SIZE_OVERFLOW) for allocations, FOREIGN / INTERIOR / FREE_PAGES /
//     DOUBLE_FREE for pointers it does not own. The allocator changes nothing on a refusal (it
//     only counts it in stats), so the heap stays usable after catching the error.
//   - `heap.exports` is the raw C ABI for callers who want 0 returns instead.
import { decodeStats, STATS_FIELDS, type HeapStats } from "./statsfields.js";
import { PAGE_SIZE, CLASS_COUNT } from "./sizeclasses.js";
import { Status, statusName, type StatusName } from "./status.js";

export { Status, statusName, type StatusName } from "./status.js";
export { type HeapStats, STATS_FIELDS, decodeStats } from "./statsfields.js";
export { PAGE_SIZE, MAX_SMALL_SIZE, CLASS_COUNT, CLASS_SIZES, LARGE_COLOURS_BYTES, sizeToClass, roundedSize } from "./sizeclasses.js";

/** Bytes in one WebAssembly page, the unit of memory.grow and of the memory options. */
export const WASM_PAGE_SIZE = 65536;
/** Pages of 64 KiB a 32-bit memory can have at most (4 GiB). */
export const MAX_WASM_PAGES = 65536;
const MAX_U32 = 0xFFFFFFFF;

/** The C ABI the allocator module exports (all values u32 pointers and sizes; i32 in JS, so
 *  results above 2 GiB come back negative: use `>>> 0`). No argument checking: C semantics. */
export interface AsmallocExports {
  /** Sets the heap up at heap_base rounded up to 8 KiB (0: at the end of memory); 1 ok, 0 failed. */
  init(heapBase: number): number;
  malloc(size: number): number;
  free(ptr: number): void;
  /** free() that returns the Status it ended with (0: freed; otherwise nothing changed). */
  free_checked(ptr: number): number;
  realloc(ptr: number, size: number): number;
  calloc(count: number, size: number): number;
  aligned_alloc(align: number, size: number): number;
  /** 0, EINVAL (28) or ENOMEM (48); stores the pointer at memptr. */
  posix_memalign(memptr: number, align: number, size: number): number;
  malloc_usable_size(ptr: number): number;
  /** Status of the last call that failed, cleared by reading. */
  last_error(): number;
  /** Hands this instance's cached objects back to the heap (single-threaded builds: a trim).
   *  Threads build: also gives the instance's cache record up; a later call re-attaches it. */
  thread_exit(): void;
  /** Threads build: 0 makes this instance spin instead of memory.atomic.wait32 when the heap's
   *  lock is contended (required on a browser's main thread, which may not wait); default 1. */
  set_blocking(allowed: number): void;
}

/** What the inspector module (build/asmalloc.inspect.wasm) exports: it shares the heap's memory
 *  and reads the heap's state, so the allocator module itself stays small. */
export interface InspectorExports {
  /** Binds to the heap whose header is at heapBase (takes 8 KiB of heap metadata, once); 1 ok, 0 no heap there. */
  bind(heapBase: number): number;
  /** Fills the stats record (f64 values in STATS_FIELDS order) and returns its address. */
  stats(): number;
  /** 0 if every heap invariant holds, else a Broken code (see BROKEN_NAMES); check_where() says where. */
  check(): number;
  check_where(): number;
  /** Fills the class profile (CLASS_COUNT rows of 6 u32: size, spans, inUse, cached, free, spanPages) and returns its address. */
  class_profile(): number;
  /** Writes up to HEAP_MAP_MAX entries (start, npages, kind, cls) for the spans from `from`; returns the count. */
  heap_map(from: number): number;
  heap_map_at(): number;
  readonly HEAP_MAP_MAX: WebAssembly.Global;
}

/** What check() can find broken, by the inspector's Broken code (copied from assembly/check.ts;
 *  tests/unit/abi.test.ts keeps the copy honest). */
export const BROKEN_NAMES = ["NONE", "HEADER", "TILING", "PAGEMAP", "COALESCE", "FREE_LISTS",
  "SPAN_OBJECTS", "DUPLICATE", "CENTRAL", "CACHE", "LARGE", "FREE_MARK"] as const;
/** The name of a Broken code, e.g. "COALESCE". */
export type BrokenName = (typeof BROKEN_NAMES)[number];

/** Thrown by Heap.check(): a heap invariant does not hold (memory was corrupted, by the program
 *  writing outside its blocks or by an allocator bug). The heap should not be used further. */
export class HeapCorruptionError extends Error {
  /** what is broken */
  readonly what: BrokenName | `UNKNOWN_${number}`;
  /** the inspector's Broken code */
  readonly broken: number;
  /** address of the record or object where the problem was found */
  readonly at: number;
  constructor(broken: number, at: number) {
    const what = BROKEN_NAMES[broken] ?? `UNKNOWN_${broken}` as const;
    super(`asmalloc check: heap corrupted: ${what} at ${at} (0x${at.toString(16)})`);
    this.name = "HeapCorruptionError";
    this.what = what;
    this.broken = broken;
    this.at = at;
  }
}

/** One size class in Heap.classProfile(). */
export interface ClassProfileRow {
  cls: number;
  /** bytes per object */
  size: number;
  /** spans of this class */
  spans: number;
  /** objects the program holds */
  inUse: number;
  /** free objects in this instance's cache */
  cached: number;
  /** free objects in the central lists: in their spans, and (threads) whole batches parked in
   *  the transfer cache */
  free: number;
  /** pages per span (a class holding 16 spans takes hot spans for its next ones: CLASS_HOT_SPAN_PAGES) */
  spanPages: number;
}

/** One run of pages in Heap.heapMap(). */
export interface HeapMapEntry {
  /** address of the first page */
  start: number;
  /** length in allocator pages (PAGE_SIZE bytes) */
  pages: number;
  /** what the pages hold: free pages, a span of small objects, a large block, or heap metadata
   *  (header, span records, page-map leaves, and memory others grew in between) */
  kind: "free" | "small" | "large" | "metadata";
  /** size class of a "small" span, else 0 */
  cls: number;
}
/** Heap-map kinds by the inspector's code (a SpanState, or 4 = METADATA; assembly/span.ts, profile.ts). */
const MAP_KINDS: readonly (HeapMapEntry["kind"] | undefined)[] = [undefined, "free", "small", "large", "metadata"];

/** What the debug build's `env.report` hook passes on misuse. */
export interface HeapReport {
  /** the Status name of the misuse, e.g. "DOUBLE_FREE" */
  code: StatusName | `UNKNOWN_${number}`;
  /** the Status number */
  status: number;
  /** the pointer concerned */
  ptr: number;
  /** the call during which it was detected (a write after free is found when the block is
   *  handed out again, by malloc) */
  op: "malloc" | "free" | "realloc" | "usable_size" | "aligned_alloc" | "unknown";
  /** the size class of the block concerned (0: a large block or none) */
  sizeClass: number;
  /** the raw detail word the allocator gave: op << 16 | size class */
  info: number;
  /** a sentence for people: what happened, where */
  message: string;
}

const REPORT_OPS = ["unknown", "malloc", "free", "realloc", "usable_size", "aligned_alloc"] as const;
const REPORT_WHAT: Record<string, string> = {
  DOUBLE_FREE: "block freed twice (or used after free)", WRITE_AFTER_FREE: "freed block written after it was freed",
  CANARY: "bytes written past the end of the block", FOREIGN: "pointer the heap never handed out",
  INTERIOR: "pointer into the middle of a block", FREE_PAGES: "pointer into memory the heap holds free",
};

/** Where the allocator module comes from: a compiled module, its bytes, or (async only) a URL
 *  or fetch Response to stream-compile. */
export type WasmSource = WebAssembly.Module | BufferSource | URL | string | Response | PromiseLike<Response>;

/** Synchronous createHeapSync's options: modules must be compiled or given as bytes. */
export type SyncHeapOptions = HeapOptions & { wasm: WebAssembly.Module | BufferSource; inspector?: WebAssembly.Module | BufferSource | false };

/** Which of this package's builds: the allocator (release, debug, mt = threads) or an inspector
 *  (inspect, inspect.mt = for a shared memory). */
export type WasmVariant = "release" | "debug" | "inspect" | "mt" | "inspect.mt";

/** Options of createHeap and createHeapSync. */
export interface HeapOptions {
  /** The allocator module. createHeap defaults to build/asmalloc.wasm (or asmalloc.debug.wasm
   *  with `debug`) next to this package, fetched by URL: that works in browsers and bundlers; in
   *  Node use the `asmalloc/node` entry, which reads the file. */
  wasm?: WasmSource;
  /** The inspector module (build/asmalloc.inspect.wasm), which stats(), check(), classProfile() and
   *  heapMap() need; defaults like `wasm`. `false`: none (those methods then throw). Binding it
   *  to the heap takes 8 KiB of heap metadata, once. */
  inspector?: WasmSource | false;
  /** Use this memory (e.g. another module's) instead of creating one. The heap takes the memory
   *  from heapBase (default: the memory's current end) to the end, and grows it at will. */
  memory?: WebAssembly.Memory;
  /** Initial size of the memory createHeap creates, in 64 KiB wasm pages (default 1). Not with `memory`. */
  initialMemory?: number;
  /** Maximum size of the memory createHeap creates, in 64 KiB wasm pages (default: none, i.e. 4 GiB;
   *  with `shared`, 65536 pages = 4 GiB, which engines reserve as address space up front: pass
   *  the most the program needs, browsers on small devices may refuse 4 GiB). Allocations beyond
   *  it throw HeapError OUT_OF_MEMORY. Not with `memory`. */
  maximumMemory?: number;
  /** Address where the heap starts (rounded up to 8 KiB; the allocator never touches memory
   *  below it). Default: 8192 in a memory createHeap creates (address 0 stays NULL), and the
   *  current end of memory in a memory passed in. A heap already set up at that base in the same
   *  memory (by another instance) is attached to, not reset. With `shared`, memory is grown (from
   *  JS) until it reaches 8 KiB past the base if it does not already: the threads build needs the
   *  header page in place before its first instance starts. */
  heapBase?: number;
  /** A heap for many threads: a shared WebAssembly.Memory (created, or `memory` must be shared)
   *  run by the threads build (build/asmalloc.mt.wasm; inspector build/asmalloc.inspect.mt.wasm).
   *  Hand it to Workers with heap.share() and attachHeap(). Not with `debug` (there is no debug
   *  threads build). The host must allow shared memory (browsers: a cross-origin isolated page). */
  shared?: boolean;
  /** Threads build: whether this instance may block in memory.atomic.wait32 when the heap's lock
   *  is contended. Default: false on a browser's main thread (which may not wait; the instance
   *  then spins), true elsewhere (workers, Node). Ignored by single-threaded heaps. */
  blocking?: boolean;
  /** Load the debug build by default (checks every free, poisons freed blocks, reports misuse
   *  through onReport). Only chooses the default `wasm`. */
  debug?: boolean;
  /** Called by the debug build on misuse, before the call returns its failure. Must not throw:
   *  an exception is caught and logged, because unwinding through the allocator would leave its
   *  state half-updated. */
  onReport?: (report: HeapReport) => void;
}

/** Allocator failures and pointers the heap refuses. */
export class HeapError extends Error {
  /** The allocator's Status name, e.g. "OUT_OF_MEMORY", "FOREIGN", "DOUBLE_FREE". */
  readonly code: StatusName | `UNKNOWN_${number}`;
  /** The allocator's Status number (see `Status`). */
  readonly status: number;
  /** The pointer the call was given (0 for allocations). */
  readonly ptr: number;
  /** The heap method that failed, e.g. "free". */
  readonly op: string;

  constructor(op: string, status: number, ptr = 0, detail = "") {
    const code = statusName(status);
    super(`asmalloc ${op}: ${code}${ptr ? ` (ptr ${ptr} = 0x${ptr.toString(16)})` : ""}${detail ? `: ${detail}` : ""}`);
    this.name = "HeapError";
    this.code = code;
    this.status = status;
    this.ptr = ptr;
    this.op = op;
  }
}

/** What a Worker needs to attach to a shared heap: post it (it is structured-clonable: a shared
 *  Memory, a number and compiled modules) and pass it to attachHeap() in the worker. */
export interface SharedHeapHandle {
  /** the shared memory the heap lives in */
  memory: WebAssembly.Memory;
  /** the heap's base address (Heap.base), which every instance passes to init() */
  heapBase: number;
  /** the threads allocator module (build/asmalloc.mt.wasm), so the worker need not fetch it */
  module?: WebAssembly.Module;
  /** the threads inspector module (build/asmalloc.inspect.mt.wasm), if the heap has one */
  inspector?: WebAssembly.Module;
}

/** Options of attachHeap and attachHeapSync. */
export interface AttachOptions {
  /** The threads allocator module; default the handle's `module`, else (attachHeap only)
   *  build/asmalloc.mt.wasm by URL (in Node, the `asmalloc/node` entry reads the file). */
  wasm?: WasmSource;
  /** The threads inspector module; default the handle's `inspector`, else (attachHeap only)
   *  build/asmalloc.inspect.mt.wasm by URL. `false`: none. Binding one takes 8 KiB of heap
   *  metadata for good, so threads that never call stats()/check() may pass false. */
  inspector?: WasmSource | false;
  /** As HeapOptions.blocking: default false on a browser's main thread, true elsewhere. */
  blocking?: boolean;
}

/** attachHeapSync's options: modules compiled or as bytes (or taken from the handle). */
export type SyncAttachOptions = Omit<AttachOptions, "wasm" | "inspector"> & {
  wasm?: WebAssembly.Module | BufferSource;
  inspector?: WebAssembly.Module | BufferSource | false;
};

/** A heap in WebAssembly linear memory. A single-threaded heap (the default) belongs to one
 *  thread; two heaps on one memory need different heapBases. A shared heap (`shared: true`) is
 *  one heap used by many threads, each through its own Heap (createHeap in one thread,
 *  attachHeap in the others); every method of every thread's Heap may run concurrently. */
export interface Heap {
  /** The linear memory the heap lives in. Its buffer changes when the heap grows it. */
  readonly memory: WebAssembly.Memory;
  /** The raw C ABI (no argument checks, 0 on failure). */
  readonly exports: AsmallocExports;
  /** The instance running the allocator. */
  readonly instance: WebAssembly.Instance;
  /** Address of the heap's first byte (its header page); the heap never touches memory below. */
  readonly base: number;
  /** Whether the debug build was requested (HeapOptions.debug). */
  readonly debug: boolean;
  /** Whether this is a shared heap (threads build on a shared memory). */
  readonly shared: boolean;

  /** A structured-clonable handle for attachHeap() in a Worker (memory, base and the compiled
   *  modules). Throws TypeError for a single-threaded heap. */
  share(): SharedHeapHandle;
  /** Hands this thread's cached free objects back to the heap. Shared heaps: call it when the
   *  thread is done with the heap (before a worker ends, or its cache is lost to the others
   *  until another instance starts); the Heap stays usable and re-attaches on its next call.
   *  Single-threaded heaps: a trim (the cache is emptied into the central lists). */
  threadExit(): void;

  /** A block of at least `size` bytes (0 gives a unique minimum block), 16-byte aligned if
   *  size >= 16, else 8. Contents unspecified. Throws HeapError OUT_OF_MEMORY (or SIZE_OVERFLOW
   *  near 4 GiB), RangeError for an invalid size. */
  malloc(size: number): number;
  /** A zeroed block of count*size bytes. Throws RangeError if either argument is invalid or the
   *  product is 4 GiB or more, HeapError OUT_OF_MEMORY when memory is exhausted. */
  calloc(count: number, size: number): number;
  /** Resizes block `ptr` to `size` bytes, keeping the first min(old, new) bytes; returns the
   *  (possibly moved) block. ptr 0 allocates; size 0 frees `ptr` and returns 0. A size in the
   *  block's size class returns ptr itself. Throws HeapError for a pointer the heap does not own
   *  (nothing changes), or OUT_OF_MEMORY (the old block is still valid and unchanged). */
  realloc(ptr: number, size: number): number;
  /** A block of `size` bytes aligned to `align` (a power of two, up to 2 GiB). Throws RangeError
   *  for other alignments, HeapError OUT_OF_MEMORY when memory is exhausted. Free with free(). */
  alignedAlloc(align: number, size: number): number;
  /** Frees block `ptr`; free(0) does nothing. Throws HeapError FOREIGN, INTERIOR, FREE_PAGES or
   *  DOUBLE_FREE (as far as the build detects it) for a pointer that is not a live block, and
   *  then changes nothing. */
  free(ptr: number): void;
  /** Bytes usable in block `ptr` (>= the size asked for); 0 for ptr 0. Throws HeapError for a
   *  pointer that is not a live block. */
  usableSize(ptr: number): number;
  /** A snapshot of the heap's counters and byte totals (needs the inspector module). Shared
   *  heaps: the whole heap's (every thread's cache included); while other threads run, the
   *  split of their objects between inUseBytes and cacheBytes is approximate. */
  stats(): HeapStats;
  /** Verifies every invariant of every tier (a walk of the whole heap: O(heap size)); throws
   *  HeapCorruptionError if one is broken. Needs the inspector module. Shared heaps: only while
   *  no other thread uses the heap (e.g. after the workers called threadExit): the check walks
   *  every thread's cache, which its thread changes without the heap's lock, so a check racing
   *  other threads can report CACHE corruption that is not there, or not terminate. */
  check(): void;
  /** Per size class: objects in use, cached, free in spans, and spans (needs the inspector). */
  classProfile(): ClassProfileRow[];
  /** The heap's pages from its first span to its end, run by run (needs the inspector). */
  heapMap(): HeapMapEntry[];
  /** The inspector's raw exports, or null if the heap was made without it. */
  readonly inspector: InspectorExports | null;

  /** A fresh Uint8Array over [ptr, ptr+length). Like every view of memory.buffer it is detached
   *  when memory grows (any allocation may grow it): take a new one after allocating. */
  bytes(ptr: number, length: number): Uint8Array;
  /** Copies `data` into memory at ptr. */
  write(ptr: number, data: ArrayLike<number> | ArrayBufferView): void;
  /** Copies `length` bytes at ptr out of memory. */
  read(ptr: number, length: number): Uint8Array;
  /** A view of all of memory, re-created when memory.buffer has changed (after growth).
   *  Read the property again after any allocation rather than keeping the view. */
  readonly u8: Uint8Array;
  /** As `u8`, for 32-bit unsigned words (index = address / 4). */
  readonly u32: Uint32Array;
  /** As `u8`, for 32-bit signed words (index = address / 4). */
  readonly i32: Int32Array;
  /** As `u8`, for 64-bit floats (index = address / 8). */
  readonly f64: Float64Array;
  /** As `u8`, a DataView of all of memory (little-endian accessors). */
  readonly view: DataView;
}

// ---- argument checks -------------------------------------------------------------------------

function bad(what: string, value: unknown, rule: string): never {
  if (typeof value !== "number") throw new TypeError(`asmalloc: ${what} must be a number, got ${typeof value}`);
  throw new RangeError(`asmalloc: ${what} must be ${rule}, got ${value}`);
}

/** An integer in [0, 2^32): a size, count or pointer. (x >>> 0 === x rejects NaN, fractions,
 *  negatives, >= 2^32 and non-numbers in one comparison.) */
function u32(what: string, x: number): number {
  if ((x >>> 0) !== x) bad(what, x, "an integer in [0, 2^32)");
  return x;
}

function alignment(x: number): number {
  if ((x >>> 0) !== x || x === 0 || (x & (x - 1)) !== 0) bad("alignment", x, "a power of two below 2^32");
  return x;
}

function pages(what: string, x: number | undefined, dflt: number | undefined): number | undefined {
  if (x === undefined) return dflt;
  if (!Number.isInteger(x) || x < 0 || x > MAX_WASM_PAGES) bad(what, x, `an integer number of 64 KiB pages in [0, ${MAX_WASM_PAGES}]`);
  return x;
}

// ---- loading -----------------------------------------------------------------------------------

function isBufferSource(x: unknown): x is BufferSource {
  return x instanceof ArrayBuffer || ArrayBuffer.isView(x) ||
    (typeof SharedArrayBuffer !== "undefined" && x instanceof SharedArrayBuffer);
}

function isResponse(x: unknown): x is Response {
  return typeof Response !== "undefined" && x instanceof Response;
}

/** The default module URL: build/asmalloc[.debug|.inspect|.mt|.inspect.mt].wasm of this package
 *  (this file is dist/src/index.js). */
export function defaultWasmUrl(variant: WasmVariant = "release"): URL {
  return new URL(`../../build/asmalloc${variant === "release" ? "" : "." + variant}.wasm`, import.meta.url);
}

/** Compiles the allocator from any WasmSource (fetching URLs, streaming where possible). */
export async function compileAllocator(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (isBufferSource(source)) return WebAssembly.compile(source);
  let response: Response;
  if (source instanceof URL || typeof source === "string") {
    const url = source instanceof URL ? source : new URL(source, (globalThis as { location?: { href: string } }).location?.href);
    if (url.protocol === "file:") {
      throw new TypeError(`asmalloc: cannot fetch ${url.href}; in Node import from "asmalloc/node", or pass the module's bytes as options.wasm`);
    }
    response = await fetch(url);
  } else {
    response = await source;
  }
  if (!isResponse(response)) throw new TypeError("asmalloc: options.wasm must be a WebAssembly.Module, bytes, a URL or a Response");
  if (!response.ok) throw new Error(`asmalloc: fetching the allocator failed: ${response.status} ${response.statusText} (${response.url})`);
  if (typeof WebAssembly.compileStreaming === "function" &&
      response.headers.get("Content-Type")?.startsWith("application/wasm")) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

/** Creates a heap, compiling or fetching the allocator as needed. Rejects with HeapError
 *  INIT_FAILED if the heap cannot be set up (memory cannot hold its first page and metadata),
 *  RangeError/TypeError for invalid options. */
export async function createHeap(options: HeapOptions = {}): Promise<Heap> {
  if (options.shared && options.debug) throw new TypeError(NO_DEBUG_MT);
  const [wasm, inspector] = await Promise.all([
    compileAllocator(options.wasm ?? defaultWasmUrl(options.shared ? "mt" : options.debug ? "debug" : "release")),
    options.inspector === false ? false as const : compileAllocator(options.inspector ?? defaultWasmUrl(options.shared ? "inspect.mt" : "inspect")),
  ]);
  return createHeapSync({ ...options, wasm, inspector });
}

/** Creates a heap synchronously from a compiled module or its bytes (browsers may refuse to
 *  compile large modules synchronously on the main thread; prefer createHeap there). Throws like
 *  createHeap. */
export function createHeapSync(options: SyncHeapOptions): Heap {
  const module = moduleSync(options.wasm, "wasm");
  const inspectorModule = options.inspector ? moduleSync(options.inspector, "inspector") : null;
  if (options.shared) return createSharedHeap(options, module, inspectorModule);

  let memory = options.memory;
  let heapBase = options.heapBase;
  if (heapBase !== undefined) u32("heapBase", heapBase);
  if (memory) {
    if (!(memory instanceof WebAssembly.Memory)) throw new TypeError("asmalloc: options.memory must be a WebAssembly.Memory");
    if (options.initialMemory !== undefined || options.maximumMemory !== undefined) {
      throw new TypeError("asmalloc: initialMemory/maximumMemory describe a memory createHeap creates; not with options.memory");
    }
    heapBase ??= 0;
  } else {
    const initial = pages("initialMemory", options.initialMemory, 1)!;
    const maximum = pages("maximumMemory", options.maximumMemory, undefined);
    if (maximum !== undefined && maximum < initial) throw new RangeError(`asmalloc: maximumMemory (${maximum}) < initialMemory (${initial})`);
    memory = new WebAssembly.Memory(maximum === undefined ? { initial } : { initial, maximum });
    heapBase ??= PAGE_SIZE;
  }

  const report = reporter(options.onReport);
  // The debug build imports env.report; the release build ignores it (extra imports are allowed).
  const instance = new WebAssembly.Instance(module, { env: { memory, report } });
  const exports = instance.exports as unknown as AsmallocExports;

  // the address init picks: heapBase (or the end of memory for 0) rounded up to a page, never page 0
  const base = Math.max(PAGE_SIZE, roundUp(heapBase === 0 ? memory.buffer.byteLength : heapBase));
  if (!exports.init(heapBase)) {
    exports.last_error();
    throw new HeapError("createHeap", Status.INIT_FAILED, 0, `cannot set the heap up at ${base} in a memory of ${memory.buffer.byteLength} bytes`);
  }
  // The inspector is bound now, not on first use: binding takes 8 KiB of heap metadata, which
  // may be impossible later, when the heap is out of memory and stats() matter most.
  const inspector = inspectorModule
    ? new WebAssembly.Instance(inspectorModule, { env: { memory, report } }).exports as unknown as InspectorExports
    : null;
  if (inspector && !inspector.bind(base)) {
    throw new HeapError("createHeap", Status.INIT_FAILED, 0, "the inspector could not bind to the heap (no memory for its 8 KiB)");
  }
  return new HeapImpl(memory, exports, instance, inspector, base, options.debug ?? false, null);
}

const NO_DEBUG_MT = "asmalloc: there is no debug build for shared heaps; use shared or debug, not both";

/** The env.report import: calls onReport, never lets it throw into the allocator. */
function reporter(onReport: ((report: HeapReport) => void) | undefined) {
  return (status: number, ptr: number, info: number): void => {
    const code = statusName(status), op = REPORT_OPS[(info >>> 16) & 7] ?? "unknown", sizeClass = info & 0xFFFF;
    const message = `asmalloc debug: ${REPORT_WHAT[code] ?? code} (${code}) in ${op}, ptr ${ptr >>> 0} (0x${(ptr >>> 0).toString(16)})` +
      (sizeClass ? `, size class ${sizeClass}` : "");
    if (!onReport) { console.error(message); return; }
    try {
      onReport({ code, status, ptr: ptr >>> 0, op, sizeClass, info: info >>> 0, message });
    } catch (e) {
      console.error("asmalloc: onReport threw (ignored):", e);
    }
  };
}

/** True on a browser's main thread, where Atomics.wait / memory.atomic.wait32 is not allowed. */
export function isBrowserMainThread(): boolean {
  return typeof window !== "undefined" && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === "undefined";
}

function isSharedMemory(memory: unknown): memory is WebAssembly.Memory {
  return memory instanceof WebAssembly.Memory && typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
}

/** createHeapSync({ shared: true }): a shared memory, its heap built by the first instance. */
function createSharedHeap(options: SyncHeapOptions, module: WebAssembly.Module, inspectorModule: WebAssembly.Module | null): Heap {
  if (options.debug) throw new TypeError(NO_DEBUG_MT);
  if (typeof SharedArrayBuffer === "undefined") {
    throw new TypeError("asmalloc: shared heaps need SharedArrayBuffer (in a browser: a cross-origin isolated page)");
  }
  let memory = options.memory;
  let heapBase = options.heapBase;
  if (heapBase !== undefined) u32("heapBase", heapBase);
  if (memory) {
    if (!isSharedMemory(memory)) throw new TypeError("asmalloc: a shared heap needs options.memory to be a shared WebAssembly.Memory");
    if (options.initialMemory !== undefined || options.maximumMemory !== undefined) {
      throw new TypeError("asmalloc: initialMemory/maximumMemory describe a memory createHeap creates; not with options.memory");
    }
    heapBase ??= memory.buffer.byteLength;
  } else {
    const initial = pages("initialMemory", options.initialMemory, 1)!;
    const maximum = pages("maximumMemory", options.maximumMemory, MAX_WASM_PAGES)!;
    if (maximum < initial) throw new RangeError(`asmalloc: maximumMemory (${maximum}) < initialMemory (${initial})`);
    memory = new WebAssembly.Memory({ initial, maximum, shared: true });
    heapBase ??= PAGE_SIZE;
  }
  const base = Math.max(PAGE_SIZE, roundUp(heapBase));
  // the threads build does not grow memory in init: the header page must be there already
  const need = base + PAGE_SIZE - memory.buffer.byteLength;
  if (need > 0) {
    try {
      memory.grow(Math.ceil(need / WASM_PAGE_SIZE));
    } catch {
      throw new HeapError("createHeap", Status.INIT_FAILED, 0, `cannot grow memory to hold the heap's header at ${base}`);
    }
  }
  return attachAt(memory, base, module, inspectorModule, options.blocking, "createHeap");
}

/** Instantiates the threads build on `memory` and sets up or attaches to the heap at `base`. */
function attachAt(memory: WebAssembly.Memory, base: number, module: WebAssembly.Module,
  inspectorModule: WebAssembly.Module | null, blocking: boolean | undefined, op: string): Heap {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const exports = instance.exports as unknown as AsmallocExports;
  if (typeof exports.set_blocking !== "function" || typeof exports.thread_exit !== "function") {
    throw new TypeError("asmalloc: the allocator module lacks set_blocking/thread_exit; a shared heap needs build/asmalloc.mt.wasm");
  }
  exports.set_blocking((blocking ?? !isBrowserMainThread()) ? 1 : 0);
  if (!exports.init(base)) {
    exports.last_error();
    throw new HeapError(op, Status.INIT_FAILED, 0, `cannot set up or attach to a heap at ${base} in a shared memory of ${memory.buffer.byteLength} bytes`);
  }
  const inspector = inspectorModule
    ? new WebAssembly.Instance(inspectorModule, { env: { memory } }).exports as unknown as InspectorExports
    : null;
  if (inspector && !inspector.bind(base)) {
    exports.thread_exit();
    throw new HeapError(op, Status.INIT_FAILED, 0, "the inspector could not bind to the heap (no memory for its 8 KiB)");
  }
  return new HeapImpl(memory, exports, instance, inspector, base, false, { module, inspector: inspectorModule ?? undefined });
}

function checkHandle(handle: SharedHeapHandle): void {
  if (!handle || typeof handle !== "object") throw new TypeError("asmalloc: attachHeap needs the handle heap.share() returned");
  if (!isSharedMemory(handle.memory)) throw new TypeError("asmalloc: handle.memory must be a shared WebAssembly.Memory");
  u32("handle.heapBase", handle.heapBase);
}

/** In a Worker: attaches to the shared heap another thread created (createHeap({ shared: true }))
 *  and posted with heap.share(). Instantiates the threads build on the handle's memory (the
 *  instance gets its own cache; the heap's state is shared) and returns the usual Heap API. Call
 *  heap.threadExit() before the worker ends. Rejects with HeapError INIT_FAILED if the instance
 *  cannot start (if no heap is at handle.heapBase yet, this instance sets one up there). */
export async function attachHeap(handle: SharedHeapHandle, options: AttachOptions = {}): Promise<Heap> {
  checkHandle(handle);
  const [wasm, inspector] = await Promise.all([
    compileAllocator(options.wasm ?? handle.module ?? defaultWasmUrl("mt")),
    options.inspector === false ? false as const : compileAllocator(options.inspector ?? handle.inspector ?? defaultWasmUrl("inspect.mt")),
  ]);
  return attachHeapSync(handle, { ...options, wasm, inspector });
}

/** Synchronous attachHeap: the modules come from options (compiled or bytes) or the handle; no
 *  inspector if neither has one. Throws like attachHeap. */
export function attachHeapSync(handle: SharedHeapHandle, options: SyncAttachOptions = {}): Heap {
  checkHandle(handle);
  const wasm = options.wasm ?? handle.module;
  if (wasm === undefined) throw new TypeError("asmalloc: attachHeapSync needs options.wasm or handle.module");
  const module = moduleSync(wasm, "wasm");
  const insp = options.inspector === false ? null : options.inspector ?? handle.inspector ?? null;
  const inspectorModule = insp ? moduleSync(insp, "inspector") : null;
  return attachAt(handle.memory, Math.max(PAGE_SIZE, roundUp(handle.heapBase)), module, inspectorModule, options.blocking, "attachHeap");
}

function moduleSync(source: unknown, what: string): WebAssembly.Module {
  if (source instanceof WebAssembly.Module) return source;
  if (isBufferSource(source)) return new WebAssembly.Module(source);
  throw new TypeError(`asmalloc: createHeapSync needs options.${what} as a WebAssembly.Module or its bytes`);
}

function roundUp(x: number): number {
  return Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
}

// ---- the heap ----------------------------------------------------------------------------------

class HeapImpl implements Heap {
  private buffer: ArrayBuffer | SharedArrayBuffer | null = null;
  private u8View: Uint8Array | null = null;
  private u32View: Uint32Array | null = null;
  private i32View: Int32Array | null = null;
  private f64View: Float64Array | null = null;
  private dataView: DataView | null = null;
  private readonly statsValues = new Float64Array(STATS_FIELDS.length);

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly exports: AsmallocExports,
    readonly instance: WebAssembly.Instance,
    readonly inspector: InspectorExports | null,
    readonly base: number,
    readonly debug: boolean,
    /** shared heaps: the modules share() hands out; null for single-threaded heaps */
    private readonly modules: { module: WebAssembly.Module; inspector?: WebAssembly.Module } | null,
  ) {}

  get shared(): boolean { return this.modules !== null; }

  share(): SharedHeapHandle {
    if (!this.modules) throw new TypeError("asmalloc: share() needs a shared heap (createHeap({ shared: true }))");
    const h: SharedHeapHandle = { memory: this.memory, heapBase: this.base, module: this.modules.module };
    if (this.modules.inspector) h.inspector = this.modules.inspector;
    return h;
  }

  threadExit(): void {
    this.exports.thread_exit();
  }

  /** The inspector (bound to this heap at creation). */
  private inspect(op: string): InspectorExports {
    if (!this.inspector) throw new Error(`asmalloc ${op}: this heap was created without the inspector module`);
    return this.inspector;
  }

  /** Throws the HeapError for the allocator's last failure. */
  private failed(op: string, ptr: number): never {
    const status = this.exports.last_error();
    throw new HeapError(op, status || Status.OUT_OF_MEMORY, ptr);
  }

  malloc(size: number): number {
    const p = this.exports.malloc(u32("size", size));
    if (p === 0) this.failed("malloc", 0);
    return p >>> 0;
  }

  calloc(count: number, size: number): number {
    u32("count", count);
    u32("size", size);
    if (count * size > MAX_U32) throw new RangeError(`asmalloc: calloc(${count}, ${size}) is 4 GiB or more`);
    const p = this.exports.calloc(count, size);
    if (p === 0) this.failed("calloc", 0);
    return p >>> 0;
  }

  realloc(ptr: number, size: number): number {
    u32("ptr", ptr);
    u32("size", size);
    if (size === 0) {   // C: frees and returns 0 (done as a checked free, so misuse throws)
      if (ptr !== 0) this.free(ptr);
      return 0;
    }
    const q = this.exports.realloc(ptr, size);
    if (q === 0) this.failed("realloc", ptr);
    return q >>> 0;
  }

  alignedAlloc(align: number, size: number): number {
    const p = this.exports.aligned_alloc(alignment(align), u32("size", size));
    if (p === 0) this.failed("alignedAlloc", 0);
    return p >>> 0;
  }

  free(ptr: number): void {
    if (u32("ptr", ptr) === 0) return;
    const status = this.exports.free_checked(ptr);
    if (status !== 0) {
      this.exports.last_error();   // already known; clear it
      throw new HeapError("free", status, ptr);
    }
  }

  usableSize(ptr: number): number {
    if (u32("ptr", ptr) === 0) return 0;
    const n = this.exports.malloc_usable_size(ptr);
    if (n === 0) this.failed("usableSize", ptr);
    return n >>> 0;
  }

  stats(): HeapStats {
    const at = this.inspect("stats").stats() >>> 0;
    const view = this.view;   // the record need not be 8-aligned: read through a DataView
    for (let i = 0; i < this.statsValues.length; i++) this.statsValues[i] = view.getFloat64(at + 8 * i, true);
    return decodeStats(this.statsValues);
  }

  check(): void {
    const x = this.inspect("check");
    const broken = x.check();
    if (broken !== 0) throw new HeapCorruptionError(broken, x.check_where() >>> 0);
  }

  classProfile(): ClassProfileRow[] {
    const at = this.inspect("classProfile").class_profile() >>> 0;
    const view = this.view, rows: ClassProfileRow[] = [];
    for (let cls = 1; cls < CLASS_COUNT; cls++) {
      const r = at + cls * 24, w = (i: number): number => view.getUint32(r + 4 * i, true);
      rows.push({ cls, size: w(0), spans: w(1), inUse: w(2), cached: w(3), free: w(4), spanPages: w(5) });
    }
    return rows;
  }

  heapMap(): HeapMapEntry[] {
    const x = this.inspect("heapMap");
    const max = x.HEAP_MAP_MAX.value as number, out: HeapMapEntry[] = [];
    for (let from = 0; ;) {
      const n = x.heap_map(from), at = x.heap_map_at() >>> 0, view = this.view;
      for (let i = 0; i < n; i++) {
        const e = at + 16 * i, code = view.getUint32(e + 8, true);
        const kind = MAP_KINDS[code];
        if (!kind) throw new Error(`asmalloc heapMap: unknown entry kind ${code}`);
        out.push({ start: view.getUint32(e, true), pages: view.getUint32(e + 4, true), kind, cls: view.getUint32(e + 12, true) });
      }
      if (n < max) return out;
      const last = out[out.length - 1];
      from = last.start + last.pages * PAGE_SIZE;
    }
  }

  bytes(ptr: number, length: number): Uint8Array {
    u32("ptr", ptr);
    u32("length", length);
    if (ptr + length > this.memory.buffer.byteLength) {
      throw new RangeError(`asmalloc: [${ptr}, ${ptr + length}) is outside memory (${this.memory.buffer.byteLength} bytes)`);
    }
    return new Uint8Array(this.memory.buffer, ptr, length);
  }

  write(ptr: number, data: ArrayLike<number> | ArrayBufferView): void {
    const src = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data;
    this.bytes(ptr, src.length).set(src);
  }

  read(ptr: number, length: number): Uint8Array {
    return this.bytes(ptr, length).slice();
  }

  /** Drops the cached views if memory.buffer is not the one they were made on. */
  private current(): ArrayBuffer | SharedArrayBuffer {
    const b = this.memory.buffer;
    if (b !== this.buffer) {
      this.buffer = b;
      this.u8View = this.u32View = this.i32View = this.f64View = this.dataView = null;
    }
    return b;
  }
  get u8(): Uint8Array { const b = this.current(); return this.u8View ??= new Uint8Array(b); }
  get u32(): Uint32Array { const b = this.current(); return this.u32View ??= new Uint32Array(b); }
  get i32(): Int32Array { const b = this.current(); return this.i32View ??= new Int32Array(b); }
  get f64(): Float64Array { const b = this.current(); return this.f64View ??= new Float64Array(b); }
  get view(): DataView { const b = this.current(); return this.dataView ??= new DataView(b); }
}
