/**
 * The engine: the one place where an order goes through the risk check, the book and the store,
 * and where settlement's outcomes come back. It owns one `OrderBook` per market served, keeps the
 * books and the store in step, and publishes what changed (`book`, `trade`, `order` events) for the
 * API's feed, metrics and logs — right after the store has committed it, never before.
 *
 * What it promises:
 * - An order is answered `ok` only after the store has committed it with everything its matching
 *   did; the books can always be rebuilt from the store (`Engine.open`).
 * - Nothing is published before its commit: a state change's events wait for the group commit
 *   (or the transaction) that writes it, and are dropped if that commit fails.
 * - Orders of one account are checked and placed one at a time (an account's reservation never
 *   races with itself); different accounts' risk reads run concurrently. The next is checked once
 *   the one before is written in the open group commit, not once it is durable, so an account's
 *   burst shares commits.
 * - A refused order is answered and remembered a while in memory (bounded), never stored; a
 *   refusal that rests on a cached chain fact is confirmed against the chain's head first.
 * - A fill the chain skipped gives its lots back to the order that was not at fault; the one at
 *   fault is pulled (and every order of an account whose balance fell short). A fill skipped for
 *   the market's velocity limit is matched again for a later block. A fill that never reached the
 *   chain (the keeper's own skip) matches its taker again at once. See keeper/README.md, "Engine".
 * - A store error is fatal: the engine stops taking orders (`STOPPED`) and emits `fatal`, because
 *   its books may no longer match the store; the process restarts and rebuilds from the file.
 */
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { getAddress, isAddressEqual, type Address, type Hex } from "viem";
import {
  FILL_OR_KILL,
  hashOrder,
  IMMEDIATE_OR_CANCEL,
  MAX_UINT64,
  POST_ONLY,
  sdkReady,
  validateOrder,
  type ExchangeDomainParameters,
  type Order,
  type SignedOrder,
  type SkipReasonName,
} from "@crossbook/sdk";
import {
  MAX_BOOK_INTEGER,
  OrderBook,
  type Depth,
  type LevelChange,
  type NewOrder,
  type PlaceResult,
  type RejectReason,
} from "../book";
import { silentLogger, type Logger } from "../log";
import {
  checkOrder,
  checkOrderNow,
  isPending,
  NodeBusyError,
  UncreditedAccountError,
  orderReservation,
  RiskCode,
  type Fact,
  type KeeperRiskState,
  type ReservationMarket,
  type ReservingOrder,
  type RiskContext,
  type RiskDecision,
} from "../risk";
import { recoverOrderSigner } from "../sigcheck";
import type { NewFill, Pulled, Store, StoredFill, StoredOrder } from "../store";
import { RecentRefusals } from "./refusals";
import { RecentRecords } from "./recorded";
import { ReservationLedger, TouchingBook } from "./reserved";
import { RestingOrders } from "./resting";
import {
  EngineCode,
  type BatchAction,
  type BatchOutcome,
  type BookUpdate,
  type CancelOutcome,
  type EngineEvents,
  type OrderEvent,
  type OrderRef,
  type OrderUpdate,
  type PreparedOrder,
  type ReconcileBatch,
  type RecentRefusal,
  type RejectCode,
  type SubmitResult,
  type TradeUpdate,
} from "./types";

/** Reads the chain state the risk check needs for one order (`readRiskContext`, or a cached variant). */
export type ReadRiskContext = (signed: SignedOrder, keeperState: KeeperRiskState) => Promise<RiskContext>;

export interface EngineOptions {
  readonly store: Store;
  /** The markets this keeper runs (`config.markets`). */
  readonly markets: readonly bigint[];
  /** The Exchange's EIP-712 domain: the keeper's chain id and Exchange address. */
  readonly domain: ExchangeDomainParameters;
  readonly readRiskContext: ReadRiskContext;
  /** Milliseconds; `Date.now` by default. Only used to stamp records and updates. */
  readonly clock?: () => number;
  /**
   * Milliseconds, monotonic; `performance.now` by default: how long a slice of a sweep has run
   * (it yields to the event loop after `SLICE_BUDGET_MS`).
   */
  readonly workClock?: () => number;
  readonly log?: Logger;
  /**
   * The most orders one account may have resting, over every market (default 1,000): a trader
   * with a large balance cannot fill the keeper's memory with tiny orders.
   */
  readonly maxOpenOrdersPerAccount?: number;
  /** ECDSA recovery of an order's signer (default: `keeper/src/sigcheck`'s, native). */
  readonly recoverSigner?: (
    order: Order,
    signature: Hex,
    domain: ExchangeDomainParameters,
  ) => Promise<Address | undefined>;
  /**
   * Whether an account has code, so that a contract wallet (ERC-1271) may have signed for it: an
   * order whose ECDSA signature is not its maker's is refused at once when this says no. Absent:
   * the risk check decides (it reads the code too).
   */
  readonly hasCode?: (account: Address) => Promise<boolean>;
  /**
   * Brings the cached chain facts to the chain's head, and `account`'s read at an earlier block
   * afresh; resolves true when they moved (or could not be confirmed). A refusal that rests on a
   * cached fact is checked again when they did.
   */
  readonly freshen?: (account: Address) => Promise<boolean>;
  /**
   * Starts (does not await) the chain reads of `order`'s facts that no reservation of the keeper's
   * moves, for an order that will wait behind its account's earlier ones: at its turn its risk read
   * finds them in the block's memo. Never throws; may decline (a stranger's reads wait for its turn
   * and the budget of node work for strangers). Absent: nothing is read ahead.
   */
  readonly readAhead?: (order: Order) => void;
  /**
   * Told how long an order waited (ms, by `clock`) behind its account's earlier orders (`queue`), for
   * its checks up to the book (`check`: the risk read among them) and for its group commit
   * (`commit`): metrics, and the API's timing of the order (`hash`).
   */
  readonly onOrderStage?: (stage: "queue" | "check" | "commit", maker: Address, ms: number, hash: Hex) => void;
  /** Per market: the least lots and notional (quote atoms at the order's limit price) an order may have. */
  readonly minimums?: ReadonlyMap<bigint, { readonly lots?: bigint; readonly notional?: bigint }>;
  /**
   * The settlement backlog's bounds: orders that would take are refused (`SETTLEMENT_BACKLOG`) while
   * this many fills are pending, or this many of them taken by the order's maker. Resting orders
   * are still accepted. Absent: unbounded.
   */
  readonly backlog?: {
    readonly maxPendingFills: number;
    readonly maxPendingFillsPerAccount: number;
    /** Seconds a refused taker is told to wait (default: 1 + one second per batch of 50 pending fills). */
    readonly retryAfterSeconds?: (pending: number) => number;
  };
  /** How many refusals are remembered, and for how long (default 10,000, 10 minutes). */
  readonly refusals?: { readonly max: number; readonly ttlMs: number };
  /**
   * Seconds within which the keeper lands what it matches: an order whose cancel-after deadline
   * falls within them is refused and pulled (`CANCEL_AFTER_PASSED`). Default 0.
   */
  readonly horizonSeconds?: number;
  /**
   * Seconds (of `clock`) an account's orders that would take are refused (`TAKER_COOLDOWN`) after a
   * fill of its was skipped on-chain for a reason it caused (`SKIP_POLICY`'s `rations`). 0 or absent: never.
   */
  readonly takerCooldownSeconds?: number;
  /**
   * A follower's engine (several keepers on one PostgreSQL): its books follow the store, which only
   * the leader writes (`follow`), and it writes nothing until `promote`. Default false.
   */
  readonly following?: boolean;
  /**
   * A shard's claims (keeper/src/cluster/claims.ts): an order that passes the risk check is
   * accepted only once the shard's claim on the token it spends covers everything its maker would
   * reserve here with it (`total`), within `balance` less the other shards' claims; else it is
   * refused `INSUFFICIENT_BALANCE`. Absent (a single keeper): nothing is asked.
   */
  readonly claims?: {
    cover(
      account: Address,
      token: Address,
      total: bigint,
      balance: bigint,
    ): Fact<{ readonly ok: true } | { readonly ok: false; readonly free: bigint }>;
  };
}

/** How settlement's skip of a fill is answered: which order was at fault, and whether to match again. */
interface SkipPolicy {
  /** The order(s) pulled from the book. */
  readonly pull: "maker" | "taker" | "none";
  /** Pull every order of the pulled order's account (its balance fell short). */
  readonly pullAccount?: boolean;
  /** Record the same match again for a later block (the limit resets every block). */
  readonly retry?: boolean;
  /**
   * The account at fault caused the skip after the match (a residual option: a wallet that stopped
   * approving, funds withdrawn, a cancel or limit in force before the batch landed): its orders that
   * would take are refused for `takerCooldownSeconds`.
   */
  readonly rations?: boolean;
}

/**
 * The answer to each `SkipReason` the chain can give, keyed by the SDK's names: a reason added to the
 * SDK fails to compile here until it is answered. A reason the chain reports that this keeper does
 * not know (a newer contract) pulls the taker, the conservative choice.
 */
const SKIP_POLICY: Readonly<Record<Exclude<SkipReasonName, "None">, SkipPolicy>> = {
  MakerCancelled: { pull: "maker", rations: true },
  TakerCancelled: { pull: "taker", rations: true },
  MakerExpired: { pull: "maker" },
  TakerExpired: { pull: "taker" },
  MakerNonceBelowFloor: { pull: "maker", rations: true },
  TakerNonceBelowFloor: { pull: "taker", rations: true },
  MakerBalanceTooLow: { pull: "maker", pullAccount: true, rations: true },
  TakerBalanceTooLow: { pull: "taker", pullAccount: true, rations: true },
  MakerFeeTooHigh: { pull: "maker" },
  TakerFeeTooHigh: { pull: "taker" },
  MakerSignatureRejected: { pull: "maker", rations: true },
  TakerSignatureRejected: { pull: "taker", rations: true },
  SelfTrade: { pull: "taker" },
  // The fill-or-kill taker is over (the store cancels what is left of it); the maker gets its lots back.
  FillOrKillIncomplete: { pull: "none" },
  // A halted market or a missing reference: the two orders would cross in the book, so the aggressor goes.
  MarketHalted: { pull: "taker" },
  ReferencePriceUnavailable: { pull: "taker" },
  // The fill's price is the maker's limit: that is the price the band refused.
  PriceOutsideBand: { pull: "maker" },
  VelocityLimitReached: { pull: "none", retry: true },
  MakerCancelAfterPassed: { pull: "maker", pullAccount: true, rations: true },
  TakerCancelAfterPassed: { pull: "taker", pullAccount: true, rations: true },
  MakerWindowLimitReached: { pull: "maker", rations: true },
  TakerWindowLimitReached: { pull: "taker", rations: true },
};

const BOOK_REJECT_CODE: Readonly<Record<RejectReason, RejectCode>> = {
  "post-only-would-cross": EngineCode.POST_ONLY_WOULD_CROSS,
  "fill-or-kill-unfillable": EngineCode.FILL_OR_KILL_UNFILLABLE,
  // The risk check refuses these before the book sees them; kept for completeness.
  "duplicate-id": EngineCode.DUPLICATE_ORDER,
  "invalid-lots": "ZERO_LOTS",
  "invalid-price": "ZERO_PRICE",
  "invalid-flags": "INVALID_FLAGS",
  "too-large": "INVALID_ORDER",
  "would-cross": "INVALID_ORDER",
  "never-rests": "INVALID_ORDER",
  "invalid-seq": "INVALID_ORDER",
};

/** Refusals that are answered and forgotten: the maker did not sign it, or it is malformed. */
const NOT_REMEMBERED: ReadonlySet<string> = new Set([
  "BAD_SIGNATURE",
  "SIGNATURE_REJECTED",
  "INVALID_ORDER",
  "INVALID_FLAGS",
  "ZERO_LOTS",
  "ZERO_PRICE",
]);

/**
 * Refusals that rest on a chain fact the keeper caches for a block (a balance, a nonce floor, a
 * cancellation, …): confirmed against the chain's head before they are given.
 */
const CACHED_FACT: ReadonlySet<RejectCode> = new Set<RejectCode>([
  RiskCode.PAUSED,
  RiskCode.SIGNATURE_REJECTED,
  RiskCode.EXPIRED,
  RiskCode.NONCE_BELOW_FLOOR,
  RiskCode.CANCEL_AFTER_PASSED,
  RiskCode.CANCELLED,
  RiskCode.NONCE_USED_UP,
  RiskCode.MAX_FEE_TOO_LOW,
  RiskCode.MARKET_HALTED,
  RiskCode.NO_REFERENCE_PRICE,
  RiskCode.PRICE_OUTSIDE_BAND,
  RiskCode.VELOCITY_LIMIT,
  RiskCode.WINDOW_LIMIT,
  RiskCode.INSUFFICIENT_BALANCE,
]);

/**
 * What `recheck` pulls a resting order for: what its account did on-chain (README "Firm matches") —
 * a cancel or floor raise asked, funds asked out, a cancel-after deadline within the horizon, a
 * tighter window limit, a wallet that stopped approving. Market conditions (pause, halt, band,
 * velocity) are not judged there: they pass, and the order rests.
 */
const PULLED_ON_RECHECK: ReadonlySet<RejectCode> = new Set<RejectCode>([
  RiskCode.BAD_SIGNATURE,
  RiskCode.SIGNATURE_REJECTED,
  RiskCode.NONCE_BELOW_FLOOR,
  RiskCode.CANCEL_AFTER_PASSED,
  RiskCode.CANCELLED,
  RiskCode.NONCE_USED_UP,
  RiskCode.WINDOW_LIMIT,
  RiskCode.INSUFFICIENT_BALANCE,
]);

/** The reason a resting order pulled by `recheck` carries (`chain-<RiskCode>`): the feed shows it. */
export const chainPullReason = (code: RejectCode): string => `chain-${code}`;

/** `validateOrder` problems that the risk check reports with its own codes. */
const LEFT_TO_RISK: ReadonlySet<string> = new Set(["ZERO", "UNKNOWN_FLAGS", "CONFLICTING_FLAGS", "BAD_CHECKSUM"]);

const isLive = (o: StoredOrder) => o.status === "open" || o.status === "partially-filled";

/** Expired orders cancelled in one go before the sweep yields to the event loop. */
export const EXPIRY_SLICE = 100;

/**
 * Milliseconds (of `EngineOptions.workClock`) a slice of a sweep may run before it yields, however
 * few orders it has done: on a slow or busy machine, 100 orders can take 50 ms and more, and every
 * honest request waits that long for its turn.
 */
export const SLICE_BUDGET_MS = 4;

/** Events the engine emits in one turn of the event loop (`Engine.publish`); the rest wait a turn each. */
export const PUBLISH_SLICE = 32;

/** Events of one state change, held until its commit and published in order right after it. */
type Outbox = [keyof EngineEvents, EngineEvents[keyof EngineEvents][0]][];

/** An `afterPublished` callback, in the queue of events to emit. */
interface PublishedMark {
  readonly published: (undone: boolean) => void;
}

/** What the actions of a batch before the one being checked will have done: orders leaving, orders added. */
interface BatchPlan {
  readonly cancelled: Set<Hex>;
  readonly added: ReservingOrder[];
  readonly addedHashes: Set<Hex>;
}

type Refusal = Extract<SubmitResult, { ok: false }>;

export class Engine extends EventEmitter<EngineEvents & { fatal: [Error] }> {
  private readonly books = new Map<bigint, OrderBook>();
  /** The signed orders resting in the books (the fields a reservation needs, without a query), with their expiries. */
  private readonly resting = new RestingOrders();
  /** What each account's open orders reserve, kept as the books and the store change (the risk check's O(1) read). */
  private readonly reservations: ReservationLedger;
  /** The largest fill id whose match was published (`publishedFillsBefore`). */
  private fillsPublished = 0;
  /** One promise chain per account: its orders are checked and placed in arrival order. */
  private readonly accountQueues = new Map<string, Promise<unknown>>();
  private readonly store: Store;
  /** (Not `domain`: that name belongs to EventEmitter, for node:domain.) */
  private readonly exchangeDomain: ExchangeDomainParameters;
  private readonly readContext: ReadRiskContext;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly refusals: RecentRefusals;
  /** The orders recorded lately: `check` reads no status that `prepare` read and nothing changed since. */
  private readonly recentRecords = new RecentRecords();
  /** Makers' addresses as orders spell them, checksummed once each. */
  private readonly checksummed = new Checksummed();
  private stopped = false;
  private failed = false;
  private readonly maxOpenOrders: number;
  /** Accounts refused as takers until a time (ms of `clock`), after a skip they caused: lowercase address → until, reason. */
  private readonly cooldowns = new Map<string, { until: number; reason: string }>();
  /** Whether the books follow the store (a follower) rather than the engine writing it. */
  private followingStore: boolean;
  /** Between `demote` and `refollow`: the books may hold refused matches; `booksSettled` waits for it. */
  private rebuilding?: { readonly settled: Promise<void>; readonly done: () => void };
  /**
   * Events committed and not yet emitted (`emitSlice`), in order, with the `afterPublished`
   * callbacks among them; `publishing` while a slice is out or scheduled.
   */
  private readonly unpublished: (Outbox[number] | PublishedMark)[] = [];
  /** `afterPublished` callbacks whose commits are not all durable yet (the store holds them). */
  private readonly awaitingDurable = new Set<PublishedMark>();
  private publishing = false;
  /** The events of the state changes of each group not yet committed, published together once it is. */
  private readonly groupOut = new WeakMap<object, Outbox[]>();
  /**
   * Per market, the levels (`isBuy:priceTicks`) that a group whose commit was refused after a
   * step-down changed in the books and never published: the published book (GET /book, the feed's
   * snapshots) still shows them as they were, so `rebuildAll` publishes them again.
   */
  private readonly unpublishedLevels = new Map<bigint, Set<string>>();

  private constructor(private readonly options: EngineOptions) {
    super();
    this.followingStore = options.following ?? false;
    this.store = options.store;
    this.exchangeDomain = options.domain;
    this.readContext = options.readRiskContext;
    this.clock = options.clock ?? Date.now;
    this.log = options.log ?? silentLogger;
    this.maxOpenOrders = options.maxOpenOrdersPerAccount ?? 1000;
    this.refusals = new RecentRefusals(options.refusals?.max ?? 10_000, options.refusals?.ttlMs ?? 600_000);
    const store = this.store;
    const books = this.books;
    const resting = this.resting;
    this.reservations = new ReservationLedger({
      restingLots: (hash, order) => books.get(order.marketId)?.get(hash)?.lots ?? 0n,
      openLots: (hash) => store.openLotsOf(hash),
      orderOf: (hash) => resting.get(hash) ?? store.getOrder(hash)?.order,
      *reserving() {
        for (const book of books.values()) {
          for (const r of book.restingOrders()) {
            const order = resting.get(r.id as Hex) ?? store.getOrder(r.id as Hex)?.order;
            if (order !== undefined) yield { hash: r.id as Hex, order };
          }
        }
        for (const { hash, order } of store.openFills()) yield { hash, order };
      },
    });
    store.onOpenLots = (hash, order) =>
      hash === undefined ? this.reservations.rebuild() : this.reservations.touch(hash, order);
  }

  /**
   * An engine over `store`, with its books rebuilt from the store's resting orders at their
   * original time priority. A stored order that can no longer rest (it would cross, after a change
   * of code) is cancelled with reason `restore-<why>` and logged.
   */
  static async open(options: EngineOptions): Promise<Engine> {
    await sdkReady();
    const engine = new Engine(options);
    for (const marketId of options.markets) engine.rebuild(marketId);
    engine.fillsPublished = options.store.lastFillId(); // what a store holds at open is durable: published
    return engine;
  }

  private rebuild(marketId: bigint): void {
    const book = new TouchingBook({ nextSeq: this.store.nextSeq(marketId) }, (id) => this.reservations.touch(id));
    this.books.set(marketId, book);
    this.reservations.rebuild();
    let restored = 0;
    for (const o of this.store.openOrders(marketId)) {
      const result = book.restore({ ...toBookOrder(o.hash, o.order, o.remainingLots), seq: o.seq ?? 0 });
      if (result.rejected === undefined) {
        this.resting.set(o.hash, o.order);
        restored++;
        continue;
      }
      if (this.followingStore) {
        // A follower writes nothing: the leader cancels it (a follower that takes over, at `promote`).
        this.log.warn({ hash: o.hash, marketId, why: result.rejected }, "stored order could not rest again: left out");
        continue;
      }
      this.store.cancelOrder(o.hash, `restore-${result.rejected}`, this.clock());
      this.log.warn({ hash: o.hash, marketId, why: result.rejected }, "stored order could not rest again: cancelled");
    }
    this.log.info({ marketId, restored }, "book rebuilt from the store");
  }

  /** The markets served, ascending. */
  get markets(): bigint[] {
    return [...this.books.keys()];
  }

  /** The book of a market served (read it, never change it: that is the engine's job). */
  book(marketId: bigint): OrderBook | undefined {
    return this.books.get(marketId);
  }

  /** Seconds within which the keeper lands what it matches (`EngineOptions.horizonSeconds`). */
  get horizonSeconds(): number {
    return this.options.horizonSeconds ?? 0;
  }

  /**
   * The `beforeId` of a read of published fills only (below `before` when given): every fill up to
   * the largest whose match the engine has published has been published (fill ids rise in commit
   * order, and commits are published in order). The store's committed state holds a commit before
   * it is published (PostgreSQL: until its flush lands; SQLite: until its fsync), and a fill a
   * snapshot showed from there would come again as its channel's next message.
   */
  publishedFillsBefore(before = Number.MAX_SAFE_INTEGER): number {
    return Math.min(before, this.fillsPublished + 1);
  }

  /**
   * Calls `published(false)` once the events of every state change committed so far have been
   * emitted, before any event of a later one: what the store's committed state shows now (its
   * `committed` reader) is then exactly what subscribers have been told, and a snapshot read now
   * and sent then runs no message ahead of its number. At once when nothing committed is waiting;
   * after the flush (PostgreSQL) or the log's fsync (SQLite) that makes them durable otherwise.
   * Never if such a commit fails and the engine stops; `published(true)` if a step-down undid some
   * of them (`refollow`): what was read meanwhile may hold what was undone, so read again.
   */
  afterPublished(published: (undone: boolean) => void): void {
    const mark: PublishedMark = { published };
    this.awaitingDurable.add(mark);
    this.store.afterDurable(() => {
      if (!this.awaitingDurable.delete(mark)) return; // told already (a step-down)
      this.unpublished.push(mark);
      if (!this.publishing) this.emitSlice();
    });
  }

  /** Whether the books follow the store that another keeper writes (a follower), until `promote`. */
  get following(): boolean {
    return this.followingStore;
  }

  /**
   * A follower's step: the store's working copy has just pulled what the leader committed
   * (`pulled`: the orders and fills it changed, with what the copy held before). The books take the
   * orders' new state — every changed order out, then every one still live back in at its own time
   * priority, so that no transient cross is seen — and the updates are published as the leader
   * published them: book levels, each order's new state, new trades and trades settled or skipped.
   */
  follow(pulled: Pulled): void {
    if (!this.followingStore) throw new Error("follow: this engine leads; it writes the store itself");
    const at = this.clock();
    const out: Outbox = [];
    const back: StoredOrder[] = [];
    for (const { hash } of pulled.orders) {
      const o = this.store.getOrder(hash as Hex);
      if (o === undefined) continue;
      const change = this.books.get(o.order.marketId)?.cancel(o.hash);
      if (change !== undefined) this.outBook(out, o.order.marketId, change.levels, at);
      this.resting.delete(o.hash);
      if (isLive(o) && this.books.has(o.order.marketId)) back.push(o);
    }
    back.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    for (const o of back) {
      const book = this.books.get(o.order.marketId) as OrderBook;
      const result = book.restore({ ...toBookOrder(o.hash, o.order, o.remainingLots), seq: o.seq ?? 0 });
      if (result.rejected !== undefined) {
        this.log.warn({ hash: o.hash, why: result.rejected }, "follower: a stored order could not rest: left out");
        continue;
      }
      this.resting.set(o.hash, o.order);
      this.outBook(out, o.order.marketId, result.levels, at);
    }
    for (const { hash, before } of pulled.orders) {
      const o = this.store.getOrder(hash as Hex);
      if (o === undefined) continue;
      const moved =
        before === undefined || before.status !== o.status || before.filled_lots !== o.filledLots.toString();
      if (moved) this.outOrder(out, o.hash, undefined, at);
      else if (before.settled_lots !== o.settledLots.toString()) this.outOrder(out, o.hash, "settled", at);
    }
    for (const { id, before } of pulled.fills) {
      const fill = this.store.getFill(id);
      if (fill === undefined || (before !== undefined && before.status === fill.status)) continue;
      if (before === undefined) out.push(["trade", this.tradeOf(fill, "matched", at)]);
      if (fill.status !== "settled" && fill.status !== "skipped") continue;
      const batch = fill.batchId === undefined ? undefined : this.store.getBatch(fill.batchId);
      const landed = {
        ...(batch === undefined ? {} : { txHash: batch.txHash }),
        ...(batch?.blockNumber === undefined ? {} : { blockNumber: batch.blockNumber }),
      };
      out.push(["trade", this.tradeOf(fill, fill.status, at, landed, fill.skipReason)]);
    }
    this.publish(out);
  }

  /**
   * A follower that took the lease leads from now: its books are rebuilt from the store exactly as
   * a restart rebuilds them (an order that can no longer rest is cancelled now), what differs from
   * the books it followed is published, and it writes from then on.
   */
  promote(): void {
    this.followingStore = false;
    this.rebuildAll();
  }

  /**
   * A leader that steps down stops writing at once: every state change not yet begun is refused
   * (`STOPPED`), and one whose commit fails from now on is no longer fatal (the keeper follows;
   * the client's order was not committed). `refollow` rebuilds the books once the store's copy is
   * what the shared database holds.
   */
  demote(): void {
    this.followingStore = true;
    if (this.rebuilding === undefined) {
      let done!: () => void;
      const settled = new Promise<void>((resolve) => (done = resolve));
      this.rebuilding = { settled, done };
    }
  }

  /**
   * Resolves once the books are the store's: at once, unless the engine stepped down (`demote`)
   * and its books, which may still hold matches whose commits were refused, wait for `refollow`
   * (or `stop`). What reads the books whole (`bookDigests`) waits for it.
   */
  booksSettled(): Promise<void> {
    return this.rebuilding?.settled ?? Promise.resolve();
  }

  private settleBooks(): void {
    this.rebuilding?.done();
    this.rebuilding = undefined;
  }

  /** After `demote` and the store's resync: the books are the store's, what changed is published. */
  refollow(): void {
    if (!this.followingStore) throw new Error("refollow: this engine leads");
    this.rebuildAll();
    // Whatever commits they waited for are settled: landed (their marks are queued) or undone.
    const undone = [...this.awaitingDurable];
    this.awaitingDurable.clear();
    for (const mark of undone) mark.published(true);
    this.settleBooks();
  }

  private rebuildAll(): void {
    this.recentRecords.forgetAll();
    const at = this.clock();
    const before = new Map([...this.books].map(([m, b]) => [m, b.depth()]));
    this.resting.clear();
    const rebuild = (out: Outbox) => {
      for (const marketId of this.markets) this.rebuild(marketId);
      for (const [marketId, depth] of before) {
        const after = (this.books.get(marketId) as OrderBook).depth();
        this.outBook(out, marketId, levelChanges(depth, after, this.unpublishedLevels.get(marketId)), at);
      }
      this.unpublishedLevels.clear();
    };
    if (!this.followingStore) this.committed(rebuild);
    else {
      const out: Outbox = [];
      rebuild(out);
      this.publish(out);
    }
  }

  /**
   * A digest of each market's book, to compare two keepers: SHA-256 over every level, best first on
   * each side, with its total and its resting orders (hash and lots) in time priority.
   */
  bookDigests(): { marketId: bigint; digest: Hex; levels: number; orders: number }[] {
    return this.markets.map((marketId) => {
      const book = this.books.get(marketId) as OrderBook;
      const depth = book.depth();
      const hash = createHash("sha256");
      for (const [isBuy, levels] of [
        [true, depth.bids],
        [false, depth.asks],
      ] as const) {
        for (const level of levels) {
          hash.update(`${isBuy ? "bid" : "ask"} ${level.priceTicks} ${level.lots} ${level.orders}\n`);
          for (const o of book.queue(isBuy, level.priceTicks)) hash.update(`  ${o.id} ${o.lots}\n`);
        }
      }
      return {
        marketId,
        digest: `0x${hash.digest("hex")}` as Hex,
        levels: depth.bids.length + depth.asks.length,
        orders: book.size,
      };
    });
  }

  /** Whether the engine takes orders (false after `stop` or a fatal store error). */
  get running(): boolean {
    return !this.stopped;
  }

  /** Not taking orders: stopped, or following another keeper's writes (a follower, or a leader that stepped down). */
  private get halted(): boolean {
    return this.stopped || this.followingStore;
  }

  /** Whether it stepped down and follows another keeper (and did not stop): its refusals say `NOT_LEADER`. */
  private get followsNow(): boolean {
    return this.followingStore && !this.stopped;
  }

  /** Why a halted engine refuses: it stopped (`STOPPED`), or it follows another keeper (`NOT_LEADER`). */
  private haltedRefusal(): Refusal {
    return this.followsNow ? notLeaderRefusal() : stoppedRefusal();
  }

  /** Stops taking orders; what is in flight finishes. */
  stop(): void {
    this.stopped = true;
    this.settleBooks();
  }

  /** The EIP-712 hash of an order under this keeper's domain (its id everywhere in the keeper). */
  hashOf(order: Order): Hex {
    return hashOrder({ order, domain: this.exchangeDomain });
  }

  /** A refusal the engine still remembers (refusals are never stored). */
  recentRefusal(hash: Hex): RecentRefusal | undefined {
    return this.refusals.get(hash, this.clock());
  }

  /**
   * Checks a signed order and places it: `prepare`, then `place`. Answers `{ ok: true, hash,
   * status, filledLots, remainingLots, trades }` once the store has committed it, or a refusal with
   * a stable code.
   */
  async submit(signed: SignedOrder): Promise<SubmitResult> {
    const prepared = await this.prepare(signed);
    return prepared.ok ? this.place(prepared) : prepared;
  }

  /**
   * Everything that needs no chain read: the order's shape, its market, its hash, that it was not
   * accepted already, and whether its ECDSA signature is its maker's. Queues nothing.
   */
  async prepare(signed: SignedOrder): Promise<PreparedOrder> {
    if (this.halted) return this.haltedRefusal();
    // Only what makes the order unencodable stops here; a zero size or price and bad flags get the
    // risk check's finer codes (ZERO_LOTS, ZERO_PRICE, INVALID_FLAGS).
    const found = validateOrder({ order: signed.order }).problems;
    const problems = found.length === 0 ? found : found.filter((p) => !LEFT_TO_RISK.has(p.code));
    if (problems.length > 0) {
      return { ok: false, code: "INVALID_ORDER", message: problems.map((p) => p.message).join("; ") };
    }
    const beyondBook = beyondBookMessage(signed.order);
    if (beyondBook !== undefined) return { ok: false, code: "INVALID_ORDER", message: beyondBook };
    const order: Order = { ...signed.order, maker: this.checksummed.of(signed.order.maker) };
    const hash = this.hashOf(order);
    if (!this.books.has(order.marketId)) {
      return {
        ok: false,
        hash,
        code: EngineCode.MARKET_NOT_SERVED,
        message: `market ${order.marketId} is not served by this keeper (it serves ${this.markets.join(", ")})`,
      };
    }
    // Already accepted: answered before any signature work (a replayed order costs its maker nothing).
    if (this.store.orderStatusOf(hash, order) !== undefined) {
      return { ok: false, hash, code: EngineCode.DUPLICATE_ORDER, message: `order ${hash} was already submitted` };
    }
    const absentAt = this.recentRecords.mark;
    const recover = this.options.recoverSigner ?? recoverOrderSigner;
    const signer = await recover(order, signed.signature, this.exchangeDomain);
    return {
      ok: true,
      hash,
      order,
      signature: signed.signature,
      signedByMaker: signer !== undefined && isAddressEqual(signer, order.maker),
      absentAt,
    };
  }

  /** The most orders one account may have resting. */
  get maxOpenOrdersPerAccount(): number {
    return this.maxOpenOrders;
  }

  /** How many orders `account` has resting, over every market. */
  openOrderCount(account: Address): number {
    return this.countResting(getAddress(account));
  }

  /** A market's least lots and notional, when the config sets them. */
  minimumOf(marketId: bigint): { readonly lots?: bigint; readonly notional?: bigint } | undefined {
    return this.options.minimums?.get(marketId);
  }

  /** Whether the keeper has accepted an order of `account` (it rests, or the store has one). */
  knows(account: Address): boolean {
    return this.countResting(account) > 0 || this.store.knowsAccount(account);
  }

  /** The risk check, the book and the store for a prepared order (see `submit`). */
  async place(prepared: Extract<PreparedOrder, { ok: true }>): Promise<SubmitResult> {
    const { hash, order } = prepared;
    if (this.halted) return { ...this.haltedRefusal(), hash };
    // An EOA whose signature recovers to someone else: refused before any queue or chain read.
    if (!prepared.signedByMaker && this.options.hasCode !== undefined && !(await this.options.hasCode(order.maker))) {
      return {
        ok: false,
        hash,
        code: "BAD_SIGNATURE",
        message: `The signature does not recover to the maker ${order.maker}.`,
      };
    }
    const queued = this.clock();
    // Behind its account's earlier orders: its facts are read meanwhile, not at its turn.
    if (this.accountQueues.has(order.maker)) this.options.readAhead?.(order);
    return this.seriallyUntil(order.maker, (handOn) => {
      this.options.onOrderStage?.("queue", order.maker, this.clock() - queued, hash);
      return this.checkAndPlace(prepared, handOn);
    });
  }

  /**
   * Everything before the book: the order is new, big enough, within the account's cap of resting
   * orders, and passes the risk check against the chain. Undefined when it may be placed, else the
   * refusal. `batch` gives what a batch of the same account plans before it (orders it cancels,
   * orders it adds), so that its reservations and nonces are counted as they will be.
   */
  private async check(
    prepared: Extract<PreparedOrder, { ok: true }>,
    batch?: BatchPlan,
  ): Promise<Extract<SubmitResult, { ok: false }> | undefined> {
    const { hash, order, signature } = prepared;
    if (this.halted) return { ...this.haltedRefusal(), hash };
    // Read again unless it is known that no order under this hash was recorded since `prepare` found none.
    const stillAbsent = prepared.absentAt !== undefined && this.recentRecords.notRecordedSince(hash, prepared.absentAt);
    if (!stillAbsent && this.store.orderStatusOf(hash, order) !== undefined) {
      return { ok: false, hash, code: EngineCode.DUPLICATE_ORDER, message: `order ${hash} was already submitted` };
    }
    const minimum = this.options.minimums?.get(order.marketId);
    if (minimum?.lots !== undefined && order.lots < minimum.lots) {
      return this.reject(
        hash,
        order,
        EngineCode.ORDER_TOO_SMALL,
        `Market ${order.marketId} takes orders of at least ${minimum.lots} lots; this one is for ${order.lots}.`,
      );
    }
    const resting = this.countResting(order.maker, batch);
    if (resting >= this.maxOpenOrders) {
      return this.reject(
        hash,
        order,
        EngineCode.TOO_MANY_OPEN_ORDERS,
        `${order.maker} has ${resting} resting orders, the most this keeper holds for one account; cancel some first`,
      );
    }
    const signed = { order, signature };
    let context = await this.readRisk(hash, signed, batch);
    if ("unreadable" in context) return { ok: false, hash, code: EngineCode.CHAIN_UNAVAILABLE, ...context.unreadable };
    const deciding = this.decide(order, signature, context);
    let decision = isPending(deciding) ? await deciding : deciding;
    if (decision === undefined) return { ...stoppedRefusal(UNCLAIMED), hash };
    // A refusal from a fact cached for a block is confirmed against the head: a deposit mined since
    // (a trader resubmitting as soon as its receipt arrived) must not be refused from a stale balance.
    if (!decision.ok && CACHED_FACT.has(decision.code) && this.options.freshen !== undefined) {
      const moved = await this.options.freshen(order.maker).catch(() => true);
      if (moved) {
        context = await this.readRisk(hash, signed, batch);
        if ("unreadable" in context) {
          return { ok: false, hash, code: EngineCode.CHAIN_UNAVAILABLE, ...context.unreadable };
        }
        const again = this.decide(order, signature, context);
        decision = isPending(again) ? await again : again;
        if (decision === undefined) return { ...stoppedRefusal(UNCLAIMED), hash };
      }
    }
    if (!decision.ok) return this.reject(hash, order, decision.code, decision.message);
    const notional = order.lots * order.priceTicks * (context.market?.tickSize ?? 0n);
    if (minimum?.notional !== undefined && notional < minimum.notional) {
      return this.reject(
        hash,
        order,
        EngineCode.ORDER_TOO_SMALL,
        `Market ${order.marketId} takes orders worth at least ${minimum.notional} quote atoms; this one is worth ${notional}.`,
      );
    }
    // The risk read awaited: a stop can have come.
    if (this.halted) return { ...this.haltedRefusal(), hash };
    return undefined;
  }

  /**
   * The risk check; in a shard, then the claim (`EngineOptions.claims`) on the token the order
   * spends, raised when what its maker would reserve here with it exceeds it. Undefined when the
   * claim could not be asked (PostgreSQL unreachable, or this keeper no longer leads).
   */
  private decide(order: Order, signature: Hex, context: RiskContext): Fact<RiskDecision | undefined> {
    // The signer known (the precheck's, or a gateway's) and the claim covering it: no promise.
    const now = checkOrderNow(order, context);
    if (now === undefined) return checkOrder(order, signature, context).then((d) => this.claimed(order, context, d));
    return this.claimed(order, context, now);
  }

  /** `decision`, once the order's claim covers it (a shard's; see `decide`). */
  private claimed(order: Order, context: RiskContext, decision: RiskDecision): Fact<RiskDecision | undefined> {
    const claims = this.options.claims;
    if (!decision.ok || claims === undefined || context.market === undefined) return decision;
    const need = orderReservation(order, order.lots - context.filled, context.market);
    const total = context.reservedByOpenOrders[order.isBuy ? "quote" : "base"] + need.atoms;
    const balance = context.balances[order.isBuy ? "quote" : "base"];
    let covering;
    try {
      covering = claims.cover(order.maker, need.token, total, balance);
    } catch (error) {
      return this.unclaimed(order, error);
    }
    // Within the claim (most orders): answered at once.
    if (!isPending(covering)) return covering.ok ? decision : claimRefusal(order, need, context, covering.free);
    return covering.then(
      (claim) => (claim.ok ? decision : claimRefusal(order, need, context, claim.free)),
      (error: unknown) => this.unclaimed(order, error),
    );
  }

  /** A claim that could not be asked: noted, and the order left undecided. */
  private unclaimed(order: Order, error: unknown): undefined {
    this.log.warn({ maker: order.maker, err: String(error) }, "the shard's claim could not be raised");
    return undefined;
  }

  /** The accounts with orders resting in the books or fills not yet settled. */
  reservingAccounts(): Set<Address> {
    const accounts = new Set<Address>(this.store.accountsWithOpenFills());
    for (const order of this.resting.orders()) accounts.add(order.maker);
    return accounts;
  }

  /** Whether an order or batch of `account` is being checked or placed (its reservation may be about to grow). */
  isBusy(account: Address): boolean {
    return this.accountQueues.has(account);
  }

  /**
   * What `account` reserves in this keeper, by token (lower-case address): its resting orders and
   * fills not yet settled, as the risk check counts them.
   */
  reservedBy(account: Address, marketOf: (marketId: bigint) => ReservationMarket | undefined): Map<string, bigint> {
    return this.reservations.reservedBy(account, marketOf);
  }

  /**
   * `handOn` is called once the order is written in the open group commit (its reservation and nonce
   * counted, in memory and in the writer's transaction): the account's next order may be checked
   * from then on, while this one waits for the disk. Its answer still waits for its commit.
   */
  private async checkAndPlace(
    prepared: Extract<PreparedOrder, { ok: true }>,
    handOn: () => void = NOTHING,
  ): Promise<SubmitResult> {
    // Refused at once when it would take while the backlog is full or its account cools down: no
    // risk read for an order that could not be placed (asked again after it, the book may move).
    const now = this.books.get(prepared.order.marketId);
    const early = now === undefined || this.halted ? undefined : this.takeRefusal(now, prepared.order);
    if (early !== undefined) return { ok: false, hash: prepared.hash, ...early };
    const checking = this.clock();
    const checked = await this.check(prepared);
    const { hash, order } = prepared;
    this.options.onOrderStage?.("check", order.maker, this.clock() - checking, hash);
    if (checked !== undefined) return checked;
    const book = this.books.get(order.marketId) as OrderBook;
    const backlog = this.takeRefusal(book, order);
    if (backlog !== undefined) return { ok: false, hash, ...backlog };
    const placed = book.place(toBookOrder(hash, order, order.lots));
    if (placed.rejected !== undefined) {
      return this.reject(hash, order, BOOK_REJECT_CODE[placed.rejected], bookRejectMessage(placed.rejected));
    }
    const at = this.clock();
    let answer: SubmitResult | undefined;
    try {
      const { durable } = this.grouped((out) => {
        answer = this.record(prepared, placed, at, out);
      });
      handOn();
      const committing = this.clock();
      await durable;
      this.options.onOrderStage?.("commit", order.maker, this.clock() - committing, hash);
    } catch (error) {
      // Refused because this keeper follows now (its commit fenced off, or begun after the step-down).
      if (error instanceof NotLeadingError || this.followsNow) return { ...notLeaderRefusal(), hash };
      return { ok: false, hash, code: EngineCode.STOPPED, message: "the keeper could not record the order" };
    }
    return answer as SubmitResult;
  }

  /**
   * Writes an order the book just accepted (inside a state change) and answers it as it was
   * accepted (a later order may match it before the caller reads the answer).
   */
  private record(
    prepared: Extract<PreparedOrder, { ok: true }>,
    placed: PlaceResult,
    at: number,
    out: Outbox,
  ): SubmitResult {
    const { hash, order, signature } = prepared;
    this.refusals.forget(hash);
    const fillIds = this.store.acceptOrder({ order, signature, ...placementOf(hash, placed), at });
    this.recentRecords.recorded(hash);
    const { trades, stored } = this.placed(hash, order, placed, fillIds, "accepted", at, out);
    return {
      ok: true,
      hash,
      status: stored.status,
      filledLots: stored.filledLots,
      remainingLots: stored.remainingLots,
      trades,
    };
  }

  /**
   * The risk context of an order, or why the chain could not be read: the refusal's message, and
   * when to try again if the keeper knows (a stranger past the node budget: in a second).
   */
  private async readRisk(
    hash: Hex,
    signed: SignedOrder,
    batch?: BatchPlan,
  ): Promise<
    | RiskContext
    | {
        unreadable: {
          code?: typeof EngineCode.KEEPER_BUSY_FOR_NEW_ACCOUNTS | typeof RiskCode.INSUFFICIENT_BALANCE;
          message: string;
          retryAfterSeconds?: number;
        };
      }
  > {
    try {
      return await this.readContext(signed, {
        chainId: this.exchangeDomain.chainId,
        openOrders: this.reservations.openOrders(
          signed.order.maker,
          () => this.reservingOrdersOf(signed.order.maker, batch?.cancelled),
          batch?.cancelled,
          batch?.added,
        ),
        horizonSeconds: BigInt(this.options.horizonSeconds ?? 0),
      });
    } catch (error) {
      // A stranger no event can have credited holds nothing: refused without reading its balances.
      if (error instanceof UncreditedAccountError) {
        return { unreadable: { code: RiskCode.INSUFFICIENT_BALANCE, message: error.message } };
      }
      // A stranger's read past the node budget (`StrangerReadBudget`) is no fault: not logged.
      if (error instanceof NodeBusyError) {
        return {
          unreadable: { code: EngineCode.KEEPER_BUSY_FOR_NEW_ACCOUNTS, message: error.message, retryAfterSeconds: 1 },
        };
      }
      this.log.warn({ hash, err: String(error) }, "risk check could not read the chain");
      return { unreadable: { message: "the chain could not be read; try again" } };
    }
  }

  /** Whether `order` would take from `book` now (a post-only order never does). */
  private wouldTake(book: OrderBook, order: Order): boolean {
    if ((order.flags & POST_ONLY) !== 0n) return false;
    const best = order.isBuy ? book.bestAsk() : book.bestBid();
    return best !== undefined && (order.isBuy ? best <= order.priceTicks : best >= order.priceTicks);
  }

  /**
   * Why an order that would take is refused while its account cools down (a fill of its was skipped
   * on-chain for a reason it caused), if it is.
   */
  private cooldownRefusal(
    book: OrderBook,
    order: Order,
  ): { code: RejectCode; message: string; retryAfterSeconds: number } | undefined {
    const cooldown = this.cooldowns.get(order.maker.toLowerCase());
    if (cooldown === undefined) return undefined;
    const now = this.clock();
    if (now >= cooldown.until) {
      this.cooldowns.delete(order.maker.toLowerCase());
      return undefined;
    }
    if (!this.wouldTake(book, order)) return undefined;
    const retryAfterSeconds = Math.ceil((cooldown.until - now) / 1000);
    return {
      code: EngineCode.TAKER_COOLDOWN,
      message:
        `A fill of ${order.maker} was skipped on-chain for a reason the account caused (${cooldown.reason}): ` +
        `its orders that would take are refused for ${retryAfterSeconds} s more; resting orders are taken`,
      retryAfterSeconds,
    };
  }

  /** Starts (or extends) an account's taker cooldown after a skip it caused. */
  private ration(account: Address, reason: string, at: number): void {
    const seconds = this.options.takerCooldownSeconds ?? 0;
    if (seconds <= 0) return;
    // Bounded by the skips the chain reports; ended cooldowns go as new ones come.
    if (this.cooldowns.size >= 10_000) {
      for (const [key, c] of this.cooldowns) if (c.until <= at) this.cooldowns.delete(key);
    }
    this.cooldowns.set(account.toLowerCase(), { until: at + seconds * 1000, reason });
    this.log.info({ account, reason, seconds }, "taker cooldown: a fill was skipped for a reason the account caused");
  }

  /** Until when (ms of `clock`) the account's orders that would take are refused, if they are. */
  takerCooldownUntil(account: Address): number | undefined {
    const cooldown = this.cooldowns.get(account.toLowerCase());
    return cooldown !== undefined && cooldown.until > this.clock() ? cooldown.until : undefined;
  }

  /** Why an order that would take from `book` now may not: the settlement backlog, or its account's cooldown. */
  private takeRefusal(book: OrderBook, order: Order) {
    return this.backlogRefusal(book, order) ?? this.cooldownRefusal(book, order);
  }

  /** Why an order that would take must wait for the backlog to shrink, if it must. */
  private backlogRefusal(
    book: OrderBook,
    order: Order,
  ): { code: RejectCode; message: string; retryAfterSeconds: number } | undefined {
    const bounds = this.options.backlog;
    if (bounds === undefined || !this.wouldTake(book, order)) return undefined;
    const pending = this.store.pendingFillCount();
    const retryAfterSeconds = bounds.retryAfterSeconds?.(pending) ?? 1 + Math.ceil(pending / 50);
    if (pending >= bounds.maxPendingFills) {
      return {
        code: EngineCode.SETTLEMENT_BACKLOG,
        message: `${pending} fills are waiting for settlement (the bound is ${bounds.maxPendingFills}); orders that would take wait, resting ones are taken`,
        retryAfterSeconds,
      };
    }
    const own = this.store.pendingFillsTakenBy(order.maker);
    if (own >= bounds.maxPendingFillsPerAccount) {
      return {
        code: EngineCode.SETTLEMENT_BACKLOG,
        message: `${order.maker} has taken ${own} fills still waiting for settlement (the bound per account is ${bounds.maxPendingFillsPerAccount})`,
        retryAfterSeconds,
      };
    }
    return undefined;
  }

  /** The account's resting orders; with `batch`, as they will be once what the batch planned before is done. */
  private countResting(account: Address, batch?: BatchPlan): number {
    let resting = 0;
    for (const b of this.books.values()) resting += b.countOf(account);
    if (batch === undefined) return resting;
    for (const hash of batch.cancelled) if (this.resting.get(hash) !== undefined) resting--;
    return resting + batch.added.length;
  }

  /**
   * The account's orders that still hold funds, with the lots not yet seen to settle: the resting
   * part from the books (in memory), plus pending and sent fills from the store. The resting part
   * of the orders in `leaving` (a batch cancels them first) is not counted. O(the account's
   * orders): what `reservations` keeps in totals, walked again only for checks (`OpenOrders.orders`).
   */
  private reservingOrdersOf(account: Address, leaving?: ReadonlySet<Hex>): ReservingOrder[] {
    const byHash = new Map<string, ReservingOrder>();
    for (const book of this.books.values()) {
      for (const r of book.ordersOf(account)) {
        if (leaving?.has(r.id as Hex) === true) continue;
        const order = this.resting.get(r.id as Hex) ?? this.store.getOrder(r.id as Hex)?.order;
        if (order !== undefined) byHash.set(r.id, { order, lots: r.lots });
      }
    }
    for (const { hash, order, lots } of this.store.openFillsOf(account)) {
      const entry = byHash.get(hash);
      byHash.set(hash, { order, lots: (entry?.lots ?? 0n) + lots });
    }
    return [...byHash.values()];
  }

  /** A refusal: answered, remembered a while in memory (never stored), published to the maker's feed. */
  private reject(hash: Hex, order: Order, code: RejectCode, message: string): Refusal {
    // An order its maker did not sign (or that is malformed) is answered and forgotten: remembered,
    // it would let anyone fill the victim's history with orders naming the victim.
    if (NOT_REMEMBERED.has(code)) return { ok: false, hash, code, message };
    const at = this.clock();
    this.refusals.remember({ hash, order, code, message, at });
    this.emit("order", {
      account: order.maker,
      hash,
      marketId: order.marketId,
      event: "rejected",
      status: "rejected",
      filledLots: 0n,
      remainingLots: order.lots,
      reason: code,
      at,
    });
    return { ok: false, hash, code, message };
  }

  /**
   * What one placement of `hash` did, for the feed: the in-memory resting set, book levels, trades,
   * and the order updates of everyone involved. Reads the store's state right after the write
   * (but for a new order that rests untouched: `outUntouched`).
   */
  private placed(
    hash: Hex,
    order: Order,
    placed: PlaceResult,
    fillIds: readonly number[],
    event: OrderEvent | undefined,
    at: number,
    out: Outbox,
  ): { trades: TradeUpdate[]; stored: OrderState } {
    if (placed.rested) this.resting.set(hash, order);
    for (const f of placed.fills) if (f.makerRemainingLots === 0n) this.resting.delete(f.makerId as Hex);
    for (const o of placed.selfTradeCancelled) this.resting.delete(o.id as Hex);
    this.outBook(out, order.marketId, placed.levels, at);
    const trades = fillIds.map((id) => this.tradeOf(this.store.getFill(id) as StoredFill, "matched", at));
    for (const t of trades) out.push(["trade", t]);
    // Every update a fill causes carries its fillId (the trade's), so that a client links the two.
    // The taker: `accepted` first (a new order), then one update per fill, then `cancelled` when its
    // remainder does not rest (IOC/FOK). Each says the order's state as committed (after all fills).
    const untouched =
      event === "accepted" && placed.rested && trades.length === 0 && placed.selfTradeCancelled.length === 0;
    let stored: OrderState | undefined = untouched
      ? this.outUntouched(out, hash, order, at)
      : event !== undefined || trades.length === 0
        ? (this.outOrder(out, hash, event, at) as StoredOrder)
        : undefined;
    for (const o of placed.selfTradeCancelled) this.outOrder(out, o.id as Hex, "cancelled", at);
    // A resting order meets a taker once in a placement: one fill, one update, each maker.
    for (const t of trades) this.outOrder(out, t.makerHash, undefined, at, { fillId: t.fillId });
    for (let i = 0; i < trades.length; i++) {
      const last = i === trades.length - 1;
      const taker = this.store.getOrder(hash) as StoredOrder;
      const fillEvent = last && taker.status === "filled" ? "filled" : "partially-filled";
      stored = this.outOrder(out, hash, fillEvent, at, { fillId: trades[i].fillId });
    }
    if (!placed.rested && (event !== undefined || trades.length > 0)) {
      stored = this.outOrder(out, hash, undefined, at) as StoredOrder;
    }
    return { trades, stored: stored as OrderState };
  }

  /**
   * Queues the `accepted` update of a new order that rests untouched by its placement (no fill, no
   * self-trade): its state is what `acceptOrder` has just written — open, nothing filled — so its
   * row is not read back (one store read less for every order that rests, most of a market maker's).
   */
  private outUntouched(out: Outbox, hash: Hex, order: Order, at: number): OrderState {
    const state: OrderState = { status: "open", filledLots: 0n, remainingLots: order.lots };
    const update: OrderUpdate = {
      account: order.maker,
      hash,
      marketId: order.marketId,
      event: "accepted",
      ...state,
      at,
    };
    out.push(["order", update]);
    return state;
  }

  /**
   * Soft cancel of one order: takes it out of the book and cancels it in the store (durable when
   * this returns). `account`, when given, must be the order's maker. Fills already matched stay.
   */
  cancel(hash: Hex, options: { account?: Address; reason?: string } = {}): CancelOutcome {
    return this.committed((out) => this.cancelIn(hash, options, this.clock(), out));
  }

  /**
   * Soft cancel of several orders in one commit (the API's signed `CancelOrders`): resolves, with
   * each order's outcome, once the cancellations are on disk.
   */
  async cancelOrders(hashes: readonly Hex[], options: { account?: Address; reason?: string } = {}) {
    const at = this.clock();
    const { result, durable } = this.grouped((out) =>
      hashes.map((hash) => ({ hash, outcome: this.cancelIn(hash, options, at, out) })),
    );
    await durable;
    return result;
  }

  private cancelIn(hash: Hex, options: { account?: Address; reason?: string }, at: number, out: Outbox): CancelOutcome {
    const stored = this.store.getOrder(hash);
    if (stored === undefined) return "not-found";
    if (options.account !== undefined && getAddress(options.account) !== stored.order.maker) return "not-owner";
    if (!isLive(stored)) return "not-open";
    this.pull(stored, options.reason ?? "soft-cancel", at, out);
    return "cancelled";
  }

  /**
   * Soft-cancels every live order of `account` (in one market, or all) created at or before
   * `createdUpTo` (ms), in one commit; resolves with the hashes cancelled once that is on disk.
   */
  async cancelAll(
    account: Address,
    options: { marketId?: bigint; createdUpTo?: number; reason?: string } = {},
  ): Promise<Hex[]> {
    const at = this.clock();
    const { result, durable } = this.grouped((out) => this.pullAccount(getAddress(account), options, at, out));
    await durable;
    return result;
  }

  private pullAccount(
    account: Address,
    options: { marketId?: bigint; createdUpTo?: number; reason?: string },
    at: number,
    out: Outbox,
  ): Hex[] {
    const cancelled: Hex[] = [];
    for (const o of this.store.liveOrdersOf(account)) {
      if (options.marketId !== undefined && o.order.marketId !== options.marketId) continue;
      if (options.createdUpTo !== undefined && o.createdAt > options.createdUpTo) continue;
      this.pull(o, options.reason ?? "soft-cancel-all", at, out);
      cancelled.push(o.hash);
    }
    return cancelled;
  }

  // ---------------------------------------------------------------- batches and amends (issue 16)

  /**
   * One account's places, cancels and amends in one step (`POST /v1/orders/batch`): one turn of the
   * account's queue; first every check (the chain reads of each order counting what the actions
   * before it will do: orders they cancel no longer reserve, orders they add do, nonces they use
   * are taken), then every change to the books and the store in one synchronous state change —
   * one store commit, and one book delta per market on the feed. Each action is answered on its
   * own: one refused does not stop the others.
   *
   * An amend is all or nothing: its target leaves the book in the same step as its new order enters;
   * when either cannot happen (the target is no longer open, the new order is refused) neither does
   * and the target rests as it was, at its time priority. Fills of the target matched before the
   * amend stay and settle as usual. The caller makes sure every order is `account`'s.
   */
  async batch(account: Address, actions: readonly BatchAction[]): Promise<BatchOutcome[]> {
    const maker = getAddress(account);
    return this.serially(maker, () => this.runBatch(maker, actions));
  }

  private async runBatch(account: Address, actions: readonly BatchAction[]): Promise<BatchOutcome[]> {
    const plan: BatchPlan = { cancelled: new Set(), added: [], addedHashes: new Set() };
    const answers: (BatchOutcome | undefined)[] = [];
    const targets: (Hex | undefined)[] = [];
    for (const [i, action] of actions.entries()) {
      const target = action.kind === "place" ? undefined : this.resolveRef(account, action.target);
      targets[i] = target;
      if (action.kind === "cancel") {
        if (target === undefined) answers[i] = { kind: "cancel", outcome: "not-found" };
        else plan.cancelled.add(target);
        continue;
      }
      if (action.kind === "amend" && (target === undefined || !this.isLiveOf(account, target))) {
        answers[i] = { kind: "amend", result: notOpen(action.target, action.prepared) };
        continue;
      }
      const refused = await this.checkInBatch(account, action.prepared, target, plan);
      if (refused !== undefined) answers[i] = withKind(action.kind, refused);
    }
    if (this.halted) return actions.map((a, i) => answers[i] ?? withKind(a.kind, this.haltedRefusal()));
    const at = this.clock();
    const refusals: (() => void)[] = [];
    try {
      const { result, durable } = this.grouped((out) =>
        actions.map((action, i) => answers[i] ?? this.applyInBatch(account, action, targets[i], at, out, refusals)),
      );
      // A batch is a group of writes already: committed now rather than at the end of the group's
      // window (no timer to wait for); a failure comes through `durable`.
      try {
        this.store.commitGroup();
      } catch {
        // `durable` rejects with it.
      }
      await durable;
      for (const publish of refusals) publish();
      return result;
    } catch (error) {
      const refusal =
        error instanceof NotLeadingError || this.followsNow
          ? notLeaderRefusal()
          : stoppedRefusal("the keeper could not record the batch");
      return actions.map((a) => withKind(a.kind, refusal));
    }
  }

  /** The hash an `OrderRef` names: as given, or the account's newest order under the nonce. */
  private resolveRef(account: Address, ref: OrderRef): Hex | undefined {
    return "hash" in ref ? ref.hash : this.store.orderByNonce(account, ref.nonce)?.hash;
  }

  private isLiveOf(account: Address, hash: Hex): boolean {
    const o = this.store.getOrder(hash);
    return o !== undefined && isLive(o) && o.order.maker === account;
  }

  /** `check` for an order of a batch; on success the plan counts it (and the amend's target leaving). */
  private async checkInBatch(
    account: Address,
    prepared: PreparedOrder,
    target: Hex | undefined,
    plan: BatchPlan,
  ): Promise<Refusal | undefined> {
    if (!prepared.ok) return prepared;
    const { hash, order } = prepared;
    if (order.maker !== account) {
      return {
        ok: false,
        hash,
        code: "INVALID_ORDER",
        message: `the order's maker is not ${account}, the batch's account`,
      };
    }
    if (plan.addedHashes.has(hash)) {
      return { ok: false, hash, code: EngineCode.DUPLICATE_ORDER, message: `order ${hash} is twice in the batch` };
    }
    const leaving = target !== undefined && !plan.cancelled.has(target);
    if (leaving) plan.cancelled.add(target);
    const refused = await this.check(prepared, plan);
    if (refused !== undefined) {
      if (leaving) plan.cancelled.delete(target);
      return refused;
    }
    plan.added.push({ order, lots: order.lots });
    plan.addedHashes.add(hash);
    return undefined;
  }

  /** One checked action of a batch, inside its state change. Refusals are published after the commit. */
  private applyInBatch(
    account: Address,
    action: BatchAction,
    target: Hex | undefined,
    at: number,
    out: Outbox,
    refusals: (() => void)[],
  ): BatchOutcome {
    if (action.kind === "cancel") {
      return { kind: "cancel", hash: target as Hex, outcome: this.cancelIn(target as Hex, { account }, at, out) };
    }
    const prepared = action.prepared as Extract<PreparedOrder, { ok: true }>;
    const { hash, order } = prepared;
    const book = this.books.get(order.marketId) as OrderBook;
    const refuse = (code: RejectCode, message: string): BatchOutcome => {
      refusals.push(() => this.reject(hash, order, code, message));
      return withKind(action.kind, { ok: false, hash, code, message });
    };
    // The amend's target leaves the book first (its lots must not count against the new order),
    // and comes back at its time priority if the new order cannot enter.
    let old: { stored: StoredOrder; resting: ReturnType<OrderBook["get"]>; levels: readonly LevelChange[] } | undefined;
    if (action.kind === "amend") {
      const stored = this.store.getOrder(target as Hex);
      if (stored === undefined || !isLive(stored) || stored.order.maker !== account) {
        return { kind: "amend", result: notOpen(action.target, prepared) };
      }
      const oldBook = this.books.get(stored.order.marketId) as OrderBook;
      const resting = oldBook.get(stored.hash);
      old = { stored, resting, levels: oldBook.cancel(stored.hash)?.levels ?? [] };
    }
    const putBack = () => {
      if (old?.resting !== undefined) this.books.get(old.stored.order.marketId)?.restore(old.resting);
    };
    const backlog = this.backlogRefusal(book, order);
    if (backlog !== undefined) {
      putBack();
      return withKind(action.kind, { ok: false, hash, ...backlog });
    }
    const placed = book.place(toBookOrder(hash, order, order.lots));
    if (placed.rejected !== undefined) {
      putBack();
      return refuse(BOOK_REJECT_CODE[placed.rejected], bookRejectMessage(placed.rejected));
    }
    if (old === undefined) return { kind: "place", result: this.record(prepared, placed, at, out) };
    this.resting.delete(old.stored.hash);
    this.store.cancelOrder(old.stored.hash, "amended", at);
    this.outBook(out, old.stored.order.marketId, old.levels, at);
    this.outOrder(out, old.stored.hash, "cancelled", at);
    return { kind: "amend", replaced: old.stored.hash, result: this.record(prepared, placed, at, out) };
  }

  /**
   * Cancels the resting orders whose `expiry` (unix seconds) is before `nowSeconds` — the chain
   * would skip them — through the engine's index of expiries, in one commit. Resolves with how many
   * once that is on disk. Call it as blocks arrive, with the block's timestamp.
   */
  async expire(nowSeconds: bigint): Promise<number> {
    const expired = this.resting.expiredBefore(nowSeconds);
    const at = this.clock();
    const work = this.options.workClock ?? (() => performance.now());
    const reason = "expired";
    let count = 0;
    let next = 0;
    const durables: Promise<void>[] = [];
    // In slices of at most EXPIRY_SLICE orders and SLICE_BUDGET_MS, yielding between them: 10,000
    // orders expiring in one block must not hold the event loop for the whole sweep, and the
    // requests that arrive meanwhile are served between slices (the group commit still covers the
    // slices of one window in one fsync).
    while (next < expired.length) {
      if (next > 0) await new Promise((resolve) => setImmediate(resolve));
      const started = work();
      const end = Math.min(expired.length, next + EXPIRY_SLICE);
      const { result, durable } = this.grouped((out) => {
        let pulled = 0;
        while (next < end) {
          const hash = expired[next++] as Hex;
          if (this.pullResting(hash, reason, at, out)) pulled++;
          if (work() - started >= SLICE_BUDGET_MS) break;
        }
        return pulled;
      });
      count += result;
      durables.push(durable);
    }
    await Promise.all(durables);
    return count;
  }

  /**
   * `pull` of an order the engine holds as resting, without reading it first (the store's cancel
   * is conditional on it being live): false, and it is forgotten, when it was not.
   */
  private pullResting(hash: Hex, reason: string, at: number, out: Outbox): boolean {
    const order = this.resting.get(hash);
    if (order === undefined || !this.store.cancelIfResting(hash, reason, at)) {
      this.resting.delete(hash);
      return false;
    }
    const book = this.books.get(order.marketId);
    // What rests in the book is what the store has left of it (`remainingLots`): the update needs no read.
    const remainingLots = book?.get(hash)?.lots;
    const change = book?.cancel(hash);
    this.resting.delete(hash);
    if (change !== undefined) this.outBook(out, order.marketId, change.levels, at);
    if (remainingLots === undefined) {
      this.outOrder(out, hash, "cancelled", at);
      return true;
    }
    const update: OrderUpdate = {
      account: order.maker,
      hash,
      marketId: order.marketId,
      event: "cancelled",
      status: "cancelled",
      filledLots: order.lots - remainingLots,
      remainingLots,
      reason,
      at,
    };
    out.push(["order", update]);
    return true;
  }

  /**
   * Checks again the resting orders of `accounts` — those a trader's on-chain action named (the
   * keeper's block watcher passes `CachedChainReads.takeTouched()` after each sync) — against the
   * chain facts of the latest block, and pulls, in one commit per account, each order that can no
   * longer fill: its nonce cancelled on-chain (in force or waiting), below the floor (in force or
   * waiting), its cancel-after deadline within the settlement horizon, more lots than a tighter
   * window limit allows, a wallet that stopped approving — and, oldest first, keeps what the
   * balance less a withdrawal request and the account's matched fills can pay for: the newest orders
   * it cannot pay for are pulled. Each pulled order is `cancelled` with reason `chain-<code>` on the
   * account's feed. Fills already matched stay: they settle within the firmness delay. Resolves with
   * how many orders were pulled, and the accounts whose facts could not be read (to try next block).
   */
  async recheck(accounts: readonly Address[]): Promise<{ pulled: number; unread: Address[] }> {
    const unread: Address[] = [];
    const counts = await Promise.all(
      accounts.map(async (account) => {
        const maker = getAddress(account);
        if (this.countResting(maker) === 0) return 0;
        const pulled = await this.serially(maker, () => this.recheckAccount(maker));
        if (pulled === undefined) unread.push(maker);
        return pulled ?? 0;
      }),
    );
    return { pulled: counts.reduce((a, b) => a + b, 0), unread };
  }

  /** `recheck` of one account, in its queue: how many orders were pulled, undefined when the chain could not be read. */
  private async recheckAccount(account: Address): Promise<number | undefined> {
    if (this.halted) return 0;
    // Oldest first: the newest orders are the ones that go when funds fall short.
    const resting = [...this.books.values()]
      .flatMap((book) => book.ordersOf(account))
      .flatMap((r) => {
        const stored = this.store.getOrder(r.id as Hex);
        return stored !== undefined && isLive(stored) ? [{ stored, lots: r.lots, seq: r.seq }] : [];
      })
      .sort((a, b) => a.stored.createdAt - b.stored.createdAt || a.seq - b.seq);
    // What is matched already is firm (it settles within the delay): it is reserved first.
    const reserving: ReservingOrder[] = this.store.openFillsOf(account).map(({ order, lots }) => ({ order, lots }));
    const pulls: { hash: Hex; code: RejectCode; message: string }[] = [];
    for (const r of resting) {
      const { stored } = r;
      const { order, signature } = stored;
      let context: RiskContext;
      try {
        context = await this.readContext(
          { order, signature },
          {
            chainId: this.exchangeDomain.chainId,
            openOrders: reserving,
            horizonSeconds: BigInt(this.options.horizonSeconds ?? 0),
          },
        );
      } catch (error) {
        this.log.warn({ account, err: String(error) }, "recheck could not read the chain; next block");
        return undefined;
      }
      // The order as it rests: what is not resting is filled or matched (and reserved above); the
      // market's own conditions are not the account's doing and leave it resting.
      const keeperFilled = order.lots - r.lots;
      const decision = await checkOrder(order, signature, {
        ...context,
        paused: false,
        riskLimits: { halted: false, bandBps: 0n, maxLotsPerBlock: 0n },
        filled: context.filled === MAX_UINT64 || context.filled > keeperFilled ? context.filled : keeperFilled,
        nonceInUse: false,
      });
      if (!decision.ok && PULLED_ON_RECHECK.has(decision.code)) {
        pulls.push({ hash: stored.hash, code: decision.code, message: decision.message });
      } else {
        reserving.push({ order, lots: r.lots });
      }
    }
    if (pulls.length === 0 || this.halted) return 0;
    const at = this.clock();
    const { result, durable } = this.grouped((out) => {
      let pulled = 0;
      for (const p of pulls) {
        const o = this.store.getOrder(p.hash);
        if (o === undefined || !isLive(o)) continue;
        this.pull(o, chainPullReason(p.code), at, out);
        pulled++;
      }
      return pulled;
    });
    await durable;
    this.log.info(
      { account, pulled: pulls.map((p) => ({ hash: p.hash, code: p.code, message: p.message })) },
      "resting orders pulled after an on-chain action of their account",
    );
    return result;
  }

  /**
   * Settlement's report of one mined batch, or of fills it skipped itself: settled and skipped fills
   * written, the culprits pulled, and each skip answered in the books (see `SKIP_POLICY`), all in
   * one store transaction; the updates are published after it.
   */
  reconcile(batch: ReconcileBatch): void {
    const at = this.clock();
    this.committed((out) => {
      const skipped = batch.fills.flatMap((f) => (f.settled ? [] : [{ id: f.id, reason: f.reason }]));
      const settled = batch.fills.flatMap((f) => (f.settled ? [f.id] : []));
      this.store.reconcile({ settled, skipped, lastReconciledBlock: batch.lastReconciledBlock, at });
      // The culprits go once the skips gave their lots back (a filled culprit is live again by then).
      for (const c of batch.culprits ?? []) {
        const o = this.store.getOrder(c.hash);
        if (o !== undefined && isLive(o)) this.pull(o, c.reason, at, out);
      }
      for (const id of settled) {
        const fill = this.store.getFill(id) as StoredFill;
        out.push(["trade", this.tradeOf(fill, "settled", at, batch)]);
        for (const h of [fill.makerHash, fill.takerHash])
          this.outOrder(out, h, "settled", at, { fillId: id, txHash: batch.txHash });
      }
      for (const { id, reason } of skipped) {
        this.answerSkip(this.store.getFill(id) as StoredFill, reason, batch, at, out);
      }
    });
  }

  private answerSkip(fill: StoredFill, reason: string, batch: ReconcileBatch, at: number, out: Outbox): void {
    // A keeper skip (`KEEPER_SIMULATION_<Error>`): the order the error named came as a culprit.
    const policy: SkipPolicy = reason.startsWith("KEEPER_")
      ? { pull: "none" }
      : Object.hasOwn(SKIP_POLICY, reason)
        ? SKIP_POLICY[reason as keyof typeof SKIP_POLICY]
        : { pull: "taker" };
    out.push(["trade", this.tradeOf(fill, "skipped", at, batch, reason)]);
    const maker = this.store.getOrder(fill.makerHash) as StoredOrder;
    const taker = this.store.getOrder(fill.takerHash) as StoredOrder;
    const atFault = policy.pull === "maker" ? maker : policy.pull === "taker" ? taker : undefined;
    // A skip the account caused on-chain after its match (a residual option used): it takes no more for a while.
    if (policy.rations === true && atFault !== undefined && batch.neverSent !== true) {
      this.ration(atFault.order.maker, reason, at);
    }
    this.log.info(
      { fillId: fill.id, reason, txHash: batch.txHash, pulled: atFault?.hash, neverSent: batch.neverSent === true },
      batch.neverSent ? "fill skipped before sending" : "fill skipped on-chain",
    );
    const skippedUpdate = { reason, fillId: fill.id, txHash: batch.txHash };
    // A fill that never reached the chain matches its taker again — when the cause is known and gone
    // (a chain reason the pre-send check found, or a culprit the simulation named and pulled). A revert
    // that bisection pinned on a taker group, with no culprit, could come back: that taker is put back.
    // On-chain, a plain taker whose maker was at fault is matched again too (the maker is gone; put
    // back, it would cross what rests and be cancelled); an IOC or FOK taker is used up on-chain.
    const rematchTaker =
      batch.neverSent === true
        ? !reason.startsWith("KEEPER_") || (batch.culprits?.length ?? 0) > 0
        : policy.pull === "maker" && (taker.order.flags & (IMMEDIATE_OR_CANCEL | FILL_OR_KILL)) === 0n;

    if (policy.retry && isLive(maker) && isLive(taker) && !batch.neverSent) {
      // Match the same lots again for a later block: the orders' lots never went back to the book.
      // (An IOC or FOK taker is not live here: the chain treats it as used, so it cannot be retried.)
      const [again] = this.store.recordFills([{ ...fill, retries: fill.id }], at);
      for (const o of [maker, taker]) this.outOrder(out, o.hash, "skipped", at, skippedUpdate);
      out.push(["trade", this.tradeOf(this.store.getFill(again) as StoredFill, "matched", at)]);
      return;
    }
    // The order at fault leaves first, so that the other one's lots never come back against it.
    for (const o of atFault === taker ? [taker, maker] : [maker, taker]) {
      if (o === atFault) {
        if (policy.pullAccount) this.pullAccount(o.order.maker, { reason: `account-${reason}` }, at, out);
        const now = this.store.getOrder(o.hash) as StoredOrder;
        if (isLive(now)) this.pull(now, `skipped-${reason}`, at, out);
      } else if (o === taker && rematchTaker) {
        this.rematch(o.hash, at, out);
      } else {
        this.giveBack(o.hash, at, out);
      }
      this.outOrder(out, o.hash, "skipped", at, skippedUpdate);
    }
  }

  /**
   * The store has given lots back to an order: bring the book to what the store now says rests of
   * it (at its time priority). Synced, not added: when one batch skips two fills of the same order,
   * the store has both already, and the second call must add nothing more.
   */
  private giveBack(hash: Hex, at: number, out: Outbox): void {
    const o = this.store.getOrder(hash) as StoredOrder;
    if (!isLive(o)) return; // IOC/FOK remainder, or cancelled meanwhile: nothing rests.
    const book = this.books.get(o.order.marketId);
    if (book === undefined) return;
    const inBook = book.get(o.hash)?.lots;
    if (inBook !== undefined) {
      if (o.remainingLots > inBook) {
        const change = book.increase(o.hash, o.remainingLots - inBook) as NonNullable<
          ReturnType<OrderBook["increase"]>
        >;
        this.outBook(out, o.order.marketId, change.levels, at);
      }
      return;
    }
    const restored = book.restore({ ...toBookOrder(o.hash, o.order, o.remainingLots), seq: o.seq ?? 0 });
    if (restored.rejected === undefined) {
      this.resting.set(o.hash, o.order);
      this.outBook(out, o.order.marketId, restored.levels, at);
      return;
    }
    // It would cross what arrived since: rather than match it again unasked, it is cancelled.
    this.store.cancelOrder(o.hash, `restore-${restored.rejected}`, at);
    this.outOrder(out, o.hash, "cancelled", at);
  }

  /**
   * A taker whose fill never reached the chain: what it has left is matched against the book again
   * at once (an IOC or FOK is not over: the chain never saw it); what a plain order does not fill
   * rests, at a new time priority. An order still resting only gets its lots back.
   */
  private rematch(hash: Hex, at: number, out: Outbox): void {
    const o = this.store.getOrder(hash) as StoredOrder;
    const book = this.books.get(o.order.marketId);
    if (!isLive(o) || book === undefined) return;
    if (book.get(hash) !== undefined) return this.giveBack(hash, at, out);
    const placed = book.place(toBookOrder(o.hash, o.order, o.remainingLots));
    if (placed.rejected !== undefined) {
      this.store.cancelOrder(hash, `rematch-${placed.rejected}`, at);
      this.outOrder(out, hash, "cancelled", at);
      return;
    }
    const fillIds = this.store.rematch({ ...placementOf(hash, placed), at });
    this.placed(hash, o.order, placed, fillIds, undefined, at, out);
  }

  /** Takes a live order out of the book and cancels it in the store (in the current state change). */
  private pull(o: StoredOrder, reason: string, at: number, out: Outbox): void {
    const book = this.books.get(o.order.marketId);
    const change = book?.cancel(o.hash);
    this.resting.delete(o.hash);
    // One write, no read of the row first (`o` was just read; a cancel-all pulls hundreds).
    this.store.cancelIfResting(o.hash, reason, at);
    if (change !== undefined) this.outBook(out, o.order.marketId, change.levels, at);
    this.outOrder(out, o.hash, "cancelled", at);
  }

  /**
   * One state change through the store's group commit: `write` runs now (its store writes in the
   * open group); its events are published right after the group commits. The promise resolves
   * once it is on disk; a failed write or commit is fatal.
   */
  private grouped<T>(write: (out: Outbox) => T): { result: T; durable: Promise<void> } {
    const out: Outbox = [];
    if (this.followingStore) throw new NotLeadingError();
    let handle: { result: T; durable: Promise<void>; group: object };
    let group: object | undefined;
    try {
      // The hook runs after the commit, by when `group` is known.
      handle = this.store.grouped(
        () => write(out),
        () => this.publishGroup(group as object),
      );
    } catch (error) {
      throw this.fail(error);
    }
    group = handle.group;
    const outboxes = this.groupOut.get(group);
    if (outboxes === undefined) this.groupOut.set(group, [out]);
    else outboxes.push(out);
    const durable = handle.durable.catch((error: unknown) => {
      // A commit refused after the keeper stepped down: the client's change was not made, the keeper follows.
      if (this.followingStore) {
        this.dropGroup(group as object);
        throw new NotLeadingError(); // the API answers NOT_LEADER: send it to the new leader
      }
      throw this.fail(error);
    });
    return { result: handle.result, durable };
  }

  /**
   * A group whose commit was refused (after a step-down): its events are never published, and the
   * book levels they changed are noted for `rebuildAll` — the books moved at matching, the
   * published book did not, and a rebuild that finds a level as the books had it (the store got the
   * same change from the new leader: a taker retried there) would otherwise leave it as published.
   */
  private dropGroup(group: object): void {
    for (const out of this.groupOut.get(group) ?? []) {
      for (const [name, payload] of out) {
        if (name !== "book") continue;
        const { marketId, levels } = payload as BookUpdate;
        let noted = this.unpublishedLevels.get(marketId);
        if (noted === undefined) this.unpublishedLevels.set(marketId, (noted = new Set()));
        for (const level of levels) noted.add(`${level.isBuy}:${level.priceTicks}`);
      }
    }
    this.groupOut.delete(group);
  }

  /**
   * Publishes every state change of a group that committed, in order, as one: its book changes
   * merged into one update per market. (The first state change's hook publishes them all; the
   * others find nothing left.) A busy commit window — 500 orders a second, an expiry sweep — is
   * one book delta to every feed subscriber, not one per order or slice.
   */
  private publishGroup(group: object): void {
    const outboxes = this.groupOut.get(group);
    if (outboxes === undefined) return;
    this.groupOut.delete(group);
    this.publish(outboxes.flat());
  }

  /**
   * One state change in a standalone transaction; its events published once it is durable (SQLite:
   * when this returns; PostgreSQL: once the flush carrying it has landed, after every earlier
   * commit's events; never if that flush fails).
   */
  private committed<T>(write: (out: Outbox) => T): T {
    const out: Outbox = [];
    if (this.followingStore) throw new NotLeadingError();
    try {
      return this.store.transaction(
        () => write(out),
        () => this.publish(out),
      );
    } catch (error) {
      throw this.fail(error);
    }
  }

  /**
   * Emits a state change's events. Its book changes are merged into one update per market (each
   * level's last total): a sweep of thousands of orders is one feed delta, not thousands.
   */
  private publish(out: Outbox): void {
    const books = new Map<bigint, { at: number; levels: Map<string, LevelChange> }>();
    const events: Outbox = [];
    for (const [name, payload] of out) {
      if (name !== "book") {
        events.push([name, payload]);
        continue;
      }
      const update = payload as BookUpdate;
      let merged = books.get(update.marketId);
      if (merged === undefined) books.set(update.marketId, (merged = { at: update.at, levels: new Map() }));
      for (const level of update.levels) merged.levels.set(`${level.isBuy}:${level.priceTicks}`, level);
    }
    for (const [marketId, { at, levels }] of books)
      events.push(["book", { marketId, levels: [...levels.values()], at }]);
    // One by one: a spread of a few hundred thousand events into one push overflows the stack.
    for (const event of events) this.unpublished.push(event);
    if (!this.publishing) this.emitSlice();
  }

  /**
   * Emits at most `PUBLISH_SLICE` waiting events, and the rest in later turns of the event loop
   * (`setImmediate`), in order: each event goes to every feed subscriber (a settled batch of
   * hundreds of fills to 100 connections held the loop for most of a second when sent at once).
   */
  private emitSlice(): void {
    this.publishing = true;
    try {
      for (let i = 0; i < PUBLISH_SLICE && this.unpublished.length > 0; i++) {
        const next = this.unpublished.shift() as Outbox[number] | PublishedMark;
        if (!Array.isArray(next)) {
          next.published(false);
          continue;
        }
        const [name, payload] = next;
        if (name === "trade" && (payload as TradeUpdate).status === "matched") {
          this.fillsPublished = Math.max(this.fillsPublished, (payload as TradeUpdate).fillId);
        }
        this.emit(name, payload as never);
      }
    } finally {
      this.publishing = false;
    }
    if (this.unpublished.length > 0) {
      this.publishing = true;
      setImmediate(() => this.emitSlice());
    }
  }

  /** Stops the engine after a store failure and emits `fatal` (once). */
  private fail(error: unknown): Error {
    const fatal = error instanceof Error ? error : new Error(String(error));
    if (!this.failed) {
      this.failed = true;
      this.stopped = true;
      this.log.error({ err: fatal.message }, "store write failed: the engine stops");
      this.emit("fatal", fatal);
    }
    return fatal;
  }

  /**
   * Runs `task` in `account`'s turn, and lets the account's next task start as soon as this one
   * calls `handOn` or settles: an order hands its turn on once it is written, and waits for its
   * commit outside the queue, so that an account's orders share group commits instead of waiting
   * for one each.
   */
  private seriallyUntil<T>(account: string, task: (handOn: () => void) => Promise<T>): Promise<T> {
    const previous = this.accountQueues.get(account) ?? SETTLED;
    let handOn: () => void = NOTHING;
    const handedOn = new Promise<void>((resolve) => (handOn = resolve));
    const run = () => task(handOn);
    const next = previous.then(run, run);
    const turnOver = Promise.race([handedOn, next.then(NOTHING, NOTHING)]);
    this.accountQueues.set(account, turnOver);
    void turnOver.then(() => {
      if (this.accountQueues.get(account) === turnOver) this.accountQueues.delete(account);
    });
    return next;
  }

  /** Runs `task` in `account`'s turn: once the account's task before it has settled. */
  private serially<T>(account: string, task: () => Promise<T>): Promise<T> {
    return this.seriallyUntil(account, () => task());
  }

  private outBook(out: Outbox, marketId: bigint, levels: readonly LevelChange[], at: number): void {
    if (levels.length > 0) out.push(["book", { marketId, levels, at } satisfies BookUpdate]);
  }

  /** Queues an order's current state (read now from the store); `event` defaults to what its status says. */
  private outOrder(
    out: Outbox,
    hash: Hex,
    event: OrderEvent | undefined,
    at: number,
    extra: { reason?: string; fillId?: number; txHash?: Hex | undefined } = {},
  ): StoredOrder | undefined {
    const o = this.store.getOrder(hash);
    if (o === undefined) return undefined;
    const implied: OrderEvent =
      o.status === "filled"
        ? "filled"
        : o.status === "partially-filled"
          ? "partially-filled"
          : o.status === "cancelled"
            ? "cancelled"
            : o.status === "rejected"
              ? "rejected"
              : "accepted";
    const reason = extra.reason ?? o.reason;
    const update: OrderUpdate = {
      account: o.order.maker,
      hash,
      marketId: o.order.marketId,
      event: event ?? implied,
      status: o.status,
      filledLots: o.filledLots,
      remainingLots: o.remainingLots,
      ...(reason === undefined ? {} : { reason }),
      ...(extra.fillId === undefined ? {} : { fillId: extra.fillId }),
      ...(extra.txHash === undefined ? {} : { txHash: extra.txHash }),
      at,
    };
    out.push(["order", update]);
    return o;
  }

  private tradeOf(
    fill: StoredFill,
    status: TradeUpdate["status"],
    at: number,
    batch?: Pick<ReconcileBatch, "txHash" | "blockNumber">,
    skipReason?: string,
  ): TradeUpdate {
    const maker = this.store.getOrder(fill.makerHash) as StoredOrder;
    const taker = this.store.getOrder(fill.takerHash) as StoredOrder;
    return {
      fillId: fill.id,
      marketId: fill.market,
      makerHash: fill.makerHash,
      takerHash: fill.takerHash,
      maker: maker.order.maker,
      taker: taker.order.maker,
      makerIsBuy: maker.order.isBuy,
      makerNonce: maker.order.nonce,
      takerNonce: taker.order.nonce,
      priceTicks: fill.priceTicks,
      lots: fill.lots,
      ...(fill.retries === undefined ? {} : { retries: fill.retries }),
      status,
      ...(batch?.txHash === undefined ? {} : { txHash: batch.txHash }),
      ...(batch?.blockNumber === undefined ? {} : { blockNumber: batch.blockNumber }),
      ...(skipReason === undefined ? {} : { skipReason }),
      at,
    };
  }
}

/**
 * `getAddress` of the addresses orders give, remembered by their spelling (at most 65,536), so that
 * a maker's next order costs no checksum (nor viem's cache key, built at every call).
 */
class Checksummed {
  private readonly known = new Map<string, Address>();

  of(address: string): Address {
    let checksummed = this.known.get(address);
    if (checksummed === undefined) {
      checksummed = getAddress(address);
      if (this.known.size >= 65_536) this.known.clear();
      this.known.set(address, checksummed);
    }
    return checksummed;
  }
}

/** The refusal of an order whose claim could not be raised: `free` was all other shards left. */
function claimRefusal(
  order: Order,
  need: { readonly atoms: bigint },
  context: RiskContext,
  free: bigint,
): RiskDecision {
  const side = order.isBuy ? "quote" : "base";
  const reserved = context.reservedByOpenOrders[side];
  const balance = context.balances[side];
  const elsewhere = balance - free;
  const left = free > reserved ? free - reserved : 0n;
  return {
    ok: false,
    code: RiskCode.INSUFFICIENT_BALANCE,
    message:
      `The order needs ${need.atoms} ${side} atoms${order.isBuy ? " (fee included)" : ""}, but the maker has ` +
      `${left} free (balance ${balance}, ${elsewhere} claimed by other shards for its orders there, ${reserved} ` +
      `reserved by its open orders here). A shard's unused claim comes back within seconds: try again then.`,
  };
}

/** An account's queue with nothing in it, and what a settled turn gives (shared: nothing built an order). */
const SETTLED: Promise<unknown> = Promise.resolve();
const NOTHING = (): undefined => undefined;

/** A stored (or new) order in the book's terms, with the `lots` the caller says rest or are placed (one object an order placed). */
function toBookOrder(hash: Hex, order: Order, lots: bigint): NewOrder {
  return {
    id: hash,
    account: order.maker as Address,
    isBuy: order.isBuy,
    priceTicks: order.priceTicks,
    lots,
    flags: Number(order.flags),
  };
}

/**
 * The level changes that turn the depth `before` into `after` (every level that differs, gone ones
 * at 0), and each level of `also` (`isBuy:priceTicks`: levels published otherwise) as `after` has it.
 */
function levelChanges(before: Depth, after: Depth, also?: ReadonlySet<string>): LevelChange[] {
  const changes: LevelChange[] = [];
  const pending = new Set(also);
  for (const isBuy of [true, false]) {
    const old = new Map((isBuy ? before.bids : before.asks).map((l) => [l.priceTicks, l]));
    for (const l of isBuy ? after.bids : after.asks) {
      const was = old.get(l.priceTicks);
      old.delete(l.priceTicks);
      const noted = pending.delete(`${isBuy}:${l.priceTicks}`);
      if (noted || was === undefined || was.lots !== l.lots || was.orders !== l.orders) {
        changes.push({ isBuy, priceTicks: l.priceTicks, lots: l.lots, orders: l.orders });
      }
    }
    for (const l of old.values()) {
      pending.delete(`${isBuy}:${l.priceTicks}`);
      changes.push({ isBuy, priceTicks: l.priceTicks, lots: 0n, orders: 0 });
    }
  }
  // Noted levels that neither depth holds: gone.
  for (const key of pending) {
    const [side, price] = key.split(":");
    changes.push({ isBuy: side === "true", priceTicks: BigInt(price as string), lots: 0n, orders: 0 });
  }
  return changes;
}

/** What the store records of one `book.place` of the order `hash`. */
function placementOf(hash: Hex, placed: PlaceResult) {
  const fills: NewFill[] = placed.fills.map((f) => ({
    makerHash: f.makerId as Hex,
    takerHash: hash,
    priceTicks: f.priceTicks,
    lots: f.lots,
  }));
  return {
    hash,
    seq: placed.seq,
    fills,
    selfTradeCancelled: placed.selfTradeCancelled.map((o) => o.id as Hex),
    rested: placed.rested,
  };
}

/**
 * Why the book could not hold `order`, if it could not: the book computes with numbers, exact up
 * to 2^53-1 (`MAX_BOOK_INTEGER`), so larger `uint64` sizes and prices are refused here, before
 * any signature or chain work.
 */
function beyondBookMessage(order: Pick<Order, "lots" | "priceTicks">): string | undefined {
  const beyond = [
    ...(order.lots > MAX_BOOK_INTEGER ? [`lots ${order.lots}`] : []),
    ...(order.priceTicks > MAX_BOOK_INTEGER ? [`priceTicks ${order.priceTicks}`] : []),
  ];
  if (beyond.length === 0) return undefined;
  return `${beyond.join(" and ")}: the keeper takes lots and priceTicks up to ${MAX_BOOK_INTEGER} (2^53-1)`;
}

function bookRejectMessage(reason: RejectReason): string {
  switch (reason) {
    case "too-large":
      return `the lots resting at this price would pass ${MAX_BOOK_INTEGER} (2^53-1), the most the book holds at one price`;
    case "post-only-would-cross":
      return "a post-only order would take liquidity at its price";
    case "fill-or-kill-unfillable":
      return "the book cannot fill this fill-or-kill order in full (the maker's own orders do not count)";
    default:
      return `the book refused the order: ${reason}`;
  }
}

/** The answer when a shard could not raise its claim for an order (`Engine.decide`). */
const UNCLAIMED = "the shard could not claim the order's funds in PostgreSQL; try again";

/** The engine follows another keeper now (it stepped down after the order was let in): nothing was made. */
function notLeaderRefusal(): Refusal {
  return {
    ok: false,
    code: EngineCode.NOT_LEADER,
    message: "this keeper no longer leads: the order was not placed; send it to the leader",
    retryAfterSeconds: 1,
  };
}

/** The engine is stopping: nothing more is placed. */
function stoppedRefusal(message = "the keeper is not taking orders"): Refusal {
  return { ok: false, code: EngineCode.STOPPED, message };
}

/** An amend's refusal when its target is not an open order of the account. */
/** What an answer says of an order's state. */
type OrderState = Pick<StoredOrder, "status" | "filledLots" | "remainingLots">;

function notOpen(target: OrderRef, prepared: PreparedOrder): Refusal {
  const name = "hash" in target ? `order ${target.hash}` : `no open order under nonce ${target.nonce}`;
  return {
    ok: false,
    ...(prepared.ok || prepared.hash !== undefined ? { hash: prepared.hash } : {}),
    code: EngineCode.ORDER_NOT_OPEN,
    message: `${"hash" in target ? `${name} is not open` : name}: the amend replaced nothing and placed nothing`,
  };
}

/** A place or amend's answer. */
function withKind(kind: BatchAction["kind"], result: SubmitResult): BatchOutcome {
  return kind === "amend" ? { kind, result } : { kind: "place", result };
}

/**
 * A state change refused because this keeper stepped down after the request was let in (its role
 * was checked before a wait): the API answers it `NOT_LEADER`, so that a client or a gateway goes to
 * the new leader, not `INTERNAL`.
 */
export class NotLeadingError extends Error {
  constructor() {
    super("this keeper no longer leads: the change was not made");
    this.name = "NotLeadingError";
  }
}
