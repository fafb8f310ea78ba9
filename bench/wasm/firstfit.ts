// A first-fit allocator with boundary tags and coalescing (the textbook explicit free list).
//
//   block:  | header u32 | payload ...                 | footer u32 |
//           ^ b (b % 16 == 12)  ^ b+4, 16-aligned       ^ b+bsize-4
//   header = footer = bsize | USED   (bsize: whole block, a multiple of 16, >= 16)
//   a free block keeps next/prev free-list links in its first 8 payload bytes.
//
// malloc scans the free list (LIFO order) for the first block that fits and splits off the rest;
// free merges with free neighbours found through the boundary tags and pushes the result on the
// list. The heap ends with an epilogue header (size 0, USED). Growth takes what is needed, at
// least 1/8 of the heap, and merges it with a free last block. realloc shrinks in place, grows in
// place into a free next block or at the end of the heap, and moves otherwise.
const USED: u32 = 1;
let heapStart: usize = 0;  // first block
let epilogue: usize = 0;   // the epilogue header: end of the heap
let freeHead: usize = 0;   // free list (block addresses), 0 = empty

// @ts-ignore: decorator
@inline function hdr(b: usize): u32 { return load<u32>(b); }
// @ts-ignore: decorator
@inline function bsize(b: usize): usize { return <usize>(load<u32>(b) & ~15); }
// @ts-ignore: decorator
@inline function setTags(b: usize, size: usize, used: u32): void {
  store<u32>(b, <u32>size | used); store<u32>(b + size - 4, <u32>size | used);
}
// @ts-ignore: decorator
@inline function nextOf(b: usize): usize { return <usize>load<u32>(b, 4); }
// @ts-ignore: decorator
@inline function prevOf(b: usize): usize { return <usize>load<u32>(b, 8); }

function unlink(b: usize): void {
  const n = nextOf(b), p = prevOf(b);
  if (p) store<u32>(p, <u32>n, 4); else freeHead = n;
  if (n) store<u32>(n, <u32>p, 8);
}
function push(b: usize): void {
  store<u32>(b, <u32>freeHead, 4); store<u32>(b, 0, 8);
  if (freeHead) store<u32>(freeHead, <u32>b, 8);
  freeHead = b;
}

export function init(heapBase: usize): void {
  heapStart = ((heapBase + 15) & ~15) + 12;
  const have = <usize>memory.size() << 16;
  if (heapStart + 4 > have) memory.grow(<i32>((heapStart + 4 - have + 0xFFFF) >> 16));
  epilogue = heapStart; store<u32>(epilogue, USED);
  freeHead = 0;
}

/** Extends the heap by at least `bytes` (a multiple of 16); the new space becomes a free block
 *  merged with a free last block. Returns that block, or 0 when memory cannot grow. */
function grow(bytes: usize): usize {
  const heapBytes = epilogue - heapStart;
  let add = max(bytes, (heapBytes >> 3) & ~15);
  const have = <usize>memory.size() << 16;
  let end = epilogue + add + 4;
  if (end > have) {
    const need = <i32>((end - have + 0xFFFF) >> 16);
    if (memory.grow(need) < 0) return 0;
    add = ((<usize>memory.size() << 16) - 4 - epilogue) & ~15;
  }
  let b = epilogue, size = add;
  epilogue = b + size; store<u32>(epilogue, USED);
  if (b > heapStart && !(load<u32>(b - 4) & USED)) { // merge with a free last block
    const ps = <usize>(load<u32>(b - 4) & ~15);
    b -= ps; size += ps; unlink(b);
  }
  setTags(b, size, 0); push(b);
  return b;
}

// @ts-ignore: decorator
@inline function blockFor(size: usize): usize { return max<usize>((size + 8 + 15) & ~15, 16); }

/** Marks free block b (already unlinked) used with `need` bytes, splitting off the rest. */
function place(b: usize, need: usize): usize {
  const have = bsize(b);
  if (have - need >= 32) {
    setTags(b, need, USED);
    const r = b + need; setTags(r, have - need, 0); push(r);
  } else setTags(b, have, USED);
  return b + 4;
}

export function malloc(size: usize): usize {
  if (!heapStart) init(<usize>memory.size() << 16);
  if (size > 0x7FFF0000) return 0;
  const need = blockFor(size);
  let b = freeHead;
  while (b) {
    if (bsize(b) >= need) { unlink(b); return place(b, need); }
    b = nextOf(b);
  }
  b = grow(need);
  if (!b) return 0;
  unlink(b);
  return place(b, need);
}

export function free(p: usize): void {
  if (!p) return;
  let b = p - 4, size = bsize(b);
  const n = b + size;
  if (!(hdr(n) & USED)) { unlink(n); size += bsize(n); }
  if (b > heapStart && !(load<u32>(b - 4) & USED)) {
    const ps = <usize>(load<u32>(b - 4) & ~15);
    b -= ps; size += ps; unlink(b);
  }
  setTags(b, size, 0); push(b);
}

export function realloc(p: usize, size: usize): usize {
  if (!p) return malloc(size);
  if (!size) { free(p); return 0; }
  if (size > 0x7FFF0000) return 0;
  const b = p - 4, have = bsize(b), need = blockFor(size);
  if (need <= have) {
    if (have - need >= 32) { setTags(b, need, USED); const r = b + need; setTags(r, have - need, USED); free(r + 4); }
    return p;
  }
  let n = b + have;
  if (n == epilogue) { if (!grow(need - have)) return move(p, size, have); n = b + have; }
  if (!(hdr(n) & USED) && have + bsize(n) >= need) {
    const total = have + bsize(n);
    unlink(n);
    if (total - need >= 32) { setTags(b, need, USED); const r = b + need; setTags(r, total - need, 0); push(r); }
    else setTags(b, total, USED);
    return p;
  }
  return move(p, size, have);
}
function move(p: usize, size: usize, have: usize): usize {
  const q = malloc(size);
  if (!q) return 0;
  memory.copy(q, p, have - 8);
  free(p);
  return q;
}
export function calloc(n: usize, size: usize): usize {
  const total = <u64>n * <u64>size;
  if (total > 0x7FFF0000) return 0;
  const p = malloc(<usize>total);
  if (p) memory.fill(p, 0, <usize>total);
  return p;
}
/** Alignments above 16 are not supported (returns 0). */
export function aligned_alloc(align: usize, size: usize): usize { return align <= 16 ? malloc(size) : 0; }
