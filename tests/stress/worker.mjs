// A worker of the threads stress test: instantiates build/asmalloc.mt.wasm over the shared
// memory, attaches to the heap, and runs its part: churn (its own blocks) or one side of a
// producer/consumer pair (every block freed by the other worker). Every block carries a
// pattern naming its owner and is checked before it is freed; `owners` (one Int32 per 8 bytes
// of memory, CAS from 0) proves no block start is handed out twice at once.
import { parentPort, workerData } from "node:worker_threads";

const { module, memory, heapBase, id, role, ops, seed, owners, ring, ringSize } = workerData;
const { exports: e } = await WebAssembly.instantiate(module, { env: { memory } });
if (!e.init(heapBase)) throw new Error(`worker ${id}: init failed`);

let s = seed >>> 0;
const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
let view = new DataView(memory.buffer);
const dv = () => (view.buffer === memory.buffer ? view : (view = new DataView(memory.buffer)));
const fail = (msg) => { throw new Error(`worker ${id} (${role}): ${msg}`); };

function claim(p, n, tag) {
  if (!p) fail(`malloc(${n}) returned 0`);
  if (n >= 16 && p % 16) fail(`misaligned ${p} for ${n}`);
  if (Atomics.compareExchange(owners, p >>> 3, 0, tag) !== 0) fail(`block ${p} handed out twice`);
  const d = dv();
  d.setUint32(p, tag, true);
  d.setUint32(p + n - 4, tag ^ n, true);
}
function release(p, n, tag) {
  const d = dv();
  if (d.getUint32(p, true) !== tag || d.getUint32(p + n - 4, true) !== ((tag ^ n) >>> 0)) fail(`block ${p} (${n} B) corrupted`);
  if (Atomics.compareExchange(owners, p >>> 3, tag, 0) !== tag) fail(`owner map lost block ${p}`);
  const st = e.free_checked(p);
  if (st) fail(`free(${p}) refused with status ${st}`);
}
const size = () => 8 + Math.floor(rnd() * 249);   // 8..256 B, the churn floor's workload

if (role === "churn") {
  const LIVE = 1000, ptrs = new Array(LIVE).fill(0), sizes = new Array(LIVE).fill(0), tags = new Array(LIVE).fill(0);
  for (let i = 0; i < ops; i++) {
    const k = Math.floor(rnd() * LIVE);
    if (ptrs[k]) release(ptrs[k], sizes[k], tags[k]);
    const n = size(), p = e.malloc(n), tag = ((id + 1) << 24) | (i & 0xffffff);
    claim(p, n, tag);
    ptrs[k] = p; sizes[k] = n; tags[k] = tag;
  }
  for (let k = 0; k < LIVE; k++) if (ptrs[k]) release(ptrs[k], sizes[k], tags[k]);
} else {
  // ring: [head, tail, then ringSize slots of (ptr, size, tag)]; one producer, one consumer
  const slot = (i) => 2 + (i % ringSize) * 3;
  if (role === "producer") {
    for (let i = 0; i < ops; i++) {
      while (Atomics.load(ring, 1) - Atomics.load(ring, 0) >= ringSize) Atomics.wait(ring, 0, Atomics.load(ring, 0), 1);
      const n = size(), p = e.malloc(n), tag = ((id + 1) << 24) | (i & 0xffffff);
      claim(p, n, tag);
      const t = Atomics.load(ring, 1), at = slot(t);
      ring[at] = p; ring[at + 1] = n; ring[at + 2] = tag;
      Atomics.store(ring, 1, t + 1);
      Atomics.notify(ring, 1);
    }
  } else {
    for (let i = 0; i < ops; i++) {
      while (Atomics.load(ring, 1) === Atomics.load(ring, 0)) Atomics.wait(ring, 1, Atomics.load(ring, 0), 1);
      const h = Atomics.load(ring, 0), at = slot(h);
      release(ring[at], ring[at + 1], ring[at + 2]);
      Atomics.store(ring, 0, h + 1);
      Atomics.notify(ring, 0);
    }
  }
}
e.thread_exit();
parentPort.postMessage({ id, done: true });
