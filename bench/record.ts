// `asmalloc trace [-o OUT] -- cmd …`: records a native program's allocation trace with valgrind
// and converts valgrind's --trace-malloc log into the bench's trace format
// (bench/traces/README.md): a/c/m/r/f lines with dense slot ids (lowest free id reused).
//
// valgrind 3.19 prints, per call (vg_replace_malloc.c), lines like
//   --PID-- malloc(16) = 0x4A40040        calloc(3,8) = 0x…      realloc(0x…,100) = 0x…
//   --PID-- realloc(0x0,33)malloc(33) = 0x…   (realloc(NULL, n): its malloc prints the result)
//   --PID-- realloc(0x…,0)free(0x…)  then " = 0" on the next line (realloc(p, 0))
//   --PID-- memalign(al 64, size 100) = 0x…   _ZnwmSt11align_val_t(size 64, al 64) = 0x…
// A call and its " = result" are separate prints, so pending calls are kept on a stack.
import { spawn, execFileSync } from "node:child_process";
import { createReadStream, mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { gzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

export class RecordError extends Error {}

const MALLOC = new Set(["malloc", "__builtin_new", "__builtin_vec_new", "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t",
  "_ZnamRKSt9nothrow_t", "_Znwj", "_Znaj", "_ZnwjRKSt9nothrow_t", "_ZnajRKSt9nothrow_t"]);
const FREE = new Set(["free", "cfree", "__builtin_delete", "__builtin_vec_delete"]);
const isFree = (n: string) => FREE.has(n) || /^_Zd[la]Pv/.test(n);
const isAlignedNew = (n: string) => /^_Zn[wa][mj]St11align_val_t/.test(n);
const IGNORED = new Set(["malloc_usable_size", "mallinfo", "mallinfo2", "malloc_stats", "malloc_trim", "mallopt"]);

/** Converts log lines of one process to trace text. */
export class ValgrindConverter {
  private addr2id = new Map<bigint, number>();
  private freeIds: number[] = []; // min-heap
  private nextId = 0;
  private pending: [string, any][] = [];
  readonly out: string[] = [];
  readonly notes = new Map<string, number>();
  pid: number | undefined;
  command: string | undefined;

  private note(k: string) { this.notes.set(k, (this.notes.get(k) ?? 0) + 1); }
  private heapPush(v: number) {
    const h = this.freeIds; h.push(v);
    for (let i = h.length - 1; i > 0;) { const p = (i - 1) >> 1; if (h[p] <= h[i]) break; [h[p], h[i]] = [h[i], h[p]]; i = p; }
  }
  private heapPop(): number {
    const h = this.freeIds, top = h[0], last = h.pop()!;
    if (h.length) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1; let m = i;
        if (l < h.length && h[l] < h[m]) m = l;
        if (r < h.length && h[r] < h[m]) m = r;
        if (m === i) break; [h[m], h[i]] = [h[i], h[m]]; i = m;
      }
    }
    return top;
  }
  private newId(addr: bigint): number {
    if (this.addr2id.has(addr)) { this.note("live address handed out again"); this.addr2id.delete(addr); }
    const id = this.freeIds.length ? this.heapPop() : this.nextId++;
    this.addr2id.set(addr, id);
    return id;
  }
  get liveAtEnd() { return this.addr2id.size; }
  get ops() { return this.out.length; }

  line(raw: string): void {
    if (raw.startsWith("==")) {
      const m = /^==(\d+)== Command: (.*)$/.exec(raw);
      if (m && this.command === undefined) { this.command = m[2]; this.pid ??= Number(m[1]); }
      return;
    }
    const m = /^--(\d+)-- (.*)$/.exec(raw);
    if (!m) return;
    const pid = Number(m[1]);
    this.pid ??= pid;
    if (pid !== this.pid) { this.note("lines of other processes"); return; }
    const re = /([A-Za-z_][A-Za-z0-9_]*)\(([^()]*)\)|\s*= (0x[0-9A-Fa-f]+|\d+)/g;
    for (let t; (t = re.exec(m[2])); ) {
      if (t[1] !== undefined) this.call(t[1], t[2]); else this.result(t[3]);
    }
  }
  private call(name: string, args: string) {
    if (isFree(name)) {
      const p = BigInt(args.trim());
      if (p === 0n) return;
      const id = this.addr2id.get(p);
      if (id === undefined) { this.note("frees of unknown addresses dropped"); return; }
      this.addr2id.delete(p); this.heapPush(id); this.out.push(`f ${id}`);
      return;
    }
    if (name === "realloc") {
      const [ps, ns] = args.split(",");
      const p = BigInt(ps.trim()), sz = Number(ns);
      if (p === 0n) return;                          // its malloc prints the result
      if (sz === 0) { this.pending.push(["ignore", null]); return; } // its free is printed
      this.pending.push(["r", [p, sz]]); return;
    }
    if (MALLOC.has(name)) { this.pending.push(["a", Number(args)]); return; }
    if (name === "calloc") { const [a, b] = args.split(",").map(Number); this.pending.push(["c", [a, b]]); return; }
    if (name === "memalign") { const m = /al (\d+), size (\d+)/.exec(args)!; this.pending.push(["m", [Number(m[1]), Number(m[2])]]); return; }
    if (isAlignedNew(name)) { const m = /size (\d+), al (\d+)/.exec(args)!; this.pending.push(["m", [Number(m[2]), Number(m[1])]]); return; }
    if (IGNORED.has(name)) { if (name === "malloc_usable_size") this.pending.push(["ignore", null]); return; }
    this.note(`unknown call ${name}`);
  }
  private result(v: string) {
    const pend = this.pending.pop();
    if (!pend) { this.note("stray results"); return; }
    const [kind, a] = pend;
    if (kind === "ignore") return;
    const addr = BigInt(v);
    if (addr === 0n) { this.note("failed allocations dropped"); return; }
    switch (kind) {
      case "a": this.out.push(`a ${this.newId(addr)} ${a}`); break;
      case "c": this.out.push(`c ${this.newId(addr)} ${a[0]} ${a[1]}`); break;
      case "m": this.out.push(`m ${this.newId(addr)} ${a[0]} ${a[1]}`); break;
      case "r": {
        const [p, sz] = a as [bigint, number];
        const id = this.addr2id.get(p);
        if (id === undefined) { this.note("reallocs of unknown blocks recorded as malloc"); this.out.push(`a ${this.newId(addr)} ${sz}`); return; }
        this.addr2id.delete(p);
        if (this.addr2id.has(addr)) this.note("live address handed out again");
        this.addr2id.set(addr, id);
        this.out.push(`r ${id} ${sz}`);
      }
    }
  }
}

/** Converts a valgrind log file to trace text. */
export async function convertLog(logFile: string): Promise<ValgrindConverter> {
  const conv = new ValgrindConverter();
  const rl = createInterface({ input: createReadStream(logFile, { encoding: "latin1" }), crlfDelay: Infinity });
  for await (const line of rl) conv.line(line);
  return conv;
}

export async function recordTrace(cmd: string[], out: string | undefined, log: (s: string) => void): Promise<void> {
  try { execFileSync("valgrind", ["--version"], { stdio: "ignore" }); }
  catch { throw new RecordError("valgrind is not installed (apt-get install valgrind)"); }
  const dir = mkdtempSync(join(tmpdir(), "asmalloc-trace-"));
  const logFile = join(dir, "valgrind.log");
  const outFile = out ?? `${basename(cmd[0])}.trace.gz`;
  try {
    const args = ["--tool=massif", "--depth=1", "--max-snapshots=10", "--detailed-freq=1000000", "--massif-out-file=/dev/null",
      "--trace-malloc=yes", "--run-libc-freeres=no", "--run-cxx-freeres=no", `--log-file=${logFile}`, ...cmd];
    log(`recording: valgrind ${args.join(" ")}`);
    const code = await new Promise<number>((res, rej) => {
      const p = spawn("valgrind", args, { stdio: "inherit" });
      p.on("error", rej); p.on("exit", (c, sig) => res(c ?? (sig ? 128 : 1)));
    });
    if (!existsSync(logFile)) throw new RecordError(`valgrind wrote no log (exit ${code}); does ${cmd[0]} exist?`);
    const conv = await convertLog(logFile);
    if (!conv.ops) throw new RecordError(`no allocations recorded (valgrind exit ${code}); is ${cmd[0]} a native dynamically-linked program?`);
    const text = conv.out.join("\n") + "\n";
    writeFileSync(outFile, outFile.endsWith(".gz") ? gzipSync(text, { level: 9 }) : text);
    log(`${outFile}: ${conv.ops} ops, live at end ${conv.liveAtEnd}, program exit ${code}` +
      (conv.notes.size ? `; notes: ${[...conv.notes].map(([k, v]) => `${k} ${v}`).join(", ")}` : ""));
    log(`replay it: asmalloc bench --trace ${outFile} --workloads trace:${basename(outFile).replace(/\.gz$/, "").replace(/\.trace$/, "")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
