// Worker of fuzz/delayed.test.ts: a release heap (raw exports) under delayed double frees of
// small blocks. Runs in a worker so that the test can stop it if the allocator hangs. Reports
// how calls ended and how many checks failed; throws only on a trap.
import { parentPort, workerData } from "node:worker_threads";

const { module, inspector, seed, steps } = workerData;
const memory = new WebAssembly.Memory({ initial: 1, maximum: 512 });
const e = new WebAssembly.Instance(module, { env: { memory } }).exports;
const I = new WebAssembly.Instance(inspector, { env: { memory } }).exports;
if (!e.init(8192) || !I.bind(8192)) throw new Error("init failed");
let s = seed >>> 0;
const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
const live = [], freed = [];
const tally = { doubleFrees: 0, refused: 0, accepted: 0, checksBroken: 0, checks: 0, mallocs: 0 };
for (let i = 0; i < steps; i++) {
  const r = rnd();
  if (r < 0.45 || !live.length) {
    const p = e.malloc(1 + Math.floor(rnd() * 2048)) >>> 0;
    tally.mallocs++;
    if (p) live.push(p);
  } else if (r < 0.8) {
    const k = Math.floor(rnd() * live.length), p = live[k];
    live[k] = live[live.length - 1]; live.pop();
    e.free(p);
    freed.push(p);
    if (freed.length > 64) freed.shift();
  } else if (r < 0.9 && freed.length) {
    const p = freed[Math.floor(rnd() * freed.length)];   // may have been handed out again: that is the point
    tally.doubleFrees++;
    if (e.free_checked(p)) tally.refused++; else tally.accepted++;
    const at = live.indexOf(p);
    if (at >= 0) { live[at] = live[live.length - 1]; live.pop(); }
  } else {
    const q = live.length ? e.realloc(live[Math.floor(rnd() * live.length)], 1 + Math.floor(rnd() * 4096)) >>> 0 : 0;
    if (q) live.push(q);   // the old pointer may be stale now; harmless for this test
  }
  if (i % 25 === 0) { tally.checks++; if (I.check() !== 0) tally.checksBroken++; }
}
tally.checks++;
if (I.check() !== 0) tally.checksBroken++;
parentPort.postMessage(tally);
