/**
 * `ts-node --transpile-only scripts/bench-shard/allocation-summary.ts <file.jsonl> <orders> [top]`:
 * the allocation windows `bench:shard` kept (`BENCH_SHARD_ALLOC=<dir>`) summed again, with more rows:
 * bytes an order by the first keeper or SDK frame, by its file, by allocating function and by both.
 * `orders`: the accepted orders over those windows, as the bench printed it.
 */
import { readFileSync } from "node:fs";
import { bytesLines, sumWindows, type AllocationWindow, type ClosedWindow } from "../lib/allocation";

const [file, ordersArg, topArg] = process.argv.slice(2);
if (file === undefined || ordersArg === undefined) {
  console.error("usage: allocation-summary.ts <file.jsonl> <orders> [top]");
  process.exit(2);
}
const orders = Number(ordersArg);
const top = Number(topArg ?? 40);
const windows = readFileSync(file, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((line) => JSON.parse(line) as AllocationWindow)
  .filter((w): w is ClosedWindow => w.event === "closed");
const sum = sumWindows(windows);
const of = `sampled, of ${(sum.sampledBytes / orders).toFixed(0)} B/order; heap statistics: ${(sum.bytes / orders).toFixed(0)}`;
console.log(
  bytesLines(`by the first keeper or SDK file (${of})`, sum.byOwnFile, sum.sampledBytes, orders, top).join("\n"),
);
console.log(bytesLines(`\nby the first keeper or SDK frame`, sum.byOwnFrame, sum.sampledBytes, orders, top).join("\n"));
console.log(bytesLines(`\nby allocating function`, sum.byFrame, sum.sampledBytes, orders, top).join("\n"));
console.log(
  bytesLines(`\nby site: own frame ← allocating function`, sum.bySite, sum.sampledBytes, orders, top).join("\n"),
);
