/**
 * A market maker on the keeper, built on the SDK: a starting point for market makers.
 *
 * Once started it
 * 1. soft-cancels whatever it left live in the market on an earlier run, sets its own window
 *    limit (`setWindowLimit`) and its cancel-after deadline (`setCancelAfter`) on-chain;
 * 2. follows the keeper's WebSocket feed (./feed.ts): the market's book and its own orders' fills
 *    and ends, pushed as they happen, so that it polls the keeper for neither;
 * 3. every `intervalMs`: reads the reference price (the market's price feed on-chain, or the
 *    book's mid) and the band, and — when the reference moved more than `requoteBps` from the one
 *    its ladder was built around —
 *    moves the ladder there; then brings the live orders in line with the ladder (the pure
 *    `desiredLadder` — the SDK's `buildLadder` around an inventory-skewed centre — and `planQuotes`
 *    of ./quoting): signed soft cancels for orders it no longer
 *    wants, new post-only orders, each with a fresh nonce (nonces strictly increase);
 * 4. renews its cancel-after deadline every third of `cancelAfterSeconds` with the SDK's `Heartbeat`
 *    (if the bot dies, none of its orders fill after the deadline), sooner when the chain's clock
 *    (the SDK's `ChainClock`, fed by `chainNow`) runs ahead; a renewal that fails or comes late is
 *    counted and logged;
 * 5. counts every refusal by the keeper's code and backs off (doubling, up to 8 s; `Retry-After`
 *    when rate-limited);
 * 6. on abort: soft-cancels all its orders in the market (`cancelAll`), optionally turns
 *    cancel-after off, and resolves with its counters.
 */
import type { Hex } from "viem";
import {
  Heartbeat,
  POST_ONLY,
  getCancelAfter,
  getMinNonce,
  getWindowLimit,
  setCancelAfter,
  setWindowLimit,
  signOrder,
  formatPriceTicks,
  type Order,
} from "@crossbook/sdk";
import {
  bestOf,
  chainNow,
  classifyError,
  connect,
  emptyStats,
  readBounds,
  readFeedTicks,
  shortAddress,
  sleep,
  snapshotStats,
  type BotConnection,
  type BotStats,
  type ConnectOptions,
} from "./context";
import type { BotControl, BotEvent } from "./events";
import { OwnOrders, followOnFeed, type OwnOrder } from "./feed";
import {
  NonceSource,
  assertLadderConfig,
  bookMid,
  desiredLadder,
  needsRequote,
  planQuotes,
  withoutCrossing,
  type LadderConfig,
  type LiveQuote,
  type Quote,
} from "./quoting";

/** The market maker's options (defaults in brackets). */
export interface MarketMakerOptions extends ConnectOptions {
  /** Orders per side [5]. */
  levels?: number | undefined;
  /** Distance of the first level from the reference, in bps [10]. */
  spreadBps?: number | undefined;
  /** Distance between levels, in bps [10]. */
  spacingBps?: number | undefined;
  /** Lots per order [10]. */
  lotsPerLevel?: bigint | undefined;
  /** Move the ladder when the reference moved more than this, in bps [5]. */
  requoteBps?: number | undefined;
  /** Time between rounds [1000 ms]. */
  intervalMs?: number | undefined;
  /** The cancel-after deadline is kept this far ahead, renewed every third of it [60 s]; 0: switch off. */
  cancelAfterSeconds?: number | undefined;
  /**
   * The self-limit set at start: at most `maxLots` filled per `windowSeconds` in this market
   * [100 × levels × lotsPerLevel per 60 s]; `null`: leave the account's limit as it is.
   */
  windowLimit?: { maxLots: bigint; windowSeconds: number } | null | undefined;
  /** Each order expires this long after it is signed [600 s]. */
  orderTtlSeconds?: number | undefined;
  /** Where the reference price comes from ["feed"]; "book" falls back to the feed on an empty book. */
  reference?: "feed" | "book" | undefined;
  /** Inventory skew in bps per lot held [0]. */
  skewBpsPerLot?: number | undefined;
  /** The largest skew in bps [none]. */
  maxSkewBps?: number | undefined;
  /** Stop adding to an inventory this large, in lots [0n: no limit]. */
  maxInventoryLots?: bigint | undefined;
  /** On stop, turn the cancel-after switch off too [false: the deadline simply runs out]. */
  cancelAfterOffOnExit?: boolean | undefined;
  /** A label for log lines [`mm <market>`]. */
  name?: string | undefined;
  /** Where progress lines go [none]. */
  log?: ((line: string) => void) | undefined;
}

/** What the bot knows of one of its orders. */
interface Tracked extends OwnOrder {
  lots: bigint;
}

const MAX_BACKOFF_MS = 8_000;

/**
 * Runs a market maker until `control.signal` aborts; resolves with its counters once its orders
 * are soft-cancelled. Rejects only when it cannot start (bad options, keeper or chain unreachable,
 * the start-up transactions failing).
 *
 * @example
 * const stop = new AbortController();
 * const done = runMarketMaker(
 *   { keeperUrl: "http://127.0.0.1:8080", rpcUrl: "http://127.0.0.1:8545", deployment: "deployments/localhost.json",
 *     market: "WETH/USDC", privateKey: process.env.MM_KEY as `0x${string}` },
 *   { signal: stop.signal, onEvent: (event, stats) => console.log(event.type, stats.accepted) },
 * );
 * setTimeout(() => stop.abort(), 60_000);
 * console.log(await done);
 */
export async function runMarketMaker(options: MarketMakerOptions, control: BotControl = {}): Promise<BotStats> {
  const levels = options.levels ?? 5;
  const lotsPerLevel = options.lotsPerLevel ?? 10n;
  const ladder: LadderConfig = {
    levels,
    spreadBps: options.spreadBps ?? 10,
    spacingBps: options.spacingBps ?? 10,
    lotsPerLevel,
    skewBpsPerLot: options.skewBpsPerLot ?? 0,
    maxSkewBps: options.maxSkewBps,
    maxInventoryLots: options.maxInventoryLots ?? 0n,
  };
  assertLadderConfig(ladder);
  const requoteBps = options.requoteBps ?? 5;
  const intervalMs = options.intervalMs ?? 1_000;
  const cancelAfterSeconds = options.cancelAfterSeconds ?? 60;
  const orderTtlSeconds = options.orderTtlSeconds ?? 600;
  const windowLimit =
    options.windowLimit === undefined
      ? { maxLots: 100n * BigInt(levels) * lotsPerLevel, windowSeconds: 60 }
      : options.windowLimit;
  checkOptions({ requoteBps, intervalMs, cancelAfterSeconds, orderTtlSeconds, windowLimit });

  const c = connect(options);
  const { keeper, account, market, deployment, publicClient, walletClient } = c;
  const exchange = deployment.exchange;
  const signal = control.signal;
  const stats = emptyStats();
  const name = options.name ?? `mm ${market.name} ${shortAddress(account.address)}`;
  const log = (line: string) => options.log?.(`[${name}] ${line}`);
  const emit = (event: BotEvent) => control.onEvent?.(event, snapshotStats(stats));
  const price = (ticks: bigint) => formatPriceTicks({ priceTicks: ticks, market });

  // ── Start-up: a clean slate, self-limits, heartbeat ──
  await waitUntilReady(c, signal);
  const leftovers = await keeper.cancelAll({ signer: account, marketId: market.id });
  if (leftovers.length > 0) log(`soft-cancelled ${leftovers.length} orders left from an earlier run`);
  if (windowLimit !== null) {
    const current = await getWindowLimit(publicClient, { exchange, account: account.address, marketId: market.id });
    const wanted = BigInt(windowLimit.windowSeconds);
    // A change still waiting for its delay counts as set: setting it again would restart the wait.
    const waiting = current.pendingEffectiveAt !== 0n;
    const maxLots = waiting ? current.pendingMaxLots : current.maxLots;
    const windowSeconds = waiting ? current.pendingWindowSeconds : current.windowSeconds;
    if (maxLots !== windowLimit.maxLots || windowSeconds !== wanted) {
      await mined(
        c,
        setWindowLimit(walletClient, {
          exchange,
          marketId: market.id,
          maxLots: windowLimit.maxLots,
          windowSeconds: wanted,
        }),
      );
    }
    log(`window limit ${windowLimit.maxLots} lots per ${windowLimit.windowSeconds} s`);
  }
  // The cancel-after deadline, kept `cancelAfterSeconds` ahead by the SDK's Heartbeat.
  let renewAtChainTime = 0n;
  let renewalError: unknown;
  const heartbeat =
    cancelAfterSeconds > 0
      ? new Heartbeat({
          intervalMs: (cancelAfterSeconds * 1000) / 3,
          renew: renewCancelAfter,
          onMiss: (miss) => {
            const failure = classifyError(
              miss.error ?? new Error(`renewed ${miss.sinceLastRenewMs} ms after the last`),
            );
            stats.errors++;
            emit({ type: "error", code: failure.code, message: `heartbeat ${miss.reason}: ${failure.message}` });
            log(`heartbeat ${miss.reason} (${miss.consecutive} in a row): ${failure.message}`);
          },
        })
      : undefined;
  if (heartbeat !== undefined) {
    heartbeat.start(); // renews now …
    if (!(await heartbeat.beat())) {
      // … and the bot quotes only once its deadline is set.
      heartbeat.stop();
      throw new Error("The cancel-after deadline could not be set at start", { cause: renewalError });
    }
  } else if ((await getCancelAfter(publicClient, { exchange, account: account.address })) !== 0n) {
    await mined(c, setCancelAfter(walletClient, { exchange, deadline: 0n })); // an old deadline would stop fills
  }
  const nonces = new NonceSource({
    minNonce: await getMinNonce(publicClient, { exchange, maker: account.address }),
    startAt: BigInt(Date.now()) * 1000n,
  });
  // ── The feed: the book, and our orders' fills and ends, pushed ──
  const orders = new OwnOrders<Tracked>((hash, tracked, lots) => {
    stats.fills++;
    stats.filledLots += lots;
    stats.inventoryLots += tracked.side === "bid" ? lots : -lots;
    emit({ type: "fill", hash, side: tracked.side, priceTicks: tracked.priceTicks, lots });
  });
  const feed = await followOnFeed(c, orders, log);

  emit({ type: "started", account: account.address, market: market.name, firstNonce: nonces.current + 1n });
  log(
    `quoting ${levels}×${lotsPerLevel} lots a side, spread ${ladder.spreadBps} bps, spacing ${ladder.spacingBps} bps, ` +
      `requote past ${requoteBps} bps, cancel-after ${cancelAfterSeconds > 0 ? `${cancelAfterSeconds} s` : "off"}`,
  );

  // ── The rounds ──
  let anchor: bigint | undefined; // the reference the ladder is built around
  let backoffMs = 0;
  let warnedNoBand = false;
  while (!signal?.aborted) {
    let refused = false;
    let retryAfterMs = 0;
    try {
      // A chain whose clock runs fast (a local node mining many blocks) must not outrun the deadline.
      if (heartbeat !== undefined && (await chainNow(c)) >= renewAtChainTime) await heartbeat.beat();
      const referenceTicks = await reference();
      const bounds = await readBounds(c);
      if (bounds === undefined) {
        if (!warnedNoBand) log("the market has no usable reference price (stale feed?): not quoting");
        warnedNoBand = true;
      } else {
        warnedNoBand = false;
        await orders.readEnds(keeper); // only orders the feed lost track of, if any
        const requoted = needsRequote({ quotedReference: anchor, referenceTicks, thresholdBps: requoteBps });
        if (requoted) {
          anchor = referenceTicks;
          stats.requotes++;
        }
        const desired = desiredLadder({
          referenceTicks: anchor ?? referenceTicks,
          inventoryLots: stats.inventoryLots,
          config: ladder,
          bounds,
        });
        const plan = planQuotes(desired, live());
        let cancelled = 0;
        if (plan.cancel.length > 0) cancelled = await cancel(plan.cancel);
        let placed = 0;
        if (plan.place.length > 0) {
          const placeable = withoutCrossing(plan.place, await best());
          const expiry = (await chainNow(c)) + BigInt(orderTtlSeconds);
          for (const quote of placeable) {
            if (signal?.aborted) break;
            const outcome = await place(quote, expiry);
            if (outcome === "accepted") placed++;
            else if (outcome !== "crossed") {
              refused = true;
              if (typeof outcome === "number") retryAfterMs = outcome;
              break; // balance, limits, rate: the rest of the ladder would be refused too
            }
          }
        }
        if (placed > 0 || cancelled > 0) {
          const counts = liveCounts();
          emit({ type: "quoted", referenceTicks, requoted, placed, cancelled, ...counts });
          log(
            `ref ${price(referenceTicks)}${requoted ? " (requote)" : ""}: placed ${placed}, cancelled ${cancelled}, ` +
              `live ${counts.liveBids} bids/${counts.liveAsks} asks | fills ${stats.fills} (${stats.filledLots} lots), ` +
              `inventory ${stats.inventoryLots} lots${rejectedSummary(stats)}`,
          );
        }
      }
    } catch (error) {
      const failure = classifyError(error);
      if (failure.refusal) {
        stats.rejected[failure.code] = (stats.rejected[failure.code] ?? 0) + 1;
        emit({ type: "rejected", code: failure.code, message: failure.message });
        retryAfterMs = failure.retryAfterMs ?? 0;
      } else {
        stats.errors++;
        emit({ type: "error", code: failure.code, message: failure.message });
      }
      log(`${failure.code}: ${failure.message}`);
      refused = true;
    }
    backoffMs = refused ? Math.min(MAX_BACKOFF_MS, Math.max(backoffMs * 2, intervalMs, retryAfterMs)) : 0;
    await sleep(backoffMs > 0 ? backoffMs : intervalMs, signal);
  }

  // ── Stop: nothing of ours stays live on the keeper ──
  heartbeat?.stop();
  feed.close();
  let cancelledAtStop = 0;
  try {
    const cancelled = await keeper.cancelAll({ signer: account, marketId: market.id });
    cancelledAtStop = cancelled.length;
    stats.cancelsSent++;
    stats.cancelled += cancelled.length;
  } catch (error) {
    stats.errors++;
    log(`could not soft-cancel at stop: ${classifyError(error).message}`);
  }
  if (options.cancelAfterOffOnExit === true && cancelAfterSeconds > 0) {
    try {
      await mined(c, setCancelAfter(walletClient, { exchange, deadline: 0n }));
    } catch (error) {
      stats.errors++;
      log(`could not turn cancel-after off: ${classifyError(error).message}`);
    }
  }
  emit({ type: "stopped", cancelled: cancelledAtStop });
  log(
    `stopped: sent ${stats.ordersSent}, accepted ${stats.accepted}, fills ${stats.fills} (${stats.filledLots} lots), ` +
      `requotes ${stats.requotes}, heartbeats ${stats.heartbeats}, soft-cancelled ${cancelledAtStop} at stop${rejectedSummary(stats)}`,
  );
  return snapshotStats(stats);

  // ── Steps ──

  async function renewCancelAfter(): Promise<void> {
    try {
      const deadline = (await chainNow(c)) + BigInt(cancelAfterSeconds);
      await mined(c, setCancelAfter(walletClient, { exchange, deadline }));
      stats.heartbeats++;
      // Renewed by the Heartbeat after a third of the period, or sooner once the chain's time has
      // run a third of the way to the deadline.
      renewAtChainTime = deadline - (BigInt(cancelAfterSeconds) * 2n) / 3n;
      emit({ type: "heartbeat", deadline });
    } catch (error) {
      renewalError = error;
      throw error;
    }
  }

  async function reference(): Promise<bigint> {
    if (options.reference === "book") {
      const mid = bookMid(await best());
      if (mid !== undefined) return mid;
    }
    return readFeedTicks(c);
  }

  /** The best prices from the feed; from the HTTP API only while the feed resyncs. */
  async function best() {
    return feed.best ?? bestOf(await keeper.getBook(market.id, { depth: 1 }));
  }

  function live(): LiveQuote[] {
    return orders.open().map(([hash, o]) => ({
      hash,
      side: o.side,
      priceTicks: o.priceTicks,
      lots: o.lots,
      remainingLots: o.remainingLots,
    }));
  }

  function liveCounts(): { liveBids: number; liveAsks: number } {
    const quotes = live();
    return {
      liveBids: quotes.filter((q) => q.side === "bid").length,
      liveAsks: quotes.filter((q) => q.side === "ask").length,
    };
  }

  /** Soft-cancels `hashes` (100 per request); returns how many the keeper cancelled. */
  async function cancel(hashes: readonly Hex[]): Promise<number> {
    let cancelled = 0;
    for (let i = 0; i < hashes.length; i += 100) {
      const chunk = hashes.slice(i, i + 100);
      stats.cancelsSent++;
      const results = await keeper.cancelOrders({ signer: account, orderHashes: chunk });
      for (const result of results) {
        if (result.outcome === "cancelled") cancelled++;
        const tracked = orders.get(result.hash);
        if (tracked !== undefined) tracked.remainingLots = 0n; // gone from the book either way; a later fill still arrives from the feed
      }
    }
    stats.cancelled += cancelled;
    return cancelled;
  }

  /**
   * Signs and submits one quote. Returns "accepted", "crossed" (post-only refused: the book moved),
   * a number (rate-limited: wait that many ms) or "refused".
   */
  async function place(quote: Quote, expiry: bigint): Promise<"accepted" | "crossed" | "refused" | number> {
    const order: Order = {
      maker: account.address,
      marketId: market.id,
      isBuy: quote.side === "bid",
      flags: POST_ONLY,
      maxFeeBps: BigInt(market.makerFeeBps),
      expiry,
      nonce: nonces.next(),
      priceTicks: quote.priceTicks,
      lots: quote.lots,
    };
    const signature = await signOrder({ signer: account, order, domain: c.domain });
    stats.ordersSent++;
    try {
      const result = await keeper.submitOrder({ order, signature });
      stats.accepted++;
      orders.track(result.hash, {
        side: quote.side,
        priceTicks: quote.priceTicks,
        lots: quote.lots,
        filledLots: 0n,
        remainingLots: result.status === "open" || result.status === "partially-filled" ? result.remainingLots : 0n,
      });
      emit({
        type: "accepted",
        hash: result.hash,
        side: quote.side,
        priceTicks: quote.priceTicks,
        lots: quote.lots,
        ioc: false,
        status: result.status,
        filledLots: result.filledLots,
      });
      return "accepted";
    } catch (error) {
      const failure = classifyError(error);
      if (!failure.refusal) throw error;
      stats.rejected[failure.code] = (stats.rejected[failure.code] ?? 0) + 1;
      emit({ type: "rejected", code: failure.code, message: failure.message });
      log(`${quote.side} ${price(quote.priceTicks)} refused: ${failure.code}`);
      if (failure.code === "POST_ONLY_WOULD_CROSS") return "crossed";
      if (failure.code === "RATE_LIMITED") return failure.retryAfterMs ?? 1_000;
      return "refused";
    }
  }
}

/**
 * Resolves once the keeper answers `/v1/ready` (retrying for up to 30 s) and the bot is logged in
 * (its per-account reads need its session), or throws why it did not.
 */
export async function waitUntilReady(c: BotConnection, signal: AbortSignal | undefined, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await c.keeper.ready();
      await c.keeper.getMarket(c.market.id); // MARKET_NOT_SERVED if this keeper does not serve it
      await c.keeper.login({ signer: c.account }); // the bot's own orders are read with its session
      return;
    } catch (error) {
      const failure = classifyError(error);
      if (failure.code === "MARKET_NOT_SERVED" || Date.now() >= until || signal?.aborted) {
        throw new Error(`The keeper at ${c.keeper.url} is not ready for ${c.market.name}: ${failure.message}`, {
          cause: error,
        });
      }
      await sleep(250, signal);
    }
  }
}

/** Waits for a transaction; throws when it reverted. */
export async function mined(c: BotConnection, sent: Promise<Hex>): Promise<void> {
  const receipt = await c.publicClient.waitForTransactionReceipt({ hash: await sent });
  if (receipt.status !== "success") throw new Error(`Transaction ${receipt.transactionHash} reverted`);
}

/** ` | rejected CODE×n, …` or nothing. */
export function rejectedSummary(stats: BotStats): string {
  const entries = Object.entries(stats.rejected);
  return entries.length === 0 ? "" : ` | rejected ${entries.map(([code, n]) => `${code}×${n}`).join(", ")}`;
}

function checkOptions(o: {
  requoteBps: number;
  intervalMs: number;
  cancelAfterSeconds: number;
  orderTtlSeconds: number;
  windowLimit: { maxLots: bigint; windowSeconds: number } | null;
}): void {
  const problems: string[] = [];
  if (!Number.isInteger(o.requoteBps) || o.requoteBps < 0) problems.push(`requoteBps must be ≥ 0, got ${o.requoteBps}`);
  if (!(o.intervalMs >= 10)) problems.push(`intervalMs must be at least 10, got ${o.intervalMs}`);
  if (
    !Number.isInteger(o.cancelAfterSeconds) ||
    o.cancelAfterSeconds < 0 ||
    (o.cancelAfterSeconds > 0 && o.cancelAfterSeconds < 3)
  ) {
    problems.push(`cancelAfterSeconds must be 0 (off) or at least 3, got ${o.cancelAfterSeconds}`);
  }
  if (!Number.isInteger(o.orderTtlSeconds) || o.orderTtlSeconds < 1) {
    problems.push(`orderTtlSeconds must be at least 1, got ${o.orderTtlSeconds}`);
  }
  if (o.windowLimit !== null) {
    const { maxLots, windowSeconds } = o.windowLimit;
    if (maxLots < 1n || maxLots >= 1n << 48n)
      problems.push(`the window limit's lots must be from 1 to 2^48-1, got ${maxLots}`);
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds >= 1 << 24) {
      problems.push(`the window must be from 1 to 2^24-1 seconds, got ${windowSeconds}`);
    }
  }
  if (problems.length > 0) throw new RangeError(`Bad market maker options: ${problems.join("; ")}`);
}
