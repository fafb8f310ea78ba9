// Stats: a snapshot of every tier (the record layout is generated from scripts/mkstats.mjs).
// Counters are kept on slow paths only; the fast paths count nothing. See index.ts.
import { PAGE_SHIFT, CLASS_COUNT, DEBUG } from "./config";
import * as F from "./statsfields";
import { heapBase, heapHeader, classInfo } from "./header";
import { centralList } from "./central";
import { cacheList, cacheBytes } from "./threadcache";
import { pageHeapFreeBytes, pageHeapFreeRuns, pageHeapEnd } from "./pageheap";
import { statsRecord } from "./init";

// @ts-ignore: decorator
@inline function put(field: u32, value: f64): void {
  store<f64>(statsRecord + field, value);
}

/** Fills this instance's stats record and returns its address (0 before the heap is set up). */
export function stats(): usize {
  if (!statsRecord) return 0;
  const h = heapHeader();
  let inUse: f64 = <f64>h.largePages * <f64>(1 << PAGE_SHIFT);
  let central: f64 = 0;
  for (let cls: u32 = 1; cls < CLASS_COUNT; cls++) {
    const c = centralList(cls), size = <f64>classInfo(cls).size;
    inUse += <f64>(c.objectsOut - cacheList(cls).length) * size;
    central += <f64>c.objectsFree * size;
  }
  put(F.STAT_HEAP_BYTES, <f64>(pageHeapEnd() - <u32>heapBase));
  put(F.STAT_IN_USE_BYTES, inUse);
  put(F.STAT_REQUESTED_BYTES, DEBUG ? h.requestedBytes : -1);
  put(F.STAT_CACHE_BYTES, cacheBytes());
  put(F.STAT_CENTRAL_BYTES, central);
  put(F.STAT_PAGE_HEAP_FREE_BYTES, <f64>pageHeapFreeBytes());
  put(F.STAT_METADATA_BYTES, <f64>h.metadataBytes);
  put(F.STAT_LARGE_BYTES, <f64>h.largePages * <f64>(1 << PAGE_SHIFT));
  put(F.STAT_SMALL_SPANS, <f64>h.smallSpans);
  put(F.STAT_LARGE_SPANS, <f64>h.largeSpans);
  put(F.STAT_FREE_RUNS, <f64>pageHeapFreeRuns());
  put(F.STAT_MEMORY_GROWS, h.memoryGrows);
  put(F.STAT_REALLOC_MOVES, h.reallocMoves);
  put(F.STAT_REALLOC_IN_PLACE, h.reallocInPlace);
  put(F.STAT_REALLOC_COPIED_BYTES, h.reallocCopiedBytes);
  put(F.STAT_BAD_FREES, h.badFrees);
  put(F.STAT_DOUBLE_FREES, h.doubleFrees);
  put(F.STAT_FAILED_ALLOCS, h.failedAllocs);
  return statsRecord;
}
