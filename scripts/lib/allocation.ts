/**
 * What a process's JS heap allocates over windows of time, and where, measured inside it by
 * `allocationProbe.ts` (loaded with `allocationNodeArgs`). The process does nothing more until it
 * gets SIGUSR2: the first signal opens a window, the next closes it, and so on (`Allocations`
 * sends them here). Each takes effect when the process's event loop reaches it; the process then
 * appends one JSON line (an `AllocationWindow`) to `allocationFile(pid)`, which `Allocations`
 * waits for. `bench:shard` uses it (`BENCH_SHARD_ALLOC=1`) on its shard leader, one window per
 * measured step.
 *
 * Over a window:
 * - bytes allocated, from V8's heap statistics at each garbage collection (`v8.GCProfiler`): the
 *   heap's use before a collection less its use after the previous one, plus the tail to the
 *   window's end. It does not depend on the machine's speed. Not counted: memory outside the JS
 *   heap (the backing stores of Buffers and typed arrays, native libraries' own `malloc`).
 * - garbage collections by type, and their time (the GC profiler's `cost`: µs of the main thread).
 * - where: V8's sampling heap profile (the inspector's `HeapProfiler.startSampling`, a sample
 *   every `ALLOCATION_SAMPLING_BYTES` on average, objects that a collection freed included), by
 *   allocating frame and by the first frame of the keeper's or the SDK's own code on its stack.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { addCount } from "./perf";

/** One sample per this many bytes allocated, on average (V8's default is 32 KiB). */
export const ALLOCATION_SAMPLING_BYTES = 16 * 1024;

/** Node flags that load the probe into a process started with `-r ts-node/register/transpile-only` first. */
export const allocationNodeArgs = (): string[] => ["-r", resolve(__dirname, "allocationProbe.ts")];

/** Where the process `pid` writes its windows, one JSON line each. */
export const allocationFile = (pid: number): string => join(tmpdir(), `crossbook-allocation-${pid}.jsonl`);

/** One line of `allocationFile`: a window opened, or what it measured when it closed. */
export type AllocationWindow =
  | { readonly event: "opened" }
  | {
      readonly event: "closed";
      /** How long the window was open. */
      readonly seconds: number;
      /** Bytes the JS heap allocated (heap statistics at each collection). */
      readonly bytes: number;
      /** Bytes the sampling profile accounts for: its estimate of the same. */
      readonly sampledBytes: number;
      /** Collections by V8's name of their type. */
      readonly collections: Record<string, number>;
      /** µs spent collecting. */
      readonly collectionMicros: number;
      /** `[allocating frame, first own frame on its stack, bytes]`, from the sampling profile. */
      readonly sites: [string, string, number][];
    };

export type ClosedWindow = Extract<AllocationWindow, { event: "closed" }>;

/** The windows of one probed process, opened and closed from this one. */
export class Allocations {
  private readonly file: string;
  private lines = 0;

  constructor(private readonly pid: number) {
    this.file = allocationFile(pid);
    rmSync(this.file, { force: true });
  }

  /** Opens a window; resolves once the process has. */
  async open(): Promise<void> {
    await this.signal();
  }

  /** Closes the window; resolves with what it measured. */
  async close(): Promise<ClosedWindow> {
    return (await this.signal()) as ClosedWindow;
  }

  /** Removes the process's file. */
  dispose(): void {
    rmSync(this.file, { force: true });
  }

  private async signal(timeoutMs = 30_000): Promise<AllocationWindow> {
    process.kill(this.pid, "SIGUSR2");
    for (const deadline = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 10))) {
      // Whole lines only: the process may be writing the next one.
      const lines = existsSync(this.file) ? readFileSync(this.file, "utf8").split("\n").slice(0, -1) : [];
      if (lines.length > this.lines) return JSON.parse(lines[this.lines++]) as AllocationWindow;
      if (Date.now() > deadline)
        throw new Error(`the allocation probe of pid ${this.pid} did not answer in ${timeoutMs} ms`);
    }
  }
}

/** The windows' totals: bytes by allocating frame and by first own frame, and the sums. */
export function sumWindows(windows: readonly ClosedWindow[]): {
  bytes: number;
  sampledBytes: number;
  collections: Record<string, number>;
  collectionMicros: number;
  byFrame: Map<string, number>;
  byOwnFrame: Map<string, number>;
  byOwnFile: Map<string, number>;
  bySite: Map<string, number>;
} {
  const collections: Record<string, number> = {};
  const byFrame = new Map<string, number>();
  const byOwnFrame = new Map<string, number>();
  const byOwnFile = new Map<string, number>();
  const bySite = new Map<string, number>();
  let bytes = 0;
  let sampledBytes = 0;
  let collectionMicros = 0;
  for (const w of windows) {
    bytes += w.bytes;
    sampledBytes += w.sampledBytes;
    collectionMicros += w.collectionMicros;
    for (const [type, n] of Object.entries(w.collections)) collections[type] = (collections[type] ?? 0) + n;
    for (const [frame, own, n] of w.sites) {
      addCount(byFrame, frame, n);
      addCount(byOwnFrame, own, n);
      addCount(byOwnFile, own.replace(/^\S+ (\S+):\d+$/, "$1"), n);
      addCount(bySite, `${own}  ←  ${frame}`, n);
    }
  }
  return { bytes, sampledBytes, collections, collectionMicros, byFrame, byOwnFrame, byOwnFile, bySite };
}

/**
 * Bytes an order and bytes a second that best explain the windows' bytes (least squares of
 * `bytes = perOrder × orders + perSecond × seconds`, no constant). A process allocates for its
 * orders and for its timers (lease renewals, claims' lowering, block polls, metrics): bytes over
 * orders alone grow as the rate falls, so runs at different rates compare by `perOrder`.
 */
export function bytesFit(windows: readonly { bytes: number; orders: number; seconds: number }[]): {
  perOrder: number;
  perSecond: number;
} {
  let nn = 0;
  let nt = 0;
  let tt = 0;
  let ny = 0;
  let ty = 0;
  for (const { bytes, orders, seconds } of windows) {
    nn += orders * orders;
    nt += orders * seconds;
    tt += seconds * seconds;
    ny += orders * bytes;
    ty += seconds * bytes;
  }
  const det = nn * tt - nt * nt;
  if (det === 0) return { perOrder: NaN, perSecond: NaN };
  return { perOrder: (ny * tt - ty * nt) / det, perSecond: (nn * ty - nt * ny) / det };
}

/** The `top` largest rows of `map` under `title`, as lines: share of `total`, bytes a unit (`orders` of them), name. */
export function bytesLines(
  title: string,
  map: ReadonlyMap<string, number>,
  total: number,
  orders: number,
  top: number,
  unit = "B/order",
): string[] {
  return [
    title,
    ...[...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([k, n]) =>
          `${((100 * n) / total).toFixed(1).padStart(6)}%  ${(n / orders).toFixed(0).padStart(7)} ${unit}  ${k}`,
      ),
  ];
}
