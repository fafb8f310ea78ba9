// The central tier (release build; assembly/central.ts): objects freed in random order come back
// out of a span in address order (orderFreeList), the marks that ordering relies on cannot make
// it hand out a live block, a class in heavy use takes hot spans, and successive spans start
// their objects at different cache lines (newSmallSpan).
import { describe, it, expect } from "vitest";
import { makeHeap, u } from "../helpers/heaps.js";
import { Rng } from "../helpers/rng.js";
import { PAGE_SIZE } from "../../src/index.js";
import { CLASS_SIZES, CLASS_SPAN_PAGES, CLASS_HOT_SPAN_PAGES, sizeToClass } from "../../src/sizeclasses.js";

/** The marks a free object of class cls carries in its second word (assembly/span.ts): on its
 *  span's list (spanFreeMark) and on a cache list (cacheFreeMark). */
const spanFreeMark = (p: number, cls: number): number => (p ^ 0xF5EEF5EE ^ (cls << 24)) >>> 0;
const cacheFreeMark = (p: number, cls: number): number => (p ^ 0xF5EEF5EF ^ (cls << 24)) >>> 0;

function shuffle<T>(xs: T[], rng: Rng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** Of the consecutive pairs in `ps` that share a page, the fraction in ascending address order. */
function ascendingWithinPages(ps: number[]): number {
  let pairs = 0, up = 0;
  for (let i = 1; i < ps.length; i++) {
    if (Math.floor(ps[i] / PAGE_SIZE) !== Math.floor(ps[i - 1] / PAGE_SIZE)) continue;
    pairs++;
    if (ps[i] > ps[i - 1]) up++;
  }
  return up / pairs;
}

describe("central free lists (release build)", () => {
  it("objects freed in random order are handed out again in address order within their span", () => {
    const h = makeHeap("release"), x = h.exports, rng = new Rng(7);
    const first = Array.from({ length: 20_000 }, () => u(x.malloc(48)));
    // every 50th stays live, so that no span empties and gets carved afresh (in order anyway)
    for (const p of shuffle(first.filter((_, i) => i % 50), rng)) x.free(p);
    const again = Array.from({ length: 19_600 }, () => u(x.malloc(48)));
    expect(new Set(again).size).toBe(again.length);
    // in free order it would be about half; the cache's own list (at most 1024 objects, LIFO)
    // comes first and is in free order
    expect(ascendingWithinPages(again)).toBeGreaterThan(0.9);
    h.check();
  });

  it("a live object whose second word looks like the free mark is never handed out", () => {
    const h = makeHeap("release"), x = h.exports, rng = new Rng(11);
    const blocks = Array.from({ length: 6000 }, () => u(x.malloc(48)));
    // one live block in every span, carrying the mark a free object would have
    const live = new Set<number>();
    for (const p of blocks) {
      const page = Math.floor(p / PAGE_SIZE);
      if ([...live].some((q) => Math.floor(q / PAGE_SIZE) === page)) continue;
      live.add(p);
      h.u32[(p + 4) >> 2] = spanFreeMark(p, sizeToClass(48));
    }
    for (const p of shuffle(blocks.filter((p) => !live.has(p)), rng)) x.free(p);
    const again = Array.from({ length: 6000 }, () => u(x.malloc(48)));
    expect(again.filter((p) => live.has(p))).toEqual([]);
    expect(new Set(again).size).toBe(again.length);
    for (const p of live) expect(h.u32[(p + 4) >> 2]).toBe(spanFreeMark(p, sizeToClass(48)));
    h.check();
  });

  it("a live block whose second word looks like a free mark is freed, resized and sized like any other", () => {
    const h = makeHeap("release"), x = h.exports;
    const ps = Array.from({ length: 400 }, () => u(x.malloc(40)));
    for (const p of ps.slice(0, 100)) x.free(p);   // some free objects of the class, in the cache
    x.thread_exit();
    for (const p of ps.slice(100, 150)) x.free(p);   // and some in the cache
    const lookalikes = ps.slice(150, 160);
    lookalikes.forEach((p, i) => { h.u32[(p + 4) >> 2] = i & 1 ? cacheFreeMark(p, sizeToClass(40)) : spanFreeMark(p, sizeToClass(40)); });
    expect(lookalikes.map((p) => u(x.malloc_usable_size(p)))).toEqual(lookalikes.map(() => 48));
    const moved = u(x.realloc(lookalikes[0], 40));   // stays: same class
    expect(moved).toBe(lookalikes[0]);
    for (const p of lookalikes) expect(x.free_checked(p)).toBe(0);
    expect(h.stats().doubleFrees).toBe(0);
    h.check();
    const again = Array.from({ length: 300 }, () => u(x.malloc(40)));
    expect(new Set(again).size).toBe(again.length);
    for (const p of lookalikes) expect(again).toContain(p);
    h.check();
  });

  it("check() finds a freed object written after its free (its free mark gone)", () => {
    const h = makeHeap("release"), x = h.exports;
    const ps = Array.from({ length: 50 }, () => u(x.malloc(64)));
    x.free(ps[10]);
    h.check();
    h.u32[(ps[10] + 4) >> 2] = 12345;
    expect(() => h.check()).toThrow(/FREE_MARK/);
    h.u32[(ps[10] + 4) >> 2] = cacheFreeMark(ps[10], sizeToClass(64));
    h.check();
  });

  it("successive spans of a class start their objects at different cache lines (span colours)", () => {
    const h = makeHeap("release"), x = h.exports;
    // 16 KiB buffers: 4 objects of 16448 B to a 9-page span. Page-aligned spans would put the
    // 400 of them in 32 of L2's 1024 sets (64 KiB apart, 16 ways) and in 4 of L1's 64
    const ps = Array.from({ length: 400 }, () => u(x.malloc(16384)));
    const sets = (period: number) => new Set(ps.map((p) => Math.floor((p % period) / 64))).size;
    expect(sets(65536)).toBeGreaterThan(300);
    expect(sets(4096)).toBe(64);
    for (const p of ps) expect(p % 16).toBe(0);
    h.check();
    for (const p of ps) x.free(p);
    h.check();
  });

  it("colours keep objects as aligned as their class size: aligned_alloc(256, 1100) from many spans", () => {
    const h = makeHeap("release"), x = h.exports;
    // 1280 B class (the first multiple of 256 at or above 1100 B): 6 objects and a 512 B tail
    // to a page, colours of 0 or 256 B
    const ps = Array.from({ length: 300 }, () => u(x.aligned_alloc(256, 1100)));
    for (const p of ps) expect(p % 256, `aligned_alloc(256, 1100) = ${p}`).toBe(0);
    expect(new Set(ps.map((p) => p % PAGE_SIZE)).size).toBeGreaterThan(6);   // both colours used
    h.check();
  });

  it("a class takes hot spans (less tail waste) once it holds 16 spans: 6000 SQLite page-cache entries cost < 5% over their size", () => {
    const h = makeHeap("release"), x = h.exports, n = 6000, size = 4272;   // 4096 B page + SQLite's headers
    const cls = sizeToClass(size);
    expect(CLASS_HOT_SPAN_PAGES[cls]).toBeGreaterThan(CLASS_SPAN_PAGES[cls]);
    const ps = Array.from({ length: n }, () => u(x.malloc(size)));
    const spans = h.heapMap().filter((e) => e.kind === "small" && e.cls === cls);
    const small = spans.filter((e) => e.pages === CLASS_SPAN_PAGES[cls]).length;
    expect(small).toBe(16);   // config.ts HOT_SPANS
    expect(spans.length - small).toBe(spans.filter((e) => e.pages === CLASS_HOT_SPAN_PAGES[cls]).length);
    const bytes = spans.reduce((t, e) => t + e.pages * PAGE_SIZE, 0);
    // 4352 B objects, 11 per 6-page hot span: 4468 B each (+4.6%); the 4608 B class of 8 steps
    // per power of two took 5 per 3 pages, 4915 B each (+15%)
    expect(CLASS_SIZES[cls]).toBeLessThan(size * 1.03);
    expect(bytes / (n * size)).toBeLessThan(1.05);
    for (const p of ps) x.free(p);
    expect(h.classProfile()[cls - 1]).toMatchObject({ cls, inUse: 0 });
    h.check();
  });
});
