/**
 * Where a process's CPU goes, on the CPU only: Linux `perf` samples a process (every thread, user
 * and kernel) and counts its system calls, and this module sums the samples inside given windows of
 * time (a benchmark's measured steps) under headings. A V8 profile samples wall time (a thread that
 * loses the core in a socket write is sampled in the write); `perf`'s `cpu-clock` samples fire only
 * while the process runs, and each carries the ns of CPU it stands for.
 *
 * The process must run node with `perfNodeArgs`, so that JS frames have names (V8 writes a perf
 * map, `perf-<pid>.map`, in the system's temporary directory, where `perf` looks for it). Recording
 * needs `perf` and the right to profile the process (root, or `perf_event_paranoid` ≤ 2 for one's
 * own processes; kernel frames need ≤ 1, and counting system calls needs the kernel's tracing
 * events: root). `bench:shard` uses it (`BENCH_SHARD_PERF=<dir>`);
 * `scripts/bench-shard/perf-summary.ts` reads a recording again.
 */
import { spawn, type ChildProcess } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import type { ProfileWindow } from "./profile";

/**
 * node's flags for a process `perf` profiles: JS frames (interpreted ones too) named in V8's perf
 * map. The perf map turns V8's log on too: it goes to `dir` (`isolate-…-v8.log`), not the working directory.
 */
export const perfNodeArgs = (dir: string): string[] => [
  "--perf-basic-prof",
  "--interpreted-frames-native-stack",
  `--logfile=${join(dir, "v8.log")}`,
];

/** `perf record` of one process: CPU samples with call chains, and every system call (number and first argument). */
export class PerfRecording {
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly file: string,
  ) {
    this.exited = new Promise((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  }

  /**
   * Starts recording `pid` into `file` at `hz` samples per second of CPU; the samples' times are on
   * CLOCK_MONOTONIC (as `ProfileWindow`s are). Resolves once `perf` has attached.
   */
  static async start(pid: number, file: string, hz: number): Promise<PerfRecording> {
    const child = spawn(
      "perf",
      [
        ...["record", "-q", "-o", file, "-p", String(pid), "-k", "CLOCK_MONOTONIC", "-g"],
        ...["-e", `cpu-clock/freq=${hz}/`, "-e", "raw_syscalls:sys_enter/call-graph=no/"],
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let errors = "";
    child.stderr?.on("data", (d: Buffer) => (errors += d.toString()));
    const recording = new PerfRecording(child, file);
    // perf opens its events within a few ms; an early exit is a failure (no perf, no permission).
    const early = await Promise.race([recording.exited, new Promise((r) => setTimeout(() => r("running"), 1000))]);
    if (early !== "running") throw new Error(`perf record exited at once (${String(early)}): ${errors.trim()}`);
    return recording;
  }

  /** Stops recording (SIGINT: perf writes its file and exits). */
  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill("SIGINT");
    await this.exited;
  }
}

/** One sample of `perf script`: a CPU sample (`period` ns, its call chain) or a system call (`trace`). */
interface Sample {
  readonly thread: "main" | "other";
  readonly event: string;
  readonly period: number;
  readonly frames: readonly Frame[];
  readonly trace: string;
}

// ─── Reading a recording ──────────────────────────────────────────────────────────────────────

interface Frame {
  readonly sym: string;
  readonly dso: string;
}

/** One line of `perf script`'s sample header: comm, pid/tid, time (s), period, event, trace. */
const HEADER = /^\s*(.*?)\s+(\d+)\/(\d+)\s+(\d+)\.(\d+):\s+(\d+)\s+(\S+):(?:\s+(.*))?$/;
/** One frame of a call chain: address, symbol, (dso). */
const FRAME = /^\s+[0-9a-f]+\s+(.*?)\s+\(([^()]*)\)$/;

/** The samples of `file` inside `windows`, read through `perf script`; `each` sees every one. */
async function readSamples(file: string, windows: readonly ProfileWindow[], each: (s: Sample) => void): Promise<void> {
  const child = spawn("perf", ["script", "-i", file, "--ns", "-F", "comm,pid,tid,time,period,event,ip,sym,dso,trace"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let errors = "";
  child.stderr?.on("data", (d: Buffer) => (errors = (errors + d.toString()).slice(-2000)));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream, crlfDelay: Infinity });
  let current: (Omit<Sample, "frames"> & { inside: boolean }) | undefined;
  let frames: Frame[] = [];
  const flush = () => {
    if (current?.inside) each({ ...current, frames });
    current = undefined;
    frames = [];
  };
  for await (const line of lines) {
    if (line === "") {
      flush();
      continue;
    }
    const frame = FRAME.exec(line);
    if (frame !== null && current !== undefined) {
      frames.push({ sym: frame[1], dso: frame[2] });
      continue;
    }
    const header = HEADER.exec(line);
    if (header === null) continue;
    flush();
    const us = Number(header[4]) * 1e6 + Number(header[5].padEnd(9, "0").slice(0, 6));
    current = {
      thread: header[2] === header[3] ? "main" : "other",
      event: header[7],
      period: Number(header[6]),
      inside: windows.some((w) => us >= w.fromUs && us < w.toUs),
      trace: header[8] ?? "",
    };
  }
  flush();
  const code = await exited;
  if (code !== 0) throw new Error(`perf script exited ${String(code)}: ${errors.trim()}`);
}

// ─── Headings ─────────────────────────────────────────────────────────────────────────────────

/** Where a sample's CPU was spent: its frame at the top of the stack. */
export type Layer = "JS" | "native" | "kernel";
const LAYERS: readonly Layer[] = ["JS", "native", "kernel"];

const isKernel = (f: Frame) => f.dso === "[kernel.kallsyms]" || f.dso.startsWith("[kernel");
const isJs = (f: Frame) => f.sym.startsWith("JS:");
/** A JS frame's script: `JS:*name file:line:col` → file. */
const jsFile = (f: Frame) => /\s(\S+):\d+:\d+$/.exec(f.sym)?.[1] ?? "";
const jsName = (f: Frame) => /^JS:[*~^+-]?(\S*)/.exec(f.sym)?.[1] ?? "";
const GC =
  /Heap::|Scavenge|MarkCompact|MinorMark|Sweeper|ConcurrentMarking|IncrementalMarking|GCTracer|Evacuat|MarkingVisitor|MarkingBarrier|ArrayBufferSweeper|MemoryAllocator|MemoryChunk/;
const COMPILER =
  /v8::internal::compiler::|v8::internal::maglev::|OptimizingCompileDispatcher|v8::internal::baseline::|Compiler::Compile|Parser::|Turbofan/;
const JSON_NATIVE = /Json(Parser|Stringifier|Parse|Stringify)|JsonParse|JsonStringify/;
/** libsql's native module (`@libsql/<platform>/index.node`: SQLite and its binding). */
const isLibsql = (f: Frame) => /libsql/.test(f.dso);

/** The package (`pg`, `@noble/curves`) or own directory (`keeper`, `sdk`, `scripts`) of a script, or `node` for Node's own. */
function ownerOf(file: string): string {
  if (file.startsWith("node:")) return "node";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
  if (pkg !== null) return pkg[1];
  const own = /\/(keeper|sdk|scripts|test)\/(src\/)?/.exec(file);
  return own !== null ? own[1] : file === "" ? "(anonymous)" : "other";
}

/** Who asked for a sample's work: the first JS frame's script that is not Node's own (own code by file, a package by name). */
export function callerOf(frames: readonly Frame[]): string {
  const caller = frames.find((f) => isJs(f) && ownerOf(jsFile(f)) !== "node");
  if (caller === undefined) return "(none)";
  const owner = ownerOf(jsFile(caller));
  return owner === "keeper" || owner === "sdk" || owner === "scripts"
    ? jsFile(caller).replace(/^.*\/(keeper|sdk|scripts)\//, "$1/")
    : owner;
}

/** The heading of a CPU sample of the `thread`: the first that holds it, from the top of the stack down. */
export function headingOf(thread: "main" | "other", frames: readonly Frame[]): string {
  const firstJs = frames.findIndex(isJs);
  const native = (firstJs === -1 ? frames : frames.slice(0, firstJs)).filter((f) => !isKernel(f));
  if (native.some((f) => GC.test(f.sym))) return "garbage collection (V8, every thread)";
  if (native.some((f) => COMPILER.test(f.sym))) return "V8's compilers (parser, Sparkplug, Maglev, TurboFan)";
  // libsql's module has no frame pointers: its JS caller is often lost, so the module is a heading of its own.
  const caller = frames.find((f) => isJs(f) && ownerOf(jsFile(f)) !== "node");
  const owner = caller === undefined ? undefined : ownerOf(jsFile(caller));
  if (native.some(isLibsql) || owner === "libsql") {
    const name = caller === undefined || owner !== "libsql" ? "" : jsName(caller);
    if (/(^|\.)run$/.test(name)) return "the working copy (libsql): `run`, each order's insert";
    if (/(^|\.)exec$/.test(name)) return "the working copy (libsql): `exec`, COMMIT and savepoints";
    return "the working copy (libsql): in SQLite, its caller not unwound";
  }
  // SQLite is the only caller of pread and pwrite in a keeper (the system calls' descriptors show it).
  if (native.some((f) => /^(__libc_|__GI___)?p(read|write)(64)?$/.test(f.sym)))
    return "the working copy (libsql): SQLite's file reads and writes (pread, pwrite)";
  if (thread === "other") return "other threads (libuv's pool, V8's platform workers)";
  if (firstJs === -1) {
    if (native.some((f) => /uv__|uv_run|epoll/.test(f.sym)))
      return "the event loop outside JS (libuv: epoll, socket reads)";
    if (native.some((f) => /^(_int_malloc|malloc|_int_free|cfree|free|unlink_chunk|malloc_consolidate)/.test(f.sym)))
      return "malloc and free, their caller not unwound";
    return "native code, its caller not unwound";
  }
  if (native.some((f) => JSON_NATIVE.test(f.sym))) return "JSON parse and stringify (V8)";
  if (owner === undefined) return "Node's own JS (net, streams, timers) with nothing of ours above";
  if (owner === "pg" || owner === "pg-protocol" || owner === "pg-pool") return "pg: PostgreSQL client and its socket";
  if (owner === "ws") return "ws: the gateways' channel and its socket";
  if (/secp256k1|@noble/.test(owner)) return "signature recovery (secp256k1)";
  if (owner === "keeper" || owner === "sdk" || owner === "scripts") return "own code (keeper, SDK)";
  return "other packages (prom-client, viem, zod, sorted-btree …)";
}

/**
 * libc's wrappers of system calls. On this kind of virtual machine a CPU sample taken during a call
 * often lands on the instruction after it, in the wrapper: such a sample is the call's, so it
 * counts as the kernel's.
 */
const SYSCALL_WRAPPER =
  /^(__libc_)?(pread|pwrite|pread64|pwrite64|read|write|writev|readv|epoll_pwait|epoll_wait|__xstat64|__fxstat64|fstat|stat|fsync|fdatasync|futex|syscall|madvise|mmap64|munmap|mprotect|sendto|recvfrom|sendmsg|recvmsg)$|^__GI___libc_(write|read|writev)$|^__GI___(pread|pwrite)64$/;
const isSyscallWrapper = (f: Frame) => f.dso.includes("libc.so") && SYSCALL_WRAPPER.test(f.sym);

/** The layer of a CPU sample: its top frame's (a system call's wrapper counts as the kernel). */
export function layerOf(frames: readonly Frame[]): Layer {
  const top = frames[0];
  if (top === undefined) return "native";
  if (isKernel(top) || isSyscallWrapper(top)) return "kernel";
  return isJs(top) ? "JS" : "native";
}

/** A system call's name from its kernel entry function (`__x64_sys_pwrite64` → `pwrite64`). */
function syscallOf(kernel: readonly string[]): string | undefined {
  for (let i = kernel.length - 1; i >= 0; i--) {
    const m = /^(?:__x64_sys_|__do_sys_|__se_sys_|ksys_|do_)(\w+?)(?:\.part\.\d+)?$/.exec(kernel[i]);
    if (m !== null && !/^syscall_64$|^syscall_trace|^exc_|^softirq/.test(m[1])) return m[1].replace(/^new/, "");
  }
  return undefined;
}

/** What a kernel sample was doing: the system call (by name), a page fault, an interrupt, a context switch, or perf's own tracing. */
export function kernelWorkOf(frames: readonly Frame[]): string {
  const kernel = frames.filter(isKernel).map((f) => f.sym);
  if (kernel.length === 0) {
    const wrapper = frames.find(isSyscallWrapper)?.sym ?? "?";
    return `system call ${wrapper.replace(/^__GI___libc_|^__libc_|^__GI___|^__/, "")} (sampled on its return)`;
  }
  const any = (re: RegExp) => kernel.some((s) => re.test(s));
  if (any(/syscall_trace_enter|perf_trace_sys_enter/))
    return "perf's own tracing of each system call (the measurement)";
  if (any(/exc_page_fault/)) return "page faults (fresh memory)";
  if (any(/exit_to_user_mode_loop|^schedule$|__schedule/) && !any(/do_epoll|futex/)) return "context switches";
  const call = syscallOf(kernel);
  if (call !== undefined) return `system call ${call}`;
  if (any(/asm_common_interrupt|asm_sysvec|irq_exit|handle_softirqs/))
    return "interrupts and softirqs (loopback network delivery, timers)";
  if (any(/do_syscall_64/)) return "system call entry and exit (which call not known)";
  return "other kernel work";
}

export interface PerfSummary {
  /** ns of CPU sampled inside the windows, and by heading and layer. */
  readonly totalNs: number;
  readonly byHeading: ReadonlyMap<string, Record<Layer, number>>;
  readonly kernelByWork: ReadonlyMap<string, number>;
  readonly byThread: ReadonlyMap<string, number>;
  /** The main thread's samples with JS above them, by who asked (`callerOf`). */
  readonly byCaller: ReadonlyMap<string, number>;
  /** System calls inside the windows: by name and by what the first argument (a descriptor) was. */
  readonly syscalls: ReadonlyMap<string, number>;
  readonly samples: number;
}

/** What a descriptor of `pid` is, now: a socket to one of `ports` (by name), a file's name, or its kind. */
export function describeDescriptors(pid: number, ports: Readonly<Record<string, number>>): Map<number, string> {
  const inodes = new Map<string, string>();
  for (const table of ["tcp", "tcp6"]) {
    let text = "";
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = parseInt(cols[1].split(":")[1], 16);
      const remote = parseInt(cols[2].split(":")[1], 16);
      const named = Object.entries(ports).find(([, port]) => port === remote || port === local);
      inodes.set(cols[9], named === undefined ? "another TCP socket" : `${named[0]} socket`);
    }
  }
  const fds = new Map<number, string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const socket = /^socket:\[(\d+)\]$/.exec(target);
    if (socket !== null) fds.set(Number(fd), inodes.get(socket[1]) ?? "another socket");
    else if (target.startsWith("anon_inode:")) fds.set(Number(fd), target.slice("anon_inode:".length));
    else if (target.startsWith("/")) {
      let size = "";
      try {
        size = `, ${(statSync(target).size / 2 ** 20).toFixed(1)} MiB`;
      } catch {
        /* gone */
      }
      fds.set(Number(fd), `file ${basename(target)} (descriptor ${fd}${size})`);
    } else fds.set(Number(fd), target.replace(/:\[\d+\]$/, ""));
  }
  return fds;
}

/** x86-64 system call numbers of the calls a keeper makes most; the rest are counted by number. */
const SYSCALL_NAMES: Readonly<Record<number, string>> = {
  0: "read",
  1: "write",
  3: "close",
  7: "poll",
  9: "mmap",
  10: "mprotect",
  11: "munmap",
  12: "brk",
  16: "ioctl",
  17: "pread64",
  18: "pwrite64",
  19: "readv",
  20: "writev",
  28: "madvise",
  44: "sendto",
  45: "recvfrom",
  46: "sendmsg",
  47: "recvmsg",
  72: "fcntl",
  74: "fsync",
  75: "fdatasync",
  202: "futex",
  228: "clock_gettime",
  232: "epoll_wait",
  233: "epoll_ctl",
  257: "openat",
  262: "newfstatat",
  281: "epoll_pwait",
  290: "eventfd2",
};
/** Calls whose first argument is a descriptor worth naming. */
const ON_A_DESCRIPTOR = new Set([0, 1, 17, 18, 19, 20, 44, 45, 46, 47, 74, 75]);

/** Adds `n` to `key`'s count in `map` (the summaries' tallies). */
export function addCount(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

/** Sums `file`'s samples inside `windows`; `descriptors` names the recorded process's descriptors. */
export async function summarisePerf(
  file: string,
  windows: readonly ProfileWindow[],
  descriptors: ReadonlyMap<number, string> = new Map(),
): Promise<PerfSummary> {
  const byHeading = new Map<string, Record<Layer, number>>();
  const kernelByWork = new Map<string, number>();
  const byThread = new Map<string, number>();
  const byCaller = new Map<string, number>();
  const syscalls = new Map<string, number>();
  let totalNs = 0;
  let samples = 0;
  await readSamples(file, windows, ({ thread, event, period, frames, trace }) => {
    if (event.includes("sys_enter")) {
      // `NR 1 (11, 7f…, 80, …)`: the call's number, then its arguments in hex.
      const m = /NR (\d+) \(([0-9a-f]+)/.exec(trace);
      if (m === null) return;
      const nr = Number(m[1]);
      const name = SYSCALL_NAMES[nr] ?? `#${nr}`;
      const on = ON_A_DESCRIPTOR.has(nr)
        ? ` on ${descriptors.get(parseInt(m[2], 16)) ?? "a descriptor closed since"}`
        : "";
      addCount(syscalls, `${name}${on}`, 1);
      return;
    }
    samples++;
    totalNs += period;
    const layer = layerOf(frames);
    const heading = headingOf(thread, frames);
    const row = byHeading.get(heading) ?? { JS: 0, native: 0, kernel: 0 };
    row[layer] += period;
    byHeading.set(heading, row);
    if (layer === "kernel") addCount(kernelByWork, kernelWorkOf(frames), period);
    addCount(byThread, thread === "main" ? "the main thread" : "other threads", period);
    if (thread === "main") addCount(byCaller, callerOf(frames), period);
  });
  return { totalNs, byHeading, kernelByWork, byThread, byCaller, syscalls, samples };
}

/** The summary as lines: µs of CPU an order (`orders` accepted in the windows) by heading, layer, kernel work, thread; calls an order. */
export function perfSummaryLines(s: PerfSummary, orders: number): string[] {
  const us = (ns: number) => (ns / 1000 / orders).toFixed(1).padStart(7);
  const share = (ns: number) => `${((100 * ns) / s.totalNs).toFixed(1).padStart(5)}%`;
  const sum = (r: Record<Layer, number>) => LAYERS.reduce((a, l) => a + r[l], 0);
  const rows = [...s.byHeading].sort((a, b) => sum(b[1]) - sum(a[1]));
  const total = { JS: 0, native: 0, kernel: 0 } as Record<Layer, number>;
  for (const [, r] of rows) for (const l of LAYERS) total[l] += r[l];
  const sorted = (m: ReadonlyMap<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return [
    `on-CPU time an order accepted (µs; ${s.samples} samples, ${orders} orders): total, then JS / native (V8, Node, libraries) / kernel`,
    ...rows.map(
      ([h, r]) => `${us(sum(r))} ${share(sum(r))}  (${LAYERS.map((l) => us(r[l]).trim()).join(" / ")})  ${h}`,
    ),
    `${us(s.totalNs)} ${share(s.totalNs)}  (${LAYERS.map((l) => us(total[l]).trim()).join(" / ")})  in all`,
    "the kernel's part by what it did (µs an order; a system call's wrapper in libc counts as the call):",
    ...sorted(s.kernelByWork).map(([k, ns]) => `${us(ns)} ${share(ns)}  ${k}`),
    "by thread (µs an order):",
    ...sorted(s.byThread).map(([k, ns]) => `${us(ns)} ${share(ns)}  ${k}`),
    "the main thread by who asked (the first JS frame not Node's own: own code by file, packages by name; µs an order):",
    ...sorted(s.byCaller)
      .slice(0, 25)
      .map(([k, ns]) => `${us(ns)} ${share(ns)}  ${k}`),
    "system calls an order:",
    ...sorted(s.syscalls)
      .slice(0, 20)
      .map(([k, n]) => `${(n / orders).toFixed(2).padStart(7)}  ${k}`),
  ];
}

/**
 * V8's perf map with only the latest entry for any address. V8 appends an entry for each piece of
 * code it makes, and reuses the memory of code it has dropped (module bodies run once at start-up,
 * ts-node's compiler), where `perf` would name a sample after the dead code. The measured steps
 * come after the start-up, so the latest code at an address is the one that ran.
 */
export function latestOfPerfMap(text: string): string {
  const lines = text.split("\n").filter((l) => l !== "");
  const PAGE = 4096;
  /** Kept entries by the pages they cover. */
  const byPage = new Map<number, [number, number][]>();
  const kept: string[] = [];
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) /.exec(lines[i]);
    if (m === null) continue;
    const start = parseInt(m[1], 16);
    const end = start + Math.max(1, parseInt(m[2], 16));
    const pages: number[] = [];
    for (let p = Math.floor(start / PAGE); p <= Math.floor((end - 1) / PAGE); p++) pages.push(p);
    const overlaps = pages.some((p) => (byPage.get(p) ?? []).some(([a, b]) => start < b && a < end));
    if (overlaps) continue;
    for (const p of pages) byPage.set(p, [...(byPage.get(p) ?? []), [start, end]]);
    kept.push(lines[i]);
  }
  return `${kept.reverse().join("\n")}\n`;
}

/** Rewrites V8's perf map of `pid` where `perf` reads it with only its latest entries (`latestOfPerfMap`); whether there was one. */
export function keepLatestOfPerfMap(pid: number): boolean {
  const map = join(tmpdir(), `perf-${pid}.map`);
  if (!existsSync(map)) return false;
  writeFileSync(map, latestOfPerfMap(readFileSync(map, "utf8")));
  return true;
}

/** Moves V8's perf map of `pid` beside a recording (so that `perf script` can read it again there); where it went, if any. */
export function keepPerfMap(pid: number, dir: string): string | undefined {
  const map = join(tmpdir(), `perf-${pid}.map`);
  if (!existsSync(map)) return undefined;
  const kept = join(dir, `perf-${pid}.map`);
  copyFileSync(map, kept);
  unlinkSync(map);
  return kept;
}
