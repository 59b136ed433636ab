/**
 * `npm run bench:mm`: what a market maker's requote costs, before and after batch order entry
 * (issue 16). A benchmark, not a test: the figures move with the machine's load.
 *
 * Sets up (all torn down at the end): a Hardhat node on a free port (mining every second, so the
 * taker's fills settle as they would), the local market (scripts/deploy.ts), two funded accounts,
 * and a keeper process (keeper/src/cli.ts) with a fresh database. Then, in this process:
 *
 * - a taker sends an immediate-or-cancel order of 1 lot, alternately buying and selling through
 *   the best quote, 3 times a second (`BENCH_MM_TAKER_RATE`), over HTTP;
 * - a market maker quotes a 2×5 ladder — 5 bids and 5 asks (post-only, 1 tick apart, 2 lots each) —
 *   around a mid that moves by up to two ticks at each requote, every `BENCH_MM_INTERVAL_MS` (200):
 *   - `single` (the way before batches): a signed `CancelOrders` of the ten, then ten
 *     `POST /v1/orders` sent together (the keeper takes them one at a time for the account);
 *   - `batch`: one `POST /v1/orders/batch` of ten amends (an order the taker filled is placed anew),
 *     the side the mid moves away from first, so that no new quote meets an old one of the other side;
 *   - `feed`: the same batch of ten amends as one `batch` message on the logged-in WebSocket feed
 *     (`feed.orderEntry`), answered on the same socket.
 * - an observer follows the market's public book on the feed, as anyone would (no login; only the
 *   market maker rests orders: the taker's never rest). **Quote gap** is the time the book showed
 *   fewer than 5 levels on a side once the ladder stood, in milliseconds per second of run, with how
 *   many times it happened: cancel-then-place opens a gap at every requote; an amend never should.
 *   (A taker that takes a whole level between two requotes would open one too: 1 lot a taker, 2 a
 *   level, one side every other taker, so it is rare.)
 *
 * The orders are signed before the clock starts (all ways alike): the figures are the keeper's and
 * the network's. Requote latency is from the first request sent to the last answer; submit latency
 * is one request's (a `POST /v1/orders` in `single`, the batch in `batch` and `feed`); taker latency
 * is each taker order's. Each round runs every way for `BENCH_MM_SECONDS` (10) each, in a rotating
 * order; the table gives the medians over `BENCH_MM_ROUNDS` (3) rounds of each round's p50, p99 and gap.
 *
 * Options (environment): BENCH_MM_ROUNDS, BENCH_MM_SECONDS, BENCH_MM_INTERVAL_MS, BENCH_MM_TAKER_RATE;
 * BENCH_MM_PROFILE=<dir> runs the keeper with `--cpu-prof` into that directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import WebSocket from "ws";
import {
  createKeeperClient,
  createKeeperFeed,
  IMMEDIATE_OR_CANCEL,
  KeeperApiError,
  POST_ONLY,
  signOrder,
  type ExchangeDomainParameters,
  type KeeperBatchAction,
  type Order,
  type SignedOrder,
} from "@crossbook/sdk";
import { fundTraders, median, percentile, rpc } from "./lib/bench";
import { readDeployment } from "./lib/market";
import { runHardhatScript, startHardhatNode, startLocalKeeper, stopAll } from "./lib/processes";

const ROUNDS = Number(process.env.BENCH_MM_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_MM_SECONDS ?? 10);
const INTERVAL_MS = Number(process.env.BENCH_MM_INTERVAL_MS ?? 200);
const TAKER_RATE = Number(process.env.BENCH_MM_TAKER_RATE ?? 3);
const PROFILE = process.env.BENCH_MM_PROFILE;
const LEVELS = 5;
const LOTS = 2n;

const MODES = ["single", "batch", "feed"] as const;
type Mode = (typeof MODES)[number];
const MODE_LABEL: Record<Mode, string> = {
  single: `cancel + ${LEVELS * 2} × POST /v1/orders`,
  batch: `1 × POST /v1/orders/batch (${LEVELS * 2} amends)`,
  feed: `1 × feed \`batch\` message (${LEVELS * 2} amends)`,
};

interface Sample {
  requote: number[];
  submit: number[];
  taker: number[];
  refused: Record<string, number>;
  /** Milliseconds the public book showed fewer than `LEVELS` levels on a side, once the ladder stood. */
  gapMs: number;
  /** How many times it went below. */
  gaps: number;
  /** Seconds the gap was watched. */
  watchedSeconds: number;
}

/**
 * Follows the public book's level counts: the time spent with fewer than `LEVELS` on a side, while
 * armed (from the first requote's answer to the end of a way's run).
 */
class GapWatch {
  private below = false;
  private since = 0;
  private armedAt: number | undefined;
  gapMs = 0;
  gaps = 0;

  /** A new book from the feed: its level counts, at `now`. */
  book(bids: number, asks: number, now = performance.now()): void {
    const below = bids < LEVELS || asks < LEVELS;
    if (below === this.below) return;
    if (this.armedAt !== undefined) {
      if (below) this.gaps++;
      else this.gapMs += now - Math.max(this.since, this.armedAt);
    }
    this.below = below;
    this.since = now;
  }

  arm(now = performance.now()): void {
    if (this.armedAt !== undefined) return;
    this.armedAt = now;
    this.gapMs = 0;
    this.gaps = 0;
  }

  /** Stops watching; resolves the gap under way, and the seconds watched. */
  disarm(now = performance.now()): number {
    if (this.armedAt === undefined) return 0;
    if (this.below) this.gapMs += now - Math.max(this.since, this.armedAt);
    const seconds = (now - this.armedAt) / 1000;
    this.armedAt = undefined;
    return seconds;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "bench-mm-"));
  try {
    const { url: nodeUrl } = await startHardhatNode();
    const deploymentPath = join(tmp, "deployment.json");
    await runHardhatScript("scripts/deploy.ts", nodeUrl, { CROSSBOOK_DEPLOYMENTS_PATH: deploymentPath });
    const deployment = readDeployment(deploymentPath);
    const keys = [generatePrivateKey(), generatePrivateKey()];
    await fundTraders(nodeUrl, deployment, keys);
    const { url } = await startLocalKeeper(deployment, {
      rpcUrl: nodeUrl,
      database: join(tmp, "keeper.db"),
      flags: ["--log-level", "warn"],
      ...(PROFILE === undefined ? {} : { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", PROFILE] }),
    });
    const domain: ExchangeDomainParameters = { chainId: deployment.chainId, verifyingContract: deployment.exchange };
    const market = deployment.markets[0] as (typeof deployment.markets)[number];
    const latest = (await rpc(nodeUrl, "eth_getBlockByNumber", ["latest", false])) as { timestamp: Hex };
    const expiry = BigInt(latest.timestamp) + 86_400n;
    const [mmAccount, takerAccount] = keys.map((k) => privateKeyToAccount(k)) as [PrivateKeyAccount, PrivateKeyAccount];
    const mm = createKeeperClient({ url, domain });
    const taker = createKeeperClient({ url, domain });
    await mm.login({ signer: mmAccount });
    const feed = createKeeperFeed({
      wsUrl: `${url.replace(/^http/, "ws")}/v1/ws`,
      WebSocket,
      domain,
      heartbeat: false,
    });
    const entry = await feed.orderEntry({ signer: mmAccount });
    // The public book, as an observer sees it on its own connection.
    const watch = new GapWatch();
    const observer = createKeeperFeed({ wsUrl: `${url.replace(/^http/, "ws")}/v1/ws`, WebSocket, heartbeat: false });
    observer.subscribeBook(market.id, { onBook: (book) => watch.book(book.bids.length, book.asks.length) });
    let nonce = 1n;
    const order = (
      account: PrivateKeyAccount,
      fields: Pick<Order, "isBuy" | "priceTicks" | "lots" | "flags">,
    ): Order => ({
      maker: account.address,
      marketId: market.id,
      maxFeeBps: 100n,
      expiry,
      nonce: nonce++,
      ...fields,
    });
    const sign = async (account: PrivateKeyAccount, o: Order): Promise<SignedOrder> => ({
      order: o,
      signature: await signOrder({ signer: account, order: o, domain }),
    });

    console.log(
      `bench:mm — ${ROUNDS} rounds × ${SECONDS} s per way, requote every ${INTERVAL_MS} ms, 2×${LEVELS} ladder, taker ${TAKER_RATE}/s`,
    );
    const results: Record<Mode, Sample[]> = { single: [], batch: [], feed: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const modes: Mode[] = MODES.map((_, i) => MODES[(i + round) % MODES.length] as Mode);
      for (const mode of modes) {
        const sample = await runMode(mode);
        results[mode].push(sample);
        console.log(
          `  round ${round + 1} ${mode.padEnd(6)} requotes ${sample.requote.length}: requote p50 ${percentile(sample.requote, 50).toFixed(1)} p99 ${percentile(sample.requote, 99).toFixed(1)} ms; quote gap ${gapPerSecond(sample).toFixed(1)} ms/s (${sample.gaps}×); submit p99 ${percentile(sample.submit, 99).toFixed(1)} ms; taker p99 ${percentile(sample.taker, 99).toFixed(1)} ms${fmt(sample.refused)}`,
        );
      }
    }

    const row = (mode: Mode) => {
      const of = (pick: (s: Sample) => number[], p: number) =>
        median(results[mode].map((s) => percentile(pick(s), p))).toFixed(1);
      const gap = median(results[mode].map(gapPerSecond)).toFixed(1);
      const gaps = median(results[mode].map((s) => s.gaps));
      return `| ${MODE_LABEL[mode]} | ${of((s) => s.requote, 50)} | ${of((s) => s.requote, 99)} | ${gap} (${gaps}×) | ${of((s) => s.submit, 50)} | ${of((s) => s.submit, 99)} | ${of((s) => s.taker, 50)} | ${of((s) => s.taker, 99)} |`;
    };
    console.log("\nmedians over rounds; milliseconds (quote gap: ms per second of run, and how many gaps a round)");
    console.log(
      "| requote by | requote p50 | requote p99 | quote gap | submit p50 | submit p99 | taker p50 | taker p99 |",
    );
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const mode of MODES) console.log(row(mode));
    const ratio = (mode: Mode, p: number) =>
      median(results.single.map((s) => percentile(s.requote, p))) /
      median(results[mode].map((s) => percentile(s.requote, p)));
    for (const mode of ["batch", "feed"] as const) {
      const gap = median(results[mode].map(gapPerSecond));
      console.log(
        `requote single / ${mode}: p50 ×${ratio(mode, 50).toFixed(1)}, p99 ×${ratio(mode, 99).toFixed(1)} (target ≥ ×5); quote gap ${gap.toFixed(1)} ms/s (target 0)`,
      );
    }
    feed.close();
    observer.close();

    /** Quotes for `seconds` in one way while the taker takes; returns the latencies. */
    async function runMode(mode: Mode): Promise<Sample> {
      const sample: Sample = { requote: [], submit: [], taker: [], refused: {}, gapMs: 0, gaps: 0, watchedSeconds: 0 };
      const refuse = (code: string) => (sample.refused[code] = (sample.refused[code] ?? 0) + 1);
      let mid = market.initialPriceTicks;
      let live: (Hex | undefined)[] = Array(LEVELS * 2).fill(undefined);
      const deadline = Date.now() + SECONDS * 1000;
      let running = true;
      const takerLoop = (async () => {
        let buy = true;
        while (running) {
          const next = Date.now() + 1000 / TAKER_RATE;
          const signed = await sign(
            takerAccount,
            order(takerAccount, {
              isBuy: buy,
              priceTicks: buy ? mid + 50n : mid - 50n,
              lots: 1n,
              flags: IMMEDIATE_OR_CANCEL,
            }),
          );
          buy = !buy;
          const t0 = performance.now();
          await taker.submitOrder(signed).catch((e: unknown) => refuse(codeOf(e)));
          sample.taker.push(performance.now() - t0);
          await sleep(Math.max(0, next - Date.now()));
        }
      })();
      while (Date.now() < deadline) {
        const next = Date.now() + INTERVAL_MS;
        const move = BigInt(Math.floor(Math.random() * 5) - 2);
        mid += move;
        const ladder = await Promise.all(
          Array.from({ length: LEVELS * 2 }, (_, i) => {
            const isBuy = i < LEVELS;
            const step = BigInt((i % LEVELS) + 1);
            return sign(
              mmAccount,
              order(mmAccount, { isBuy, priceTicks: isBuy ? mid - step : mid + step, lots: LOTS, flags: POST_ONLY }),
            );
          }),
        );
        const t0 = performance.now();
        if (mode === "single") {
          const old = live.filter((h): h is Hex => h !== undefined);
          if (old.length > 0) await mm.cancelOrders({ signer: mmAccount, orderHashes: old });
          live = await Promise.all(
            ladder.map(async (signed) => {
              const s0 = performance.now();
              try {
                return (await mm.submitOrder(signed)).hash;
              } catch (e) {
                refuse(codeOf(e));
                return undefined;
              } finally {
                sample.submit.push(performance.now() - s0);
              }
            }),
          );
        } else {
          // The side the mid moves away from first: its quotes leave the other side's new prices.
          const bids = ladder.map((_, i) => i).filter((i) => i < LEVELS);
          const asks = ladder.map((_, i) => i).filter((i) => i >= LEVELS);
          const order = move > 0n ? [...asks, ...bids] : [...bids, ...asks];
          const actions: KeeperBatchAction[] = order.map((i) => {
            const signed = ladder[i] as SignedOrder;
            const target = live[i];
            return target === undefined ? { place: signed } : { amend: { target: { hash: target }, ...signed } };
          });
          const answers = mode === "batch" ? await mm.submitOrders(actions) : await entry.batch(actions);
          sample.submit.push(performance.now() - t0);
          const updated = [...live];
          answers.forEach((a, k) => {
            const i = order[k] as number;
            if (a.ok) updated[i] = a.kind === "cancel" ? undefined : a.order.hash;
            else {
              refuse(a.code);
              // A refused amend leaves its target resting, unless the target was no longer open.
              if (a.code === "ORDER_NOT_OPEN") updated[i] = undefined;
            }
          });
          live = updated;
        }
        sample.requote.push(performance.now() - t0);
        // The ladder stands from the first requote's answer: the gap is watched from there.
        watch.arm();
        await sleep(Math.max(0, next - Date.now()));
      }
      running = false;
      sample.watchedSeconds = watch.disarm();
      sample.gapMs = watch.gapMs;
      sample.gaps = watch.gaps;
      await takerLoop;
      const rest = live.filter((h): h is Hex => h !== undefined);
      if (rest.length > 0) await mm.cancelOrders({ signer: mmAccount, orderHashes: rest }).catch(() => undefined);
      return sample;
    }
  } finally {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Milliseconds of quote gap per second watched. */
function gapPerSecond(s: Sample): number {
  return s.watchedSeconds > 0 ? s.gapMs / s.watchedSeconds : NaN;
}

function codeOf(e: unknown): string {
  return e instanceof KeeperApiError ? e.code : e instanceof Error ? e.name : "error";
}

function fmt(refused: Record<string, number>): string {
  const entries = Object.entries(refused);
  return entries.length === 0 ? "" : `; refused ${entries.map(([k, v]) => `${k}:${v}`).join(" ")}`;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
