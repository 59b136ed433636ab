/**
 * A plain TypeScript model of the Exchange's documented behaviour (DESIGN.md "Contracts",
 * IExchange.sol): internal balances, token holdings, fill state per (maker, nonce), nonce floors,
 * fees, and the outcome of every fill of a `settle` call. No chain access: the stateful property
 * test (Exchange.property.test.ts) drives the model and the contract side by side and compares them.
 *
 * Where the documents leave an order of checks open (which skip reason wins when two apply), the
 * model follows the contract's order: maker validity (expiry, then nonce floor), taker validity,
 * maker cancelled, taker cancelled, self-trade, maker fee, taker fee, buyer balance, seller balance.
 */
import { FILL_OR_KILL, IMMEDIATE_OR_CANCEL, MAX_UINT64, POST_ONLY, SkipReason } from "../helpers/orders";
import type { Fill, Order } from "../helpers/orders";

export const BPS = 10_000n;

export interface MarketModel {
  id: bigint;
  base: string;
  quote: string;
  lotSize: bigint;
  tickSize: bigint;
  makerFeeBps: bigint;
  takerFeeBps: bigint;
}

/** An order as signed by its maker, with a model-wide id in signing order. */
export interface SignedOrder {
  id: number;
  order: Order;
  signature: string;
}

export type FillOutcome = { traded: true } | { traded: false; reason: number };

interface NonceState {
  filled: bigint;
  cancelled: boolean;
}

export const hasFlag = (order: Order, flag: bigint) => (order.flags & flag) !== 0n;

export const nonceKey = (maker: string, nonce: bigint) => `${maker.toLowerCase()}/${nonce}`;
const balanceKey = (account: string, token: string) => `${account.toLowerCase()}/${token.toLowerCase()}`;

/** The order's limit crosses the maker's price (the taker is on the other side). */
export function crosses(maker: Order, taker: Order): boolean {
  return maker.isBuy ? taker.priceTicks <= maker.priceTicks : taker.priceTicks >= maker.priceTicks;
}

export class ExchangeModel {
  /** Internal balances, by account and token. */
  private readonly balances = new Map<string, bigint>();
  /** Tokens held by the Exchange contract, by token: deposits minus withdrawals. */
  readonly holdings = new Map<string, bigint>();
  private readonly nonces = new Map<string, NonceState>();
  private readonly floors = new Map<string, bigint>();
  /** The largest `lots` of any order signed under each (maker, nonce). */
  readonly largestSigned = new Map<string, bigint>();
  /** Every order signed so far, in signing order. */
  readonly orders: SignedOrder[] = [];
  /** Every (maker, nonce) the model has seen (signed, cancelled or filled). */
  readonly knownNonces = new Map<string, { maker: string; nonce: bigint }>();

  constructor(
    readonly markets: Map<bigint, MarketModel>,
    public feeRecipient: string,
  ) {}

  // ─── Balances ──────────────────────────────────────────────────────────────────────────

  balance(account: string, token: string): bigint {
    return this.balances.get(balanceKey(account, token)) ?? 0n;
  }

  private setBalance(account: string, token: string, amount: bigint) {
    if (amount < 0n) throw new Error(`model: negative balance of ${account} in ${token}`);
    this.balances.set(balanceKey(account, token), amount);
  }

  private credit(account: string, token: string, amount: bigint) {
    this.setBalance(account, token, this.balance(account, token) + amount);
  }

  private debit(account: string, token: string, amount: bigint) {
    this.setBalance(account, token, this.balance(account, token) - amount);
  }

  deposit(account: string, token: string, amount: bigint) {
    this.credit(account, token, amount);
    this.holdings.set(token, (this.holdings.get(token) ?? 0n) + amount);
  }

  /** Applies a withdrawal the caller has checked is covered. */
  withdraw(account: string, token: string, amount: bigint) {
    this.debit(account, token, amount);
    this.holdings.set(token, (this.holdings.get(token) ?? 0n) - amount);
  }

  // ─── Fill state and cancellation ───────────────────────────────────────────────────────

  private nonceState(maker: string, nonce: bigint): NonceState {
    const key = nonceKey(maker, nonce);
    let state = this.nonces.get(key);
    if (!state) {
      state = { filled: 0n, cancelled: false };
      this.nonces.set(key, state);
      this.knownNonces.set(key, { maker, nonce });
    }
    return state;
  }

  /** What `filled(maker, nonce)` must read: the lots filled, or `type(uint64).max` once cancelled. */
  filled(maker: string, nonce: bigint): bigint {
    const state = this.nonces.get(nonceKey(maker, nonce));
    if (!state) return 0n;
    return state.cancelled ? MAX_UINT64 : state.filled;
  }

  /** Lots filled under (maker, nonce) as the keeper tracks them: it does not know about cancels. */
  lotsFilled(maker: string, nonce: bigint): bigint {
    return this.nonces.get(nonceKey(maker, nonce))?.filled ?? 0n;
  }

  isCancelled(maker: string, nonce: bigint): boolean {
    return this.nonces.get(nonceKey(maker, nonce))?.cancelled ?? false;
  }

  minNonce(maker: string): bigint {
    return this.floors.get(maker.toLowerCase()) ?? 0n;
  }

  cancel(maker: string, nonces: bigint[]) {
    for (const nonce of nonces) this.nonceState(maker, nonce).cancelled = true;
  }

  /** Raises the floor; the caller has checked that `minNonce` is above the current one. */
  cancelUpTo(maker: string, minNonce: bigint) {
    this.floors.set(maker.toLowerCase(), minNonce);
  }

  recordSigned(signed: SignedOrder) {
    this.orders.push(signed);
    const { maker, nonce, lots } = signed.order;
    this.nonceState(maker, nonce);
    const key = nonceKey(maker, nonce);
    const largest = this.largestSigned.get(key) ?? 0n;
    if (lots > largest) this.largestSigned.set(key, lots);
  }

  /** The nonces `maker` has signed orders under, in first-signed order, without repeats. */
  signedNonces(maker: string): bigint[] {
    const seen = new Set<bigint>();
    for (const { order } of this.orders) {
      if (order.maker.toLowerCase() === maker.toLowerCase()) seen.add(order.nonce);
    }
    return [...seen];
  }

  setFees(marketId: bigint, makerFeeBps: bigint, takerFeeBps: bigint) {
    const market = this.markets.get(marketId)!;
    market.makerFeeBps = makerFeeBps;
    market.takerFeeBps = takerFeeBps;
  }

  // ─── Settlement ────────────────────────────────────────────────────────────────────────

  /**
   * Applies a keeper-valid `settle(orders, signatures, fills)` (every signature good, no keeper
   * mistake) mined at `timestamp`, and returns what each fill must do: trade, or skip with a reason.
   */
  settle(orders: Order[], fills: Fill[], timestamp: bigint): FillOutcome[] {
    const outcomes: FillOutcome[] = [];
    const batch = new BatchModel(this);
    for (let i = 0; i < fills.length;) {
      const taker = orders[Number(fills[i].takerIndex)];
      if (!hasFlag(taker, FILL_OR_KILL)) {
        const reason = this.settleFill(batch, orders, fills[i], timestamp);
        outcomes.push(reason === 0 ? { traded: true } : { traded: false, reason });
        i += 1;
        continue;
      }
      // A fill-or-kill taker: its run of contiguous fills executes entirely or not at all.
      let end = i;
      while (end < fills.length && fills[end].takerIndex === fills[i].takerIndex) end += 1;
      batch.load(taker.marketId);
      const saved = this.save(batch);
      let failed = -1;
      let failReason = 0;
      for (let j = i; j < end; j += 1) {
        const reason = this.settleFill(batch, orders, fills[j], timestamp);
        if (reason !== 0) {
          failed = j;
          failReason = reason;
          break;
        }
      }
      for (let j = i; j < end; j += 1) {
        if (failed < 0) outcomes.push({ traded: true });
        else outcomes.push({ traded: false, reason: j === failed ? failReason : SkipReason.FillOrKillIncomplete });
      }
      if (failed >= 0) this.restore(saved, batch);
      i = end;
    }
    batch.flush();
    // IOC: an immediate-or-cancel order used by any fill of the call can never fill after it.
    for (const fill of fills) {
      for (const index of [fill.makerIndex, fill.takerIndex]) {
        const order = orders[Number(index)];
        if (hasFlag(order, IMMEDIATE_OR_CANCEL)) this.nonceState(order.maker, order.nonce).cancelled = true;
      }
    }
    return outcomes;
  }

  /** 0 when the order may fill at `timestamp`, else its maker-side SkipReason. */
  private validity(order: Order, timestamp: bigint): number {
    if (timestamp > order.expiry) return SkipReason.MakerExpired;
    if (order.nonce < this.minNonce(order.maker)) return SkipReason.MakerNonceBelowFloor;
    return 0;
  }

  private settleFill(batch: BatchModel, orders: Order[], fill: Fill, timestamp: bigint): number {
    const maker = orders[Number(fill.makerIndex)];
    const taker = orders[Number(fill.takerIndex)];
    const market = batch.load(maker.marketId);
    const makerCode = this.validity(maker, timestamp);
    const takerCode = this.validity(taker, timestamp);
    if (makerCode !== 0) return makerCode;
    if (takerCode !== 0) return takerCode + 1;
    const makerState = this.nonceState(maker.maker, maker.nonce);
    const takerState = this.nonceState(taker.maker, taker.nonce);
    if (makerState.cancelled) return SkipReason.MakerCancelled;
    if (takerState.cancelled) return SkipReason.TakerCancelled;
    if (fill.lots > maker.lots - makerState.filled || fill.lots > taker.lots - takerState.filled) {
      throw new Error("model: the keeper sent a fill beyond an order's size (a bug of the test's keeper)");
    }
    if (maker.maker.toLowerCase() === taker.maker.toLowerCase()) return SkipReason.SelfTrade;
    if (market.makerFeeBps > maker.maxFeeBps) return SkipReason.MakerFeeTooHigh;
    if (market.takerFeeBps > taker.maxFeeBps) return SkipReason.TakerFeeTooHigh;

    const baseAtoms = fill.lots * market.lotSize;
    const quoteAtoms = fill.lots * maker.priceTicks * market.tickSize;
    const makerFee = (quoteAtoms * market.makerFeeBps) / BPS;
    const takerFee = (quoteAtoms * market.takerFeeBps) / BPS;
    const buyer = maker.isBuy ? maker.maker : taker.maker;
    const seller = maker.isBuy ? taker.maker : maker.maker;
    const buyerFee = maker.isBuy ? makerFee : takerFee;
    const sellerFee = maker.isBuy ? takerFee : makerFee;
    if (this.balance(buyer, market.quote) < quoteAtoms + buyerFee) {
      return maker.isBuy ? SkipReason.MakerBalanceTooLow : SkipReason.TakerBalanceTooLow;
    }
    if (this.balance(seller, market.base) < baseAtoms) {
      return maker.isBuy ? SkipReason.TakerBalanceTooLow : SkipReason.MakerBalanceTooLow;
    }
    this.debit(buyer, market.quote, quoteAtoms + buyerFee);
    this.debit(seller, market.base, baseAtoms);
    this.credit(buyer, market.base, baseAtoms);
    this.credit(seller, market.quote, quoteAtoms - sellerFee);
    batch.feesAccrued += makerFee + takerFee;
    makerState.filled += fill.lots;
    takerState.filled += fill.lots;
    return 0;
  }

  private save(batch: BatchModel) {
    return {
      balances: new Map(this.balances),
      nonces: new Map([...this.nonces].map(([k, v]) => [k, { ...v }])),
      feesAccrued: batch.feesAccrued,
    };
  }

  private restore(saved: ReturnType<ExchangeModel["save"]>, batch: BatchModel) {
    this.balances.clear();
    for (const [k, v] of saved.balances) this.balances.set(k, v);
    this.nonces.clear();
    for (const [k, v] of saved.nonces) this.nonces.set(k, v);
    batch.feesAccrued = saved.feesAccrued;
  }

  /** Fees are credited to the recipient when the call moves to another market and at its end. */
  creditFees(token: string, amount: bigint) {
    this.credit(this.feeRecipient, token, amount);
  }
}

/** The per-call state of `settle`: the market in use and the fees accrued on it, not yet credited. */
class BatchModel {
  marketId = 0n;
  feesAccrued = 0n;
  private market: MarketModel | undefined;

  constructor(private readonly model: ExchangeModel) {}

  load(marketId: bigint): MarketModel {
    if (this.market && this.marketId === marketId) return this.market;
    this.flush();
    const market = this.model.markets.get(marketId);
    if (!market) throw new Error(`model: unknown market ${marketId}`);
    this.marketId = marketId;
    this.market = { ...market };
    return this.market;
  }

  flush() {
    if (this.feesAccrued === 0n || !this.market) return;
    this.model.creditFees(this.market.quote, this.feesAccrued);
    this.feesAccrued = 0n;
  }
}

/** A post-only order may only make; a fill-or-kill order may only take. */
export function canTake(order: Order): boolean {
  return !hasFlag(order, POST_ONLY);
}

export function canMake(order: Order): boolean {
  return !hasFlag(order, FILL_OR_KILL);
}
