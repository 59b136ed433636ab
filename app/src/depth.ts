/** The depth chart's shape: cumulative size away from the best price on each side. */
import type { KeeperLevel } from "@crossbook/sdk";

export interface DepthPoint {
  readonly priceTicks: bigint;
  /** Lots at this price and every better one. */
  readonly cumulativeLots: bigint;
}

/** Levels (best first) as cumulative points. */
export function cumulative(levels: readonly KeeperLevel[]): DepthPoint[] {
  let total = 0n;
  return levels.map((level) => {
    total += level.lots;
    return { priceTicks: level.priceTicks, cumulativeLots: total };
  });
}
