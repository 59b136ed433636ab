/**
 * The book as published: aggregated levels per side built from the level changes the engine
 * publishes after each commit. What the feed's snapshots and `GET /book` show, so that they never
 * show a match before it is durable (the engine's own book moves first, at matching).
 */
import BTree from "sorted-btree";
import type { Depth, DepthLevel, LevelChange } from "../book";

const ascending = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);
const descending = (a: bigint, b: bigint): number => -ascending(a, b);

export class PublishedBook {
  private readonly bids = new BTree<bigint, DepthLevel>(undefined, descending);
  private readonly asks = new BTree<bigint, DepthLevel>(undefined, ascending);

  /** A published book starting from `depth` (the engine's book when nothing is uncommitted: at start). */
  constructor(depth: Depth) {
    for (const l of depth.bids) this.bids.set(l.priceTicks, l);
    for (const l of depth.asks) this.asks.set(l.priceTicks, l);
  }

  /** Applies one published change: the level's new totals (`lots` 0: gone). */
  apply(change: LevelChange): void {
    const side = change.isBuy ? this.bids : this.asks;
    if (change.lots === 0n) side.delete(change.priceTicks);
    else side.set(change.priceTicks, { priceTicks: change.priceTicks, lots: change.lots, orders: change.orders });
  }

  /** The best `limit` levels of each side, best first. */
  depth(limit = Infinity): Depth {
    const take = (side: BTree<bigint, DepthLevel>) => {
      const out: DepthLevel[] = [];
      for (const [, level] of side.entries()) {
        if (out.length >= limit) break;
        out.push(level);
      }
      return out;
    };
    return { bids: take(this.bids), asks: take(this.asks) };
  }
}
