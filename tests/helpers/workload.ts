// A small deterministic workload for unit tests: keeps blocks of mixed sizes live, each filled
// with its own byte, and verifies them all on demand.
import type { Heap } from "../../src/index.js";
import { Rng } from "./rng.js";

export class Workload {
  readonly live = new Map<number, { size: number; byte: number }>();
  private readonly rng: Rng;
  constructor(readonly heap: Heap, seed = 1, readonly maxSize = 300_000) { this.rng = new Rng(seed); }

  /** `n` steps of allocate-or-free (through the host library), filling new blocks. */
  run(n: number): this {
    for (let i = 0; i < n; i++) {
      if (this.live.size > 40 && this.rng.chance(0.5)) {
        const keys = [...this.live.keys()];
        this.free(keys[this.rng.int(keys.length)]);
      } else {
        this.alloc(this.rng.logSize(this.maxSize));
      }
    }
    return this;
  }

  alloc(size: number): number {
    const p = this.heap.malloc(size);
    const byte = 1 + this.rng.int(255);
    this.heap.bytes(p, size).fill(byte);
    this.live.set(p, { size, byte });
    return p;
  }

  free(p: number): void {
    this.verifyOne(p);
    this.live.delete(p);
    this.heap.free(p);
  }

  verifyOne(p: number): void {
    const b = this.live.get(p)!;
    const view = this.heap.bytes(p, b.size);
    for (let i = 0; i < b.size; i++) if (view[i] !== b.byte) throw new Error(`block ${p} (${b.size} B) byte ${i} is ${view[i]}, expected ${b.byte}`);
  }

  verify(): void {
    for (const p of this.live.keys()) this.verifyOne(p);
  }

  freeAll(): void {
    for (const p of [...this.live.keys()]) this.free(p);
  }
}
