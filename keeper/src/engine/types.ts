/**
 * The engine's seam with the rest of the keeper: what `submit` answers, and the updates it
 * publishes (book level changes, trades, each account's order updates) for the API's feed,
 * metrics and logs. Every quantity that is a `uint64` on-chain is a `bigint`; times are the
 * engine clock's milliseconds.
 */
import type { Address, Hex } from "viem";
import type { Order } from "@crossbook/sdk";
import type { LevelChange } from "../book";
import type { RiskCode } from "../risk";
import type { OrderStatus } from "../store";

/** Why the engine refused an order that the risk check passed, or before it ran. */
export const EngineCode = {
  /** The keeper already holds an order with this hash (a rejected one may be submitted again). */
  DUPLICATE_ORDER: "DUPLICATE_ORDER",
  /** The order's market is not one this keeper runs. */
  MARKET_NOT_SERVED: "MARKET_NOT_SERVED",
  /** A post-only order that would take liquidity. */
  POST_ONLY_WOULD_CROSS: "POST_ONLY_WOULD_CROSS",
  /** A fill-or-kill order that the book (less the maker's own orders) cannot fill in full. */
  FILL_OR_KILL_UNFILLABLE: "FILL_OR_KILL_UNFILLABLE",
  /** The account already has the most resting orders the keeper holds for one account. */
  TOO_MANY_OPEN_ORDERS: "TOO_MANY_OPEN_ORDERS",
  /** The chain could not be read for the risk check (RPC failure): try again. */
  CHAIN_UNAVAILABLE: "CHAIN_UNAVAILABLE",
  /**
   * The account is one the keeper has no record of (no accepted order, no deposit seen), and the
   * keeper is already reading the chain for as many such orders as it takes at once
   * (`maxStrangerReads`): try again after `Retry-After` (1 s). Known accounts are not held to it.
   */
  KEEPER_BUSY_FOR_NEW_ACCOUNTS: "KEEPER_BUSY_FOR_NEW_ACCOUNTS",
  /** The engine is stopping (or stopped after a fatal store error) and takes no orders. */
  STOPPED: "STOPPED",
  /**
   * This keeper stepped down (its lease lapsed or was taken) after the order was let in: nothing
   * was made; send it to the leader (a gateway does, once) after `Retry-After` (1 s).
   */
  NOT_LEADER: "NOT_LEADER",
  /** The order is below its market's minimum size or notional (`minimums` in the config): its fill could not pay for its gas. */
  ORDER_TOO_SMALL: "ORDER_TOO_SMALL",
  /** The order would take while the settlement backlog (or the account's share of it) is full: try again after `Retry-After`. */
  SETTLEMENT_BACKLOG: "SETTLEMENT_BACKLOG",
  /**
   * The order would take, and a fill of its account was skipped on-chain for a reason the account
   * caused (a residual option: a wallet that stopped approving, funds or limits changed) less than
   * the taker cooldown ago: try again after `Retry-After`. Resting orders are taken.
   */
  TAKER_COOLDOWN: "TAKER_COOLDOWN",
  /** An amend's order to replace is not open (filled, cancelled, unknown, or another account's): the new order is not placed. */
  ORDER_NOT_OPEN: "ORDER_NOT_OPEN",
} as const;
export type EngineCode = (typeof EngineCode)[keyof typeof EngineCode];

/** A rejection's code: the risk check's or the engine's. Stable strings, returned by the API. */
export type RejectCode = RiskCode | EngineCode;

/** One match the engine made, as the feed and the API show it. */
export interface TradeUpdate {
  /** The store's fill id: stable across restarts. */
  readonly fillId: number;
  readonly marketId: bigint;
  readonly makerHash: Hex;
  readonly takerHash: Hex;
  readonly maker: Address;
  readonly taker: Address;
  readonly makerIsBuy: boolean;
  /** The orders' nonces (their makers' client order ids). */
  readonly makerNonce: bigint;
  readonly takerNonce: bigint;
  readonly priceTicks: bigint;
  readonly lots: bigint;
  /** The fill this one matches again: the same orders and lots, after a skip that left both live. */
  readonly retries?: number;
  /** `matched`: off-chain, waiting for settlement; then `settled` or `skipped` on-chain. */
  readonly status: "matched" | "settled" | "skipped";
  readonly txHash?: Hex;
  readonly blockNumber?: bigint;
  /** The chain's `SkipReason` name, for a skipped trade. */
  readonly skipReason?: string;
  readonly at: number;
}

/** What happened to an order. */
export type OrderEvent =
  | "accepted"
  | "rejected"
  | "partially-filled"
  | "filled"
  | "cancelled"
  /** One of its fills was skipped on-chain; its lots came back (or, with `status` cancelled, it was pulled). */
  | "skipped"
  /** One of its fills was settled on-chain. */
  | "settled";

/** An order's new state, for its account's private feed. */
export interface OrderUpdate {
  readonly account: Address;
  readonly hash: Hex;
  readonly marketId: bigint;
  readonly event: OrderEvent;
  readonly status: OrderStatus;
  readonly filledLots: bigint;
  readonly remainingLots: bigint;
  /** Why it was rejected or cancelled, or the skip reason of a `skipped` event. */
  readonly reason?: string;
  /**
   * The fill this update reports (the `fillId` of its trade): on every `partially-filled` or `filled`
   * update a match caused (one per fill), and on `settled` and `skipped`.
   */
  readonly fillId?: number;
  readonly txHash?: Hex;
  readonly at: number;
}

/** The level changes of one book operation, in one update (one feed delta). */
export interface BookUpdate {
  readonly marketId: bigint;
  readonly levels: readonly LevelChange[];
  readonly at: number;
}

/** The updates the engine publishes, synchronously, right after its store commit. */
export interface EngineEvents {
  book: [BookUpdate];
  trade: [TradeUpdate];
  order: [OrderUpdate];
}

/** `submit`'s answer. */
export type SubmitResult =
  | {
      readonly ok: true;
      readonly hash: Hex;
      readonly status: OrderStatus;
      readonly filledLots: bigint;
      readonly remainingLots: bigint;
      /** The matches this order made as taker, at once. */
      readonly trades: readonly TradeUpdate[];
    }
  | {
      readonly ok: false;
      readonly hash?: Hex;
      readonly code: RejectCode;
      readonly message: string;
      /** For `SETTLEMENT_BACKLOG`: when to try again. */
      readonly retryAfterSeconds?: number;
    };

/**
 * An order checked for everything that needs no chain read (`Engine.prepare`): its shape, its
 * market, its hash, and whether its ECDSA signature is its maker's. What the API charges budgets
 * on before any chain read: a signed order to its maker, anything else to the sender's address.
 */
export type PreparedOrder =
  | {
      readonly ok: true;
      readonly hash: Hex;
      readonly order: Order;
      readonly signature: Hex;
      /** The signature recovers to the maker (ECDSA). Otherwise only a contract wallet (ERC-1271) can have signed it. */
      readonly signedByMaker: boolean;
      /** When the store held no order under `hash` (`RecentRecords.mark`); absent: not known, read again. */
      readonly absentAt?: number;
    }
  | Extract<SubmitResult, { ok: false }>;

/** A refusal the engine remembers for a while (nothing refused is stored): what `GET /v1/orders/{hash}` can still say. */
export interface RecentRefusal {
  readonly hash: Hex;
  readonly order: Order;
  readonly code: RejectCode;
  readonly message: string;
  readonly at: number;
}

/** The result of a soft cancel of one order. */
export type CancelOutcome = "cancelled" | "not-found" | "not-open" | "not-owner";

/** A fill's fate on-chain, as settlement read it from a mined batch. */
export type FillOutcome =
  | { readonly id: number; readonly settled: true }
  | { readonly id: number; readonly settled: false; readonly reason: string };

/** What `reconcile` takes: the outcomes of the fills of one mined transaction, or of fills the keeper skipped itself. */
export interface ReconcileBatch {
  readonly fills: readonly FillOutcome[];
  /**
   * The fills never reached the chain (the keeper's own skip, before sending): an IOC or FOK taker
   * is not over, and a taker not at fault is matched again at once rather than put back.
   */
  readonly neverSent?: boolean;
  /**
   * Orders the keeper blames (a simulation's named order): pulled once the skips have given their
   * lots back, before anything is matched again, so that nothing is matched against them again.
   */
  readonly culprits?: readonly { readonly hash: Hex; readonly reason: string }[];
  /** The mined transaction; absent for fills the keeper skipped itself (its simulation blamed them). */
  readonly txHash?: Hex;
  readonly blockNumber?: bigint;
  /** Saved with the outcomes, in the same store transaction. */
  readonly lastReconciledBlock?: bigint;
}

/** An order a batch names: by its hash, or by its maker's nonce (the client order id). */
export type OrderRef = { readonly hash: Hex } | { readonly nonce: bigint };

/** One action of a batch (`Engine.batch`): all of one account, done in order. */
export type BatchAction =
  | { readonly kind: "place"; readonly prepared: PreparedOrder }
  | { readonly kind: "cancel"; readonly target: OrderRef }
  /** Cancel-replace: the target leaves and the new order enters in one step, or neither happens. */
  | { readonly kind: "amend"; readonly target: OrderRef; readonly prepared: PreparedOrder };

/** The answer to one batch action. */
export type BatchOutcome =
  | { readonly kind: "place"; readonly result: SubmitResult }
  | { readonly kind: "cancel"; readonly hash?: Hex; readonly outcome: CancelOutcome }
  | { readonly kind: "amend"; readonly replaced?: Hex; readonly result: SubmitResult };
