// Large-block colours (release build; assembly/largeblock.ts adopt, policy in
// scripts/mksizeclasses.mjs): a large block starts a cache-line multiple below
// LARGE_COLOURS_BYTES past its first page, the next colour for each block, so that big buffers
// walked in step do not all sit at one offset of the 4 KiB over which L1's sets repeat.
// Page-aligned blocks, the build before, give one offset for all of them.
import { describe, it, expect } from "vitest";
import { makeHeap, u } from "../helpers/heaps.js";
import { PAGE_SIZE, LARGE_COLOURS_BYTES, Status, roundedSize } from "../../src/index.js";

const offsets = (ps: number[]): Set<number> => new Set(ps.map((p) => p % 4096));

describe("large-block colours (release build)", () => {
  it("32 buffers of 2 MiB (a page multiple, the usual vector size) start at 16 offsets of 4 KiB", () => {
    const h = makeHeap("release"), x = h.exports;
    const ps = Array.from({ length: 32 }, () => u(x.malloc(2 << 20)));
    for (const p of ps) {
      expect(p % 64).toBe(0);
      expect(p % PAGE_SIZE).toBeLessThan(LARGE_COLOURS_BYTES);
      expect(u(x.malloc_usable_size(p))).toBe(roundedSize(2 << 20) - (p % PAGE_SIZE));
      h.bytes(p, 2 << 20).fill(0x5a);   // all of it is the block's
    }
    expect(offsets(ps).size).toBe(LARGE_COLOURS_BYTES / 64);
    h.check();
    ps.forEach((p) => x.free(p));
    expect(h.stats().inUseBytes).toBe(0);
    h.check();
  });

  it("below 128 KiB a block takes the colours its last page's slack holds, and no extra page", () => {
    const h = makeHeap("release"), x = h.exports;
    const exact = Array.from({ length: 8 }, () => u(x.malloc(96 << 10)));   // a page multiple: no slack
    for (const p of exact) {
      expect(p % PAGE_SIZE).toBe(0);
      expect(u(x.malloc_usable_size(p))).toBe(96 << 10);
    }
    const slack = Array.from({ length: 32 }, () => u(x.malloc(100_000)));   // 13 pages: 6496 B of slack
    expect(offsets(slack).size).toBe(LARGE_COLOURS_BYTES / 64);
    const tight = Array.from({ length: 16 }, () => u(x.malloc(13 * PAGE_SIZE - 200)));   // 200 B of slack
    expect(new Set(tight.map((p) => p % PAGE_SIZE))).toEqual(new Set([0, 64, 128, 192]));
    h.check();
  });

  it("vectors doubling round-robin past the classes end up at distinct offsets, contents kept", () => {
    const h = makeHeap("release"), x = h.exports, n = 24;
    let ps = Array.from({ length: n }, (_, i) => { const p = u(x.malloc(16)); h.bytes(p, 16).fill(i); return p; });
    let size = 16;
    while (size < 1 << 20) {
      size *= 2;
      ps = ps.map((p, i) => {
        const q = u(x.realloc(p, size));
        expect(h.bytes(q, size / 2).every((b) => b === i), `vector ${i} at ${size}`).toBe(true);
        h.bytes(q, size).fill(i);
        return q;
      });
    }
    expect(offsets(ps).size).toBeGreaterThanOrEqual(12);
    h.check();
  });

  it("aligned large blocks: colours are multiples of the alignment, none from a page's alignment on", () => {
    const h = makeHeap("release"), x = h.exports;
    for (const align of [128, 512, 4096, 16384]) {
      const ps = Array.from({ length: 16 }, () => u(x.aligned_alloc(align, 300_000)));
      for (const p of ps) expect(p % align, `aligned_alloc(${align}) = ${p}`).toBe(0);
      const colours = new Set(ps.map((p) => p % PAGE_SIZE));
      expect(colours.size, `align ${align}`).toBe(Math.max(1, LARGE_COLOURS_BYTES / align));
      ps.forEach((p) => x.free(p));
    }
    h.check();
  });

  it("a block grown and shrunk in place keeps its colour; its usable bytes are its pages less it", () => {
    const h = makeHeap("release"), x = h.exports;
    x.free(u(x.malloc(100_000)));   // the next block takes the next colour, not 0
    const p = u(x.malloc(100_000));
    const colour = p % PAGE_SIZE;
    expect(colour).toBeGreaterThan(0);
    h.bytes(p, 100_000).fill(7);
    for (const n of [400_000, 3 << 20, 200_000, (3 << 20) + 5]) {   // at the top: in place
      expect(u(x.realloc(p, n)), `realloc to ${n}`).toBe(p);
      const usable = u(x.malloc_usable_size(p));
      expect(usable).toBeGreaterThanOrEqual(n);
      expect((usable + colour) % PAGE_SIZE).toBe(0);
      expect(h.bytes(p, 100_000).every((b) => b === 7)).toBe(true);
      h.check();
    }
  });

  it("a pointer into the colour, before the block, is refused as interior and changes nothing", () => {
    const h = makeHeap("release"), x = h.exports;
    x.free(u(x.malloc(100_000)));
    const p = u(x.malloc(100_000)), page = p - (p % PAGE_SIZE);
    expect(p).toBeGreaterThan(page);
    const before = h.stats();
    expect(x.free_checked(page)).toBe(Status.INTERIOR);
    expect(x.free_checked(p - 64)).toBe(Status.INTERIOR);
    expect(u(x.malloc_usable_size(page))).toBe(0);
    expect(h.stats().inUseBytes).toBe(before.inUseBytes);
    h.check();
    expect(x.free_checked(p)).toBe(Status.OK);
    h.check();
  });

  it("calloc of a large block from reused pages is zero from its colour on", () => {
    const h = makeHeap("release"), x = h.exports;
    const a = u(x.malloc(500_000));
    h.bytes(a, 500_000).fill(0xff);
    x.free(a);
    for (let i = 0; i < 3; i++) {
      const p = u(x.calloc(1, 500_000));
      expect(h.bytes(p, 500_000).every((b) => b === 0), `calloc #${i} at ${p}`).toBe(true);
      h.bytes(p, 500_000).fill(0xee);
      x.free(p);
    }
    h.check();
  });
});
