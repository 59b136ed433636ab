/**
 * A taker on the keeper, built on the SDK: at `rate` orders per second it buys or sells at
 * random, 1..`maxLots` lots, priced `slippageTicks` through the best opposite level of the
 * keeper's book and inside the market's band (the pure `pickTakerOrder` of ./taking). A share
 * `iocShare` of the orders is immediate-or-cancel; the others are marketable limit orders whose
 * unfilled remainder rests and is soft-cancelled after `restMs`. The book and the later fills of
 * resting remainders come from the keeper's WebSocket feed (./feed.ts), not from polling. Every
 * result is counted (fills, refusals by the keeper's code) and, on abort, the bot soft-cancels
 * whatever of it still rests and resolves with its counters.
 */
import type { Hex } from "viem";
import { IMMEDIATE_OR_CANCEL, formatPriceTicks, getMinNonce, signOrder, type Order } from "@crossbook/sdk";
import {
  bestOf,
  chainNow,
  classifyError,
  connect,
  emptyStats,
  readBounds,
  shortAddress,
  sleep,
  snapshotStats,
  type BotStats,
  type ConnectOptions,
} from "./context";
import type { BotControl, BotEvent } from "./events";
import { rejectedSummary, waitUntilReady } from "./marketMaker";
import { OwnOrders, followOnFeed, type OwnOrder } from "./feed";
import { NonceSource, type Side } from "./quoting";
import { assertTakerConfig, pickTakerOrder, type TakerConfig } from "./taking";

/** The taker's options (defaults in brackets). */
export interface TakerOptions extends ConnectOptions {
  /** Orders per second [2]. */
  rate?: number | undefined;
  /** The share of orders sent IOC, 0..1 [0.5]. */
  iocShare?: number | undefined;
  /** Lots per order are drawn from 1 to this [5]. */
  maxLots?: bigint | undefined;
  /** Ticks through the best opposite level [5]. */
  slippageTicks?: bigint | undefined;
  /** A non-IOC order's resting remainder is soft-cancelled after this [2000 ms]. */
  restMs?: number | undefined;
  /** Orders expire this long after they are signed [60 s]. */
  orderTtlSeconds?: number | undefined;
  /** A seed for the random choices (reproducible runs) [Math.random]. */
  seed?: number | undefined;
  /** A label for log lines [`taker <market>`]. */
  name?: string | undefined;
  /** Where progress lines go [none]. */
  log?: ((line: string) => void) | undefined;
}

/** A taker order whose remainder rests, until it is soft-cancelled. */
interface Resting extends OwnOrder {
  cancelAt: number;
}

/**
 * Runs a taker until `control.signal` aborts; resolves with its counters once whatever of it
 * rests is soft-cancelled. Rejects only when it cannot start.
 *
 * @example
 * const stop = new AbortController();
 * const done = runTaker(
 *   { keeperUrl: "http://127.0.0.1:8080", rpcUrl: "http://127.0.0.1:8545", deployment: "deployments/localhost.json",
 *     market: "WETH/USDC", privateKey: process.env.TAKER_KEY as `0x${string}`, rate: 2, iocShare: 0.5, maxLots: 5n },
 *   { signal: stop.signal },
 * );
 */
export async function runTaker(options: TakerOptions, control: BotControl = {}): Promise<BotStats> {
  const rate = options.rate ?? 2;
  const config: TakerConfig = {
    iocShare: options.iocShare ?? 0.5,
    maxLots: options.maxLots ?? 5n,
    slippageTicks: options.slippageTicks ?? 5n,
  };
  assertTakerConfig(config);
  const restMs = options.restMs ?? 2_000;
  const orderTtlSeconds = options.orderTtlSeconds ?? 60;
  if (!(rate > 0 && rate <= 100))
    throw new RangeError(`rate must be above 0 and at most 100 orders per second, got ${rate}`);
  if (!(restMs >= 0)) throw new RangeError(`restMs must not be negative, got ${restMs}`);
  if (!Number.isInteger(orderTtlSeconds) || orderTtlSeconds < 1) {
    throw new RangeError(`orderTtlSeconds must be at least 1, got ${orderTtlSeconds}`);
  }
  const random = options.seed === undefined ? Math.random : seededRandom(options.seed);

  const c = connect(options);
  const { keeper, account, market, deployment, publicClient } = c;
  const signal = control.signal;
  const stats = emptyStats();
  const name = options.name ?? `taker ${market.name} ${shortAddress(account.address)}`;
  const log = (line: string) => options.log?.(`[${name}] ${line}`);
  const emit = (event: BotEvent) => control.onEvent?.(event, snapshotStats(stats));
  const price = (ticks: bigint) => formatPriceTicks({ priceTicks: ticks, market });

  await waitUntilReady(c, signal);
  const nonces = new NonceSource({
    minNonce: await getMinNonce(publicClient, { exchange: deployment.exchange, maker: account.address }),
    startAt: BigInt(Date.now()) * 1000n,
  });
  emit({ type: "started", account: account.address, market: market.name, firstNonce: nonces.current + 1n });
  log(
    `taking ${rate}/s, ${Math.round(config.iocShare * 100)}% IOC, up to ${config.maxLots} lots, slippage ${config.slippageTicks} ticks`,
  );

  // Fills of resting remainders, pushed by the feed (those at submission come with the answer).
  const resting = new OwnOrders<Resting>((hash, order, lots) => countFill(hash, order.side, order.priceTicks, lots));
  const feed = await followOnFeed(c, resting, log);
  const periodMs = 1000 / rate;
  let backoffMs = 0;
  while (!signal?.aborted) {
    const started = Date.now();
    let refused = false;
    let retryAfterMs = 0;
    try {
      await cancelDue(false);
      const best = feed.best ?? bestOf(await keeper.getBook(market.id, { depth: 1 })); // HTTP only while it resyncs
      const bounds = await readBounds(c);
      const pick = pickTakerOrder({ config, best, bounds, random });
      if ("skip" in pick) {
        stats.skipped++;
      } else {
        const side: Side = pick.isBuy ? "bid" : "ask";
        const order: Order = {
          maker: account.address,
          marketId: market.id,
          isBuy: pick.isBuy,
          flags: pick.ioc ? IMMEDIATE_OR_CANCEL : 0n,
          maxFeeBps: BigInt(market.takerFeeBps),
          expiry: (await chainNow(c)) + BigInt(orderTtlSeconds),
          nonce: nonces.next(),
          priceTicks: pick.priceTicks,
          lots: pick.lots,
        };
        const signature = await signOrder({ signer: account, order, domain: c.domain });
        stats.ordersSent++;
        const what = `${pick.isBuy ? "buy" : "sell"} ${pick.lots} @ ${price(pick.priceTicks)}${pick.ioc ? " IOC" : ""}`;
        try {
          const result = await keeper.submitOrder({ order, signature });
          stats.accepted++;
          emit({
            type: "accepted",
            hash: result.hash,
            side,
            priceTicks: pick.priceTicks,
            lots: pick.lots,
            ioc: pick.ioc,
            status: result.status,
            filledLots: result.filledLots,
          });
          for (const trade of result.trades) countFill(result.hash, side, trade.priceTicks, trade.lots);
          if (result.status === "open" || result.status === "partially-filled") {
            resting.track(result.hash, {
              side,
              priceTicks: pick.priceTicks,
              filledLots: result.filledLots,
              remainingLots: result.remainingLots,
              cancelAt: Date.now() + restMs,
            });
          }
          log(`${what} → ${result.status}, filled ${result.filledLots} in ${result.trades.length} trades`);
        } catch (error) {
          const failure = classifyError(error);
          if (!failure.refusal) throw error;
          stats.rejected[failure.code] = (stats.rejected[failure.code] ?? 0) + 1;
          emit({ type: "rejected", code: failure.code, message: failure.message });
          log(`${what} refused: ${failure.code} (${failure.message})`);
          refused = true;
          retryAfterMs = failure.retryAfterMs ?? 0;
        }
      }
    } catch (error) {
      const failure = classifyError(error);
      stats.errors++;
      emit({ type: "error", code: failure.code, message: failure.message });
      log(`${failure.code}: ${failure.message}`);
      refused = true;
    }
    backoffMs = refused ? Math.min(8_000, Math.max(backoffMs * 2, periodMs, retryAfterMs)) : 0;
    await sleep(Math.max(0, (backoffMs > 0 ? backoffMs : periodMs) - (Date.now() - started)), signal);
  }

  // ── Stop: whatever of ours rests is soft-cancelled ──
  feed.close();
  let cancelledAtStop = 0;
  try {
    await resting.readEnds(keeper, await cancelDue(true)); // their last fills, read once (the feed is closed)
    const cancelled = await keeper.cancelAll({ signer: account, marketId: market.id });
    stats.cancelsSent++;
    stats.cancelled += cancelled.length;
    cancelledAtStop = cancelled.length;
  } catch (error) {
    stats.errors++;
    log(`could not soft-cancel at stop: ${classifyError(error).message}`);
  }
  emit({ type: "stopped", cancelled: cancelledAtStop });
  log(
    `stopped: sent ${stats.ordersSent}, accepted ${stats.accepted}, fills ${stats.fills} (${stats.filledLots} lots), ` +
      `skipped ${stats.skipped} (empty book)${rejectedSummary(stats)}`,
  );
  return snapshotStats(stats);

  function countFill(hash: Hex, side: Side, priceTicks: bigint, lots: bigint): void {
    stats.fills++;
    stats.filledLots += lots;
    stats.inventoryLots += side === "bid" ? lots : -lots;
    emit({ type: "fill", hash, side, priceTicks, lots });
  }

  /** Soft-cancels the resting remainders that are due (all with `all`); returns their hashes. */
  async function cancelDue(all: boolean): Promise<Hex[]> {
    await resting.readEnds(keeper); // only orders the feed lost track of, if any
    const now = Date.now();
    const due = resting
      .open()
      .filter(([, r]) => all || r.cancelAt <= now)
      .map(([hash]) => hash);
    if (due.length === 0) return [];
    stats.cancelsSent++;
    const results = await keeper.cancelOrders({ signer: account, orderHashes: due });
    stats.cancelled += results.filter((r) => r.outcome === "cancelled").length;
    for (const hash of due) resting.get(hash)!.remainingLots = 0n; // later fills still arrive from the feed
    return due;
  }
}

/** A small seeded generator of numbers in [0, 1) (mulberry32), for reproducible runs. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
