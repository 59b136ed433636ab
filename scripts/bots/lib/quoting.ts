/**
 * The market maker's decisions as pure functions: no I/O, no clock, no randomness, so that each is
 * unit-tested on its own (test/bots/quoting.test.ts).
 *
 * - `desiredLadder`: from a reference price, the maker's inventory and its config, the post-only
 *   ladder it wants: `levels` bids strictly below the reference and `levels` asks strictly above
 *   it, on the tick grid (whole ticks), each `lotsPerLevel` lots, inside the market's price band.
 * - `needsRequote`: whether the reference moved further than the threshold from the price the
 *   live ladder was quoted around.
 * - `planQuotes`: desired ladder vs live orders → which orders to cancel and which to place.
 * - `withoutCrossing`: drops quotes that the book's opposite side would make take (post-only
 *   would be refused).
 * - `NonceSource`: nonces that strictly increase, starting above the chain's floor and above
 *   anything an earlier run of the bot could have used.
 *
 * Prices are `bigint` ticks per lot, sizes `bigint` lots, basis points plain integers. The ladder
 * itself is the SDK's `buildLadder` (its quoting toolkit); this file adds the bot's policy around it.
 */
import { buildLadder, type LadderQuote } from "@crossbook/sdk";

/** A side of the book. */
export type Side = "bid" | "ask";

/** One order the maker wants resting. `level` 0 is nearest the reference. */
export interface Quote {
  readonly side: Side;
  readonly level: number;
  readonly priceTicks: bigint;
  readonly lots: bigint;
}

/** How the ladder is shaped. */
export interface LadderConfig {
  /** Orders per side (≥ 1). */
  readonly levels: number;
  /** Distance of the first level from the (skewed) centre, in basis points (≥ 0). */
  readonly spreadBps: number;
  /** Distance between consecutive levels, in basis points (≥ 0; at least one tick apart anyway). */
  readonly spacingBps: number;
  /** Lots per order (≥ 1). */
  readonly lotsPerLevel: bigint;
  /**
   * Inventory skew: the centre moves by this many basis points per lot held, against the
   * inventory (long → quotes lower, to sell it). 0: no skew.
   */
  readonly skewBpsPerLot?: number | undefined;
  /** The largest skew, in basis points (default: unlimited, but quotes never cross the reference). */
  readonly maxSkewBps?: number | undefined;
  /** At this inventory (in lots, long or short) the side that would add to it stops quoting. 0n: no limit. */
  readonly maxInventoryLots?: bigint | undefined;
}

/** The prices a fill may have now (the market's band around its feed), in ticks. */
export interface PriceBounds {
  readonly minPriceTicks: bigint;
  readonly maxPriceTicks: bigint;
}

/** The parameters of `desiredLadder`. */
export interface DesiredLadderParameters {
  /** The reference price in ticks per lot (> 0). */
  readonly referenceTicks: bigint;
  /** Lots bought minus lots sold so far (positive: long the base token). */
  readonly inventoryLots: bigint;
  readonly config: LadderConfig;
  /** The band; quotes outside it are left out (they could never fill). */
  readonly bounds?: PriceBounds | undefined;
}

const BPS = 10_000n;

/**
 * The ladder the maker wants around `referenceTicks`: bids best (highest) first, then asks best
 * (lowest) first. Every bid is strictly below the reference and every ask strictly above it,
 * whatever the skew, so a post-only ladder never crosses its own reference; levels of a side are
 * at least one tick apart; bids round down and asks round up (away from the reference).
 */
export function desiredLadder({ referenceTicks, inventoryLots, config, bounds }: DesiredLadderParameters): Quote[] {
  assertLadderConfig(config);
  if (referenceTicks <= 0n) throw new RangeError(`The reference price must be positive, got ${referenceTicks} ticks`);
  const skewBps = inventorySkewBps(inventoryLots, config);
  // The centre, moved against the inventory (in bps of the reference, rounded toward the reference);
  // the SDK's ladder around it, kept strictly off the reference itself on both sides.
  const centre = (referenceTicks * (BPS + skewBps)) / BPS;
  const ladder = buildLadder({
    midTicks: centre < 1n ? 1n : centre, // a 1-tick reference skewed down to nothing
    levels: config.levels,
    firstBps: config.spreadBps,
    stepBps: config.spacingBps,
    lots: config.lotsPerLevel,
    bidsBelowTicks: referenceTicks,
    asksAboveTicks: referenceTicks,
  });
  const maxInventory = config.maxInventoryLots ?? 0n;
  const quoteBids = maxInventory === 0n || inventoryLots < maxInventory;
  const quoteAsks = maxInventory === 0n || inventoryLots > -maxInventory;
  const minPrice = bounds === undefined || bounds.minPriceTicks < 1n ? 1n : bounds.minPriceTicks;
  const maxPrice = bounds?.maxPriceTicks;
  const inBand = (q: LadderQuote) => q.priceTicks >= minPrice && (maxPrice === undefined || q.priceTicks <= maxPrice);
  const bids = quoteBids ? ladder.bids.filter(inBand).map((q): Quote => ({ side: "bid", ...q })) : [];
  const asks = quoteAsks ? ladder.asks.filter(inBand).map((q): Quote => ({ side: "ask", ...q })) : [];
  return [...bids, ...asks];
}

/** The skew in basis points for an inventory: against it, capped by `maxSkewBps`. */
export function inventorySkewBps(inventoryLots: bigint, config: LadderConfig): bigint {
  const perLot = BigInt(config.skewBpsPerLot ?? 0);
  let skew = -inventoryLots * perLot;
  if (config.maxSkewBps !== undefined) {
    const cap = BigInt(config.maxSkewBps);
    if (skew > cap) skew = cap;
    if (skew < -cap) skew = -cap;
  }
  // Never let the centre reach zero or flip sign.
  if (skew <= -BPS) skew = -BPS + 1n;
  return skew;
}

/**
 * Whether to quote a new ladder: always when nothing was quoted yet (`quotedReference`
 * undefined), otherwise when the reference moved strictly more than `thresholdBps` basis points
 * from the one the live ladder was built around.
 */
export function needsRequote(parameters: {
  readonly quotedReference: bigint | undefined;
  readonly referenceTicks: bigint;
  readonly thresholdBps: number;
}): boolean {
  const { quotedReference, referenceTicks, thresholdBps } = parameters;
  if (quotedReference === undefined || quotedReference <= 0n) return true;
  const moved = referenceTicks > quotedReference ? referenceTicks - quotedReference : quotedReference - referenceTicks;
  return moved * BPS > BigInt(thresholdBps) * quotedReference;
}

/** One of the maker's live orders, as far as the bot knows. */
export interface LiveQuote {
  readonly hash: `0x${string}`;
  readonly side: Side;
  readonly priceTicks: bigint;
  /** The order's size. */
  readonly lots: bigint;
  /** What is left of it. */
  readonly remainingLots: bigint;
}

/** What `planQuotes` decides. */
export interface QuotePlan {
  /** Live orders no desired quote keeps. */
  readonly cancel: `0x${string}`[];
  /** Desired quotes no live order covers. */
  readonly place: Quote[];
  /** Live orders kept as they are. */
  readonly keep: `0x${string}`[];
}

/**
 * Desired ladder vs live orders. A live order is kept when it is on the side and at the price of
 * a desired quote not yet covered, and at least half of the desired size is left of it
 * (`remainingLots * 2 ≥ lots`); a more depleted order is replaced. Every other live order is
 * cancelled; every desired quote left uncovered is placed. Each live order covers one quote.
 */
export function planQuotes(desired: readonly Quote[], live: readonly LiveQuote[]): QuotePlan {
  const unused = [...live];
  const keep: `0x${string}`[] = [];
  const place: Quote[] = [];
  for (const quote of desired) {
    const index = unused.findIndex(
      (o) => o.side === quote.side && o.priceTicks === quote.priceTicks && o.remainingLots * 2n >= quote.lots,
    );
    if (index === -1) {
      place.push(quote);
    } else {
      keep.push(unused[index].hash);
      unused.splice(index, 1);
    }
  }
  return { cancel: unused.map((o) => o.hash), place, keep };
}

/** The book's best prices (either may be missing: an empty side). */
export interface BestPrices {
  readonly bestBid?: bigint | undefined;
  readonly bestAsk?: bigint | undefined;
}

/**
 * The quotes a post-only order may rest at: a bid below the best ask, an ask above the best bid.
 * Others would take (the keeper refuses them with `POST_ONLY_WOULD_CROSS`) and are dropped.
 */
export function withoutCrossing(quotes: readonly Quote[], best: BestPrices): Quote[] {
  return quotes.filter((q) =>
    q.side === "bid"
      ? best.bestAsk === undefined || q.priceTicks < best.bestAsk
      : best.bestBid === undefined || q.priceTicks > best.bestBid,
  );
}

/**
 * Order nonces that strictly increase. It starts at the larger of the chain's nonce floor
 * (`minNonce`: anything below is dead) and `startAt` — a bot passes the wall clock in
 * microseconds, so that a restarted bot never reuses a nonce of an earlier run (whose fill
 * state the chain keeps) without having to remember it.
 */
export class NonceSource {
  private last: bigint;

  constructor(parameters: { readonly minNonce: bigint; readonly startAt: bigint }) {
    const start = parameters.minNonce > parameters.startAt ? parameters.minNonce : parameters.startAt;
    if (start >= 1n << 64n) throw new RangeError(`Nonces start beyond uint64: ${start}`);
    this.last = start - 1n;
  }

  /** A nonce above every nonce given so far. */
  next(): bigint {
    this.last += 1n;
    if (this.last >= 1n << 64n) throw new RangeError("Nonces ran past uint64");
    return this.last;
  }

  /** The last nonce given (`start - 1` before the first). */
  get current(): bigint {
    return this.last;
  }
}

/**
 * A Chainlink-style feed answer (`answer` with `feedDecimals` decimals, quote tokens per whole
 * base token) as ticks per lot of `market`, rounded to the nearest tick:
 * `answer · 10^quoteDecimals · lotSize / (10^feedDecimals · tickSize · 10^baseDecimals)`.
 */
export function feedAnswerToTicks(parameters: {
  readonly answer: bigint;
  readonly feedDecimals: number;
  readonly market: {
    readonly baseDecimals: number;
    readonly quoteDecimals: number;
    readonly lotSize: bigint;
    readonly tickSize: bigint;
  };
}): bigint {
  const { answer, feedDecimals, market } = parameters;
  if (answer <= 0n) throw new RangeError(`The feed's answer must be positive, got ${answer}`);
  const numerator = answer * 10n ** BigInt(market.quoteDecimals) * market.lotSize;
  const denominator = 10n ** BigInt(feedDecimals) * market.tickSize * 10n ** BigInt(market.baseDecimals);
  return (2n * numerator + denominator) / (2n * denominator);
}

/** The mid of a book's best bid and ask (rounded down), or the one side there is, or undefined. */
export function bookMid(best: BestPrices): bigint | undefined {
  if (best.bestBid !== undefined && best.bestAsk !== undefined) return (best.bestBid + best.bestAsk) / 2n;
  return best.bestBid ?? best.bestAsk;
}

/** Throws a `RangeError` naming the first bad field of a ladder config. */
export function assertLadderConfig(config: LadderConfig): void {
  const problems: string[] = [];
  if (!Number.isInteger(config.levels) || config.levels < 1 || config.levels > 100) {
    problems.push(`levels must be an integer from 1 to 100, got ${config.levels}`);
  }
  if (!Number.isInteger(config.spreadBps) || config.spreadBps < 0 || config.spreadBps >= 10_000) {
    problems.push(`spreadBps must be an integer from 0 to 9999, got ${config.spreadBps}`);
  }
  if (!Number.isInteger(config.spacingBps) || config.spacingBps < 0 || config.spacingBps >= 10_000) {
    problems.push(`spacingBps must be an integer from 0 to 9999, got ${config.spacingBps}`);
  }
  if (config.spreadBps + config.spacingBps * (config.levels - 1) >= 10_000) {
    problems.push("the farthest level must be less than 100% from the reference (spreadBps + spacingBps·(levels−1))");
  }
  if (config.lotsPerLevel < 1n) problems.push(`lotsPerLevel must be at least 1, got ${config.lotsPerLevel}`);
  if (config.skewBpsPerLot !== undefined && (!Number.isInteger(config.skewBpsPerLot) || config.skewBpsPerLot < 0)) {
    problems.push(`skewBpsPerLot must be a non-negative integer, got ${config.skewBpsPerLot}`);
  }
  if (config.maxSkewBps !== undefined && (!Number.isInteger(config.maxSkewBps) || config.maxSkewBps < 0)) {
    problems.push(`maxSkewBps must be a non-negative integer, got ${config.maxSkewBps}`);
  }
  if (config.maxInventoryLots !== undefined && config.maxInventoryLots < 0n) {
    problems.push(`maxInventoryLots must not be negative, got ${config.maxInventoryLots}`);
  }
  if (problems.length > 0) throw new RangeError(`Bad ladder config: ${problems.join("; ")}`);
}
