/**
 * A market's book kept locally from the feed: a snapshot, then deltas applied strictly in `seq`
 * order. It never guesses: a delta whose `seq` is not the last one + 1 is not applied, and the
 * caller learns whether it was stale (already included) or a gap (a message was lost).
 */
import type { KeeperBook, KeeperLevel } from "./wire";

/** One level change of a book delta: the level's new totals (`lots` 0: the level is gone). */
export interface KeeperLevelChange extends KeeperLevel {
  side: "bid" | "ask";
}

/** What became of a delta: applied, already included (stale), or not applicable because one is missing (gap). */
export type ApplyDeltaOutcome = "applied" | "stale" | "gap";

export class LocalBook {
  private readonly bids = new Map<bigint, KeeperLevel>();
  private readonly asks = new Map<bigint, KeeperLevel>();
  private seq: bigint | undefined;

  constructor(readonly marketId: bigint) {}

  /** The `seq` of the last message applied, or `undefined` before the first snapshot. */
  get lastSeq(): bigint | undefined {
    return this.seq;
  }

  /** Replaces the whole book with a snapshot as of `seq`. */
  reset(seq: bigint, bids: readonly KeeperLevel[], asks: readonly KeeperLevel[]): void {
    this.bids.clear();
    this.asks.clear();
    for (const level of bids) if (level.lots > 0n) this.bids.set(level.priceTicks, { ...level });
    for (const level of asks) if (level.lots > 0n) this.asks.set(level.priceTicks, { ...level });
    this.seq = seq;
  }

  /** Forgets the book (it is no longer known to be current). */
  clear(): void {
    this.bids.clear();
    this.asks.clear();
    this.seq = undefined;
  }

  /** Applies a delta if its `seq` is the next one. */
  apply(seq: bigint, changes: readonly KeeperLevelChange[]): ApplyDeltaOutcome {
    if (this.seq === undefined) return "gap";
    if (seq <= this.seq) return "stale";
    if (seq !== this.seq + 1n) return "gap";
    for (const change of changes) {
      const side = change.side === "bid" ? this.bids : this.asks;
      if (change.lots === 0n) side.delete(change.priceTicks);
      else side.set(change.priceTicks, { priceTicks: change.priceTicks, lots: change.lots, orders: change.orders });
    }
    this.seq = seq;
    return "applied";
  }

  /** A copy of the book, best levels first (bids highest first, asks lowest first). */
  view(): KeeperBook {
    const bids = [...this.bids.values()].sort((a, b) => (a.priceTicks > b.priceTicks ? -1 : 1));
    const asks = [...this.asks.values()].sort((a, b) => (a.priceTicks < b.priceTicks ? -1 : 1));
    return {
      marketId: this.marketId,
      seq: this.seq ?? 0n,
      bids: bids.map((l) => ({ ...l })),
      asks: asks.map((l) => ({ ...l })),
    };
  }
}
