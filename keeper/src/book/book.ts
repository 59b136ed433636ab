/**
 * The matching engine of one market: price-time priority, fills at the resting order's price,
 * self-trade prevention by cancelling the resting order, POST_ONLY / IMMEDIATE_OR_CANCEL /
 * FILL_OR_KILL as in the Exchange contract.
 *
 * Pure and deterministic: no I/O, no clock, no randomness. Every operation returns what it did
 * (fills, orders removed, level changes) instead of emitting events, so that the caller can
 * persist it and publish it. See keeper/README.md, "Book".
 *
 * Prices and sizes are `bigint` in and out, numbers inside: each method converts once, and the
 * book refuses (`too-large`) what a number would not hold exactly (`MAX_BOOK_INTEGER`).
 */
import { AccountOrders, Level, OrderNode, toBigint } from "./level";
import { BookSide } from "./side";
import {
  FILL_OR_KILL,
  IMMEDIATE_OR_CANCEL,
  KNOWN_FLAGS,
  MAX_BOOK_INTEGER,
  MAX_UINT64,
  POST_ONLY,
  type ChangeResult,
  type Depth,
  type Fill,
  type LevelChange,
  type NewOrder,
  type PlaceResult,
  type RejectReason,
  type RestingOrder,
  type RestoreResult,
} from "./types";

export class OrderBook {
  private readonly bids = new BookSide(true);
  private readonly asks = new BookSide(false);
  private readonly byId = new Map<string, OrderNode>();
  private readonly byAccount = new Map<string, AccountOrders>();
  private seqCounter: number;

  /**
   * @param options.nextSeq the `seq` of the first order placed; on a rebuild, one more than the
   *   largest `seq` the book ever gave in this market (resting or not), so that no `seq` is reused.
   */
  constructor(options: { nextSeq?: number } = {}) {
    const nextSeq = options.nextSeq ?? 0;
    if (!Number.isSafeInteger(nextSeq) || nextSeq < 0) {
      throw new RangeError(`OrderBook: nextSeq must be a non-negative safe integer, got ${nextSeq}`);
    }
    this.seqCounter = nextSeq;
  }

  /** The `seq` the next accepted order gets. */
  get nextSeq(): number {
    return this.seqCounter;
  }

  /** Number of resting orders. */
  get size(): number {
    return this.byId.size;
  }

  /** How many orders of `account` rest in the book. O(1). */
  countOf(account: string): number {
    return this.byAccount.get(account)?.count ?? 0;
  }

  /**
   * Matches `order` against the book, then rests its remainder unless it is IOC or FOK.
   *
   * - Fills go best price first, then earliest `seq`, each at the resting order's price.
   * - A resting order of the taker's own account that the taker reaches is removed
   *   (`selfTradeCancelled`) and matching goes on behind it: the book never produces a fill
   *   with one account on both sides.
   * - POST_ONLY is rejected if any resting order (its own included) is at a price it crosses.
   * - FILL_OR_KILL is rejected, and the book left unchanged, unless the liquidity it crosses,
   *   less its own account's, covers all its lots.
   * - IMMEDIATE_OR_CANCEL (and FILL_OR_KILL) never rests; what is left is dropped.
   */
  place(order: NewOrder): PlaceResult {
    // As doubles: a bigint above MAX_BOOK_INTEGER rounds to 2^53 or more, one below 1 to below 1.
    const price = Number(order.priceTicks);
    const lots = Number(order.lots);
    const invalid = this.validate(order, price, lots);
    if (invalid !== undefined) return reject(order, invalid);
    const { isBuy, flags } = order;
    const own = isBuy ? this.bids : this.asks;
    const mayRest = (flags & (IMMEDIATE_OR_CANCEL | FILL_OR_KILL)) === 0;
    // Matching touches only the other side, so this is the level the remainder would join.
    let restLevel = mayRest ? own.get(price) : undefined;
    if (restLevel !== undefined && restLevel.totalLots + lots > MAX_SAFE) return reject(order, "too-large");
    const opposite = isBuy ? this.asks : this.bids;
    const best = opposite.best;
    const crosses = best !== undefined && opposite.crosses(best.price, price);

    if (flags & POST_ONLY && crosses) return reject(order, "post-only-would-cross");
    if (flags & FILL_OR_KILL && !this.canFill(opposite, order.account, price, lots)) {
      return reject(order, "fill-or-kill-unfillable");
    }

    const seq = this.seqCounter++;
    if (!crosses) {
      // Nothing to match (most orders): no arrays to grow, one level change at most.
      if (!mayRest) return result(seq, [], [], false, order.lots, []);
      restLevel ??= own.create(order.priceTicks, price);
      this.rest(order, restLevel, price, lots, seq);
      return result(seq, [], [], true, order.lots, [restLevel.change()]);
    }

    const fills: Fill[] = [];
    const levels: LevelChange[] = [];
    const selfTradeCancelled: RestingOrder[] = [];
    let remaining = lots;

    let level: Level | undefined = best;
    while (level !== undefined && remaining > 0 && opposite.crosses(level.price, price)) {
      let maker = level.head;
      while (maker !== undefined && remaining > 0) {
        const next = maker.next;
        if (maker.account === order.account) {
          selfTradeCancelled.push(maker.toResting());
          this.unlink(maker);
        } else if (maker.lots > remaining) {
          maker.lots -= remaining;
          level.totalLots -= remaining;
          fills.push(fill(maker, order.id, remaining, maker.lots));
          remaining = 0;
        } else {
          remaining -= maker.lots;
          fills.push(fill(maker, order.id, maker.lots, 0));
          this.unlink(maker);
        }
        maker = next;
      }
      levels.push(level.change());
      if (level.count !== 0) break; // the taker is done: a level it did not empty stops it
      const emptied: Level = level;
      level = opposite.after(emptied);
      opposite.delete(emptied, level);
    }

    let rested = false;
    if (remaining > 0 && mayRest) {
      restLevel ??= own.create(order.priceTicks, price);
      this.rest(order, restLevel, price, remaining, seq);
      levels.push(restLevel.change());
      rested = true;
    }
    const remainingLots = remaining === lots ? order.lots : toBigint(remaining);
    return result(seq, fills, selfTradeCancelled, rested, remainingLots, levels);
  }

  /** Rests `lots` of `order` at the back of `level`. */
  private rest(order: NewOrder, level: Level, price: number, lots: number, seq: number): void {
    const node = new OrderNode(order.id, order.account, order.isBuy, order.priceTicks, price, lots, order.flags, seq);
    level.append(node);
    this.index(node);
  }

  /** Removes a resting order. O(1), plus O(log levels) if its level empties. */
  cancel(id: string): ChangeResult | undefined {
    const node = this.byId.get(id);
    if (node === undefined) return undefined;
    const level = node.level as Level;
    this.unlink(node);
    const levels = [level.change()];
    if (level.count === 0) this.sideOf(node).delete(level);
    return { order: node.toResting(), removed: true, levels };
  }

  /**
   * Takes `lots` off a resting order, keeping its time priority; reducing by its whole size or
   * more removes it. Throws a RangeError unless lots ≥ 1.
   */
  reduce(id: string, lots: bigint): ChangeResult | undefined {
    if (lots < 1n) throw new RangeError(`reduce: lots must be at least 1, got ${lots}`);
    const node = this.byId.get(id);
    if (node === undefined) return undefined;
    // Exact: rounding to a double keeps order, and node.lots is a safe integer.
    const n = Number(lots);
    if (n >= node.lots) return this.cancel(id);
    const level = node.level as Level;
    node.lots -= n;
    level.totalLots -= n;
    return { order: node.toResting(), removed: false, levels: [level.change()] };
  }

  /**
   * Gives `lots` back to a resting order, keeping its time priority: for the size of a fill that
   * the chain skipped. (An order that has left the book comes back through `restore`.) Throws a
   * RangeError unless lots ≥ 1 and the order, and its price level, stay within 2^53-1 lots
   * (`MAX_BOOK_INTEGER`).
   */
  increase(id: string, lots: bigint): ChangeResult | undefined {
    if (lots < 1n) throw new RangeError(`increase: lots must be at least 1, got ${lots}`);
    const node = this.byId.get(id);
    if (node === undefined) return undefined;
    const n = Number(lots);
    const level = node.level as Level;
    if (level.totalLots + n > MAX_SAFE) throw new RangeError(`increase: ${id} or its level would exceed 2^53-1 lots`);
    node.lots += n;
    level.totalLots += n;
    return { order: node.toResting(), removed: false, levels: [level.change()] };
  }

  /**
   * Puts a resting order back without matching, at its original time priority `seq` (O(1) when
   * orders come in `seq` order, as in a rebuild from the store). `nextSeq` moves past `seq`.
   * Rejected, with the book unchanged, if the order would cross the other side (the caller then
   * places it as a new order), if it is IOC or FOK, or if it is invalid as in `place`.
   */
  restore(order: RestingOrder): RestoreResult {
    const price = Number(order.priceTicks);
    const lots = Number(order.lots);
    const rejected = this.validate(order, price, lots) ?? this.validateRestore(order, price);
    if (rejected !== undefined) return { rejected, levels: [] };
    const side = order.isBuy ? this.bids : this.asks;
    const existing = side.get(price);
    if (existing !== undefined && existing.totalLots + lots > MAX_SAFE) return { rejected: "too-large", levels: [] };
    const node = new OrderNode(
      order.id,
      order.account,
      order.isBuy,
      order.priceTicks,
      price,
      lots,
      order.flags,
      order.seq,
    );
    if (existing !== undefined && !existing.insertBySeq(node)) return { rejected: "invalid-seq", levels: [] };
    const level = existing ?? side.create(order.priceTicks, price);
    if (existing === undefined) level.append(node);
    this.index(node);
    if (order.seq >= this.seqCounter) this.seqCounter = order.seq + 1;
    return { levels: [level.change()] };
  }

  /** The resting order with this id. */
  get(id: string): RestingOrder | undefined {
    return this.byId.get(id)?.toResting();
  }

  /** The resting orders of `account`, earliest first. */
  ordersOf(account: string): RestingOrder[] {
    const nodes: OrderNode[] = [];
    for (let node = this.byAccount.get(account)?.head; node !== undefined; node = node.accountNext) nodes.push(node);
    return nodes.sort((a, b) => a.seq - b.seq).map((node) => node.toResting());
  }

  /** Every resting order, earliest first: what `restore` takes, in order, to rebuild this book. */
  restingOrders(): RestingOrder[] {
    return [...this.byId.values()].sort((a, b) => a.seq - b.seq).map((node) => node.toResting());
  }

  /** The orders resting at one price, in time priority. */
  queue(isBuy: boolean, priceTicks: bigint): RestingOrder[] {
    const out: RestingOrder[] = [];
    // A price above MAX_BOOK_INTEGER rounds to 2^53 or more, where no level is.
    const level = (isBuy ? this.bids : this.asks).get(Number(priceTicks));
    for (let node = level?.head; node !== undefined; node = node.next) out.push(node.toResting());
    return out;
  }

  /** Highest bid price, if any. */
  bestBid(): bigint | undefined {
    return this.bids.best?.priceTicks;
  }

  /** Lowest ask price, if any. */
  bestAsk(): bigint | undefined {
    return this.asks.best?.priceTicks;
  }

  /** The best `limit` aggregated levels of each side, best first. */
  depth(limit = Infinity): Depth {
    return { bids: this.bids.depth(limit), asks: this.asks.depth(limit) };
  }

  /** `price` and `lots` are `Number(order.priceTicks)` and `Number(order.lots)`. */
  private validate(order: NewOrder, price: number, lots: number): RejectReason | undefined {
    if (this.byId.has(order.id)) return "duplicate-id";
    const inRange = lots >= 1 && lots <= MAX_SAFE && price >= 1 && price <= MAX_SAFE;
    if (!inRange && (order.lots < 1n || order.lots > MAX_UINT64)) return "invalid-lots";
    if (!inRange && (order.priceTicks < 1n || order.priceTicks > MAX_UINT64)) return "invalid-price";
    const flags = order.flags;
    if (!Number.isInteger(flags) || flags < 0 || flags & ~KNOWN_FLAGS) return "invalid-flags";
    if (flags & POST_ONLY && flags & (IMMEDIATE_OR_CANCEL | FILL_OR_KILL)) return "invalid-flags";
    if (!inRange) return "too-large";
    return undefined;
  }

  private validateRestore(order: RestingOrder, price: number): RejectReason | undefined {
    if (order.flags & (IMMEDIATE_OR_CANCEL | FILL_OR_KILL)) return "never-rests";
    if (!Number.isSafeInteger(order.seq) || order.seq < 0) return "invalid-seq";
    const opposite = order.isBuy ? this.asks : this.bids;
    if (opposite.best !== undefined && opposite.crosses(opposite.best.price, price)) {
      return "would-cross";
    }
    return undefined;
  }

  /**
   * Whether the orders a taker of `account` with limit `price` crosses, less its own account's,
   * add up to `lots`. (Once `available` passes 2^53 it may round, but only upwards past `lots`.)
   */
  private canFill(opposite: BookSide, account: string, price: number, lots: number): boolean {
    const hasOwnOrders = this.byAccount.has(account);
    let available = 0;
    for (let level = opposite.best; level !== undefined; level = opposite.after(level)) {
      if (!opposite.crosses(level.price, price)) return false;
      if (!hasOwnOrders) {
        available += level.totalLots;
      } else {
        for (let node = level.head; node !== undefined; node = node.next) {
          if (node.account !== account) available += node.lots;
        }
      }
      if (available >= lots) return true;
    }
    return false;
  }

  private sideOf(node: OrderNode): BookSide {
    return node.isBuy ? this.bids : this.asks;
  }

  private index(node: OrderNode): void {
    this.byId.set(node.id, node);
    const mine = this.byAccount.get(node.account);
    if (mine === undefined) {
      node.owner = new AccountOrders(node);
      this.byAccount.set(node.account, node.owner);
    } else {
      node.owner = mine;
      node.accountNext = mine.head;
      (mine.head as OrderNode).accountPrev = node;
      mine.head = node;
      mine.count++;
    }
  }

  /** Takes `node` out of its level and the indexes; leaves an empty level for the caller. */
  private unlink(node: OrderNode): void {
    (node.level as Level).remove(node);
    this.byId.delete(node.id);
    const mine = node.owner as AccountOrders;
    if (--mine.count === 0) {
      this.byAccount.delete(node.account);
    } else {
      if (node.accountPrev === undefined) mine.head = node.accountNext;
      else node.accountPrev.accountNext = node.accountNext;
      if (node.accountNext !== undefined) node.accountNext.accountPrev = node.accountPrev;
    }
    node.accountPrev = undefined;
    node.accountNext = undefined;
    node.owner = undefined;
  }
}

/** `MAX_BOOK_INTEGER` as a number: 2^53-1. */
const MAX_SAFE = Number(MAX_BOOK_INTEGER);

function fill(maker: OrderNode, takerId: string, lots: number, makerRemainingLots: number): Fill {
  return {
    makerId: maker.id,
    takerId,
    priceTicks: maker.priceTicks,
    lots: toBigint(lots),
    makerRemainingLots: toBigint(makerRemainingLots),
  };
}

/** A `PlaceResult` of an accepted order; one shape for every path. */
function result(
  seq: number,
  fills: Fill[],
  selfTradeCancelled: RestingOrder[],
  rested: boolean,
  remainingLots: bigint,
  levels: LevelChange[],
): PlaceResult {
  return { seq, fills, selfTradeCancelled, rested, remainingLots, levels };
}

function reject(order: NewOrder, rejected: RejectReason): PlaceResult {
  return {
    seq: -1,
    fills: [],
    selfTradeCancelled: [],
    rested: false,
    remainingLots: order.lots,
    rejected,
    levels: [],
  };
}
