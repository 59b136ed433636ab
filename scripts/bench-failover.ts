/**
 * `npm run bench:failover -- [--kills N] [--lease-ms MS]`: a `hardhat node`, an embedded
 * PostgreSQL and two keeper CLIs on it; N times, the leader is killed with SIGKILL and the time
 * from the kill until the standby answers an order ("order entry back") is measured; the killed
 * keeper is started again as the next standby. Prints each time, the median and the maximum, and
 * the machine's load (`uptime`). Target: median < 5 s.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { localTraders } from "./lib/accounts";
import { orderEntryBack, startHaKeeper, type HaKeeper } from "./lib/failover";
import { createDatabase, startEmbeddedPostgres, stopEmbeddedPostgres } from "./lib/postgres";
import { startLocalMarket, stopAll } from "./lib/processes";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p + 0.5))];
}

async function main(): Promise<void> {
  const kills = option("kills", 5);
  const leaseMs = option("lease-ms", 2000);
  const dir = mkdtempSync(join(tmpdir(), "crossbook-bench-failover-"));
  const pg = await startEmbeddedPostgres();
  try {
    const { node, deployment } = await startLocalMarket(dir, 2);
    const database = await createDatabase(pg.port, "crossbook_failover");
    const [trader] = localTraders(1);
    const mid = deployment.markets[0].initialPriceTicks;
    let n = 0;
    const start = (): HaKeeper =>
      startHaKeeper(deployment, { rpcUrl: node.url, database, name: `keeper-${++n}`, leaseMs });
    let leader = start();
    await leader.listening;
    let standby = start();
    const times: number[] = [];
    for (let i = 0; i < kills; i++) {
      await standby.process.waitFor(/role: standby/, 120_000);
      const killedAt = Date.now();
      await leader.process.kill();
      const back = await orderEntryBack(standby, deployment, trader, mid + 100n + BigInt(i), killedAt);
      times.push(back.ms);
      process.stdout.write(`kill ${i + 1}/${kills}: order entry back after ${back.ms} ms (${standby.name})\n`);
      leader = standby;
      standby = start();
    }
    const sorted = [...times].sort((x, y) => x - y);
    process.stdout.write(
      `\nbench:failover — ${kills} SIGKILLs of the leader, lease ${leaseMs} ms\n` +
        `order entry back: p50 ${percentile(sorted, 0.5)} ms, max ${sorted[sorted.length - 1]} ms, min ${sorted[0]} ms\n` +
        `load average (1/5/15 min): ${loadavg()
          .map((l) => l.toFixed(2))
          .join(" ")}\n`,
    );
  } finally {
    await stopAll();
    await stopEmbeddedPostgres(pg);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:failover: ${String((error as Error).stack ?? error)}\n`);
    process.exit(1);
  },
);
