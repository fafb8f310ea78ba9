#!/usr/bin/env node
// The asmalloc command line: `asmalloc bench …` (bench/bench.ts), `asmalloc trace -- cmd…`
// (bench/record.ts) and `asmalloc micro` (bench/micro.ts). Every user error is one line on stderr
// and exit code 2; a failed check in a benchmark (corruption, misalignment) exits with 1.
import { resolve } from "node:path";
import { accessSync, constants } from "node:fs";

class UsageError extends Error {}

const HELP = `usage: asmalloc <command> [options]

commands:
  bench                 every allocator on every workload (Wasm driver, no JS call per op)
    --allocators a,b    among asmalloc,dlmalloc,tlsf,firstfit,bump,copyalways (default:
                        all), and asmalloc-prev: the build at $ASMALLOC_PREV_WASM, side
                        by side
    --workloads w,x     workload names, or "synthetic", "traces" (default: all)
    --trace FILE        also replay this trace (repeatable; .trace or .trace.gz)
    --full-traces DIR   also replay every *.trace.gz in DIR (e.g. the full shared traces)
    --no-traces         skip the bundled traces in bench/traces/
    --out DIR           where results.json goes (default: bench/out)
    --quick             about 1/5 of the work, 3 runs (for tests; under a minute)
    --runs N            timed runs per cell, median reported (default 7, 3 with --quick; one warm-up run first;
                        6 or more give each time ratio a 95% interval)
  micro [--out DIR]     tinybench: a JS malloc+free pair through the host library and
                        through asmalloc's exports vs a no-op Wasm call pair vs
                        @thi.ng/malloc's MemPool (--out: also DIR/micro.json, which the
                        bench report shows)
  trace [-o OUT] -- CMD ARGS…
                        record CMD's malloc/free trace with valgrind (OUT default: CMD.trace.gz)
  --help                this text
`;

type Flags = Map<string, string[]>;
function parseFlags(argv: string[], spec: Record<string, "bool" | "value">): { flags: Flags; rest: string[] } {
  const flags: Flags = new Map();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") { rest.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith("-")) { rest.push(a); continue; }
    const [name, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option ${name} (see asmalloc --help)`);
    let v = "";
    if (kind === "value") {
      v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith("--"))) throw new UsageError(`${name} needs a value`);
    } else if (inline !== undefined) throw new UsageError(`${name} takes no value`);
    flags.set(name, [...(flags.get(name) ?? []), v]);
  }
  return { flags, rest };
}
const list = (f: Flags, k: string) => (f.get(k) ?? []).flatMap((v) => v.split(",")).map((s) => s.trim()).filter(Boolean);

async function bench(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv, {
    "--allocators": "value", "--workloads": "value", "--trace": "value", "--full-traces": "value", "--no-traces": "bool",
    "--out": "value", "--quick": "bool", "--runs": "value", "--help": "bool", "-h": "bool",
  });
  if (flags.has("--help") || flags.has("-h")) { process.stdout.write(HELP); return 0; }
  if (rest.length) throw new UsageError(`unexpected argument ${rest[0]}`);
  const { ALLOCATORS, EXTRA_ALLOCATORS } = await import("../bench/run.js");
  const { runBench, formatTable, selectWorkloads } = await import("../bench/bench.js");
  const { readdirSync } = await import("node:fs");
  const allocators = list(flags, "--allocators");
  const known: readonly string[] = [...ALLOCATORS, ...EXTRA_ALLOCATORS];
  for (const a of allocators) if (!known.includes(a)) throw new UsageError(`unknown allocator ${a} (choose from ${known.join(",")})`);
  const quick = flags.has("--quick");
  let runs = quick ? 3 : 7;   // 7: rounds enough for a time ratio's 95% interval (bench.ts pairedRatioInterval)
  if (flags.has("--runs")) {
    const v = flags.get("--runs")!.at(-1)!;
    runs = Number(v);
    if (!/^\d+$/.test(v) || runs < 1 || runs > 100) throw new UsageError(`--runs wants an integer 1..100, not ${v}`);
  }
  const traceFiles = (flags.get("--trace") ?? []).map((f) => resolve(f));
  for (const dir of flags.get("--full-traces") ?? []) {
    let names: string[];
    try { names = readdirSync(dir).filter((n) => n.endsWith(".trace.gz") || n.endsWith(".trace")); }
    catch { throw new UsageError(`cannot read trace directory ${dir}`); }
    if (!names.length) throw new UsageError(`no *.trace.gz files in ${dir}`);
    traceFiles.push(...names.sort().map((n) => resolve(dir, n)));
  }
  for (const f of traceFiles) {
    try { accessSync(f, constants.R_OK); } catch { throw new UsageError(`cannot read trace ${f}`); }
  }
  const { ROOT } = await import("../bench/build.js");
  const opts = {
    allocators: (allocators.length ? allocators : [...ALLOCATORS]) as any,
    workloads: list(flags, "--workloads"),
    traceFiles, bundledTraces: !flags.has("--no-traces"),
    outDir: resolve(flags.get("--out")?.at(-1) ?? resolve(ROOT, "bench", "out")),
    quick, runs, slowMs: quick ? 3000 : 10000, minTotalMs: quick ? 60 : 300,
    log: (s: string) => process.stderr.write(s + "\n"),
  };
  const { TraceError } = await import("../bench/traces.js");
  let ws;
  try { ws = await selectWorkloads(opts); } catch (e) { if (e instanceof TraceError) throw new UsageError(e.message); throw e; }
  if (!ws.length) throw new UsageError(`no workload matches ${opts.workloads.join(",")}`);
  const t0 = Date.now();
  const { results, failed } = await runBench(opts);
  process.stdout.write(formatTable(results) + "\n");
  const { writeReport } = await import("../bench/report/report.js");
  const reportPath = writeReport(results, opts.outDir);
  process.stdout.write(`\n${results.machine.cpu}, ${results.machine.cores} cores, node ${results.machine.node}, ${results.date.slice(0, 10)}; ${((Date.now() - t0) / 1000).toFixed(0)} s; other processes used ${results.machine.otherCpuShare === null ? "?" : (100 * results.machine.otherCpuShare).toFixed(0) + "%"} of the CPU; asmalloc.wasm ${results.asmallocSha1}; JSON: ${resolve(opts.outDir, "results.json")}\nreport: ${reportPath}\n`);
  return failed ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") { process.stdout.write(HELP); return cmd ? 0 : 2; }
  switch (cmd) {
    case "bench": return bench(rest);
    case "micro": {
      const { flags } = parseFlags(rest, { "--help": "bool", "--out": "value" });
      if (flags.has("--help")) { process.stdout.write(HELP); return 0; }
      const { runMicro } = await import("../bench/micro.js");
      await runMicro((s) => process.stdout.write(s + "\n"), flags.get("--out")?.at(-1));
      return 0;
    }
    case "trace": {
      const { flags, rest: cmdline } = parseFlags(rest, { "-o": "value", "--help": "bool" });
      if (flags.has("--help")) { process.stdout.write(HELP); return 0; }
      if (!cmdline.length) throw new UsageError("trace needs a command after --");
      const { recordTrace, RecordError } = await import("../bench/record.js");
      try { await recordTrace(cmdline, flags.get("-o")?.at(-1), (s) => process.stderr.write(s + "\n")); }
      catch (e) { if (e instanceof RecordError) throw new UsageError(e.message); throw e; }
      return 0;
    }
    default: throw new UsageError(`unknown command ${cmd} (see asmalloc --help)`);
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  if (e instanceof UsageError) { process.stderr.write(`asmalloc: ${e.message}\n`); process.exitCode = 2; }
  else { process.stderr.write(`asmalloc: ${e?.stack ?? e}\n`); process.exitCode = 1; }
});
