// A workload for the host library in a browser (bench/browser/index.html); plain JS so the page
// needs no build step. Also importable from Node (pass asmalloc/node's createHeap).
//
// ops random malloc / calloc / realloc / free calls on up to `slots` live blocks, sizes
// log-uniform 1 B .. 64 KiB with an occasional large block up to 1 MiB. Every block is filled
// with a byte derived from its slot and generation; on free and after realloc the block's first,
// middle and last 16 bytes (the preserved prefix, for realloc) are checked. At the end: every live
// block is checked, heap.check() runs, and stats().inUseBytes is compared with the sum of
// usableSize() over the live blocks (plus, for a large block, its colour: the bytes of its first
// 8 KiB page before it); then everything is freed and inUseBytes must be 0.

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
}

export async function runWorkload(createHeap, heapOptions, { ops = 50000, slots = 2000, seed = 42 } = {}) {
  const t0 = performance.now();
  const heap = await createHeap(heapOptions);
  const rand = rng(seed);
  const ptr = new Array(slots).fill(0), size = new Array(slots).fill(0), tag = new Array(slots).fill(0);
  const counts = { malloc: 0, calloc: 0, realloc: 0, free: 0 };
  const errors = [];
  let gen = 0, maxLive = 0;
  const pickSize = () => (rand() < 0.01 ? 65536 + Math.floor(rand() * (1 << 20)) : Math.max(1, Math.floor(2 ** (rand() * 16))));
  const fill = (p, n, t) => heap.u8.fill(t, p, p + n);
  const check = (i, n, where) => {
    if (errors.length > 10) return;
    const u8 = heap.u8, p = ptr[i], t = tag[i];
    const spots = [[0, Math.min(n, 16)], [Math.max(0, (n >> 1) - 8), Math.min(n, (n >> 1) + 8)], [Math.max(0, n - 16), n]];
    for (const [a, b] of spots) for (let k = a; k < b; k++) {
      if (u8[p + k] !== t) { errors.push(`${where}: slot ${i} block ${p} (${n} B) byte ${k} is ${u8[p + k]}, want ${t}`); return; }
    }
  };
  const newTag = () => (gen = (gen % 254) + 1);
  for (let op = 0; op < ops && errors.length === 0; op++) {
    const i = Math.floor(rand() * slots), r = rand();
    if (!ptr[i]) {
      const n = pickSize();
      if (r < 0.2) {
        const p = heap.calloc(1, n); counts.calloc++;
        const u8 = heap.u8;
        for (const k of [0, n >> 1, n - 1]) if (u8[p + k] !== 0) errors.push(`calloc(${n}) = ${p}: byte ${k} not zero`);
        ptr[i] = p;
      } else { ptr[i] = heap.malloc(n); counts.malloc++; }
      if (ptr[i] % (n >= 16 ? 16 : 8)) errors.push(`block ${ptr[i]} of ${n} B misaligned`);
      size[i] = n; tag[i] = newTag(); fill(ptr[i], n, tag[i]);
    } else if (r < 0.4) {
      const n = pickSize();
      check(i, size[i], "before realloc");
      const q = heap.realloc(ptr[i], n); counts.realloc++;
      ptr[i] = q;
      check(i, Math.min(size[i], n), "after realloc");
      size[i] = n; tag[i] = newTag(); fill(q, n, tag[i]);
    } else {
      check(i, size[i], "free");
      heap.free(ptr[i]); counts.free++;
      ptr[i] = 0; size[i] = 0;
    }
    let live = 0;
    if (op % 1000 === 0) { for (const s of size) live += s; maxLive = Math.max(maxLive, live); }
  }
  let liveBlocks = 0, liveBytes = 0, usable = 0, held = 0;
  for (let i = 0; i < slots; i++) if (ptr[i]) {
    check(i, size[i], "final");
    const u = heap.usableSize(ptr[i]);
    liveBlocks++; liveBytes += size[i]; usable += u; held += u + (size[i] > 65536 ? ptr[i] % 8192 : 0);
  }
  let checkError = null;
  try { heap.check(); } catch (e) { checkError = String(e && e.message || e); }
  const stats = heap.stats();
  const inUseConsistent = stats.inUseBytes === held && usable >= liveBytes;
  for (let i = 0; i < slots; i++) if (ptr[i]) { heap.free(ptr[i]); ptr[i] = 0; }
  const after = heap.stats();
  try { heap.check(); } catch (e) { checkError ??= String(e && e.message || e); }
  const ok = errors.length === 0 && !checkError && inUseConsistent && after.inUseBytes === 0;
  return {
    ok, ops, counts, errors, checkError, liveBlocks, liveBytes, usableBytes: usable, heldBytes: held, maxLiveBytes: maxLive,
    stats, inUseConsistent, inUseAfterFreeAll: after.inUseBytes, heapBytes: stats.heapBytes,
    memoryBytes: heap.memory.buffer.byteLength, ms: Math.round(performance.now() - t0),
  };
}
