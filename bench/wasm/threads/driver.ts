// The threads bench's workload driver (bench/threads, issue 7 item 6): one instance per worker,
// linked to that worker's allocator instance through the `alloc` imports, so no operation
// crosses into JavaScript. Built twice from this source: on a shared env.memory (--sharedMemory)
// for the threaded runs, on a plain one for the single-threaded build's baseline.
//
// No static data and no state in memory of its own: every loop takes the address of its region
// (a slot table or a ring) from the host, and its few scalars are Wasm globals, which are per
// instance. Every block is patterned when it is handed out (a tag of (ptr, size) in its first and
// last 8 bytes, 4 under 16 bytes) and checked before it is freed; failures are counted, the first
// one's pointer kept in `firstBad`.
//
// Call counts (malloc + free) are exact: churn(live, steps) makes 2*live + 2*steps calls,
// produce(n) n mallocs, consume(n) n frees, solo(n) n mallocs and n frees.
@external("alloc", "malloc") declare function a_malloc(size: usize): usize;
@external("alloc", "free") declare function a_free(ptr: usize): void;

let rng: u64 = 0x9E3779B97F4A7C15;
let bad: u32 = 0;
let firstBad: usize = 0;
let waits: u32 = 0;

export function getBad(): u32 { return bad; }
export function getFirstBad(): u32 { return <u32>firstBad; }
/** times this instance slept on its ring (producer: full, consumer: empty) */
export function getWaits(): u32 { return waits; }

// @ts-ignore: decorator
@inline function next(): u64 { // xorshift64*
  let x = rng; x ^= x >> 12; x ^= x << 25; x ^= x >> 27; rng = x;
  return x * 0x2545F4914F6CDD1D;
}
// @ts-ignore: decorator
@inline function below(n: u32): u32 { return <u32>(((next() >> 32) * <u64>n) >> 32); }
/** 8..256 bytes, uniform */
// @ts-ignore: decorator
@inline function smallSize(): usize { return 8 + <usize>below(249); }
function seed(s: u32): void { rng = ((<u64>s << 32) | 0x5BD1E995) ^ 0x9E3779B97F4A7C15; bad = 0; firstBad = 0; waits = 0; }

// @ts-ignore: decorator
@inline function tag(p: usize, size: usize): u64 {
  return (((<u64>p << 32) | <u64>size) * 0x9E3779B97F4A7C15) ^ 0xA5A5A5A5A5A5A5A5;
}
function fail(p: usize): void { if (bad++ == 0) firstBad = p; }
// @ts-ignore: decorator
@inline function pattern(p: usize, size: usize): void {
  if (p == 0 || (p & 7) != 0 || (size >= 16 && (p & 15) != 0)) { fail(p); return; }
  const t = tag(p, size);
  if (size >= 16) { store<u64>(p, t); store<u64>(p + size - 8, t); }
  else { store<u32>(p, <u32>t); store<u32>(p + size - 4, <u32>(t >> 32)); }
}
// @ts-ignore: decorator
@inline function check(p: usize, size: usize): void {
  const t = tag(p, size);
  let ok: bool;
  if (size >= 16) ok = load<u64>(p) == t && load<u64>(p + size - 8) == t;
  else ok = load<u32>(p) == <u32>t && load<u32>(p + size - 4) == <u32>(t >> 32);
  if (!ok) fail(p);
}

/** Small churn: `live` slots (8 bytes each at `slots`: ptr, size) filled, then `steps` times a
 *  random slot's block is checked and freed and replaced by a new one, then all freed. */
export function churn(slots: usize, live: u32, steps: u32, s: u32): u32 {
  seed(s);
  for (let i: u32 = 0; i < live; i++) {
    const n = smallSize(), p = a_malloc(n);
    pattern(p, n);
    const at = slots + (<usize>i << 3);
    store<u32>(at, <u32>p); store<u32>(at, <u32>n, 4);
  }
  for (let k: u32 = 0; k < steps; k++) {
    const at = slots + (<usize>below(live) << 3);
    const p = <usize>load<u32>(at), m = <usize>load<u32>(at, 4);
    check(p, m);
    a_free(p);
    const n = smallSize(), q = a_malloc(n);
    pattern(q, n);
    store<u32>(at, <u32>q); store<u32>(at, <u32>n, 4);
  }
  for (let i: u32 = 0; i < live; i++) {
    const at = slots + (<usize>i << 3);
    const p = <usize>load<u32>(at), m = <usize>load<u32>(at, 4);
    check(p, m);
    a_free(p);
  }
  return bad;
}

// ---- producer/consumer over a single-producer single-consumer ring ----------------------------
// Ring layout at `ring` (host-zeroed): head u32 @0 (consumer's), pwait u32 @4 (producer asleep),
// tail u32 @64 (producer's), cwait u32 @68 (consumer asleep), then `size` slots of (ptr, size)
// from @128. size is a power of two. head and tail count forever (mod 2^32).
const SPIN: i32 = 1 << 16;  // about 50-100 us of loads: the other side publishes every PUBLISH items long before
const WAIT_NS: i64 = 1000000; // 1 ms: the flag protocol below needs no timeout; this is a safety net

/** Waits until the word at `w` differs from `v` (spin, then sleep with `flag` raised). */
function waitChange(w: usize, v: u32, flag: usize): void {
  for (let i = 0; i < SPIN; i++) if (atomic.load<u32>(w) != v) return;
  while (true) {
    atomic.store<u32>(flag, 1);
    if (atomic.load<u32>(w) != v) break;
    waits++;
    memory.atomic.wait32(w, v, WAIT_NS);
    if (atomic.load<u32>(w) != v) break;
  }
  atomic.store<u32>(flag, 0);
}

/** Items between publications of tail (producer) and head (consumer): publishing each item
 *  would move the ring's index cache lines between cores once per block, and the bench would
 *  measure the ring instead of the allocator. Each side publishes before it sleeps, so a side
 *  waiting on the other always sees everything the other has done. */
const PUBLISH: u32 = 32;

export function produce(ring: usize, size: u32, count: u32, s: u32): u32 {
  seed(s);
  const mask = size - 1;
  let tail = atomic.load<u32>(ring + 64), published = tail;
  let head = atomic.load<u32>(ring);
  for (let i: u32 = 0; i < count; i++) {
    if (tail - head >= size) {
      head = atomic.load<u32>(ring);
      if (tail - head >= size) {
        if (published != tail) { atomic.store<u32>(ring + 64, published = tail); if (atomic.load<u32>(ring + 68)) atomic.notify(ring + 64, 1); }
        waitChange(ring, head, ring + 4);
        head = atomic.load<u32>(ring);
      }
    }
    const n = smallSize(), p = a_malloc(n);
    pattern(p, n);
    const at = ring + 128 + (<usize>(tail & mask) << 3);
    store<u32>(at, <u32>p); store<u32>(at, <u32>n, 4);
    if (++tail - published >= PUBLISH) {
      atomic.store<u32>(ring + 64, published = tail);
      if (atomic.load<u32>(ring + 68)) atomic.notify(ring + 64, 1);
    }
  }
  atomic.store<u32>(ring + 64, tail);
  atomic.notify(ring + 64, 1);
  return bad;
}

export function consume(ring: usize, size: u32, count: u32): u32 {
  seed(0);
  const mask = size - 1;
  let head = atomic.load<u32>(ring), published = head;
  let tail = atomic.load<u32>(ring + 64);
  for (let i: u32 = 0; i < count; i++) {
    if (head == tail) {
      tail = atomic.load<u32>(ring + 64);
      if (head == tail) {
        if (published != head) { atomic.store<u32>(ring, published = head); if (atomic.load<u32>(ring + 4)) atomic.notify(ring, 1); }
        waitChange(ring + 64, tail, ring + 68);
        tail = atomic.load<u32>(ring + 64);
      }
    }
    const at = ring + 128 + (<usize>(head & mask) << 3);
    const p = <usize>load<u32>(at), n = <usize>load<u32>(at, 4);
    check(p, n);
    a_free(p);
    if (++head - published >= PUBLISH) {
      atomic.store<u32>(ring, published = head);
      if (atomic.load<u32>(ring + 4)) atomic.notify(ring, 1);
    }
  }
  atomic.store<u32>(ring, head);
  atomic.notify(ring, 1);
  return bad;
}

/** One worker plays both sides: fills the ring's slots, then checks and frees them in order
 *  (the same FIFO allocation pattern as a pair, no other thread). */
export function solo(ring: usize, size: u32, count: u32, s: u32): u32 {
  seed(s);
  const slots = ring + 128;
  let done: u32 = 0;
  while (done < count) {
    const k = count - done < size ? count - done : size;
    for (let i: u32 = 0; i < k; i++) {
      const n = smallSize(), p = a_malloc(n);
      pattern(p, n);
      const at = slots + (<usize>i << 3);
      store<u32>(at, <u32>p); store<u32>(at, <u32>n, 4);
    }
    for (let i: u32 = 0; i < k; i++) {
      const at = slots + (<usize>i << 3);
      const p = <usize>load<u32>(at), n = <usize>load<u32>(at, 4);
      check(p, n);
      a_free(p);
    }
    done += k;
  }
  return bad;
}
