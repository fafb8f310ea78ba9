// Allocation traces (format: bench/traces/README.md) -> the driver's compact op stream.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { basename } from "node:path";

/** 8 bytes per op: word0 = kind << 29 | alignLog2 << 24 | id; word1 = size (see driver.ts). */
export interface OpStream {
  name: string;
  ops: Uint32Array; // 2 words per op
  count: number;
  /** max id + 1: the slot table's length */
  slots: number;
  peakLiveBytes: number;
  kinds: Record<string, number>;
}
export class TraceError extends Error {}

const KIND = { a: 0, c: 1, m: 2, r: 3, f: 4 } as const;

export function traceName(file: string): string {
  return basename(file).replace(/\.gz$/, "").replace(/\.trace$/, "").replace(/\.(head|cut)$/, "");
}

/** Reads a trace file (gzipped or plain text). Throws TraceError on a malformed line. */
export function readTrace(file: string): OpStream {
  let buf = readFileSync(file);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  return parseTrace(buf.toString("latin1"), traceName(file), file);
}

export function parseTrace(text: string, name: string, where = name): OpStream {
  let ops = new Uint32Array(1 << 16);
  let n = 0, slots = 0, live = 0, peak = 0;
  const sizes = new Map<number, number>();
  const kinds: Record<string, number> = { a: 0, c: 0, m: 0, r: 0, f: 0 };
  let pos = 0, lineNo = 0;
  const bad = (msg: string) => { throw new TraceError(`${where}:${lineNo}: ${msg}`); };
  while (pos < text.length) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = text.length;
    const line = text.slice(pos, end).trim();
    pos = end + 1; lineNo++;
    if (!line || line[0] === "#") continue;
    const p = line.split(/\s+/);
    const k = p[0] as keyof typeof KIND;
    if (!(k in KIND)) bad(`unknown op "${p[0]}"`);
    const id = Number(p[1]);
    if (!Number.isInteger(id) || id < 0 || id >= 1 << 24) bad(`bad id "${p[1]}"`);
    let size = 0, alignLog2 = 0;
    const num = (s: string | undefined) => { const v = Number(s); if (!Number.isInteger(v) || v < 0 || v > 0xFFFFFFFF) bad(`bad number "${s}"`); return v; };
    switch (k) {
      case "a": size = num(p[2]); break;
      case "c": size = num(p[2]) * num(p[3]); if (size > 0xFFFFFFFF) bad("calloc size overflows"); break;
      case "m": { const al = num(p[2]); size = num(p[3]); alignLog2 = 31 - Math.clz32(al); if (al !== 1 << alignLog2) bad(`alignment ${al} is not a power of two`); break; }
      case "r": size = num(p[2]); break;
      case "f": break;
    }
    if (k === "f" || k === "r") { if (!sizes.has(id)) bad(`${k} of id ${id}, which is not live`); }
    else if (sizes.has(id)) bad(`id ${id} allocated while live`);
    if (k === "f") { live -= sizes.get(id)!; sizes.delete(id); }
    else { live += size - (sizes.get(id) ?? 0); sizes.set(id, size); if (live > peak) peak = live; }
    kinds[k]++;
    if (id + 1 > slots) slots = id + 1;
    if (2 * n + 2 > ops.length) { const g = new Uint32Array(ops.length * 2); g.set(ops); ops = g; }
    ops[2 * n] = ((KIND[k] << 29) | (alignLog2 << 24) | id) >>> 0;
    ops[2 * n + 1] = size >>> 0;
    n++;
  }
  if (n === 0) throw new TraceError(`${where}: no operations`);
  return { name, ops: ops.subarray(0, 2 * n), count: n, slots, peakLiveBytes: peak, kinds };
}
