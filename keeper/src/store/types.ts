import type { Address, Hex } from "viem";
import type { Order } from "@crossbook/sdk";

/**
 * An order's life in the keeper. `open` and `partially-filled` orders rest in the book. (`rejected`
 * is never stored: the keeper keeps the orders it accepted only; the engine remembers recent
 * refusals in memory for a while.)
 */
export type OrderStatus = "open" | "partially-filled" | "filled" | "cancelled" | "rejected";
export type FillStatus = "pending" | "sent" | "settled" | "skipped";
export type BatchStatus = "sent" | "mined" | "replaced" | "dropped" | "reverted";

/** An order as the store holds it: the signed order, and what the keeper has done with it. */
export interface StoredOrder {
  readonly hash: Hex;
  /** The signed order, field by field as `IExchange.Order`. */
  readonly order: Order;
  readonly signature: Hex;
  readonly status: OrderStatus;
  /** Why it was cancelled or rejected; `undefined` otherwise. */
  readonly reason?: string;
  /** Lots matched by the keeper (pending, sent or settled fills); skipped fills give theirs back. */
  readonly filledLots: bigint;
  /** `order.lots - filledLots`: what the book holds of it while it rests. */
  readonly remainingLots: bigint;
  /** Lots of its fills settled on-chain. */
  readonly settledLots: bigint;
  /** The book's time priority; `undefined` for an order rejected before it reached the book. */
  readonly seq?: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A match between two stored orders, as the book's `Fill` gives it. */
export interface NewFill {
  readonly makerHash: Hex;
  readonly takerHash: Hex;
  readonly priceTicks: bigint;
  readonly lots: bigint;
  /** The fill this one matches again (the same orders and lots, after a skip that left both live). */
  readonly retries?: number;
}

export interface StoredFill extends NewFill {
  readonly id: number;
  readonly market: bigint;
  readonly status: FillStatus;
  /** The batch that carries (or carried) it; `undefined` while pending. */
  readonly batchId?: number;
  /** Why the chain (or the keeper) skipped it: a stable code such as `MakerCancelled`. */
  readonly skipReason?: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A settlement transaction, as signed, before it is broadcast. */
export interface NewBatch {
  readonly txHash: Hex;
  /** The signed transaction, so that it can be broadcast again, unchanged, after a restart. */
  readonly rawTx?: Hex;
  readonly nonce: bigint;
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
}

export interface StoredBatch extends NewBatch {
  readonly id: number;
  readonly status: BatchStatus;
  readonly blockNumber?: bigint;
  /** The batch this one replaced (same nonce, same fills, higher fees). */
  readonly replaces?: number;
  /** The fills it carries (for a `replaced` or `dropped` batch: carried). */
  readonly fillIds: readonly number[];
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** The parameters of `acceptOrder`: an order the book has just taken, and what it did. */
export interface AcceptOrderParameters {
  readonly hash: Hex;
  readonly order: Order;
  readonly signature: Hex;
  /** `PlaceResult.seq`. */
  readonly seq: number;
  /** `PlaceResult.fills`, this order as their taker. */
  readonly fills?: readonly NewFill[];
  /** `PlaceResult.selfTradeCancelled`: resting orders of the same account the book removed. */
  readonly selfTradeCancelled?: readonly Hex[];
  /** `PlaceResult.rested`: false for an IOC/FOK remainder, which is then cancelled (`not-rested`). */
  readonly rested: boolean;
  /** Milliseconds, the caller's clock. */
  readonly at: number;
}

/**
 * The parameters of `rematch`: a stored order whose lots came back (its fills never reached the
 * chain) placed in the book again, and what that placement did.
 */
export type RematchParameters = Omit<AcceptOrderParameters, "order" | "signature">;

/** Which of an account's orders a page holds: newest first, from the cursor `before` on. */
export interface AccountOrdersParameters {
  /** `open`: open and partially filled only; `all`: every order the keeper accepted. */
  readonly status: "open" | "all";
  readonly limit: number;
  /** The `next` of the page before. */
  readonly before?: string;
}

/** A page of an account's orders, newest first, and the cursor of the next page when there may be one. */
export interface OrderPage {
  readonly orders: StoredOrder[];
  readonly next?: string;
}

/** One of an account's fills, from its side: its order, and the transaction that settled or skipped it. */
export interface AccountFill {
  readonly fill: StoredFill;
  readonly side: "maker" | "taker";
  /** The account's order in it: `order.maker` is the account. */
  readonly order: Pick<Order, "isBuy" | "nonce">;
  readonly orderHash: Hex;
  /** The batch transaction, once one carried the fill (the mined one, once mined). */
  readonly txHash?: Hex;
  readonly blockNumber?: bigint;
}

export interface SkippedFill {
  readonly id: number;
  readonly reason: string;
}

/** What one reconciled block (or range) changed, written in one transaction with the block. */
export interface ReconcileParameters {
  readonly settled?: readonly number[];
  readonly skipped?: readonly SkippedFill[];
  /** The last block whose events are now in the store. */
  readonly lastReconciledBlock?: bigint;
  readonly at: number;
}

export type { Address, Hex, Order };
