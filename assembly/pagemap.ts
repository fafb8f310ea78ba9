// PageMap: address -> span record, two levels (root of 512 leaves, each covering 8 MiB).
// free() finds a pointer's span here, so blocks need no header and a pointer the heap never
// handed out is recognised instead of followed. See index.ts for the design.
//
// Invariants: every page of a SMALL span maps to it (free() looks objects up on any page); a
// LARGE or FREE span maps at least its first and last page (what free() of a large block and
// coalescing read). Other entries may be stale, so a lookup is trusted only if the record is
// live and its range contains the address (see spanOf); findSpan also finds the span of an
// address inside a large block or free run.
import { PAGE_SHIFT, LEAF_BITS, REGION_SHIFT, ROOT_ENTRIES } from "./config";
import { Span, SpanState, spanPage, spanEnd } from "./span";

/** Address of the root array; 0 until init, which makes every lookup miss. */
export let pagemapRoot: usize = 0;

export function pagemapInit(root: usize): void {
  pagemapRoot = root;
}

// @ts-ignore: decorator
@inline function leafOf(addr: u32): usize {
  return load<u32>(pagemapRoot + ((addr >> REGION_SHIFT) << 2));
}

/** The record the map holds for addr's page, possibly stale, or 0. Inlined: free()'s fast path. */
// @ts-ignore: decorator
@inline export function pagemapGetInline(addr: u32): usize {
  if (!pagemapRoot) return 0;
  const leaf = leafOf(addr);
  if (!leaf) return 0;
  return load<u32>(leaf + (((addr >> PAGE_SHIFT) & ((1 << LEAF_BITS) - 1)) << 2));
}

/** pagemapGetInline for slow paths (one copy of the code). */
export function pagemapGet(addr: u32): usize {
  return pagemapGetInline(addr);
}

/** The live span containing addr, in any state but DEAD, or 0. */
// @ts-ignore: decorator
@inline export function spanOf(addr: u32): Span | null {
  const s = pagemapGet(addr);
  if (!s) return null;
  const span = changetype<Span>(s);
  if (span.state == SpanState.DEAD || addr - spanPage(span) >= (span.npages << PAGE_SHIFT)) return null;
  return span;
}

/** The live span containing addr, or null: its own page's record, else a walk back (down to
 *  `lowest`) to the first page of the large block or free run containing it. Slow paths only. */
export function findSpan(addr: u32, lowest: u32): Span | null {
  for (let a = addr & ~((1 << PAGE_SHIFT) - 1); a >= lowest; a -= 1 << PAGE_SHIFT) {
    const r = pagemapGet(a);
    const span = changetype<Span>(r);
    if (r && span.state != SpanState.DEAD && addr - spanPage(span) < (span.npages << PAGE_SHIFT)) return span;
  }
  return null;
}

/** REQUIRES the leaf for addr exists (pagemapHasLeaf). */
// @ts-ignore: decorator
@inline export function pagemapSet(addr: u32, s: Span): void {
  store<u32>(leafOf(addr) + (((addr >> PAGE_SHIFT) & ((1 << LEAF_BITS) - 1)) << 2), changetype<u32>(s));
}

export function pagemapSetAll(s: Span): void {
  for (let a = s.start, e = spanEnd(s); a < e; a += 1 << PAGE_SHIFT) pagemapSet(a, s);
}

/** Maps the first and last page: enough for a free span. */
export function pagemapSetEnds(s: Span): void {
  pagemapSet(s.start, s);
  pagemapSet(spanEnd(s) - (1 << PAGE_SHIFT), s);
}

export function pagemapHasLeaf(addr: u32): bool {
  return leafOf(addr) != 0;
}

/** Moves the leaves in [from, from + bytes) to `to` (not overlapping): copies them and points the
 *  root at the copies. Single-threaded build only: free() reads the map without a lock. */
export function pagemapMoveLeaves(from: u32, bytes: u32, to: u32): void {
  memory.copy(to, from, bytes);
  for (let r: u32 = 0; r < ROOT_ENTRIES; r++) {
    const at = pagemapRoot + (r << 2), leaf = load<u32>(at);
    if (leaf - from < bytes) store<u32>(at, leaf - from + to);
  }
}

/** Installs a zeroed 4 KiB leaf for addr's region. */
export function pagemapAddLeaf(addr: u32, leaf: usize): void {
  store<u32>(pagemapRoot + ((addr >> REGION_SHIFT) << 2), <u32>leaf);
}
