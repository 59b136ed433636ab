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
 * - a market maker quotes a ladder of 3 bids and 3 asks (post-only, 1 tick apart, 2 lots each)
 *   around a mid that moves by a tick or two at each requote, every `BENCH_MM_INTERVAL_MS` (200):
 *   - `single` (today's way): a signed `CancelOrders` of the six, then six `POST /v1/orders` sent
 *     together (the keeper takes them one at a time for the account);
 *   - `batch`: one `POST /v1/orders/batch` of six amends (an order the taker filled is placed anew);
 *   - `feed`: the same batch of six amends as one `batch` message on the logged-in WebSocket feed
 *     (`feed.orderEntry`), answered on the same socket.
 *
 * The orders are signed before the clock starts (both ways alike): the figures are the keeper's
 * and the network's. Requote latency is from the first request sent to the last answer; submit
 * latency is one request's (a `POST /v1/orders` in `single`, the batch in `batch` and `feed`); taker
 * latency is each taker order's. Each round runs every way for `BENCH_MM_SECONDS` (10) each, in a
 * rotating order; the table gives the medians over `BENCH_MM_ROUNDS` (3) rounds of each round's p50 and p99.
 *
 * Options (environment): BENCH_MM_ROUNDS, BENCH_MM_SECONDS, BENCH_MM_INTERVAL_MS, BENCH_MM_TAKER_RATE.
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
const LEVELS = 3;
const LOTS = 2n;

const MODES = ["single", "batch", "feed"] as const;
type Mode = (typeof MODES)[number];
const MODE_LABEL: Record<Mode, string> = {
  single: "cancel + 6 × POST /v1/orders",
  batch: "1 × POST /v1/orders/batch (6 amends)",
  feed: "1 × feed `batch` message (6 amends)",
};

interface Sample {
  requote: number[];
  submit: number[];
  taker: number[];
  refused: Record<string, number>;
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
      `bench:mm — ${ROUNDS} rounds × ${SECONDS} s per way, requote every ${INTERVAL_MS} ms, ${LEVELS}×2 ladder, taker ${TAKER_RATE}/s`,
    );
    const results: Record<Mode, Sample[]> = { single: [], batch: [], feed: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const modes: Mode[] = MODES.map((_, i) => MODES[(i + round) % MODES.length] as Mode);
      for (const mode of modes) {
        const sample = await runMode(mode);
        results[mode].push(sample);
        console.log(
          `  round ${round + 1} ${mode.padEnd(6)} requotes ${sample.requote.length}: requote p50 ${percentile(sample.requote, 50).toFixed(1)} p99 ${percentile(sample.requote, 99).toFixed(1)} ms; taker p99 ${percentile(sample.taker, 99).toFixed(1)} ms${fmt(sample.refused)}`,
        );
      }
    }

    const row = (mode: Mode) => {
      const of = (pick: (s: Sample) => number[], p: number) =>
        median(results[mode].map((s) => percentile(pick(s), p))).toFixed(1);
      return `| ${MODE_LABEL[mode]} | ${of((s) => s.requote, 50)} | ${of((s) => s.requote, 99)} | ${of((s) => s.submit, 50)} | ${of((s) => s.submit, 99)} | ${of((s) => s.taker, 50)} | ${of((s) => s.taker, 99)} |`;
    };
    console.log("\nmedians over rounds, milliseconds");
    console.log("| requote by | requote p50 | requote p99 | submit p50 | submit p99 | taker p50 | taker p99 |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const mode of MODES) console.log(row(mode));
    const ratio = (mode: Mode, p: number) =>
      median(results.single.map((s) => percentile(s.requote, p))) /
      median(results[mode].map((s) => percentile(s.requote, p)));
    for (const mode of ["batch", "feed"] as const) {
      console.log(`requote single / ${mode}: p50 ×${ratio(mode, 50).toFixed(1)}, p99 ×${ratio(mode, 99).toFixed(1)}`);
    }
    feed.close();

    /** Quotes for `seconds` in one way while the taker takes; returns the latencies. */
    async function runMode(mode: Mode): Promise<Sample> {
      const sample: Sample = { requote: [], submit: [], taker: [], refused: {} };
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
        mid += BigInt(Math.floor(Math.random() * 5) - 2);
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
          const actions: KeeperBatchAction[] = ladder.map((signed, i) => {
            const target = live[i];
            return target === undefined ? { place: signed } : { amend: { target: { hash: target }, ...signed } };
          });
          const answers = mode === "batch" ? await mm.submitOrders(actions) : await entry.batch(actions);
          sample.submit.push(performance.now() - t0);
          live = answers.map((a, i) => {
            if (a.ok) return a.kind === "cancel" ? undefined : a.order.hash;
            refuse(a.code);
            // A refused amend leaves its target resting, unless the target was no longer open.
            return a.code === "ORDER_NOT_OPEN" ? undefined : live[i];
          });
        }
        sample.requote.push(performance.now() - t0);
        await sleep(Math.max(0, next - Date.now()));
      }
      running = false;
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
