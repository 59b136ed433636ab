/**
 * One side of a book: its price levels (handles into the book's `Levels`), found by price and
 * walked best first.
 *
 * Most levels sit in a **window** of `WINDOW` ticks near the touch: an array of level handles
 * indexed by rank (ticks from the window's best edge: `price - origin` for asks, `origin - price`
 * for bids, so that rank 0 is the best price the window holds), with a bitmap of the ranks that
 * hold a level and a summary word per 32 words of it. Finding a level is one subtraction and one
 * array read; the next level after one is a scan of at most one bitmap word and the summary
 * (`WINDOW / 1024` words). Levels outside the window (far from the touch) go to a **fallback**:
 * a `Map` by price and a B+ tree (`sorted-btree`) in best-first order. A price is in the window
 * exactly when its level is (never in both).
 *
 * The window **re-centres** when a level is created outside it while the side's best is
 * outside it, or would be (the touch moved past it), or while it holds no level: it then puts
 * the side's new best `MARGIN` ticks from its best edge and moves the levels that cross its
 * bounds, each way, between the window and the fallback. So that no pattern of orders can make
 * it move many levels often, a re-centre that would move `k` levels out of the window needs
 * `k` credits, one earned per level created (at most `MAX_CREDIT` kept); without them the new
 * level goes to the fallback, which is slower but exact. The best level is cached, so matching
 * reads it in O(1). Prices are numbers here (see `MAX_BOOK_INTEGER`).
 */
import BTree from "sorted-btree";
import { NONE, toBigint, type Levels } from "./store";
import type { DepthLevel } from "./types";

/** Ticks the window covers: a power of two, a multiple of 1,024 (one summary word per 1,024 ticks). */
export const WINDOW = 1 << 13;
/** Where a re-centre puts the side's best: this many ranks from the window's best edge. */
export const MARGIN = WINDOW >>> 3;
const WORDS = WINDOW >>> 5;
const SUMMARY_WORDS = WORDS >>> 5;
/** The most re-centre credits a side keeps. */
const MAX_CREDIT = 4 * WINDOW;

const ascending = (a: number, b: number): number => a - b;
const descending = (a: number, b: number): number => b - a;

/** The index of the lowest set bit of `bits` (≠ 0). */
function lowestBit(bits: number): number {
  return 31 - Math.clz32(bits & -bits);
}

export class BookSide {
  /** The best price the window holds (rank 0): its lowest for asks, its highest for bids. */
  private origin = 0;
  /** +1 for asks, -1 for bids: rank = (price - origin) * direction. */
  private readonly direction: number;
  /** The level at each rank, or `NONE`. */
  private readonly slots = new Int32Array(WINDOW).fill(NONE);
  /** Bit r of word w set: rank 32w + r holds a level. */
  private readonly bitmap = new Uint32Array(WORDS);
  /** Bit r of word s set: bitmap word 32s + r is not 0. */
  private readonly summary = new Uint32Array(SUMMARY_WORDS);
  /** Levels in the window. */
  private inWindow = 0;
  private credit = 0;
  /** The levels outside the window, by price and best first. */
  private readonly byPrice = new Map<number, number>();
  private readonly ordered: BTree<number, number>;
  /** The best level of the side, or `NONE` when it is empty. */
  best = NONE;
  private readonly reused: [number, number] = [0, NONE];

  constructor(
    readonly isBuy: boolean,
    private readonly levels: Levels,
  ) {
    this.direction = isBuy ? -1 : 1;
    this.ordered = new BTree<number, number>(undefined, isBuy ? descending : ascending);
  }

  /** Levels outside the window (for tests). */
  get outside(): number {
    return this.byPrice.size;
  }

  /** The rank of `price` in the window: in it if 0 ≤ rank < `WINDOW`. */
  private rank(price: number): number {
    return (price - this.origin) * this.direction;
  }

  /** The level at `price`, or `NONE` if no order rests there. O(1). */
  get(price: number): number {
    const rank = (price - this.origin) * this.direction;
    if (rank >= 0 && rank < WINDOW) return this.slots[rank];
    if (this.byPrice.size === 0) return NONE;
    return this.byPrice.get(price) ?? NONE;
  }

  /** A new, empty level at `price` (`priceTicks` as a number), where there is none. */
  create(priceTicks: bigint, price: number): number {
    const level = this.levels.add(this.isBuy, priceTicks, price);
    if (this.credit < MAX_CREDIT) this.credit++;
    const best = this.best;
    const better = best === NONE || this.isBetter(price, this.levels.price[best]);
    let rank = this.rank(price);
    if (!(rank >= 0 && rank < WINDOW)) {
      // Outside the window: re-centre it on the side's best if the touch is not in it.
      const target = better ? price : this.levels.price[best];
      const targetRank = this.rank(target);
      if (this.inWindow === 0 || (!(targetRank >= 0 && targetRank < WINDOW) && this.credit >= this.inWindow)) {
        this.recentre(target);
        rank = this.rank(price);
      }
    }
    if (rank >= 0 && rank < WINDOW) this.put(rank, level);
    else {
      this.byPrice.set(price, level);
      this.ordered.set(price, level);
    }
    if (better) this.best = level;
    return level;
  }

  /** Drops an empty level and frees its handle; `next` is the level after it, if the caller has it already. */
  delete(level: number, next?: number): void {
    const price = this.levels.price[level];
    if (this.best === level) this.best = next ?? this.after(level);
    const rank = this.rank(price);
    if (rank >= 0 && rank < WINDOW) this.take(rank);
    else {
      this.byPrice.delete(price);
      this.ordered.delete(price);
    }
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

  /** The next level after `level`, in best-first order, or `NONE`. */
  after(level: number): number {
    const price = this.levels.price[level];
    const rank = this.rank(price);
    // The window's next: the first level at a rank above `rank` (all of them if it is before the window).
    const inside = rank >= WINDOW ? NONE : this.firstFrom(rank < 0 ? 0 : rank + 1);
    if (this.byPrice.size === 0) return inside;
    const next = this.ordered.nextHigherPair(price, this.reused);
    if (next === undefined) return inside;
    return inside !== NONE && this.isBetter(this.levels.price[inside], next[0]) ? inside : next[1];
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

  /** The level at the lowest rank ≥ `from` in the window, or `NONE`. O(1 + `SUMMARY_WORDS`). */
  private firstFrom(from: number): number {
    if (from >= WINDOW) return NONE;
    let word = from >>> 5;
    const bits = this.bitmap[word] & (-1 << (from & 31));
    if (bits !== 0) return this.slots[(word << 5) | lowestBit(bits)];
    word++;
    if (word === WORDS) return NONE;
    const summary = this.summary;
    let s = word >>> 5;
    let marks = summary[s] & (-1 << (word & 31));
    while (marks === 0) {
      if (++s === SUMMARY_WORDS) return NONE;
      marks = summary[s];
    }
    word = (s << 5) | lowestBit(marks);
    return this.slots[(word << 5) | lowestBit(this.bitmap[word])];
  }

  private put(rank: number, level: number): void {
    const word = rank >>> 5;
    this.slots[rank] = level;
    this.bitmap[word] |= 1 << (rank & 31);
    this.summary[word >>> 5] |= 1 << (word & 31);
    this.inWindow++;
  }

  private take(rank: number): void {
    const word = rank >>> 5;
    this.slots[rank] = NONE;
    if ((this.bitmap[word] &= ~(1 << (rank & 31))) === 0) this.summary[word >>> 5] &= ~(1 << (word & 31));
    this.inWindow--;
  }

  /**
   * Moves the window so that `target` sits `MARGIN` ranks from its best edge: the levels it
   * leaves go to the fallback, the fallback's levels it now covers come into it. O(`WORDS` +
   * levels moved × log levels).
   */
  private recentre(target: number): void {
    const { levels, bitmap } = this;
    const held: number[] = [];
    for (let word = 0; word < WORDS; word++) {
      for (let bits = bitmap[word]; bits !== 0; bits &= bits - 1) held.push(this.slots[(word << 5) | lowestBit(bits)]);
      if (bitmap[word] !== 0) bitmap[word] = 0;
    }
    this.summary.fill(0);
    for (const level of held) this.slots[this.rank(levels.price[level])] = NONE;
    this.inWindow = 0;
    this.origin = target - this.direction * MARGIN;
    const last = this.origin + this.direction * (WINDOW - 1);
    let moved = 0;
    for (const level of held) {
      const price = levels.price[level];
      const rank = this.rank(price);
      if (rank >= 0 && rank < WINDOW) this.put(rank, level);
      else {
        this.byPrice.set(price, level);
        this.ordered.set(price, level);
        moved++;
      }
    }
    if (this.byPrice.size !== 0) {
      // The B+ tree is in best-first order: from the window's best edge to its worst. (Near
      // 2^53 the bounds may round by a tick: each price is checked.)
      for (const [price, level] of this.ordered.getRange(this.origin, last, true)) {
        const rank = this.rank(price);
        if (!(rank >= 0 && rank < WINDOW)) continue;
        this.byPrice.delete(price);
        this.ordered.delete(price);
        this.put(rank, level);
        moved++;
      }
    }
    this.credit -= moved;
  }
}
