// Threads: one heap shared by worker_threads over a shared memory (issue 7). Churn workers and
// producer/consumer pairs run >= 200k operations each; every block is patterned and checked, no
// block start is handed out twice, and at the end the heap balances to zero bytes in use and
// passes check().
import { describe, it, expect } from "vitest";
import { Worker } from "node:worker_threads";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decodeStats } from "../../src/statsfields";

const root = fileURLToPath(new URL("../../", import.meta.url));
const mtModule = new WebAssembly.Module(readFileSync(root + "build/asmalloc.mt.wasm"));
const inspectModule = new WebAssembly.Module(readFileSync(root + "build/asmalloc.inspect.mt.wasm"));
const HEAP_BASE = 65536;
const MAX_PAGES = 4096;   // 256 MiB

type Role = "churn" | "producer" | "consumer";

async function run(roles: Role[], ops: number) {
  const memory = new WebAssembly.Memory({ initial: 2, maximum: MAX_PAGES, shared: true });
  const owners = new Int32Array(new SharedArrayBuffer((MAX_PAGES * 65536) / 2));
  const rings: Int32Array[] = [];
  const ringSize = 256;
  const workers = roles.map((role, id) => {
    if (role === "producer") rings[id >> 1] = new Int32Array(new SharedArrayBuffer((2 + ringSize * 3) * 4));
    return new Worker(new URL("./worker.mjs", import.meta.url), {
      workerData: { module: mtModule, memory, heapBase: HEAP_BASE, id, role, ops, seed: 1234 + id, owners, ring: rings[id >> 1], ringSize },
    });
  });
  // producers and consumers of one pair share a ring: create it before the consumer starts
  await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
    w.on("message", () => resolve());
    w.on("error", reject);
    w.on("exit", (code) => (code ? reject(new Error(`worker exited with ${code}`)) : resolve()));
  })));
  const { exports: I } = new WebAssembly.Instance(inspectModule, { env: { memory } }) as any;
  expect(I.bind(HEAP_BASE)).toBe(1);
  const broken = I.check();
  expect(broken, `check() found ${broken} at ${I.check_where()}`).toBe(0);
  const stats = decodeStats(new Float64Array(memory.buffer, I.stats(), 18));
  if (process.env.ASMALLOC_VERBOSE) console.log(roles.join(","), stats);
  return stats;
}

describe("threads: one heap, many workers", () => {
  it("churn in 4 workers, 200k operations each, balances to zero", async () => {
    const s = await run(["churn", "churn", "churn", "churn"], 200_000);
    expect(s.inUseBytes).toBe(0);
    expect(s.cacheBytes).toBe(0);
    expect(s.badFrees + s.doubleFrees + s.failedAllocs).toBe(0);
  });

  it("producer/consumer pairs: every block freed by another worker", async () => {
    const s = await run(["producer", "consumer", "producer", "consumer"], 200_000);
    expect(s.inUseBytes).toBe(0);
    expect(s.cacheBytes).toBe(0);
    expect(s.badFrees + s.doubleFrees + s.failedAllocs).toBe(0);
  });

  it("8 workers (oversubscribed) mixing churn and pairs", async () => {
    const s = await run(["producer", "consumer", "churn", "churn", "producer", "consumer", "churn", "churn"], 200_000);
    expect(s.inUseBytes).toBe(0);
    expect(s.badFrees + s.doubleFrees + s.failedAllocs).toBe(0);
  });
});
