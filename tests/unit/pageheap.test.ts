// The page heap's free lists (release build; assembly/pageheap.ts): runs shorter than 128 pages
// sit on exact lists, and a bitmap of the non-empty ones makes findRun's best fit a bit scan.
// The best fit must survive that: a request takes the smallest free run that holds it, not
// the first one found nor the top; and check() must catch a bitmap that disagrees with a list.
import { describe, it, expect } from "vitest";
import { makeHeap, u } from "../helpers/heaps.js";
import { PAGE_SIZE, LARGE_COLOURS_BYTES, HeapCorruptionError } from "../../src/index.js";

/** A request that takes exactly n pages as a large block (n > 8). */
const pages = (n: number): number => n * PAGE_SIZE - (LARGE_COLOURS_BYTES - 64);
const page = (p: number): number => Math.floor(p / PAGE_SIZE);

describe("page heap free lists (release build)", () => {
  it("a request takes the smallest free run that holds it, across the bitmap's words", () => {
    const h = makeHeap("release"), x = h.exports;
    // runs of 12, 20, 45 and 110 pages, each between live guards (so they cannot coalesce)
    const sizes = [12, 20, 45, 110];
    const runs = sizes.map((n) => { const p = u(x.malloc(pages(n))); u(x.malloc(pages(9))); return p; });
    // four more blocks, freed after the runs, push them out of the spares (the last 4 large
    // blocks freed, kept whole) onto the free lists
    const fillers = [0, 1, 2, 3].map(() => u(x.malloc(pages(9))));
    for (const p of [...runs, ...fillers]) x.free(p);
    h.check();
    // pages asked, run expected: each leaves a remainder smaller than the next request (and the
    // spares, 9 pages each, fit none of them)
    const want: [number, number][] = [[10, 12], [13, 20], [30, 45], [100, 110]];
    for (const [n, run] of want) {
      const p = u(x.malloc(pages(n)));
      expect(page(p), `${n} pages from the ${run}-page run`).toBe(page(runs[sizes.indexOf(run)]));
      h.check();
    }
  });

  it("check() reports a bitmap bit set for an empty list as FREE_LISTS", () => {
    const h = makeHeap("release"), x = h.exports;
    x.free(u(x.malloc(100)));
    h.check();
    // PageHeap at header offset 256; its bitmap after 12 u32 fields; list 77's bit in word 2
    const word = (h.base + 256 + 48 + 8) >> 2;
    expect(h.u32[word] & (1 << (77 & 31))).toBe(0);
    h.u32[word] |= 1 << (77 & 31);
    expect(() => h.check()).toThrow(HeapCorruptionError);
    try { h.check(); } catch (e) { expect((e as HeapCorruptionError).what).toBe("FREE_LISTS"); }
    h.u32[word] &= ~(1 << (77 & 31));
    h.check();
  });
});
