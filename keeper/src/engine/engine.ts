/**
 * The engine: the one place where an order goes through the risk check, the book and the store,
 * and where settlement's outcomes come back. It owns one `OrderBook` per market served, keeps the
 * books and the store in step, and publishes what changed (`book`, `trade`, `order` events) right
 * after each store commit, for the API's feed, metrics and logs.
 *
 * What it promises:
 * - An order is answered `ok` only after the store has committed it with everything its matching
 *   did; the books can always be rebuilt from the store (`Engine.open`).
 * - Orders of one account are checked and placed one at a time (an account's reservation never
 *   races with itself); different accounts' risk reads run concurrently.
 * - A fill the chain skipped gives its lots back to the order that was not at fault; the one at
 *   fault is pulled (and every order of an account whose balance fell short). A fill skipped for
 *   the market's velocity limit is matched again for a later block. See keeper/README.md, "Engine".
 * - A store error is fatal: the engine stops taking orders (`STOPPED`) and emits `fatal`, because
 *   its books may no longer match the store; the process restarts and rebuilds from the file.
 */
import { EventEmitter } from "node:events";
import { getAddress, type Address, type Hex } from "viem";
import {
  hashOrder,
  sdkReady,
  validateOrder,
  type ExchangeDomainParameters,
  type Order,
  type SignedOrder,
} from "@crossbook/sdk";
import { OrderBook, type LevelChange, type PlaceResult, type RejectReason } from "../book";
import { checkOrder, type KeeperRiskState, type ReservingOrder, type RiskContext } from "../risk";
import type { NewFill, Store, StoredFill, StoredOrder } from "../store";
import {
  EngineCode,
  silentLogger,
  type CancelOutcome,
  type EngineEvents,
  type Logger,
  type OrderEvent,
  type ReconcileBatch,
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
  readonly log?: Logger;
  /**
   * The most orders one account may have resting, over every market (default 1,000): a trader
   * with a large balance cannot fill the keeper's memory with tiny orders.
   */
  readonly maxOpenOrdersPerAccount?: number;
  /**
   * A cheap signature check run before anything else (no account queue, no chain reads): false
   * when the signature is certainly not the maker's (an EOA whose ECDSA signature recovers to
   * someone else). The risk check still checks every signature; this only keeps unsigned orders
   * from costing chain reads or queueing behind the account they name.
   */
  readonly precheckSignature?: (signed: SignedOrder) => Promise<boolean>;
}

/** How settlement's skip of a fill is answered: which order was at fault, and whether to match again. */
interface SkipPolicy {
  /** The order(s) pulled from the book. */
  readonly pull: "maker" | "taker" | "none";
  /** Pull every order of the pulled order's account (its balance fell short). */
  readonly pullAccount?: boolean;
  /** Record the same match again for a later block (the limit resets every block). */
  readonly retry?: boolean;
}

/** The answer to each `SkipReason` name; an unknown reason pulls the taker (the conservative choice). */
const SKIP_POLICY: Readonly<Record<string, SkipPolicy>> = {
  MakerCancelled: { pull: "maker" },
  TakerCancelled: { pull: "taker" },
  MakerExpired: { pull: "maker" },
  TakerExpired: { pull: "taker" },
  MakerNonceBelowFloor: { pull: "maker" },
  TakerNonceBelowFloor: { pull: "taker" },
  MakerBalanceTooLow: { pull: "maker", pullAccount: true },
  TakerBalanceTooLow: { pull: "taker", pullAccount: true },
  MakerFeeTooHigh: { pull: "maker" },
  TakerFeeTooHigh: { pull: "taker" },
  MakerSignatureRejected: { pull: "maker" },
  TakerSignatureRejected: { pull: "taker" },
  SelfTrade: { pull: "taker" },
  // The fill-or-kill taker is over (the store cancels what is left of it); the maker gets its lots back.
  FillOrKillIncomplete: { pull: "none" },
  // A halted market or a missing reference: the two orders would cross in the book, so the aggressor goes.
  MarketHalted: { pull: "taker" },
  ReferencePriceUnavailable: { pull: "taker" },
  // The fill's price is the maker's limit: that is the price the band refused.
  PriceOutsideBand: { pull: "maker" },
  VelocityLimitReached: { pull: "none", retry: true },
  MakerCancelAfterPassed: { pull: "maker", pullAccount: true },
  TakerCancelAfterPassed: { pull: "taker", pullAccount: true },
  MakerWindowLimitReached: { pull: "maker" },
  TakerWindowLimitReached: { pull: "taker" },
};

const BOOK_REJECT_CODE: Readonly<Record<RejectReason, RejectCode>> = {
  "post-only-would-cross": EngineCode.POST_ONLY_WOULD_CROSS,
  "fill-or-kill-unfillable": EngineCode.FILL_OR_KILL_UNFILLABLE,
  // The risk check refuses these before the book sees them; kept for completeness.
  "duplicate-id": EngineCode.DUPLICATE_ORDER,
  "invalid-lots": "ZERO_LOTS",
  "invalid-price": "ZERO_PRICE",
  "invalid-flags": "INVALID_FLAGS",
  "would-cross": "INVALID_ORDER",
  "never-rests": "INVALID_ORDER",
  "invalid-seq": "INVALID_ORDER",
};

/** Refusals that are answered but not stored or published: the maker did not sign it, or it is malformed. */
const NOT_RECORDED: ReadonlySet<string> = new Set([
  "BAD_SIGNATURE",
  "SIGNATURE_REJECTED",
  "INVALID_ORDER",
  "INVALID_FLAGS",
  "ZERO_LOTS",
  "ZERO_PRICE",
]);

/** `validateOrder` problems that the risk check reports with its own codes. */
const LEFT_TO_RISK: ReadonlySet<string> = new Set(["ZERO", "UNKNOWN_FLAGS", "CONFLICTING_FLAGS", "BAD_CHECKSUM"]);

const isLive = (o: StoredOrder) => o.status === "open" || o.status === "partially-filled";

export class Engine extends EventEmitter<EngineEvents & { fatal: [Error] }> {
  private readonly books = new Map<bigint, OrderBook>();
  /** The signed orders resting in the books, by hash (the fields a reservation needs, without a query). */
  private readonly resting = new Map<Hex, Order>();
  /** One promise chain per account: its orders are checked and placed in arrival order. */
  private readonly accountQueues = new Map<string, Promise<unknown>>();
  private readonly store: Store;
  /** (Not `domain`: that name belongs to EventEmitter, for node:domain.) */
  private readonly exchangeDomain: ExchangeDomainParameters;
  private readonly readContext: ReadRiskContext;
  private readonly clock: () => number;
  private readonly log: Logger;
  private stopped = false;
  private failed = false;
  private readonly maxOpenOrders: number;
  private readonly precheckSignature: EngineOptions["precheckSignature"];

  private constructor(options: EngineOptions) {
    super();
    this.store = options.store;
    this.exchangeDomain = options.domain;
    this.readContext = options.readRiskContext;
    this.clock = options.clock ?? Date.now;
    this.log = options.log ?? silentLogger;
    this.maxOpenOrders = options.maxOpenOrdersPerAccount ?? 1000;
    this.precheckSignature = options.precheckSignature;
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
    return engine;
  }

  private rebuild(marketId: bigint): void {
    const book = new OrderBook({ nextSeq: this.store.nextSeq(marketId) });
    this.books.set(marketId, book);
    let restored = 0;
    for (const o of this.store.openOrders(marketId)) {
      const result = book.restore({ ...toBookOrder(o), lots: o.remainingLots, seq: o.seq ?? 0 });
      if (result.rejected === undefined) {
        this.resting.set(o.hash, o.order);
        restored++;
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

  /** Whether the engine takes orders (false after `stop` or a fatal store error). */
  get running(): boolean {
    return !this.stopped;
  }

  /** Stops taking orders; what is in flight finishes. */
  stop(): void {
    this.stopped = true;
  }

  /** The EIP-712 hash of an order under this keeper's domain (its id everywhere in the keeper). */
  hashOf(order: Order): Hex {
    return hashOrder({ order, domain: this.exchangeDomain });
  }

  /**
   * Takes a signed order: checks it against the chain and the keeper's own state, matches it, and
   * commits everything to the store before answering. A refused order is stored as `rejected` with
   * its code (unless it is malformed, a duplicate, or its market is not served).
   */
  async submit(signed: SignedOrder): Promise<SubmitResult> {
    if (this.stopped) return { ok: false, code: EngineCode.STOPPED, message: "the keeper is not taking orders" };
    // Only what makes the order unencodable stops here; a zero size or price and bad flags get the
    // risk check's finer codes (ZERO_LOTS, ZERO_PRICE, INVALID_FLAGS).
    const problems = validateOrder({ order: signed.order }).problems.filter((p) => !LEFT_TO_RISK.has(p.code));
    if (problems.length > 0) {
      return { ok: false, code: "INVALID_ORDER", message: problems.map((p) => p.message).join("; ") };
    }
    const order: Order = { ...signed.order, maker: getAddress(signed.order.maker) };
    const hash = this.hashOf(order);
    if (!this.books.has(order.marketId)) {
      return {
        ok: false,
        hash,
        code: EngineCode.MARKET_NOT_SERVED,
        message: `market ${order.marketId} is not served by this keeper (it serves ${this.markets.join(", ")})`,
      };
    }
    if (
      this.precheckSignature !== undefined &&
      !(await this.precheckSignature({ order, signature: signed.signature }))
    ) {
      return {
        ok: false,
        hash,
        code: "BAD_SIGNATURE",
        message: `The signature does not recover to the maker ${order.maker}.`,
      };
    }
    return this.serially(order.maker, () => this.checkAndPlace(hash, { order, signature: signed.signature }));
  }

  private async checkAndPlace(hash: Hex, signed: SignedOrder): Promise<SubmitResult> {
    const { order, signature } = signed;
    if (this.stopped) return { ok: false, hash, code: EngineCode.STOPPED, message: "the keeper is not taking orders" };
    // A refused order may come again (its maker may have deposited since); any other is a duplicate.
    const previous = this.store.orderStatus(hash);
    if (previous !== undefined && previous !== "rejected") {
      return { ok: false, hash, code: EngineCode.DUPLICATE_ORDER, message: `order ${hash} was already submitted` };
    }
    const replacesRejected = previous === "rejected";
    let resting = 0;
    for (const b of this.books.values()) resting += b.countOf(order.maker);
    if (resting >= this.maxOpenOrders) {
      return this.reject(
        hash,
        signed,
        EngineCode.TOO_MANY_OPEN_ORDERS,
        `${order.maker} has ${resting} resting orders, the most this keeper holds for one account; cancel some first`,
        replacesRejected,
      );
    }
    const openOrders = this.reservingOrdersOf(order.maker);
    let context: RiskContext;
    try {
      context = await this.readContext(signed, { chainId: this.exchangeDomain.chainId, openOrders });
    } catch (error) {
      this.log.warn({ hash, err: String(error) }, "risk check could not read the chain");
      return { ok: false, hash, code: EngineCode.CHAIN_UNAVAILABLE, message: "the chain could not be read; try again" };
    }
    const decision = await checkOrder(order, signature, context);
    if (!decision.ok) return this.reject(hash, signed, decision.code, decision.message, replacesRejected);
    // The risk read awaited: the store may have taken this hash meanwhile (same order sent twice at once
    // cannot happen — the account queue serialises it — but a stop can have come).
    if (this.stopped) return { ok: false, hash, code: EngineCode.STOPPED, message: "the keeper is not taking orders" };

    const book = this.books.get(order.marketId) as OrderBook;
    const placed = book.place({ ...toBookOrder({ hash, order }), lots: order.lots });
    if (placed.rejected !== undefined) {
      return this.reject(
        hash,
        signed,
        BOOK_REJECT_CODE[placed.rejected],
        bookRejectMessage(placed.rejected),
        replacesRejected,
      );
    }
    const at = this.clock();
    const fills: NewFill[] = placed.fills.map((f) => ({
      makerHash: f.makerId as Hex,
      takerHash: hash,
      priceTicks: f.priceTicks,
      lots: f.lots,
    }));
    const durable = this.commitGrouped(() =>
      this.store.acceptOrder({
        hash,
        order,
        signature,
        seq: placed.seq,
        fills,
        selfTradeCancelled: placed.selfTradeCancelled.map((o) => o.id as Hex),
        rested: placed.rested,
        at,
        replacesRejected,
      }),
    );
    // The feed sees the book as it is in memory, at once (deltas must follow the book's own order);
    // the client's answer waits until the order is on disk.
    const { trades, stored } = this.publishPlacement(hash, order, placed, at);
    try {
      await durable;
    } catch {
      return { ok: false, hash, code: EngineCode.STOPPED, message: "the keeper could not record the order" };
    }
    // The answer is the order as it was accepted (a later order may have matched it since).
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
   * The account's orders that still hold funds, with the lots not yet seen to settle: the resting
   * part from the books (in memory), plus pending and sent fills from the store.
   */
  private reservingOrdersOf(account: Address): ReservingOrder[] {
    const byHash = new Map<string, ReservingOrder>();
    for (const book of this.books.values()) {
      for (const r of book.ordersOf(account)) {
        const order = this.resting.get(r.id as Hex) ?? this.store.getOrder(r.id as Hex)?.order;
        if (order !== undefined) byHash.set(r.id, { order, lots: r.lots });
      }
    }
    for (const { order, lots } of this.store.openFillsOf(account)) {
      const entry = byHash.get(order.hash);
      byHash.set(order.hash, { order: order.order, lots: (entry?.lots ?? 0n) + lots });
    }
    return [...byHash.values()];
  }

  private reject(
    hash: Hex,
    signed: SignedOrder,
    code: RejectCode,
    message: string,
    replacesRejected = false,
  ): SubmitResult {
    // An order its maker did not sign (or that is malformed) is answered and forgotten: stored, it
    // would let anyone fill the database, and a victim's history, with orders naming the victim.
    if (NOT_RECORDED.has(code)) return { ok: false, hash, code, message };
    const at = this.clock();
    // A rejection changes nothing a restart needs: it is answered without waiting for the disk.
    this.commitGrouped(() => this.store.rejectOrder({ hash, ...signed, reason: code, at, replacesRejected })).catch(
      () => {},
    );
    this.emitOrder(hash, "rejected", at, { reason: code });
    return { ok: false, hash, code, message };
  }

  /** Publishes what `place` did: book levels, trades, and the order updates of everyone involved. */
  private publishPlacement(
    hash: Hex,
    order: Order,
    placed: PlaceResult,
    at: number,
  ): { trades: TradeUpdate[]; stored: StoredOrder } {
    if (placed.rested) this.resting.set(hash, order);
    for (const f of placed.fills) if (f.makerRemainingLots === 0n) this.resting.delete(f.makerId as Hex);
    for (const o of placed.selfTradeCancelled) this.resting.delete(o.id as Hex);
    this.emitBook(order.marketId, placed.levels, at);
    // The fills were stored in order; their ids are the last ones of this order as taker.
    const trades =
      placed.fills.length === 0
        ? []
        : this.store
            .fillsOfOrder(hash)
            .slice(-placed.fills.length)
            .map((f) => this.tradeOf(f, "matched", at));
    for (const t of trades) this.emit("trade", t);
    let stored = this.emitOrder(hash, "accepted", at) as StoredOrder;
    for (const o of placed.selfTradeCancelled) this.emitOrder(o.id as Hex, "cancelled", at);
    for (const makerHash of new Set(placed.fills.map((f) => f.makerId as Hex)))
      this.emitOrder(makerHash, undefined, at);
    if (placed.fills.length > 0 || !placed.rested) stored = this.emitOrder(hash, undefined, at) as StoredOrder;
    return { trades, stored };
  }

  /**
   * Soft cancel: takes an order out of the book at once. `account`, when given, must be the
   * order's maker (the API passes the signer of the cancel message). Fills already matched stay.
   */
  cancel(hash: Hex, options: { account?: Address; reason?: string } = {}): CancelOutcome {
    const stored = this.store.getOrder(hash);
    if (stored === undefined) return "not-found";
    if (options.account !== undefined && getAddress(options.account) !== stored.order.maker) return "not-owner";
    if (!isLive(stored)) return "not-open";
    this.pull(stored, options.reason ?? "soft-cancel", this.clock());
    return "cancelled";
  }

  /**
   * Soft-cancels every live order of `account` (in one market, or all) created at or before
   * `createdUpTo` (ms): a replayed cancel-all never reaches orders placed after it was signed.
   * Returns the hashes cancelled.
   */
  cancelAll(account: Address, options: { marketId?: bigint; createdUpTo?: number; reason?: string } = {}): Hex[] {
    const at = this.clock();
    const cancelled: Hex[] = [];
    // One transaction (one fsync) for all of them.
    this.commit(() =>
      this.store.transaction(() => {
        for (const o of this.store.liveOrdersOf(getAddress(account))) {
          if (options.marketId !== undefined && o.order.marketId !== options.marketId) continue;
          if (options.createdUpTo !== undefined && o.createdAt > options.createdUpTo) continue;
          this.pull(o, options.reason ?? "soft-cancel-all", at);
          cancelled.push(o.hash);
        }
      }),
    );
    return cancelled;
  }

  /**
   * Cancels the resting orders whose `expiry` (unix seconds) is before `nowSeconds`: the chain
   * would skip them. Returns how many. Call it as blocks arrive, with the block's timestamp.
   */
  expire(nowSeconds: bigint): number {
    const at = this.clock();
    let count = 0;
    for (const [marketId] of this.books) {
      for (const o of this.store.openOrders(marketId)) {
        if (o.order.expiry >= nowSeconds) continue;
        this.pull(o, "expired", at);
        count++;
      }
    }
    return count;
  }

  /**
   * Settlement's report of one mined batch: settled and skipped fills, written to the store in one
   * transaction (with the last reconciled block), then the book answers each skip (see
   * `SKIP_POLICY`) and the updates are published.
   */
  reconcile(batch: ReconcileBatch): void {
    const at = this.clock();
    const skipped = batch.fills.flatMap((f) => (f.settled ? [] : [{ id: f.id, reason: f.reason }]));
    const settled = batch.fills.flatMap((f) => (f.settled ? [f.id] : []));
    this.commit(() => this.store.reconcile({ settled, skipped, lastReconciledBlock: batch.lastReconciledBlock, at }));
    for (const id of settled) {
      const fill = this.store.getFill(id) as StoredFill;
      this.emit("trade", this.tradeOf(fill, "settled", at, batch));
      for (const h of [fill.makerHash, fill.takerHash])
        this.emitOrder(h, "settled", at, { fillId: id, txHash: batch.txHash });
    }
    for (const { id, reason } of skipped) this.answerSkip(this.store.getFill(id) as StoredFill, reason, batch, at);
  }

  private answerSkip(fill: StoredFill, reason: string, batch: ReconcileBatch, at: number): void {
    // A keeper skip (`KEEPER_SIMULATION_<Error>`): settlement cancels the order the error named itself.
    const policy = reason.startsWith("KEEPER_")
      ? { pull: "none" as const }
      : (SKIP_POLICY[reason] ?? { pull: "taker" });
    this.emit("trade", this.tradeOf(fill, "skipped", at, batch, reason));
    const maker = this.store.getOrder(fill.makerHash) as StoredOrder;
    const taker = this.store.getOrder(fill.takerHash) as StoredOrder;
    const atFault = policy.pull === "maker" ? maker : policy.pull === "taker" ? taker : undefined;
    this.log.info({ fillId: fill.id, reason, txHash: batch.txHash, pulled: atFault?.hash }, "fill skipped on-chain");

    if (policy.retry && isLive(maker) && isLive(taker)) {
      // Match the same lots again for a later block: the orders' lots never went back to the book.
      // (An IOC or FOK taker is not live here: the chain treats it as used, so it cannot be retried.)
      this.commit(() => this.store.recordFills([fill], at));
      for (const o of [maker, taker])
        this.emitOrder(o.hash, "skipped", at, { reason, fillId: fill.id, txHash: batch.txHash });
      return;
    }
    // The order at fault leaves first, so that the other one's lots never come back against it.
    for (const o of atFault === taker ? [taker, maker] : [maker, taker]) {
      if (o === atFault) {
        if (policy.pullAccount) this.cancelAll(o.order.maker, { reason: `account-${reason}` });
        if (isLive(this.store.getOrder(o.hash) as StoredOrder)) this.pull(o, `skipped-${reason}`, at);
      } else {
        this.giveBack(o, at);
      }
      this.emitOrder(o.hash, "skipped", at, { reason, fillId: fill.id, txHash: batch.txHash });
    }
  }

  /** The store has given `lots` back to `o`: put them back in the book too (at its time priority). */
  /**
   * The store has given lots back to `before`: bring the book to what the store now says rests of
   * it (at its time priority). Synced, not added: when one batch skips two fills of the same order,
   * the store has both already, and the second call must add nothing more.
   */
  private giveBack(before: StoredOrder, at: number): void {
    const o = this.store.getOrder(before.hash) as StoredOrder;
    if (!isLive(o)) return; // IOC/FOK remainder, or cancelled meanwhile: nothing rests.
    const book = this.books.get(o.order.marketId);
    if (book === undefined) return;
    const inBook = book.get(o.hash)?.lots;
    if (inBook !== undefined) {
      if (o.remainingLots > inBook) {
        const change = book.increase(o.hash, o.remainingLots - inBook) as NonNullable<
          ReturnType<OrderBook["increase"]>
        >;
        this.emitBook(o.order.marketId, change.levels, at);
      }
      return;
    }
    const restored = book.restore({ ...toBookOrder(o), lots: o.remainingLots, seq: o.seq ?? 0 });
    if (restored.rejected === undefined) {
      this.resting.set(o.hash, o.order);
      this.emitBook(o.order.marketId, restored.levels, at);
      return;
    }
    // It would cross what arrived since: rather than match it again unasked, it is cancelled.
    this.commit(() => this.store.cancelOrder(o.hash, `restore-${restored.rejected}`, at));
    this.emitOrder(o.hash, "cancelled", at);
  }

  /** Takes a live order out of the book and cancels it in the store. */
  private pull(o: StoredOrder, reason: string, at: number): void {
    const book = this.books.get(o.order.marketId);
    const change = book?.cancel(o.hash);
    this.resting.delete(o.hash);
    this.commit(() => this.store.cancelOrder(o.hash, reason, at));
    if (change !== undefined) this.emitBook(o.order.marketId, change.levels, at);
    this.emitOrder(o.hash, "cancelled", at);
  }

  private commit<T>(write: () => T): T {
    try {
      return write();
    } catch (error) {
      throw this.fail(error);
    }
  }

  /**
   * Writes through the store's group commit: one fsync for every order of a burst. The returned
   * promise resolves once the write is on disk; a failed write or commit is fatal, as in `commit`.
   */
  private commitGrouped(write: () => void): Promise<void> {
    let durable: Promise<void>;
    try {
      durable = this.store.grouped(write).durable;
    } catch (error) {
      return Promise.reject(this.fail(error));
    }
    return durable.catch((error: unknown) => {
      throw this.fail(error);
    });
  }

  /** Stops the engine after a store failure and emits `fatal` (once). */
  private fail(error: unknown): Error {
    const fatal = error instanceof Error ? error : new Error(String(error));
    if (!this.stopped || !this.failed) {
      this.failed = true;
      this.stopped = true;
      this.log.error({ err: fatal.message }, "store write failed: the engine stops");
      this.emit("fatal", fatal);
    }
    return fatal;
  }

  private serially<T>(account: string, task: () => Promise<T>): Promise<T> {
    const previous = this.accountQueues.get(account) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settledNext = next.then(
      () => undefined,
      () => undefined,
    );
    this.accountQueues.set(account, settledNext);
    void settledNext.then(() => {
      if (this.accountQueues.get(account) === settledNext) this.accountQueues.delete(account);
    });
    return next;
  }

  private emitBook(marketId: bigint, levels: readonly LevelChange[], at: number): void {
    if (levels.length > 0) this.emit("book", { marketId, levels, at });
  }

  /** Emits an order's current state; `event` defaults to what its status says. */
  private emitOrder(
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
    this.emit("order", {
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
    });
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
      priceTicks: fill.priceTicks,
      lots: fill.lots,
      status,
      ...(batch?.txHash === undefined ? {} : { txHash: batch.txHash }),
      ...(batch?.blockNumber === undefined ? {} : { blockNumber: batch.blockNumber }),
      ...(skipReason === undefined ? {} : { skipReason }),
      at,
    };
  }
}

/** A stored (or new) order in the book's terms, without `lots` (the caller knows what rests). */
function toBookOrder(o: { hash: Hex; order: Order }) {
  return {
    id: o.hash,
    account: o.order.maker as Address,
    isBuy: o.order.isBuy,
    priceTicks: o.order.priceTicks,
    flags: Number(o.order.flags),
  };
}

function bookRejectMessage(reason: RejectReason): string {
  switch (reason) {
    case "post-only-would-cross":
      return "a post-only order would take liquidity at its price";
    case "fill-or-kill-unfillable":
      return "the book cannot fill this fill-or-kill order in full (the maker's own orders do not count)";
    default:
      return `the book refused the order: ${reason}`;
  }
}
