/**
 * Where a V8 CPU profile (`node --cpu-prof`) spent its time: self time by function and by file or
 * package, with "(idle)", "(program)" and "(garbage collector)" as their own rows; optionally only
 * the samples inside given windows of time (a benchmark's measured steps, not its start-up).
 * `scripts/bench-api/profile-summary.ts` prints it for a file; `bench:shard` for its shard leader.
 */
import { readFileSync } from "node:fs";

/** A frame of a V8 profile (CPU or sampling heap). */
export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A span of time on the profile's clock: CLOCK_MONOTONIC in µs (`process.hrtime` ÷ 1,000 in any process). */
export interface ProfileWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

export interface SelfTimes {
  /** µs sampled (inside the windows, when given). */
  readonly total: number;
  readonly byFunction: ReadonlyMap<string, number>;
  readonly byFile: ReadonlyMap<string, number>;
}

/** Self time by function and by file of the profile in `file`, counting only samples inside `windows` if given. */
export function selfTimes(file: string, windows?: readonly ProfileWindow[]): SelfTimes {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (windows === undefined || windows.some((w) => at >= w.fromUs && at < w.toUs)) {
      self.set(id, (self.get(id) ?? 0) + delta);
    }
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id) as ProfileNode;
    const fn = frameName(callFrame);
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const where = whereOf(callFrame);
    const f =
      where === "" ? callFrame.functionName : where.startsWith("~/") ? where.split("/").slice(0, 2).join("/") : where;
    byFile.set(f, (byFile.get(f) ?? 0) + us);
  }
  return { total, byFunction, byFile };
}

/** A frame's file, short: `keeper/…`, `sdk/…`, `scripts/…`, a dependency's as `~/package/…`, `node:…` as is. */
function whereOf({ url }: CallFrame): string {
  const short = url.replace(/^file:\/\//, "").replace(/.*\/node_modules\//, "~/");
  return short.replace(/^.*\/(keeper|scripts|sdk)\//, "$1/");
}

/** A frame as `function file:line` (line from 1). */
export function frameName(callFrame: CallFrame): string {
  return `${callFrame.functionName || "(anonymous)"} ${whereOf(callFrame)}:${callFrame.lineNumber + 1}`;
}

/** The `top` largest rows of `map` under `title`, as lines: share of `total`, ms, name. */
export function selfTimeLines(title: string, map: ReadonlyMap<string, number>, total: number, top: number): string[] {
  return [
    `${title} (of ${(total / 1e6).toFixed(2)} s sampled)`,
    ...[...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([k, us]) => `${((100 * us) / total).toFixed(1).padStart(6)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`,
      ),
  ];
}
