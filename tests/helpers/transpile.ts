// The host library as plain JavaScript, for code vitest does not transform: worker_threads
// Workers (tests/unit/shared-worker.mjs) import it from a temporary directory. src/*.ts is
// stripped of its types with oxc (rolldown's transformSync, which vitest's Vite ships), so the
// workers run the current source, not a possibly stale dist/.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { transformSync } from "rolldown/experimental";

const SRC = join(import.meta.dirname, "../../src");
let cached: string | null = null;

/** file: URL of src/index.js (with its siblings) compiled into a temporary directory, once per
 *  test file. `index.ts` is the browser-safe entry; `node.ts` is compiled too. */
export function hostLibraryUrl(entry: "index" | "node" = "index"): string {
  if (!cached) {
    const dir = mkdtempSync(join(tmpdir(), "asmalloc-lib-"));
    for (const f of readdirSync(SRC)) {
      if (!f.endsWith(".ts") || f === "cli.ts") continue;
      const out = transformSync(join(SRC, f), readFileSync(join(SRC, f), "utf8"), {});
      if (out.errors.length) throw new Error(`transpiling src/${f}: ${out.errors.map((e) => e.message).join("; ")}`);
      writeFileSync(join(dir, f.replace(/\.ts$/, ".js")), out.code);
    }
    cached = dir;
  }
  return pathToFileURL(join(cached, `${entry}.js`)).href;
}
