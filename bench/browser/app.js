// bench/browser/index.html: the host library in a browser. The result goes to the DOM (#status,
// #result) and to window.asmallocResult (read by tests/browser/report.test.ts).
import { createHeap } from "/dist/src/index.js";
import { runWorkload } from "./workload.js";

const params = new URLSearchParams(location.search);
const ops = Number(params.get("ops") ?? 50000);
const status = document.getElementById("status"), out = document.getElementById("result");
try {
  const result = await runWorkload(createHeap, {
    wasm: new URL("/build/asmalloc.wasm", location.href),
    inspector: new URL("/build/asmalloc.inspect.wasm", location.href),
  }, { ops });
  window.asmallocResult = result;
  status.textContent = result.ok ? "ok" : "FAILED";
  out.textContent = JSON.stringify(result, null, 2);
} catch (e) {
  window.asmallocResult = { ok: false, exception: String(e && e.stack || e) };
  status.textContent = "FAILED";
  out.textContent = String(e && e.stack || e);
}
