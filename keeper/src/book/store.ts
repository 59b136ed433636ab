/**
 * Where the book keeps its orders, price levels and accounts: pools of records addressed by
 * integer handles, each field in its own typed array (a "struct of arrays"), with a free list.
 * The hot path reads and writes numbers in a few contiguous arrays instead of chasing objects,
 * and a resting order costs no object of its own (only its id string, which the caller made).
 *
 * Lists are intrusive and doubly linked through handles (`NONE` ends them): the orders of a
 * level in time priority (so that any order leaves it in O(1)) and the orders of an account.
 *
 * Sizes are plain numbers (safe integers, ≤ `MAX_BOOK_INTEGER`): the book converts from and to
 * `bigint` once, at its public methods. A level keeps its price both ways, so that nothing is
 * converted back on the way out.
 */

/** The handle of no record: the end of a list, an absent level. */
export const NONE = -1;

/** `BigInt(n)` for every n below this comes from a table: no allocation for the common sizes. */
const SMALL_BIGINTS = 1 << 14;
const smallBigints: bigint[] = Array.from({ length: SMALL_BIGINTS }, (_, n) => BigInt(n));

/** `BigInt(n)` for a safe integer n ≥ 0; the same `bigint` value each time for a small one. */
export function toBigint(n: number): bigint {
  return n < SMALL_BIGINTS ? smallBigints[n] : BigInt(n);
}

const INITIAL_CAPACITY = 1024;

function grown<T extends Int32Array | Float64Array | Uint8Array>(array: T, capacity: number): T {
  const bigger = new (array.constructor as new (n: number) => T)(capacity);
  bigger.set(array);
  return bigger;
}

/** Handles from 0 up, reused last-freed first through a free list. */
abstract class Pool {
  capacity = INITIAL_CAPACITY;
  /** Handles ever handed out: every handle below it is in use or in the free list. */
  private used = 0;
  private readonly freed: number[] = [];

  /** A handle, in use until `release`; its fields hold whatever they held. */
  protected take(): number {
    if (this.freed.length !== 0) return this.freed.pop() as number;
    const handle = this.used++;
    if (handle === this.capacity) {
      this.capacity *= 2;
      this.grow(this.capacity);
    }
    return handle;
  }

  protected give(handle: number): void {
    this.freed.push(handle);
  }

  /** Makes every field array `capacity` long, keeping what it holds. */
  protected abstract grow(capacity: number): void;
}

/** The resting orders. The price and side of an order are its level's. */
export class Orders extends Pool {
  readonly id: (string | undefined)[] = [];
  /** The hash of its id in the book's `IdIndex`. */
  hash = new Int32Array(INITIAL_CAPACITY);
  lots = new Float64Array(INITIAL_CAPACITY);
  seq = new Float64Array(INITIAL_CAPACITY);
  flags = new Uint8Array(INITIAL_CAPACITY);
  /** Its level's handle. */
  level = new Int32Array(INITIAL_CAPACITY);
  /** Neighbours in its level, in time priority. */
  prev = new Int32Array(INITIAL_CAPACITY);
  next = new Int32Array(INITIAL_CAPACITY);
  /** Its account's handle, and its neighbours in the list of that account's orders (unordered). */
  account = new Int32Array(INITIAL_CAPACITY);
  accountPrev = new Int32Array(INITIAL_CAPACITY);
  accountNext = new Int32Array(INITIAL_CAPACITY);

  /** A new order, in no list yet. */
  add(id: string, hash: number, account: number, level: number, lots: number, flags: number, seq: number): number {
    const h = this.take();
    if (h === this.id.length) this.id.push(id);
    else this.id[h] = id;
    this.hash[h] = hash;
    this.account[h] = account;
    this.level[h] = level;
    this.lots[h] = lots;
    this.flags[h] = flags;
    this.seq[h] = seq;
    return h;
  }

  release(h: number): void {
    this.id[h] = undefined;
    this.give(h);
  }

  protected grow(capacity: number): void {
    this.hash = grown(this.hash, capacity);
    this.lots = grown(this.lots, capacity);
    this.seq = grown(this.seq, capacity);
    this.flags = grown(this.flags, capacity);
    this.level = grown(this.level, capacity);
    this.prev = grown(this.prev, capacity);
    this.next = grown(this.next, capacity);
    this.account = grown(this.account, capacity);
    this.accountPrev = grown(this.accountPrev, capacity);
    this.accountNext = grown(this.accountNext, capacity);
  }
}

/** The price levels of both sides: the orders at one price on one side, in time priority. */
export class Levels extends Pool {
  readonly priceTicks: bigint[] = [];
  price = new Float64Array(INITIAL_CAPACITY);
  isBuy = new Uint8Array(INITIAL_CAPACITY);
  head = new Int32Array(INITIAL_CAPACITY);
  tail = new Int32Array(INITIAL_CAPACITY);
  /** Sum of the lots of its orders; kept ≤ `MAX_BOOK_INTEGER` by the book. */
  totalLots = new Float64Array(INITIAL_CAPACITY);
  /** Number of its orders. */
  count = new Int32Array(INITIAL_CAPACITY);

  /** A new, empty level. */
  add(isBuy: boolean, priceTicks: bigint, price: number): number {
    const h = this.take();
    if (h === this.priceTicks.length) this.priceTicks.push(priceTicks);
    else this.priceTicks[h] = priceTicks;
    this.price[h] = price;
    this.isBuy[h] = isBuy ? 1 : 0;
    this.head[h] = NONE;
    this.tail[h] = NONE;
    this.totalLots[h] = 0;
    this.count[h] = 0;
    return h;
  }

  release(h: number): void {
    this.give(h);
  }

  protected grow(capacity: number): void {
    this.price = grown(this.price, capacity);
    this.isBuy = grown(this.isBuy, capacity);
    this.head = grown(this.head, capacity);
    this.tail = grown(this.tail, capacity);
    this.totalLots = grown(this.totalLots, capacity);
    this.count = grown(this.count, capacity);
  }
}

/** The accounts with resting orders, each with the head of the list of its orders. */
export class Accounts extends Pool {
  private readonly byName = new Map<string, number>();
  readonly name: (string | undefined)[] = [];
  count = new Int32Array(INITIAL_CAPACITY);
  head = new Int32Array(INITIAL_CAPACITY);

  /** The handle of `name`, or `NONE` if it has no resting order. */
  find(name: string): number {
    return this.byName.get(name) ?? NONE;
  }

  /** The handle of `name`, a new one (no orders, empty list) if it had none. */
  open(name: string): number {
    const found = this.byName.get(name);
    if (found !== undefined) return found;
    const h = this.take();
    if (h === this.name.length) this.name.push(name);
    else this.name[h] = name;
    this.count[h] = 0;
    this.head[h] = NONE;
    this.byName.set(name, h);
    return h;
  }

  /** Forgets an account whose last order has left. */
  close(h: number): void {
    this.byName.delete(this.name[h] as string);
    this.name[h] = undefined;
    this.give(h);
  }

  protected grow(capacity: number): void {
    this.count = grown(this.count, capacity);
    this.head = grown(this.head, capacity);
  }
}
