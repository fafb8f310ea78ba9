// The copy-always baseline: asmalloc's malloc/free/calloc/aligned_alloc (the bench links them
// straight from the asmalloc instance) with a realloc that never resizes in place: a new block,
// a copy of min(old usable size, new size) bytes, then the old block freed. The bench instantiates
// this module over the same env.memory with the asmalloc instance's exports as "asmalloc".
@external("asmalloc", "malloc") declare function a_malloc(size: usize): usize;
@external("asmalloc", "free") declare function a_free(ptr: usize): void;
@external("asmalloc", "malloc_usable_size") declare function a_usable(ptr: usize): usize;

export function realloc(p: usize, size: usize): usize {
  if (!p) return a_malloc(size);
  if (!size) { a_free(p); return 0; }
  const q = a_malloc(size);
  if (!q) return 0;
  const old = a_usable(p);
  memory.copy(q, p, old < size ? old : size);
  a_free(p);
  return q;
}
