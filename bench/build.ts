// Builds the bench's Wasm modules (the driver and the peer allocators) into build/bench/, cached
// by a hash of source + options. Nothing here is committed: every bench run rebuilds what is stale.
//
// The heap base matters to two peers whose heap start is fixed at build time: AssemblyScript's
// TLSF starts at __heap_base (set with asc --memoryBase) and wasi-libc's dlmalloc claims
// [__heap_base, end of memory) at its first call (its statics and C stack go at --global-base).
// So those two are built once per heap base the bench uses (a handful of powers of two).
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const SRC = join(ROOT, "bench");
export const CACHE = join(ROOT, "build", "bench");
export const DL_SKIP = "skipped: apt-get install clang lld wasi-libc";

export interface BuiltModule {
  file: string;
  /** bytes of the .wasm */
  size: number;
  module: WebAssembly.Module;
  /** first byte the module's own statics/stack do not use (dlmalloc), else the heap base */
  staticEnd: number;
}

function hash(...parts: (string | Buffer)[]): string {
  const h = createHash("sha1");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex").slice(0, 12);
}
function load(file: string, staticEnd: number): BuiltModule {
  const bytes = readFileSync(file);
  return { file, size: bytes.length, module: new WebAssembly.Module(bytes), staticEnd };
}

async function asc(entry: string, outFile: string, args: string[]): Promise<void> {
  const { default: ascMod } = await import("assemblyscript/asc");
  let errText = "";
  const sink = { write(s: string | Uint8Array) { errText += String(s); return true; } } as any;
  const { error } = await ascMod.main([entry, "-o", outFile, ...args], { stdout: sink, stderr: sink });
  if (error) throw new Error(`asc ${entry} failed: ${error.message}\n${errText}`);
}

const AS_COMMON = ["--importMemory", "--noExportMemory", "--initialMemory", "0", "--use", "abort=",
  "-O3", "--noAssert", "--converge"];

/** Compiles an AssemblyScript file from bench/ (cached). */
async function buildAS(rel: string, runtime: string, extra: string[] = []): Promise<string> {
  const src = readFileSync(join(SRC, rel));
  const args = ["--runtime", runtime, ...AS_COMMON, ...extra];
  const out = join(CACHE, `${rel.replace(/[/.]/g, "_")}-${hash(src, args.join(" "), "0.28")}.wasm`);
  if (!existsSync(out)) {
    mkdirSync(CACHE, { recursive: true });
    await asc(join(SRC, rel), out + ".tmp.wasm", args);
    const bytes = readFileSync(out + ".tmp.wasm");
    writeFileSync(out, bytes);
  }
  return out;
}

export async function buildDriver(): Promise<BuiltModule> {
  const file = await buildAS("driver/driver.ts", "stub");
  return load(file, 0);
}

export async function buildTlsf(heapBase: number): Promise<BuiltModule> {
  const file = await buildAS("wasm/tlsf.ts", "minimal", ["--memoryBase", String(heapBase)]);
  return load(file, heapBase);
}
export async function buildBump(): Promise<BuiltModule> { return load(await buildAS("wasm/bump.ts", "stub"), 0); }
export async function buildFirstFit(): Promise<BuiltModule> { return load(await buildAS("wasm/firstfit.ts", "stub"), 0); }
/** The copy-always realloc (linked to an asmalloc instance's malloc/free/malloc_usable_size). */
export async function buildCopyAlways(): Promise<BuiltModule> { return load(await buildAS("wasm/copyalways.ts", "stub"), 0); }

export function asmallocPath(): string { return join(ROOT, "build", "asmalloc.wasm"); }
export function buildAsmalloc(f = asmallocPath()): BuiltModule {
  if (!existsSync(f)) throw new Error(`${f} is missing: run node scripts/build.mjs`);
  return load(f, 0);
}

let inspector: WebAssembly.Module | null | undefined;
/** asmalloc's inspector module (stats, heap check), or null when it is not built. */
export function buildInspector(): WebAssembly.Module | null {
  if (inspector === undefined) {
    const f = join(ROOT, "build", "asmalloc.inspect.wasm");
    inspector = existsSync(f) ? new WebAssembly.Module(readFileSync(f)) : null;
  }
  return inspector;
}

const WASI = { lib: "/usr/lib/wasm32-wasi/libc.a", inc: "/usr/include/wasm32-wasi" };
let clangOk: boolean | undefined;
/** true when clang, wasm-ld and wasi-libc are installed */
export function haveClang(): boolean {
  if (clangOk !== undefined) return clangOk;
  try {
    execFileSync("clang", ["--version"], { stdio: "ignore" });
    execFileSync("wasm-ld", ["--version"], { stdio: "ignore" });
    clangOk = existsSync(WASI.lib) && existsSync(WASI.inc);
  } catch { clangOk = false; }
  return clangOk;
}

/** dlmalloc from Debian's wasi-libc: the C file only keeps malloc & co linked; the exports are
 *  the libc functions themselves (reactor model: no per-call ctor/dtor wrappers). Its statics
 *  and a 16 KiB C stack are placed at heapBase; its heap starts right after them. */
export function buildDlmalloc(heapBase: number): BuiltModule | string {
  if (!haveClang()) return DL_SKIP;
  const src = join(SRC, "wasm", "dlmalloc.c");
  const args = ["--target=wasm32-wasi", "-O2", "-mexec-model=reactor", "--sysroot=/usr", "-isystem", WASI.inc,
    "-L/usr/lib/wasm32-wasi", "-Wl,--import-memory", "-Wl,--strip-all",
    "-Wl,--export=malloc,--export=free,--export=realloc,--export=calloc,--export=aligned_alloc,--export=__heap_base",
    `-Wl,--global-base=${heapBase}`, "-z", "stack-size=16384"];
  const out = join(CACHE, `dlmalloc-${hash(readFileSync(src), args.join(" "), String(statSync(WASI.lib).mtimeMs))}.wasm`);
  if (!existsSync(out)) {
    mkdirSync(CACHE, { recursive: true });
    try {
      execFileSync("clang", [...args, src, "-o", out], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (e: any) {
      return `${DL_SKIP} (clang failed: ${String(e.stderr ?? e.message).split("\n")[0]})`;
    }
  }
  const m = load(out, 0);
  // read __heap_base: instantiate once on a scratch memory
  const mem = new WebAssembly.Memory({ initial: Math.ceil((heapBase + (1 << 20)) / 65536) });
  const inst = new WebAssembly.Instance(m.module, { env: { memory: mem } });
  m.staticEnd = (inst.exports.__heap_base as WebAssembly.Global).value as number;
  return m;
}
