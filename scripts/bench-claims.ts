/**
 * `npx ts-node --transpile-only scripts/bench-claims.ts`: what a shard's claims (keeper/src/cluster/
 * claims.ts) add to an order, against an embedded PostgreSQL on loopback. A benchmark, not a test:
 * the figures move with the machine's load (printed with them), so compare the rows of one run.
 *
 * - `within the claim`: the order's reservation fits the claim the shard holds (most orders of an
 *   account already trading here): no round trip.
 * - `raise`: every order needs more than the claim (`raise_claim`: the fence, the account and
 *   token's advisory lock, the other shards' sum, the upsert): one round trip, one at a time.
 * - `raise, 16 accounts at once`: raises of 16 accounts in flight together (one connection: the
 *   first goes alone, the 15 asked while it is in flight go together in the next round trip).
 *
 * `BENCH_CLAIMS_ORDERS` (2,000) orders per row, `BENCH_CLAIMS_ROUNDS` (3) rounds; medians.
 */
import { loadavg } from "node:os";
import type { Address } from "viem";
import { ShardClaims } from "../keeper/src/cluster/claims";
import { ensureShardSchema, registerShard, shardDatabaseUrl } from "../keeper/src/cluster/registry";
import { LeaseConnection, tryAcquire } from "../keeper/src/leader";
import { silentLogger } from "../keeper/src/log";
import { pgClient, Store } from "../keeper/src/store";
import { median, percentile } from "./lib/bench";
import { createDatabase, startEmbeddedPostgres, stopEmbeddedPostgres } from "./lib/postgres";

const ORDERS = Number(process.env.BENCH_CLAIMS_ORDERS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_CLAIMS_ROUNDS ?? 3);
const TOKEN = "0x00000000000000000000000000000000000000aa" as Address;
const BALANCE = 10n ** 30n;
const accountOf = (i: number) => `0x${i.toString(16).padStart(40, "0")}` as Address;

async function main(): Promise<void> {
  const server = await startEmbeddedPostgres();
  try {
    const url = await createDatabase(server.port, "bench_claims");
    const admin = pgClient(url);
    await admin.connect();
    await ensureShardSchema(admin, "a");
    await registerShard(admin, "a", [1n]);
    await registerShard(admin, "b", [2n]);
    await admin.end();
    const shardUrl = shardDatabaseUrl(url, "a");
    const store = await Store.connect(shardUrl); // the shard's tables, its lease and its fence
    const lease = new LeaseConnection(() => pgClient(shardUrl), 5_000);
    const won = await tryAcquire(lease, "bench", "http://127.0.0.1:1", 600_000);
    if (won === undefined) throw new Error("the lease was not free");
    const claims = await ShardClaims.open(() => pgClient(shardUrl), "a", silentLogger, { holdMs: 5_000 });
    await claims.reset(won.term, new Map());

    const rows: Record<string, number[][]> = { within: [], raise: [], parallel: [] };
    let next = 1n;
    for (let round = 0; round < ROUNDS; round++) {
      const within: number[] = [];
      const raise: number[] = [];
      for (let i = 0; i < ORDERS; i++) {
        const t = process.hrtime.bigint();
        await claims.cover(accountOf(1), TOKEN, 1n, BALANCE);
        within.push(Number(process.hrtime.bigint() - t) / 1000);
      }
      for (let i = 0; i < ORDERS; i++) {
        const t = process.hrtime.bigint();
        await claims.cover(accountOf(2), TOKEN, next++, BALANCE);
        raise.push(Number(process.hrtime.bigint() - t) / 1000);
      }
      const started = process.hrtime.bigint();
      for (let i = 0; i < ORDERS; i += 16) {
        const base = next++;
        await Promise.all(Array.from({ length: 16 }, (_, j) => claims.cover(accountOf(100 + j), TOKEN, base, BALANCE)));
      }
      const perOrder = Number(process.hrtime.bigint() - started) / 1000 / ORDERS;
      rows.within.push(within);
      rows.raise.push(raise);
      rows.parallel.push([perOrder]);
    }
    const line = (name: string, samples: number[][]) => {
      const p50 = median(samples.map((s) => percentile(s, 50)));
      const p99 = median(samples.map((s) => percentile(s, 99)));
      return `| ${name.padEnd(28)} | ${p50.toFixed(1).padStart(9)} | ${p99.toFixed(1).padStart(9)} |`;
    };
    const load = loadavg()
      .map((l) => l.toFixed(2))
      .join(", ");
    process.stdout.write(
      [
        `bench:claims — ${ORDERS} orders a row, median of ${ROUNDS} rounds; load average ${load}`,
        "| per order                    |   p50 µs  |   p99 µs  |",
        "| ---------------------------- | --------- | --------- |",
        line("within the claim", rows.within),
        line("raise (one round trip)", rows.raise),
        `| ${"raise, 16 accounts at once".padEnd(28)} | ${median(rows.parallel.map((r) => r[0]))
          .toFixed(1)
          .padStart(9)} |  (mean)   |`,
        `raises: ${claims.raises}`,
        "",
      ].join("\n"),
    );
    await claims.end();
    await lease.end();
    await store.shutdown();
  } finally {
    await stopEmbeddedPostgres(server);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench-claims: ${String((error as Error).stack ?? error)}\n`);
  process.exit(1);
});
