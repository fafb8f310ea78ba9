// One worker of the threads bench (bench/threads/index.ts): instantiates its allocator instance
// and its driver instance, says it is ready, waits at the start barrier, runs its whole part in
// one call into Wasm, and reports its finish time (process.hrtime: one monotonic clock for every
// thread of the process).
import { parentPort, workerData } from "node:worker_threads";

export type Kind = "mt" | "st" | "dl" | "wrap";
export type Role = "churn" | "produce" | "consume" | "solo";
export interface WorkerJob {
  kind: Kind;
  allocModule: WebAssembly.Module;
  driverModule: WebAssembly.Module;
  /** shared memory for mt/dl; st makes its own */
  memory?: WebAssembly.Memory;
  heapBase: number;
  maxPages: number;
  /** Int32Array over a SharedArrayBuffer: [0] ready count, [1] go, [2] finished count */
  ctrl: Int32Array;
  role: Role;
  /** churn: slot table address; produce/consume/solo: ring address */
  region: number;
  live: number;
  ringSize: number;
  /** churn: steps; produce/consume/solo: blocks */
  count: number;
  seed: number;
  /** dl: top of this worker's C stack */
  stackTop: number;
}
export interface WorkerReport { endNs: number; bad: number; firstBad: number; waits: number; startNs: number }

const job = workerData as WorkerJob;
const memory = job.memory ?? new WebAssembly.Memory({ initial: Math.ceil((job.heapBase + 65536) / 65536) + 1, maximum: job.maxPages });
const ax = new WebAssembly.Instance(job.allocModule, { env: { memory } }).exports as any;
let malloc: Function, free: Function;
if (job.kind === "dl") {
  ax.set_stack_pointer(job.stackTop);
  malloc = ax.locked_malloc; free = ax.locked_free;
} else {
  if (!ax.init(job.heapBase)) throw new Error("asmalloc init failed");
  malloc = ax.malloc; free = ax.free;
}
const d = new WebAssembly.Instance(job.driverModule, { env: { memory }, alloc: { malloc, free } }).exports as any;

Atomics.add(job.ctrl, 0, 1);
parentPort!.postMessage("ready");
Atomics.wait(job.ctrl, 1, 0);
const startNs = Number(process.hrtime.bigint());
switch (job.role) {
  case "churn": d.churn(job.region, job.live, job.count, job.seed); break;
  case "produce": d.produce(job.region, job.ringSize, job.count, job.seed); break;
  case "consume": d.consume(job.region, job.ringSize, job.count); break;
  case "solo": d.solo(job.region, job.ringSize, job.count, job.seed); break;
}
const endNs = Number(process.hrtime.bigint());
Atomics.add(job.ctrl, 2, 1);   // finished (for the host's lock sampler)
if (job.kind === "mt") ax.thread_exit();
const report: WorkerReport = { endNs, startNs, bad: d.getBad(), firstBad: d.getFirstBad(), waits: d.getWaits() };
parentPort!.postMessage(report);
