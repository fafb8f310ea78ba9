// asmalloc as the AssemblyScript memory manager: __alloc, __realloc and __free over the "asmalloc"
// module, for interop/as/runtime.ts (asmalloc + AssemblyScript's own GC, itcms).
//
// Block layout. AssemblyScript (rt/common.ts) wants a payload aligned to 16 bytes with the
// usable size in the 4-byte word just before it (mmInfo; its low 2 bits are flags, unused here).
// asmalloc keeps no header and returns 16-byte-aligned blocks of 16 B or more, so each AS block
// is an asmalloc block of size + 16, payload 16 bytes in:
//
//   raw (asmalloc block, 16-aligned)    raw+12    raw+16 = AS payload (16-aligned)
//   ┌──────────────────────────────────┬─────────┬──────────────────────────────────┐
//   │ unused (12 B)                    │ mmInfo  │ payload: size rounded up to 16   │
//   └──────────────────────────────────┴─────────┴──────────────────────────────────┘
//
// The 16 bytes are AssemblyScript's cost only; C programs call asmalloc directly. mmInfo holds
// the request rounded up to 16, never more than asmalloc's usable size minus 16 (blocks >= 16 B
// come from classes that are multiples of 16), so itcms's in-place __renew stays in bounds.
// Blocks below __heap_base are AssemblyScript's static data: never freed, moved on realloc.
// asmalloc's heap starts at __heap_base (above static data and the shadow stack), set up on the
// first allocation; the host may set it up earlier with init(__heap_base), which is harmless.
// Allocation failure traps, as TLSF's does: AssemblyScript code does not expect null.
import { BLOCK_MAXSIZE } from "~lib/rt/common";

// @ts-ignore: decorator
@external("asmalloc", "malloc") declare function asmallocMalloc(size: usize): usize;
// @ts-ignore: decorator
@external("asmalloc", "realloc") declare function asmallocRealloc(p: usize, size: usize): usize;
// @ts-ignore: decorator
@external("asmalloc", "free") declare function asmallocFree(p: usize): void;
// @ts-ignore: decorator
@external("asmalloc", "init") declare function asmallocInit(base: usize): u32;

/** Bytes in front of each payload: 16 keeps the payload aligned; the last 4 hold mmInfo. */
// @ts-ignore: decorator
@inline const HEADER_BYTES: usize = 16;

let heapReady = false;

function initSlow(): void {
  if (!asmallocInit(__heap_base)) unreachable();
  heapReady = true;
}

// @ts-ignore: decorator
@inline function withHeader(raw: usize, size: usize): usize {
  if (!raw) unreachable();
  store<u32>(raw, <u32>((size + 15) & ~15), HEADER_BYTES - 4);
  return raw + HEADER_BYTES;
}

// @ts-ignore: decorator
@global @unsafe
export function __alloc(size: usize): usize {
  if (size > BLOCK_MAXSIZE) unreachable();
  if (!heapReady) initSlow();
  return withHeader(asmallocMalloc(size + HEADER_BYTES), size);
}

// @ts-ignore: decorator
@global @unsafe
export function __realloc(ptr: usize, size: usize): usize {
  if (size > BLOCK_MAXSIZE) unreachable();
  if (ptr < __heap_base) {   // static data: copy out
    const q = __alloc(size);
    memory.copy(q, ptr, min<usize>(size, load<u32>(ptr - 4) & ~3));
    return q;
  }
  return withHeader(asmallocRealloc(ptr - HEADER_BYTES, size + HEADER_BYTES), size);
}

// @ts-ignore: decorator
@global @unsafe
export function __free(ptr: usize): void {
  if (ptr < __heap_base) return;
  asmallocFree(ptr - HEADER_BYTES);
}
