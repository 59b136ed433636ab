/**
 * `npx ts-node --transpile-only scripts/bench-cluster-idle.ts`: what the cluster's processes spend
 * with no order coming (SCALING.md, "Idle work"). It starts the cluster as `bench:cluster` does
 * (PostgreSQL, a Hardhat node that mines only with transactions, shards `a` and `b` with a leader
 * and a follower each, two gateways), waits for it to settle, and reports each process's CPU
 * milliseconds a second over `BENCH_IDLE_SECONDS` (default 20), from /proc.
 *
 * Options (environment): BENCH_IDLE_SECONDS (default 20), BENCH_IDLE_WARMUP_SECONDS (default 10),
 * BENCH_IDLE_FLAGS (more flags for every shard keeper, space-separated), BENCH_IDLE_CPU_PROF (a
 * directory: every shard keeper and gateway writes a V8 CPU profile there when it stops).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { rpc } from "./lib/bench";
import { ONE_SHARD_PER_LOCAL_MARKET, startCluster, type ClusterProcess } from "./lib/cluster";
import { cpuOf, postgresPids } from "./lib/cpu";
import { stopAll } from "./lib/processes";

const seconds = Number(process.env.BENCH_IDLE_SECONDS ?? 20);
const warmup = Number(process.env.BENCH_IDLE_WARMUP_SECONDS ?? 10);
const flags = (process.env.BENCH_IDLE_FLAGS ?? "").split(" ").filter((f) => f !== "");
const cpuProfileDir = process.env.BENCH_IDLE_CPU_PROF?.trim() || undefined;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join("/");

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bench-idle-"));
  const cluster = await startCluster({
    dir,
    shards: ONE_SHARD_PER_LOCAL_MARKET,
    gateways: 2,
    shardFlags: flags,
    ...(cpuProfileDir === undefined ? {} : { cpuProfileDir: resolve(cpuProfileDir) }),
  });
  try {
    await rpc(cluster.node.url, "evm_setIntervalMining", [0]); // as bench:cluster: blocks only with transactions
    await new Promise((r) => setTimeout(r, warmup * 1000));
    const leaders = new Set<ClusterProcess>();
    for (const shard of ["a", "b"]) leaders.add(await cluster.leaderOf(shard));
    const rows: { name: string; pids: number[] }[] = [
      ...cluster.keepers.map((k) => ({
        name: `${k.name} (${leaders.has(k) ? "leader" : "follower"})`,
        pids: [k.process.child.pid as number],
      })),
      ...cluster.gateways.map((g) => ({ name: g.name, pids: [g.process.child.pid as number] })),
      { name: "postgresql (all its processes)", pids: postgresPids(cluster.postgres.dir) },
      { name: "hardhat node", pids: [cluster.node.process.child.pid as number] },
    ];
    const before = rows.map((r) => cpuOf(r.pids));
    const loadBefore = load();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const after = rows.map((r) => cpuOf(r.pids));
    console.log(`idle ${seconds} s, load average ${loadBefore} → ${load()}; CPU ms per second of each process:`);
    rows.forEach((r, i) =>
      console.log(`  ${r.name.padEnd(34)} ${(((after[i] - before[i]) * 1000) / seconds).toFixed(1)}`),
    );
  } finally {
    await cluster.stop();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
