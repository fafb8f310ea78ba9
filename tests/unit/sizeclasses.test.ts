// Size-class and stats-layout generators: the committed files are exactly what the generators
// write (STYLE 15), and the tables keep their promises (waste, alignment, smallest fitting class).
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
// @ts-expect-error: plain ES module without types
import * as gen from "../../scripts/mksizeclasses.mjs";
// @ts-expect-error: plain ES module without types
import * as genStats from "../../scripts/mkstats.mjs";
import { CLASS_SIZES, CLASS_COUNT, CLASS_SPAN_PAGES, CLASS_HOT_SPAN_PAGES, MAX_SMALL_SIZE, PAGE_SIZE, CACHE_SKEW, LARGE_COLOURS_BYTES, LARGE_COLOUR_ROOM_FROM, sizeToClass, roundedSize } from "../../src/sizeclasses.js";
import { STATS_FIELDS } from "../../src/statsfields.js";

const root = join(import.meta.dirname, "../..");
const read = (p: string): string => readFileSync(join(root, p), "utf8");

describe("generated files", () => {
  it("assembly/sizeclasses.ts and src/sizeclasses.ts are byte for byte what mksizeclasses renders", () => {
    const out = gen.render();
    expect(read("assembly/sizeclasses.ts")).toBe(out.as);
    expect(read("src/sizeclasses.ts")).toBe(out.ts);
  });
  it("assembly/statsfields.ts and src/statsfields.ts are byte for byte what mkstats renders", () => {
    const out = genStats.render();
    expect(read("assembly/statsfields.ts")).toBe(out.as);
    expect(read("src/statsfields.ts")).toBe(out.ts);
    expect(STATS_FIELDS).toEqual(genStats.FIELDS.map((f: string[]) => f[0]));
  });
});

describe("size classes", () => {
  it("run from 8 B to 64 KiB, increasing, with a span size per class", () => {
    expect(CLASS_SIZES.length).toBe(CLASS_COUNT);
    expect(CLASS_SIZES[1]).toBe(8);
    expect(CLASS_SIZES[CLASS_COUNT - 1]).toBe(MAX_SMALL_SIZE);
    expect(MAX_SMALL_SIZE).toBeGreaterThanOrEqual(32 * 1024);
    for (let c = 2; c < CLASS_COUNT; c++) expect(CLASS_SIZES[c]).toBeGreaterThan(CLASS_SIZES[c - 1]);
    for (let c = 1; c < CLASS_COUNT; c++) {
      expect(CLASS_SPAN_PAGES[c] * PAGE_SIZE).toBeGreaterThanOrEqual(CLASS_SIZES[c]);
    }
  });
  it("waste at most 12.5% by rounding above 128 B, and at most 1/8 of a span in its tail", () => {
    for (let c = 2; c < CLASS_COUNT; c++) {
      const size = CLASS_SIZES[c], prev = CLASS_SIZES[c - 1];
      if (size > 128) expect((size - (prev + 1)) / size, `class ${c} (${size} B)`).toBeLessThanOrEqual(0.125);
      const span = CLASS_SPAN_PAGES[c] * PAGE_SIZE;
      expect(span % size, `class ${c} tail`).toBeLessThanOrEqual(span / 8);
    }
  });
  it("hot spans: at least the span, at most 16 pages; where larger, a tail of at most 1/32", () => {
    for (let c = 1; c < CLASS_COUNT; c++) {
      const pages = CLASS_HOT_SPAN_PAGES[c], hot = pages * PAGE_SIZE;
      expect(pages, `class ${c}`).toBeGreaterThanOrEqual(CLASS_SPAN_PAGES[c]);
      expect(pages, `class ${c}`).toBeLessThanOrEqual(16);
      if (pages > CLASS_SPAN_PAGES[c]) expect(hot % CLASS_SIZES[c], `class ${c} hot tail`).toBeLessThanOrEqual(hot / 32);
    }
  });
  it("16 classes per power of two from 4 KiB: rounding waste there below 6.25%", () => {
    for (let c = 2; c < CLASS_COUNT; c++) {
      const size = CLASS_SIZES[c], prev = CLASS_SIZES[c - 1];
      if (prev >= 4096) expect((size - (prev + 1)) / size, `class ${c} (${size} B)`).toBeLessThan(0.0625);
    }
  });
  it("are 16-byte multiples from 16 B (so blocks are 16-byte aligned), 8 below", () => {
    for (let c = 1; c < CLASS_COUNT; c++) {
      const size = CLASS_SIZES[c];
      expect(size % (size >= 16 ? 16 : 8), `class ${c}`).toBe(0);
    }
  });
  it("sizeToClass picks the smallest class that fits (before the cache skew), for every size 1..64 KiB", () => {
    // a class skewed off a multiple of 1 KiB takes requests up to its unskewed size only
    const base = (c: number) => (CLASS_SIZES[c] > 1024 && CLASS_SIZES[c] % 1024 === CACHE_SKEW ? CLASS_SIZES[c] - CACHE_SKEW : CLASS_SIZES[c]);
    for (let n = 1; n <= MAX_SMALL_SIZE; n++) {
      const c = sizeToClass(n);
      if (CLASS_SIZES[c] < n || (c > 1 && base(c - 1) >= n)) throw new Error(`sizeToClass(${n}) = ${c}`);
    }
  });
  it("no class from 1 KiB but the largest is a multiple of 1 KiB (objects would alias in the cache)", () => {
    for (let c = 1; c < CLASS_COUNT - 1; c++) expect(CLASS_SIZES[c] >= 1024 && CLASS_SIZES[c] % 1024 === 0, `class ${c}`).toBe(false);
  });
  it("roundedSize: class size up to 64 KiB; above, whole pages (from 128 KiB with room for the largest colour); 0 as 1", () => {
    expect(roundedSize(0)).toBe(8);
    expect(roundedSize(17)).toBe(32);
    expect(roundedSize(MAX_SMALL_SIZE)).toBe(MAX_SMALL_SIZE);
    expect(roundedSize(MAX_SMALL_SIZE + 1)).toBe(MAX_SMALL_SIZE + PAGE_SIZE);
    expect(roundedSize(LARGE_COLOUR_ROOM_FROM - 1)).toBe(LARGE_COLOUR_ROOM_FROM);   // no room below
    expect(roundedSize(LARGE_COLOUR_ROOM_FROM)).toBe(LARGE_COLOUR_ROOM_FROM + PAGE_SIZE);
    expect(roundedSize((1 << 20) - LARGE_COLOURS_BYTES + 64)).toBe(1 << 20);   // the largest colour fits
    expect(roundedSize((1 << 20) - LARGE_COLOURS_BYTES + 65)).toBe((1 << 20) + PAGE_SIZE);
    expect(roundedSize(1 << 20)).toBe((1 << 20) + PAGE_SIZE);
  });
});
