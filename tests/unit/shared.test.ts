// Shared heaps through the host library (issue 7 item 4): createHeap({ shared: true }) on the
// main thread, heap.share() posted to worker_threads Workers, attachHeap(handle) in each; the
// workers churn patterned blocks through the checked API, hand blocks to each other (every
// survivor is freed by a different thread than the one that allocated it) and exit with
// threadExit(); the main thread then finds the heap consistent and empty.
import { describe, it, expect } from "vitest";
import { Worker } from "node:worker_threads";
import { createHeapSync, attachHeapSync, HeapError, PAGE_SIZE, WASM_PAGE_SIZE, type Heap, type SharedHeapHandle } from "../../src/index.js";
import { createHeap as createHeapNode, attachHeap as attachHeapNode } from "../../src/node.js";
import { wasmModule } from "../helpers/heaps.js";
import { hostLibraryUrl } from "../helpers/transpile.js";

const mt = () => ({ wasm: wasmModule("mt"), inspector: wasmModule("inspect.mt") });

function sharedHeap(options: Parameters<typeof createHeapSync>[0] extends infer O ? Partial<O> : never = {}): Heap {
  return createHeapSync({ shared: true, maximumMemory: 1024, ...mt(), ...options } as Parameters<typeof createHeapSync>[0]);
}

describe("shared heaps: API", () => {
  it("a double free within one instance is refused however late it comes (cache, transfer cache or span)", () => {
    const a = sharedHeap();
    const ps = Array.from({ length: 200 }, () => a.malloc(64));
    const victims = [ps[3], ps[50], ps[120]];
    a.free(victims[0]);
    for (const p of ps.slice(4, 40)) a.free(p);   // a batch or more on: parked, or back in its span
    a.free(victims[1]);
    a.threadExit();   // every cached object goes back
    a.free(victims[2]);
    for (const p of victims) expect(() => a.free(p), `free of ${p}`).toThrow(/DOUBLE_FREE/);
    expect(a.stats().doubleFrees).toBe(3);
    a.check();
    const again = Array.from({ length: 400 }, () => a.malloc(64));
    expect(new Set(again).size).toBe(again.length);
    a.check();
  });

  it("a block freed again by another instance while it sits in the first one's cache is refused", () => {
    const a = sharedHeap(), b = attachHeapSync(a.share());
    const ps = Array.from({ length: 100 }, () => a.malloc(64));
    a.free(ps[10]);
    a.free(ps[11]);
    expect(() => b.free(ps[10])).toThrow(/DOUBLE_FREE/);
    expect(() => b.realloc(ps[11], 64)).toThrow(/DOUBLE_FREE/);
    expect(() => b.usableSize(ps[11])).toThrow(/DOUBLE_FREE/);
    b.free(ps[12]);   // a live block freed by another instance is fine
    a.check();
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) for (const h of [a, b]) { const p = h.malloc(64); expect(seen.has(p)).toBe(false); seen.add(p); }
    a.check();
  });

  it("createHeap({ shared: true }) makes a shared memory with the threads build; share() describes it", () => {
    const h = sharedHeap();
    expect(h.shared).toBe(true);
    expect(h.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(h.base).toBe(PAGE_SIZE);
    const handle = h.share();
    expect(handle.memory).toBe(h.memory);
    expect(handle.heapBase).toBe(h.base);
    expect(handle.module).toBe(wasmModule("mt"));
    expect(handle.inspector).toBe(wasmModule("inspect.mt"));
    const p = h.malloc(100);
    h.bytes(p, 100).fill(3);
    expect(h.usableSize(p)).toBeGreaterThanOrEqual(100);
    expect(() => h.free(p + 8)).toThrow(HeapError);
    h.free(p);
    expect(() => h.free(p)).toThrow(HeapError);
    h.check();
    expect(h.stats().inUseBytes).toBe(0);
    h.threadExit();
    expect(h.stats().cacheBytes).toBe(0);
    expect(h.malloc(8)).toBeGreaterThan(0);   // usable after threadExit: it re-attaches
    // realloc too, when it is the first call after threadExit: in place, and moved to a class
    const q = h.malloc(100);
    h.bytes(q, 100).fill(5);
    h.threadExit();
    expect(h.realloc(q, 110)).toBe(q);
    h.threadExit();
    const r = h.realloc(q, 1000);
    expect(r).not.toBe(q);
    expect(h.bytes(r, 100).every((b) => b === 5)).toBe(true);
    h.free(r);
    h.check();
  });

  it("a second instance attaches to the same heap: blocks cross instances, stats are the heap's", () => {
    const a = sharedHeap();
    const b = attachHeapSync(a.share());
    expect(b.base).toBe(a.base);
    expect(b.memory).toBe(a.memory);
    const ps = Array.from({ length: 200 }, (_, i) => a.malloc(1 + i * 37));
    const qs = Array.from({ length: 200 }, (_, i) => b.malloc(1 + i * 53));
    expect(new Set([...ps, ...qs]).size).toBe(400);
    for (const p of ps) b.free(p);
    for (const q of qs) a.free(q);
    a.check();
    b.check();
    expect(a.stats().inUseBytes).toBe(0);
    expect(b.stats().inUseBytes).toBe(0);
    b.threadExit();
    a.threadExit();
  });

  it("a write after free into a cached block's link, with another instance growing memory: never a live block twice", () => {
    const a = sharedHeap(), b = attachHeapSync(a.share());
    const live = new Map<number, number>();
    const take = (h: Heap, size: number) => {
      const p = h.malloc(size);
      expect(live.has(p), `block ${p} handed out while live`).toBe(false);
      h.bytes(p, size).fill(live.size & 255);
      live.set(p, size);
      return p;
    };
    const victim = take(a, 48);
    const x = a.malloc(48);
    a.free(x);
    new DataView(a.memory.buffer).setUint32(x, victim, true);   // the program writes after free
    for (let i = 0; i < 300; i++) take(b, 4000);   // b grows memory: a's view of its end is stale
    for (let i = 0; i < 500; i++) take(a, 48);
    expect(a.stats().writesAfterFree).toBe(1);
    const sorted = [...live].sort((p, q) => p[0] - q[0]);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1][0] + sorted[i - 1][1]).toBeLessThanOrEqual(sorted[i][0]);
    [...live.keys()].forEach((p, i) => (i % 2 ? a : b).free(p));   // across instances
    b.threadExit();
    a.threadExit();
    a.check();
  });

  it("heapBase: rounded up to 8 KiB, memory grown to hold the header, a shared memory passed in", () => {
    const h = sharedHeap({ heapBase: 3 * WASM_PAGE_SIZE + 1 });
    expect(h.base).toBe(3 * WASM_PAGE_SIZE + PAGE_SIZE);
    expect(h.memory.buffer.byteLength).toBeGreaterThanOrEqual(h.base + PAGE_SIZE);
    h.free(h.malloc(10));
    h.check();

    const memory = new WebAssembly.Memory({ initial: 2, maximum: 64, shared: true });
    const g = createHeapSync({ shared: true, memory, ...mt() });
    expect(g.base).toBe(2 * WASM_PAGE_SIZE);   // default: the memory's end
    expect(g.memory).toBe(memory);
    g.free(g.malloc(1000));
    g.check();
  });

  it("refuses what cannot work: debug + shared, unshared memory, single-threaded share(), bad handles", () => {
    expect(() => sharedHeap({ debug: true })).toThrow(TypeError);
    expect(() => sharedHeap({ memory: new WebAssembly.Memory({ initial: 1 }) })).toThrow(TypeError);
    expect(() => sharedHeap({ memory: new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }), maximumMemory: 2 })).toThrow(TypeError);
    expect(() => sharedHeap({ maximumMemory: 70000 })).toThrow(RangeError);
    const single = createHeapSync({ wasm: wasmModule("release"), inspector: wasmModule("inspect") });
    expect(single.shared).toBe(false);
    expect(() => single.share()).toThrow(TypeError);
    single.threadExit();   // a trim
    expect(() => attachHeapSync({ memory: single.memory, heapBase: single.base, module: wasmModule("mt") })).toThrow(TypeError);
    expect(() => attachHeapSync(null as unknown as SharedHeapHandle)).toThrow(TypeError);
    const h = sharedHeap();
    expect(() => attachHeapSync({ ...h.share(), heapBase: -1 })).toThrow(RangeError);
    expect(() => attachHeapSync({ memory: h.memory, heapBase: h.base })).toThrow(TypeError);   // no module
    // a memory that cannot hold the header at the base asked for
    expect(() => createHeapSync({ shared: true, maximumMemory: 1, heapBase: WASM_PAGE_SIZE, ...mt() })).toThrow(HeapError);
  });

  it("transfer cache: whole batches one instance frees are parked and handed to the next that needs a batch; stats and check() count them", () => {
    const a = sharedHeap();
    const b = attachHeapSync(a.share());
    // class 5 is 64 B (batch 32); its central list record (config.ts OFF_CENTRAL, 32 B per class)
    // holds the two parked batches' first objects at +16 and +24
    const parked = () => { const u = new Uint32Array(a.memory.buffer, a.base + 1024 + 5 * 32 + 16, 4); return [u[0], u[2]]; };
    const ps = Array.from({ length: 1000 }, () => a.malloc(64));
    for (const p of ps) b.free(p);
    expect(parked().every((first) => ps.includes(first))).toBe(true);   // both slots hold b's frees
    const row = a.classProfile().find((r) => r.size === 64)!;
    expect(row.inUse).toBe(0);   // parked objects are central, not the program's
    expect(a.stats().inUseBytes).toBe(0);
    a.check();                   // walks the parked chains (handed-out objects, none twice)
    const qs = Array.from({ length: 64 }, () => a.malloc(64));
    expect(parked()).toEqual([0, 0]);   // a's misses took both batches whole
    expect(new Set(qs).size).toBe(64);
    for (const q of qs) b.free(q);
    b.threadExit();
    a.threadExit();
    a.check();
    expect(a.stats().inUseBytes).toBe(0);
  });

  it("transfer cache: out of memory hands parked batches back to their spans, so their pages can be reused", () => {
    const a = sharedHeap({ maximumMemory: 48 });
    const b = attachHeapSync(a.share());
    const ps: number[] = [];
    for (let i = 0; i < 20_000; i++) ps.push(a.malloc(64));
    for (const p of ps) b.free(p);
    b.threadExit();   // b's cache goes back too; what stays parked keeps spans alive
    const big: number[] = [];
    for (;;) {   // large blocks until memory is exhausted: that drains the transfer cache
      try { big.push(a.malloc(256 * 1024)); } catch { break; }
    }
    a.check();
    expect(a.stats().centralBytes).toBe(0);   // every span of 64 B objects went back
    for (const p of big) a.free(p);
    a.check();
    expect(a.stats().inUseBytes).toBe(0);
  });

  it("blocking: may be set explicitly; defaults to blocking outside a browser main thread", () => {
    const h = sharedHeap({ blocking: false });
    const g = attachHeapSync(h.share(), { blocking: true, inspector: false });
    expect(g.inspector).toBeNull();
    expect(() => g.stats()).toThrow();
    g.free(h.malloc(64));
    h.check();
  });

  it("asmalloc/node: createHeap({ shared: true }) and attachHeap default to build/asmalloc.mt.wasm", async () => {
    const h = await createHeapNode({ shared: true, maximumMemory: 256 });
    const { module, inspector, ...bare } = h.share();
    expect(module).toBeInstanceOf(WebAssembly.Module);
    expect(inspector).toBeInstanceOf(WebAssembly.Module);
    const g = await attachHeapNode(bare);   // no modules in the handle: read from build/
    g.free(h.malloc(500));
    g.check();
    await expect(createHeapNode({ shared: true, debug: true })).rejects.toThrow(TypeError);
  });
});

/** Runs `n` workers on one shared heap; each hands its survivors to the next. */
async function runWorkers(n: number, ops: number, keep: number) {
  const heap = sharedHeap({ maximumMemory: 4096 });
  // the main thread holds blocks too, and gives some to worker 0 to free
  const mainBlocks: [number, number, number][] = [];
  for (let i = 0; i < 100; i++) {
    const size = 1 + ((i * 131) % 3000), p = heap.malloc(size), tag = (0xAB000000 | i) >>> 0;
    heap.bytes(p, size).fill(1 + (tag % 251));
    if (size >= 8) { heap.view.setUint32(p, tag, true); heap.view.setUint32(p + size - 4, (tag ^ size) >>> 0, true); }
    mainBlocks.push([p, size, tag]);
  }
  const libUrl = hostLibraryUrl();
  const handle = heap.share();
  const given: { give: [number, number, number][] }[] = [];
  const workers = Array.from({ length: n }, (_, id) =>
    new Worker(new URL("./shared-worker.mjs", import.meta.url), { workerData: { libUrl, handle, id, ops, seed: 777 + id, keep } }));
  // Listen for the exits now: a worker that has exited before a late once("exit") is attached
  // never fires it. (That was the hang: under load one worker exited while another was still
  // freeing, and awaiting its exit after every "done" waited forever; lock word 0.)
  const exited = workers.map((w) => new Promise((r) => w.once("exit", r)));
  let handedOff = 0;
  const done = workers.map((w, id) => new Promise<number>((resolve, reject) => {
    w.on("message", (m: { give?: [number, number, number][]; done?: boolean; freed?: number }) => {
      if (m.done) return resolve(m.freed!);
      given[id] = { give: m.give! };
      if (++handedOff === n) {
        // everyone has churned: worker i frees worker i-1's survivors; worker 0 also the main thread's
        workers.forEach((v, j) => v.postMessage({ blocks: [...given[(j + n - 1) % n].give, ...(j === 0 ? mainBlocks : [])] }));
      }
    });
    w.on("error", reject);
    w.on("exit", (code) => (code ? reject(new Error(`worker ${id} exited with ${code}`)) : undefined));
  }));
  // the main thread churns meanwhile (it may block in Node)
  for (let i = 0; i < 20_000; i++) heap.free(heap.malloc(1 + (i % 2000)));
  // Watchdog over reporting and exiting: fail with the heap's lock word and who has reported,
  // instead of a bare timeout, so the state is on record.
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    watchdog = setTimeout(() => {
      const lockWord = new Int32Array(heap.memory.buffer)[(heap.base >>> 2) + 1];
      reject(new Error(`workers stuck after 60 s: heap lock word ${lockWord}, handed off ${handedOff}/${n}`));
      workers.forEach((w) => w.terminate());
    }, 60_000);
  });
  const all = Promise.all(done).then((f) => Promise.all(exited).then(() => f));
  const freed = await Promise.race([all, hung]).finally(() => clearTimeout(watchdog));
  heap.threadExit();
  heap.check();
  const s = heap.stats();
  const expected = given.map((_, j) => given[(j + n - 1) % n].give.length + (j === 0 ? mainBlocks.length : 0));
  return { s, freed, expected };
}

describe("shared heaps: worker_threads attach through the handle", () => {
  it("4 workers (+ main) allocate, hand blocks across threads, free, exit: heap checks clean and is empty", async () => {
    const { s, freed, expected } = await runWorkers(4, 50_000, 150);
    expect(freed).toEqual(expected);
    expect(freed.reduce((x, y) => x + y)).toBeGreaterThan(100 + 4 * 20);
    expect(s.inUseBytes).toBe(0);
    expect(s.cacheBytes).toBe(0);
    expect(s.badFrees + s.doubleFrees + s.failedAllocs).toBe(0);
  });

  it("2 workers", async () => {
    const { s, freed, expected } = await runWorkers(2, 30_000, 300);
    expect(freed).toEqual(expected);
    expect(s.inUseBytes).toBe(0);
    expect(s.badFrees + s.doubleFrees + s.failedAllocs).toBe(0);
  });
});

describe("shared heaps: known limitations", () => {
  // BUG/limitation (assembly/check.ts checkCaches + the duplicate walk): check() on a shared heap
  // walks every instance's cache lists, which their threads push and pop without the heap lock.
  // Run while workers churn, it reports HeapCorruptionError CACHE on a healthy heap (3 runs of
  // 3 with this test; 1 in 3 with one check per worker mid-run) or never returns (the unbounded duplicate walk follows a
  // popped object's reused first word). The heap itself is fine: the same run without the
  // concurrent check passes. Until the inspector can check caches safely (e.g. per-cache seqlock,
  // or skip other threads' caches), Heap.check() documents "only while other threads are quiet".
  it.skip("check() while other threads allocate reports no corruption and returns", async () => {
    const heap = sharedHeap({ maximumMemory: 4096 });
    const libUrl = hostLibraryUrl(), handle = heap.share();
    const workers = Array.from({ length: 3 }, (_, id) =>
      new Worker(new URL("./shared-worker.mjs", import.meta.url), { workerData: { libUrl, handle, id, ops: 200_000, seed: 5 + id, keep: 0 } }));
    const handed = workers.map((w) => new Promise((r) => w.once("message", r)));
    await new Promise((r) => setTimeout(r, 300));   // the workers have started churning
    for (const end = Date.now() + 1500; Date.now() < end;) heap.check();   // racing their churn
    await Promise.all(handed);
    workers.forEach((w) => w.postMessage({ blocks: [] }));
    await Promise.all(workers.map((w) => new Promise((r) => w.once("exit", r))));
  });
});
