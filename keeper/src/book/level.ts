/**
 * One price level: the orders resting at one price on one side, in time priority, as an
 * intrusive doubly-linked list so that any order leaves it in O(1).
 *
 * Sizes are plain numbers (safe integers, ≤ `MAX_BOOK_INTEGER`): the book converts from and to
 * `bigint` once, at its public methods. Each node and level keeps its price both ways, so that
 * nothing is converted back on the way out.
 */
import type { LevelChange, RestingOrder } from "./types";

/** `BigInt(n)` for every n below this comes from a table: no allocation for the common sizes. */
const SMALL_BIGINTS = 1 << 14;
const smallBigints: bigint[] = Array.from({ length: SMALL_BIGINTS }, (_, n) => BigInt(n));

/** `BigInt(n)` for a safe integer n ≥ 0; the same `bigint` value each time for a small one. */
export function toBigint(n: number): bigint {
  return n < SMALL_BIGINTS ? smallBigints[n] : BigInt(n);
}

/** A resting order inside the book. Mutable; never handed out (see `toResting`). */
export class OrderNode {
  prev: OrderNode | undefined = undefined;
  next: OrderNode | undefined = undefined;
  level: Level | undefined = undefined;
  /** Neighbours in the list of its account's resting orders (unordered). */
  accountPrev: OrderNode | undefined = undefined;
  accountNext: OrderNode | undefined = undefined;
  /** The list it is in, while it rests. */
  owner: AccountOrders | undefined = undefined;

  constructor(
    readonly id: string,
    readonly account: string,
    readonly isBuy: boolean,
    /** The price as the caller gave it; `price` is the same value as a number. */
    readonly priceTicks: bigint,
    readonly price: number,
    public lots: number,
    readonly flags: number,
    readonly seq: number,
  ) {}

  /** A copy for callers, so that nothing outside the book can change it. */
  toResting(): RestingOrder {
    return {
      id: this.id,
      account: this.account,
      isBuy: this.isBuy,
      priceTicks: this.priceTicks,
      lots: toBigint(this.lots),
      flags: this.flags,
      seq: this.seq,
    };
  }
}

/** The resting orders of one account: an intrusive list through `OrderNode.accountNext`. */
export class AccountOrders {
  count = 1;
  constructor(public head: OrderNode | undefined) {}
}

export class Level {
  head: OrderNode | undefined = undefined;
  tail: OrderNode | undefined = undefined;
  /** Sum of `lots` of the orders in the list; kept ≤ `MAX_BOOK_INTEGER` by the book. */
  totalLots = 0;
  /** Number of orders in the list. */
  count = 0;

  constructor(
    readonly isBuy: boolean,
    readonly priceTicks: bigint,
    readonly price: number,
  ) {}

  /** Appends `node` as the latest order of the level. */
  append(node: OrderNode): void {
    node.level = this;
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.totalLots += node.lots;
    this.count++;
  }

  /**
   * Inserts `node` at its time priority: after the last order with a lower `seq`. Walks from the
   * tail, so it is O(1) when orders come in `seq` order (a rebuild). Returns false, and changes
   * nothing, if an order of the level already has `node.seq`.
   */
  insertBySeq(node: OrderNode): boolean {
    let after = this.tail;
    while (after !== undefined && after.seq > node.seq) after = after.prev;
    if (after !== undefined && after.seq === node.seq) return false;
    node.level = this;
    node.prev = after;
    node.next = after === undefined ? this.head : after.next;
    if (node.prev === undefined) this.head = node;
    else node.prev.next = node;
    if (node.next === undefined) this.tail = node;
    else node.next.prev = node;
    this.totalLots += node.lots;
    this.count++;
    return true;
  }

  /** Unlinks `node`, whatever its `lots` (the caller adjusts `totalLots` for a partial change). */
  remove(node: OrderNode): void {
    if (node.prev === undefined) this.head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
    node.level = undefined;
    this.totalLots -= node.lots;
    this.count--;
  }

  change(): LevelChange {
    return { isBuy: this.isBuy, priceTicks: this.priceTicks, lots: toBigint(this.totalLots), orders: this.count };
  }
}
