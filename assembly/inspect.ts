// asmalloc inspector: a second module, built from the same sources, that shares the heap's
// memory and reads its state: stats, invariant checks, the class profile and the heap map.
// Kept out of the allocator module so that stays small (release <= 8 KiB). Design: index.ts.
//
// Exports work on the heap whose header is at the base passed to bind(). The scratch area they
// write their results to is 8 KiB of the heap's metadata, taken once per inspector instance:
//   +0     stats record (STATS_BYTES, layout in statsfields.ts)
//   +256   class profile (CLASS_COUNT rows of CLASS_PROFILE_WORDS u32)
//   +2304  check() tallies
//   +4096  heap map (HEAP_MAP_MAX entries of 4 u32)
import { CLASS_COUNT } from "./config";
import { STATS_BYTES } from "./statsfields";
import { bindHeap } from "./init";
import { allocMeta } from "./pageheap";
import { lockHeap, unlockHeap, setBlocking } from "./lock";
import { writeStats } from "./stats";
import { checkHeap, brokenAt } from "./check";
import { writeClassProfile, writeHeapMap, CLASS_PROFILE_WORDS } from "./profile";

const SCRATCH_BYTES: u32 = 8192;
const OFF_PROFILE: u32 = 256;
const OFF_TALLIES: u32 = 3072;
const OFF_MAP: u32 = 5120;
export const HEAP_MAP_MAX: u32 = (SCRATCH_BYTES - OFF_MAP) >> 4;
// @ts-ignore: compile-time check
if (STATS_BYTES > OFF_PROFILE || OFF_PROFILE + CLASS_COUNT * CLASS_PROFILE_WORDS * 4 > OFF_TALLIES ||
    OFF_TALLIES + (CLASS_COUNT << 4) > OFF_MAP) ERROR("inspector scratch areas overlap");

let scratch: usize = 0;

/** Binds to the heap at heap_base (as given to the allocator's init, or the address it chose).
 *  Returns 1, or 0 if there is no heap there or no memory for the scratch area. */
export function bind(heap_base: usize): u32 {
  if (!bindHeap(heap_base)) return 0;
  lockHeap();
  if (!scratch) scratch = allocMeta(SCRATCH_BYTES);
  unlockHeap();
  return scratch ? 1 : 0;
}

/** Threads: whether this instance may block on the heap's lock (0 on a browser's main thread). */
export function set_blocking(allowed: u32): void {
  setBlocking(allowed != 0);
}

/** Address of the stats record, freshly filled. */
export function stats(): usize {
  lockHeap();
  writeStats(scratch);
  unlockHeap();
  return scratch;
}

/** 0 if every invariant holds, else what is broken (check.ts Broken); see check_where().
 *  Threads: caches are checked too, so call it while no instance is allocating. */
export function check(): u32 {
  lockHeap();
  const r = checkHeap(scratch + OFF_TALLIES);
  unlockHeap();
  return r;
}

export function check_where(): usize {
  return brokenAt;
}

/** Address of the class profile, freshly filled. */
export function class_profile(): usize {
  writeClassProfile(scratch + OFF_PROFILE);
  return scratch + OFF_PROFILE;
}

/** Fills the heap map from address `from`; returns the entry count (entries at heap_map_at()). */
export function heap_map(from: u32): u32 {
  return writeHeapMap(from, scratch + OFF_MAP, HEAP_MAP_MAX);
}

export function heap_map_at(): usize {
  return scratch + OFF_MAP;
}
