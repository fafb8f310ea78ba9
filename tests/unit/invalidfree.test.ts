// Pointers the heap must refuse (issue 2 items 4, 11, 13): foreign (below the base, beyond
// memory, the header page, metadata chunks, never handed out), interior (small and large
// blocks), double frees (immediately after the free), and pointers into free pages. Each is
// refused with its Status by free, realloc and usableSize, counted, and changes nothing:
// every live block keeps its contents, check() passes, and the workload continues.
import { describe, it, expect } from "vitest";
import { BUILDS, makeHeap, u } from "../helpers/heaps.js";
import { HeapError, PAGE_SIZE, type StatusName } from "../../src/index.js";
import { Workload } from "../helpers/workload.js";

describe.each(BUILDS)("invalid pointers (%s build)", (build) => {
  function setup() {
    const h = makeHeap(build);
    const w = new Workload(h, 5).run(1500);
    const small = w.alloc(100), large = w.alloc(200_000);
    return { h, w, small, large };
  }

  /** Passes p to free, realloc and usableSize; each must throw HeapError `code`; then checks
   *  the heap is unchanged and counted the refusals. */
  function refused(h: ReturnType<typeof setup>["h"], w: Workload, p: number, codes: StatusName[], what: string): void {
    const before = h.stats();
    const ops: [string, () => unknown][] = [["free", () => h.free(p)], ["realloc", () => h.realloc(p, 64)], ["usableSize", () => h.usableSize(p)]];
    for (const [op, f] of ops) {
      let err: unknown;
      try { f(); } catch (e) { err = e; }
      expect(err, `${op}(${p}) [${what}] must throw`).toBeInstanceOf(HeapError);
      expect(codes, `${op}(${p}) [${what}]`).toContain((err as HeapError).code);
      expect((err as HeapError).ptr).toBe(p);
    }
    const after = h.stats();
    expect(after.badFrees + after.doubleFrees - before.badFrees - before.doubleFrees, what).toBe(ops.length);
    for (const k of ["inUseBytes", "heapBytes", "largeSpans", "smallSpans", "pageHeapFreeBytes"] as const) expect(after[k], `${what}: ${k}`).toBe(before[k]);
    w.verify();
    h.check();
  }

  it("foreign pointers: below the heap base, beyond memory, the header page, metadata chunks", () => {
    const { h, w } = setup();
    const end = h.memory.buffer.byteLength;
    const meta = h.heapMap().filter((e) => e.kind === "metadata");
    expect(meta.length).toBeGreaterThan(0);
    const cases: [number, string][] = [
      [8, "just above NULL"], [h.base - 8, "just below the base"], [h.base >>> 1, "halfway to the base"],
      [end, "the end of memory"], [end + 64, "beyond memory"], [0xFFFFFFF0, "top of the address space"],
      [h.base, "the heap header"], [h.base + 16, "inside the header"], [h.base + PAGE_SIZE - 8, "end of the header page"],
      ...meta.flatMap((m): [number, string][] => [[m.start, "a metadata chunk"], [m.start + 4096 + 16, "inside a metadata chunk"]]),
    ];
    for (const [p, what] of cases) refused(h, w, p, ["FOREIGN"], what);
    if (build === "debug") expect(h.reports.filter((r) => r.code === "FOREIGN").length).toBeGreaterThanOrEqual(2 * cases.length);   // free and realloc report
    w.run(1500).verify();
    h.check();
  });

  it("interior pointers of small and large blocks", () => {
    const { h, w, small, large } = setup();
    for (const k of [1, 8, 16, 64, 99]) refused(h, w, small + k, ["INTERIOR"], `small block + ${k}`);
    for (const k of [8, 16, PAGE_SIZE, 100_000, 199_992]) refused(h, w, large + k, ["INTERIOR"], `large block + ${k}`);
    w.run(1500).verify();
  });

  it("an object never handed out (past its span's carve mark) is foreign", () => {
    const h = makeHeap(build);
    const p = h.malloc(1024);   // a fresh span of the 1 KiB class: objects after p not yet carved out
    const w = new Workload(h, 9);
    w.live.set(p, { size: 0, byte: 0 });
    refused(h, w, p + 6 * 1024 + (build === "debug" ? 1024 : 0), ["FOREIGN"], "beyond the carve mark");
  });

  it("double free right after the free is refused as DOUBLE_FREE (or FREE_PAGES once its span is returned)", () => {
    const { h, w } = setup();
    for (const size of [8, 100, 3000, 40_000, 70_000, 1 << 20]) {
      const p = w.alloc(size);
      w.free(p);
      const before = h.stats();
      let err: unknown;
      try { h.free(p); } catch (e) { err = e; }
      expect(err, `double free of a ${size} B block`).toBeInstanceOf(HeapError);
      expect(["DOUBLE_FREE", "FREE_PAGES"]).toContain((err as HeapError).code);
      const after = h.stats();
      expect(after.doubleFrees + after.badFrees).toBe(before.doubleFrees + before.badFrees + 1);
      expect(after.inUseBytes).toBe(before.inUseBytes);
      w.verify();
      h.check();
    }
    // nothing is handed out twice afterwards
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) { const p = h.malloc(8 + (i % 5) * 40); expect(seen.has(p)).toBe(false); seen.add(p); }
    w.run(1000).verify();
  });

  it("a double free long after the free is refused too: wherever the first copy went (cache, span), by free, realloc and usableSize", () => {
    const { h, w } = setup();
    const x = h.exports;
    // freed blocks of several classes, each followed by other frees (no longer at the head of
    // its cache list); then half of the cache goes back to the spans
    const sizes = [8, 24, 100, 700, 3000, 20_000];
    const early = sizes.map((n) => w.alloc(n)), late = sizes.map((n) => w.alloc(n));
    for (const p of early) w.free(p);
    for (let i = 0; i < 300; i++) w.free(w.alloc(8 + (i % 6) * 50));
    x.thread_exit();   // every cached object back to its span
    for (const p of late) w.free(p);
    for (let i = 0; i < 300; i++) w.free(w.alloc(8 + (i % 6) * 50));
    // small blocks stay in the cache, or in spans that other blocks keep: DOUBLE_FREE; a span
    // whose objects are all free has gone back to the page heap: FREE_PAGES
    for (const [i, p] of [...early, ...late].entries()) {
      refused(h, w, p, sizes[i % sizes.length] <= 100 ? ["DOUBLE_FREE"] : ["DOUBLE_FREE", "FREE_PAGES"], `freed block ${p}`);
    }
    // nothing is handed out twice afterwards
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) { const p = h.malloc(sizes[i % sizes.length]); expect(seen.has(p)).toBe(false); seen.add(p); }
    w.run(1000).verify();
    h.check();
  });

  it("pointers into pages the heap holds free: FREE_PAGES", () => {
    const { h, w } = setup();
    const big = w.alloc(3 << 20);
    w.free(big);
    // the freed run is coalesced and free: its start and its inside are free pages
    refused(h, w, big, ["FREE_PAGES", "DOUBLE_FREE"], "start of a freed large block");
    refused(h, w, big + PAGE_SIZE, ["FREE_PAGES"], "a page inside a freed large block");
    refused(h, w, big + 2 * PAGE_SIZE + 16, ["FREE_PAGES"], "inside a free page");
    const top = h.heapMap().filter((e) => e.kind === "free").pop()!;
    refused(h, w, top.start + PAGE_SIZE * (top.pages - 1), ["FREE_PAGES"], "the last free page");
    w.run(1500).verify();
    h.check();
  });

  it("after many refusals of every kind, a long workload still verifies", () => {
    const { h, w, small, large } = setup();
    let bad = 0;
    for (let i = 0; i < 300; i++) {
      for (const p of [small + 8, large + 8, 8, h.base + 64, h.memory.buffer.byteLength + 8]) {
        try { h.free(p); } catch { bad++; }
      }
      w.run(20);
    }
    expect(bad).toBe(1500);
    expect(h.stats().badFrees).toBe(1500);
    w.verify();
    h.check();
    w.freeAll();
    h.check();
    expect(h.stats().inUseBytes).toBe(0);
  });
});

// raw ABI: free() (no status) of a bad pointer is also harmless
describe.each(BUILDS)("raw free of invalid pointers (%s build)", (build) => {
  it("free() ignores and counts them; last_error names the reason", () => {
    const h = makeHeap(build), x = h.exports;
    const p = u(x.malloc(64));
    x.free(p + 8);
    expect(x.last_error()).toBe(2);
    x.free(4);
    expect(x.last_error()).toBe(1);
    expect(x.last_error()).toBe(0);   // cleared by reading
    expect(h.stats().badFrees).toBe(2);
    expect(x.free_checked(p)).toBe(0);
  });
});
