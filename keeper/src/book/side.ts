/**
 * One side of a book: its price levels by price in a `Map` (O(1) for the common case, an order
 * joining a level that exists), and in best-first order in a B+ tree (`sorted-btree`), which only
 * a level's creation or removal touches. The best level is cached, so matching reads it in O(1).
 * Prices are numbers here (see `MAX_BOOK_INTEGER`).
 */
import BTree from "sorted-btree";
import { Level, toBigint } from "./level";
import type { DepthLevel } from "./types";

const ascending = (a: number, b: number): number => a - b;
const descending = (a: number, b: number): number => b - a;

export class BookSide {
  private readonly byPrice = new Map<number, Level>();
  /** Levels by price, best first: ascending prices for asks, descending for bids. */
  private readonly ordered: BTree<number, Level>;
  /** The first level of `ordered`, or undefined when the side is empty. */
  best: Level | undefined = undefined;
  private readonly reused: [number, Level] = [0, undefined as unknown as Level];

  constructor(readonly isBuy: boolean) {
    this.ordered = new BTree<number, Level>(undefined, isBuy ? descending : ascending);
  }

  /** The level at `price`, if any order rests there. O(1). */
  get(price: number): Level | undefined {
    return this.byPrice.get(price);
  }

  /** A new, empty level at `price` (`priceTicks` as a number), where there is none. O(log levels). */
  create(priceTicks: bigint, price: number): Level {
    const level = new Level(this.isBuy, priceTicks, price);
    this.byPrice.set(price, level);
    this.ordered.set(price, level);
    if (this.best === undefined || this.isBetter(price, this.best.price)) this.best = level;
    return level;
  }

  /** Drops an empty level; `next` is the level after it, if the caller has it already. O(log levels). */
  delete(level: Level, next?: Level): void {
    this.byPrice.delete(level.price);
    if (this.best === level) this.best = next ?? this.after(level);
    this.ordered.delete(level.price);
  }

  /** Whether `a` is a better price than `b` for this side (higher bid, lower ask). */
  isBetter(a: number, b: number): boolean {
    return this.isBuy ? a > b : a < b;
  }

  /** Whether a taker on the other side with limit `limit` may trade at `price`. */
  crosses(price: number, limit: number): boolean {
    return this.isBuy ? price >= limit : price <= limit;
  }

  /** The next level after `level`, in best-first order. O(log levels). */
  after(level: Level): Level | undefined {
    const next = this.ordered.nextHigherPair(level.price, this.reused);
    return next === undefined ? undefined : next[1];
  }

  /** The best `limit` levels, aggregated, best first. */
  depth(limit: number): DepthLevel[] {
    const out: DepthLevel[] = [];
    for (let level = this.best; level !== undefined && out.length < limit; level = this.after(level)) {
      out.push({ priceTicks: level.priceTicks, lots: toBigint(level.totalLots), orders: level.count });
    }
    return out;
  }
}
