// The threads bench's "no allocator" control for producer/consumer: each instance bumps through
// its own 4 MiB arena and wraps around; free does nothing. Safe because a ring holds at most
// 1024 blocks of <= 256 B in flight (256 KiB), far less than an arena. What it measures is the
// rest of the workload (ring, patterning, checking, moving each block's cache lines from the
// producer's core to the consumer's): the ceiling any allocator's producer/consumer run is under.
// Build: asc --runtime stub --importMemory --sharedMemory --enable threads (no data segments).
let base: usize = 0, top: usize = 0, end: usize = 0;

export function init(arena: usize): u32 { base = arena; top = arena; end = arena + (4 << 20); return 1; }
export function malloc(n: usize): usize {
  n = (n + 15) & ~<usize>15;
  if (top + n > end) top = base;
  const p = top;
  top += n;
  return p;
}
export function free(p: usize): void {}
