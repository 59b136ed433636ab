/**
 * The signed orders resting in the engine's books, by hash, with an index of their expiry times:
 * what a reservation needs without a query, and what expiry walks — only the orders that expired,
 * in O(expired · log n), never every resting order.
 */
import BTree from "sorted-btree";
import type { Hex } from "viem";
import type { Order } from "@crossbook/sdk";

type ExpiryKey = readonly [expiry: bigint, hash: Hex];

const byExpiryThenHash = (a: ExpiryKey, b: ExpiryKey): number =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;

export class RestingOrders {
  private readonly byHash = new Map<Hex, Order>();
  private readonly byExpiry = new BTree<ExpiryKey, true>(undefined, byExpiryThenHash);

  get size(): number {
    return this.byHash.size;
  }

  get(hash: Hex): Order | undefined {
    return this.byHash.get(hash);
  }

  set(hash: Hex, order: Order): void {
    if (this.byHash.has(hash)) return;
    this.byHash.set(hash, order);
    this.byExpiry.set([order.expiry, hash], true);
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
    this.byExpiry.delete([order.expiry, hash]);
  }

  /** The resting orders whose `expiry` is before `nowSeconds` (the chain would skip them), earliest first. */
  expiredBefore(nowSeconds: bigint): Hex[] {
    const out: Hex[] = [];
    for (const [[expiry, hash]] of this.byExpiry.entries()) {
      if (expiry >= nowSeconds) break;
      out.push(hash);
    }
    return out;
  }
}
