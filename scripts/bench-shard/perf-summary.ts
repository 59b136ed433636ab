/**
 * `ts-node --transpile-only scripts/bench-shard/perf-summary.ts <x.perf.data> <x.windows.json> <x.descriptors.json> <orders>`:
 * reads again what `BENCH_SHARD_PERF=<dir> npm run bench:shard` recorded of a shard leader, and
 * prints its on-CPU time an order by heading (scripts/lib/perf.ts). The perf map kept beside the
 * recording (`perf-<pid>.map`) is put back where `perf` looks for it while this runs, with its latest
 * entries only (`latestOfPerfMap`).
 */
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { ProfileWindow } from "../lib/profile";
import { latestOfPerfMap, perfSummaryLines, summarisePerf } from "../lib/perf";

async function main(): Promise<void> {
  const [file, windowsFile, descriptorsFile, ordersArg] = process.argv.slice(2);
  const orders = Number(ordersArg);
  if (file === undefined || descriptorsFile === undefined || !(orders > 0)) {
    console.error("usage: perf-summary.ts <x.perf.data> <x.windows.json> <x.descriptors.json> <orders>");
    process.exit(2);
  }
  const windows = JSON.parse(readFileSync(windowsFile, "utf8")) as ProfileWindow[];
  const descriptors = new Map(JSON.parse(readFileSync(descriptorsFile, "utf8")) as [number, string][]);
  const maps = readdirSync(dirname(file)).filter((f) => /^perf-\d+\.map$/.test(f));
  const placed = maps.map((m) => join(tmpdir(), m)).filter((target) => !existsSync(target));
  for (const target of placed) {
    const kept = readFileSync(join(dirname(file), target.slice(tmpdir().length + 1)), "utf8");
    writeFileSync(target, latestOfPerfMap(kept));
  }
  try {
    console.log(perfSummaryLines(await summarisePerf(file, windows, descriptors), orders).join("\n"));
  } finally {
    for (const target of placed) unlinkSync(target);
  }
}

void main();
