// Builds the interop programs into build/interop/ (each step skipped when its output is newer
// than its inputs):
//   node interop/build.mjs [api_test] [sqlite] [as] [--rows N]   (no target: all of them)
//   api_test          interop/c/api_test.c + the shim                 -> api_test.wasm
//   sqlite            SQLite (from the better-sqlite3 tarball) + interop/sqlite/driver.c,
//                     once over asmalloc (the shim) and once over wasi-libc's dlmalloc
//                                                                      -> sqlite_{asmalloc,dlmalloc}.wasm
//   as                interop/as/json.ts under the stock incremental runtime (TLSF) and under
//                     interop/as/runtime (asmalloc)                    -> json_{tlsf,asmalloc}.wasm
// Needs clang with the wasm32 target, wasm-ld and wasi-libc (Debian: clang lld wasi-libc) for
// the C targets; `npm pack` to fetch better-sqlite3 once (kept in build/interop/cache/).
// Every C build over asmalloc is checked: imports from "asmalloc", no dlmalloc or sbrk linked.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const out = join(root, "build/interop");
const cache = join(out, "cache");
/** Pinned so that every run compiles the same SQLite (3.51.1). */
export const BETTER_SQLITE3 = "better-sqlite3@12.5.0";

export const CC = process.env.CC ?? "clang";
/** The wasi-libc sysroot: $WASI_SYSROOT, else Debian's (headers in /usr/include/wasm32-wasi). */
export const SYSROOT = process.env.WASI_SYSROOT ?? "/usr";
const TARGET = ["--target=wasm32-wasi", `--sysroot=${SYSROOT}`];
const SQLITE_FLAGS = ["-DSQLITE_OS_OTHER=1", "-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION",
  "-DSQLITE_TEMP_STORE=3", "-DSQLITE_OMIT_WAL", "-DSQLITE_OMIT_SHARED_CACHE"];
const SHIM = join(root, "interop/c/asmalloc_shim.c");
const INCLUDE = join(root, "interop/include");

/** Is clang able to compile and link a wasm32-wasi program here? */
export function haveWasiClang() {
  const r = spawnSync(CC, [...TARGET, "-x", "c", "-", "-o", "/dev/null"], { input: "int main(void){return 0;}" });
  return r.status === 0;
}

const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);
const stale = (outFile, inputs) => mtime(outFile) <= Math.max(...inputs.map(mtime));
function run(cmd, args) {
  execFileSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"] });
}
function cc(args) { run(CC, [...TARGET, ...args]); }

/** Links objects over asmalloc: the shim in, memory imported (direct calls into asmalloc). */
function linkAsmalloc(objects, wasm) {
  cc([...objects, join(out, "shim.o"), "-Wl,--import-memory", "-Wl,--strip-debug", "-o", wasm]);
  checkLinkedOverAsmalloc(wasm);
}

function buildShim() {
  const o = join(out, "shim.o");
  if (stale(o, [SHIM, join(INCLUDE, "asmalloc.h"), fileURLToPath(import.meta.url)])) {
    cc(["-O2", "-I", INCLUDE, "-c", SHIM, "-o", o]);
  }
}

/** Throws unless the program imports malloc and free from "asmalloc" and has no allocator of its
 *  own: no dlmalloc/sbrk functions in its name section and no memory.grow instruction (only sbrk
 *  grows memory in wasi-libc). Uses wabt's wasm-objdump when it is installed. */
export function checkLinkedOverAsmalloc(wasm) {
  const mod = new WebAssembly.Module(readFileSync(wasm));
  const imports = WebAssembly.Module.imports(mod).filter((i) => i.module === "asmalloc").map((i) => i.name);
  for (const need of ["malloc", "free"]) {
    if (!imports.includes(need)) throw new Error(`${wasm}: does not import asmalloc.${need}`);
  }
  const objdump = spawnSync("wasm-objdump", ["-d", wasm], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (objdump.status === 0) {
    if (/^[0-9a-f]+ func\[\d+\] <(dlmalloc|dlfree|sbrk|dispose_chunk|internal_memalign)>/m.test(objdump.stdout)) {
      throw new Error(`${wasm}: wasi-libc's dlmalloc is linked in`);
    }
    if (/\bmemory\.grow\b/.test(objdump.stdout)) throw new Error(`${wasm}: something besides asmalloc grows memory`);
  }
  return imports;
}

export function buildApiTest() {
  mkdirSync(out, { recursive: true });
  buildShim();
  const src = join(root, "interop/c/api_test.c");
  const wasm = join(out, "api_test.wasm");
  if (stale(wasm, [src, join(out, "shim.o")])) {
    cc(["-O2", "-fno-builtin", "-I", INCLUDE, "-c", src, "-o", join(out, "api_test.o")]);
    linkAsmalloc([join(out, "api_test.o")], wasm);
  }
  return wasm;
}

/** build/interop/cache/package/deps/sqlite3/, fetched with `npm pack` the first time. */
export function sqliteSource() {
  const dir = join(cache, "package/deps/sqlite3");
  if (existsSync(join(dir, "sqlite3.c"))) return dir;
  mkdirSync(cache, { recursive: true });
  const tgz = execFileSync("npm", ["pack", BETTER_SQLITE3, "--silent"], { cwd: cache, encoding: "utf8" }).trim().split("\n").pop();
  run("tar", ["xzf", join(cache, tgz), "-C", cache, "package/deps/sqlite3/sqlite3.c", "package/deps/sqlite3/sqlite3.h"]);
  return dir;
}

export function buildSqlite() {
  mkdirSync(out, { recursive: true });
  buildShim();
  const dir = sqliteSource();
  const sqliteO = join(out, "sqlite3.o");
  if (stale(sqliteO, [join(dir, "sqlite3.c")])) {
    console.error("compiling sqlite3.c (about 20 s)");
    cc(["-O2", ...SQLITE_FLAGS, "-I", dir, "-c", join(dir, "sqlite3.c"), "-o", sqliteO]);
  }
  const driver = join(root, "interop/sqlite/driver.c");
  const driverO = join(out, "sqlite_driver.o");
  if (stale(driverO, [driver, join(dir, "sqlite3.h")])) cc(["-O2", "-I", dir, "-c", driver, "-o", driverO]);
  const asm = join(out, "sqlite_asmalloc.wasm"), dl = join(out, "sqlite_dlmalloc.wasm");
  if (stale(asm, [sqliteO, driverO, join(out, "shim.o")])) linkAsmalloc([driverO, sqliteO], asm);
  if (stale(dl, [sqliteO, driverO])) cc([driverO, sqliteO, "-Wl,--strip-debug", "-o", dl]);
  return { asmalloc: asm, dlmalloc: dl };
}

/** The AssemblyScript JSON program, under TLSF and under asmalloc. */
export async function buildAs() {
  mkdirSync(out, { recursive: true });
  const { default: asc } = await import("assemblyscript/asc");
  const asDir = join(root, "interop/as");
  const inputs = readdirSync(asDir).filter((f) => f.endsWith(".ts")).map((f) => join(asDir, f));
  // abort= : abort() traps (no env.abort import), the same in both builds
  // interop/as/asconfig.json keeps asc from reading the allocator's ./asconfig.json
  const common = ["interop/as/json.ts", "--config", "interop/as/asconfig.json", "-O3", "--noAssert", "--use", "abort="];
  const variants = {
    tlsf: [...common, "--runtime", "incremental"],
    asmalloc: [...common, "--runtime", "./interop/as/runtime", "--importMemory"],
  };
  const outs = {};
  for (const [name, args] of Object.entries(variants)) {
    const wasm = join(out, `json_${name}.wasm`);
    outs[name] = wasm;
    if (!stale(wasm, inputs)) continue;
    const { error, stderr } = await asc.main([...args, "--outFile", wasm, "--textFile", wasm.replace(/\.wasm$/, ".wat")],
      { stdout: process.stdout, stderr: process.stderr });
    if (error) throw new Error(`asc (${name}) failed: ${error.message}\n${stderr}`);
  }
  return outs;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const targets = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  const all = targets.length === 0;
  if ((all || targets.includes("api_test") || targets.includes("sqlite")) && !haveWasiClang()) {
    console.error(`${CC} cannot build wasm32-wasi programs here (install clang, lld and wasi-libc)`);
    process.exit(1);
  }
  if (all || targets.includes("api_test")) console.log(buildApiTest());
  if (all || targets.includes("sqlite")) console.log(Object.values(buildSqlite()).join("\n"));
  if (all || targets.includes("as")) console.log(Object.values(await buildAs()).join("\n"));
}
