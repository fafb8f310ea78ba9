// AssemblyScript's own TLSF (std/assembly/rt/tlsf.ts) behind the bench's allocator ABI.
// Built with --runtime minimal, so heap.alloc/realloc/free are TLSF's __alloc/__realloc/__free.
// TLSF starts its heap at __heap_base (the bench builds this module with --memoryBase at the
// heap base it wants), grows memory by doubling and traps when memory.grow fails.
export function malloc(size: usize): usize { return heap.alloc(size); }
export function free(ptr: usize): void { if (ptr) heap.free(ptr); }
export function realloc(ptr: usize, size: usize): usize {
  if (!ptr) return heap.alloc(size);
  if (!size) { heap.free(ptr); return 0; }
  return heap.realloc(ptr, size);
}
export function calloc(n: usize, size: usize): usize {
  const total = <u64>n * <u64>size;
  if (total > 0x7FFFFFFF) return 0;
  const p = heap.alloc(<usize>total);
  memory.fill(p, 0, <usize>total);
  return p;
}
/** TLSF has no aligned allocation; its blocks are 16-aligned, larger alignments return 0. */
export function aligned_alloc(align: usize, size: usize): usize {
  return align <= 16 ? heap.alloc(size) : 0;
}
