// Host helper: runs a program (C via interop/c/asmalloc_shim.c, or AssemblyScript via the
// interop/as runtime) on an asmalloc instance that shares the program's linear memory.
// interop/README.md has the user's steps; this file is browser-safe except runWasiWithHeap and
// loadAsmallocModule, which import node: modules on demand.
//
// Two ways to link, chosen by what the program does with its memory:
//   1. The program imports its memory (wasm-ld --import-memory, asc --importMemory) — the fast way.
//      The host makes the Memory, instantiates asmalloc over it first, and gives the program
//      asmalloc's exported functions themselves as its "asmalloc" imports: every malloc is a
//      direct wasm-to-wasm call (about the cost of a local call, shared/FACTS.md).
//   2. The program exports its memory (wasm-ld's default). asmalloc can only be instantiated
//      after the program, so the program's "asmalloc" imports are JS functions that forward to
//      the instance made right after: it works, but each call crosses into JS and back.
// Either way the host then calls asmalloc.init(heap base): the program's __asmalloc_heap_base()
// export (the C shim), else an exported __heap_base global, else 0 (asmalloc then starts at the
// end of memory). asmalloc's heap must start at or above the program's static data and stack.

/** What an asmalloc instance exports (assembly/index.ts). */
export interface AsmallocExports {
  init(heapBase: number): number;
  malloc(size: number): number;
  free(p: number): void;
  realloc(p: number, size: number): number;
  calloc(n: number, size: number): number;
  aligned_alloc(align: number, size: number): number;
  posix_memalign(memptr: number, align: number, size: number): number;
  malloc_usable_size(p: number): number;
  free_checked(p: number): number;
  last_error(): number;
}

export interface HeapOptions {
  /** The compiled allocator (build/asmalloc.wasm or build/asmalloc.debug.wasm). Required in a
   *  browser; under Node, build/asmalloc.wasm is loaded when it is left out. */
  asmalloc?: WebAssembly.Module;
  /** Use this memory for a program that imports one (else one is made to fit the program). */
  memory?: WebAssembly.Memory;
  /** env.report for the debug build: called on each misuse it detects (code, ptr, info). */
  report?: (code: number, ptr: number, info: number) => void;
  /** Heap base to pass to asmalloc.init instead of the one the program exports. */
  heapBase?: number;
}

export interface ProgramWithHeap {
  /** The program's instance. Its exports do not include the memory when the program imports it. */
  instance: WebAssembly.Instance;
  /** The asmalloc instance's exports. */
  heap: AsmallocExports;
  memory: WebAssembly.Memory;
  /** Where asmalloc's heap starts (before rounding up to its 8 KiB page). */
  heapBase: number;
  /** "imported": direct wasm-to-wasm calls; "exported": calls forwarded through JS. */
  linkage: "imported" | "exported";
}

const ASMALLOC_FUNCTIONS = ["init", "malloc", "free", "realloc", "calloc", "aligned_alloc",
  "posix_memalign", "malloc_usable_size", "free_checked", "last_error"] as const;

/** Instantiates `program` with `imports` plus an "asmalloc" import module bound to a new asmalloc
 *  instance over the program's memory, then sets the heap up above the program's static data.
 *  Nothing of the program has run yet (except a wasm start function): call its _start or
 *  _initialize next (or use runWasiWithHeap). `program` may be bytes: then a memory import is
 *  sized exactly from the module's import section. Throws if instantiation fails or the heap
 *  cannot be set up. */
export async function instantiateWithHeap(program: WebAssembly.Module | BufferSource,
    imports: WebAssembly.Imports = {}, options: HeapOptions = {}): Promise<ProgramWithHeap> {
  const bytes = program instanceof WebAssembly.Module ? null : program;
  const module = bytes ? await WebAssembly.compile(bytes) : program as WebAssembly.Module;
  const asmallocModule = options.asmalloc ?? await loadAsmallocModule();
  const needsReport = WebAssembly.Module.imports(asmallocModule).some((i) => i.name === "report");
  const report = options.report ?? ((code: number, ptr: number, info: number) => {
    throw new Error(`asmalloc: misuse ${code} at ${ptr} (${info})`);
  });
  const heapImports = (memory: WebAssembly.Memory): WebAssembly.Imports =>
    ({ env: needsReport ? { memory, report } : { memory } });

  const memImport = WebAssembly.Module.imports(module).find((i) => i.kind === "memory");
  if (memImport) {
    const given = imports[memImport.module]?.[memImport.name];
    let memory = options.memory ?? (given instanceof WebAssembly.Memory ? given : null);
    let pages = bytes ? memoryImportLimits(bytes)?.initial ?? 1 : 1;
    for (;;) {
      memory ??= new WebAssembly.Memory({ initial: pages });
      const heapInstance = await WebAssembly.instantiate(asmallocModule, heapImports(memory));
      const heap = heapInstance.exports as unknown as AsmallocExports;
      const linked = withModule(withModule(imports, "asmalloc", bindable(heapInstance.exports)),
        memImport.module, { [memImport.name]: memory });
      let instance: WebAssembly.Instance;
      try {
        instance = await WebAssembly.instantiate(module, linked);
      } catch (e) {
        // a Module gives no memory limits: grow the guess until the import accepts it
        if (!(e instanceof WebAssembly.LinkError) || options.memory || bytes || pages >= 32768) throw e;
        pages *= 2;
        memory = null;
        continue;
      }
      return finish(instance, heap, memory, "imported", options);
    }
  }

  // the program owns its memory: forward through JS to an instance made after it
  let heap: AsmallocExports | null = null;
  const forward: Record<string, unknown> = {};
  for (const name of ASMALLOC_FUNCTIONS) {
    forward[name] = (...args: number[]) => {
      if (!heap) throw new Error(`asmalloc.${name} called before the program's memory exists`);
      return (heap[name] as (...a: number[]) => number)(...args);
    };
  }
  const instance = await WebAssembly.instantiate(module, withModule(imports, "asmalloc", forward));
  const memory = instance.exports.memory;
  if (!(memory instanceof WebAssembly.Memory)) throw new Error("the program neither imports nor exports a memory");
  heap = (await WebAssembly.instantiate(asmallocModule, heapImports(memory))).exports as unknown as AsmallocExports;
  return finish(instance, heap, memory, "exported", options);
}

function finish(instance: WebAssembly.Instance, heap: AsmallocExports, memory: WebAssembly.Memory,
    linkage: "imported" | "exported", options: HeapOptions): ProgramWithHeap {
  const x = instance.exports;
  const heapBase = options.heapBase ??
    (typeof x.__asmalloc_heap_base === "function" ? (x.__asmalloc_heap_base as () => number)() >>> 0
      : x.__heap_base instanceof WebAssembly.Global ? (x.__heap_base.value as number) >>> 0 : 0);
  if (!heap.init(heapBase)) throw new Error(`asmalloc.init(${heapBase}) failed: memory cannot hold the heap`);
  return { instance, heap, memory, heapBase, linkage };
}

/** asmalloc's exports, with a throwing stand-in for any function this build lacks (so a program
 *  that imports every function of asmalloc.h still links). */
function bindable(exports: WebAssembly.Exports): Record<string, unknown> {
  const out: Record<string, unknown> = { ...exports };
  for (const name of ASMALLOC_FUNCTIONS) {
    out[name] ??= () => { throw new Error(`this asmalloc build does not export ${name}`); };
  }
  return out;
}

function withModule(imports: WebAssembly.Imports, name: string, add: Record<string, unknown>): WebAssembly.Imports {
  return { ...imports, [name]: { ...(imports[name] ?? {}), ...add } as WebAssembly.ModuleImports };
}

/** The limits of a module's imported memory, read from its import section; null if none. */
export function memoryImportLimits(source: BufferSource): { initial: number; maximum?: number; shared: boolean } | null {
  const b = source instanceof ArrayBuffer ? new Uint8Array(source)
    : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  let pos = 8;
  const u32 = () => {
    let r = 0, shift = 0, byte: number;
    do { byte = b[pos++]; r |= (byte & 0x7f) << shift; shift += 7; } while (byte & 0x80);
    return r >>> 0;
  };
  const skipName = () => { const n = u32(); pos += n; };
  const limits = () => {
    const flags = b[pos++];
    const initial = u32();
    const maximum = flags & 1 ? u32() : undefined;
    return { initial, maximum, shared: (flags & 2) !== 0 };
  };
  while (pos < b.length) {
    const id = b[pos++];
    const size = u32();
    const end = pos + size;
    if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        skipName(); skipName();
        const kind = b[pos++];
        if (kind === 0) u32();                         // function: type index
        else if (kind === 1) { pos++; limits(); }      // table: reftype, limits
        else if (kind === 2) return limits();          // memory
        else if (kind === 3) pos += 2;                 // global: valtype, mutability
        else if (kind === 4) { pos++; u32(); }         // tag
      }
      return null;
    }
    pos = end;
  }
  return null;
}

/** Node only: build/asmalloc.wasm (or `file`) compiled. */
export async function loadAsmallocModule(file?: string): Promise<WebAssembly.Module> {
  const { readFile } = await import("node:fs/promises");
  const { existsSync } = await import("node:fs");
  // from src/interop.ts or dist/src/interop.js
  const url = file ?? [new URL("../build/asmalloc.wasm", import.meta.url), new URL("../../build/asmalloc.wasm", import.meta.url)]
    .find((u) => existsSync(u));
  if (!url) throw new Error("build/asmalloc.wasm not found: run npm run build");
  return WebAssembly.compile(await readFile(url));
}

export interface WasiRunOptions extends HeapOptions {
  args?: string[];
  env?: Record<string, string>;
  preopens?: Record<string, string>;
  /** File descriptors for the program's standard streams (default: the process's). */
  stdin?: number;
  stdout?: number;
  stderr?: number;
  /** Extra imports besides wasi_snapshot_preview1. */
  imports?: WebAssembly.Imports;
}

/** Node only: runs a wasm32-wasi command (exports _start) on asmalloc with node:wasi. Returns the
 *  exit code, the heap and the memory (read memory.buffer.byteLength for the peak size: linear
 *  memory never shrinks). */
export async function runWasiWithHeap(program: WebAssembly.Module | BufferSource, options: WasiRunOptions = {}):
    Promise<ProgramWithHeap & { exitCode: number }> {
  const { WASI } = await import("node:wasi");
  const wasi = new WASI({ version: "preview1", args: options.args ?? ["program"], env: options.env ?? {},
    preopens: options.preopens ?? {}, returnOnExit: true,
    stdin: options.stdin, stdout: options.stdout, stderr: options.stderr });
  const linked = await instantiateWithHeap(program,
    { ...(options.imports ?? {}), wasi_snapshot_preview1: wasi.wasiImport as WebAssembly.ModuleImports }, options);
  // node:wasi wants exports.memory; a program that imports its memory does not export it
  const exitCode = wasi.start({ exports: { ...linked.instance.exports, memory: linked.memory } } as unknown as WebAssembly.Instance);
  return { ...linked, exitCode };
}
