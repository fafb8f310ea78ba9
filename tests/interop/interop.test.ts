// Drop-in use of asmalloc (issue 6): the C API through interop/c/asmalloc_shim.c (api_test.c),
// SQLite over asmalloc vs over wasi-libc's dlmalloc (same results), and an AssemblyScript JSON
// round trip on asmalloc vs TLSF (same output). C parts need clang + wasm-ld + wasi-libc: they
// are skipped, with the reason printed, when those are missing. Built programs are cached in
// build/interop/ (the first SQLite compile takes ~20 s).
import { describe, it, expect, beforeAll } from "vitest";
import { readFileSync, openSync, closeSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// @ts-ignore: plain ESM build script
import { buildApiTest, buildSqlite, buildAs, haveWasiClang, checkLinkedOverAsmalloc } from "../../interop/build.mjs";
// @ts-ignore: plain ESM bench script
import { runSqlite } from "../../interop/sqlite-bench.mjs";
// @ts-ignore: plain ESM bench script
import { runJson } from "../../interop/as-bench.mjs";
import { runWasiWithHeap, loadAsmallocModule, memoryImportLimits } from "../../src/interop";

const clang = haveWasiClang();
if (!clang) console.warn("tests/interop: skipping the C tests: clang cannot build wasm32-wasi here (install clang lld wasi-libc)");

function captured<T>(body: (fd: number) => Promise<T>): Promise<{ result: T; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), "asmalloc-interop-"));
  const file = join(dir, "out");
  const fd = openSync(file, "w");
  return body(fd).then((result) => {
    closeSync(fd);
    const out = readFileSync(file, "utf8");
    rmSync(dir, { recursive: true, force: true });
    return { result, out };
  });
}

describe.skipIf(!clang)("C programs on asmalloc", () => {
  it("api_test.c passes every check through the shim, with no dlmalloc linked", async () => {
    const wasm = buildApiTest();
    const imports = checkLinkedOverAsmalloc(wasm);
    expect(imports).toEqual(expect.arrayContaining(["malloc", "free", "calloc", "realloc", "aligned_alloc",
      "posix_memalign", "malloc_usable_size"]));
    const bytes = readFileSync(wasm);
    expect(memoryImportLimits(bytes)?.initial).toBeGreaterThan(0);
    const { result, out } = await captured((fd) => runWasiWithHeap(bytes, { stdout: fd }));
    expect(result.linkage).toBe("imported");
    expect(result.heapBase).toBeGreaterThan(0);
    expect(out).toMatch(/api_test: \d+ checks, 0 failures/);
    expect(result.exitCode).toBe(0);
  });

  it("SQLite gives the same results on asmalloc and on dlmalloc", async () => {
    const files = buildSqlite();
    const rows = 20000;
    const a = await runSqlite("asmalloc", files.asmalloc, rows);
    const d = await runSqlite("dlmalloc", files.dlmalloc, rows);
    expect(a.exitCode).toBe(0);
    expect(d.exitCode).toBe(0);
    expect(d.output).toMatch(/^checksum [0-9a-f]{16}$/m);
    expect(d.output).toMatch(/integrity\s+1 rows/);
    expect(a.output).toBe(d.output);
    // the dlmalloc build really has its own allocator, the asmalloc one does not
    expect(() => checkLinkedOverAsmalloc(files.dlmalloc)).toThrow();
  });
});

describe("AssemblyScript on asmalloc (interop/as/runtime)", () => {
  let files: { asmalloc: string; tlsf: string };
  beforeAll(async () => { files = await buildAs(); });

  it("imports its allocator from asmalloc and keeps no TLSF", () => {
    const mod = new WebAssembly.Module(readFileSync(files.asmalloc));
    const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}`);
    expect(imports).toEqual(expect.arrayContaining(["asmalloc.malloc", "asmalloc.free", "env.memory"]));
    expect(readFileSync(files.asmalloc.replace(/\.wasm$/, ".wat"), "utf8")).not.toMatch(/rt\/tlsf/);
  });

  it("a JSON round trip gives the same output as on TLSF", async () => {
    const asmalloc = await loadAsmallocModule();
    const a = await runJson("asmalloc", new WebAssembly.Module(readFileSync(files.asmalloc)), 2, 500, asmalloc);
    const t = await runJson("tlsf", new WebAssembly.Module(readFileSync(files.tlsf)), 2, 500, asmalloc);
    expect(a.text.length).toBeGreaterThan(1000);
    expect(a.text).toBe(t.text);
    expect(a.checksum).toBe(t.checksum);
  });
});
