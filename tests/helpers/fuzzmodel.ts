// Fuzzing the raw C ABI with misuse (issue 5 item 5): an executor for operation sequences that
// mix good calls (tracked in a Shadow, every block patterned) with bad ones — foreign, interior
// and free-page pointers, double frees (immediate and delayed), frees/reallocs/usable_size of
// freed blocks, huge and overflowing sizes, bad alignments — all through heap.exports, so no JS
// validation stands in front of the allocator. After every operation: nothing trapped (a trap
// would throw out of the wasm call), every bad call was refused with a failure return and
// counted in stats exactly once, check() is clean and every live good block keeps its pattern.
import { Status, PAGE_SIZE, MAX_SMALL_SIZE, WASM_PAGE_SIZE, type HeapStats } from "../../src/index.js";
import { ModelBase, Patterns, describe, checkReturned, trackBlock, pickLive, releaseChecked, type Block } from "./shadow.js";
import type { TestHeap } from "./heaps.js";

/** Good operations. */
export const GOOD_KINDS = ["malloc", "calloc", "realloc", "free", "aligned_alloc", "usable_size"] as const;
/** Misuse both builds refuse (the release build knows a freed block by its free mark, however
 *  long ago it was freed: assembly/span.ts). */
export const BAD_KINDS = ["below_base", "header", "metadata", "beyond_memory", "interior", "free_pages",
  "double_free_now", "double_free_later", "huge_malloc", "calloc_overflow", "huge_realloc", "bad_alignment"] as const;
export type FuzzKind = (typeof GOOD_KINDS)[number] | (typeof BAD_KINDS)[number];

/** One operation: a kind and three u32s whose meaning depends on the kind (see FuzzModel.apply). */
export interface FuzzOp { k: FuzzKind; a: number; b: number; c: number }

export interface FuzzOptions {
  /** Pass freed blocks to realloc and malloc_usable_size too, not only to free (on by default;
   *  ASMALLOC_FUZZ_ALL=0 turns it off). Large freed blocks (free pages) always go to all three. */
  freedToRealloc?: boolean;
}

/** Largest good block: small and large blocks, a few of them at once. */
export const FUZZ_MAX_SIZE = 256 * 1024;
/** Memory limit of a fuzzed heap, in wasm pages (32 MiB): huge requests fail fast. */
export const FUZZ_MAX_PAGES = 512;

const VIA = ["free", "realloc", "usable_size"] as const;

export class FuzzModel extends ModelBase {
  /** addresses of blocks freed by good frees (and not handed out again since), oldest first */
  private freed: { ptr: number; size: number }[] = [];
  private expectBadPointer = 0;
  private expectFailedAllocs = 0;
  private step = 0;
  /** counts of what ran, by kind (and refusals by status name) */
  readonly counts: Record<string, number> = {};

  constructor(heap: TestHeap, seed: number, readonly options: FuzzOptions = {}) {
    super(heap, seed, FUZZ_MAX_SIZE, "fuzz");
  }

  protected fail(msg: string): never {
    throw new Error(`fuzz step #${this.step} (${this.heap.debug ? "debug" : "release"}): ${msg}\nlast ops:\n  ${this.lastOps(16)}`);
  }

  private count(what: string): void { this.counts[what] = (this.counts[what] ?? 0) + 1; }

  /** A good size from u32 a: mostly small, 1 in 8 large, log-uniform; 0 included. */
  private size(a: number): number {
    const max = (a & 7) === 0 ? FUZZ_MAX_SIZE : MAX_SMALL_SIZE;
    return Math.min(max, Math.floor(2 ** (((a >>> 3) / 2 ** 29) * Math.log2(max + 1))) - 1);
  }

  /** Checks a block the allocator just returned and adds it to the model (filled unless `fill` is false). */
  private adopt(p: number, size: number, how: string, align: number, off: number, fill = true): Block {
    const usable = checkReturned(this.blocks, p, size, how, align);
    const b: Block = { ptr: p, size, usable, off, how, align };
    trackBlock(this.blocks, b);
    this.freed = this.freed.filter((f) => f.ptr !== p);
    if (fill) this.patterns.fill(this.mem, b);
    return b;
  }

  private pickLive(x: number): Block | undefined {
    return pickLive(this.shadow, x);
  }

  /** A good free of a live block, after checking its contents. */
  private release(b: Block): void {
    releaseChecked(this.blocks, b);
    this.freed.push({ ptr: b.ptr, size: b.size });
    if (this.freed.length > 256) this.freed.splice(0, 128);
  }

  /** Passes a pointer the heap must refuse to free_checked, realloc or malloc_usable_size (by
   *  `via`): the call must fail (non-zero status, 0 result), with a status in `want`, counted. */
  private refusePointer(p: number, via: number, want: readonly number[], what: string): void {
    const name = VIA[via];
    this.note(`${name}(${p} = 0x${p.toString(16)}) [${what}]`);
    this.x.last_error();
    const reportsBefore = this.heap.reports.length;
    let got: number;
    if (via === 0) {
      got = this.x.free_checked(p);
      this.x.last_error();
    } else if (via === 1) {
      const q = this.x.realloc(p, 1 + (p % 200)) >>> 0;
      got = this.x.last_error();
      if (q !== 0) this.fail(`realloc(${p}) [${what}] returned ${q}, not 0 (last_error ${got})`);
    } else {
      const u = this.x.malloc_usable_size(p) >>> 0;
      got = this.x.last_error();
      if (u !== 0) this.fail(`malloc_usable_size(${p}) [${what}] returned ${u}, not 0 (last_error ${got})`);
    }
    if (got === 0 || !want.includes(got)) this.fail(`${name}(${p}) [${what}] refused with status ${got}, expected one of ${want.join(", ")}`);
    if (this.heap.debug && via === 0) {
      const r = this.heap.reports.slice(reportsBefore);
      if (!r.some((x) => x.status === got)) this.fail(`debug build did not report ${name}(${p}) [${what}] (reports ${JSON.stringify(r)})`);
    }
    this.expectBadPointer++;
    this.count(`${what}/${name}`);
  }

  /** An allocation that must fail: 0 (or an errno from posix_memalign), a status in `want`, counted. */
  private refuseAlloc(what: string, call: () => number, want: readonly number[], isErrno = false): void {
    this.note(what);
    this.x.last_error();
    const r = call() >>> 0;
    const st = this.x.last_error();
    if (isErrno ? r === 0 : r !== 0) this.fail(`${what} returned ${r}: should have failed (last_error ${st})`);
    if (!want.includes(st)) this.fail(`${what} failed with status ${st}, expected one of ${want.join(", ")}`);
    this.expectFailedAllocs++;
    this.count(what.replace(/\(.*/, ""));
  }

  apply(op: FuzzOp): void {
    this.step++;
    this.count(op.k);
    const { a, b, c } = op;
    const off = c % Patterns.WINDOWS;
    const base = this.heap.base, memEnd = this.mem.byteLength;
    switch (op.k) {
      case "malloc": {
        const n = this.size(a);
        this.note(`malloc(${n})`);
        this.adopt(this.x.malloc(n) >>> 0, n, "malloc", 1, off);
        break;
      }
      case "calloc": {
        const elem = [1, 2, 3, 8, 24, 100, 4096][b % 7], count = Math.floor(this.size(a) / elem);
        this.note(`calloc(${count}, ${elem})`);
        const p = this.x.calloc(count, elem) >>> 0;
        if (p) this.patterns.checkZero(this.mem, p, count * elem, `calloc(${count}, ${elem}) = ${p}`);
        this.adopt(p, count * elem, "calloc", 1, off);
        break;
      }
      case "aligned_alloc": {
        const align = 2 ** ((b >>> 4) % 17), n = this.size(a);
        this.note(`aligned_alloc(${align}, ${n})`);
        this.adopt(this.x.aligned_alloc(align, n) >>> 0, n, "aligned_alloc", align, off);
        break;
      }
      case "realloc": {
        const blk = this.pickLive(b);
        if (!blk) break;
        const n = Math.max(1, this.size(a));
        this.note(`realloc(${blk.ptr} [${blk.how} ${blk.size}], ${n})`);
        this.patterns.check(this.mem, blk, 0, blk.size, "before realloc");
        this.shadow.remove(blk.ptr);
        const q = this.x.realloc(blk.ptr, n) >>> 0;
        if (q !== blk.ptr) this.freed.push({ ptr: blk.ptr, size: blk.size });
        const nb = this.adopt(q, n, "realloc", 1, blk.off, false);   // same pattern window as before
        this.patterns.check(this.mem, nb, 0, Math.min(blk.size, n), `after realloc from ${blk.ptr}`);
        this.patterns.fill(this.mem, nb, Math.min(blk.size, n), n);
        break;
      }
      case "free": {
        const blk = this.pickLive(b);
        if (!blk) break;
        this.note(`free(${blk.ptr}) [${blk.how} ${blk.size}]`);
        this.release(blk);
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
      // ---- pointers the heap never handed out ----
      case "below_base":
        this.refusePointer(1 + (c % (base - 1)), b % 3, [Status.FOREIGN], "below the heap base");
        break;
      case "header":
        this.refusePointer(base + (c % PAGE_SIZE), b % 3, [Status.FOREIGN], "in the heap header page");
        break;
      case "metadata": {
        const meta = this.heap.heapMap().filter((e) => e.kind === "metadata");
        if (!meta.length) break;
        const m = meta[a % meta.length];
        this.refusePointer(m.start + (c % (m.pages * PAGE_SIZE)), b % 3, [Status.FOREIGN], "in heap metadata");
        break;
      }
      case "beyond_memory": {
        const p = (c & 1) ? 0xFFFFFFFF - (a % 65536) : memEnd + (a % (1 << 24));
        this.refusePointer(p >>> 0, b % 3, [Status.FOREIGN], "beyond memory");
        break;
      }
      case "interior": {
        const blk = this.pickLive(a);
        if (!blk || blk.usable < 2) break;
        const k = (c & 1) ? 1 + ((c >>> 1) % (blk.usable - 1)) : Math.min(blk.usable - 1, 8 * (1 + ((c >>> 1) % Math.max(1, (blk.usable - 1) >>> 3))));
        this.refusePointer(blk.ptr + k, b % 3, [Status.INTERIOR], `interior of ${blk.size > MAX_SMALL_SIZE ? "a large" : "a small"} block`);
        break;
      }
      case "free_pages": {
        const runs = this.heap.heapMap().filter((e) => e.kind === "free");
        if (!runs.length) break;
        const r = runs[a % runs.length];
        this.refusePointer(r.start + (c % (r.pages * PAGE_SIZE)), b % 3, [Status.FREE_PAGES], "in free pages");
        break;
      }
      // ---- freed blocks ----
      case "double_free_now": {
        const blk = this.pickLive(a);
        if (!blk) break;
        this.note(`free(${blk.ptr}) [${blk.how} ${blk.size}], then again`);
        this.release(blk);
        const large = blk.usable > MAX_SMALL_SIZE;
        const via = large || this.options.freedToRealloc ? b % 3 : 0;
        this.refusePointer(blk.ptr, via, [Status.DOUBLE_FREE, Status.FREE_PAGES], `just-freed ${large ? "large" : "small"} block`);
        break;
      }
      case "double_free_later": {
        // a block freed some operations ago, whose address no live block starts at now
        const cands = this.freed.filter((f) => !this.shadow.byPtr.has(f.ptr));
        if (!cands.length) break;
        const f = cands[a % cands.length];
        const large = f.size > MAX_SMALL_SIZE, inside = this.shadow.containing(f.ptr);
        const via = large || this.options.freedToRealloc ? b % 3 : 0;
        this.refusePointer(f.ptr, via, [Status.DOUBLE_FREE, Status.FREE_PAGES, Status.FOREIGN, Status.INTERIOR],
          `freed ${large ? "large" : "small"} block${inside ? " (now inside a live block)" : ""}`);
        break;
      }
      // ---- sizes and alignments that cannot be met ----
      case "huge_malloc": {
        const n = (c & 1) ? 0xFFFFFFFF - (a % 65536) : FUZZ_MAX_PAGES * WASM_PAGE_SIZE + (a % 0xF0000000);
        this.refuseAlloc(`malloc(${n >>> 0})`, () => this.x.malloc(n >>> 0), [Status.OUT_OF_MEMORY, Status.SIZE_OVERFLOW]);
        break;
      }
      case "calloc_overflow": {
        const count = 2 + (a % 0xFFFF);
        const min = Math.floor(0x100000000 / count) + 1;   // count * size >= 2^32
        const size = min + (c % Math.max(1, 0xFFFFFFFF - min));
        if ((c & 3) === 0) {
          // no overflow, but more than memory can hold
          const n = 1 + (a % 1000), s = Math.floor((FUZZ_MAX_PAGES * WASM_PAGE_SIZE) / n) + 1 + (c % 4096);
          this.refuseAlloc(`calloc(${n}, ${s})`, () => this.x.calloc(n, s), [Status.OUT_OF_MEMORY]);
        } else {
          this.refuseAlloc(`calloc(${count}, ${size >>> 0})`, () => (b & 1 ? this.x.calloc(count, size >>> 0) : this.x.calloc(size >>> 0, count)), [Status.SIZE_OVERFLOW]);
        }
        break;
      }
      case "huge_realloc": {
        const blk = this.pickLive(b);
        if (!blk) break;
        const n = (c & 1) ? 0xFFFFFFFF - (a % 65536) : FUZZ_MAX_PAGES * WASM_PAGE_SIZE + (a % 0xF0000000);
        this.refuseAlloc(`realloc(${blk.ptr} [${blk.size}], ${n >>> 0})`, () => this.x.realloc(blk.ptr, n >>> 0), [Status.OUT_OF_MEMORY, Status.SIZE_OVERFLOW]);
        const u = this.x.malloc_usable_size(blk.ptr) >>> 0;
        if (u !== blk.usable) this.fail(`failed realloc changed ${describe(blk)}: usable ${u}`);
        break;
      }
      case "bad_alignment": {
        const n = this.size(c);
        switch (b % 4) {
          case 0: {   // not a power of two (0 included)
            let align = (c & 16) ? a >>> 0 : a % 4097;
            if (align !== 0 && (align & (align - 1)) === 0) align = (align | 3) >>> 0;
            this.refuseAlloc(`aligned_alloc(${align}, ${n})`, () => this.x.aligned_alloc(align, n), [Status.BAD_ALIGNMENT]);
            break;
          }
          case 1: {   // a power of two memory cannot honour
            const align = 2 ** (26 + (a % 6));
            this.refuseAlloc(`aligned_alloc(${align}, ${n})`, () => this.x.aligned_alloc(align >>> 0, n), [Status.OUT_OF_MEMORY, Status.SIZE_OVERFLOW]);
            break;
          }
          case 2: {   // posix_memalign: not a power of two, or below sizeof(void*) = 4
            const align = [0, 1, 2, 3, 6, 12, 24, 48, 100, 0xFFFFFFFF][a % 10];
            const before = new DataView(this.mem).getUint32(this.slot, true);
            this.refuseAlloc(`posix_memalign(slot, ${align}, ${n})`, () => this.x.posix_memalign(this.slot, align >>> 0, n), [Status.BAD_ALIGNMENT], true);
            if (new DataView(this.mem).getUint32(this.slot, true) !== before) this.fail("posix_memalign with a bad alignment wrote *memptr");
            break;
          }
          default: {  // posix_memalign: a size that cannot be met
            const m = 0xFFFFFFFF - (a % 65536);
            this.refuseAlloc(`posix_memalign(slot, 16, ${m})`, () => this.x.posix_memalign(this.slot, 16, m), [Status.OUT_OF_MEMORY, Status.SIZE_OVERFLOW], true);
            break;
          }
        }
        break;
      }
    }
    this.verify();
  }

  /** After every step: check() clean, stats count every refusal, live blocks intact. */
  verify(): void {
    const broken = this.heap.inspector!.check();
    if (broken !== 0) this.fail(`check() found ${broken} at ${this.heap.inspector!.check_where() >>> 0}`);
    const s: HeapStats = this.heap.stats();
    if (s.badFrees + s.doubleFrees !== this.expectBadPointer) {
      this.fail(`stats count ${s.badFrees} bad frees + ${s.doubleFrees} double frees, expected ${this.expectBadPointer} refused pointers`);
    }
    if (s.failedAllocs !== this.expectFailedAllocs) this.fail(`stats count ${s.failedAllocs} failed allocations, expected ${this.expectFailedAllocs}`);
    const slot = this.x.malloc_usable_size(this.slot) >>> 0;
    if (this.heap.debug ? s.inUseBytes < this.shadow.usable + slot : s.inUseBytes !== this.shadow.held + slot) {
      this.fail(`inUseBytes ${s.inUseBytes} vs Σ usable ${this.shadow.usable + slot} (Σ held ${this.shadow.held + slot})`);
    }
    for (const blk of this.shadow.all()) this.patterns.check(this.mem, blk, 0, blk.size, "(after the step)");
  }

  /** Frees every live block (checking contents) and checks the heap is empty and clean. */
  finish(): void {
    while (this.shadow.count) this.release(this.shadow.at(this.shadow.count - 1));
    this.verify();
  }
}
