// C semantics of the allocator ABI, per build: realloc edge cases, calloc zeroing, aligned_alloc
// and posix_memalign, usable sizes, large blocks, small heaps staying small.
import { describe, it, expect } from "vitest";
import { BUILDS, makeHeap, u } from "../helpers/heaps.js";
import { CLASS_SIZES, CLASS_COUNT, MAX_SMALL_SIZE, PAGE_SIZE, LARGE_COLOURS_BYTES, Status, roundedSize, sizeToClass, WASM_PAGE_SIZE } from "../../src/index.js";

const EINVAL = 28, ENOMEM = 48;

describe.each(BUILDS)("C API (%s build)", (build) => {
  const release = build === "release";

  it("malloc: distinct blocks, natural alignment, usable >= requested (== class size in release)", () => {
    const h = makeHeap(build), x = h.exports;
    const seen = new Set<number>();
    for (const n of [0, 0, 1, 7, 8, 9, 15, 16, 17, 100, 128, 129, 1000, 4096, 32768, 65535, 65536, 65537, 200_000, 1 << 20]) {
      const p = u(x.malloc(n));
      expect(p).not.toBe(0);
      expect(seen.has(p)).toBe(false);
      seen.add(p);
      expect(p % (n >= 16 ? 16 : 8)).toBe(0);
      const us = u(x.malloc_usable_size(p));
      expect(us).toBeGreaterThanOrEqual(n);
      // a large block's usable bytes run from its colour to the end of its pages
      if (release) expect(us + (n > MAX_SMALL_SIZE ? p % PAGE_SIZE : 0)).toBe(roundedSize(n));
      h.bytes(p, Math.max(n, 1)).fill(0xab);
    }
    h.check();
  });

  it("realloc(0, n) allocates; realloc(p, 0) frees and returns 0", () => {
    const h = makeHeap(build), x = h.exports;
    const p = u(x.realloc(0, 40));
    expect(p).not.toBe(0);
    expect(u(x.malloc_usable_size(p))).toBeGreaterThanOrEqual(40);
    const before = h.stats().inUseBytes;
    expect(x.realloc(p, 0)).toBe(0);
    expect(h.stats().inUseBytes).toBeLessThan(before);
    expect(x.free_checked(p)).not.toBe(0);   // it was freed
    x.last_error();
    // through the host library
    const q = h.realloc(0, 100);
    expect(h.realloc(q, 0)).toBe(0);
    expect(() => h.free(q)).toThrow();
  });

  it("realloc to a size in the same class returns the same pointer, for every class", () => {
    const h = makeHeap(build), x = h.exports;
    const extra = release ? 0 : 8;   // the debug build keeps a canary and the size in each block
    // the largest request of class c: its size, less the skew of a class skewed off 1 KiB multiples
    const top = (c: number): number => { let n = Math.min(CLASS_SIZES[c], MAX_SMALL_SIZE); while (sizeToClass(n) !== c) n--; return n; };
    for (let c = 2; c < CLASS_COUNT; c++) {
      const hi = top(c) - extra, lo = top(c - 1) + 1 - extra;
      if (lo < 1) continue;
      const p = u(x.malloc(hi));
      expect(u(x.realloc(p, lo)), `class ${c}: ${hi} -> ${lo}`).toBe(p);
      expect(u(x.realloc(p, hi)), `class ${c}: ${lo} -> ${hi}`).toBe(p);
      x.free(p);
    }
  });

  it("realloc keeps contents when moving up, down, small <-> large, and growing large blocks", () => {
    const h = makeHeap(build), x = h.exports;
    const fill = (p: number, n: number, seed: number): void => { const b = h.bytes(p, n); for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 255; };
    const same = (p: number, n: number, seed: number): boolean => { const b = h.bytes(p, n); for (let i = 0; i < n; i++) if (b[i] !== ((i * 7 + seed) & 255)) return false; return true; };
    const sizes = [1, 24, 200, 3000, 60000, 70000, 300_000, 1 << 20, 2_000_000, 50, 100_000, 5];
    let p = u(x.malloc(10)), n = 10;
    fill(p, n, 3);
    for (const m of sizes) {
      const q = u(x.realloc(p, m));
      expect(q).not.toBe(0);
      expect(same(q, Math.min(n, m), 3), `${n} -> ${m}`).toBe(true);
      fill(q, m, 3);
      p = q; n = m;
    }
    // a large block at the top grows in place
    const s0 = h.stats();
    const big = u(x.malloc(200_000));
    const grown = u(x.realloc(big, 400_000));
    const s1 = h.stats();
    expect(grown === big ? s1.reallocInPlace - s0.reallocInPlace : s1.reallocMoves - s0.reallocMoves).toBe(1);
    h.check();
  });

  it("calloc zeroes, also memory reused after free that was dirtied, small and large", () => {
    const h = makeHeap(build), x = h.exports;
    const sizes = [1, 8, 16, 100, 1000, 5000, 65536, 70000, 300_000];
    for (let round = 0; round < 3; round++) {
      const ps = sizes.map((n) => { const p = u(x.malloc(n)); h.bytes(p, n).fill(0xff); return p; });
      ps.forEach((p) => x.free(p));
      for (const n of sizes) {
        const p = u(x.calloc(1, n));
        expect(p).not.toBe(0);
        expect(h.bytes(p, n).every((b) => b === 0), `calloc(1, ${n}) round ${round}`).toBe(true);
        const q = u(x.calloc(n, 3));
        expect(h.bytes(q, 3 * n).every((b) => b === 0), `calloc(${n}, 3)`).toBe(true);
        h.bytes(p, n).fill(0xee); h.bytes(q, 3 * n).fill(0xee);
        x.free(p); x.free(q);
      }
    }
    expect(u(x.calloc(0, 100))).not.toBe(0);
  });

  it("calloc(n, size) whose product overflows 32 bits returns 0 with SIZE_OVERFLOW, counted", () => {
    const h = makeHeap(build), x = h.exports;
    for (const [n, s] of [[0x10000, 0x10000], [0xFFFFFFFF, 2], [3, 0x60000000]]) {
      expect(x.calloc(n, s)).toBe(0);
      expect(x.last_error()).toBe(Status.SIZE_OVERFLOW);
    }
    expect(h.stats().failedAllocs).toBe(3);
  });

  it("aligned_alloc for every power of two from 1 B to 1 MiB (and 16 MiB), sizes around them", () => {
    const h = makeHeap(build), x = h.exports;
    const live: number[] = [];
    for (let shift = 0; shift <= 20; shift++) {
      const align = 2 ** shift;
      for (const n of [0, 1, 8, 24, 100, align - 1, align, align + 1, 5000, 70000]) {
        const p = u(x.aligned_alloc(align, n));
        expect(p, `aligned_alloc(${align}, ${n})`).not.toBe(0);
        expect(p % align, `aligned_alloc(${align}, ${n}) = ${p}`).toBe(0);
        expect(p % (n >= 16 ? 16 : 8)).toBe(0);
        expect(u(x.malloc_usable_size(p))).toBeGreaterThanOrEqual(n);
        h.bytes(p, n).fill(shift);
        live.push(p);
      }
      if (live.length > 60) live.splice(0, 30).forEach((p) => expect(x.free_checked(p)).toBe(0));
    }
    const p = u(x.aligned_alloc(1 << 24, 10));
    expect(p % (1 << 24)).toBe(0);
    live.push(p);
    live.forEach((q) => expect(x.free_checked(q)).toBe(0));
    h.check();
  });

  it("aligned_alloc up to a page's alignment costs the pages the block needs, not the classes' limit", () => {
    // no class serves alignments from 1 KiB (their sizes are skewed off multiples of 1 KiB):
    // such a block took 72 KiB (9 pages), whatever its size
    const h = makeHeap(build), x = h.exports, extra = release ? 0 : 64;
    for (const [align, n, pages] of [[1024, 1024, 1], [1024, 100, 1], [4096, 4096, 1], [8192, 8192, release ? 1 : 2], [4096, 20000, 3], [2048, 60000, 8]]) {
      const before = h.stats().inUseBytes, ps: number[] = [];
      for (let i = 0; i < 32; i++) {
        const p = u(x.aligned_alloc(align, n));
        expect(p % align, `aligned_alloc(${align}, ${n}) = ${p}`).toBe(0);
        expect(u(x.malloc_usable_size(p))).toBeGreaterThanOrEqual(n);
        h.bytes(p, n).fill(i);
        ps.push(p);
      }
      const each = (h.stats().inUseBytes - before) / 32;
      expect(each, `aligned_alloc(${align}, ${n}): bytes per block`).toBeLessThanOrEqual(pages * PAGE_SIZE + extra);
      // realloc keeps their contents, within a page run's size and past the classes' limit
      ps[0] = u(x.realloc(ps[0], n + 1000));
      ps[1] = u(x.realloc(ps[1], 100_000));
      ps.forEach((p, i) => expect(h.bytes(p, n).every((b) => b === (i & 255)), `block ${i}`).toBe(true));
      ps.forEach((p) => expect(x.free_checked(p)).toBe(0));
      expect(h.stats().inUseBytes).toBe(before);
    }
    h.check();
  });

  it("aligned_alloc(16, small sizes) and posix_memalign(16) are 16-byte aligned (was BUG 1)", () => {
    const h = makeHeap(build), x = h.exports;
    for (let i = 0; i < 4; i++) {
      for (const n of [0, 1, 8, 15]) {
        const p = u(x.aligned_alloc(16, n));
        expect(p % 16, `aligned_alloc(16, ${n}) = ${p}`).toBe(0);
      }
    }
    const slot = u(x.malloc(16));
    for (let i = 0; i < 4; i++) {
      expect(x.posix_memalign(slot, 16, 4)).toBe(0);
      expect(h.view.getUint32(slot, true) % 16).toBe(0);
    }
  });

  it("aligned_alloc refuses alignments that are not powers of two (0, BAD_ALIGNMENT, counted)", () => {
    const h = makeHeap(build), x = h.exports;
    for (const a of [0, 3, 24, 100, 0xFFFFFFFF]) {
      expect(x.aligned_alloc(a, 10)).toBe(0);
      expect(x.last_error()).toBe(Status.BAD_ALIGNMENT);
    }
    expect(h.stats().failedAllocs).toBe(5);
  });

  it("posix_memalign: 0 and the pointer stored; EINVAL for bad alignments; ENOMEM for impossible sizes", () => {
    const h = makeHeap(build), x = h.exports;
    const slot = u(x.malloc(16));
    for (const a of [4, 8, 32, 4096, 65536, 1 << 20]) {
      expect(x.posix_memalign(slot, a, 100)).toBe(0);
      const p = h.view.getUint32(slot, true);
      expect(p % a).toBe(0);
      expect(x.free_checked(p)).toBe(0);
    }
    h.view.setUint32(slot, 12345, true);
    for (const a of [0, 1, 2, 3, 12, 48]) expect(x.posix_memalign(slot, a, 100), `align ${a}`).toBe(EINVAL);
    expect(x.posix_memalign(slot, 64, 0xFFFF0000)).toBe(ENOMEM);
    expect(h.view.getUint32(slot, true)).toBe(12345);   // untouched on failure
  });

  it("posix_memalign refuses a memptr inside heap metadata, unaligned, or 0 (EINVAL), writing nothing", () => {
    const h = makeHeap(build), x = h.exports;
    u(x.malloc(100));
    const meta = h.heapMap().filter((e) => e.kind === "metadata").map((e) => e.start);
    const targets = [0, h.base, h.base + 16, h.base + 4096, ...meta, ...meta.map((m) => m + 64)];
    for (const m of targets) {
      const before = h.view.getUint32(m, true);
      expect(x.posix_memalign(m, 16, 100), `memptr ${m}`).toBe(EINVAL);
      expect(h.view.getUint32(m, true)).toBe(before);
    }
    const slot = u(x.malloc(16));
    expect(x.posix_memalign(slot + 2, 16, 100)).toBe(EINVAL);
    h.check();
    // memory outside the heap is the program's
    expect(x.posix_memalign(64, 16, 100)).toBe(0);
  });

  it("large blocks are page runs from a colour (a cache line multiple below 1 KiB) on, usable to their end, freed back to the page heap", () => {
    const h = makeHeap(build), x = h.exports;
    const ps: number[] = [];
    for (const n of [MAX_SMALL_SIZE + 1, 100_000, 1 << 20, 5 << 20, 16 << 20]) {
      const p = u(x.malloc(n)), colour = p % PAGE_SIZE;
      expect(p % (release ? 64 : 16)).toBe(0);
      if (release) expect(colour).toBeLessThan(LARGE_COLOURS_BYTES);
      if (release) expect(u(x.malloc_usable_size(p))).toBe(roundedSize(n) - colour);
      h.bytes(p, n).fill(0x5a);
      ps.push(p);
    }
    const s = h.stats();
    expect(s.largeSpans).toBe(5);
    ps.forEach((p) => x.free(p));
    const t = h.stats();
    expect(t.largeSpans).toBe(0);
    expect(t.largeBytes).toBe(0);
    // the pages are reused: the same big request again does not grow memory
    const size = h.memory.buffer.byteLength;
    const q = u(x.malloc(16 << 20));
    expect(q).not.toBe(0);
    expect(h.memory.buffer.byteLength).toBe(size);
    h.check();
  });

  it("requests near 4 GiB return 0 without trapping", () => {
    const h = makeHeap(build, { maximumMemory: 256 }), x = h.exports;   // 16 MiB: 2 GiB must fail
    // sizes whose page count overflows 32 bits fit no memory: refused before the cache hands
    // anything back (which it does before failing a request memory could hold)
    for (const p of Array.from({ length: 8 }, () => u(x.malloc(2000)))) x.free(p);
    const cached = h.stats().cacheBytes;
    expect(cached).toBeGreaterThan(0);
    for (const n of [0xFFFFFFFF, 0xFFFFFFF0]) expect(x.malloc(n)).toBe(0);
    expect(h.stats().cacheBytes).toBe(cached);
    for (const n of [0xFFFFFFFF, 0xFFFFFFF0, 0xFFFF0000, 0x80000001, 17 << 20]) {
      expect(x.malloc(n)).toBe(0);
      expect([Status.OUT_OF_MEMORY, Status.SIZE_OVERFLOW]).toContain(x.last_error());
    }
    expect(x.aligned_alloc(0x80000000, 16)).toBe(0);
    x.last_error();
    expect(u(x.malloc(100))).not.toBe(0);
    h.check();
  });

  it("a small heap stays small: 100 objects of 10 sizes grow memory by < 300 KiB", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const h = makeHeap(build, { memory, heapBase: 8192 });
    const start = memory.buffer.byteLength;
    for (const n of [8, 16, 24, 40, 64, 100, 128, 200, 256, 500]) {
      for (let i = 0; i < 100; i++) expect(h.malloc(n)).not.toBe(0);
    }
    const grown = memory.buffer.byteLength - start;
    expect(grown).toBeLessThan(300 * 1024);
    expect(memory.buffer.byteLength).toBeLessThanOrEqual(start + 5 * WASM_PAGE_SIZE);
  });

  it("before memory grows, the cache hands back its objects of 1 KiB+: pages their spans held serve the request instead", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const h = makeHeap(build, { memory, heapBase: 8192 });
    const blocks = Array.from({ length: 24 }, () => h.malloc(40 << 10));
    for (const p of blocks) expect(p).not.toBe(0);
    for (const p of blocks) h.free(p);
    const before = h.stats();
    expect(before.cacheBytes).toBeGreaterThan(64 << 10);   // the spans of these pin their pages
    // more than the page heap holds free, less than that and the cache together
    const size = before.pageHeapFreeBytes + before.cacheBytes - (32 << 10);
    const big = h.malloc(size);
    expect(big).not.toBe(0);
    const after = h.stats();
    expect(after.memoryGrows).toBe(before.memoryGrows);
    expect(after.heapBytes).toBe(before.heapBytes);
    expect(after.cacheBytes).toBeLessThan(before.cacheBytes);
    new Uint8Array(memory.buffer, big, size).fill(7);
    h.free(big);
    h.check();
  });

  it("a big heap grows in few steps: from 64 to 256 MiB of memory in at most 13 grows (heap/8), overshooting < 1/8", () => {
    // each memory.grow past 64 MiB can cost V8 a full JS garbage collection (config.ts BIG_MEMORY)
    const memory = new WebAssembly.Memory({ initial: 1 });
    const h = makeHeap(build, { memory });
    let growsAt64 = -1;
    while (memory.buffer.byteLength < 256 << 20) {
      expect(h.malloc(1 << 20)).not.toBe(0);
      if (growsAt64 < 0 && memory.buffer.byteLength >= 64 << 20) growsAt64 = h.stats().memoryGrows;
    }
    expect(h.stats().memoryGrows - growsAt64).toBeLessThanOrEqual(13);   // heap/32 steps: ~45
    const s = h.stats();
    expect(memory.buffer.byteLength).toBeLessThan((s.inUseBytes + s.metadataBytes) * 1.125 + (2 << 20));
  });
});
