// The bench's workload driver, compiled once to Wasm and linked to each allocator under test.
//
// It imports the allocator's functions from another instance over the same env.memory, so no
// operation crosses into JavaScript (a wasm->wasm cross-instance call costs about a local call).
// Its own state is a few globals plus the region [regionBase, regionEnd) that the host reserves
// below the allocator's heap base: the slot table (ptr u32, size u32 per slot), a table of
// precomputed sizes for the micro benchmark and the trace op buffer. Nothing here comes from
// the allocator under test.
//
// Every block handed out is touched and checked (touch/check below): the first 8 and last 8 bytes
// hold a tag derived from (ptr, size); blocks under 16 bytes get their first word and last byte.
// The tag is checked on free, after realloc (the preserved prefix) and by verifyAll at the end;
// calloc'd blocks are checked to be zero at those places first. Alignment is checked on every
// allocation (16 B for blocks >= 16 B, 8 B for 8..15 B, 4 B below). Any failure calls report(),
// which throws in the host naming the allocator and the operation.
//
// Build: see bench/build.ts (asc --runtime stub --importMemory --use abort= -O3; no data segments).

// ---- imports ----------------------------------------------------------------------------------
@external("alloc", "malloc") declare function a_malloc(size: usize): usize;
@external("alloc", "free") declare function a_free(ptr: usize): void;
@external("alloc", "realloc") declare function a_realloc(ptr: usize, size: usize): usize;
@external("alloc", "calloc") declare function a_calloc(n: usize, size: usize): usize;
@external("alloc", "aligned_alloc") declare function a_aligned_alloc(align: usize, size: usize): usize;
/** Throws in the host. op: one of the OP_* / ERR_* codes below. */
@external("env", "report") declare function report(op: i32, ptr: usize, size: usize): void;
/** Called every sampleEvery ops with the op index and the requested bytes live. */
@external("env", "sample") declare function sample(opIndex: f64, liveBytes: f64): void;
/** Trace replay: the host copies the next chunk of ops to the op buffer; returns how many. */
@external("env", "refill") declare function refill(): u32;

// report codes (mirrored in bench/driver-abi.ts)
const OP_MALLOC: i32 = 1, OP_FREE: i32 = 2, OP_REALLOC: i32 = 3, OP_CALLOC: i32 = 4, OP_ALIGNED: i32 = 5,
  OP_VERIFY: i32 = 6;
const ERR_OOM: i32 = 16, ERR_ALIGN: i32 = 32, ERR_CORRUPT: i32 = 48, ERR_NOTZERO: i32 = 64, ERR_TRACE: i32 = 80;

// ---- state ------------------------------------------------------------------------------------
let slots: usize = 0;        // slot table: 8 bytes per slot (ptr u32, size u32)
let nslotsMax: u32 = 0;
let sizesTab: usize = 0;     // micro benchmark: 4096 precomputed sizes (u32)
let opBuf: usize = 0;        // trace ops, 8 bytes each
let rng: u64 = 0x9E3779B97F4A7C15;
let live: u64 = 0;           // requested bytes live
let peakLive: u64 = 0;
let liveBlocks: u32 = 0;
let ops: u64 = 0;            // allocator calls made
let sampleEvery: u32 = 1 << 30;
let sampleLeft: u32 = 1 << 30;
let movedBytes: u64 = 0;     // min(old, new) summed over reallocs that returned a new pointer
let moves: u32 = 0;
let ringNext: u32 = 0;      // interleave(): the ring slot replaced next

/** Lays out the driver's region. Returns nothing; all pointers are inside the host's region. */
export function setup(slotBase: usize, maxSlots: u32, sizesBase: usize, opBase: usize, seed: u32, every: u32): void {
  slots = slotBase; nslotsMax = maxSlots; sizesTab = sizesBase; opBuf = opBase;
  rng = (<u64>seed << 32) ^ 0x9E3779B97F4A7C15; if (rng == 0) rng = 1;
  live = 0; peakLive = 0; liveBlocks = 0; ops = 0; movedBytes = 0; moves = 0; ringNext = 0;
  sampleEvery = every; sampleLeft = every;
  memory.fill(slotBase, 0, <usize>maxSlots << 3);
}
export function getOps(): f64 { return <f64>ops; }
export function getPeakLive(): f64 { return <f64>peakLive; }
export function getLive(): f64 { return <f64>live; }
export function getMovedBytes(): f64 { return <f64>movedBytes; }
export function getMoves(): u32 { return moves; }

// ---- helpers ----------------------------------------------------------------------------------
// @ts-ignore: decorator
@inline function next(): u64 { // xorshift64*
  let x = rng; x ^= x >> 12; x ^= x << 25; x ^= x >> 27; rng = x;
  return x * 0x2545F4914F6CDD1D;
}
// @ts-ignore: decorator
@inline function below(n: u32): u32 { return <u32>(((next() >> 32) * <u64>n) >> 32); }
// @ts-ignore: decorator
@inline function uniform(lo: u32, hi: u32): u32 { return lo + below(hi - lo + 1); }
/** Log-uniform in [lo, hi], piecewise linear within each octave (no float tables, so the driver
 *  keeps no static data): log2 of the result is uniform in [log2 lo, log2 (hi+1)). */
function logUniform(lo: u32, hi: u32): u32 {
  const a = log2fx(lo), b = log2fx(hi + 1);           // 16.16 fixed point
  const x = a + <u32>(((next() >> 32) * <u64>(b - a)) >> 32);
  const e = x >> 16, f = <u64>(x & 0xFFFF);
  const v = <u32>(((<u64>1 << e) * (0x10000 + f)) >> 16);
  return v < lo ? lo : (v > hi ? hi : v);
}
/** log2(v) in 16.16 fixed point, the inverse of logUniform's piecewise-linear octaves. */
function log2fx(v: u32): u32 {
  const e = 31 - clz(v);
  const f = <u32>(((<u64>v << 16) >> e) - 0x10000);
  return (<u32>e << 16) + f;
}
// @ts-ignore: decorator
@inline function tag(p: usize, size: usize): u64 {
  return ((<u64>p << 32) | <u64>size) * 0x9E3779B97F4A7C15 ^ 0xA5A5A5A5A5A5A5A5;
}
// @ts-ignore: decorator
@inline function tick(): void {
  ops++;
  if (--sampleLeft == 0) { sampleLeft = sampleEvery; sample(<f64>ops, <f64>live); }
}
// @ts-ignore: decorator
@inline function addLive(size: usize): void {
  live += size; liveBlocks++;
  if (live > peakLive) peakLive = live;
}

function touch(p: usize, size: usize): void {
  const t = tag(p, size);
  if (size >= 16) { store<u64>(p, t); store<u64>(p + size - 8, t); }
  else if (size >= 8) { store<u64>(p, t); if (size > 8) store<u8>(p + size - 1, <u8>t); }
  else if (size > 0) { store<u8>(p, <u8>t); store<u8>(p + size - 1, <u8>t); }
}
/** Checks the tag of (p, size) restricted to the first `keep` bytes (keep <= size): what realloc
 *  must have preserved. keep == size checks the whole tag. */
function checkTag(p: usize, size: usize, keep: usize, op: i32): void {
  const t = tag(p, size);
  let ok = true;
  if (size >= 16) {
    if (keep >= 8) ok = load<u64>(p) == t;
    if (keep >= size) ok = ok && load<u64>(p + size - 8) == t;
  } else if (size >= 8) {
    if (keep >= 8) ok = load<u64>(p) == t;
    if (size > 8 && keep >= size) ok = ok && load<u8>(p + size - 1) == <u8>t;
  } else if (size > 0) {
    if (keep >= 1) ok = load<u8>(p) == <u8>t;
    if (keep >= size) ok = ok && load<u8>(p + size - 1) == <u8>t;
  }
  if (!ok) report(op | ERR_CORRUPT, p, size);
}
function checkZero(p: usize, size: usize): void {
  let ok = true;
  if (size >= 16) ok = load<u64>(p) == 0 && load<u64>(p + size - 8) == 0;
  else if (size >= 8) ok = load<u64>(p) == 0 && load<u8>(p + size - 1) == 0;
  else if (size > 0) ok = load<u8>(p) == 0 && load<u8>(p + size - 1) == 0;
  if (!ok) report(OP_CALLOC | ERR_NOTZERO, p, size);
}
// @ts-ignore: decorator
@inline function checkAlign(p: usize, size: usize, op: i32): void {
  const a: usize = size >= 16 ? 16 : (size >= 8 ? 8 : 4);
  if (p & (a - 1)) report(op | ERR_ALIGN, p, size);
}
// @ts-ignore: decorator
@inline function checkPtr(p: usize, size: usize, op: i32): void {
  if (p == 0) { if (size != 0) report(op | ERR_OOM, 0, size); }
  else checkAlign(p, size, op);
}

// ---- slot operations: every workload goes through these ---------------------------------------
// @ts-ignore: decorator
@inline function slotPtr(i: u32): usize { return <usize>load<u32>(slots + (<usize>i << 3)); }
// @ts-ignore: decorator
@inline function slotSize(i: u32): usize { return <usize>load<u32>(slots + (<usize>i << 3), 4); }
// @ts-ignore: decorator
@inline function setSlot(i: u32, p: usize, size: usize): void {
  store<u32>(slots + (<usize>i << 3), <u32>p); store<u32>(slots + (<usize>i << 3), <u32>size, 4);
}

function allocSlot(i: u32, size: usize): void {
  const p = a_malloc(size); tick();
  checkPtr(p, size, OP_MALLOC);
  touch(p, size); setSlot(i, p, size); addLive(size);
}
function callocSlot(i: u32, size: usize): void {
  const p = a_calloc(1, size); tick();
  checkPtr(p, size, OP_CALLOC);
  checkZero(p, size);
  touch(p, size); setSlot(i, p, size); addLive(size);
}
function alignedSlot(i: u32, align: usize, size: usize): void {
  const p = a_aligned_alloc(align, size); tick();
  if (p == 0 && size != 0) report(OP_ALIGNED | ERR_OOM, 0, size);
  if (p & (align - 1)) report(OP_ALIGNED | ERR_ALIGN, p, size);
  touch(p, size); setSlot(i, p, size); addLive(size);
}
function freeSlot(i: u32): void {
  const p = slotPtr(i), size = slotSize(i);
  if (p != 0) checkTag(p, size, size, OP_FREE);
  a_free(p); tick();
  setSlot(i, 0, 0); live -= size; liveBlocks--;
}
function reallocSlot(i: u32, size: usize): void {
  const p = slotPtr(i), old = slotSize(i);
  const q = a_realloc(p, size); tick();
  if (q == 0 && size != 0) report(OP_REALLOC | ERR_OOM, p, size);
  checkAlign(q, size, OP_REALLOC);
  const keep = old < size ? old : size;
  // what was preserved: the old tag over the first `keep` bytes, now at q
  if (q != 0 && p != 0) {
    if (q != p) { moves++; movedBytes += keep; }
    checkMoved(q, p, old, keep);
  }
  if (p == 0) liveBlocks++;
  touch(q, size); setSlot(i, q, size);
  live = live - old + size; if (live > peakLive) peakLive = live;
}
/** The old block's tag (computed for its old address p) must be found at q over `keep` bytes. */
function checkMoved(q: usize, p: usize, old: usize, keep: usize): void {
  const t = tag(p, old);
  let ok = true;
  if (old >= 16) {
    if (keep >= 8) ok = load<u64>(q) == t;
    if (keep >= old) ok = ok && load<u64>(q + old - 8) == t;
  } else if (old >= 8) {
    if (keep >= 8) ok = load<u64>(q) == t;
    if (old > 8 && keep >= old) ok = ok && load<u8>(q + old - 1) == <u8>t;
  } else if (old > 0) {
    if (keep >= 1) ok = load<u8>(q) == <u8>t;
    if (keep >= old) ok = ok && load<u8>(q + old - 1) == <u8>t;
  }
  if (!ok) report(OP_REALLOC | ERR_CORRUPT, q, old);
}

/** Checks every live slot's tag (untimed, after a run). Returns the number of live blocks. */
export function verifyAll(n: u32): u32 {
  let c: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const p = slotPtr(i);
    if (p != 0) { checkTag(p, slotSize(i), slotSize(i), OP_VERIFY); c++; }
  }
  return c;
}
/** Frees every live slot (used by the synthetic workloads' teardown, timed with them). */
function freeAll(n: u32): void {
  for (let i: u32 = 0; i < n; i++) if (slotPtr(i) != 0) freeSlot(i);
}

// ---- workloads ----------------------------------------------------------------------------------
/** Random-replacement churn: fill n slots with sizes uniform in [lo, hi], then `steps` times free
 *  a random slot and allocate a new block in it; then free everything. */
export function churn(n: u32, steps: u32, lo: u32, hi: u32): void {
  for (let i: u32 = 0; i < n; i++) allocSlot(i, uniform(lo, hi));
  for (let s: u32 = 0; s < steps; s++) {
    const i = below(n);
    freeSlot(i); allocSlot(i, uniform(lo, hi));
  }
  freeAll(n);
}
/** Same with log-uniform sizes. */
export function churnLog(n: u32, steps: u32, lo: u32, hi: u32): void {
  for (let i: u32 = 0; i < n; i++) allocSlot(i, logUniform(lo, hi));
  for (let s: u32 = 0; s < steps; s++) {
    const i = below(n);
    freeSlot(i); allocSlot(i, logUniform(lo, hi));
  }
  freeAll(n);
}
/** Allocator-only micro benchmark: nothing but malloc and free in the loop (no touching; sizes
 *  from a precomputed table of 4096 uniform sizes in [lo, hi]). `pairs` malloc/free pairs, then
 *  `rounds` batches of `batch` mallocs followed by their frees in reverse order. */
export function micro(pairs: u32, rounds: u32, batch: u32, lo: u32, hi: u32): void {
  for (let i: u32 = 0; i < 4096; i++) store<u32>(sizesTab + (<usize>i << 2), uniform(lo, hi));
  let k: u32 = 0;
  for (let s: u32 = 0; s < pairs; s++) {
    const p = a_malloc(<usize>load<u32>(sizesTab + (<usize>(k & 4095) << 2)));
    if (p == 0) report(OP_MALLOC | ERR_OOM, 0, 0);
    a_free(p); k++;
  }
  for (let r: u32 = 0; r < rounds; r++) {
    for (let i: u32 = 0; i < batch; i++) {
      const p = a_malloc(<usize>load<u32>(sizesTab + (<usize>(k & 4095) << 2)));
      if (p == 0) report(OP_MALLOC | ERR_OOM, 0, 0);
      store<u32>(slots + (<usize>i << 3), <u32>p); k++;
    }
    for (let i = batch; i > 0; i--) a_free(<usize>load<u32>(slots + (<usize>(i - 1) << 3)));
  }
  ops += <u64>pairs * 2 + <u64>rounds * batch * 2;
}
/** Batches: allocate `batch` blocks (uniform [lo, hi]), then free them all, newest first (lifo=1)
 *  or oldest first (lifo=0); `rounds` times. */
export function batches(rounds: u32, batch: u32, lo: u32, hi: u32, lifo: u32): void {
  for (let r: u32 = 0; r < rounds; r++) {
    for (let i: u32 = 0; i < batch; i++) allocSlot(i, uniform(lo, hi));
    if (lifo) { for (let i = batch; i > 0; i--) freeSlot(i - 1); }
    else { for (let i: u32 = 0; i < batch; i++) freeSlot(i); }
  }
}
/** Realloc growth, byte by byte: n buffers, round-robin, each realloc'd to len+1 until `final`
 *  bytes (so neighbours stand in the way of growing in place). */
export function reallocBytes(n: u32, final: u32): void {
  for (let len: u32 = 1; len <= final; len++) {
    for (let i: u32 = 0; i < n; i++) reallocSlot(i, len);
  }
  freeAll(n);
}
/** The blocks interleaved with growing buffers: a ring of `n` slots from slot `base`; each call
 *  frees the ring's oldest block (once the ring is full) and allocates one of log-uniform size in
 *  [lo, hi] in its place, so blocks keep being placed after the buffers and some get freed. n == 0:
 *  nothing. Teardown: the caller's freeAll covers the ring. */
function interleave(base: u32, n: u32, lo: u32, hi: u32): void {
  if (n == 0) return;
  const i = base + ringNext;
  if (++ringNext == n) ringNext = 0;
  if (slotPtr(i) != 0) freeSlot(i);
  allocSlot(i, logUniform(lo, hi));
}
/** Realloc growth with doubling (a vector's push_back): n buffers, round-robin, one byte appended
 *  per step; the capacity doubles from 16 when full. ops counts only the allocator calls, but the
 *  time includes the appends (as a program's would). `others` > 0: every 4 KiB appended to each
 *  buffer, n other blocks are allocated in a ring of `others` slots after the buffers (interleave). */
export function reallocDoubling(n: u32, final: u32, others: u32, lo: u32, hi: u32): void {
  for (let i: u32 = 0; i < n; i++) allocSlot(i, 16);
  for (let len: u32 = 17; len <= final; len++) {
    for (let i: u32 = 0; i < n; i++) {
      if (len > <u32>slotSize(i)) reallocSlot(i, slotSize(i) << 1);
      // the appended byte; the last 8 bytes of the capacity hold the tail tag, so bytes that
      // would land there are not written (the head tag covers the first 8)
      if (len > 8 && len <= <u32>slotSize(i) - 8) store<u8>(slotPtr(i) + len - 1, <u8>len);
    }
    if ((len & 4095) == 0) for (let i: u32 = 0; i < n; i++) interleave(n, others, lo, hi);
  }
  freeAll(n + others);
}
/** n buffers grown round-robin `step` bytes at a time to `final` bytes each; `others` > 0: one
 *  other block allocated (in a ring of `others` slots after the buffers) after every growth step. */
export function reallocStep(n: u32, step: u32, final: u32, others: u32, lo: u32, hi: u32): void {
  for (let len: u32 = step; len <= final; len += step) {
    for (let i: u32 = 0; i < n; i++) { reallocSlot(i, len); interleave(n, others, lo, hi); }
  }
  freeAll(n + others);
}

// ---- trace replay ---------------------------------------------------------------------------------
// Op encoding, 8 bytes: word0 = kind << 29 | alignLog2 << 24 | id (id < 2^24); word1 = size.
// kinds: 0 malloc, 1 calloc (size = n * size), 2 aligned, 3 realloc, 4 free.
/** Replays `total` ops, taking them from the op buffer and asking the host to refill it. */
export function replay(total: f64): void {
  let avail: u32 = 0, at: usize = opBuf;
  for (let k: f64 = 0; k < total; k++) {
    if (avail == 0) { avail = refill(); at = opBuf; if (avail == 0) report(ERR_TRACE, 0, 0); }
    const w = load<u32>(at), size = <usize>load<u32>(at, 4);
    at += 8; avail--;
    const id = w & 0xFFFFFF, kind = w >> 29;
    if (id >= nslotsMax) report(ERR_TRACE, id, size);
    if (kind == 0) allocSlot(id, size);
    else if (kind == 4) freeSlot(id);
    else if (kind == 3) reallocSlot(id, size);
    else if (kind == 1) callocSlot(id, size);
    else alignedSlot(id, <usize>1 << ((w >> 24) & 31), size);
  }
}
