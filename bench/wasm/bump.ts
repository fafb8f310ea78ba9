// A bump allocator: the naive baseline. Each block has a 4-byte size word before a 16-aligned
// payload; free only takes back the most recent block (as AssemblyScript's stub runtime does),
// realloc grows the most recent block in place and copies otherwise. Memory grows by what is
// needed, at least 1/8 of the current memory (memory.grow is slow at large sizes).
let top: usize = 0;   // next block's size word; top % 16 == 12, so the payload top+4 is 16-aligned

export function init(heapBase: usize): void { top = ((heapBase + 15) & ~15) + 12; }

function reserve(end: usize): bool {
  const have = <usize>memory.size() << 16;
  if (end <= have) return true;
  const need = <i32>((end - have + 0xFFFF) >> 16);
  const extra = memory.size() >> 3;
  if (memory.grow(max(need, extra)) >= 0) return true;
  return memory.grow(need) >= 0;
}
// @ts-ignore: decorator
@inline function blockEnd(p: usize, size: usize): usize { return p + ((size + 4 + 15) & ~15) - 4; }

export function malloc(size: usize): usize {
  if (top == 0) init(<usize>memory.size() << 16);
  if (size > 0x7FFF0000) return 0;
  const p = top + 4;
  const end = blockEnd(p, size);
  if (!reserve(end + 4)) return 0;
  store<u32>(top, <u32>size);
  top = end;
  return p;
}
export function free(p: usize): void {
  if (p && blockEnd(p, load<u32>(p - 4)) == top) top = p - 4;
}
export function realloc(p: usize, size: usize): usize {
  if (!p) return malloc(size);
  if (!size) { free(p); return 0; }
  const old = <usize>load<u32>(p - 4);
  if (blockEnd(p, old) == top) {
    const end = blockEnd(p, size);
    if (size > 0x7FFF0000 || !reserve(end + 4)) return 0;
    store<u32>(p - 4, <u32>size); top = end;
    return p;
  }
  if (size <= old) { store<u32>(p - 4, <u32>size); return p; }
  const q = malloc(size);
  if (q) memory.copy(q, p, old);
  return q;
}
export function calloc(n: usize, size: usize): usize {
  const total = <u64>n * <u64>size;
  if (total > 0x7FFF0000) return 0;
  const p = malloc(<usize>total);
  if (p) memory.fill(p, 0, <usize>total);
  return p;
}
export function aligned_alloc(align: usize, size: usize): usize {
  if (align <= 16) return malloc(size);
  // pad with a dummy block so the next payload lands on the alignment
  if (top == 0) init(<usize>memory.size() << 16);
  while (((top + 4) & (align - 1)) != 0) malloc(0);
  return malloc(size);
}
