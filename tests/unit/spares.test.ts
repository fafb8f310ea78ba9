// Spares (assembly/pageheap.ts, taken first by largeblock.ts largeAlloc): the last large blocks
// freed are kept whole and handed out again to a request they fit within 1/8, so a program that
// cycles a few big buffers (bzip2: 3.6 MB twice and 256 KiB per file) reuses them without
// splitting and coalescing page runs, and never grows memory for them.
import { describe, it, expect } from "vitest";
import { makeHeap, u } from "../helpers/heaps.js";
import { PAGE_SIZE } from "../../src/index.js";

const BZIP2 = [3_600_000, 3_600_136, 262_148];

describe("spares (release build)", () => {
  it("bzip2's three big buffers per file: the same blocks every file, memory grown only for the first", () => {
    const h = makeHeap("release"), x = h.exports;
    // a block's pages, whatever its colour (each block takes the next colour)
    const page = (p: number): number => Math.floor(p / PAGE_SIZE);
    const first = BZIP2.map((n) => u(x.malloc(n)));
    for (const p of first) x.free(p);
    const memory = h.memory.buffer.byteLength;
    for (let file = 0; file < 200; file++) {
      const ps = BZIP2.map((n) => u(x.malloc(n)));
      expect(new Set(ps.map(page)), `file ${file}`).toEqual(new Set(first.map(page)));
      ps.forEach((p, i) => new Uint8Array(h.memory.buffer, p, BZIP2[i]).fill(file & 255, BZIP2[i] - 64));
      for (const p of ps) x.free(p);
    }
    expect(h.memory.buffer.byteLength).toBe(memory);
    expect(h.stats().largeSpans).toBe(0);
    h.check();
  });

  it("a spare is not cut for a request it would waste more than 1/8 of, and serves the next one it fits", () => {
    const h = makeHeap("release"), x = h.exports;
    // a 2 MiB free run elsewhere: `room`, freed first and pushed out of the 4 spares by 4 more
    const room = u(x.malloc(2 << 20)), big = u(x.malloc(1 << 20)), guard = u(x.malloc(100_000));
    const fillers = [0, 1, 2, 3].map(() => u(x.malloc(70_000)));
    for (const p of [room, ...fillers, big]) x.free(p);
    // (a block takes pages for its size and the largest colour: 1 MiB takes 129)
    const page = (p: number): number => Math.floor(p / PAGE_SIZE);
    const half = u(x.malloc(1 << 19));   // 65 pages: the 2 MiB run, not the 129-page spare
    expect(page(half)).not.toBe(page(big));
    expect(page(half)).toBe(page(room));
    expect(page(u(x.malloc((1 << 20) - PAGE_SIZE)))).toBe(page(big));   // 128 of its 129 pages: within 1/8
    for (const p of [half, big, guard]) x.free(p);
    h.check();
  });

  it("a large request no free run holds has the spares coalesce first, before fresh pages", () => {
    const h = makeHeap("release"), x = h.exports;
    const page = (p: number): number => Math.floor(p / PAGE_SIZE);
    x.free(u(x.malloc(8 << 20)));   // 8 MiB of top run to take fresh pages from
    const a = u(x.malloc(1 << 20)), b = u(x.malloc(1 << 20));   // adjacent, 129 pages each
    u(x.malloc(100_000));   // a guard after them
    x.free(a);
    x.free(b);   // both spares now, held apart
    const memory = h.memory.buffer.byteLength;
    const c = u(x.malloc(2 << 20));   // 257 pages: a and b coalesced, not the top's fresh pages
    expect(page(c)).toBe(page(a));
    expect(h.memory.buffer.byteLength).toBe(memory);
    h.check();
  });

  it("a large aligned request is aligned whether or not a spare of its size is free", () => {
    const h = makeHeap("release"), x = h.exports;
    for (const align of [16384, 65536, 1 << 20]) {
      const p = u(x.malloc(300_000));
      x.free(p);   // a spare of exactly the size asked for next
      const q = u(x.aligned_alloc(align, 300_000));
      expect(q % align, `aligned_alloc(${align}, 300000) = ${q}`).toBe(0);
      x.free(q);
    }
    h.check();
  });
});
