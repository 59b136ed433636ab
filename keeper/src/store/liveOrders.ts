import type { Address, Hex } from "./types";

/**
 * Each account's resting orders (status `open` or `partially-filled`), by hash, kept in memory by
 * the store instead of an index of the orders table: cancel-all and the account's open-order pages
 * read them. An index on (account, …) of the live rows cost every accepted order one more B-tree
 * page written at its commit (a quarter of a shard's working copy an order, measured by
 * `npm run bench:cluster-working-copy`); these sets cost a map entry.
 *
 * What it holds is a superset of the live rows the writer's connection sees, and so of the
 * committed ones: an order is added when a write makes it live, and taken out only once the write
 * that ended it is committed (an order ended in the open group still rests for the committed reader,
 * and a rollback puts it back). A rollback makes the sets stale: they are read again from the table
 * before the next use, as at start — what either connection sees live, the writer's open
 * transaction included. The reads keep only the rows that are live.
 */
/** A live order's row: its hash and its account. */
export interface LiveRow {
  readonly hash: Hex;
  readonly account: Address;
}

export class LiveOrders {
  private readonly byAccount = new Map<Address, Set<Hex>>();
  private readonly accountOf = new Map<Hex, Address>();
  /** Orders a write of the open transaction ended: taken out at its commit. */
  private readonly ending = new Set<Hex>();
  private stale = true;

  /**
   * @param readLive every live order's hash and account as the writer's connection sees them (its
   *   open transaction included), and as the committed reader does: read when the sets are stale (at
   *   the first use, after a rollback, after the copy was replaced).
   */
  constructor(
    private readonly readLive: () => {
      readonly writer: readonly LiveRow[];
      readonly committed: readonly LiveRow[];
    },
  ) {}

  /** The hashes that may be `account`'s resting orders (every one that is, and a few just ended). */
  of(account: Address): readonly Hex[] {
    if (this.stale) this.reset();
    const set = this.byAccount.get(account);
    return set === undefined ? [] : [...set];
  }

  /** A write made the order live (inserted, or lots given back). */
  add(hash: Hex, account: Address): void {
    if (this.stale) return; // read again in full before the next use
    this.ending.delete(hash);
    if (this.accountOf.has(hash)) return;
    this.accountOf.set(hash, account);
    let set = this.byAccount.get(account);
    if (set === undefined) {
      set = new Set();
      this.byAccount.set(account, set);
    }
    set.add(hash);
  }

  /** A write ended the order (cancelled, filled): it goes at the commit of that write. */
  end(hash: Hex): void {
    if (!this.stale && this.accountOf.has(hash)) this.ending.add(hash);
  }

  /** The open transaction committed: the orders it ended go. */
  committed(): void {
    for (const hash of this.ending) this.remove(hash);
    this.ending.clear();
  }

  /** The open transaction was rolled back, or the table was replaced: read again before the next use. */
  invalidate(): void {
    this.stale = true;
    this.ending.clear();
  }

  /** Rows written in a committed transaction of their own (a follower's pull): live ones in, the others out. */
  loaded(rows: readonly { hash: Hex; account: Address; live: boolean }[]): void {
    for (const r of rows) {
      if (r.live) this.add(r.hash, r.account);
      else this.remove(r.hash);
    }
  }

  private remove(hash: Hex): void {
    const account = this.accountOf.get(hash);
    if (account === undefined) return;
    this.accountOf.delete(hash);
    this.ending.delete(hash);
    const set = this.byAccount.get(account);
    set?.delete(hash);
    if (set?.size === 0) this.byAccount.delete(account);
  }

  private reset(): void {
    this.byAccount.clear();
    this.accountOf.clear();
    this.ending.clear();
    this.stale = false;
    const { writer, committed } = this.readLive();
    for (const { hash, account } of writer) this.add(hash, account);
    // Live for the committed reader only: ended by the writer's open transaction, gone at its commit.
    for (const { hash, account } of committed) {
      if (this.accountOf.has(hash)) continue;
      this.add(hash, account);
      this.ending.add(hash);
    }
  }
}
