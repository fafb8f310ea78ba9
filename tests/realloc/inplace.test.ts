// realloc without copying (issue 4): every path keeps the contents — same class, large blocks
// grown in place into free pages or at the heap top, shrunk in place, moved when a neighbour
// is in the way, and across the small/large boundary — and the copied-bytes counter says
// which paths copied.
import { describe, it, expect, beforeEach } from "vitest";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decodeStats, HeapStats } from "../../src/statsfields";
import { Rng, testSeed, opsScale } from "../helpers/rng";

const root = fileURLToPath(new URL("../../", import.meta.url));
const allocModule = new WebAssembly.Module(readFileSync(root + "build/asmalloc.wasm"));
const inspectModule = new WebAssembly.Module(readFileSync(root + "build/asmalloc.inspect.wasm"));
const KiB = 1024, MiB = 1024 * KiB;

let memory: WebAssembly.Memory;
let A: any, I: any;

/** A heap of its own on a fresh memory (the inspector is bound separately: binding takes a
 *  little heap metadata, which changes where later metadata can go). */
function newHeap(): void {
  memory = new WebAssembly.Memory({ initial: 1, maximum: 16384 });
  A = new WebAssembly.Instance(allocModule, { env: { memory } }).exports;
  expect(A.init(65536)).toBe(1);
}
function bindInspector(): void {
  I = new WebAssembly.Instance(inspectModule, { env: { memory } }).exports;
  expect(I.bind(65536)).toBe(1);
}

beforeEach(() => {
  newHeap();
  bindInspector();
});

const stats = (): HeapStats => decodeStats(new Float64Array(memory.buffer, I.stats(), 18));
function fill(p: number, n: number, seed: number) {
  const b = new Uint8Array(memory.buffer, p, n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 255;
}
function expectFilled(p: number, n: number, seed: number) {
  const b = new Uint8Array(memory.buffer, p, n);
  for (let i = 0; i < n; i++) if (b[i] !== ((i * 31 + seed) & 255)) throw new Error(`byte ${i} of ${p} lost (n=${n})`);
}
function realloc(p: number, n: number, kept: number, seed: number): number {
  const q = A.realloc(p, n);
  expect(q, `realloc(${p}, ${n})`).not.toBe(0);
  expectFilled(q, kept, seed);
  expect(A.malloc_usable_size(q)).toBeGreaterThanOrEqual(n);
  expect(I.check()).toBe(0);
  return q;
}

describe("realloc in place", () => {
  it("same class keeps the pointer and copies nothing", () => {
    const p = A.malloc(100);
    fill(p, 100, 1);
    expect(realloc(p, 112, 100, 1)).toBe(p);
    expect(realloc(p, 97, 97, 1)).toBe(p);
    expect(stats().reallocCopiedBytes).toBe(0);
  });

  it("a size within a class's skew (past its multiple of 1 KiB) stays in the block that holds it", () => {
    // malloc(17409) takes the next class (18496 B), but a 17472 B block holds 17409 B: realloc
    // keeps it there, and the stats count the block as it is (found by the model test, seed 5)
    const p = A.malloc(16389);
    fill(p, 16389, 2);
    expect(A.malloc_usable_size(p)).toBe(17472);
    expect(realloc(p, 17409, 16389, 2)).toBe(p);
    expect(A.malloc_usable_size(p)).toBe(17472);
    expect(realloc(p, 17473, 16389, 2)).not.toBe(p);
    expect(stats().inUseBytes).toBe(18496);
  });

  it("a small block shrinks in place down to about half its class, and moves below that", () => {
    for (const size of [8, 32, 1000, 60000]) {
      const p = A.malloc(size);
      const cls = A.malloc_usable_size(p);
      // the rule: in place while 2 * size + 8 > class size
      const stays = (cls >> 1) - 2, moves = cls > 8 ? (cls >> 1) - 8 : 0;
      fill(p, stays, 3);
      expect(realloc(p, stays, stays, 3), `${size} -> ${stays} (class ${cls})`).toBe(p);
      if (moves) {
        const q = realloc(p, moves, moves, 3);
        expect(q, `${size} -> ${moves} (class ${cls})`).not.toBe(p);
        expect(A.malloc_usable_size(q)).toBeLessThan(cls);
        A.free(q);
      } else A.free(p);
    }
    expect(I.check()).toBe(0);
  });

  it("a large block at the heap top grows in place through memory.grow", () => {
    let p = A.malloc(100 * KiB);
    fill(p, 100 * KiB, 2);
    for (let n = 104 * KiB; n <= 8 * MiB; n += 4 * KiB) p = realloc(p, n, 100 * KiB, 2) === p ? p : (() => { throw new Error(`moved at ${n}`); })();
    expect(stats().reallocCopiedBytes).toBe(0);
    expect(stats().reallocInPlace).toBeGreaterThan(1000);
  });

  it("grows into free pages after it, and shrinks in place handing pages back", () => {
    const a = A.malloc(256 * KiB), b = A.malloc(512 * KiB), c = A.malloc(128 * KiB);
    fill(a, 256 * KiB, 3);
    A.free(b);                                      // free pages right after a
    const freeBefore = stats().pageHeapFreeBytes;
    expect(realloc(a, 700 * KiB, 256 * KiB, 3)).toBe(a);
    expect(stats().pageHeapFreeBytes).toBeLessThan(freeBefore);
    expect(realloc(a, 100 * KiB, 100 * KiB, 3)).toBe(a);   // shrink: tail pages go back
    expect(stats().pageHeapFreeBytes).toBeGreaterThan(freeBefore);
    expect(stats().reallocCopiedBytes).toBe(0);
    A.free(c);
  });

  it("moves once when a neighbour is in the way, then grows in place again", () => {
    const a = A.malloc(200 * KiB);
    const wall = A.malloc(200 * KiB);           // right after a: a cannot grow in place
    A.malloc(80);                                // small spans too
    fill(a, 200 * KiB, 4);
    const q = realloc(a, 300 * KiB, 200 * KiB, 4);
    expect(q).not.toBe(a);
    expect(stats().reallocCopiedBytes).toBe(200 * KiB);   // requested bytes, not pages
    const q2 = realloc(q, 360 * KiB, 200 * KiB, 4);       // within the headroom of the move
    expect(q2).toBe(q);
    expect(stats().reallocCopiedBytes).toBe(200 * KiB);
    A.free(wall);
  });

  it("crosses the small/large boundary both ways", () => {
    let p = A.malloc(40);
    fill(p, 40, 5);
    p = realloc(p, 60 * KiB, 40, 5);             // small -> biggest classes
    fill(p, 60 * KiB, 6);
    p = realloc(p, 70 * KiB, 60 * KiB, 6);       // -> large
    p = realloc(p, 1 * MiB, 60 * KiB, 6);
    p = realloc(p, 20 * KiB, 20 * KiB, 6);       // large -> small
    p = realloc(p, 24, 24, 6);
    expect(A.free_checked(p)).toBe(0);
    expect(stats().inUseBytes).toBe(0);
  });

  it("a block grown into the top class's sizes goes large: coloured, and grows on in place", () => {
    // the top class (64 KiB) fills its pages exactly: its objects all start on a page. Buffers
    // doubled in step must not all land there (every store to them would share one L1 set)
    const bufs: number[] = [];
    for (let i = 0; i < 16; i++) { const p = A.malloc(32 * KiB); fill(p, 32 * KiB, i); bufs.push(p); }
    for (let i = 0; i < 16; i++) bufs[i] = realloc(bufs[i], 64 * KiB, 32 * KiB, i);
    expect(new Set(bufs.map((p) => p % 4096)).size, "page offsets of 16 doubled buffers").toBeGreaterThanOrEqual(8);
    for (const p of bufs) expect(A.malloc_usable_size(p)).toBeGreaterThan(64 * KiB);   // large blocks
    for (let i = 0; i < 16; i++) expect(realloc(bufs[i], 64 * KiB, 32 * KiB, i), "same size again").toBe(bufs[i]);
    expect(realloc(bufs[0], 63 * KiB, 32 * KiB, 0), "shrinking a little").toBe(bufs[0]);
    // grows on in place: the newest buffer is the top block
    const copied = stats().reallocCopiedBytes;
    expect(realloc(bufs[15], 128 * KiB, 32 * KiB, 15)).toBe(bufs[15]);
    expect(stats().reallocCopiedBytes).toBe(copied);
    // a fresh 64 KiB request still takes the top class (its exact size: no page more)
    const q = A.malloc(64 * KiB);
    expect(A.malloc_usable_size(q)).toBe(64 * KiB);
    for (let i = 0; i < 16; i++) { expectFilled(bufs[i], 32 * KiB, i); A.free(bufs[i]); }
    A.free(q);
    expect(I.check()).toBe(0);
    expect(stats().inUseBytes).toBe(0);
  });

  it("one buffer grown 4 KiB at a time to 64 MiB copies <= 5% of what copy-always copies", () => {
    let p = A.malloc(4 * KiB), copyAlways = 0;
    fill(p, 4 * KiB, 7);
    const small = A.malloc(100);                   // other blocks exist, below it
    for (let n = 8 * KiB; n <= 64 * MiB; n += 4 * KiB) {
      copyAlways += n - 4 * KiB;
      p = A.realloc(p, n);
      expect(p).not.toBe(0);
    }
    expectFilled(p, 4 * KiB, 7);
    expect(I.check()).toBe(0);
    const s = stats();
    expect(s.reallocCopiedBytes).toBeLessThanOrEqual(0.05 * copyAlways);
    expect(s.memoryGrows).toBeLessThan(200);       // geometric growth (about 120 steps of heap/32), not one grow per step (16383)
    A.free(small);
  });

  it("a buffer growing at the top crosses page-map regions (8, 16, 24 MiB...) in place", () => {
    // each new 8 MiB region needs a 4 KiB page-map leaf; it must not land right after the
    // buffer (the buffer then moves: it did at 24 MiB, with the freed earlier copies of the
    // buffer kept whole as spares instead of taken as the hole for the leaf)
    let p = A.malloc(4 * KiB);
    fill(p, 4 * KiB, 5);
    let movedAt = 0;
    for (let n = 8 * KiB; n <= 40 * MiB; n += 4 * KiB) {
      const q = A.realloc(p, n);
      expect(q).not.toBe(0);
      if (q !== p && n > MiB) movedAt ||= n;
      p = q;
    }
    expect(movedAt, "moved after 1 MiB").toBe(0);
    expectFilled(p, 4 * KiB, 5);
    expect(I.check()).toBe(0);
  });

  it("a buffer doubling at the top to 64 MiB never moves, whatever page-map leaves its memory needs", () => {
    // growing 32 -> 64 MiB needs three new leaves at once, and nothing below the buffer is free
    // to hold them: cut from the new memory's bottom they went right after the buffer, which
    // then moved (32 MB copied, memory 96 MiB for 64). A heap of its own, the inspector bound
    // only after the growth (binding takes metadata, which changes where the leaves can go).
    newHeap();
    let p = A.malloc(16), movedAt = 0;
    fill(p, 16, 9);
    for (let n = 32; n <= 64 * MiB; n *= 2) {
      const q = A.realloc(p, n);
      expect(q).not.toBe(0);
      if (q !== p && n > MiB) movedAt ||= n;
      p = q;
    }
    expect(movedAt, "moved after 1 MiB").toBe(0);
    expect(memory.buffer.byteLength).toBeLessThan(66 * MiB);
    bindInspector();
    expect(stats().reallocCopiedBytes).toBeLessThan(MiB);
    expectFilled(p, 16, 9);
    expect(I.check()).toBe(0);
    // the leaves kept at the heap's end (it grew in place: no hole held them) move on as memory
    // grows again: blocks after the buffer
    const more: number[] = [];
    for (let i = 0; i < 3; i++) { const b = A.malloc(12 * MiB); expect(b).not.toBe(0); fill(b, 4096, i); more.push(b); }
    expect(I.check()).toBe(0);
    // another module grows memory right after them: they stay, as any metadata, and its pages
    // are left alone when the heap grows past them
    const from = memory.buffer.byteLength;
    memory.grow(3);
    const to = memory.buffer.byteLength;
    new Uint8Array(memory.buffer, from, to - from).fill(0x5a);
    for (let i = 3; i < 6; i++) { const b = A.malloc(12 * MiB); expect(b).not.toBe(0); fill(b, 4096, i); more.push(b); }
    for (const b of more) expect(b + 12 * MiB <= from || b >= to, `block ${b}`).toBe(true);
    expect(new Uint8Array(memory.buffer, from, to - from).every((x) => x === 0x5a)).toBe(true);
    expect(I.check()).toBe(0);
    // then everything freed, the heap whole and reusable
    more.forEach((b, i) => { expectFilled(b, 4096, i); A.free(b); });
    A.free(p);
    expect(I.check()).toBe(0);
    expect(stats().inUseBytes).toBe(0);
    const again = A.malloc(100 * MiB);
    expect(again).not.toBe(0);
    fill(again, 4096, 3);
    expect(I.check()).toBe(0);
  });

  it("randomized: big blocks grown, shrunk, freed while another module grows memory now and then: contents kept, its pages untouched, check() clean", () => {
    // exercises the leaves' tail (pageheap.ts addMemory): made, moved on at each growth, left as
    // metadata when foreign pages follow it. Replay: ASMALLOC_SEED
    const seed = testSeed(4242), rng = new Rng(seed), heaps = Math.round(10 * opsScale());
    for (let h = 0; h < heaps; h++) {
      newHeap();
      const live = new Map<number, { size: number; seed: number }>(), foreign: [number, number][] = [];
      const at = (what: string) => `seed ${seed}, heap ${h}: ${what}`;
      for (let step = 0; step < 200; step++) {
        const r = rng.next(), keys = [...live.keys()];
        if (r < 0.3 && keys.length) {
          const p = rng.pick(keys), b = live.get(p)!, n = Math.max(1, Math.floor(b.size * (rng.chance(0.8) ? 2 : 0.5)));
          if (n > 200 * MiB) continue;
          const q = A.realloc(p, n) >>> 0;
          if (!q) continue;
          expectFilled(q, Math.min(b.size, n, 256), b.seed);
          live.delete(p);
          fill(q, Math.min(n, 256), b.seed);
          live.set(q, { size: n, seed: b.seed });
        } else if (r < 0.55) {
          const n = rng.chance(0.5) ? rng.int(4096) + 1 : rng.int(8 * MiB) + 1, p = A.malloc(n) >>> 0;
          if (!p) continue;
          const sd = rng.int(256);
          fill(p, Math.min(n, 256), sd);
          live.set(p, { size: n, seed: sd });
        } else if (r < 0.8 && keys.length) {
          const p = rng.pick(keys);
          expectFilled(p, Math.min(live.get(p)!.size, 256), live.get(p)!.seed);
          expect(A.free_checked(p), at(`free(${p})`)).toBe(0);
          live.delete(p);
        } else if (r < 0.83) {
          const from = memory.buffer.byteLength;
          memory.grow(1 + rng.int(3));
          new Uint8Array(memory.buffer, from).fill(0xa5);
          foreign.push([from, memory.buffer.byteLength]);
        }
      }
      for (const [from, to] of foreign) expect(new Uint8Array(memory.buffer, from, to - from).every((x) => x === 0xa5), at(`pages [${from}, ${to})`)).toBe(true);
      bindInspector();
      expect(I.check(), at("check")).toBe(0);
      for (const p of live.keys()) A.free(p);
      expect(I.check(), at("check after freeing all")).toBe(0);
      expect(stats().inUseBytes, at("in use")).toBe(0);
    }
  });

  it("byte-by-byte growth of many buffers copies O(final size)", () => {
    const bufs: number[] = [], sizes: number[] = [];
    for (let i = 0; i < 16; i++) { bufs.push(A.malloc(16)); sizes.push(16); fill(bufs[i], 16, i); }
    let final = 0;
    for (let round = 0; round < 17; round++) {      // 16 B .. 2 MiB, doubling, interleaved
      for (let i = 0; i < 16; i++) {
        const n = sizes[i] * 2;
        bufs[i] = realloc(bufs[i], n, 16, i);
        sizes[i] = n;
        A.malloc(64);                                // something placed after it each time
      }
    }
    for (const n of sizes) final += n;
    expect(stats().reallocCopiedBytes).toBeLessThan(3 * final);
  });
});
