// The front-end cache's budget (release build; assembly/threadcache.ts growMaxLength): a class
// whose list would grow past the budget takes capacity from the other classes only every
// CACHE_STEAL_EVERY-th time it is refused (assembly/config.ts), not on every miss, yet a class a
// program has stopped using still gives its capacity up to one it uses now.
import { describe, it, expect } from "vitest";
import { makeHeap, u } from "../helpers/heaps.js";
import { sizeToClass } from "../../src/sizeclasses.js";

/** assembly/config.ts CACHE_STEAL_EVERY */
const STEAL_EVERY = 16;

describe("cache budget (release build)", () => {
  it(`an over-budget class takes capacity from the others every ${STEAL_EVERY}th refusal, not on every miss`, () => {
    const h = makeHeap("release"), x = h.exports;
    // class A (960 B: below the 1 KiB of the flush before growth) takes ~90% of the 1 MiB budget
    const clsA = sizeToClass(960);
    for (let round = 0; round < 3; round++) {
      const blocks = Array.from({ length: 1100 }, () => u(x.malloc(960)));
      for (const p of blocks) x.free(p);
    }
    const cachedA = () => h.classProfile()[clsA - 1].cached;
    expect(cachedA() * 960).toBeGreaterThan(800 << 10);
    // then blocks of 32 KiB, all kept: every one is a miss that asks the budget for more
    const drops: number[] = [];
    let last = cachedA();
    for (let miss = 1; miss <= 80; miss++) {
      expect(x.malloc(32 << 10)).not.toBe(0);
      const now = cachedA();
      if (now < last) drops.push(miss);
      last = now;
    }
    // taking capacity on every refusal: A shrank at misses 4, 18, 25, 28, 29, 31, 33 ... and was
    // left empty; now it gives up half its capacity at a time, 16+ misses apart
    expect(drops.length).toBeGreaterThanOrEqual(2);
    for (let k = 1; k < drops.length; k++) expect(drops[k] - drops[k - 1]).toBeGreaterThanOrEqual(STEAL_EVERY);
    expect(drops[0]).toBeGreaterThan(STEAL_EVERY);
    expect(cachedA()).toBeGreaterThan(0);
    h.check();
  });
});
