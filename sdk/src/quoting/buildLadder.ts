import { roundPriceToTick } from "./roundToTick";

/** One order of a ladder. `level` 0 is nearest the mid. */
export interface LadderQuote {
  readonly level: number;
  readonly priceTicks: bigint;
  readonly lots: bigint;
}

/** The parameters of `buildLadder`. */
export interface BuildLadderParameters {
  /** The price the ladder is built around, in ticks per lot (> 0). */
  midTicks: bigint;
  /** Orders per side (1 to 100). */
  levels: number;
  /** Distance between consecutive levels, in basis points of the mid (levels stay at least one tick apart anyway). */
  stepBps: number;
  /** Distance of the first level from the mid, in basis points [`stepBps`]. */
  firstBps?: number | undefined;
  /** Lots per order (≥ 1); or give `baseAtoms` and `lotSize`. */
  lots?: bigint | undefined;
  /** The size per order in base atoms, rounded down to whole lots of `lotSize`. */
  baseAtoms?: bigint | undefined;
  lotSize?: bigint | undefined;
  /** Every bid is strictly below this price [`midTicks`] (a skewed ladder keeps off the true mid). */
  bidsBelowTicks?: bigint | undefined;
  /** Every ask is strictly above this price [`midTicks`]. */
  asksAboveTicks?: bigint | undefined;
}

/** A ladder: bids best (highest) first, asks best (lowest) first. */
export interface BuildLadderReturnType {
  bids: LadderQuote[];
  asks: LadderQuote[];
}

const BPS = 10_000n;

/**
 * A ladder of `levels` bids and `levels` asks around a mid, `firstBps`, then `stepBps` apart, in
 * basis points of the mid: bid `i` at `mid × (1 − (firstBps + i·stepBps)/10 000)` rounded down to a
 * whole tick, ask `i` at `mid × (1 + …)` rounded up (away from the mid). It never crosses: every bid
 * is strictly below `bidsBelowTicks` (the mid by default) and every ask strictly above
 * `asksAboveTicks`, the levels of a side are at least one tick apart, and a bid that would fall to
 * 0 ticks is left out. Throws a `RangeError` naming every bad parameter.
 *
 * @example
 * import { buildLadder } from "@crossbook/sdk";
 * const { bids, asks } = buildLadder({ midTicks: 200_000n, levels: 3, stepBps: 10, lots: 10n });
 * bids.map((q) => q.priceTicks); // [199800n, 199600n, 199400n]
 * asks.map((q) => q.priceTicks); // [200200n, 200400n, 200600n]
 */
export function buildLadder(parameters: BuildLadderParameters): BuildLadderReturnType {
  const lots = ladderLots(parameters);
  const { midTicks, levels, stepBps } = parameters;
  const firstBps = parameters.firstBps ?? stepBps;
  const problems: string[] = [];
  if (midTicks <= 0n) problems.push(`midTicks must be positive, got ${midTicks}`);
  if (!Number.isInteger(levels) || levels < 1 || levels > 100) problems.push(`levels must be 1 to 100, got ${levels}`);
  for (const [name, bps] of [
    ["stepBps", stepBps],
    ["firstBps", firstBps],
  ] as const) {
    if (!Number.isInteger(bps) || bps < 0 || bps >= 10_000) problems.push(`${name} must be 0 to 9999, got ${bps}`);
  }
  if (problems.length === 0 && firstBps + stepBps * (levels - 1) >= 10_000) {
    problems.push("the farthest level must be less than 100% from the mid (firstBps + stepBps·(levels−1) < 10 000)");
  }
  if (problems.length > 0) throw new RangeError(`Bad ladder: ${problems.join("; ")}`);

  const bids: LadderQuote[] = [];
  const asks: LadderQuote[] = [];
  let lastBid = parameters.bidsBelowTicks ?? midTicks;
  let lastAsk = parameters.asksAboveTicks ?? midTicks;
  for (let level = 0; level < levels; level++) {
    const offsetBps = BigInt(firstBps + stepBps * level);
    // Prices in ticks × 10 000 (exact), rounded to a whole tick (10 000) away from the mid.
    const rawBid = roundPriceToTick(midTicks * (BPS - offsetBps), BPS, "down") / BPS;
    const rawAsk = roundPriceToTick(midTicks * (BPS + offsetBps), BPS, "up") / BPS;
    lastBid = rawBid < lastBid ? rawBid : lastBid - 1n;
    lastAsk = rawAsk > lastAsk ? rawAsk : lastAsk + 1n;
    if (lastBid >= 1n) bids.push({ level, priceTicks: lastBid, lots });
    asks.push({ level, priceTicks: lastAsk, lots });
  }
  return { bids, asks };
}

function ladderLots(p: BuildLadderParameters): bigint {
  if (p.lots !== undefined) {
    if (p.lots < 1n) throw new RangeError(`Bad ladder: lots must be at least 1, got ${p.lots}`);
    return p.lots;
  }
  if (p.baseAtoms === undefined || p.lotSize === undefined) {
    throw new RangeError("Bad ladder: give lots, or baseAtoms with lotSize");
  }
  const lots = p.lotSize < 1n ? 0n : p.baseAtoms / p.lotSize;
  if (lots < 1n) throw new RangeError(`Bad ladder: ${p.baseAtoms} base atoms is less than one lot of ${p.lotSize}`);
  return lots;
}
