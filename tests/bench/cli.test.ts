// The `asmalloc` CLI (src/cli.ts, built to dist/): usage errors are one line on stderr and exit 2,
// never a stack trace; `micro --out DIR` writes the JS-call path's timings for the report.
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, "dist/src/cli.js"), ...args], { encoding: "utf8", timeout: 60_000 });

describe("asmalloc CLI", () => {
  it("bad input: one line on stderr naming the problem, exit 2, no stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "asmalloc-cli-"));
    try {
      const bad = join(dir, "bad.trace");
      writeFileSync(bad, "a 0 16\nf 1\n");   // frees an id that is not live
      const cases: [string[], RegExp][] = [
        [["bench", "--nope"], /unknown option --nope/],
        [["bench", "--allocators", "nosuch"], /nosuch/],
        [["bench", "--runs", "zero"], /--runs/],
        [["bench", "--trace", join(dir, "missing.trace")], /cannot read trace/],
        [["bench", "--trace", bad, "--quick"], /bad\.trace:2/],
        [["micro", "--bad"], /unknown option --bad/],
        [["frob"], /unknown command frob/],
      ];
      for (const [args, message] of cases) {
        const r = cli(...args);
        expect(r.status, args.join(" ")).toBe(2);
        const lines = r.stderr.trim().split("\n");
        expect(lines.length, `${args.join(" ")}: ${r.stderr}`).toBe(1);
        expect(lines[0]).toMatch(/^asmalloc: /);
        expect(lines[0]).toMatch(message);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--help prints the usage and exits 0", () => {
    const r = cli("--help");
    expect(r.status).toBe(0);
    for (const cmd of ["bench", "micro", "trace"]) expect(r.stdout).toContain(cmd);
  });

  it("micro --out DIR writes micro.json: the host library, the raw exports, a no-op call pair, @thi.ng/malloc", () => {
    const dir = mkdtempSync(join(tmpdir(), "asmalloc-micro-"));
    try {
      const r = cli("micro", "--out", dir);
      expect(r.status, r.stderr).toBe(0);
      const m = JSON.parse(readFileSync(join(dir, "micro.json"), "utf8"));
      expect(m.rows.map((x: { name: string }) => x.name)).toEqual([
        "asmalloc host library heap.malloc+heap.free", "asmalloc malloc+free (JS -> Wasm exports)",
        "no-op Wasm call pair", "@thi.ng/malloc MemPool malloc+free"]);
      for (const x of m.rows) expect(x.nsPerPair).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
