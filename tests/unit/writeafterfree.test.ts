// Writes after free into a free object's link (its first word) or free mark (its second): the
// commonest heap bug, a freed struct's first field written through a dangling pointer. Followed,
// the link would hand out a live block a second time, memory outside the heap, or trap (before
// this test: `free(a); *(u32*)a = live; malloc(); malloc()` returned `live`). Now a list is
// followed only through links inside memory to objects carrying the list's free mark; one that
// fails is cut there, its objects leaked and the event counted (stats.writesAfterFree). Each
// case checks that no call traps, no block is handed out twice (every live block keeps its
// bytes, and no new block overlaps one), check() passes, and the heap goes on working.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { BUILDS, makeHeap, u } from "../helpers/heaps.js";
import { Workload } from "../helpers/workload.js";
import { testSeed } from "../helpers/rng.js";
import { PAGE_SIZE } from "../../src/index.js";

describe.each(BUILDS)("writes after free (%s build)", (build) => {
  function setup() {
    const h = makeHeap(build);
    const w = new Workload(h, 11, 4096).run(2000);
    return { h, w, dv: () => new DataView(h.memory.buffer) };
  }

  /** Allocates n blocks of `size`, each filled with its own byte and kept live in the workload:
   *  none may be a block already live, none may overlap another, and every live block must keep
   *  its bytes. */
  function allocateChecked(w: Workload, n: number, size: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const p = u(w.heap.malloc(size));
      expect(w.live.has(p), `block ${p} handed out while live`).toBe(false);
      const byte = 1 + (i % 255);
      w.heap.bytes(p, size).fill(byte);
      w.live.set(p, { size, byte });
      out.push(p);
    }
    const blocks = [...w.live.entries()].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < blocks.length; i++) {
      const [q, b] = blocks[i - 1];
      expect(q + b.size <= blocks[i][0], `block ${q} (${b.size} B) overlaps block ${blocks[i][0]}`).toBe(true);
    }
    w.verify();
    return out;
  }

  /** A block of `size` allocated and freed (so on this instance's cache list of its class), then
   *  written after free: `link` into its first word, and `mark` into its second if given. */
  function freeThenWrite(h: ReturnType<typeof setup>["h"], size: number, link: number, mark?: number): number {
    const a = u(h.malloc(size));
    h.free(a);
    const dv = new DataView(h.memory.buffer);
    dv.setUint32(a, link, true);
    if (mark !== undefined) dv.setUint32(a + 4, mark, true);
    return a;
  }

  /** The garbage a program might leave in a freed block's first word, by what it points at. */
  const GARBAGE: Record<string, (h: ReturnType<typeof setup>["h"], w: Workload) => number> = {
    "a live block of the same size": (_, w) => w.alloc(48),
    "a live block of another size": (_, w) => w.alloc(300),
    // the debug build's free objects are filled with 0xDD: a live one holding those bytes too
    "a live block of the same size filled with poison bytes": (h, w) => {
      const p = w.alloc(48);
      h.bytes(p, 48).fill(0xDD);
      w.live.set(p, { size: 48, byte: 0xDD });
      return p;
    },
    "inside a live block": (_, w) => [...w.live.keys()][3] + 8,
    "below the heap": () => 1234,
    "the end of memory": (h) => h.memory.buffer.byteLength - 4,
    "beyond memory": () => 0x7FFFFFF0,
  };

  it("a cached object's link overwritten: malloc never follows it out of the list", () => {
    for (const [what, target] of Object.entries(GARBAGE)) {
      const { h, w } = setup();
      freeThenWrite(h, 48, target(h, w));
      const before = h.stats().writesAfterFree;
      allocateChecked(w, 300, 48);
      expect(h.stats().writesAfterFree, what).toBeGreaterThan(before);
      if (build === "debug") expect(h.reports.map((r) => r.code), what).toContain("WRITE_AFTER_FREE");
      h.check();
      w.run(2000).verify();
      h.check();
    }
  });

  it("a cached object's link and free mark overwritten: the object is not handed out", () => {
    const { h, w } = setup();
    freeThenWrite(h, 48, w.alloc(48), 0x41414141);
    allocateChecked(w, 300, 48);
    expect(h.stats().writesAfterFree).toBeGreaterThan(0);
    h.check();
    w.run(2000).verify();
  });

  it("an object back on its span's free list: the list is cut where its link leaves the span", () => {
    const { h, w, dv } = setup();
    // 2000 objects of one class, every 10th kept (their spans stay), the rest freed and flushed
    // from the cache into their spans' lists
    const blocks = allocateChecked(w, 2000, 96);
    const freed = blocks.filter((_, i) => i % 10 !== 0);
    for (const p of freed) w.free(p);
    h.threadExit();
    h.check();
    // links to a live block or past memory, and marks gone (so that the span's list cannot be
    // put back in order from its marks, which would mend it)
    const victim = w.alloc(2000);
    for (const [k, p] of freed.slice(0, 400).entries()) {
      dv().setUint32(p, k & 1 ? victim : 0x7FFFFFF0, true);
      dv().setUint32(p + 4, 0, true);
    }
    allocateChecked(w, 2000, 96);
    expect(h.stats().writesAfterFree).toBeGreaterThan(0);
    h.check();
    w.run(2000).verify();
    h.check();
  });

  it("a broken link met when the cache hands a batch back: the rest of the list is leaked, not followed", () => {
    const { h, w } = setup();
    freeThenWrite(h, 64, w.alloc(64));
    // enough frees of the class to overflow its list, whose batches go back to the spans
    const more = allocateChecked(w, 3000, 64);
    for (const p of more) w.free(p);
    h.threadExit();
    expect(h.stats().writesAfterFree).toBeGreaterThan(0);
    h.check();
    w.verify();
    allocateChecked(w, 500, 64);
    w.run(2000).verify();
    h.check();
  });

  it("a link to another cached object's class is refused: objects never change lists", () => {
    const { h, w } = setup();
    const other = u(h.malloc(1000));
    h.free(other);   // cached in the 1 KiB class, with its mark
    freeThenWrite(h, 48, other);
    const got = allocateChecked(w, 300, 48);
    expect(got).not.toContain(other);
    expect(h.stats().writesAfterFree).toBeGreaterThan(0);
    allocateChecked(w, 300, 1000);   // the 1 KiB class's list still holds it, once
    h.check();
  });
});

// Randomized: long sequences of mallocs, frees and reallocs (sizes 8 B-8 KiB, a shadow of every
// live block and its bytes) with writes after free mixed in, into small blocks freed earlier
// whose memory no live block has taken since: the first word (the link) set to a live block, to
// another freed block, past memory, or to noise, and sometimes the second word (the mark) too.
// After every step: nothing trapped, no block returned overlaps a live one, every live block
// keeps its bytes; at the end everything frees and the heap still serves every size.
describe.each(BUILDS)("writes after free, randomized (%s build)", (build) => {
  const SEED = testSeed(0x0af7e5);
  const RUNS = Math.max(1, Math.floor((Number(process.env.ASMALLOC_FUZZ_RUNS ?? "300") || 300) / 10));
  const op = fc.record({ k: fc.integer({ min: 0, max: 99 }), a: fc.nat(), b: fc.nat() });

  it(`${RUNS} sequences of up to 400 steps keep every live block intact`, () => {
    console.log(`writes after free ${build}: seed ${SEED} (replay: ASMALLOC_SEED=${SEED})`);
    let wrote = 0;
    fc.assert(fc.property(fc.array(op, { minLength: 50, maxLength: 400 }), (ops) => {
      const h = makeHeap(build), live = new Map<number, { size: number; byte: number }>();
      const freed: number[] = [];
      const dv = () => new DataView(h.memory.buffer);
      const sizeOf = (a: number) => 8 + (a % 4 === 0 ? a % 8185 : a % 505);
      const overlapsLive = (p: number, n: number) => [...live].some(([q, b]) => p < q + b.size && q < p + n);
      const adopt = (p: number, size: number, byte: number) => {
        if (overlapsLive(p, size)) throw new Error(`block ${p} (${size} B) overlaps a live block`);
        h.bytes(p, size).fill(byte);
        live.set(p, { size, byte });
      };
      const intact = () => {
        for (const [p, b] of live) if (h.bytes(p, b.size).some((v) => v !== b.byte)) throw new Error(`live block ${p} (${b.size} B) lost its bytes`);
      };
      for (const { k, a, b } of ops) {
        const keys = [...live.keys()];
        if (k < 45 || !keys.length) adopt(u(h.malloc(sizeOf(a))), sizeOf(a), 1 + (b % 255));
        else if (k < 80) {
          const p = keys[a % keys.length];
          live.delete(p);
          h.free(p);
          freed.push(p);
        } else if (k < 90) {
          const p = keys[a % keys.length], old = live.get(p)!, size = sizeOf(b);
          live.delete(p);
          const q = u(h.realloc(p, size));
          if (h.bytes(q, Math.min(size, old.size)).some((v) => v !== old.byte)) throw new Error(`realloc(${p}) lost its bytes`);
          adopt(q, size, old.byte);
          if (q !== p) freed.push(p);
        } else {
          // a write after free into a small block freed earlier, still free and still small
          const p = freed[a % Math.max(1, freed.length)];
          if (p === undefined || overlapsLive(p, 8)) continue;
          const span = h.heapMap().find((e) => e.start <= p && p < e.start + e.pages * PAGE_SIZE);
          if (span?.kind !== "small") continue;
          const targets = [keys[b % keys.length] ?? 0, freed[b % freed.length], 0x7FFFFFF0, b >>> 0, p + 8];
          dv().setUint32(p, targets[b % targets.length], true);
          if (b & 8) dv().setUint32(p + 4, a >>> 0, true);
          wrote++;
        }
        intact();
      }
      for (const p of [...live.keys()]) { live.delete(p); h.free(p); }
      for (const size of [8, 48, 100, 300, 1000, 4000, 8192]) {
        for (let i = 0; i < 50; i++) adopt(u(h.malloc(size)), size, 1 + (i % 255));
      }
      intact();
    }), { seed: SEED + (build === "debug" ? 1 : 0), numRuns: RUNS });
    expect(wrote).toBeGreaterThan(RUNS);
  });
});
