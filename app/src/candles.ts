/**
 * Candles for the price chart, built from the market's trades: one per interval, from the trades the
 * keeper matched (a fill the chain skipped did not happen, so it is left out). Prices are numbers
 * here: the chart only draws them.
 */
import { formatPriceTicks, type KeeperTrade, type MarketUnits } from "@crossbook/sdk";

export interface Candle {
  /** The interval's start, in unix seconds. */
  readonly time: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
}

/** `trades` (any order) as candles of `intervalSeconds`, oldest first; times shifted by `offsetSeconds` (the local time zone). */
export function candlesOf(
  trades: readonly KeeperTrade[],
  market: MarketUnits,
  intervalSeconds: number,
  offsetSeconds = 0,
): Candle[] {
  const executed = trades.filter((t) => t.status !== "skipped").sort((a, b) => a.at - b.at || a.fillId - b.fillId);
  const candles: Candle[] = [];
  for (const trade of executed) {
    const price = Number(formatPriceTicks({ priceTicks: trade.priceTicks, market }));
    const seconds = Math.floor(trade.at / 1000) + offsetSeconds;
    const time = seconds - (((seconds % intervalSeconds) + intervalSeconds) % intervalSeconds);
    const last = candles[candles.length - 1];
    if (last !== undefined && last.time === time) {
      candles[candles.length - 1] = {
        time,
        open: last.open,
        high: Math.max(last.high, price),
        low: Math.min(last.low, price),
        close: price,
      };
    } else {
      candles.push({ time, open: price, high: price, low: price, close: price });
    }
  }
  return candles;
}
