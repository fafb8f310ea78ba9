// The debug build's env.report hook, as the host library turns it into a readable report: the
// misuse, the call it happened in, the pointer and the size class.
import { describe, it, expect } from "vitest";
import { createHeap, type HeapReport, sizeToClass } from "../../src/node.js";

describe("debug build reports", () => {
  it("name the misuse, the operation, the pointer and the size class", async () => {
    const reports: HeapReport[] = [];
    const heap = await createHeap({ debug: true, onReport: (r) => reports.push(r) });
    const p = heap.malloc(100);
    heap.free(p);
    expect(() => heap.free(p)).toThrow(/DOUBLE_FREE/);
    expect(reports.at(-1)).toMatchObject({ code: "DOUBLE_FREE", op: "free", ptr: p, sizeClass: sizeToClass(108) });
    expect(reports.at(-1)!.message).toMatch(/freed twice.*in free, ptr \d+/);

    const q = heap.malloc(40);
    heap.bytes(q, 48).fill(1);                       // 8 bytes past the 40 asked for: the canary
    expect(() => heap.realloc(q, 4000)).not.toThrow();
    expect(reports.find((x) => x.code === "CANARY"), JSON.stringify(reports)).toMatchObject({ code: "CANARY", op: "realloc", ptr: q });

    const r = heap.malloc(24);
    heap.free(r);
    new Uint8Array(heap.memory.buffer)[r + 8] = 7;   // write after free, found when handed out again
    heap.malloc(24);
    expect(reports.at(-1)).toMatchObject({ code: "WRITE_AFTER_FREE", op: "malloc", ptr: r });
    heap.check();
  });
});
