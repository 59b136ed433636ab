/**
 * A plain TypeScript model of the Exchange's documented behaviour (DESIGN.md "Contracts",
 * IExchange.sol): internal balances, token holdings, fill state per (maker, nonce), nonce floors,
 * fees, the risk limits (pause, halt, price band with a feed or the last price, velocity, cancel-after
 * and window limits), and the outcome of every fill of a `settle` call. No chain access: the stateful
 * property test (Exchange.property.test.ts) drives the model and the contract side by side and
 * compares them.
 *
 * Where the documents leave an order of checks open (which skip reason wins when two apply), the
 * model follows the contract's order: maker validity (expiry, nonce floor, cancel-after), taker
 * validity, maker cancelled, taker cancelled, self-trade, maker fee, taker fee, market halted,
 * reference price unavailable, price outside band, velocity, maker window, taker window, buyer
 * balance, seller balance.
 */
import { FILL_OR_KILL, IMMEDIATE_OR_CANCEL, MAX_UINT64, POST_ONLY, SkipReason } from "../helpers/orders";
import type { Fill, Order } from "../helpers/orders";

export const BPS = 10_000n;
/** How long a loosening of a window limit waits (`WindowLimit.LOOSEN_DELAY`). */
export const LOOSEN_DELAY = 3600n;
export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
const MAX_DECIMALS = 18n;

export interface MarketModel {
  id: bigint;
  base: string;
  quote: string;
  lotSize: bigint;
  tickSize: bigint;
  makerFeeBps: bigint;
  takerFeeBps: bigint;
  baseDecimals: bigint;
  quoteDecimals: bigint;
  // Risk limits and their state, as `riskLimits` reads them.
  halted: boolean;
  bandBps: bigint;
  maxLotsPerBlock: bigint;
  /** The feed's address, or ZERO_ADDRESS. */
  feed: string;
  feedMaxAge: bigint;
  /** Tracked (by `settle`) only while a band or a velocity limit is set; set by `setPriceBand`. */
  lastPriceTicks: bigint;
  stateBlock: bigint;
  lotsThisBlock: bigint;
}

/** A MockPriceFeed: what `latestRoundData` answers. */
export interface FeedModel {
  address: string;
  decimals: bigint;
  answer: bigint;
  updatedAt: bigint;
  reverting: boolean;
}

/** `WindowLimit.State`, field by field (all zero: no limit). */
export interface WindowState {
  maxLots: bigint;
  windowSeconds: bigint;
  windowStart: bigint;
  usedLots: bigint;
  pendingMaxLots: bigint;
  pendingWindowSeconds: bigint;
  pendingEffectiveAt: bigint;
}

const emptyWindow = (): WindowState => ({
  maxLots: 0n,
  windowSeconds: 0n,
  windowStart: 0n,
  usedLots: 0n,
  pendingMaxLots: 0n,
  pendingWindowSeconds: 0n,
  pendingEffectiveAt: 0n,
});

/** The prices a fill may have: `available` false when the band has no usable reference. */
export interface Bounds {
  available: boolean;
  low: bigint;
  high: bigint;
}

/** What the market limits of one market are at a point in time, before a call. */
export interface MarketRiskView {
  halted: boolean;
  band: boolean;
  bounds: Bounds;
  maxLotsPerBlock: bigint;
  lotsThisBlock: bigint;
}

/** An order as signed by its maker, with a model-wide id in signing order. */
export interface SignedOrder {
  id: number;
  order: Order;
  signature: string;
}

export type FillOutcome = { traded: true } | { traded: false; reason: number };

/** What an admin or account call must do: revert with a custom error, or emit an event. */
export type CallOutcome = { error: string; args: unknown[] } | { event: string; args: unknown[] };

interface NonceState {
  filled: bigint;
  cancelled: boolean;
}

export const hasFlag = (order: Order, flag: bigint) => (order.flags & flag) !== 0n;

export const nonceKey = (maker: string, nonce: bigint) => `${maker.toLowerCase()}/${nonce}`;
const balanceKey = (account: string, token: string) => `${account.toLowerCase()}/${token.toLowerCase()}`;
export const windowKey = (account: string, marketId: bigint) => `${account.toLowerCase()}/${marketId}`;

/** The order's limit crosses the maker's price (the taker is on the other side). */
export function crosses(maker: Order, taker: Order): boolean {
  return maker.isBuy ? taker.priceTicks <= maker.priceTicks : taker.priceTicks >= maker.priceTicks;
}

const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;

/**
 * `PriceBand.bounds`: the whole-tick band of `bandBps` around the reference `value * num / den`
 * ticks: `[ceil(ref * (1 - band)), floor(ref * (1 + band))]`, `(1, 0)` when the band lies above
 * every uint64 price, the top clamped to uint64.
 */
export function bandBounds(value: bigint, num: bigint, den: bigint, bandBps: bigint): { low: bigint; high: bigint } {
  const lower = ceilDiv(value * num * (BPS - bandBps), den * BPS);
  const upper = (value * num * (BPS + bandBps)) / (den * BPS);
  if (lower > MAX_UINT64) return { low: 1n, high: 0n };
  return { low: lower, high: upper > MAX_UINT64 ? MAX_UINT64 : upper };
}

/**
 * `WindowLimit.asOf`: the state as it stands at `time`, with a due loosening applied, and a new,
 * empty window from `time` if the last one ended (stored by the next fill, or `setWindowLimit`).
 */
export function windowAt(state: WindowState, time: bigint): WindowState {
  const current = { ...state };
  if (current.pendingEffectiveAt !== 0n && time >= current.pendingEffectiveAt) {
    current.maxLots = current.pendingMaxLots;
    current.windowSeconds = current.pendingWindowSeconds;
    current.pendingMaxLots = 0n;
    current.pendingWindowSeconds = 0n;
    current.pendingEffectiveAt = 0n;
  }
  if (current.windowSeconds !== 0n && time >= current.windowStart + current.windowSeconds) {
    current.windowStart = time;
    current.usedLots = 0n;
  }
  return current;
}

/** The lots an account may still trade at `time` under `state`, or undefined without a limit. */
export function windowRoom(state: WindowState, time: bigint): bigint | undefined {
  const current = windowAt(state, time);
  if (current.windowSeconds === 0n) return undefined;
  return current.usedLots >= current.maxLots ? 0n : current.maxLots - current.usedLots;
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
  paused = false;
  private readonly cancelAfters = new Map<string, bigint>();
  private readonly windows = new Map<string, WindowState>();

  constructor(
    readonly markets: Map<bigint, MarketModel>,
    public feeRecipient: string,
    /** The price feeds the test deployed, by address (lower case). */
    readonly feeds: Map<string, FeedModel> = new Map(),
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

  // ─── Risk limits: guardian and admin ───────────────────────────────────────────────────

  /** `pause()` (to true) by the guardian or `unpause()` (to false) by the admin. */
  setPaused(paused: boolean): CallOutcome {
    if (this.paused === paused) return { error: "NoStateChange", args: [] };
    this.paused = paused;
    return { event: "PauseChanged", args: [!paused, paused] };
  }

  /** `haltMarket` (to true) by the guardian or `resumeMarket` (to false) by the admin. */
  setHalted(marketId: bigint, halted: boolean): CallOutcome {
    const market = this.markets.get(marketId)!;
    if (market.halted === halted) return { error: "NoStateChange", args: [] };
    market.halted = halted;
    return { event: "MarketHaltChanged", args: [marketId, !halted, halted] };
  }

  setPriceBand(marketId: bigint, bandBps: bigint, referencePriceTicks: bigint): CallOutcome {
    const market = this.markets.get(marketId)!;
    if (bandBps > BPS) return { error: "InvalidPriceBand", args: [bandBps] };
    const oldReference = market.lastPriceTicks;
    const newReference = referencePriceTicks === 0n ? oldReference : referencePriceTicks;
    if (bandBps !== 0n && market.feed === ZERO_ADDRESS && newReference === 0n) {
      return { error: "NoReferencePrice", args: [marketId] };
    }
    const oldBand = market.bandBps;
    market.bandBps = bandBps;
    market.lastPriceTicks = newReference;
    return { event: "PriceBandChanged", args: [marketId, oldBand, bandBps, oldReference, newReference] };
  }

  /** `setPriceFeed` with a feed the model knows (or ZERO_ADDRESS to remove it). */
  setPriceFeed(marketId: bigint, feed: string, maxAgeSeconds: bigint): CallOutcome {
    const market = this.markets.get(marketId)!;
    const event = {
      event: "PriceFeedChanged",
      args: [marketId, market.feed, feed, market.feedMaxAge, maxAgeSeconds],
    };
    if (feed === ZERO_ADDRESS) {
      if (market.bandBps !== 0n && market.lastPriceTicks === 0n) return { error: "NoReferencePrice", args: [marketId] };
      market.feed = ZERO_ADDRESS;
      market.feedMaxAge = 0n;
      return event;
    }
    const { decimals } = this.feed(feed);
    if (decimals > MAX_DECIMALS || market.baseDecimals > MAX_DECIMALS || market.quoteDecimals > MAX_DECIMALS) {
      return { error: "UnsupportedDecimals", args: [decimals, market.baseDecimals, market.quoteDecimals] };
    }
    market.feed = feed;
    market.feedMaxAge = maxAgeSeconds;
    return event;
  }

  setVelocityLimit(marketId: bigint, maxLotsPerBlock: bigint): CallOutcome {
    const market = this.markets.get(marketId)!;
    const old = market.maxLotsPerBlock;
    market.maxLotsPerBlock = maxLotsPerBlock;
    return { event: "VelocityLimitChanged", args: [marketId, old, maxLotsPerBlock] };
  }

  feed(address: string): FeedModel {
    const feed = this.feeds.get(address.toLowerCase());
    if (!feed) throw new Error(`model: unknown feed ${address}`);
    return feed;
  }

  /**
   * The band around the market's reference price at `time`, as `settle` (and `priceBounds`) see it:
   * the feed's answer converted exactly into ticks per lot when the market has a feed, else the last
   * settled price. The caller has checked that the market has a band.
   */
  bandBoundsAt(market: MarketModel, time: bigint): Bounds {
    const unavailable = { available: false, low: 0n, high: 0n };
    if (market.feed === ZERO_ADDRESS) {
      if (market.lastPriceTicks === 0n) return unavailable;
      return { available: true, ...bandBounds(market.lastPriceTicks, 1n, 1n, market.bandBps) };
    }
    const feed = this.feed(market.feed);
    if (feed.reverting || feed.answer <= 0n || feed.updatedAt > time || time - feed.updatedAt > market.feedMaxAge) {
      return unavailable;
    }
    // ticks per lot = answer * lotSize * 10^quoteDecimals / (tickSize * 10^(feedDecimals + baseDecimals))
    const num = market.lotSize * 10n ** market.quoteDecimals;
    const den = market.tickSize * 10n ** (feed.decimals + market.baseDecimals);
    return { available: true, ...bandBounds(feed.answer, num, den, market.bandBps) };
  }

  /** What `priceBounds(marketId)` reads at `time`. */
  priceBounds(marketId: bigint, time: bigint): Bounds {
    const market = this.markets.get(marketId)!;
    if (market.bandBps === 0n) return { available: true, low: 0n, high: MAX_UINT64 };
    return this.bandBoundsAt(market, time);
  }

  /** What `riskLimits(marketId)` reads in block `blockNumber`. */
  riskLimits(marketId: bigint, blockNumber: bigint): unknown[] {
    const m = this.markets.get(marketId)!;
    const lotsThisBlock = m.stateBlock === blockNumber ? m.lotsThisBlock : 0n;
    return [m.halted, m.bandBps, m.maxLotsPerBlock, m.feed, m.feedMaxAge, m.lastPriceTicks, lotsThisBlock];
  }

  /** The market limits a call mined at (`time`, `blockNumber`) starts from. */
  marketRiskView(marketId: bigint, time: bigint, blockNumber: bigint): MarketRiskView {
    const m = this.markets.get(marketId)!;
    const band = m.bandBps !== 0n;
    return {
      halted: m.halted,
      band,
      bounds: band ? this.bandBoundsAt(m, time) : { available: true, low: 0n, high: MAX_UINT64 },
      maxLotsPerBlock: m.maxLotsPerBlock,
      lotsThisBlock: m.stateBlock === blockNumber ? m.lotsThisBlock : 0n,
    };
  }

  // ─── Risk limits: an account's own ─────────────────────────────────────────────────────

  cancelAfter(account: string): bigint {
    return this.cancelAfters.get(account.toLowerCase()) ?? 0n;
  }

  setCancelAfter(account: string, deadline: bigint): CallOutcome {
    const old = this.cancelAfter(account);
    this.cancelAfters.set(account.toLowerCase(), deadline);
    return { event: "CancelAfterChanged", args: [account, old, deadline] };
  }

  /** The stored `WindowLimit.State` of (account, market); `windowLimit` reads it as of now (`windowAt`). */
  window(account: string, marketId: bigint): WindowState {
    return this.windows.get(windowKey(account, marketId)) ?? emptyWindow();
  }

  private setWindow(account: string, marketId: bigint, state: WindowState) {
    this.windows.set(windowKey(account, marketId), state);
  }

  /**
   * `setWindowLimit` at `time`: a due loosening applied first (the window stays as stored: only a
   * fill opens one); a limit at least as tight as the current one applies at once and drops any
   * pending loosening; a looser one is scheduled for `time + LOOSEN_DELAY`.
   */
  setWindowLimit(account: string, marketId: bigint, maxLots: bigint, windowSeconds: bigint, time: bigint): CallOutcome {
    if (maxLots === 0n && windowSeconds !== 0n) return { error: "InvalidWindowLimit", args: [maxLots, windowSeconds] };
    // A due loosening applies first; the window itself stays as stored (only a fill opens one).
    const stored = this.window(account, marketId);
    const state = { ...windowAt(stored, time), windowStart: stored.windowStart, usedLots: stored.usedLots };
    const tightening =
      windowSeconds === 0n
        ? state.windowSeconds === 0n
        : state.windowSeconds === 0n || (maxLots <= state.maxLots && windowSeconds >= state.windowSeconds);
    if (tightening) {
      const args = [account, marketId, state.maxLots, state.windowSeconds, maxLots, windowSeconds];
      state.maxLots = maxLots;
      state.windowSeconds = windowSeconds;
      state.pendingMaxLots = 0n;
      state.pendingWindowSeconds = 0n;
      state.pendingEffectiveAt = 0n;
      this.setWindow(account, marketId, state);
      return { event: "WindowLimitChanged", args };
    }
    const effectiveAt = time + LOOSEN_DELAY;
    state.pendingMaxLots = maxLots;
    state.pendingWindowSeconds = windowSeconds;
    state.pendingEffectiveAt = effectiveAt;
    this.setWindow(account, marketId, state);
    return { event: "WindowLimitLooseningScheduled", args: [account, marketId, maxLots, windowSeconds, effectiveAt] };
  }

  /**
   * What an executed fill stores of an account's window limit (`WindowLimit.take`): the state as of
   * `time`, with `lots` counted against the window when there is a limit.
   */
  private consumeWindow(account: string, marketId: bigint, lots: bigint, time: bigint) {
    const current = windowAt(this.window(account, marketId), time);
    if (current.windowSeconds !== 0n) current.usedLots += lots;
    this.setWindow(account, marketId, current);
  }

  /**
   * `WindowLimit.giveBack`: undoes what an executed fill of this call counted; a window left with
   * nothing used is closed (start 0), so that the next fill starts a new one.
   */
  private giveBackWindow(account: string, marketId: bigint, lots: bigint) {
    const state = { ...this.window(account, marketId) };
    if (state.windowSeconds === 0n) return;
    state.usedLots -= lots;
    if (state.usedLots < 0n) throw new Error("model: window usage below zero");
    if (state.usedLots === 0n) state.windowStart = 0n;
    this.setWindow(account, marketId, state);
  }

  // ─── Settlement ────────────────────────────────────────────────────────────────────────

  /**
   * Applies a keeper-valid `settle(orders, signatures, fills)` (every signature good, no keeper
   * mistake, the exchange not paused) mined at `timestamp` in block `blockNumber`, and returns what
   * each fill must do: trade, or skip with a reason.
   */
  settle(orders: Order[], fills: Fill[], timestamp: bigint, blockNumber: bigint): FillOutcome[] {
    const outcomes: FillOutcome[] = [];
    const batch = new BatchModel(this, timestamp, blockNumber);
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
      if (failed >= 0) {
        // The executed fills of the run give their window usage back, newest first; everything
        // else (balances, fill state, the market's tracked price and lots) is put back as it was.
        for (let j = failed - 1; j >= i; j -= 1) {
          const fill = fills[j];
          this.giveBackWindow(orders[Number(fill.makerIndex)].maker, taker.marketId, fill.lots);
          this.giveBackWindow(orders[Number(fill.takerIndex)].maker, taker.marketId, fill.lots);
        }
        this.restore(saved, batch);
      }
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
    const deadline = this.cancelAfter(order.maker);
    if (deadline !== 0n && timestamp > deadline) return SkipReason.MakerCancelAfterPassed;
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

    // Market limits, as loaded at the market's first fill of the call.
    const risk = batch.risk;
    if (risk.halted) return SkipReason.MarketHalted;
    if (risk.band && !risk.bounds.available) return SkipReason.ReferencePriceUnavailable;
    if (risk.band && (maker.priceTicks < risk.bounds.low || maker.priceTicks > risk.bounds.high)) {
      return SkipReason.PriceOutsideBand;
    }
    if (risk.maxLotsPerBlock !== 0n && batch.lotsThisBlock + fill.lots > risk.maxLotsPerBlock) {
      return SkipReason.VelocityLimitReached;
    }
    // The accounts' own window limits in this market.
    const makerRoom = windowRoom(this.window(maker.maker, market.id), timestamp);
    if (makerRoom !== undefined && makerRoom < fill.lots) return SkipReason.MakerWindowLimitReached;
    const takerRoom = windowRoom(this.window(taker.maker, market.id), timestamp);
    if (takerRoom !== undefined && takerRoom < fill.lots) return SkipReason.TakerWindowLimitReached;

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
    if (risk.tracked) {
      // The last price is tracked while a band or a velocity limit is set; the lots per block are
      // counted only while a velocity limit is set.
      if (risk.maxLotsPerBlock !== 0n) batch.lotsThisBlock += fill.lots;
      batch.lastPriceTicks = maker.priceTicks;
      batch.stateChanged = true;
    }
    this.consumeWindow(maker.maker, market.id, fill.lots, timestamp);
    this.consumeWindow(taker.maker, market.id, fill.lots, timestamp);
    makerState.filled += fill.lots;
    takerState.filled += fill.lots;
    return 0;
  }

  private save(batch: BatchModel) {
    return {
      balances: new Map(this.balances),
      nonces: new Map([...this.nonces].map(([k, v]) => [k, { ...v }])),
      feesAccrued: batch.feesAccrued,
      lotsThisBlock: batch.lotsThisBlock,
      lastPriceTicks: batch.lastPriceTicks,
      stateChanged: batch.stateChanged,
    };
  }

  private restore(saved: ReturnType<ExchangeModel["save"]>, batch: BatchModel) {
    this.balances.clear();
    for (const [k, v] of saved.balances) this.balances.set(k, v);
    this.nonces.clear();
    for (const [k, v] of saved.nonces) this.nonces.set(k, v);
    batch.feesAccrued = saved.feesAccrued;
    batch.lotsThisBlock = saved.lotsThisBlock;
    batch.lastPriceTicks = saved.lastPriceTicks;
    batch.stateChanged = saved.stateChanged;
  }

  /** Fees are credited to the recipient when the call moves to another market and at its end. */
  creditFees(token: string, amount: bigint) {
    this.credit(this.feeRecipient, token, amount);
  }
}

/**
 * The per-call state of `settle`: the market in use, its limits as loaded at its first fill of the
 * call (the reference price and lots per block are those from before the call), what the call has
 * changed of its tracked price and lots, and the fees accrued on it, not yet credited.
 */
class BatchModel {
  marketId = 0n;
  feesAccrued = 0n;
  risk: MarketRiskView & { tracked: boolean } = {
    halted: false,
    band: false,
    bounds: { available: true, low: 0n, high: MAX_UINT64 },
    maxLotsPerBlock: 0n,
    lotsThisBlock: 0n,
    tracked: false,
  };
  lotsThisBlock = 0n;
  lastPriceTicks = 0n;
  stateChanged = false;
  private market: MarketModel | undefined;

  constructor(
    private readonly model: ExchangeModel,
    private readonly timestamp: bigint,
    private readonly blockNumber: bigint,
  ) {}

  load(marketId: bigint): MarketModel {
    if (this.market && this.marketId === marketId) return this.market;
    this.flush();
    const market = this.model.markets.get(marketId);
    if (!market) throw new Error(`model: unknown market ${marketId}`);
    this.marketId = marketId;
    this.market = { ...market };
    const view = this.model.marketRiskView(marketId, this.timestamp, this.blockNumber);
    this.risk = { ...view, tracked: market.bandBps !== 0n || market.maxLotsPerBlock !== 0n };
    this.lotsThisBlock = view.lotsThisBlock;
    this.lastPriceTicks = market.lastPriceTicks;
    this.stateChanged = false;
    return this.market;
  }

  flush() {
    if (!this.market) return;
    if (this.feesAccrued !== 0n) this.model.creditFees(this.market.quote, this.feesAccrued);
    this.feesAccrued = 0n;
    if (this.stateChanged) {
      const stored = this.model.markets.get(this.marketId)!;
      stored.lastPriceTicks = this.lastPriceTicks;
      stored.stateBlock = this.blockNumber;
      stored.lotsThisBlock = this.lotsThisBlock;
      this.stateChanged = false;
    }
  }
}

/** A post-only order may only make; a fill-or-kill order may only take. */
export function canTake(order: Order): boolean {
  return !hasFlag(order, POST_ONLY);
}

export function canMake(order: Order): boolean {
  return !hasFlag(order, FILL_OR_KILL);
}
