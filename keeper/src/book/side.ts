/**
 * One side of a book: its price levels, kept sorted best first in a B+ tree (`sorted-btree`),
 * with the best level cached so that matching reads it in O(1).
 */
import BTree from "sorted-btree";
import { Level } from "./level";
import type { DepthLevel } from "./types";

const ascending = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);
const descending = (a: bigint, b: bigint): number => (a > b ? -1 : a < b ? 1 : 0);

export class BookSide {
  /** Levels by price, best first: ascending prices for asks, descending for bids. */
  private readonly levels: BTree<bigint, Level>;
  /** The first level of `levels`, or undefined when the side is empty. */
  best: Level | undefined = undefined;
  private readonly reused: [bigint, Level] = [0n, undefined as unknown as Level];

  constructor(readonly isBuy: boolean) {
    this.levels = new BTree<bigint, Level>(undefined, isBuy ? descending : ascending);
  }

  /** The level at `priceTicks`, if any order rests there. O(log levels). */
  get(priceTicks: bigint): Level | undefined {
    return this.levels.get(priceTicks);
  }

  /** The level at `priceTicks`, created empty if there is none. O(log levels). */
  getOrCreate(priceTicks: bigint): Level {
    let level = this.levels.get(priceTicks);
    if (level === undefined) {
      level = new Level(this.isBuy, priceTicks);
      this.levels.set(priceTicks, level);
      if (this.best === undefined || this.isBetter(priceTicks, this.best.priceTicks)) this.best = level;
    }
    return level;
  }

  /** Drops an empty level. O(log levels). */
  delete(level: Level): void {
    this.levels.delete(level.priceTicks);
    if (this.best === level) {
      const next = this.levels.nextHigherPair(level.priceTicks, this.reused);
      this.best = next === undefined ? undefined : next[1];
    }
  }

  /** Whether `a` is a better price than `b` for this side (higher bid, lower ask). */
  isBetter(a: bigint, b: bigint): boolean {
    return this.isBuy ? a > b : a < b;
  }

  /** Whether a taker on the other side with limit `limitTicks` may trade at `priceTicks`. */
  crosses(priceTicks: bigint, limitTicks: bigint): boolean {
    return this.isBuy ? priceTicks >= limitTicks : priceTicks <= limitTicks;
  }

  /** The next level after `level`, in best-first order. O(log levels). */
  after(level: Level): Level | undefined {
    const next = this.levels.nextHigherPair(level.priceTicks, this.reused);
    return next === undefined ? undefined : next[1];
  }

  /** The best `limit` levels, aggregated, best first. */
  depth(limit: number): DepthLevel[] {
    const out: DepthLevel[] = [];
    for (let level = this.best; level !== undefined && out.length < limit; level = this.after(level)) {
      out.push({ priceTicks: level.priceTicks, lots: level.totalLots, orders: level.count });
    }
    return out;
  }
}
