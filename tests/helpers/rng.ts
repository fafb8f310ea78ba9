// Deterministic randomness for tests: a seeded generator and the seed policy.

/** sfc32: a small, fast generator with a 128-bit state; floats in [0, 1). */
export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  constructor(readonly seed: number) {
    this.a = 0x9e3779b9; this.b = 0x243f6a88; this.c = 0xb7e15162; this.d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** [0, 1) */
  next(): number { return this.u32() / 4294967296; }
  /** integer in [0, n) */
  int(n: number): number { return Math.floor(this.next() * n); }
  /** true with probability p */
  chance(p: number): boolean { return this.next() < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]; }
  /** log-uniform size in [0, max]: log2 uniform over [0, log2(max+1)), so every octave is equally likely */
  logSize(max: number): number {
    return Math.min(max, Math.floor(2 ** (this.next() * Math.log2(max + 1))) - 1);
  }
}

/** The seed for randomized tests: ASMALLOC_SEED if set (decimal or 0x hex), else `fixed` (CI). */
export function testSeed(fixed: number): number {
  const env = process.env.ASMALLOC_SEED;
  if (env === undefined || env === "") return fixed;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 0 || n > 0xFFFFFFFF) throw new Error(`ASMALLOC_SEED must be a u32, got ${env}`);
  return n;
}

/** ASMALLOC_OPS scales the long randomized runs (default 1): e.g. 10 for a soak run. */
export function opsScale(): number {
  const s = Number(process.env.ASMALLOC_OPS ?? "1");
  return s > 0 ? s : 1;
}
