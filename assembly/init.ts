// Setting the heap up: the header page at the base, the class table, the page heap over the
// memory above it; and, per instance, binding to the heap and making its cache.
// See index.ts for the design.
import { PAGE_SIZE, WASM_PAGE_SHIFT, HEADER_MAGIC, OFF_ROOT, CLASS_COUNT, DEBUG } from "./config";
import { MAX_SMALL_SIZE, classToSize, classSpanPages, classBatch, classDivMagic } from "./sizeclasses";
import { setHeapBase, HeapHeader, HEAP_DEBUG, classInfo } from "./header";
import { pagemapInit } from "./pagemap";
import { pageHeapInit, pageHeapBind, memoryEnd } from "./pageheap";
import { cacheInit } from "./threadcache";
import { smallLimit, setSmallLimit } from "./malloc";

/** Sets the heap up at `base` rounded up to a page, or at the end of memory if base is 0; the
 *  memory between the base and the end of memory becomes the heap's. An instance whose base
 *  already holds a heap attaches to it. False (and nothing set up) if memory cannot hold the
 *  header and first metadata. */
export function initHeap(base: usize): bool {
  if (smallLimit) return true;
  let memEnd = memoryEnd();
  if (!base) base = memEnd;
  base = (base + PAGE_SIZE - 1) & ~(<usize>PAGE_SIZE - 1);
  if (base < PAGE_SIZE) base = PAGE_SIZE;   // address 0 is NULL: never part of the heap
  if (base + PAGE_SIZE > memEnd) {
    if (memory.grow(<i32>((base + PAGE_SIZE - memEnd + 0xFFFF) >> WASM_PAGE_SHIFT)) < 0) return false;
    memEnd = memoryEnd();
  }
  const h = changetype<HeapHeader>(base);
  if (!bindHeap(base)) {
    setHeapBase(base);
    pagemapInit(base + OFF_ROOT);
    memory.fill(base, 0, PAGE_SIZE);
    h.metadataBytes = PAGE_SIZE;
    h.flags = DEBUG ? HEAP_DEBUG : 0;
    for (let cls: u32 = 1; cls < CLASS_COUNT; cls++) {
      const info = classInfo(cls), size = classToSize(cls);
      info.size = size;
      info.spanPages = classSpanPages(size);
      info.batch = classBatch(size);
      info.divMagic = classDivMagic(size);
    }
    if (!pageHeapInit(base, memEnd, false)) return abandon();
    h.magic = HEADER_MAGIC;
  }
  if (!cacheInit()) return abandon();
  setSmallLimit(MAX_SMALL_SIZE);
  return true;
}

/** Points this instance's globals at the heap whose header is at `base`, if there is one. */
export function bindHeap(base: usize): bool {
  if (load<u32>(base) != HEADER_MAGIC) return false;
  setHeapBase(base);
  pagemapInit(base + OFF_ROOT);
  pageHeapBind(base);
  return true;
}

function abandon(): bool {
  setHeapBase(0);
  pagemapInit(0);
  return false;
}
