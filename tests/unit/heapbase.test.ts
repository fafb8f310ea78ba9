// A heap inside an existing memory: it starts at heapBase rounded up to 8 KiB and never touches
// a byte below it, nor pages another module grew in between the heap's growths.
import { describe, it, expect } from "vitest";
import { BUILDS, makeHeap } from "../helpers/heaps.js";
import { Workload } from "../helpers/workload.js";

const fillPattern = (mem: WebAssembly.Memory, from: number, to: number, seed: number): void => {
  const b = new Uint8Array(mem.buffer, from, to - from);
  for (let i = 0; i < b.length; i++) b[i] = (from + i) * 13 + seed;
};
const patternIntact = (mem: WebAssembly.Memory, from: number, to: number, seed: number): number => {
  const b = new Uint8Array(mem.buffer, from, to - from);
  for (let i = 0; i < b.length; i++) if (b[i] !== (((from + i) * 13 + seed) & 255)) return from + i;
  return -1;
};

describe.each(BUILDS)("heap at a chosen base (%s build)", (build) => {
  for (const heapBase of [100_000, 65536, 8192 * 7 + 1]) {
    it(`heapBase ${heapBase}: the heap starts at the next 8 KiB boundary and leaves the bytes below alone`, () => {
      const memory = new WebAssembly.Memory({ initial: 4 });
      fillPattern(memory, 0, memory.buffer.byteLength, 1);
      const h = makeHeap(build, { memory, heapBase });
      expect(h.base).toBe(Math.ceil(heapBase / 8192) * 8192);
      const w = new Workload(h, heapBase).run(3000);
      w.verify();
      h.check();
      expect(patternIntact(memory, 0, heapBase, 1)).toBe(-1);
      for (const p of w.live.keys()) expect(p).toBeGreaterThanOrEqual(h.base);
      w.freeAll();
      expect(patternIntact(memory, 0, heapBase, 1)).toBe(-1);
    });
  }

  it("heapBase 0 (default with a given memory): the heap starts at the end of memory", () => {
    const memory = new WebAssembly.Memory({ initial: 3 });
    const end = memory.buffer.byteLength;
    fillPattern(memory, 0, end, 2);
    const h = makeHeap(build, { memory });
    expect(h.base).toBe(end);
    new Workload(h, 7).run(2000).verify();
    expect(patternIntact(memory, 0, end, 2)).toBe(-1);
  });

  it("pages another module grows between the heap's growths stay untouched", () => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const h = makeHeap(build, { memory, heapBase: 8192 });
    const w = new Workload(h, 3).run(500);
    const from = memory.buffer.byteLength;
    memory.grow(3);   // someone else's pages
    const to = memory.buffer.byteLength;
    fillPattern(memory, from, to, 3);
    w.run(3000);
    w.verify();
    expect(patternIntact(memory, from, to, 3)).toBe(-1);
    for (const [p, b] of w.live) expect(p + b.size <= from || p >= to, `block ${p}`).toBe(true);
    h.check();
    const map = h.heapMap();
    expect(map.some((e) => e.kind === "metadata" && e.start <= from && e.start + e.pages * 8192 >= to)).toBe(true);
  });

  it("two heaps in one memory at different bases are independent", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const a = makeHeap(build, { memory, heapBase: 8192 });
    const wa = new Workload(a, 11).run(300);
    const b = makeHeap(build, { memory, heapBase: 0 });   // at the current end
    const wb = new Workload(b, 12).run(300);
    wa.run(300); wb.run(300);
    wa.verify(); wb.verify();
    a.check(); b.check();
    for (const p of wa.live.keys()) expect(() => b.free(p)).toThrow();
  });
});
