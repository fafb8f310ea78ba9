// asmalloc's heap at peak, for the HTML report: one extra (untimed) run of asmalloc per workload,
// with the inspector module (build/asmalloc.inspect.wasm) bound to the heap before the driver
// starts; whenever the driver's sample shows a new peak of live bytes, the inspector's heap map is
// read (runs of pages: free / small span of a class / large block / metadata). The map at the
// highest peak is aggregated into at most MAX_CELLS cells and stored in results.json (heapMaps).
import { buildInspector } from "../build.js";
import { getAllocator, layout, runOnce, BenchFailure } from "../run.js";
import type { Workload } from "../workloads.js";

export const PAGE_BYTES = 8192;
export const MAX_CELLS = 2000;
/** Inspector kinds: 1 free, 2 small, 3 large, 4 metadata. */
export const KIND_NAMES = ["", "free", "small", "large", "metadata"] as const;

/** results.json `heapMaps[workload]` (optional field of asmalloc-bench/1). */
export interface HeapMapCapture {
  /** allocator calls when the map was taken (a driver sample at the run's peak of live bytes) */
  op: number;
  liveBytes: number;
  /** memory.buffer.byteLength - heap base at that moment */
  heapBytes: number;
  /** address of the first mapped page, and pages from there to the heap's end */
  start: number;
  pages: number;
  pageBytes: number;
  /** pages per cell (>= 1: the map is aggregated into at most MAX_CELLS cells) */
  pagesPerCell: number;
  /** pages by kind: free, small, large, metadata */
  totals: { free: number; small: number; large: number; metadata: number };
  /** the cells, run-length coded: [cells, kind, size class] (a cell takes its majority kind) */
  runs: [number, number, number][];
}

type Entry = [start: number, npages: number, kind: number, cls: number];

/** Reads the whole heap map through a bound inspector instance. */
function readMap(ix: any, memory: WebAssembly.Memory): Entry[] {
  const out: Entry[] = [];
  let from = 0;
  for (let guard = 0; guard < 1 << 20; guard++) {
    const n = ix.heap_map(from) >>> 0;
    if (!n) break;
    const at = ix.heap_map_at() >>> 0;
    const u = new Uint32Array(memory.buffer, at, 4 * n);
    for (let i = 0; i < n; i++) out.push([u[4 * i], u[4 * i + 1], u[4 * i + 2], u[4 * i + 3]]);
    const last = out[out.length - 1];
    const next = last[0] + last[1] * PAGE_BYTES;
    if (next <= from) break;
    from = next;
  }
  return out;
}

/** Aggregates entries into <= MAX_CELLS cells of pagesPerCell pages, run-length coded. */
export function aggregate(entries: Entry[], meta: { op: number; liveBytes: number; heapBytes: number }): HeapMapCapture {
  const totals = { free: 0, small: 0, large: 0, metadata: 0 };
  const start = entries.length ? entries[0][0] : 0;
  const end = entries.length ? entries[entries.length - 1][0] + entries[entries.length - 1][1] * PAGE_BYTES : 0;
  const pages = Math.max(0, Math.round((end - start) / PAGE_BYTES));
  const ppc = Math.max(1, Math.ceil(pages / MAX_CELLS));
  const runs: [number, number, number][] = [];
  const push = (kind: number, cls: number) => {
    const r = runs[runs.length - 1];
    if (r && r[1] === kind && r[2] === cls) r[0]++;
    else runs.push([1, kind, cls]);
  };
  // walk the cells; each cell's majority (kind, cls) by pages
  let ei = 0;
  for (let c = 0; c * ppc < pages; c++) {
    const c0 = start + c * ppc * PAGE_BYTES, c1 = Math.min(end, c0 + ppc * PAGE_BYTES);
    const weight = new Map<number, number>();
    while (ei < entries.length && entries[ei][0] + entries[ei][1] * PAGE_BYTES <= c0) ei++;
    for (let j = ei; j < entries.length && entries[j][0] < c1; j++) {
      const [s, n, k, cls] = entries[j];
      const ov = Math.min(c1, s + n * PAGE_BYTES) - Math.max(c0, s);
      if (ov > 0) { const key = k * 256 + (k === 2 ? cls : 0); weight.set(key, (weight.get(key) ?? 0) + ov); }
    }
    let best = 4 * 256, bw = -1;
    for (const [key, w] of weight) if (w > bw) { bw = w; best = key; }
    push(best >> 8, best & 255);
  }
  for (const [, n, k] of entries) {
    const name = KIND_NAMES[k];
    if (name) totals[name] += n;
  }
  return { ...meta, start, pages, pageBytes: PAGE_BYTES, pagesPerCell: ppc, totals, runs };
}

/** One extra run of asmalloc on `w`, returning the heap map at its peak of live bytes (null if the
 *  inspector is missing or the run fails). */
export async function captureHeapMap(w: Workload): Promise<HeapMapCapture | null> {
  const insp = buildInspector();
  if (!insp) return null;
  const peer = await getAllocator("asmalloc", layout(w).heapBase);
  if (typeof peer === "string") return null;
  let memory: WebAssembly.Memory | undefined, ix: any, heapBase = 0;
  let best: { op: number; liveBytes: number; heapBytes: number; entries: Entry[] } | null = null;
  const take = (op: number, live: number) => {
    if (!ix || !memory || (best && live <= best.liveBytes)) return;
    best = { op, liveBytes: live, heapBytes: memory.buffer.byteLength - heapBase, entries: readMap(ix, memory) };
  };
  try {
    const r = await runOnce(peer, w, {
      start(m, base) {
        memory = m; heapBase = base;
        const x = new WebAssembly.Instance(insp, { env: { memory: m } }).exports as any;
        if (x.bind(base)) ix = x;
      },
      sample: take,
    });
    const last = r.samples[r.samples.length - 1];
    if (last) take(last.op, last.liveBytes);
  } catch (e) {
    if (e instanceof BenchFailure) return null;
    throw e;
  }
  const b = best as { op: number; liveBytes: number; heapBytes: number; entries: Entry[] } | null;
  return b ? aggregate(b.entries, { op: b.op, liveBytes: b.liveBytes, heapBytes: b.heapBytes }) : null;
}

/** Heap maps for every workload on which asmalloc ran ok (except `micro`, which touches nothing). */
export async function captureHeapMaps(workloads: Workload[], ok: (w: string) => boolean): Promise<Record<string, HeapMapCapture>> {
  const out: Record<string, HeapMapCapture> = {};
  for (const w of workloads) {
    if (w.name === "micro" || !ok(w.name)) continue;
    const m = await captureHeapMap(w);
    if (m) out[w.name] = m;
  }
  return out;
}
