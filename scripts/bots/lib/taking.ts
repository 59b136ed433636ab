/**
 * The taker bot's decisions as pure functions (test/bots/taking.test.ts): which side, how many
 * lots, IOC or not, and the limit price — through the best opposite level by a few ticks of
 * slippage, never outside the market's band. Randomness comes in as a function, so tests pin it.
 */
import type { BestPrices, PriceBounds } from "./quoting";

/**
 * The limit price of a marketable order: the best opposite level moved `slippageTicks` against
 * the taker (a buy pays up to best ask + slippage, a sell accepts down to best bid − slippage),
 * clamped into the band. Undefined when the opposite side is empty or its best level is itself
 * outside the band (the fill would be skipped on-chain).
 */
export function takerPrice(parameters: {
  readonly isBuy: boolean;
  readonly best: BestPrices;
  readonly slippageTicks: bigint;
  readonly bounds?: PriceBounds | undefined;
}): bigint | undefined {
  const { isBuy, best, slippageTicks, bounds } = parameters;
  if (slippageTicks < 0n) throw new RangeError(`slippageTicks must not be negative, got ${slippageTicks}`);
  const min = bounds === undefined || bounds.minPriceTicks < 1n ? 1n : bounds.minPriceTicks;
  const max = bounds?.maxPriceTicks;
  const level = isBuy ? best.bestAsk : best.bestBid;
  // A fill happens at the maker's price: a best level outside the band would be skipped on-chain.
  if (level === undefined || level < min || (max !== undefined && level > max)) return undefined;
  if (isBuy) {
    const price = level + slippageTicks;
    return max !== undefined && price > max ? max : price;
  }
  const price = level > slippageTicks ? level - slippageTicks : 1n;
  return price < min ? min : price;
}

/** What the taker sends next. */
export interface TakerOrderPlan {
  readonly isBuy: boolean;
  /** Immediate-or-cancel; otherwise a marketable limit order whose remainder may rest. */
  readonly ioc: boolean;
  readonly lots: bigint;
  readonly priceTicks: bigint;
}

/** The taker's knobs. */
export interface TakerConfig {
  /** The share of orders sent IOC, from 0 to 1. */
  readonly iocShare: number;
  /** Lots per order are drawn uniformly from 1 to this. */
  readonly maxLots: bigint;
  /** Ticks through the best opposite level. */
  readonly slippageTicks: bigint;
}

/**
 * The next taker order: a side at random, IOC with probability `iocShare`, 1..`maxLots` lots,
 * priced by `takerPrice`. `random` returns numbers in [0, 1) (Math.random, or a seeded one).
 * Returns `{ skip }` when the side drawn has nothing in the band to take.
 */
export function pickTakerOrder(parameters: {
  readonly config: TakerConfig;
  readonly best: BestPrices;
  readonly bounds?: PriceBounds | undefined;
  readonly random: () => number;
}): TakerOrderPlan | { readonly skip: "no-liquidity"; readonly isBuy: boolean } {
  const { config, best, bounds, random } = parameters;
  assertTakerConfig(config);
  const isBuy = random() < 0.5;
  const ioc = random() < config.iocShare;
  const lots = 1n + BigInt(Math.floor(random() * Number(config.maxLots)));
  const priceTicks = takerPrice({ isBuy, best, slippageTicks: config.slippageTicks, bounds });
  if (priceTicks === undefined) return { skip: "no-liquidity", isBuy };
  return { isBuy, ioc, lots: lots > config.maxLots ? config.maxLots : lots, priceTicks };
}

/** Throws a `RangeError` naming what is wrong with a taker config. */
export function assertTakerConfig(config: TakerConfig): void {
  const problems: string[] = [];
  if (!(config.iocShare >= 0 && config.iocShare <= 1))
    problems.push(`iocShare must be from 0 to 1, got ${config.iocShare}`);
  if (config.maxLots < 1n) problems.push(`maxLots must be at least 1, got ${config.maxLots}`);
  if (config.slippageTicks < 0n) problems.push(`slippageTicks must not be negative, got ${config.slippageTicks}`);
  if (problems.length > 0) throw new RangeError(`Bad taker config: ${problems.join("; ")}`);
}
