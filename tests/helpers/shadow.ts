// The shadow model of a heap: the live blocks the program holds, kept sorted so that every new
// block is checked against its neighbours for overlap (an interval set), plus fill patterns that
// are written and compared natively (Buffer.equals), so whole blocks of up to 1 MiB are checked.

import { MAX_SMALL_SIZE, CACHE_SKEW, PAGE_SIZE } from "../../src/sizeclasses.js";
import type { AsmallocExports } from "../../src/index.js";
import type { TestHeap } from "./heaps.js";

/** A live block as the model knows it. */
export interface Block {
  ptr: number;
  /** bytes the program asked for (the bytes it may use and that the pattern covers) */
  size: number;
  /** what malloc_usable_size said at allocation: the block's extent for the overlap check */
  usable: number;
  /** offset of this block's window into the pattern (blocks get different windows) */
  off: number;
  /** how it was made, for messages */
  how: string;
  /** alignment it was asked for (1 if none) */
  align: number;
}

/** Live blocks: a map by pointer, a sorted array of starts (overlap checks), and a dense array
 *  for picking a random block in O(1). */
export class Shadow {
  readonly byPtr = new Map<number, Block>();
  private starts: number[] = [];
  private dense: Block[] = [];
  private denseIndex = new Map<number, number>();
  /** Σ size, Σ usable and Σ held (see held()) over live blocks */
  requested = 0;
  usable = 0;
  held = 0;

  get count(): number { return this.dense.length; }
  at(i: number): Block { return this.dense[i]; }
  all(): readonly Block[] { return this.dense; }

  /** Index of the last start <= addr, or -1. */
  private floor(addr: number): number {
    let lo = 0, hi = this.starts.length - 1, ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid] <= addr) { ans = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return ans;
  }

  /** The live block containing addr, if any. */
  containing(addr: number): Block | undefined {
    const i = this.floor(addr);
    if (i < 0) return undefined;
    const b = this.byPtr.get(this.starts[i])!;
    return addr < b.ptr + Math.max(b.usable, 1) ? b : undefined;
  }

  /** Adds a block; throws if it overlaps a live one. */
  add(b: Block): void {
    const end = b.ptr + Math.max(b.usable, 1);
    const i = this.floor(b.ptr);
    if (i >= 0) {
      const prev = this.byPtr.get(this.starts[i])!;
      if (prev.ptr + Math.max(prev.usable, 1) > b.ptr) {
        throw new Error(`overlap: new ${describe(b)} overlaps live ${describe(prev)}`);
      }
    }
    if (i + 1 < this.starts.length && this.starts[i + 1] < end) {
      throw new Error(`overlap: new ${describe(b)} overlaps live ${describe(this.byPtr.get(this.starts[i + 1])!)}`);
    }
    this.starts.splice(i + 1, 0, b.ptr);
    this.byPtr.set(b.ptr, b);
    this.denseIndex.set(b.ptr, this.dense.length);
    this.dense.push(b);
    this.requested += b.size;
    this.usable += b.usable;
    this.held += held(b.ptr, b.usable);
  }

  remove(ptr: number): Block {
    const b = this.byPtr.get(ptr);
    if (!b) throw new Error(`model: ${ptr} is not live`);
    const i = this.floor(ptr);
    this.starts.splice(i, 1);
    this.byPtr.delete(ptr);
    const di = this.denseIndex.get(ptr)!;
    const last = this.dense.pop()!;
    if (last !== b) { this.dense[di] = last; this.denseIndex.set(last.ptr, di); }
    this.denseIndex.delete(ptr);
    this.requested -= b.size;
    this.usable -= b.usable;
    this.held -= held(b.ptr, b.usable);
    return b;
  }
}

/** Bytes a release-build block holds (what stats count in use): its usable bytes, and for a
 *  large block (usable past the largest class) its colour, the bytes of its first page before it. */
export function held(ptr: number, usable: number): number {
  return usable + (usable > MAX_SMALL_SIZE + CACHE_SKEW ? ptr % PAGE_SIZE : 0);
}

export function describe(b: Block): string {
  return `${b.how} block [${b.ptr}, +${b.usable}) size ${b.size}`;
}

/** Fill patterns: block contents are a window of one random byte string, so a block copied to
 *  the wrong place, or overwritten by a neighbour, no longer matches. */
export class Patterns {
  static readonly WINDOWS = 4096;
  private static readonly cache = new Map<string, Patterns>();

  /** One pattern buffer per (seed, maxBlock) per test file: megabytes of random bytes are worth reusing. */
  static shared(seed: number, maxBlock: number): Patterns {
    const key = `${seed}/${maxBlock}`;
    let p = Patterns.cache.get(key);
    if (!p) Patterns.cache.set(key, p = new Patterns(seed, maxBlock));
    return p;
  }
  readonly bytes: Buffer;
  private readonly zeros: Buffer;

  constructor(seed: number, maxBlock: number) {
    this.bytes = Buffer.alloc(maxBlock + Patterns.WINDOWS);
    let x = (seed ^ 0x5bd1e995) >>> 0 || 1;
    for (let i = 0; i < this.bytes.length; i++) {   // xorshift32
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      this.bytes[i] = x & 0xff;
    }
    this.zeros = Buffer.alloc(maxBlock);
  }

  /** Writes bytes [from, to) of block b's pattern. */
  fill(mem: ArrayBuffer, b: Block, from = 0, to = b.size): void {
    if (to <= from) return;
    new Uint8Array(mem, b.ptr + from, to - from).set(this.bytes.subarray(b.off + from, b.off + to));
  }

  /** Throws if bytes [from, to) of block b are not its pattern. */
  check(mem: ArrayBuffer, b: Block, from = 0, to = b.size, when = ""): void {
    if (to <= from) return;
    const got = Buffer.from(mem, b.ptr + from, to - from);
    const want = this.bytes.subarray(b.off + from, b.off + to);
    if (!got.equals(want)) {
      let i = 0;
      while (got[i] === want[i]) i++;
      throw new Error(`contents lost${when ? " " + when : ""}: ${describe(b)}: byte ${from + i} is ${got[i]}, expected ${want[i]}`);
    }
  }

  /** Throws unless [ptr, ptr+n) is all zero. */
  checkZero(mem: ArrayBuffer, ptr: number, n: number, what: string): void {
    if (!n) return;
    const got = Buffer.from(mem, ptr, n);
    if (!got.equals(this.zeros.subarray(0, n))) {
      let i = 0;
      while (got[i] === 0) i++;
      throw new Error(`${what}: [${ptr}, +${n}) not zeroed: byte ${i} is ${got[i]}`);
    }
  }
}

/** What the shared block checks need of a model (Model and FuzzModel). */
export interface BlockModel {
  readonly shadow: Shadow;
  readonly patterns: Patterns;
  readonly exports: AsmallocExports;
  readonly base: number;
  readonly memory: ArrayBuffer;
  fail(msg: string): never;
}

/** Checks a block the allocator just returned — non-zero, aligned (16 B from 16 B up, and to
 *  `align`), inside the heap, usable size at least `size` — and returns its usable size. */
export function checkReturned(m: BlockModel, p: number, size: number, how: string, align: number): number {
  if (p === 0) m.fail(`${how}(${size}) returned 0 (last_error ${m.exports.last_error()})`);
  const natural = size >= 16 ? 16 : 8;
  if (p % natural) m.fail(`${how}(${size}) = ${p} is not ${natural}-byte aligned`);
  if (p % align) m.fail(`${how}(${size}) = ${p} is not ${align}-byte aligned`);
  if (p < m.base || p + size > m.memory.byteLength) m.fail(`${how}(${size}) = ${p} is outside the heap [${m.base}, ${m.memory.byteLength})`);
  const usable = m.exports.malloc_usable_size(p) >>> 0;
  if (usable < size) m.fail(`usable size ${usable} of ${how}(${size}) = ${p} is less than asked`);
  return usable;
}

/** Adds b to the model's live blocks (failing on an overlap). */
export function trackBlock(m: BlockModel, b: Block): void {
  try { m.shadow.add(b); } catch (e) { m.fail((e as Error).message); }
}

/** The live block picked by x, if any. */
export function pickLive(shadow: Shadow, x: number): Block | undefined {
  return shadow.count ? shadow.at(x % shadow.count) : undefined;
}

/** Frees live block b through free_checked after checking its contents. */
export function releaseChecked(m: BlockModel, b: Block): void {
  m.patterns.check(m.memory, b, 0, b.size, "before free");
  m.shadow.remove(b.ptr);
  const st = m.exports.free_checked(b.ptr);
  if (st !== 0) m.fail(`free(${describe(b)}) refused with ${st}`);
}

/** What Model and FuzzModel share: the heap's raw exports, the shadow of its live blocks and
 *  their fill patterns, a block the program owns (where posix_memalign stores its result) and
 *  the recent operations for failure messages. Each says how its failures read. */
export abstract class ModelBase {
  readonly shadow = new Shadow();
  readonly patterns: Patterns;
  protected readonly x: AsmallocExports;
  protected readonly slot: number;
  private readonly history: string[] = [];

  constructor(readonly heap: TestHeap, seed: number, maxSize: number, who: string) {
    this.x = heap.exports;
    this.patterns = Patterns.shared(seed, maxSize);
    this.slot = this.x.malloc(16) >>> 0;
    if (!this.slot) throw new Error(`${who}: malloc(16) for the memptr slot failed`);
  }

  protected get mem(): ArrayBuffer { return this.heap.memory.buffer as ArrayBuffer; }

  /** This model as the shared block checks see it. */
  protected get blocks(): BlockModel {
    return { shadow: this.shadow, patterns: this.patterns, exports: this.x, base: this.heap.base, memory: this.mem,
      fail: (msg: string) => this.fail(msg) };
  }

  protected abstract fail(msg: string): never;

  protected note(s: string): void {
    this.history.push(s);
    if (this.history.length > 64) this.history.splice(0, 32);
  }

  /** The last `n` operations noted, one per line, for a failure message. */
  protected lastOps(n: number): string {
    return this.history.slice(-n).join("\n  ");
  }
}
