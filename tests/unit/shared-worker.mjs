// A worker of tests/unit/shared.test.ts: attaches to the shared heap through the host library
// (attachHeap with the handle the main thread posted), churns patterned blocks of mixed sizes
// through the checked API (malloc, calloc, realloc, alignedAlloc, free), hands its survivors to
// the main thread, frees the blocks another thread handed it (checking their patterns), and
// calls threadExit(). Any refusal, pattern mismatch or exception fails the worker.
import { parentPort, workerData } from "node:worker_threads";

const { libUrl, handle, id, ops, seed, keep } = workerData;
const lib = await import(libUrl);
const heap = await lib.attachHeap(handle);
if (heap.base !== handle.heapBase || !heap.shared) throw new Error(`worker ${id}: attached heap has base ${heap.base}`);

let s = seed >>> 0;
const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
const fail = (msg) => { throw new Error(`worker ${id}: ${msg}`); };

/** A block's pattern: its tag in the first and last word (if it has 8 bytes), a fill byte between. */
function fillBlock(p, n, tag) {
  heap.bytes(p, n).fill(1 + (tag % 251));
  if (n >= 8) { const v = heap.view; v.setUint32(p, tag, true); v.setUint32(p + n - 4, tag ^ n, true); }
}
/** Checks the first `len` bytes (default all) of the pattern of a block of `n` bytes. */
function checkBlock(p, n, tag, len = n) {
  const b = heap.bytes(p, len), byte = 1 + (tag % 251), v = heap.view;
  const tagged = n >= 8, from = tagged ? 4 : 0, to = tagged ? Math.min(len, n - 4) : len;
  for (let i = from; i < to; i += 1 + (i & 15)) if (b[i] !== byte) fail(`block ${p} (${n} B, tag ${tag}) byte ${i} is ${b[i]}, expected ${byte}`);
  if (to > from && b[to - 1] !== byte) fail(`block ${p} (${n} B, tag ${tag}) byte ${to - 1} is ${b[to - 1]}`);
  if (tagged && len >= 4 && v.getUint32(p, true) !== tag >>> 0) fail(`block ${p} (${n} B) head tag ${v.getUint32(p, true)} != ${tag}`);
  if (tagged && len >= n && v.getUint32(p + n - 4, true) !== ((tag ^ n) >>> 0)) fail(`block ${p} (${n} B, tag ${tag}) tail tag damaged`);
}
const size = () => {
  const r = rnd();
  if (r < 0.9) return Math.floor(2 ** (rnd() * 10));            // 1 B .. 1 KiB
  if (r < 0.99) return 1024 + Math.floor(rnd() * 60_000);       // medium, up to ~60 KiB
  return 65_536 + Math.floor(rnd() * 200_000);                  // large: page-heap traffic
};

const live = [];   // [ptr, size, tag]
for (let i = 0; i < ops; i++) {
  const r = rnd(), tag = ((id + 1) << 24 | i) >>> 0;
  if (live.length > 300 || (live.length && r < 0.45)) {
    const k = Math.floor(rnd() * live.length), [p, n, t] = live[k];
    checkBlock(p, n, t);
    live[k] = live[live.length - 1]; live.pop();
    heap.free(p);
  } else if (live.length && r < 0.55) {
    const k = Math.floor(rnd() * live.length), [p, n, t] = live[k], m = size() + 8;
    const q = heap.realloc(p, m);
    checkBlock(q, n, t, Math.min(n, m));
    fillBlock(q, m, tag);
    live[k] = [q, m, tag];
  } else {
    const n = size(), how = i % 7;
    const p = how === 0 ? heap.calloc(1, n) : how === 1 ? heap.alignedAlloc(2 ** (4 + (i >> 3) % 9), n) : heap.malloc(n);
    if (how === 0 && heap.bytes(p, n).some((x) => x !== 0)) fail(`calloc(1, ${n}) = ${p} not zeroed`);
    fillBlock(p, n, tag);
    live.push([p, n, tag]);
  }
}
const st = heap.stats();   // the attached inspector, while other threads run (check() would not be safe now)
if (st.badFrees || st.doubleFrees || st.failedAllocs) fail(`refusals counted: ${JSON.stringify(st)}`);

// hand `keep` survivors to the main thread (which passes them to another worker), free the rest
const give = live.splice(0, keep);
for (const [p, n, t] of live) { checkBlock(p, n, t); heap.free(p); }
parentPort.postMessage({ id, give });
const got = await new Promise((resolve) => parentPort.once("message", resolve));
for (const [p, n, t] of got.blocks) { checkBlock(p, n, t); heap.free(p); }
heap.threadExit();
parentPort.postMessage({ id, done: true, freed: got.blocks.length });
