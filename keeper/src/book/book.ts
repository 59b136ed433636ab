/**
 * The matching engine of one market: price-time priority, fills at the resting order's price,
 * self-trade prevention by cancelling the resting order, POST_ONLY / IMMEDIATE_OR_CANCEL /
 * FILL_OR_KILL as in the Exchange contract.
 *
 * Pure and deterministic: no I/O, no clock, and no randomness in what it returns (the one random
 * number, the seed of its id table's hash, decides only where an id sits in that table, see
 * ids.ts). Every operation returns what it did
 * (fills, orders removed, level changes) instead of emitting events, so that the caller can
 * persist it and publish it. See keeper/README.md, "Book".
 *
 * Results are read, not kept: `place`, `cancel`, `reduce` and `increase` each hand back one object
 * per book, overwritten at the next call (see `PlaceResult`), so that an operation allocates
 * little more than the level changes it reports, which the caller may keep.
 *
 * Prices and sizes are `bigint` in and out, numbers inside: each method converts once, and the
 * book refuses (`too-large`) what a number would not hold exactly (`MAX_BOOK_INTEGER`). Inside,
 * orders, levels and accounts are integer handles into pools of typed arrays (see store.ts):
 * an order's id is hashed and looked up once per operation, at the boundary (ids.ts), and the
 * hot path compares numbers from there on.
 */
import { IdIndex } from "./ids";
import { BookSide } from "./side";
import { Accounts, Levels, NONE, Orders, toBigint } from "./store";
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
  private readonly orders = new Orders();
  private readonly levels = new Levels();
  private readonly accounts = new Accounts();
  private readonly bids = new BookSide(true, this.levels);
  private readonly asks = new BookSide(false, this.levels);
  /** The handle of each resting order, by id: the only lookup by id, once per operation. */
  private readonly byId = new IdIndex(this.orders.id);
  private seqCounter: number;
  /** What `place` returns when it accepts an order: overwritten by the next call (see `PlaceResult`). */
  private readonly placed = newPlaced();
  /** Its `fills` when there are any, and the `Fill` objects in it, each overwritten in turn. */
  private readonly fillList: Fill[] = [];
  private readonly fillPool: Writable<Fill>[] = [];
  /** What `cancel`, `reduce` and `increase` return, and its `order` (see `ChangeResult`). */
  private readonly changed = newChanged();

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
    const h = this.accounts.find(account);
    return h === NONE ? 0 : this.accounts.count[h];
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
    const key = this.byId.hash(order.id);
    const invalid = this.validate(order, key, price, lots);
    if (invalid !== undefined) return reject(order, invalid);
    const { isBuy, flags } = order;
    const levels = this.levels;
    const own = isBuy ? this.bids : this.asks;
    const mayRest = (flags & (IMMEDIATE_OR_CANCEL | FILL_OR_KILL)) === 0;
    // Matching touches only the other side, so this is the level the remainder would join.
    let restLevel = mayRest ? own.get(price) : NONE;
    if (restLevel !== NONE && levels.totalLots[restLevel] + lots > MAX_SAFE) return reject(order, "too-large");
    const opposite = isBuy ? this.asks : this.bids;
    const best = opposite.best;
    const crosses = best !== NONE && opposite.crosses(levels.price[best], price);

    if (flags & POST_ONLY && crosses) return reject(order, "post-only-would-cross");
    if (flags & FILL_OR_KILL && !this.canFill(opposite, order.account, price, lots)) {
      return reject(order, "fill-or-kill-unfillable");
    }

    const seq = this.seqCounter++;
    if (!crosses) {
      // Nothing to match (most orders): no arrays to grow, one level change at most.
      if (!mayRest) return this.result(seq, NO_FILLS, NO_ORDERS, false, order.lots, NO_LEVELS);
      if (restLevel === NONE) restLevel = own.create(order.priceTicks, price);
      this.rest(order, key, restLevel, lots, seq);
      return this.result(seq, NO_FILLS, NO_ORDERS, true, order.lots, [this.change(restLevel)]);
    }

    const orders = this.orders;
    let fillCount = 0;
    const changes: LevelChange[] = [];
    // Most takers meet none of their own orders: an array only for one that does.
    let selfTradeCancelled = NO_ORDERS;
    // The taker's account as a handle (NONE if it has no resting order): compared as numbers.
    const taker = this.accounts.find(order.account);
    let remaining = lots;

    let level = best;
    while (level !== NONE && remaining > 0 && opposite.crosses(levels.price[level], price)) {
      let maker = levels.head[level];
      while (maker !== NONE && remaining > 0) {
        const next = orders.next[maker];
        const makerLots = orders.lots[maker];
        if (orders.account[maker] === taker) {
          if (selfTradeCancelled === NO_ORDERS) selfTradeCancelled = [];
          selfTradeCancelled.push(this.resting(maker));
          this.unlink(maker);
        } else if (makerLots > remaining) {
          orders.lots[maker] = makerLots - remaining;
          levels.totalLots[level] -= remaining;
          this.fill(fillCount++, maker, level, order.id, remaining, makerLots - remaining);
          remaining = 0;
        } else {
          remaining -= makerLots;
          this.fill(fillCount++, maker, level, order.id, makerLots, 0);
          this.unlink(maker);
        }
        maker = next;
      }
      changes.push(this.change(level));
      if (levels.count[level] !== 0) break; // the taker is done: a level it did not empty stops it
      const emptied = level;
      level = opposite.after(emptied);
      opposite.delete(emptied, level);
    }

    let rested = false;
    if (remaining > 0 && mayRest) {
      if (restLevel === NONE) restLevel = own.create(order.priceTicks, price);
      this.rest(order, key, restLevel, remaining, seq);
      changes.push(this.change(restLevel));
      rested = true;
    }
    const remainingLots = remaining === lots ? order.lots : toBigint(remaining);
    let fills = NO_FILLS;
    if (fillCount !== 0) {
      fills = this.fillList;
      fills.length = fillCount;
    }
    return this.result(seq, fills, selfTradeCancelled, rested, remainingLots, changes);
  }

  /** The result of an accepted order: the book's one `PlaceResult`, overwritten. */
  private result(
    seq: number,
    fills: Fill[],
    selfTradeCancelled: RestingOrder[],
    rested: boolean,
    remainingLots: bigint,
    levels: LevelChange[],
  ): PlaceResult {
    const placed = this.placed;
    placed.seq = seq;
    placed.fills = fills;
    placed.selfTradeCancelled = selfTradeCancelled;
    placed.rested = rested;
    placed.remainingLots = remainingLots;
    placed.levels = levels;
    return placed;
  }

  /** Rests `lots` of `order` at the back of `level`. */
  private rest(order: NewOrder, key: number, level: number, lots: number, seq: number): void {
    const account = this.accounts.open(order.account);
    const h = this.orders.add(order.id, key, account, level, lots, order.flags, seq);
    this.append(level, h);
    this.index(h, account);
  }

  /** Removes a resting order. O(1), plus O(log levels) if its level empties. */
  cancel(id: string): ChangeResult | undefined {
    const h = this.handleOf(id);
    if (h === NONE) return undefined;
    const level = this.orders.level[h];
    const changed = this.changedOf(h, true);
    this.unlink(h);
    changed.levels = [this.change(level)];
    if (this.levels.count[level] === 0) this.sideOf(level).delete(level);
    return changed;
  }

  /**
   * Takes `lots` off a resting order, keeping its time priority; reducing by its whole size or
   * more removes it. Throws a RangeError unless lots ≥ 1.
   */
  reduce(id: string, lots: bigint): ChangeResult | undefined {
    if (lots < 1n) throw new RangeError(`reduce: lots must be at least 1, got ${lots}`);
    const h = this.handleOf(id);
    if (h === NONE) return undefined;
    // Exact: rounding to a double keeps order, and the order's lots are a safe integer.
    const n = Number(lots);
    if (n >= this.orders.lots[h]) return this.cancel(id);
    const level = this.orders.level[h];
    this.orders.lots[h] -= n;
    this.levels.totalLots[level] -= n;
    const changed = this.changedOf(h, false);
    changed.levels = [this.change(level)];
    return changed;
  }

  /**
   * Gives `lots` back to a resting order, keeping its time priority: for the size of a fill that
   * the chain skipped. (An order that has left the book comes back through `restore`.) Throws a
   * RangeError unless lots ≥ 1 and the order, and its price level, stay within 2^53-1 lots
   * (`MAX_BOOK_INTEGER`).
   */
  increase(id: string, lots: bigint): ChangeResult | undefined {
    if (lots < 1n) throw new RangeError(`increase: lots must be at least 1, got ${lots}`);
    const h = this.handleOf(id);
    if (h === NONE) return undefined;
    const n = Number(lots);
    const level = this.orders.level[h];
    if (this.levels.totalLots[level] + n > MAX_SAFE) {
      throw new RangeError(`increase: ${id} or its level would exceed 2^53-1 lots`);
    }
    this.orders.lots[h] += n;
    this.levels.totalLots[level] += n;
    const changed = this.changedOf(h, false);
    changed.levels = [this.change(level)];
    return changed;
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
    const key = this.byId.hash(order.id);
    const rejected = this.validate(order, key, price, lots) ?? this.validateRestore(order, price);
    if (rejected !== undefined) return { rejected, levels: NO_LEVELS };
    const side = order.isBuy ? this.bids : this.asks;
    const existing = side.get(price);
    let after = NONE;
    if (existing !== NONE) {
      if (this.levels.totalLots[existing] + lots > MAX_SAFE) return { rejected: "too-large", levels: NO_LEVELS };
      // Its place in time priority: after the last order with a lower seq (from the tail: O(1) in order).
      const orders = this.orders;
      after = this.levels.tail[existing];
      while (after !== NONE && orders.seq[after] > order.seq) after = orders.prev[after];
      if (after !== NONE && orders.seq[after] === order.seq) return { rejected: "invalid-seq", levels: NO_LEVELS };
    }
    const level = existing !== NONE ? existing : side.create(order.priceTicks, price);
    const account = this.accounts.open(order.account);
    const h = this.orders.add(order.id, key, account, level, lots, order.flags, order.seq);
    if (existing === NONE) this.append(level, h);
    else this.insertAfter(level, after, h);
    this.index(h, account);
    if (order.seq >= this.seqCounter) this.seqCounter = order.seq + 1;
    return { levels: [this.change(level)] };
  }

  /** The resting order with this id. */
  get(id: string): RestingOrder | undefined {
    const h = this.handleOf(id);
    return h === NONE ? undefined : this.resting(h);
  }

  /** The resting orders of `account`, earliest first. */
  ordersOf(account: string): RestingOrder[] {
    const a = this.accounts.find(account);
    const handles: number[] = [];
    if (a !== NONE) for (let h = this.accounts.head[a]; h !== NONE; h = this.orders.accountNext[h]) handles.push(h);
    return this.earliestFirst(handles);
  }

  /** Every resting order, earliest first: what `restore` takes, in order, to rebuild this book. */
  restingOrders(): RestingOrder[] {
    return this.earliestFirst(this.byId.handles());
  }

  /** The orders resting at one price, in time priority. */
  queue(isBuy: boolean, priceTicks: bigint): RestingOrder[] {
    const out: RestingOrder[] = [];
    // A price above MAX_BOOK_INTEGER rounds to 2^53 or more, where no level is.
    const level = (isBuy ? this.bids : this.asks).get(Number(priceTicks));
    if (level === NONE) return out;
    for (let h = this.levels.head[level]; h !== NONE; h = this.orders.next[h]) out.push(this.resting(h));
    return out;
  }

  /** Highest bid price, if any. */
  bestBid(): bigint | undefined {
    return this.bestOf(this.bids);
  }

  /** Lowest ask price, if any. */
  bestAsk(): bigint | undefined {
    return this.bestOf(this.asks);
  }

  /** The best `limit` aggregated levels of each side, best first. */
  depth(limit = Infinity): Depth {
    return { bids: this.bids.depth(limit), asks: this.asks.depth(limit) };
  }

  /** The handle of the resting order `id`, or `NONE`. */
  private handleOf(id: string): number {
    return this.byId.get(id, this.byId.hash(id));
  }

  private bestOf(side: BookSide): bigint | undefined {
    return side.best === NONE ? undefined : this.levels.priceTicks[side.best];
  }

  private earliestFirst(handles: number[]): RestingOrder[] {
    const seq = this.orders.seq;
    return handles.sort((a, b) => seq[a] - seq[b]).map((h) => this.resting(h));
  }

  /** `key` is the hash of `order.id`; `price` and `lots` are `Number(order.priceTicks)` and `Number(order.lots)`. */
  private validate(order: NewOrder, key: number, price: number, lots: number): RejectReason | undefined {
    if (this.byId.get(order.id, key) !== NONE) return "duplicate-id";
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
    if (opposite.best !== NONE && opposite.crosses(this.levels.price[opposite.best], price)) {
      return "would-cross";
    }
    return undefined;
  }

  /**
   * Whether the orders a taker of `account` with limit `price` crosses, less its own account's,
   * add up to `lots`. (Once `available` passes 2^53 it may round, but only upwards past `lots`.)
   */
  private canFill(opposite: BookSide, account: string, price: number, lots: number): boolean {
    const own = this.accounts.find(account);
    const { levels, orders } = this;
    let available = 0;
    for (let level = opposite.best; level !== NONE; level = opposite.after(level)) {
      if (!opposite.crosses(levels.price[level], price)) return false;
      if (own === NONE) {
        available += levels.totalLots[level];
      } else {
        for (let h = levels.head[level]; h !== NONE; h = orders.next[h]) {
          if (orders.account[h] !== own) available += orders.lots[h];
        }
      }
      if (available >= lots) return true;
    }
    return false;
  }

  private sideOf(level: number): BookSide {
    return this.levels.isBuy[level] === 1 ? this.bids : this.asks;
  }

  /** A copy for callers, so that nothing outside the book can change it. */
  private resting(h: number): RestingOrder {
    const { orders, levels } = this;
    const level = orders.level[h];
    return {
      id: orders.id[h] as string,
      account: this.accounts.name[orders.account[h]] as string,
      isBuy: levels.isBuy[level] === 1,
      priceTicks: levels.priceTicks[level],
      lots: toBigint(orders.lots[h]),
      flags: orders.flags[h],
      seq: orders.seq[h],
    };
  }

  /** The book's one `ChangeResult`, its `order` overwritten with order `h` as it is now. */
  private changedOf(h: number, removed: boolean): ReturnType<typeof newChanged> {
    const { orders, levels, changed } = this;
    const order = changed.order;
    const level = orders.level[h];
    order.id = orders.id[h] as string;
    order.account = this.accounts.name[orders.account[h]] as string;
    order.isBuy = levels.isBuy[level] === 1;
    order.priceTicks = levels.priceTicks[level];
    order.lots = toBigint(orders.lots[h]);
    order.flags = orders.flags[h];
    order.seq = orders.seq[h];
    changed.removed = removed;
    return changed;
  }

  /** Writes the `i`-th fill of this `place` into the book's `i`-th `Fill` object. */
  private fill(
    i: number,
    maker: number,
    level: number,
    takerId: string,
    lots: number,
    makerRemainingLots: number,
  ): void {
    let fill = this.fillPool[i];
    if (fill === undefined) this.fillPool.push((fill = newFill()));
    fill.makerId = this.orders.id[maker] as string;
    fill.takerId = takerId;
    fill.priceTicks = this.levels.priceTicks[level];
    fill.lots = toBigint(lots);
    fill.makerRemainingLots = toBigint(makerRemainingLots);
    this.fillList[i] = fill;
  }

  private change(level: number): LevelChange {
    const levels = this.levels;
    return {
      isBuy: levels.isBuy[level] === 1,
      priceTicks: levels.priceTicks[level],
      lots: toBigint(levels.totalLots[level]),
      orders: levels.count[level],
    };
  }

  /** Appends order `h` as the latest order of `level`. */
  private append(level: number, h: number): void {
    this.insertAfter(level, this.levels.tail[level], h);
  }

  /** Links order `h` into `level` right after order `after` (`NONE`: at the head). */
  private insertAfter(level: number, after: number, h: number): void {
    const { orders, levels } = this;
    const next = after === NONE ? levels.head[level] : orders.next[after];
    orders.prev[h] = after;
    orders.next[h] = next;
    if (after === NONE) levels.head[level] = h;
    else orders.next[after] = h;
    if (next === NONE) levels.tail[level] = h;
    else orders.prev[next] = h;
    levels.totalLots[level] += orders.lots[h];
    levels.count[level]++;
  }

  /** Adds order `h` to the id index and to the front of its account's list. */
  private index(h: number, account: number): void {
    const { orders, accounts } = this;
    this.byId.add(orders.hash[h], h);
    const head = accounts.head[account];
    orders.accountPrev[h] = NONE;
    orders.accountNext[h] = head;
    if (head !== NONE) orders.accountPrev[head] = h;
    accounts.head[account] = h;
    accounts.count[account]++;
  }

  /**
   * Takes order `h` out of its level and the indexes and frees its handle (read it before);
   * leaves an empty level for the caller.
   */
  private unlink(h: number): void {
    const { orders, levels, accounts } = this;
    const level = orders.level[h];
    const prev = orders.prev[h];
    const next = orders.next[h];
    if (prev === NONE) levels.head[level] = next;
    else orders.next[prev] = next;
    if (next === NONE) levels.tail[level] = prev;
    else orders.prev[next] = prev;
    levels.totalLots[level] -= orders.lots[h];
    levels.count[level]--;

    this.byId.delete(orders.hash[h], h);
    const account = orders.account[h];
    if (--accounts.count[account] === 0) {
      accounts.close(account);
    } else {
      const accountPrev = orders.accountPrev[h];
      const accountNext = orders.accountNext[h];
      if (accountPrev === NONE) accounts.head[account] = accountNext;
      else orders.accountNext[accountPrev] = accountNext;
      if (accountNext !== NONE) orders.accountPrev[accountNext] = accountPrev;
    }
    orders.release(h);
  }
}

/** `MAX_BOOK_INTEGER` as a number: 2^53-1. */
const MAX_SAFE = Number(MAX_BOOK_INTEGER);

/**
 * The empty arrays of results (no fills, no orders cancelled, no level changed): one frozen
 * array each, shared, so that an order that crosses nothing allocates only what it reports.
 */
const NO_FILLS = Object.freeze([]) as readonly Fill[] as Fill[];
const NO_ORDERS = Object.freeze([]) as readonly RestingOrder[] as RestingOrder[];
const NO_LEVELS = Object.freeze([]) as readonly LevelChange[] as LevelChange[];

/** A result object as the book fills it in. */
type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The objects a book hands out again and again (see `PlaceResult`): plain objects, made once
 * per book, so that they read (and compare) like the literals they replace. A rejected order
 * gets a new object instead (it is rare, and it has one more field, `rejected`).
 */
function newPlaced(): Writable<PlaceResult> {
  return {
    seq: 0,
    fills: NO_FILLS,
    selfTradeCancelled: NO_ORDERS,
    rested: false,
    remainingLots: 0n,
    levels: NO_LEVELS,
  };
}

function newFill(): Writable<Fill> {
  return { makerId: "", takerId: "", priceTicks: 0n, lots: 0n, makerRemainingLots: 0n };
}

function newChanged(): Omit<Writable<ChangeResult>, "order"> & { readonly order: Writable<RestingOrder> } {
  return {
    order: { id: "", account: "", isBuy: false, priceTicks: 0n, lots: 0n, flags: 0, seq: 0 },
    removed: false,
    levels: NO_LEVELS,
  };
}

function reject(order: NewOrder, rejected: RejectReason): PlaceResult {
  return {
    seq: -1,
    fills: NO_FILLS,
    selfTradeCancelled: NO_ORDERS,
    rested: false,
    remainingLots: order.lots,
    rejected,
    levels: NO_LEVELS,
  };
}
