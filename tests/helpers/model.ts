// Model-based testing of the raw C ABI: an operation is three random u32s interpreted against
// the current model state, so the same executor runs seeded op streams (fast, 100k+ ops) and
// fast-check-generated op arrays (shrinkable). After each operation the result is checked
// against the Shadow model; stats and all contents are checked periodically.
import { roundedSize, sizeToClass, MAX_SMALL_SIZE, CLASS_SIZES, PAGE_SIZE, Status } from "../../src/index.js";
import { ModelBase, Patterns, describe, held, checkReturned, trackBlock, pickLive, releaseChecked, type Block } from "./shadow.js";
import type { TestHeap } from "./heaps.js";
import { Rng } from "./rng.js";

export const MAX_SIZE = 1 << 20;

export const OP_KINDS = ["malloc", "free", "realloc", "calloc", "aligned_alloc", "posix_memalign",
  "usable_size", "bad_pointer"] as const;
export type OpKind = (typeof OP_KINDS)[number];

/** One operation: a kind and three u32s whose meaning depends on the kind (see Model.apply). */
export interface Op { k: OpKind; a: number; b: number; c: number }

/** Sizes where off-by-one bugs live: class edges, the small/large edge, page multiples. */
const EDGES: number[] = (() => {
  const s = new Set<number>([0, 1, 7, 8, 9, 15, 16, 17, MAX_SMALL_SIZE - 1, MAX_SMALL_SIZE, MAX_SMALL_SIZE + 1,
    PAGE_SIZE - 1, PAGE_SIZE, PAGE_SIZE + 1, 3 * PAGE_SIZE, 9 * PAGE_SIZE - 1, 128 * PAGE_SIZE, 129 * PAGE_SIZE + 1, MAX_SIZE]);
  for (const c of CLASS_SIZES.slice(1)) { s.add(c); s.add(c + 1); }
  return [...s].filter((x) => x <= MAX_SIZE).sort((x, y) => x - y);
})();

/** A size from u32 x: 1 in 8 an edge size, else log-uniform in [0, MAX_SIZE]. Shrinks to 0. */
export function sizeFrom(x: number): number {
  if ((x & 7) === 0) return EDGES[(x >>> 3) % EDGES.length];
  const u = (x >>> 3) / 2 ** 29;
  return Math.min(MAX_SIZE, Math.floor(2 ** (u * Math.log2(MAX_SIZE + 1))) - 1);
}

/** Op weights for the seeded stream (frees scale with the live count, see opStream). */
const WEIGHTS: [OpKind, number][] = [
  ["malloc", 28], ["realloc", 16], ["calloc", 8], ["aligned_alloc", 7], ["posix_memalign", 3],
  ["usable_size", 5], ["bad_pointer", 2],
];

/** `n` operations from rng, tuned so the live count hovers around `targetLive`. The ops refer
 *  to the model only through their numbers, so a stream is replayable from its seed alone. */
export function opStream(rng: Rng, n: number, targetLive: number, liveNow: () => number): Generator<Op> {
  return (function* () {
    for (let i = 0; i < n; i++) {
      const freeWeight = 30 * Math.min(2, liveNow() / targetLive);
      let r = rng.next() * (freeWeight + 69);
      let k: OpKind = "free";
      if (r >= freeWeight) {
        r -= freeWeight;
        for (const [kind, w] of WEIGHTS) { if (r < w) { k = kind; break; } r -= w; }
      }
      yield { k, a: rng.u32(), b: rng.u32(), c: rng.u32() };
    }
  })();
}

export interface ModelOptions {
  /** check stats against the model every this many ops (and at the end) */
  statsEvery?: number;
  /** check every live block's contents every this many ops */
  contentsEvery?: number;
}

/** Counts of what a run did, for the test log. */
export interface ModelSummary { ops: number; byKind: Record<string, number>; maxLive: number; maxHeapBytes: number }

export class Model extends ModelBase {
  expectedBadFrees = 0;
  private opIndex = 0;
  readonly summary: ModelSummary = { ops: 0, byKind: {}, maxLive: 0, maxHeapBytes: 0 };

  constructor(heap: TestHeap, seed: number, readonly options: ModelOptions = {}) {
    super(heap, seed, MAX_SIZE, "model");
  }

  protected fail(msg: string): never {
    throw new Error(`op #${this.opIndex}: ${msg}\nlast ops:\n  ${this.lastOps(12)}`);
  }

  /** Checks a block the allocator just returned, fills it, adds it to the model. */
  private adopt(p: number, size: number, how: string, align: number, off: number, zeroed = false): Block {
    const usable = checkReturned(this.blocks, p, size, how, align);
    // a large block may reuse a freed one kept whole (a page-heap spare) that wastes <= 1/8 of itself
    // (its colour too: a large block's usable bytes start there; see held())
    const r = roundedSize(size), slack = size > MAX_SMALL_SIZE ? Math.floor(r / 7 / PAGE_SIZE) * PAGE_SIZE : 0, h = held(p, usable);
    if (!this.heap.debug && align <= 8 && how !== "realloc" && (h < r || h > r + slack)) {
      this.fail(`usable size ${usable} (+ colour: ${h}) of ${how}(${size}) is not roundedSize = ${r} (+ up to ${slack})`);
    }
    if (zeroed) this.patterns.checkZero(this.mem, p, size, `${how}(${size}) = ${p}`);
    const b: Block = { ptr: p, size, usable, off, how, align };
    trackBlock(this.blocks, b);
    return b;
  }

  private pickLive(x: number): Block | undefined {
    return pickLive(this.shadow, x);
  }

  /** Frees b after checking its contents. */
  private release(b: Block): void {
    releaseChecked(this.blocks, b);
  }

  apply(op: Op): void {
    this.opIndex++;
    this.summary.ops++;
    this.summary.byKind[op.k] = (this.summary.byKind[op.k] ?? 0) + 1;
    const { a, b, c } = op;
    const off = c % Patterns.WINDOWS;
    switch (op.k) {
      case "malloc": {
        const n = sizeFrom(a);
        this.note(`malloc(${n})`);
        const p = this.x.malloc(n) >>> 0;
        this.patterns.fill(this.mem, this.adopt(p, n, "malloc", 1, off));
        break;
      }
      case "calloc": {
        const total = sizeFrom(a);
        const elem = [1, 2, 4, 8, 12, 16, 24, 100, 4096][b % 9];
        const count = elem > total ? (total ? 1 : 0) : Math.floor(total / elem);
        this.note(`calloc(${count}, ${elem})`);
        const p = this.x.calloc(count, elem) >>> 0;
        this.patterns.fill(this.mem, this.adopt(p, count * elem, "calloc", 1, off, true));
        break;
      }
      case "aligned_alloc": {
        // alignments 2^0 .. 2^16, and 1 in 32 up to 2^20
        const shift = (c >>> 12) % 32 === 0 ? (b >>> 8) % 21 : (b >>> 8) % 17;
        const align = 2 ** shift;
        const n = sizeFrom(a);
        this.note(`aligned_alloc(${align}, ${n})`);
        const p = this.x.aligned_alloc(align, n) >>> 0;
        this.patterns.fill(this.mem, this.adopt(p, n, "aligned_alloc", align, off));
        break;
      }
      case "posix_memalign": {
        const align = 2 ** (2 + ((b >>> 8) % 15));
        const n = sizeFrom(a);
        this.note(`posix_memalign(slot, ${align}, ${n})`);
        const rc = this.x.posix_memalign(this.slot, align, n);
        if (rc !== 0) this.fail(`posix_memalign(slot, ${align}, ${n}) = ${rc}`);
        const p = new DataView(this.mem).getUint32(this.slot, true);
        this.patterns.fill(this.mem, this.adopt(p, n, "posix_memalign", align, off));
        break;
      }
      case "free": {
        const blk = this.pickLive(b);
        if (!blk) { this.note("free(none live)"); break; }
        this.note(`free(${blk.ptr}) [${blk.how} ${blk.size}]`);
        this.release(blk);
        break;
      }
      case "realloc": {
        const blk = (c & 15) === 0 ? undefined : this.pickLive(b);   // 1 in 16: realloc(0, n)
        let n = sizeFrom(a);
        if (blk && (c & 0x3c0) === 0) n = 0;   // 1 in 16: realloc(p, 0) frees
        else if (blk && (c & 0x30) === 0x30 && blk.size > 0 && blk.size <= MAX_SMALL_SIZE) {
          // 1 in 4: a new size in the block's class (must not move)
          const cls = sizeToClass(blk.size), lo = cls > 1 ? CLASS_SIZES[cls - 1] + 1 : 1;
          n = lo + (a % (CLASS_SIZES[cls] - lo + 1));
        }
        if (!blk) {
          this.note(`realloc(0, ${n})`);
          const p = this.x.realloc(0, n) >>> 0;
          this.patterns.fill(this.mem, this.adopt(p, n, "realloc", 1, off));
          break;
        }
        this.note(`realloc(${blk.ptr} [${blk.how} ${blk.size}], ${n})`);
        this.patterns.check(this.mem, blk, 0, blk.size, "before realloc");
        this.shadow.remove(blk.ptr);
        const q = this.x.realloc(blk.ptr, n) >>> 0;
        if (n === 0) {
          if (q !== 0) this.fail(`realloc(p, 0) returned ${q}, not 0`);
          break;
        }
        // the block's class is its usable size (a block resized in place keeps its class); an
        // aligned block may be a page run of a class's size instead (alignedBlock)
        const sameClass = !this.heap.debug && blk.align <= 16 && blk.usable <= MAX_SMALL_SIZE && n <= MAX_SMALL_SIZE && roundedSize(n) === blk.usable;
        if (sameClass && q !== blk.ptr) this.fail(`realloc within class ${sizeToClass(n)} moved ${blk.ptr} -> ${q}`);
        const nb = this.adopt(q, n, "realloc", 1, blk.off);
        this.patterns.check(this.mem, nb, 0, Math.min(blk.size, n), `after realloc from ${blk.ptr}`);
        this.patterns.fill(this.mem, nb, Math.min(blk.size, n), n);
        break;
      }
      case "usable_size": {
        const blk = this.pickLive(b);
        if (!blk) break;
        const u = this.x.malloc_usable_size(blk.ptr) >>> 0;
        this.note(`usable_size(${blk.ptr}) = ${u}`);
        if (u !== blk.usable) this.fail(`usable size of ${describe(blk)} changed to ${u}`);
        break;
      }
      case "bad_pointer":
        this.badPointer(a, b, c);
        break;
    }
    const live = this.shadow.count;
    if (live > this.summary.maxLive) this.summary.maxLive = live;
    const se = this.options.statsEvery ?? 1000, ce = this.options.contentsEvery ?? 20000;
    if (this.opIndex % se === 0) this.checkStats();
    if (this.opIndex % ce === 0) this.checkContents();
  }

  /** A pointer the heap must refuse, passed to free, realloc or malloc_usable_size: each must
   *  return its failure, set last_error, count a bad free, and change nothing. */
  private badPointer(a: number, b: number, c: number): void {
    const mem = this.mem.byteLength, base = this.heap.base;
    let p: number, want: number, what: string;
    const blk = this.pickLive(b);
    switch (a % 4) {
      case 0:
        if (blk && blk.usable > 1) {
          // an offset in [1, usable): any byte, or (odd c) a word boundary, where a bug is likelier
          const k = (c & 1) && blk.usable > 16 ? 8 * (1 + (c >>> 1) % ((blk.usable - 1) >>> 3)) : 1 + (c % (blk.usable - 1));
          p = blk.ptr + k;
          want = Status.INTERIOR; what = `interior of ${describe(blk)}`;
          break;
        }
      // fall through: nothing live
      case 1: p = 8 * (1 + (c % ((base >>> 3) - 1))); want = Status.FOREIGN; what = "below the heap base"; break;
      case 2: p = mem + 8 * (c % 4096); want = Status.FOREIGN; what = "beyond memory"; break;
      default: p = base + 8 * (c % 1024); want = Status.FOREIGN; what = "in the heap header page"; break;
    }
    const via = b % 3;
    this.note(`bad pointer ${p} (${what}) via ${["free", "realloc", "usable_size"][via]}`);
    this.x.last_error();
    let got: number;
    if (via === 0) got = this.x.free_checked(p);
    else if (via === 1) {
      const q = this.x.realloc(p, 1 + (c % 100));
      if (q !== 0) this.fail(`realloc(${p}) [${what}] returned ${q >>> 0}, not 0`);
      got = this.x.last_error();
    } else {
      const u = this.x.malloc_usable_size(p);
      if (u !== 0) this.fail(`malloc_usable_size(${p}) [${what}] returned ${u >>> 0}, not 0`);
      got = this.x.last_error();
    }
    if (via === 0) this.x.last_error();
    if (got !== want) this.fail(`pointer ${p} (${what}) refused with status ${got}, expected ${want}`);
    this.expectedBadFrees++;
  }

  checkStats(): void {
    try { this.heap.check(); } catch (e) { this.fail((e as Error).message); }
    const s = this.heap.stats();
    const sh = this.shadow;
    const slotUsable = this.x.malloc_usable_size(this.slot) >>> 0;
    const usable = sh.usable + slotUsable, held = sh.held + slotUsable;
    if (s.heapBytes > this.summary.maxHeapBytes) this.summary.maxHeapBytes = s.heapBytes;
    const bad = (m: string): never => this.fail(`stats: ${m}\n${JSON.stringify(s)}`);
    if (!this.heap.debug) {
      if (s.inUseBytes !== held) bad(`inUseBytes ${s.inUseBytes} != Σ held ${held} (usable ${usable}) over ${sh.count + 1} live blocks`);
      if (s.requestedBytes !== -1) bad(`requestedBytes ${s.requestedBytes} in release`);
    } else {
      if (s.inUseBytes < usable) bad(`inUseBytes ${s.inUseBytes} < Σ usable ${usable}`);
      if (s.requestedBytes !== -1 && s.requestedBytes !== sh.requested + 16) bad(`requestedBytes ${s.requestedBytes} != Σ requested ${sh.requested + 16}`);
    }
    // at least each block's class, or its whole pages (room for its colour is not counted: a block
    // resized in place takes pages for its own colour only); an aligned block no class serves is
    // its pages, which may be fewer bytes than the class of its size; a block realloc grew in place
    // within its class's skew (a size above the class's unskewed size) keeps that class
    let rounded = 0;
    for (const blk of sh.all()) {
      const pages = Math.ceil(blk.size / PAGE_SIZE) * PAGE_SIZE;
      rounded += blk.size > MAX_SMALL_SIZE ? pages : blk.align > 16 ? Math.min(pages, roundedSize(blk.size))
        : blk.how === "realloc" ? smallestClassHolding(blk.size) : roundedSize(blk.size);
    }
    if (s.inUseBytes < rounded) bad(`inUseBytes ${s.inUseBytes} < Σ class sizes and pages ${rounded}`);
    if (s.badFrees !== this.expectedBadFrees) bad(`badFrees ${s.badFrees} != ${this.expectedBadFrees}`);
    if (s.doubleFrees !== 0) bad(`doubleFrees ${s.doubleFrees} != 0`);
    if (s.failedAllocs !== 0) bad(`failedAllocs ${s.failedAllocs} != 0`);
    const parts = s.inUseBytes + s.cacheBytes + s.centralBytes + s.pageHeapFreeBytes + s.metadataBytes;
    if (parts > s.heapBytes) bad(`inUse + cache + central + pageHeapFree + metadata = ${parts} > heapBytes`);
    const owned = this.mem.byteLength - this.heap.base;
    if (s.heapBytes !== owned) bad(`heapBytes ${s.heapBytes} != memory from base to end ${owned}`);
  }

  checkContents(): void {
    for (const blk of this.shadow.all()) this.patterns.check(this.mem, blk, 0, blk.size, "(periodic check)");
  }

  /** Final checks, then frees everything (checking contents) and checks the heap is empty. */
  finish(): void {
    this.checkStats();
    this.checkContents();
    while (this.shadow.count) this.release(this.shadow.at(this.shadow.count - 1));
    this.checkStats();
  }
}

/** The smallest class size that holds `size` bytes: roundedSize, or the class below it when the
 *  size falls in that class's skew (its 64 B past a multiple of 1 KiB, which sizeToClass sends on
 *  to the next class, but which a block of that class holds, so realloc keeps it there). */
function smallestClassHolding(size: number): number {
  const cls = sizeToClass(Math.max(size, 1));
  return cls > 1 && CLASS_SIZES[cls - 1] >= size ? CLASS_SIZES[cls - 1] : CLASS_SIZES[cls];
}
