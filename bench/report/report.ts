// The bench's HTML report: one self-contained file (no scripts, no network), inline SVG charts
// drawn here. Written by `asmalloc bench` next to results.json (bench/out/report.html); it also
// shows threads.json, sqlite.json and as-json.json from the same directory when they exist.
//
// Every chart is an <svg class="chart" data-chart="bars|memory|heapmap"> (the browser test
// counts them): bars = one per workload group (synthetic, traces) with ok cells; memory = one per
// workload with samples; heapmap = one per entry of results.heapMaps.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { copiedPerFinal, summarize, tiedWithAsmalloc, timeVsAsmalloc, type BenchResults, type Cell } from "../bench.js";
import type { HeapMapCapture } from "./heapmap.js";
import type { MicroResults } from "../micro.js";

const PALETTE = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const KIND_COLOURS: Record<number, string> = { 1: "#e8e8e8", 3: "#7b3294", 4: "#555555" };

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmtBytes = (b: number) => {
  if (!Number.isFinite(b)) return "-";
  const a = Math.abs(b);
  return a >= 1 << 30 ? `${(b / (1 << 30)).toFixed(2)} GiB` : a >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : a >= 1024 ? `${(b / 1024).toFixed(0)} KiB` : `${b} B`;
};
const fmtNum = (x: number) => (Math.abs(x) >= 1e6 ? `${(x / 1e6).toFixed(1)}M` : Math.abs(x) >= 1e3 ? `${+(x / 1e3).toFixed(Math.abs(x) < 1e4 ? 1 : 0)}k` : `${+x.toFixed(2)}`);
const n1 = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

/** Colour for a size class: small classes blue, big ones red/orange. */
function classColour(cls: number): string {
  const t = Math.min(1, Math.max(0, (cls - 1) / 81));
  return `hsl(${Math.round(210 - 200 * t)},70%,${Math.round(55 - 10 * t)}%)`;
}

/** Colour cue for a ratio of time or memory vs asmalloc's (>1: asmalloc better). */
function ratioBg(r: number): string {
  if (!Number.isFinite(r)) return "";
  if (r >= 1.05) return ` style="background:hsl(120,55%,${Math.max(70, 92 - 10 * Math.log2(r))}%)"`;
  if (r <= 0.95) return ` style="background:hsl(0,70%,${Math.max(70, 92 + 10 * Math.log2(r))}%)"`;
  return "";
}

function cellOf(r: BenchResults, w: string, a: string): Cell | undefined {
  return r.results.find((c) => c.workload === w && c.allocator === a);
}
function statusText(c: Cell | undefined): string {
  if (!c) return "";
  return c.status === "skipped" ? `<span class="muted">skipped</span>` : `<span class="bad" title="${esc(c.error ?? "")}">${c.status.toUpperCase()}</span>`;
}

// ---- tables -----------------------------------------------------------------------------------

/** The summary: a row per peer, geometric means of its time and peak over asmalloc's. */
function summaryTable(r: BenchResults): string {
  const rows = summarize(r);
  if (!rows.length) return "";
  const g = (v?: number) => (v === undefined ? `<td class="muted">-</td>` : `<td${ratioBg(v)}>${v.toFixed(2)}×</td>`);
  const list = (ws: string[]) => `<td style="text-align:left">${ws.length ? esc(ws.join(", ")) : `<span class="muted">none</span>`}</td>`;
  const body = rows.map((s) => `<tr><th>${esc(s.allocator)}</th>${g(s.time.synthetic)}${g(s.time.traces)}${g(s.peak.synthetic)}${g(s.peak.traces)}` +
    `${list(s.fasterOn.map((w) => (s.clearlyFasterOn.includes(w) ? w : `${w}~`)))}${list(s.smallerOn)}<td style="text-align:left">${s.failed.length ? s.failed.map((f) => `<span class="bad">${esc(f.status.toUpperCase())}</span> ${esc(f.workload)}`).join(", ") : `<span class="muted">none</span>`}</td></tr>`);
  return `<table id="summary-table"><caption>each peer against asmalloc: geometric means of its time and peak memory over asmalloc's on the workloads both completed (&gt;1, green: asmalloc faster or smaller), the workloads where it beat asmalloc (~: within this run's noise, its time ratio's 95% interval holding 1), and those it failed</caption>
<thead><tr><th>allocator</th><th>time, synthetic</th><th>time, traces</th><th>peak, synthetic</th><th>peak, traces</th><th style="text-align:left">faster than asmalloc on</th><th style="text-align:left">smaller than asmalloc on</th><th style="text-align:left">failed</th></tr></thead><tbody>${body.join("")}</tbody></table>`;
}

function matrixTable(r: BenchResults, value: (c: Cell, base?: Cell) => { text: string; ratio?: number; tied?: boolean } | null, caption: string, id: string): string {
  const names = r.allocators.map((a) => a.name);
  const rows = r.workloads.map((w) => {
    const base = cellOf(r, w.name, "asmalloc");
    const tds = names.map((a) => {
      const c = cellOf(r, w.name, a);
      if (!c || c.status !== "ok") return `<td>${statusText(c)}</td>`;
      const v = value(c, base?.status === "ok" ? base : undefined);
      if (!v) return `<td class="muted">-</td>`;
      const ratio = v.ratio !== undefined && a !== "asmalloc" ? ` <span class="ratio">${v.ratio.toFixed(2)}×${v.tied ? "~" : ""}</span>` : "";
      return `<td${a !== "asmalloc" && v.ratio !== undefined ? ratioBg(v.ratio) : ""}>${v.text}${ratio}</td>`;
    });
    return `<tr><th title="${esc(w.description)}">${esc(w.name)}</th>${tds.join("")}</tr>`;
  });
  return `<table id="${id}"><caption>${caption}</caption><thead><tr><th>workload</th>${names.map((n) => `<th>${esc(n)}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** Renders any JSON value as a small table (objects: key/value rows, arrays of objects: columns). */
function jsonTable(v: unknown, caption = ""): string {
  const cap = caption ? `<caption>${esc(caption)}</caption>` : "";
  const scalar = (x: unknown): string => {
    if (x === null || x === undefined) return "-";
    if (typeof x === "number") return esc(Number.isInteger(x) ? x : +x.toFixed(4));
    if (Array.isArray(x)) return x.every((y) => typeof y !== "object" || y === null) ? esc(x.map((y) => (typeof y === "number" ? +y.toFixed(3) : y)).join(", ")) : jsonTable(x);
    if (typeof x === "object") return jsonTable(x);
    const s = String(x);
    return s.includes("\n") ? `<pre>${esc(s)}</pre>` : esc(s);
  };
  if (Array.isArray(v) && v.length && v.every((x) => x && typeof x === "object" && !Array.isArray(x))) {
    const cols = [...new Set(v.flatMap((x) => Object.keys(x as object)))];
    return `<table class="json">${cap}<thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join("")}</tr></thead><tbody>${v.map((x) => `<tr>${cols.map((c) => `<td>${scalar((x as any)[c])}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
  }
  if (v && typeof v === "object" && !Array.isArray(v)) {
    return `<table class="json kv">${cap}<tbody>${Object.entries(v).map(([k, x]) => `<tr><th>${esc(k)}</th><td>${scalar(x)}</td></tr>`).join("")}</tbody></table>`;
  }
  return scalar(v);
}

// ---- charts -----------------------------------------------------------------------------------

/** Horizontal bars: per workload a band, per allocator a bar of its ns/op (scaled to the band's max). */
function barChart(r: BenchResults, workloads: string[], title: string): string {
  const names = r.allocators.filter((a) => !a.skipped).map((a) => a.name);
  const colour = (a: string) => PALETTE[r.allocators.findIndex((x) => x.name === a) % PALETTE.length];
  const barH = 14, gap = 10, left = 190, width = 760, barW = 420;
  const bands = workloads.map((w) => ({ w, cells: names.map((a) => cellOf(r, w, a)).filter((c): c is Cell => c?.status === "ok" && c.nsPerOp !== undefined) }))
    .filter((b) => b.cells.length);
  if (!bands.length) return "";
  let y = 28;
  const parts: string[] = [];
  for (const b of bands) {
    const max = Math.max(...b.cells.map((c) => c.nsPerOp!));
    const base = cellOf(r, b.w, "asmalloc");
    const h = b.cells.length * barH;
    parts.push(`<text x="${left - 8}" y="${y + h / 2 + 4}" text-anchor="end" class="lbl">${esc(b.w)}</text>`);
    b.cells.forEach((c, i) => {
      const len = Math.max(1, (c.nsPerOp! / max) * barW);
      const t = timeVsAsmalloc(c, base?.status === "ok" ? base : undefined);
      const ratio = t !== undefined && c.allocator !== "asmalloc" ? ` (${t.toFixed(2)}×)` : "";
      parts.push(`<rect x="${left}" y="${y + i * barH}" width="${len.toFixed(1)}" height="${barH - 2}" fill="${colour(c.allocator)}"><title>${esc(`${c.allocator} on ${b.w}: ${c.nsPerOp!.toFixed(2)} ns/op${ratio}`)}</title></rect>`);
      parts.push(`<text x="${left + len + 4}" y="${y + i * barH + barH - 4}" class="val">${esc(c.allocator)} ${n1(c.nsPerOp!)} ns${esc(ratio)}</text>`);
    });
    y += h + gap;
    parts.push(`<line x1="${left}" x2="${left + barW}" y1="${y - gap / 2}" y2="${y - gap / 2}" stroke="#ddd"/>`);
  }
  const height = y + 6;
  return `<figure><svg class="chart" data-chart="bars" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}">
<text x="8" y="18" class="title">${esc(title)}</text>${parts.join("")}</svg></figure>`;
}

function niceMax(x: number): number {
  if (x <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** Memory over time for one workload: heap bytes (solid) and live bytes (dashed), one line each per allocator. */
function memoryChart(r: BenchResults, w: string): string {
  const cells = r.allocators.map((a) => cellOf(r, w, a.name)).filter((c): c is Cell => c?.status === "ok" && !!c.samples?.length);
  if (!cells.length) return "";
  const colour = (a: string) => PALETTE[r.allocators.findIndex((x) => x.name === a) % PALETTE.length];
  const W = 560, H = 260, L = 70, R = 12, T = 26, B = 34;
  const maxX = Math.max(1, ...cells.flatMap((c) => c.samples!.map((s) => s[0])));
  // one allocator far above the rest (bump) would flatten everyone else: clip it, and say so
  const peaks = cells.map((c) => Math.max(...c.samples!.map((s) => Math.max(s[1], s[2])))).sort((a, b) => b - a);
  const clipAt = peaks.length > 1 && peaks[0] > 3 * peaks[1] ? peaks[1] * 1.25 : Infinity;
  const maxY = niceMax(Math.max(1, Math.min(peaks[0], clipAt)));
  const sx = (x: number) => L + (x / maxX) * (W - L - R), sy = (y: number) => H - B - (Math.min(y, maxY) / maxY) * (H - T - B);
  const offScale = (c: Cell) => Math.max(...c.samples!.map((s) => s[1])) > maxY;
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const v = (maxY * i) / 4, y = sy(v);
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${L - 4}" y="${y + 4}" text-anchor="end" class="ax">${fmtBytes(v)}</text>`);
    const xv = (maxX * i) / 4;
    parts.push(`<text x="${sx(xv)}" y="${H - B + 14}" text-anchor="middle" class="ax">${fmtNum(xv)}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 4}" text-anchor="middle" class="ax">allocator calls</text>`);
  parts.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#999"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#999"/>`);
  for (const c of cells) {
    const pts = (k: 1 | 2) => c.samples!.map((s) => `${sx(s[0]).toFixed(1)},${sy(s[k]).toFixed(1)}`).join(" ");
    parts.push(`<polyline fill="none" stroke="${colour(c.allocator)}" stroke-width="1.8" points="${pts(1)}"><title>${esc(`${c.allocator}: heap bytes (peak ${fmtBytes(c.peakHeapBytes ?? 0)})`)}</title></polyline>`);
    parts.push(`<polyline fill="none" stroke="${colour(c.allocator)}" stroke-width="1" stroke-dasharray="4 3" opacity="0.8" points="${pts(2)}"><title>${esc(`${c.allocator}: live requested bytes`)}</title></polyline>`);
  }
  cells.forEach((c, i) => parts.push(`<rect x="${L + 8 + (i % 3) * 150}" y="${T + 4 + Math.floor(i / 3) * 14}" width="10" height="3" fill="${colour(c.allocator)}"/><text x="${L + 22 + (i % 3) * 150}" y="${T + 9 + Math.floor(i / 3) * 14}" class="ax">${esc(c.allocator)}${offScale(c) ? ` (off scale: ${fmtBytes(c.peakHeapBytes ?? 0)})` : ""}</text>`));
  return `<figure><svg class="chart" data-chart="memory" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="memory over time: ${esc(w)}">
<text x="8" y="16" class="title">${esc(w)} — heap (solid) and live bytes (dashed)</text>${parts.join("")}</svg></figure>`;
}

/** asmalloc's heap map: cells in rows, coloured by kind / size class. */
function heapMapChart(w: string, m: HeapMapCapture): string {
  const cellsTotal = m.runs.reduce((s, r) => s + r[0], 0);
  const cols = 80, cs = 9, W = cols * cs + 20, rows = Math.max(1, Math.ceil(cellsTotal / cols)), H = rows * cs + 34;
  const parts: string[] = [];
  let i = 0;
  for (const [n, kind, cls] of m.runs) {
    const fill = kind === 2 ? classColour(cls) : KIND_COLOURS[kind] ?? "#000";
    const label = kind === 2 ? `small, class ${cls}` : ["", "free", "small", "large", "metadata"][kind] ?? `kind ${kind}`;
    // draw the run row by row as one rect per row segment
    let left = n;
    while (left > 0) {
      const col = i % cols, row = Math.floor(i / cols), take = Math.min(left, cols - col);
      const addr = m.start + i * m.pagesPerCell * m.pageBytes;
      parts.push(`<rect x="${10 + col * cs}" y="${26 + row * cs}" width="${take * cs - 1}" height="${cs - 1}" fill="${fill}"><title>${esc(`${label}: ${take * m.pagesPerCell} pages from 0x${addr.toString(16)}`)}</title></rect>`);
      i += take; left -= take;
    }
  }
  const t = m.totals, pb = m.pageBytes;
  const title = `${w}: ${m.pages} pages of ${pb / 1024} KiB (${m.pagesPerCell} per cell), at op ${fmtNum(m.op)}, live ${fmtBytes(m.liveBytes)} in ${fmtBytes(m.heapBytes)}`;
  const legend = `<p class="legend"><span class="sw" style="background:${KIND_COLOURS[1]}"></span>free ${fmtBytes(t.free * pb)}
<span class="sw" style="background:linear-gradient(90deg,${classColour(1)},${classColour(41)},${classColour(82)})"></span>small spans ${fmtBytes(t.small * pb)} (class 1 → 82)
<span class="sw" style="background:${KIND_COLOURS[3]}"></span>large ${fmtBytes(t.large * pb)}
<span class="sw" style="background:${KIND_COLOURS[4]}"></span>metadata / outside spans ${fmtBytes(t.metadata * pb)}</p>`;
  return `<figure><svg class="chart" data-chart="heapmap" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="heap map ${esc(w)}">
<text x="8" y="16" class="title">${esc(title)}</text>${parts.join("")}</svg>${legend}</figure>`;
}

// ---- the page ---------------------------------------------------------------------------------

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0 16px}caption{text-align:left;font-weight:600;padding:4px 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right;vertical-align:top}th{background:#f6f6f6}tbody th{text-align:left;font-weight:500}
table.kv th{text-align:left}.ratio{color:#555;font-size:12px}.muted{color:#999}.bad{color:#b00;font-weight:700}
figure{margin:8px 0;display:inline-block;vertical-align:top}svg{background:#fff;border:1px solid #eee}
.title{font:600 12px system-ui,sans-serif}.lbl{font:12px system-ui,sans-serif}.val,.ax{font:10px system-ui,sans-serif;fill:#333}
.legend{font-size:12px;margin:2px 0 12px}.sw{display:inline-block;width:24px;height:10px;margin:0 4px 0 12px;border:1px solid #ccc}
pre{font-size:11px;text-align:left;margin:0}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:600}dd{margin:0}`;

function readJson(dir: string, name: string): unknown | undefined {
  const p = join(dir, name);
  if (!existsSync(p)) return undefined;
  try { return JSON.parse(readFileSync(p, "utf8")); } catch { return undefined; }
}

/** The report as an HTML string. `extra`: the optional threads / SQLite / AS-program / JS-call-path results. */
export function renderReport(r: BenchResults, extra: { threads?: unknown; sqlite?: unknown; asJson?: unknown; micro?: unknown } = {}): string {
  const m = r.machine;
  const s: string[] = [];
  s.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>asmalloc bench report ${esc(r.date.slice(0, 10))}</title><style>${CSS}</style></head><body>`);
  s.push(`<h1>asmalloc bench report</h1><dl id="meta">
<dt>date</dt><dd>${esc(r.date)}</dd>
<dt>machine</dt><dd>${esc(m.cpu)}, ${m.cores} cores, ${fmtBytes(m.memoryBytes)} RAM, ${esc(m.platform)}, node ${esc(m.node)}</dd>
<dt>other processes</dt><dd>${m.otherCpuShare === null || m.otherCpuShare === undefined ? "?" : (100 * m.otherCpuShare).toFixed(0) + "% of the CPU while it ran"}</dd>
<dt>options</dt><dd>${r.options.quick ? "--quick, " : ""}${r.options.runs} timed runs per cell (median), memory max ${fmtBytes(r.options.memoryMaxBytes)}</dd>
<dt>asmalloc.wasm</dt><dd>sha1 ${esc(r.asmallocSha1 ?? "?")}</dd>
<dt>allocators</dt><dd>${r.allocators.map((a) => `<b>${esc(a.name)}</b>: ${esc(a.description)}${a.skipped ? ` <span class="muted">(${esc(a.skipped)})</span>` : ""}`).join("<br>")}</dd></dl>`);

  const summary = summaryTable(r);
  if (summary) s.push(`<h2>Summary</h2>${summary}`);
  s.push(`<h2>Time</h2>`);
  s.push(matrixTable(r, (c, b) => c.nsPerOp === undefined ? null : { text: c.nsPerOp.toFixed(1), ratio: timeVsAsmalloc(c, b), tied: tiedWithAsmalloc(c) },
    "ns per allocator call (median); ratio = time vs asmalloc's, the median over rounds of the two runs' ratio (&gt;1, green: slower than asmalloc); ~: its 95% interval holds 1, or too few rounds for one: the two not told apart in this run", "ns-table"));
  const synth = r.workloads.filter((w) => !w.trace).map((w) => w.name), traces = r.workloads.filter((w) => w.trace).map((w) => w.name);
  s.push(barChart(r, synth, "ns per call: synthetic workloads"));
  s.push(barChart(r, traces, "ns per call: real traces"));

  s.push(`<h2>Memory over time</h2><p>Linear memory above the heap base (solid) and live requested bytes (dashed), sampled through the median run.</p>`);
  for (const w of r.workloads) s.push(memoryChart(r, w.name));

  s.push(`<h2>Peak memory and heap efficiency</h2>`);
  /** bytes of a cell, with a peer's ratio over asmalloc's */
  const bytesVs = (c: Cell, b: Cell | undefined, key: "peakHeapBytes" | "touchedBytes") =>
    c[key] === undefined ? null : { text: fmtBytes(c[key]!), ratio: b?.[key] ? c[key]! / b[key]! : undefined };
  s.push(matrixTable(r, (c, b) => bytesVs(c, b, "peakHeapBytes"),
    "peak heap (linear memory above the heap base); ratio vs asmalloc's (&gt;1, green: more memory than asmalloc)", "peak-table"));
  s.push(matrixTable(r, (c) => c.peakLiveBytes ? { text: `${(100 * (c.heapEfficiency ?? 0)).toFixed(0)}%` } : null,
    "heap efficiency (peak live requested bytes / peak heap)", "eff-table"));
  if (r.results.some((c) => c.touchedBytes !== undefined)) {
    s.push(matrixTable(r, (c, b) => bytesVs(c, b, "touchedBytes"),
      "memory touched: pages the run wrote first (the process's page faults × 4 KiB, median), what the run added to resident memory; each costs ~2 µs here, which is part of every time above; ratio vs asmalloc's (&gt;1, green: more than asmalloc)", "touched-table"));
  }
  const rw = r.workloads.filter((w) => w.realloc);
  if (rw.length) {
    s.push(matrixTable({ ...r, workloads: rw }, (c) => {
      const w = rw.find((x) => x.name === c.workload)!, ratio = copiedPerFinal(c, w);
      return { text: `${fmtBytes(c.reallocMovedBytes ?? 0)} / ${c.reallocMoves ?? 0}${ratio !== undefined ? ` <span class="ratio">${ratio}× final</span>` : ""}` };
    }, "realloc: bytes copied by moves (driver-measured min(old, new) per moved block) / moves; × final = bytes copied / the grown buffers' final total size", "realloc-table"));
  }
  s.push(`<h2>Module sizes</h2><table id="wasm-table"><thead><tr><th>allocator</th><th>.wasm bytes</th></tr></thead><tbody>${r.allocators.map((a) => `<tr><th>${esc(a.name)}</th><td>${a.wasmBytes ?? `<span class="muted">${esc(a.skipped ?? "-")}</span>`}</td></tr>`).join("")}</tbody></table>`);

  const maps = Object.entries(r.heapMaps ?? {});
  if (maps.length) {
    s.push(`<h2>asmalloc's heap at peak</h2><p>Taken in an extra, untimed run of asmalloc through the inspector module, at the driver sample (every ops/200 calls) with the most live bytes. Each cell is one or more 8 KiB pages.</p>`);
    for (const [w, mp] of maps) s.push(heapMapChart(w, mp));
  }

  const { threads, sqlite, asJson, micro } = extra;
  if (micro && typeof micro === "object" && Array.isArray((micro as any).rows)) {
    const m = micro as MicroResults;
    s.push(`<h2>JS-call path (asmalloc micro)</h2><p>The host library's path: an allocator called from JavaScript, where each call crosses the JS↔Wasm boundary. ${esc(m.workload)}.</p>`);
    s.push(`<table id="micro-table"><thead><tr><th>what</th><th>ns per malloc+free pair</th></tr></thead><tbody>${m.rows.map((r) => `<tr><th>${esc(r.name)}</th><td>${r.nsPerPair.toFixed(1)}</td></tr>`).join("")}</tbody></table>`);
  }
  if (threads && typeof threads === "object") {
    const t = threads as any;
    s.push(`<h2>Threads (bench/threads)</h2>`);
    const { cells, floors, table, ...rest } = t;
    s.push(jsonTable(rest, "run"));
    if (Array.isArray(cells)) s.push(jsonTable(cells.map((c: any) => { const { mops, otherCpuPct, ...o } = c; return o; }), "cells (per-run Mops and other-CPU % in threads.json)"));
    if (Array.isArray(floors) && floors.length) s.push(jsonTable(floors, "floors"));
    if (typeof table === "string") s.push(`<details><summary>terminal table</summary><pre>${esc(table)}</pre></details>`);
  }
  if (sqlite) { s.push(`<h2>SQLite on asmalloc vs dlmalloc (interop/sqlite-bench)</h2>`); s.push(jsonTable(sqlite)); }
  if (asJson) { s.push(`<h2>AssemblyScript program on asmalloc vs TLSF (interop/as-bench)</h2>`); s.push(jsonTable(asJson)); }
  s.push(`<p class="muted">Generated by asmalloc bench (schema ${esc(r.schema)}).</p></body></html>`);
  return s.filter(Boolean).join("\n");
}

/** Writes report.html into outDir (next to results.json); returns its path. */
export function writeReport(r: BenchResults, outDir: string): string {
  mkdirSync(outDir, { recursive: true });
  const html = renderReport(r, { threads: readJson(outDir, "threads.json"), sqlite: readJson(outDir, "sqlite.json"), asJson: readJson(outDir, "as-json.json"), micro: readJson(outDir, "micro.json") });
  const p = join(outDir, "report.html");
  writeFileSync(p, html);
  return p;
}

/** How many charts of each kind renderReport draws for r (the browser test checks these). */
export function expectedCharts(r: BenchResults): { bars: number; memory: number; heapmap: number } {
  const okNs = (ws: BenchResults["workloads"]) => ws.some((w) => r.results.some((c) => c.workload === w.name && c.status === "ok" && c.nsPerOp !== undefined && !r.allocators.find((a) => a.name === c.allocator)?.skipped));
  return {
    bars: (okNs(r.workloads.filter((w) => !w.trace)) ? 1 : 0) + (okNs(r.workloads.filter((w) => w.trace)) ? 1 : 0),
    memory: r.workloads.filter((w) => r.results.some((c) => c.workload === w.name && c.status === "ok" && c.samples?.length)).length,
    heapmap: Object.keys(r.heapMaps ?? {}).length,
  };
}
