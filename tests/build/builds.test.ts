// The shipped builds: each compile-time switch changes the output (a misspelled --use name is
// silently "not defined"), the release module keeps its ABI promises (imports only env.memory,
// no data segments, <= 8 KiB), and the fast paths keep their instruction counts (TCMalloc's
// golden counts: a change that grows them must update the record here on purpose).
import { describe, it, expect } from "vitest";
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const mod = (f: string) => new WebAssembly.Module(readFileSync(root + "build/" + f));
const imports = (f: string) => WebAssembly.Module.imports(mod(f)).map((i) => `${i.module}.${i.name}:${i.kind}`);
const exportsOf = (f: string) => WebAssembly.Module.exports(mod(f)).map((e) => e.name).sort();

/** Instructions in a function's body in a .wat file (lines that start with an opcode), not
 *  counting slow paths Binaryen inlined into it (blocks labelled `…Slow|inlined…`). */
function instructions(wat: string, fn: string): number {
  const start = wat.indexOf(`(func ${fn} `);
  if (start < 0) throw new Error(`${fn} not found`);
  const end = wat.indexOf("\n )", start);
  let n = 0, skipDepth = -1, depth = 0;
  for (const l of wat.slice(start, end).split("\n").slice(1)) {
    if (/^\s+(block|loop|if)\b/.test(l)) {
      if (skipDepth < 0 && /Slow\|inlined/.test(l)) skipDepth = depth;
      depth++;
      continue;
    }
    if (/^\s+end\b/.test(l)) { depth--; if (depth === skipDepth) skipDepth = -1; continue; }
    if (skipDepth >= 0 || /^\s+else\b/.test(l)) continue;
    if (/^\s+[a-z][a-z0-9_.]*(\s|$)/.test(l) && !/^\s+\((local|param|result)/.test(l)) n++;
  }
  return n;
}

/** Data section present? (section id 11) */
function hasDataSection(f: string): boolean {
  const b = readFileSync(root + "build/" + f);
  let i = 8;
  while (i < b.length) {
    const id = b[i++];
    let size = 0, shift = 0, byte;
    do { byte = b[i++]; size |= (byte & 0x7f) << shift; shift += 7; } while (byte & 0x80);
    if (id === 11) return true;
    i += size;
  }
  return false;
}

const API = ["aligned_alloc", "calloc", "free", "free_checked", "init", "last_error", "malloc", "malloc_usable_size",
  "posix_memalign", "realloc", "set_blocking", "thread_exit"];

describe("release build (build/asmalloc.wasm)", () => {
  it("imports exactly env.memory and has no data segments", () => {
    expect(imports("asmalloc.wasm")).toEqual(["env.memory:memory"]);
    expect(hasDataSection("asmalloc.wasm")).toBe(false);
  });
  it("exports the documented ABI", () => {
    expect(exportsOf("asmalloc.wasm")).toEqual(API);
  });
  it("is at most 10.5 KiB", () => {
    // 8 KiB until 2026-11-22: it was full (8181 B) when freeing a large block without the slow
    // path's walk (+32 B) made the bzip2 trace 4% faster. 8.5 KiB until later that day: it was
    // full (8682 B, with large-block colours and the free-list bitmap) when large blocks began
    // to release the spares before taking fresh pages (8714 B). 8.75 KiB until the central
    // lists' fetch and release kept a span's fields in locals (9020 B): 100k small blocks
    // allocated then freed in turn ran 10-20% faster, the bench traces 0-8%. 9 KiB until the
    // same day's free marks (9307 B), which refuse a double free however late it comes. 9.5 KiB
    // until free-list links were checked before they are followed (10009 B): a write after free
    // into a freed block's first words no longer makes malloc hand out a live block. 10 KiB
    // until page-map leaves could go at the heap's end (10370 B): a buffer doubling at the heap
    // top no longer moves when a growth of memory needs leaves and no hole lies below it
    expect(statSync(root + "build/asmalloc.wasm").size).toBeLessThanOrEqual(10752);
  });
  it("keeps the fast paths short (golden instruction counts)", () => {
    const wat = readFileSync(root + "build/asmalloc.wat", "utf8");
    // malloc: size check, class shifts (three formulas, one selected: 16 classes per power of two from 4 KiB), pop,
    // clear the free mark (73); then the popped object's test, its free mark and its link's bound (93).
    // free: page map, span checks, free-mark test, push and mark (~80; the span's carved mark
    // doubles as its SMALL test and the cache list keeps its room, not its length), then a call
    // of freeSlow with the page's record (Binaryen inlined it, 114 in all, until it took that
    // second argument); the marks holding the class (+9: a link a write after free pointed at
    // another class's free object is refused), 106.
    expect(instructions(wat, "$assembly/malloc/malloc")).toBeLessThanOrEqual(93);
    expect(instructions(wat, "$assembly/malloc/free")).toBeLessThanOrEqual(106);
  });
  it("malloc branches only on 'small?', 'list empty?' and 'object intact?' (the size -> class shift has none)", () => {
    // sizes on both sides of 128 B made a branch there mispredict about half the time: random
    // 8-256 B malloc/free pairs ran 6.0 ns/op with it, 4.3 without (bench micro, side by side).
    // The popped object's two tests (its free mark, its link's bound) share one branch, never
    // taken unless a write after free broke the list (threadcache.ts, cacheTake)
    const wat = readFileSync(root + "build/asmalloc.wat", "utf8");
    const start = wat.indexOf("(func $assembly/malloc/malloc ");
    const body = wat.slice(start, wat.indexOf("\n )", start));
    expect(body.match(/^\s+(if|br_if)\b/gm)?.length).toBe(3);
  });
});

describe("each switch changes the output", () => {
  it("ASMALLOC_DEBUG adds the env.report hook", () => {
    expect(imports("asmalloc.debug.wasm")).toContain("env.report:function");
    expect(imports("asmalloc.wasm")).not.toContain("env.report:function");
    expect(exportsOf("asmalloc.debug.wasm")).toEqual(API);
  });
  it("ASMALLOC_THREADS imports a shared memory and uses atomics", () => {
    const mt = WebAssembly.Module.imports(mod("asmalloc.mt.wasm"));
    expect(mt.map((i) => `${i.module}.${i.name}`)).toEqual(["env.memory"]);
    const wat = readFileSync(root + "build/asmalloc.mt.wat", "utf8");
    expect(wat).toMatch(/\(memory \$0 \d+ 65536 shared\)/);
    expect(wat).toContain("memory.atomic.wait32");
    expect(wat).toContain("i32.atomic.rmw.cmpxchg");
    expect(readFileSync(root + "build/asmalloc.wat", "utf8")).not.toContain("atomic");
    expect(exportsOf("asmalloc.mt.wasm")).toEqual(API);
  });
  it("the inspector shares the heap's memory and has no data segments either", () => {
    expect(imports("asmalloc.inspect.wasm")).toEqual(["env.memory:memory"]);
    expect(hasDataSection("asmalloc.inspect.wasm")).toBe(false);
    expect(hasDataSection("asmalloc.mt.wasm")).toBe(false);
  });
});
