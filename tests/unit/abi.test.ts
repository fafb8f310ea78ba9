// The module ABI promised in README (issue 2 item 10) and the host library's copies of the
// allocator's enums (Status, Broken, heap-map kinds), parsed from their AssemblyScript sources.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Status, BROKEN_NAMES } from "../../src/index.js";
import { wasmFile, wasmModule } from "../helpers/heaps.js";

const root = join(import.meta.dirname, "../..");

/** NAME = value pairs of `enum <name> { ... }` in an AssemblyScript file. */
function parseEnum(file: string, name: string): Record<string, number> {
  const src = readFileSync(join(root, file), "utf8");
  const body = new RegExp(`enum ${name} \\{([\\s\\S]*?)\\n\\}`).exec(src);
  if (!body) throw new Error(`enum ${name} not found in ${file}`);
  const out: Record<string, number> = {};
  for (const m of body[1].matchAll(/^\s*([A-Z_]+)\s*=\s*(\d+)/gm)) out[m[1]] = Number(m[2]);
  return out;
}

/** Section ids present in a wasm binary. */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let i = 8;
  while (i < bytes.length) {
    const id = bytes[i++];
    let size = 0, shift = 0, b: number;
    do { b = bytes[i++]; size |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80);
    ids.push(id);
    i += size;
  }
  return ids;
}

const CORE = ["init", "malloc", "free", "free_checked", "realloc", "calloc", "aligned_alloc", "posix_memalign", "malloc_usable_size", "last_error"];

describe("module ABI", () => {
  it("release imports exactly env.memory, has no data segments, exports the C API", () => {
    const m = wasmModule("release");
    expect(WebAssembly.Module.imports(m)).toEqual([{ module: "env", name: "memory", kind: "memory" }]);
    const ids = sectionIds(readFileSync(wasmFile("release")));
    expect(ids).not.toContain(11);   // data
    const names = WebAssembly.Module.exports(m).map((e) => e.name);
    for (const n of CORE) expect(names).toContain(n);
  });
  it("debug imports env.memory and env.report, exports the same C API", () => {
    const m = wasmModule("debug");
    const imports = WebAssembly.Module.imports(m).map((i) => `${i.module}.${i.name}:${i.kind}`).sort();
    expect(imports).toEqual(["env.memory:memory", "env.report:function"]);
    const names = WebAssembly.Module.exports(m).map((e) => e.name);
    for (const n of CORE) expect(names).toContain(n);
    expect(sectionIds(readFileSync(wasmFile("debug")))).not.toContain(11);
  });
  it("the inspector imports only env.memory and exports what the host library calls", () => {
    const m = wasmModule("inspect");
    expect(WebAssembly.Module.imports(m)).toEqual([{ module: "env", name: "memory", kind: "memory" }]);
    const names = WebAssembly.Module.exports(m).map((e) => e.name);
    for (const n of ["bind", "stats", "check", "check_where", "class_profile", "heap_map", "heap_map_at", "HEAP_MAP_MAX"]) expect(names).toContain(n);
  });
});

describe("host library copies of allocator enums", () => {
  it("Status matches assembly/config.ts", () => {
    expect(parseEnum("assembly/config.ts", "Status")).toEqual(Status);
  });
  it("BROKEN_NAMES matches assembly/check.ts", () => {
    const broken = parseEnum("assembly/check.ts", "Broken");
    expect(Object.keys(broken).length).toBe(BROKEN_NAMES.length);
    for (const [name, code] of Object.entries(broken)) expect(BROKEN_NAMES[code]).toBe(name);
  });
  it("heap-map kinds match SpanState (assembly/span.ts) and METADATA (assembly/profile.ts)", () => {
    // SPARE (a freed large block kept whole) is reported as a free run: the map's kinds stay 1..4
    expect(parseEnum("assembly/span.ts", "SpanState")).toEqual({ DEAD: 0, FREE: 1, SMALL: 2, LARGE: 3, SPARE: 4 });
    expect(readFileSync(join(root, "assembly/profile.ts"), "utf8")).toMatch(/s\.state == SpanState\.SPARE \? SpanState\.FREE/);
    expect(readFileSync(join(root, "assembly/profile.ts"), "utf8")).toMatch(/export const METADATA: u32 = 4;/);
  });
});
