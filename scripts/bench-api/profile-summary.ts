/**
 * `ts-node --transpile-only scripts/bench-api/profile-summary.ts <file.cpuprofile> [top] [windows.json]`:
 * where a V8 CPU profile (the keeper's, from `BENCH_API_CPU_PROF` and the other benchmarks'
 * `…_CPU_PROF`) spent its time — self time by function and by file, and "(idle)" / "(program)" /
 * "(garbage collector)" — so that a benchmark's figures can be explained without opening DevTools.
 * `windows.json` (an array of `{ fromUs, toUs }` on CLOCK_MONOTONIC, as `bench:shard` writes beside
 * its profiles): only the samples inside those windows.
 */
import { readFileSync } from "node:fs";
import { selfTimeLines, selfTimes, type ProfileWindow } from "../lib/profile";

const [file, topArg, windowsFile] = process.argv.slice(2);
if (file === undefined) {
  console.error("usage: profile-summary.ts <file.cpuprofile> [top] [windows.json]");
  process.exit(2);
}
const top = Number(topArg ?? 30);
const windows =
  windowsFile === undefined ? undefined : (JSON.parse(readFileSync(windowsFile, "utf8")) as ProfileWindow[]);
const { total, byFunction, byFile } = selfTimes(file, windows);
console.log(`\n${selfTimeLines("self time by function", byFunction, total, top).join("\n")}`);
console.log(`\n${selfTimeLines("self time by file or package", byFile, total, top).join("\n")}`);
