// The debug build's checks (config.ts DEBUG): every block carries its requested size and a
// canary, freed small objects are poisoned and checked when handed out again, and misuse is
// reported through the imported env.report(code, ptr, info) before the call returns.
// See index.ts for the design. None of this is compiled into the release build.
//
//   p                     p+n          p+n+4                 p+usable-4   p+usable
//   ├── program's n bytes ┼─ canary ───┼── (slack) ──────────┼─ n (u32) ──┤        live block
//   ├─ link ┼──────────── POISON bytes ───────────────────────────────────┤        freed small block
import { Status } from "./config";
import { MAX_SMALL_SIZE } from "./sizeclasses";
import { Span, SpanState } from "./span";
import { spanOf } from "./pagemap";
import { pageHeapFindSpan } from "./pageheap";
import { HeapHeader, headerField } from "./header";
import { count } from "./lock";
import { allocBlock, freeBlock, fail, classify, blockBytes, reattach, moveBlock, lastError, staysInPlace } from "./malloc";
import { largeResizeInPlace } from "./largeblock";

// @ts-ignore: decorator
@external("env", "report")
declare function report(code: u32, ptr: usize, info: u32): void;

/** Extra bytes per block: the canary (4) and the requested size (4). */
export const DEBUG_EXTRA: usize = 8;
/** Fill of freed (and never used) small objects: 0xDD, as MSVC's debug heap. */
export const POISON: u32 = 0xDDDDDDDD;
const CANARY: u32 = 0xA5A5A5A5;

/** The API call under way, for reports: what a report's info carries in its high half. */
export const enum DebugOp { MALLOC = 1, FREE = 2, REALLOC = 3, USABLE_SIZE = 4, ALIGNED_ALLOC = 5 }
let debugOp: DebugOp = DebugOp.MALLOC;

export function setDebugOp(op: DebugOp): void {
  debugOp = op;
}

/** Reports a free list of class cls broken by a write after free, `at` its bad link (span.ts;
 *  central.ts brokenList counts it). The call under way still succeeds: it does not fail as
 *  misuse does. */
export function reportWriteAfterFree(at: usize, cls: u32): void {
  report(Status.WRITE_AFTER_FREE, at, (<u32>debugOp << 16) | cls);
}

/** Reports misuse through env.report(status, ptr, op << 16 | size class) and fails the call. */
function misuse(status: Status, p: usize, cls: u32): u32 {
  report(status, p, (<u32>debugOp << 16) | cls);
  fail(status);
  return status;
}

// @ts-ignore: decorator
@inline function info(s: Span): u32 {
  return s.state == SpanState.SMALL ? s.cls : 0;
}

/** Fills [from, to) with POISON (both multiples of 4). */
export function poison(from: usize, to: usize): void {
  memory.fill(from, 0xDD, to - from);
}

/** Sets a fresh block of at least n + DEBUG_EXTRA bytes up as a block of n; checks that a reused
 *  small object was not written while free. Returns p. */
export function debugAdopt(p: usize, n: usize): usize {
  if (!p) return 0;
  const s = changetype<Span>(spanOf(<u32>p));
  const bytes = blockBytes(s);
  if (s.state == SpanState.SMALL) {
    for (let a = p + 4; a < p + bytes; a += 4) {
      if (load<u32>(a) != POISON) {
        misuse(Status.WRITE_AFTER_FREE, p, s.cls);
        break;
      }
    }
  }
  setTail(p, n, bytes);
  count(headerField(offsetof<HeapHeader>("requestedBytes")), <u64>n);
  return p;
}

function setTail(p: usize, n: usize, bytes: usize): void {
  store<u8>(p + n, <u8>CANARY);   // byte by byte: p + n need not be aligned
  store<u8>(p + n + 1, <u8>CANARY);
  store<u8>(p + n + 2, <u8>CANARY);
  store<u8>(p + n + 3, <u8>CANARY);
  store<u32>(p + bytes - 4, <u32>n);
}

/** The requested size of live block p; reports CANARY (and returns the usable bytes minus the
 *  tail) if the tail was overwritten. */
export function debugRequested(p: usize, s: Span): usize {
  const bytes = blockBytes(s);
  const n = <usize>load<u32>(p + bytes - 4);
  if (n > bytes - DEBUG_EXTRA || load<u8>(p + n) != <u8>CANARY || load<u8>(p + n + 1) != <u8>CANARY ||
      load<u8>(p + n + 2) != <u8>CANARY || load<u8>(p + n + 3) != <u8>CANARY) {
    misuse(Status.CANARY, p, info(s));
    return n > bytes - DEBUG_EXTRA ? bytes - DEBUG_EXTRA : n;
  }
  return n;
}

export function debugMalloc(n: usize): usize {
  debugOp = DebugOp.MALLOC;
  if (n > <usize>-1 - DEBUG_EXTRA) return fail(Status.SIZE_OVERFLOW);
  return debugAdopt(allocBlock(n + DEBUG_EXTRA), n);
}

/** The span of live block p, or null after reporting why p is not one (a freed small block:
 *  its last word is poison, not its size). */
function liveSpan(p: usize): Span | null {
  reattach();
  const s = pageHeapFindSpan(<u32>p);
  const status = classify(p, s);
  if (status == Status.OK) return s;
  misuse(status, p, s ? info(changetype<Span>(s)) : 0);
  return null;
}

export function debugFree(p: usize): u32 {
  if (!p) return Status.OK;
  debugOp = DebugOp.FREE;
  const s = liveSpan(p);
  if (!s) return lastError;
  const span = changetype<Span>(s);
  const bytes = blockBytes(span);
  count(headerField(offsetof<HeapHeader>("requestedBytes")), <u64>-<i64>debugRequested(p, span));
  if (span.state == SpanState.SMALL) poison(p + 4, p + bytes);
  return freeBlock(p);
}

export function debugRealloc(p: usize, n: usize): usize {
  if (!p) return debugMalloc(n);
  debugOp = DebugOp.REALLOC;
  const s = liveSpan(p);
  if (!s) return 0;
  if (!n) {
    debugFree(p);
    return 0;
  }
  if (n > <usize>-1 - DEBUG_EXTRA) return fail(Status.SIZE_OVERFLOW);
  const span = changetype<Span>(s);
  const old = debugRequested(p, span);
  const inPlace = span.state == SpanState.SMALL
    ? staysInPlace(n + DEBUG_EXTRA, span.objSize)
    : n + DEBUG_EXTRA > MAX_SMALL_SIZE && largeResizeInPlace(span, n + DEBUG_EXTRA);
  if (inPlace) {
    setTail(p, n, blockBytes(span));
    count(headerField(offsetof<HeapHeader>("requestedBytes")), <u64>(<i64>n - <i64>old));
    count(headerField(offsetof<HeapHeader>("reallocInPlace")));
    return p;
  }
  const q = debugMalloc(n);
  if (!q) return 0;
  moveBlock(q, p, min<usize>(old, n));
  debugFree(p);
  return q;
}
