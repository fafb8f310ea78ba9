// Allocator bugs the misuse fuzzer found, fixed (classify() refuses a freed small block for
// realloc and malloc_usable_size as free does); kept as minimal regression tests.
import { describe, it, expect } from "vitest";
import { BUILDS, makeHeap, u } from "../helpers/heaps.js";
import { Status } from "../../src/index.js";

describe.each(BUILDS)("fixed misuse bugs (%s build)", (build) => {
  // BUG: realloc does not check that its pointer is live before resizing in place. free(p) puts a
  // small block on the cache; realloc(p, n) with n in p's size class then returns p as a live
  // block (release: no error at all; debug: reports CANARY and WRITE_AFTER_FREE but still returns
  // p), while p is still on the free list: the next malloc of that class hands p out again, so
  // two owners share one block. free_checked(p) refuses the same pointer with DOUBLE_FREE.
  // Expected: realloc returns 0, last_error DOUBLE_FREE, counted once, nothing changes.
  it("realloc of a just-freed small block within its class is refused (not handed out twice)", () => {
    const h = makeHeap(build);
    const x = h.exports;
    const p = u(x.malloc(64));
    x.free(p);
    const q = u(x.realloc(p, 64));
    const st = x.last_error();
    const a = u(x.malloc(64));
    expect({ q, st }).toEqual({ q: 0, st: Status.DOUBLE_FREE });
    expect(a).toBe(p);   // p is still free: the next malloc may have it
    expect(h.stats().doubleFrees).toBe(1);
    h.check();
  });

  // BUG: realloc of a just-freed small block to another class moves it: allocates a new block,
  // copies the freed block's bytes (debug: reports CANARY on the poisoned block), and only then
  // the free of the old block detects the double free (last_error DOUBLE_FREE, counted) — but the
  // call returns the new block instead of 0. Expected: refused before anything is allocated.
  it("realloc of a just-freed small block to another class is refused, allocating nothing", () => {
    const h = makeHeap(build);
    const x = h.exports;
    const p = u(x.malloc(64));
    x.free(p);
    const before = h.stats().inUseBytes;
    const q = u(x.realloc(p, 200));
    expect({ q, st: x.last_error() }).toEqual({ q: 0, st: Status.DOUBLE_FREE });
    expect(h.stats().inUseBytes).toBe(before);
  });
});

describe("fixed misuse bugs (debug build only)", () => {
  // BUG: the debug build, which catches every double free of a small block, does not refuse
  // malloc_usable_size of a freed small block: it returns the block's size (72 for a 64 B block)
  // and reports CANARY (the poison overwrote the canary) instead of returning 0 with DOUBLE_FREE.
  it("malloc_usable_size of a freed small block returns 0 (DOUBLE_FREE)", () => {
    const h = makeHeap("debug");
    const x = h.exports;
    const p = u(x.malloc(64));
    x.free(p);
    const n = u(x.malloc_usable_size(p));
    expect({ n, st: x.last_error() }).toEqual({ n: 0, st: Status.DOUBLE_FREE });
  });
});
