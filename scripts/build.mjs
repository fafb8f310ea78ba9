// npm run build: generated files are current, then the AssemblyScript builds, then the
// TypeScript host library (dist/). Each step is skipped when its outputs are newer than its inputs.
import { execFileSync } from "node:child_process";
import { existsSync, statSync, readdirSync, mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const force = process.argv.includes("--force");

function newest(dir, exts) {
  let t = 0;
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) t = Math.max(t, statSync(join(root, p)).mtimeMs);
  }
  return t;
}
const mtime = (p) => (existsSync(join(root, p)) ? statSync(join(root, p)).mtimeMs : 0);
const stale = (outs, inputTime) => force || outs.some((o) => mtime(o) < inputTime);

// 1. generated sources must match their generators (edit the generator, then `npm run gen`)
for (const g of ["scripts/mksizeclasses.mjs", "scripts/mkstats.mjs"]) {
  execFileSync(process.execPath, [join(root, g), "--check"], { stdio: "inherit" });
}

// 2. AssemblyScript: every target in asconfig.json
mkdirSync(join(root, "build"), { recursive: true });
const asTime = Math.max(newest("assembly", [".ts"]), mtime("asconfig.json"));
const TARGETS = {
  release: ["assembly/index.ts", "build/asmalloc.wasm"],
  debug: ["assembly/index.ts", "build/asmalloc.debug.wasm"],
  mt: ["assembly/index.ts", "build/asmalloc.mt.wasm"],
  inspect: ["assembly/inspect.ts", "build/asmalloc.inspect.wasm"],
  "inspect-mt": ["assembly/inspect.ts", "build/asmalloc.inspect.mt.wasm"],
};
for (const [target, [entry, out]] of Object.entries(TARGETS)) {
  if (!stale([out], asTime)) continue;
  const { error, stderr } = await asc.main([entry, "--config", "asconfig.json", "--target", target, "--outFile", out, "--textFile", out.replace(/\.wasm$/, ".wat")], { stdout: process.stdout, stderr: process.stderr });
  if (error) { console.error(`asc --target ${target} failed: ${error.message}\n${stderr}`); process.exit(1); }
}

// 3. TypeScript host library, CLI and bench runner
const tsTime = Math.max(newest("src", [".ts"]), existsSync(join(root, "bench")) ? newest("bench", [".ts"]) : 0, mtime("tsconfig.json"));
if (stale(["dist/src/index.js"], tsTime)) {
  execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.json")], { stdio: "inherit" });
}
