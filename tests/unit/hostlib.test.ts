// The host library (src/index.ts, src/node.ts): argument validation, errors, options, views
// that survive growth, the inspector-backed methods.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { createHeap, createHeapSync, HeapError, HeapCorruptionError, Status, WASM_PAGE_SIZE, CLASS_SIZES } from "../../src/index.js";
import { BUILDS, makeHeap, wasmFile, wasmModule } from "../helpers/heaps.js";

describe.each(BUILDS)("host library (%s build)", (build) => {
  it("rejects invalid sizes, counts, alignments and pointers with RangeError (TypeError for non-numbers), changing nothing", () => {
    const h = makeHeap(build);
    const p = h.malloc(10);
    const before = h.stats();
    const badNumbers = [-1, -0.5, 1.5, NaN, Infinity, -Infinity, 2 ** 32, 2 ** 40];
    for (const v of badNumbers) {
      expect(() => h.malloc(v), `malloc(${v})`).toThrow(RangeError);
      expect(() => h.calloc(v, 1), `calloc(${v}, 1)`).toThrow(RangeError);
      expect(() => h.calloc(1, v)).toThrow(RangeError);
      expect(() => h.realloc(p, v)).toThrow(RangeError);
      expect(() => h.realloc(v, 10)).toThrow(RangeError);
      expect(() => h.free(v), `free(${v})`).toThrow(RangeError);
      expect(() => h.usableSize(v)).toThrow(RangeError);
      expect(() => h.alignedAlloc(16, v)).toThrow(RangeError);
      expect(() => h.alignedAlloc(v, 16)).toThrow(RangeError);
      expect(() => h.bytes(v, 1)).toThrow(RangeError);
    }
    for (const a of [0, 3, 6, 24, 1000, 2 ** 32 - 1]) expect(() => h.alignedAlloc(a, 8), `align ${a}`).toThrow(RangeError);
    expect(() => h.calloc(2 ** 16, 2 ** 16)).toThrow(RangeError);   // product is 4 GiB
    expect(() => h.calloc(2 ** 31, 3)).toThrow(RangeError);
    for (const v of ["5", null, undefined, {}, 5n]) {
      expect(() => h.malloc(v as unknown as number)).toThrow(TypeError);
      expect(() => h.free(v as unknown as number)).toThrow(TypeError);
    }
    expect(() => h.bytes(p, h.memory.buffer.byteLength)).toThrow(RangeError);
    expect(h.stats()).toEqual(before);
    expect(h.usableSize(p)).toBeGreaterThanOrEqual(10);
  });

  it("free(0) is a no-op; usableSize(0) is 0; realloc(0, n) allocates", () => {
    const h = makeHeap(build);
    const before = h.stats();
    h.free(0);
    expect(h.usableSize(0)).toBe(0);
    expect(h.stats()).toEqual(before);
    const p = h.realloc(0, 50);
    expect(h.usableSize(p)).toBeGreaterThanOrEqual(50);
  });

  it("pointers the heap does not own raise HeapError with code, status, ptr and op", () => {
    const h = makeHeap(build);
    const p = h.malloc(100);
    h.bytes(p, 100).fill(9);
    const cases: [string, () => unknown, string, number][] = [
      ["free", () => h.free(p + 16), "INTERIOR", p + 16],
      ["free", () => h.free(16), "FOREIGN", 16],
      ["realloc", () => h.realloc(p + 8, 200), "INTERIOR", p + 8],
      ["usableSize", () => h.usableSize(h.base + 64), "FOREIGN", h.base + 64],
      ["free", () => h.free(h.memory.buffer.byteLength + 4096), "FOREIGN", h.memory.buffer.byteLength + 4096],
    ];
    for (const [op, f, code, ptr] of cases) {
      let err: unknown;
      try { f(); } catch (e) { err = e; }
      expect(err, `${op} ${code}`).toBeInstanceOf(HeapError);
      const he = err as HeapError;
      expect(he).toBeInstanceOf(Error);
      expect(he.name).toBe("HeapError");
      expect(he.code).toBe(code);
      expect(he.status).toBe(Status[code as keyof typeof Status]);
      expect(he.ptr).toBe(ptr);
      expect(he.op).toBe(op);
      expect(he.message).toContain(code);
    }
    expect(h.bytes(p, 100).every((b) => b === 9)).toBe(true);
    expect(h.stats().badFrees).toBe(cases.length);
    h.free(p);
    expect(() => h.free(p)).toThrow(HeapError);
    expect(h.stats().doubleFrees).toBe(1);
    h.check();
  });

  it("realloc(p, 0) frees p and returns 0; misuse still throws", () => {
    const h = makeHeap(build);
    const p = h.malloc(30);
    const inUse = h.stats().inUseBytes;
    expect(h.realloc(p, 0)).toBe(0);
    expect(h.stats().inUseBytes).toBeLessThan(inUse);
    expect(() => h.free(p)).toThrow(HeapError);   // p is free now (detected: it was the last freed)
    expect(() => h.realloc(12345, 0)).toThrow(HeapError);
  });

  it("views stay usable across memory growth: getters re-create, bytes() is fresh", () => {
    const h = makeHeap(build);
    const p = h.malloc(64);
    const old = h.u8;
    expect(h.u8).toBe(old);   // cached while the buffer is the same
    h.u32[p >>> 2] = 0xdeadbeef;
    h.f64[(p + 8) >>> 3] = Math.PI;
    const big = h.malloc(8 << 20);   // grows memory
    expect(old.byteLength).toBe(0);   // detached
    expect(h.u8.byteLength).toBe(h.memory.buffer.byteLength);
    expect(h.u32[p >>> 2]).toBe(0xdeadbeef);
    expect(h.i32[p >>> 2]).toBe(0xdeadbeef | 0);
    expect(h.f64[(p + 8) >>> 3]).toBe(Math.PI);
    expect(h.view.getUint32(p, true)).toBe(0xdeadbeef);
    h.write(big, [1, 2, 3]);
    h.write(big + 3, new Uint16Array([0x0504]));
    expect([...h.read(big, 5)]).toEqual([1, 2, 3, 4, 5]);
    expect(h.bytes(big, 8 << 20).length).toBe(8 << 20);
  });

  it("stats, check, classProfile and heapMap describe the heap", () => {
    const h = makeHeap(build);
    const ps = Array.from({ length: 50 }, () => h.malloc(100));
    const large = h.malloc(200_000);
    const s = h.stats();
    expect(s.heapBytes).toBe(h.memory.buffer.byteLength - h.base);
    expect(s.requestedBytes).toBe(build === "debug" ? 50 * 100 + 200_000 : -1);
    expect(s.largeSpans).toBe(1);
    const row = h.classProfile().find((r) => r.inUse > 0)!;
    expect(row.size).toBe(CLASS_SIZES[row.cls]);
    expect(row.inUse).toBe(50);
    const map = h.heapMap();
    for (let i = 1; i < map.length; i++) expect(map[i].start).toBe(map[i - 1].start + map[i - 1].pages * 8192);
    const last = map[map.length - 1];
    expect(last.start + last.pages * 8192).toBe(h.memory.buffer.byteLength);
    expect(map.find((e) => e.start === large)?.kind).toBe("large");
    expect(map.some((e) => e.kind === "small" && e.cls === row.cls)).toBe(true);
    h.check();
    ps.forEach((p) => h.free(p));
    h.free(large);
    h.check();
  });

  it("check() throws HeapCorruptionError when the program overwrites heap metadata", () => {
    const h = makeHeap(build);
    h.malloc(10);
    h.view.setUint32(h.base, 0x12345678, true);   // the header's magic
    expect(() => h.check()).toThrow(HeapCorruptionError);
    try { h.check(); } catch (e) { expect((e as HeapCorruptionError).what).toBe("HEADER"); }
  });
});

describe("creating heaps", () => {
  it("createHeapSync validates options", () => {
    const wasm = wasmModule("release");
    expect(() => createHeapSync({ wasm, initialMemory: -1 })).toThrow(RangeError);
    expect(() => createHeapSync({ wasm, initialMemory: 1.5 })).toThrow(RangeError);
    expect(() => createHeapSync({ wasm, maximumMemory: 70000 })).toThrow(RangeError);
    expect(() => createHeapSync({ wasm, initialMemory: 4, maximumMemory: 2 })).toThrow(RangeError);
    expect(() => createHeapSync({ wasm, heapBase: -8 })).toThrow(RangeError);
    expect(() => createHeapSync({ wasm, memory: new WebAssembly.Memory({ initial: 1 }), initialMemory: 2 })).toThrow(TypeError);
    expect(() => createHeapSync({ wasm: "x" as unknown as BufferSource })).toThrow(TypeError);
  });

  it("createHeapSync from bytes, without the inspector (stats then throws a clear error)", () => {
    const h = createHeapSync({ wasm: readFileSync(wasmFile("release")) });
    expect(h.inspector).toBeNull();
    expect(h.malloc(10)).not.toBe(0);
    expect(() => h.stats()).toThrow(/inspector/);
  });

  it("createHeap (async) from bytes, modules and a Response; file: URLs are refused with a hint", async () => {
    const bytes = readFileSync(wasmFile("release"));
    const inspector = readFileSync(wasmFile("inspect"));
    const a = await createHeap({ wasm: bytes, inspector });
    expect(a.stats().heapBytes).toBeGreaterThan(0);
    const b = await createHeap({ wasm: wasmModule("debug"), inspector: false, debug: true });
    expect(b.debug).toBe(true);
    expect(b.malloc(5)).not.toBe(0);
    const c = await createHeap({ wasm: new Response(bytes, { headers: { "Content-Type": "application/wasm" } }), inspector: false });
    expect(c.malloc(5)).not.toBe(0);
    await expect(createHeap({ wasm: pathToFileURL(wasmFile("release")), inspector: false })).rejects.toThrow(/asmalloc\/node/);
  });

  it("memory options: initialMemory / maximumMemory in 64 KiB pages; INIT_FAILED when the heap cannot fit", () => {
    const h = createHeapSync({ wasm: wasmModule("release"), initialMemory: 3, maximumMemory: 10 });
    expect(h.memory.buffer.byteLength).toBe(3 * WASM_PAGE_SIZE);
    expect(h.base).toBe(8192);
    let err: unknown;
    try { createHeapSync({ wasm: wasmModule("release"), initialMemory: 1, maximumMemory: 1, heapBase: 65536 }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(HeapError);
    expect((err as HeapError).code).toBe("INIT_FAILED");
  });

  it("the asmalloc/node entry loads build/ by default", async () => {
    const node = await import("../../src/node.js");
    const h = await node.createHeap();
    expect(h.stats().heapBytes).toBeGreaterThan(0);
    const d = node.createHeapSync({ debug: true });
    d.free(d.malloc(10));
    expect(d.stats().requestedBytes).toBe(0);
    expect(node.wasmPath("inspect")).toMatch(/asmalloc\.inspect\.wasm$/);
  });

  it("onReport receives the debug build's misuse reports; a throwing hook does not unwind the allocator", () => {
    const seen: string[] = [];
    const h = makeHeap("debug", { onReport: (r) => { seen.push(r.code); throw new Error("hook"); } });
    const p = h.malloc(10);
    h.free(p);
    const orig = console.error;
    console.error = () => {};
    try { expect(() => h.free(p)).toThrow(HeapError); } finally { console.error = orig; }
    expect(seen).toEqual(["DOUBLE_FREE"]);
    h.check();
    expect(h.malloc(10)).not.toBe(0);
  });
});
