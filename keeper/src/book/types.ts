import {
  FILL_OR_KILL as SDK_FILL_OR_KILL,
  IMMEDIATE_OR_CANCEL as SDK_IMMEDIATE_OR_CANCEL,
  POST_ONLY as SDK_POST_ONLY,
} from "@crossbook/sdk";

/**
 * The types the matching engine takes and returns. Every quantity that is a `uint64` on-chain
 * (`priceTicks`, `lots`) is a `bigint` here; `seq` is the book's own time-priority counter.
 * Inside, the book computes with plain numbers and converts once at its methods (see
 * `MAX_BOOK_INTEGER`).
 */

/** Order flag bits, as in the `Order.flags` field of the Exchange contract: the SDK's, as numbers. */
export const POST_ONLY = Number(SDK_POST_ONLY);
export const IMMEDIATE_OR_CANCEL = Number(SDK_IMMEDIATE_OR_CANCEL);
export const FILL_OR_KILL = Number(SDK_FILL_OR_KILL);
export const KNOWN_FLAGS = POST_ONLY | IMMEDIATE_OR_CANCEL | FILL_OR_KILL;

/** The largest value of a Solidity `uint64`: the bound of `priceTicks` and `lots`. */
export { MAX_UINT64 } from "@crossbook/sdk";

/**
 * The largest `lots` or `priceTicks` the book holds: 2^53-1, the largest integer a double holds
 * exactly. The book computes with numbers on its hot path (about twice as fast as `bigint`, see
 * keeper/README.md, "Book"), so an order above it, or one that would take the lots resting at
 * its price on its side above it, is refused `too-large`; the engine refuses such orders before
 * (`INVALID_ORDER`).
 */
export const MAX_BOOK_INTEGER = 2n ** 53n - 1n;

/** An order as it arrives at the book, already validated by the keeper's risk checks. */
export interface NewOrder {
  /** Unique within the book, e.g. the EIP-712 order hash. */
  readonly id: string;
  /** The maker address. Compared exactly: the caller passes one canonical spelling per account. */
  readonly account: string;
  readonly isBuy: boolean;
  /** Limit price, in ticks per lot, 1 ≤ priceTicks ≤ 2^64-1; the book takes ≤ 2^53-1 (`MAX_BOOK_INTEGER`). */
  readonly priceTicks: bigint;
  /** Size in lots, 1 ≤ lots ≤ 2^64-1; the book takes ≤ 2^53-1 (`MAX_BOOK_INTEGER`). */
  readonly lots: bigint;
  /** `POST_ONLY | IMMEDIATE_OR_CANCEL | FILL_OR_KILL` bits; 0 for a plain limit order. */
  readonly flags: number;
}

/** An order resting in the book. `lots` is what is left of it; `seq` is its time priority. */
export interface RestingOrder extends NewOrder {
  /** Lower is earlier. Assigned by `place`; given back to `restore` when the book is rebuilt. */
  readonly seq: number;
}

/** One match: `lots` traded at the maker's (resting order's) price. */
export interface Fill {
  readonly makerId: string;
  readonly takerId: string;
  readonly priceTicks: bigint;
  readonly lots: bigint;
  /** What is left of the maker order after this fill; 0 means it has left the book. */
  readonly makerRemainingLots: bigint;
}

/** The new state of one price level after an operation: what a market-data delta carries. */
export interface LevelChange {
  readonly isBuy: boolean;
  readonly priceTicks: bigint;
  /** Total lots resting at this price now; 0 means the level is gone. */
  readonly lots: bigint;
  /** Number of orders resting at this price now. */
  readonly orders: number;
}

/** Why `place` or `restore` refused an order. The book is unchanged by a refused order. */
export type RejectReason =
  /** An order with this id is resting in the book. */
  | "duplicate-id"
  /** `lots` is not in 1 ..= 2^64-1. */
  | "invalid-lots"
  /** `priceTicks` is not in 1 ..= 2^64-1. */
  | "invalid-price"
  /**
   * `lots` or `priceTicks` is a `uint64` above `MAX_BOOK_INTEGER` (2^53-1), or the order would
   * take the total lots resting at its price on its side above it.
   */
  | "too-large"
  /** Unknown flag bits, or POST_ONLY together with IMMEDIATE_OR_CANCEL or FILL_OR_KILL. */
  | "invalid-flags"
  /** A post-only order that would take liquidity. */
  | "post-only-would-cross"
  /** A fill-or-kill order that the book (less the taker's own orders) cannot fill in full. */
  | "fill-or-kill-unfillable"
  /** `restore`: the order would cross the opposite side, so it cannot rest without matching. */
  | "would-cross"
  /** `restore`: an immediate-or-cancel or fill-or-kill order, which never rests. */
  | "never-rests"
  /** `restore`: `seq` is not a non-negative safe integer, or another order at its price has it. */
  | "invalid-seq";

/**
 * What `place` did.
 *
 * **Read it before the next call that changes the book** (`place`, `cancel`, `reduce`,
 * `increase`, `restore`): for an accepted order, each book returns one and the same object, and
 * overwrites it, its `fills` array and the `Fill` objects in it at its next `place`. A caller
 * that keeps one of them finds another order's result in it later; copy what must outlive the
 * call. What a caller may keep: `levels` and the `LevelChange` objects in it, the
 * `selfTradeCancelled` orders, and a rejected order's result (a new object each). This spares
 * the garbage collector an object or more per operation (see keeper/README.md, "Book").
 *
 * Its arrays are for reading: an empty one is a single frozen array that every result shares (so
 * that an order that crosses nothing allocates none).
 */
export interface PlaceResult {
  /** The order's time priority if it was accepted (even if it did not rest); -1 if rejected. */
  readonly seq: number;
  /** In execution order. Overwritten, with its `Fill` objects, at the next `place`. */
  readonly fills: Fill[];
  /**
   * Resting orders of the taker's own account that the taker met and removed (self-trade
   * prevention, "cancel resting"): each as it was just before it was removed.
   */
  readonly selfTradeCancelled: RestingOrder[];
  /** Whether the remainder now rests in the book. */
  readonly rested: boolean;
  /** Lots not filled: resting if `rested`, else dropped (IOC/FOK) or never accepted (rejected). */
  readonly remainingLots: bigint;
  /** Set when the order was refused; then nothing else happened. */
  readonly rejected?: RejectReason;
  /** Every price level whose total changed, once each, with its final state. A new array: the caller may keep it. */
  readonly levels: LevelChange[];
}

/**
 * What `cancel`, `reduce` and `increase` did to a resting order. Like `PlaceResult`, one object
 * per book, `order` included, overwritten at the next call that changes the book: read it
 * before. `levels` is a new array each time, which the caller may keep.
 */
export interface ChangeResult {
  /**
   * The order after the change; if `removed`, as it was just before it left (`lots` = what was
   * left of it). Overwritten at the next call (copy it to keep it; `get` gives a new copy).
   */
  readonly order: RestingOrder;
  /** Whether the order has left the book. */
  readonly removed: boolean;
  readonly levels: LevelChange[];
}

/** What `restore` did. */
export interface RestoreResult {
  readonly rejected?: RejectReason;
  readonly levels: LevelChange[];
}

/** One aggregated price level of a depth snapshot. */
export interface DepthLevel {
  readonly priceTicks: bigint;
  readonly lots: bigint;
  readonly orders: number;
}

/** Aggregated levels per side, best first. */
export interface Depth {
  readonly bids: DepthLevel[];
  readonly asks: DepthLevel[];
}
