/**
 * `npm run bench:cluster-working-copy`: what a shard leader's working copy (keeper/src/store/postgres.ts)
 * costs an accepted post-only order, through the store's own code: the engine's duplicate check and the
 * risk read's question whether the nonce was ever held (both in memory when the nonce is new), the
 * order's insert in a group commit, and the group's local COMMIT (with its held raise of the
 * market's sequence), timed on the calling thread; the flushes to PostgreSQL run between groups,
 * untimed. A benchmark, not a test.
 *
 * It compares group sizes (`BENCH_WC_GROUPS`, default 8 and 32: a group of one 8 ms window at
 * 1,000 orders a second, and a group held open through a flush in flight), each round running every
 * size back to back on a fresh database, so that one run compares them: many short rounds, since
 * on a shared machine the load drifts more over a long one than the sizes differ. With more orders
 * (`BENCH_WC_ORDERS`) the figures are given by 20,000, so that the cost of a larger copy shows.
 *
 * With BENCH_WC_BASELINE (the root of another checkout, e.g. main's), that checkout's store runs
 * beside this one's, every group size each, in the same rounds.
 *
 * Options (environment): BENCH_WC_ORDERS (default 20000), BENCH_WC_GROUPS (default 8,32),
 * BENCH_WC_ROUNDS (default 9), BENCH_WC_ACCOUNTS (default 100), BENCH_WC_BASELINE.
 */
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { Store, type Hex, type Order } from "../keeper/src/store";
import { median } from "./lib/bench";
import { createDatabase, startEmbeddedPostgres, stopEmbeddedPostgres } from "./lib/postgres";

const env = process.env;
const ORDERS = Number(env.BENCH_WC_ORDERS ?? 20_000);
const GROUPS = (env.BENCH_WC_GROUPS ?? "8,32").split(",").map(Number);
const ROUNDS = Number(env.BENCH_WC_ROUNDS ?? 9);
const ACCOUNTS = Number(env.BENCH_WC_ACCOUNTS ?? 100);
const CHUNK = 20_000;
const SIG = `0x${"ab".repeat(65)}` as Hex;
const BASELINE = env.BENCH_WC_BASELINE?.trim() || undefined;

/** A store to measure: this checkout's, or the baseline's (the same interface, its own code). */
interface Variant {
  readonly label: string;
  readonly store: typeof Store;
  readonly group: number;
}

function variants(): Variant[] {
  const stores: { label: string; store: typeof Store }[] = [{ label: "this", store: Store }];
  if (BASELINE !== undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const theirs = require(join(resolve(BASELINE), "keeper/src/store")) as { Store: typeof Store };
    stores.unshift({ label: "baseline", store: theirs.Store });
  }
  return stores.flatMap(({ label, store }) =>
    GROUPS.map((group) => ({ label: `${label} group ${group}`, store, group })),
  );
}

const hex = (n: bigint, bytes: number) => `0x${n.toString(16).padStart(2 * bytes, "0")}`;
/** Order hashes spread over the key space, as real ones are (the primary key's inserts are random). */
const hashOf = (i: number) => hex((BigInt(i + 1) * 0x9e3779b97f4a7c15n) % 2n ** 256n, 32) as Hex;

function orderOf(i: number): Order {
  return {
    maker: hex(BigInt((i % ACCOUNTS) + 1), 20) as `0x${string}`,
    marketId: 1n,
    isBuy: i % 2 === 0,
    flags: 1n,
    maxFeeBps: 10n,
    expiry: 2_000_000_000n,
    nonce: BigInt(i + 1),
    priceTicks: 1_000_000n + BigInt(i % 2000),
    lots: 1n,
  };
}

/** Microseconds an order of each `CHUNK` of orders, on the calling thread, in the variant's groups. */
async function run(url: string, { store: StoreOf, group }: Variant): Promise<number[]> {
  const store = await StoreOf.connect(url);
  try {
    const chunks: number[] = [];
    let spent = 0n;
    for (let i = 0; i < ORDERS; i++) {
      const hash = hashOf(i);
      const order = orderOf(i);
      const start = process.hrtime.bigint();
      // The engine's duplicate check (a baseline from before `orderStatusOf` reads the status) and the
      // risk read's `filled` (whether the keeper ever held the nonce).
      if ("orderStatusOf" in store) store.orderStatusOf(hash, order);
      else (store as Store).orderStatus(hash);
      store.hasNonce(order.maker, order.nonce);
      store.grouped(() => store.acceptOrder({ hash, order, signature: SIG, seq: i + 1, rested: true, at: 1_000 + i }));
      if ((i + 1) % group === 0) store.commitGroup();
      spent += process.hrtime.bigint() - start;
      if ((i + 1) % 1024 === 0) await store.durable(); // PostgreSQL keeps up, untimed
      if ((i + 1) % CHUNK === 0) {
        chunks.push(Number(spent) / 1000 / CHUNK);
        spent = 0n;
      }
    }
    await store.durable();
    return chunks;
  } finally {
    await store.shutdown();
  }
}

async function main(): Promise<void> {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join("/");
  const before = load();
  console.log(
    `bench:cluster-working-copy: ${ORDERS} orders, groups of ${GROUPS.join(" and ")}, ${ROUNDS} rounds; load ${before}`,
  );
  const all = variants();
  if (BASELINE !== undefined) console.log(`baseline: the store of ${resolve(BASELINE)}`);
  const pg = await startEmbeddedPostgres();
  const results = new Map<string, number[][]>(all.map((v) => [v.label, []]));
  try {
    let n = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const variant of round % 2 === 0 ? all : [...all].reverse()) {
        const chunks = await run(await createDatabase(pg.port, `bench_wc_${process.pid}_${++n}`), variant);
        results.get(variant.label)?.push(chunks);
        console.log(
          `round ${round + 1} ${variant.label}: µs an order by ${CHUNK.toLocaleString("en-US")}s: ${chunks.map((c) => c.toFixed(1)).join(" ")}`,
        );
      }
    }
  } finally {
    await stopEmbeddedPostgres(pg);
  }
  console.log(`\nmedians of ${ROUNDS} rounds, µs an order (orders 1–${CHUNK.toLocaleString("en-US")}, …):`);
  for (const [label, rounds] of results) {
    console.log(`${label}: ${rounds[0].map((_, c) => median(rounds.map((r) => r[c])).toFixed(1)).join(" ")}`);
  }
  // Each round ran every variant back to back: their ratio within a round is steadier than the medians'.
  const [first, ...others] = all;
  const base = results.get(first.label) as number[][];
  for (const { label } of others) {
    const mine = results.get(label) as number[][];
    const ratios = base[0].map((_, c) => median(mine.map((m, r) => m[c] / base[r][c])));
    console.log(
      `${label} ÷ ${first.label} (median of the rounds' ratios): ${ratios.map((x) => x.toFixed(2)).join(" ")}`,
    );
  }
  console.log(`load average: before ${before}, after ${load()}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(
      `bench:cluster-working-copy: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exit(1);
  },
);
