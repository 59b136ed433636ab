import type { Address } from "./types";

/**
 * Each account's highest nonce among the orders the store holds, kept in memory so that the
 * per-order questions about a new order — did the keeper ever hold this nonce of the maker
 * (`Store.hasNonce`, the risk read's `filled`), is this order stored already (the engine's
 * duplicate check), does the keeper know the account — are answered without a read of the
 * database when the nonce is above it, as a trader's next order's usually is. A nonce at or below
 * it is asked of the database.
 *
 * It is the highest nonce of the rows the writer's connection sees. An account's entry is read from
 * the table at its first use, raised by every write that stores an order (an insert, a follower's
 * pull), and every entry is read again after the writer's transaction was undone or the table
 * replaced (a follower's copy read again). Nothing else moves it: orders are never deleted, and a
 * cancel, a fill, a skipped fill or an expiry changes a row's status, not its account or nonce.
 * One entry (a bigint) per account asked about, at most `capacity` of them: past that (many new
 * accounts, each asking once) every entry is dropped and read again at its next use, which costs
 * reads, never a wrong answer.
 */
export class HighestNonces {
  /** Per account, as the store spells it: its highest nonce held, or -1n when it holds none. */
  private readonly highest = new Map<Address, bigint>();

  /**
   * @param readHighest the account's highest nonce in the table (-1n: none), as the writer sees it.
   * @param capacity the most accounts held before all are dropped.
   */
  constructor(
    private readonly readHighest: (account: Address) => bigint,
    private readonly capacity = 100_000,
  ) {}

  /** Whether every order of `account` the store holds has a nonce below `nonce` (so none is under it). */
  above(account: Address, nonce: bigint): boolean {
    let top = this.highest.get(account);
    if (top === undefined) {
      top = this.readHighest(account);
      if (this.highest.size >= this.capacity) this.highest.clear();
      this.highest.set(account, top);
    }
    return nonce > top;
  }

  /** A write stored an order of `account` under `nonce`. */
  stored(account: Address, nonce: bigint): void {
    const top = this.highest.get(account);
    // An account not read yet is read in full at its first use, this row included.
    if (top !== undefined && nonce > top) this.highest.set(account, nonce);
  }

  /** The writer's transaction was undone, or the table replaced: every account is read again at its next use. */
  forget(): void {
    this.highest.clear();
  }
}
