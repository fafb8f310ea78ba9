// The lock over the shared tiers (central lists, page heap, page map). In the single-threaded
// build these compile to nothing. See index.ts for the design.
import { THREADS } from "./config";

export function lockHeap(): void {
  if (THREADS) ERROR("threads build: not yet");
}

export function unlockHeap(): void {
  if (THREADS) ERROR("threads build: not yet");
}
