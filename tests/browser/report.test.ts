// Browser tests, in Debian's chromium (headless, driven by playwright-core; no browser is
// downloaded): (a) the bench's HTML report renders its charts with no console errors and loads
// nothing but itself; (b) bench/browser/index.html loads the host library and build/asmalloc.wasm
// by URL, runs a checked workload on a heap, and reports ok. Skipped, saying so, when
// /usr/bin/chromium is missing (`apt-get install chromium`; .ci/run installs it).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve, normalize, extname, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";

const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`tests/browser: skipping: ${CHROMIUM} is missing (apt-get install chromium)`);

const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".css": "text/css" };

/** Serves /report/* from reportDir, and dist/, build/ and bench/browser/ from the package root. */
function serve(reportDir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    if (path === "/favicon.ico") { res.writeHead(204).end(); return; }
    let file: string | null = null;
    if (path.startsWith("/report/")) file = join(reportDir, normalize(path.slice("/report/".length)));
    else if (/^\/(dist|build|bench\/browser)\//.test(path)) file = join(ROOT, normalize(path));
    if (file && file.endsWith(sep)) file += "index.html";
    if (file && existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    const inside = file && (file.startsWith(reportDir + sep) || file.startsWith(ROOT + sep)) && !file.includes(`${sep}..${sep}`);
    if (!file || !inside || !existsSync(file)) { res.writeHead(404, { "Content-Type": "text/plain" }).end("not found"); return; }
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store" });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

describe.skipIf(!haveChromium)("in chromium", () => {
  let tmp: string, reportDir: string, server: Server, base: string;
  let context: import("playwright-core").BrowserContext;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "asmalloc-browser-"));
    reportDir = join(tmp, "out");
    // a small real bench run writes results.json and report.html into reportDir, with the
    // JS-call path's section from a micro.json put there first (tests/bench/cli.test.ts runs micro)
    mkdirSync(reportDir, { recursive: true });
    writeFileSync(join(reportDir, "micro.json"), JSON.stringify({ workload: "test", date: "", node: "",
      rows: [{ name: "asmalloc host library heap.malloc+heap.free", nsPerPair: 12.5 }, { name: "@thi.ng/malloc MemPool malloc+free", nsPerPair: 14 }] }));
    execFileSync(process.execPath, [join(ROOT, "dist/src/cli.js"), "bench", "--quick", "--workloads", "churn,trace:sqlite3-orders-sql",
      "--allocators", "asmalloc,tlsf", "--runs", "1", "--out", reportDir], { stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 });
    server = await serve(reportDir);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { chromium } = await import("playwright-core");
    context = await chromium.launchPersistentContext(join(tmp, "profile"), {
      executablePath: CHROMIUM, headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** Opens url in a new page, recording console errors, page errors, failed requests and every URL asked for. */
  async function open(url: string) {
    const page = await context.newPage();
    const problems: string[] = [], requests: string[] = [];
    page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
    page.on("response", (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(url, { waitUntil: "load" });
    return { page, problems, requests };
  }

  it("the bench report renders its charts", async () => {
    const results = JSON.parse(readFileSync(join(reportDir, "results.json"), "utf8"));
    const { expectedCharts } = await import("../../dist/bench/report/report.js");
    const want = expectedCharts(results);
    expect(want).toEqual({ bars: 2, memory: 2, heapmap: 2 });   // synthetic + traces; churn and the trace

    const { page, problems, requests } = await open(`${base}/report/report.html`);
    const charts = await page.$$eval("svg.chart", (svgs) => svgs.map((s) => {
      const r = s.getBoundingClientRect();
      return { kind: s.getAttribute("data-chart"), w: r.width, h: r.height, marks: s.querySelectorAll("rect,polyline").length };
    }));
    const count = (k: string) => charts.filter((c) => c.kind === k).length;
    expect({ bars: count("bars"), memory: count("memory"), heapmap: count("heapmap") }).toEqual(want);
    for (const c of charts) {
      expect(c.w, `${c.kind} width`).toBeGreaterThan(50);
      expect(c.h, `${c.kind} height`).toBeGreaterThan(50);
      expect(c.marks, `${c.kind} marks`).toBeGreaterThan(0);
    }
    // the memory charts: heap and live lines for both allocators, each with every sample
    const lines = await page.$$eval("svg[data-chart=memory] polyline", (ps) => ps.map((p) => (p as SVGPolylineElement).points.numberOfItems));
    expect(lines.length).toBe(2 * 2 * 2);
    for (const n of lines) expect(n).toBeGreaterThan(10);
    // tables: ns/op for every workload, with both allocators
    const nsRows = await page.$$eval("#ns-table tbody tr", (rows) => rows.map((r) => r.textContent ?? ""));
    expect(nsRows.length).toBe(2);
    for (const r of nsRows) expect(r).toMatch(/\d+\.\d.*\d+\.\d\d×/);
    // the JS-call path section, from micro.json
    expect(await page.$$eval("#micro-table tbody tr", (rows) => rows.map((r) => r.textContent ?? ""))).toEqual(
      ["asmalloc host library heap.malloc+heap.free12.5", "@thi.ng/malloc MemPool malloc+free14.0"]);
    // the summary: one row for the peer, its geometric means as ratios
    const summaryRows = await page.$$eval("#summary-table tbody tr", (rows) => rows.map((r) => r.textContent ?? ""));
    expect(summaryRows.length).toBe(1);
    expect(summaryRows[0]).toMatch(/^tlsf\d+\.\d\d×\d+\.\d\d×\d+\.\d\d×\d+\.\d\d×/);
    // memory touched (page faults; Linux counts them): a size per allocator, with the ratio
    if (process.platform === "linux") {
      const ok = results.results.filter((c: { status: string }) => c.status === "ok") as { touchedBytes?: number }[];
      expect(ok.every((c) => c.touchedBytes! >= 0)).toBe(true);
      expect(ok.some((c) => c.touchedBytes! > 0)).toBe(true);
      const touchedRows = await page.$$eval("#touched-table tbody tr", (rows) => rows.map((r) => r.textContent ?? ""));
      expect(touchedRows.length).toBe(2);
      for (const r of touchedRows) expect(r).toMatch(/\d+(\.\d)? [KMG]iB.*\d+\.\d\d×/);
    }
    expect(await page.textContent("#meta")).toContain(results.machine.cpu);
    // self-contained: nothing requested but the page itself (and the favicon the browser asks for)
    expect(requests.filter((u) => !u.endsWith("/report/report.html") && !u.endsWith("/favicon.ico"))).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("the host library runs a checked workload on a heap in the browser", async () => {
    const { page, problems, requests } = await open(`${base}/bench/browser/index.html`);
    await page.waitForFunction(() => (window as any).asmallocResult !== undefined, null, { timeout: 30_000 });
    const r = await page.evaluate(() => (window as any).asmallocResult);
    expect(r.exception).toBeUndefined();
    expect(r.errors).toEqual([]);
    expect(r.checkError).toBeNull();
    expect(r.counts.malloc + r.counts.calloc + r.counts.realloc + r.counts.free).toBe(50_000);
    expect(r.counts.realloc).toBeGreaterThan(1000);
    expect(r.liveBlocks).toBeGreaterThan(0);
    expect(r.stats.inUseBytes).toBe(r.heldBytes);
    expect(r.heldBytes - r.usableBytes).toBeLessThan(r.liveBlocks * 1024);   // large blocks' colours
    expect(r.usableBytes).toBeGreaterThanOrEqual(r.liveBytes);
    expect(r.inUseAfterFreeAll).toBe(0);
    expect(r.stats.heapBytes).toBeLessThanOrEqual(r.memoryBytes);
    expect(r.ok).toBe(true);
    expect(await page.textContent("#status")).toBe("ok");
    // the allocator came by URL from this server
    expect(requests.some((u) => u.endsWith("/build/asmalloc.wasm"))).toBe(true);
    expect(requests.every((u) => u.startsWith(base))).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });
});
