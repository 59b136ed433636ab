/**
 * The signed orders resting in the engine's books, by hash, with an index of their expiry times:
 * what a reservation needs without a query, and what expiry walks — only the orders that expired,
 * in O(expired · log n), never every resting order.
 */
import BTree from "sorted-btree";
import type { Hex } from "viem";
import type { Order } from "@crossbook/sdk";

/** Expiry times in order; bigints compared as numbers. */
const byTime = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

export class RestingOrders {
  private readonly byHash = new Map<Hex, Order>();
  /**
   * The resting orders' hashes by expiry time. Orders share their expiry times (a client's orders
   * often expire in the same second), so an order's insert is a lookup among the distinct times and
   * an add to a set: it compared an order's expiry and then its hash with log n others before (a
   * shard at saturation spent some 8 µs an order in that comparator, `bench:shard`'s profile).
   */
  private readonly byExpiry = new BTree<bigint, Set<Hex>>(undefined, byTime);

  get size(): number {
    return this.byHash.size;
  }

  get(hash: Hex): Order | undefined {
    return this.byHash.get(hash);
  }

  set(hash: Hex, order: Order): void {
    if (this.byHash.has(hash)) return;
    this.byHash.set(hash, order);
    const sharing = this.byExpiry.get(order.expiry);
    if (sharing !== undefined) sharing.add(hash);
    else this.byExpiry.set(order.expiry, new Set([hash]));
  }

  /** Every resting order. */
  orders(): IterableIterator<Order> {
    return this.byHash.values();
  }

  /** Forgets every order (before a rebuild). */
  clear(): void {
    this.byHash.clear();
    this.byExpiry.clear();
  }

  delete(hash: Hex): void {
    const order = this.byHash.get(hash);
    if (order === undefined) return;
    this.byHash.delete(hash);
    const sharing = this.byExpiry.get(order.expiry);
    sharing?.delete(hash);
    if (sharing?.size === 0) this.byExpiry.delete(order.expiry);
  }

  /**
   * The resting orders whose `expiry` is before `nowSeconds` (the chain would skip them), earliest
   * first, and by hash among those of one time.
   */
  expiredBefore(nowSeconds: bigint): Hex[] {
    const out: Hex[] = [];
    for (const [expiry, hashes] of this.byExpiry.entries()) {
      if (expiry >= nowSeconds) break;
      // One time's hashes in order; pushed one by one (a spread of many thousands would overflow the stack).
      for (const hash of [...hashes].sort()) out.push(hash);
    }
    return out;
  }
}
