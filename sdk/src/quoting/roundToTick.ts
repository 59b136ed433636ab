/** Which way to round: `down` toward zero, `up` away from it. */
export type RoundingDirection = "down" | "up";

/**
 * `value` rounded to a whole multiple of `step`, down or up: the core of `roundPriceToTick` and
 * `roundSizeToLot`. Throws a `RangeError` for a negative value or a step below 1.
 */
function roundToMultiple(value: bigint, step: bigint, direction: RoundingDirection, what: string): bigint {
  if (step < 1n) throw new RangeError(`The ${what} must be at least 1, got ${step}`);
  if (value < 0n) throw new RangeError(`Cannot round a negative value (${value}) to a ${what}`);
  const down = (value / step) * step;
  return direction === "down" || down === value ? down : down + step;
}

/**
 * A price rounded to the market's tick, down or up: a bid rounds down and an ask up (away from the
 * mid, so that rounding never makes a quote cross). `price` and `tick` in the same unit — quote
 * atoms per lot with the market's `tickSize`, or any finer grid (e.g. a price in ticks × 100 with a
 * tick of 100). The result is a multiple of `tick`; divide by it for `priceTicks`.
 *
 * @example
 * import { roundPriceToTick } from "@crossbook/sdk";
 * roundPriceToTick(1_834_567n, 10n, "down"); // 1834560n
 * roundPriceToTick(1_834_561n, 10n, "up"); // 1834570n
 */
export function roundPriceToTick(price: bigint, tick: bigint, direction: RoundingDirection): bigint {
  return roundToMultiple(price, tick, direction, "tick");
}

/**
 * A size in base atoms rounded to the market's lot, down or up (down: never more than you hold).
 * The result is a multiple of `lotSize`; divide by it for `lots`.
 *
 * @example
 * import { roundSizeToLot } from "@crossbook/sdk";
 * const lotSize = 10n ** 15n; // 0.001 WETH
 * roundSizeToLot(2_345_600_000_000_000n, lotSize, "down") / lotSize; // 2n lots (0.002 WETH)
 * roundSizeToLot(2_345_600_000_000_000n, lotSize, "up") / lotSize; // 3n lots
 */
export function roundSizeToLot(size: bigint, lotSize: bigint, direction: RoundingDirection): bigint {
  return roundToMultiple(size, lotSize, direction, "lot size");
}
