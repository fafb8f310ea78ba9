// Real programs' allocation patterns (the traces shipped with the bench, bench/traces/) replayed
// through the C ABI at several heap bases: the base moves every span against the 8 MiB page-map
// regions and the metadata chunks, and one such layout (python at 2 MiB, with a trial size-class
// table) is how BUG 4 in bugs.test.ts was found. Every block gets a pattern at its head, middle
// and tail, checked on free and across realloc; calloc's blocks must read zero; alignment is
// checked; the heap's own check() runs every CHECK_EVERY ops and at the end; after everything
// is freed, no byte is in use.
import { describe, it, expect } from "vitest";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { makeHeap, u } from "../helpers/heaps.js";
import { readTrace, type OpStream } from "../../bench/traces.js";

const TRACE_DIR = join(import.meta.dirname, "../../bench/traces");
const TRACES = readdirSync(TRACE_DIR).filter((f) => f.endsWith(".trace.gz")).sort();
/** 64 KiB; 2 MiB; and 192 KiB below the first 8 MiB region, so the heap grows across it early. */
const BASES = [65536, 2 << 20, (8 << 20) - 3 * 65536];
const CHECK_EVERY = 250_000;
/** Bytes patterned at each end and in the middle of a block (all of a block up to 3 windows). */
const WINDOW = 32;
const KIND_A = 0, KIND_C = 1, KIND_M = 2, KIND_R = 3, KIND_F = 4;

const traces = new Map<string, OpStream>();
const trace = (file: string): OpStream => {
  if (!traces.has(file)) traces.set(file, readTrace(join(TRACE_DIR, file)));
  return traces.get(file)!;
};

/** The offsets of a block's patterned windows: head, middle, tail (overlapping when small). */
function windows(size: number): number[] {
  return size <= 3 * WINDOW ? [0] : [0, (size >> 1) - (WINDOW >> 1), size - WINDOW];
}

function replay(file: string, heapBase: number): void {
  const t = trace(file);
  const memory = new WebAssembly.Memory({ initial: Math.ceil(heapBase / 65536) });
  const h = makeHeap("release", { memory, heapBase }), x = h.exports;
  const ptr = new Uint32Array(t.slots), size = new Uint32Array(t.slots), seed = new Uint8Array(t.slots);
  const fill = (id: number): void => {
    const b = h.u8, p = ptr[id], n = size[id];
    for (const w of windows(n)) for (let i = w; i < Math.min(n, w + WINDOW); i++) b[p + i] = (seed[id] + i) & 255;
  };
  const intact = (id: number, upTo: number, at: number, op: string): void => {
    const b = h.u8, p = ptr[id];
    for (const w of windows(size[id])) {
      for (let i = w; i < Math.min(upTo, w + WINDOW); i++) {
        if (b[p + i] !== ((seed[id] + i) & 255)) {
          expect.fail(`${file} at base ${heapBase}, op ${at} (${op} of id ${id}): block ${p} of ${size[id]} B changed at +${i}`);
        }
      }
    }
  };
  const allocated = (id: number, p: number, n: number, align: number, at: number, op: string): void => {
    if (!p) expect.fail(`${file} at base ${heapBase}, op ${at}: ${op}(${n}) returned 0`);
    if (p % align) expect.fail(`${file} at base ${heapBase}, op ${at}: ${op}(${n}) = ${p}, not ${align}-aligned`);
    ptr[id] = p;
    size[id] = n;
    seed[id] = (id * 31 + at) & 255;
    fill(id);
  };
  for (let at = 0; at < t.count; at++) {
    const w0 = t.ops[2 * at], n = t.ops[2 * at + 1];
    const kind = w0 >>> 29, alignLog2 = (w0 >>> 24) & 31, id = w0 & 0xFFFFFF;
    const minAlign = n >= 16 ? 16 : 8;
    if (kind === KIND_A) allocated(id, u(x.malloc(n)), n, minAlign, at, "malloc");
    else if (kind === KIND_C) {
      const p = u(x.calloc(n, 1));
      if (p && h.u8.subarray(p, p + n).some((b) => b !== 0)) expect.fail(`${file} at base ${heapBase}, op ${at}: calloc(${n}) = ${p} is not zeroed`);
      allocated(id, p, n, minAlign, at, "calloc");
    } else if (kind === KIND_M) allocated(id, u(x.aligned_alloc(1 << alignLog2, n)), n, Math.max(minAlign, 1 << alignLog2), at, "aligned_alloc");
    else if (kind === KIND_R) {
      const kept = Math.min(size[id], n);
      const p = u(x.realloc(ptr[id], n));
      if (!p) expect.fail(`${file} at base ${heapBase}, op ${at}: realloc(${n}) returned 0`);
      ptr[id] = p;
      intact(id, kept, at, "realloc");
      allocated(id, p, n, minAlign, at, "realloc");
    } else if (kind === KIND_F) {
      intact(id, size[id], at, "free");
      x.free(ptr[id]);
      ptr[id] = 0;
    }
    if (at % CHECK_EVERY === CHECK_EVERY - 1) h.check();
  }
  h.check();
  for (let id = 0; id < t.slots; id++) {
    if (!ptr[id]) continue;
    intact(id, size[id], t.count, "final free");
    x.free(ptr[id]);
  }
  expect(h.stats().inUseBytes).toBe(0);
  h.check();
}

describe("real allocation traces, replayed at several heap bases (release build)", () => {
  for (const file of TRACES) {
    it.each(BASES)(`${file} at heap base %i`, (heapBase) => replay(file, heapBase), 60_000);
  }
});
