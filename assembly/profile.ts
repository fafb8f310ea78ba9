// Heap profile: per size class, where its objects are; and the heap map, span by span, that
// the bench report draws. Part of the inspector module (inspect.ts). See index.ts for the design.
import { PAGE_SIZE, CLASS_COUNT } from "./config";
import { Span, SpanState, spanPage, spanEnd } from "./span";
import { pagemapGet } from "./pagemap";
import { classToSize, classSpanPages, SPAN_TAIL_SHIFT } from "./sizeclasses";
import { centralList, parkedObjects } from "./central";
import { cachedObjects } from "./stats";
import { pageHeapStart, pageHeapEnd } from "./pageheap";

/** Words per class in the class profile: size, spans, in use, in caches, free in spans, pages per span. */
export const CLASS_PROFILE_WORDS: u32 = 6;

export function writeClassProfile(out: usize): void {
  for (let cls: u32 = 1; cls < CLASS_COUNT; cls++) {
    const c = centralList(cls), size = classToSize(cls), cached = cachedObjects(cls);
    const row = out + cls * CLASS_PROFILE_WORDS * 4;
    store<u32>(row, size);
    store<u32>(row, c.spans, 4);
    const parked = parkedObjects(cls);   // the transfer cache's (threads): central, free
    store<u32>(row, c.objectsOut - cached - parked, 8);
    store<u32>(row, cached, 12);
    store<u32>(row, c.objectsFree + parked, 16);
    store<u32>(row, classSpanPages(size, SPAN_TAIL_SHIFT), 20);
  }
}

/** Kind of a heap-map entry: a SpanState (FREE for a SPARE), or METADATA for pages outside any
 *  span (header, metadata chunks, page-map leaves, memory others grew between our growths). */
export const METADATA: u32 = 4;

/** Writes up to `maxEntries` entries (start, npages, kind, class) of 4 u32 each for the spans from
 *  address `from` (a page boundary, >= the heap's first page) on. Returns how many it wrote;
 *  continue from the last entry's end. */
export function writeHeapMap(from: u32, out: usize, maxEntries: u32): u32 {
  let n: u32 = 0;
  const end = pageHeapEnd();
  let a = max<u32>(from, pageHeapStart());
  while (a < end && n < maxEntries) {
    const raw = pagemapGet(a);
    const s = changetype<Span>(raw);
    const e = out + (n << 4);
    if (!raw || s.state == SpanState.DEAD || spanPage(s) != a) {
      // a run of pages outside spans
      let b = a + PAGE_SIZE;
      while (b < end) {
        const r = pagemapGet(b);
        if (r && changetype<Span>(r).state != SpanState.DEAD && spanPage(changetype<Span>(r)) == b) break;
        b += PAGE_SIZE;
      }
      store<u32>(e, a);
      store<u32>(e, (b - a) / PAGE_SIZE, 4);
      store<u32>(e, METADATA, 8);
      store<u32>(e, 0, 12);
      a = b;
    } else {
      store<u32>(e, a);
      store<u32>(e, s.npages, 4);
      store<u32>(e, s.state == SpanState.SPARE ? SpanState.FREE : s.state, 8);   // a spare is free
      store<u32>(e, s.state == SpanState.SMALL ? s.cls : 0, 12);
      a = spanEnd(s);
    }
    n++;
  }
  return n;
}
