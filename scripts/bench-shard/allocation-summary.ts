/**
 * `ts-node --transpile-only scripts/bench-shard/allocation-summary.ts <file.jsonl> [top]`: the
 * measured steps' allocation windows that `bench:shard` kept (`BENCH_SHARD_ALLOC=<dir>`), summed
 * again with more rows: bytes an order over the steps and fitted (bytes an order and a second), and
 * by the first keeper or SDK frame, by its file, by allocating function and by both.
 */
import { readFileSync } from "node:fs";
import { bytesFit, bytesLines, sumWindows, type ClosedWindow } from "../lib/allocation";

const [file, topArg] = process.argv.slice(2);
if (file === undefined) {
  console.error("usage: allocation-summary.ts <file.jsonl> [top]");
  process.exit(2);
}
const top = Number(topArg ?? 40);
const steps = readFileSync(file, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((line) => JSON.parse(line) as ClosedWindow & { orders: number; inFlight: number });
const orders = steps.reduce((n, s) => n + s.orders, 0);
const sum = sumWindows(steps);
const fit = bytesFit(steps);
console.log(
  `${steps.length} steps, ${orders} orders: ${(sum.bytes / orders).toFixed(0)} B/order (heap statistics), ` +
    `fitted ${fit.perOrder.toFixed(0)} B/order and ${(fit.perSecond / 1024).toFixed(0)} KiB/s`,
);
const of = `sampled, of ${(sum.sampledBytes / orders).toFixed(0)} B/order`;
console.log(
  bytesLines(`\nby the first keeper or SDK file (${of})`, sum.byOwnFile, sum.sampledBytes, orders, top).join("\n"),
);
console.log(bytesLines(`\nby the first keeper or SDK frame`, sum.byOwnFrame, sum.sampledBytes, orders, top).join("\n"));
console.log(bytesLines(`\nby allocating function`, sum.byFrame, sum.sampledBytes, orders, top).join("\n"));
console.log(
  bytesLines(`\nby site: own frame ← allocating function`, sum.bySite, sum.sampledBytes, orders, top).join("\n"),
);
