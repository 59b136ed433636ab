/**
 * One side of a book: its price levels (handles into the book's `Levels`) by price in a `Map`
 * (O(1) for the common case, an order joining a level that exists), and in best-first order in a
 * B+ tree (`sorted-btree`), which only a level's creation or removal touches. The best level is
 * cached, so matching reads it in O(1). Prices are numbers here (see `MAX_BOOK_INTEGER`).
 */
import BTree from "sorted-btree";
import { NONE, toBigint, type Levels } from "./store";
import type { DepthLevel } from "./types";

const ascending = (a: number, b: number): number => a - b;
const descending = (a: number, b: number): number => b - a;

export class BookSide {
  private readonly byPrice = new Map<number, number>();
  /** Levels by price, best first: ascending prices for asks, descending for bids. */
  private readonly ordered: BTree<number, number>;
  /** The first level of `ordered`, or `NONE` when the side is empty. */
  best = NONE;
  private readonly reused: [number, number] = [0, NONE];

  constructor(
    readonly isBuy: boolean,
    private readonly levels: Levels,
  ) {
    this.ordered = new BTree<number, number>(undefined, isBuy ? descending : ascending);
  }

  /** The level at `price`, or `NONE` if no order rests there. O(1). */
  get(price: number): number {
    return this.byPrice.get(price) ?? NONE;
  }

  /** A new, empty level at `price` (`priceTicks` as a number), where there is none. O(log levels). */
  create(priceTicks: bigint, price: number): number {
    const level = this.levels.add(this.isBuy, priceTicks, price);
    this.byPrice.set(price, level);
    this.ordered.set(price, level);
    if (this.best === NONE || this.isBetter(price, this.levels.price[this.best])) this.best = level;
    return level;
  }

  /**
   * Drops an empty level and frees its handle; `next` is the level after it, if the caller has
   * it already. O(log levels).
   */
  delete(level: number, next?: number): void {
    const price = this.levels.price[level];
    this.byPrice.delete(price);
    if (this.best === level) this.best = next ?? this.after(level);
    this.ordered.delete(price);
    this.levels.release(level);
  }

  /** Whether `a` is a better price than `b` for this side (higher bid, lower ask). */
  isBetter(a: number, b: number): boolean {
    return this.isBuy ? a > b : a < b;
  }

  /** Whether a taker on the other side with limit `limit` may trade at `price`. */
  crosses(price: number, limit: number): boolean {
    return this.isBuy ? price >= limit : price <= limit;
  }

  /** The next level after `level`, in best-first order, or `NONE`. O(log levels). */
  after(level: number): number {
    const next = this.ordered.nextHigherPair(this.levels.price[level], this.reused);
    return next === undefined ? NONE : next[1];
  }

  /** The best `limit` levels, aggregated, best first. */
  depth(limit: number): DepthLevel[] {
    const out: DepthLevel[] = [];
    const levels = this.levels;
    for (let level = this.best; level !== NONE && out.length < limit; level = this.after(level)) {
      out.push({
        priceTicks: levels.priceTicks[level],
        lots: toBigint(levels.totalLots[level]),
        orders: levels.count[level],
      });
    }
    return out;
  }
}
