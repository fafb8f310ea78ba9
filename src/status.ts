// The allocator's Status codes, as the host library names them.
// Copied from the `Status` enum in assembly/config.ts (the single source); tests/unit/status.test.ts
// parses that enum and fails if this copy drifts.

/** Why the allocator refused a call (returned by `free_checked`, kept by `last_error`). */
export const Status = {
  /** the call succeeded */
  OK: 0,
  /** not an address the heap handed out: outside the heap, in metadata, or never allocated */
  FOREIGN: 1,
  /** inside a block, not at its start */
  INTERIOR: 2,
  /** in pages the heap holds free */
  FREE_PAGES: 3,
  /** the block is already free */
  DOUBLE_FREE: 4,
  /** linear memory is exhausted (memory.grow failed or the maximum is reached) */
  OUT_OF_MEMORY: 5,
  /** the size does not fit in 32 bits (calloc's n*size, or rounding up) */
  SIZE_OVERFLOW: 6,
  /** alignment not a power of two (or, for posix_memalign, not a multiple of 4) */
  BAD_ALIGNMENT: 7,
  /** debug build: a freed object was written after it was freed */
  WRITE_AFTER_FREE: 8,
  /** debug build: bytes past the requested size were overwritten */
  CANARY: 9,
  /** the heap could not be set up at the given base */
  INIT_FAILED: 10,
} as const;

/** The name of a Status code, e.g. `"DOUBLE_FREE"`. */
export type StatusName = keyof typeof Status;

const NAMES: StatusName[] = [];
for (const [name, code] of Object.entries(Status)) NAMES[code] = name as StatusName;

/** The name of Status `code`, or `"UNKNOWN_<code>"` for a code this library does not know. */
export function statusName(code: number): StatusName | `UNKNOWN_${number}` {
  return NAMES[code] ?? `UNKNOWN_${code}`;
}
