/**
 * A plain TypeScript model of the Exchange's documented behaviour (DESIGN.md "Contracts",
 * IExchange.sol): internal balances and withdrawal requests, token holdings, fill state per (maker,
 * nonce), nonce floors, fees, the risk limits (pause, halt, price band with a feed or the last price,
 * velocity, cancel-after and window limits), the firmness delay of every trader action that could
 * undo a matched fill, and the outcome of every fill of a `settle` call. No chain access: the stateful
 * property test (Exchange.property.test.ts) drives the model and the contract side by side and
 * compares them.
 *
 * Where the documents leave an order of checks open (which skip reason wins when two apply), the
 * model follows the contract's order: maker validity (signature, expiry, nonce floor, cancel-after), taker
 * validity, maker cancelled, taker cancelled, self-trade, maker fee, taker fee, market halted,
 * reference price unavailable, price outside band, velocity, maker window, taker window, buyer
 * balance, seller balance.
 */
import { FILL_OR_KILL, IMMEDIATE_OR_CANCEL, MAX_UINT64, POST_ONLY, SkipReason } from "../helpers/orders";
import type { Fill, Order } from "../helpers/orders";

export const BPS = 10_000n;
/** How long a loosening of a window limit waits (`WindowLimit.LOOSEN_DELAY`). */
export const LOOSEN_DELAY = 3600n;
/** The firmness delay of a deployed Exchange (`DEFAULT_FIRMNESS_DELAY`). */
export const FIRMNESS_DELAY = 30n;
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

/** An order as signed by its maker (or, `forged`, by someone else), with a model-wide id in signing order. */
export interface SignedOrder {
  id: number;
  order: Order;
  signature: string;
  forged?: boolean;
}

export type FillOutcome = { traded: true } | { traded: false; reason: number };

/** What an admin or account call must do: revert with a custom error, or emit an event. */
export type CallOutcome = { error: string; args: unknown[] } | { event: string; args: unknown[] };

interface NonceState {
  filled: bigint;
  /** Dead at once (an IOC order used, or a cancel while the delay is 0): the lane reads CANCELLED. */
  killed: boolean;
  /** When a requested cancel takes effect (the first request's time stands). */
  cancelAt?: bigint;
}

/** A nonce floor: `minNonce` until `effectiveAt`, `pending` from then on (equal with nothing pending). */
interface FloorState {
  minNonce: bigint;
  pending: bigint;
  effectiveAt: bigint;
}

/** A withdrawal request: what may leave, from when (0: none). */
export interface WithdrawalRequest {
  amount: bigint;
  effectiveAt: bigint;
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
  private readonly floors = new Map<string, FloorState>();
  private readonly requests = new Map<string, WithdrawalRequest>();
  /** The admin's firmness delay. */
  firmnessDelay = FIRMNESS_DELAY;
  /**
   * The keeper's side, for the property test's firm matches: a batch matched at `matchedAt` and not
   * yet settled (commands.ts, `Match`).
   */
  matched?: { plan: { orders: Order[]; signatures: string[]; fills: Fill[]; forged: boolean[] }; matchedAt: bigint };
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

  /** The withdrawal request of `account` in `token`. */
  request(account: string, token: string): WithdrawalRequest {
    return this.requests.get(balanceKey(account, token)) ?? { amount: 0n, effectiveAt: 0n };
  }

  /**
   * `requestWithdraw` at `time`: asking for no more than the standing request keeps its time, asking
   * for more starts the delay again, 0 drops it.
   */
  requestWithdraw(account: string, token: string, amount: bigint, time: bigint): CallOutcome {
    const standing = this.request(account, token);
    let effectiveAt = standing.effectiveAt;
    if (amount === 0n) effectiveAt = 0n;
    else if (effectiveAt === 0n || amount > standing.amount) effectiveAt = time + this.firmnessDelay;
    this.requests.set(balanceKey(account, token), { amount, effectiveAt });
    return { event: "WithdrawalRequested", args: [account, token, amount, effectiveAt] };
  }

  /** `withdraw` at `time`: out of a request in force and the balance. */
  withdraw(account: string, token: string, amount: bigint, time: bigint): CallOutcome {
    const request = this.request(account, token);
    const available = this.balance(account, token);
    if (amount === 0n) return { error: "ZeroAmount", args: [] };
    if (amount > request.amount) return { error: "WithdrawalExceedsRequest", args: [token, request.amount, amount] };
    if (time < request.effectiveAt) return { error: "WithdrawalNotYetEffective", args: [token, request.effectiveAt] };
    if (amount > available) return { error: "InsufficientBalance", args: [token, available, amount] };
    this.requests.set(balanceKey(account, token), { ...request, amount: request.amount - amount });
    this.debit(account, token, amount);
    this.holdings.set(token, (this.holdings.get(token) ?? 0n) - amount);
    return { event: "Withdrawn", args: [account, token, amount] };
  }

  // ─── Fill state and cancellation ───────────────────────────────────────────────────────

  private nonceState(maker: string, nonce: bigint): NonceState {
    const key = nonceKey(maker, nonce);
    let state = this.nonces.get(key);
    if (!state) {
      state = { filled: 0n, killed: false };
      this.nonces.set(key, state);
      this.knownNonces.set(key, { maker, nonce });
    }
    return state;
  }

  /** Whether (maker, nonce) is dead at `time`: killed, or a requested cancel in force. */
  isDead(maker: string, nonce: bigint, time: bigint): boolean {
    const state = this.nonces.get(nonceKey(maker, nonce));
    if (!state) return false;
    return state.killed || (state.cancelAt !== undefined && time >= state.cancelAt);
  }

  /** What `filled(maker, nonce)` must read at `time`: the lots filled, or `type(uint64).max` once dead. */
  filled(maker: string, nonce: bigint, time: bigint): bigint {
    if (this.isDead(maker, nonce, time)) return MAX_UINT64;
    return this.nonces.get(nonceKey(maker, nonce))?.filled ?? 0n;
  }

  /** What `pendingCancel(maker, nonce)` must read at `time`. */
  pendingCancel(maker: string, nonce: bigint, time: bigint): bigint {
    const state = this.nonces.get(nonceKey(maker, nonce));
    if (!state || state.killed || state.cancelAt === undefined || time >= state.cancelAt) return 0n;
    return state.cancelAt;
  }

  /** Lots filled under (maker, nonce) as the keeper tracks them, whatever cancels say. */
  lotsFilled(maker: string, nonce: bigint): bigint {
    return this.nonces.get(nonceKey(maker, nonce))?.filled ?? 0n;
  }

  /** Whether a cancel of (maker, nonce) has been asked for or is in force: a careful keeper pulls the order. */
  isCancelled(maker: string, nonce: bigint): boolean {
    const state = this.nonces.get(nonceKey(maker, nonce));
    return state !== undefined && (state.killed || state.cancelAt !== undefined);
  }

  private floor(maker: string): FloorState {
    return this.floors.get(maker.toLowerCase()) ?? { minNonce: 0n, pending: 0n, effectiveAt: 0n };
  }

  /** The nonce floor in force at `time` (`minNonce`). */
  minNonce(maker: string, time: bigint): bigint {
    const floor = this.floor(maker);
    return time >= floor.effectiveAt ? floor.pending : floor.minNonce;
  }

  /** The last floor asked for, in force or not: what a careful keeper holds orders to. */
  requestedFloor(maker: string): bigint {
    return this.floor(maker).pending;
  }

  /** What `pendingMinNonce(maker)` must read at `time`. */
  pendingMinNonce(maker: string, time: bigint): [bigint, bigint] {
    const floor = this.floor(maker);
    return time < floor.effectiveAt ? [floor.pending, floor.effectiveAt] : [0n, 0n];
  }

  /** `cancel(nonces)` by `maker` at `time`: each dies `firmnessDelay` later (an earlier request's time stands). */
  cancel(maker: string, nonces: bigint[], time: bigint): CallOutcome[] {
    return nonces.map((nonce) => {
      const state = this.nonceState(maker, nonce);
      let effectiveAt: bigint;
      if (state.killed) effectiveAt = time;
      else if (state.cancelAt !== undefined) effectiveAt = state.cancelAt;
      else if (this.firmnessDelay === 0n) {
        state.killed = true;
        effectiveAt = time;
      } else {
        state.cancelAt = time + this.firmnessDelay;
        effectiveAt = state.cancelAt;
      }
      return { event: "OrderCancelled", args: [maker, nonce, effectiveAt] };
    });
  }

  /** `cancelUpTo(minNonce)` by `maker` at `time`: above the last floor asked for, in force `firmnessDelay` later. */
  cancelUpTo(maker: string, minNonce: bigint, time: bigint): CallOutcome {
    const requested = this.requestedFloor(maker);
    if (minNonce <= requested) return { error: "NonceFloorNotRaised", args: [requested, minNonce] };
    const inForce = this.minNonce(maker, time);
    const effectiveAt = time + this.firmnessDelay;
    this.floors.set(maker.toLowerCase(), { minNonce: inForce, pending: minNonce, effectiveAt });
    return { event: "NonceFloorRaised", args: [maker, inForce, minNonce, effectiveAt] };
  }

  recordSigned(signed: SignedOrder) {
    this.orders.push(signed);
    if (signed.forged) return; // not its maker's: it authorises nothing, and is in no fill state
    const { maker, nonce, lots } = signed.order;
    this.nonceState(maker, nonce);
    const key = nonceKey(maker, nonce);
    const largest = this.largestSigned.get(key) ?? 0n;
    if (lots > largest) this.largestSigned.set(key, lots);
  }

  /** The nonces `maker` has signed orders under, in first-signed order, without repeats. */
  signedNonces(maker: string): bigint[] {
    const seen = new Set<bigint>();
    for (const { order, forged } of this.orders) {
      if (!forged && order.maker.toLowerCase() === maker.toLowerCase()) seen.add(order.nonce);
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

  /**
   * `setCancelAfter(deadline)` at `time`: a later deadline (or 0) at once; an earlier one cannot stop
   * fills before the firmness delay's last second, so what is stored is the later of it and the
   * earlier of the old deadline and that second.
   */
  setCancelAfter(account: string, deadline: bigint, time: bigint): CallOutcome {
    const old = this.cancelAfter(account);
    let stored = deadline;
    if (deadline !== 0n && (old === 0n || deadline < old)) {
      const firmUntil = time + this.firmnessDelay - 1n;
      const floor = old !== 0n && old < firmUntil ? old : firmUntil;
      if (floor > deadline) stored = floor;
    }
    this.cancelAfters.set(account.toLowerCase(), stored);
    return { event: "CancelAfterChanged", args: [account, old, stored] };
  }

  /** The stored `WindowLimit.State` of (account, market); `windowLimit` reads it as of now (`windowAt`). */
  window(account: string, marketId: bigint): WindowState {
    return this.windows.get(windowKey(account, marketId)) ?? emptyWindow();
  }

  private setWindow(account: string, marketId: bigint, state: WindowState) {
    this.windows.set(windowKey(account, marketId), state);
  }

  /**
   * `setWindowLimit` at `time`: a due change applied first (the window stays as stored: only a fill
   * opens one); the new limit replaces any pending change, and applies `firmnessDelay` later when at
   * least as tight as the one in force, `LOOSEN_DELAY` later otherwise.
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
    const effectiveAt = time + (tightening ? this.firmnessDelay : LOOSEN_DELAY);
    const args = [account, marketId, state.maxLots, state.windowSeconds, maxLots, windowSeconds, effectiveAt];
    state.pendingMaxLots = maxLots;
    state.pendingWindowSeconds = windowSeconds;
    state.pendingEffectiveAt = effectiveAt;
    this.setWindow(account, marketId, state);
    return { event: "WindowLimitChangeScheduled", args };
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
  settle(
    orders: Order[],
    fills: Fill[],
    timestamp: bigint,
    blockNumber: bigint,
    forged: boolean[] = [],
  ): { outcomes: FillOutcome[]; kills: CallOutcome[] } {
    this.forgedInCall = forged;
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
    // IOC: an immediate-or-cancel order used by any fill of the call, and signed by its maker, can
    // never fill after it; each one that was not dead outright already is killed with an event.
    const used = new Set(fills.flatMap((f) => [Number(f.makerIndex), Number(f.takerIndex)]));
    const kills: CallOutcome[] = [];
    orders.forEach((order, i) => {
      if (!used.has(i) || forged[i] || !hasFlag(order, IMMEDIATE_OR_CANCEL)) return;
      const state = this.nonceState(order.maker, order.nonce);
      if (state.killed) return;
      state.killed = true;
      kills.push({ event: "OrderCancelled", args: [order.maker, order.nonce, timestamp] });
    });
    return { outcomes, kills };
  }

  /** Which orders of the current call are forged (by index): their signature does not verify. */
  private forgedInCall: boolean[] = [];

  /** 0 when the order may fill at `timestamp`, else its maker-side SkipReason. */
  private validity(order: Order, index: number, timestamp: bigint): number {
    if (this.forgedInCall[index]) return SkipReason.MakerSignatureRejected;
    if (timestamp > order.expiry) return SkipReason.MakerExpired;
    if (order.nonce < this.minNonce(order.maker, timestamp)) return SkipReason.MakerNonceBelowFloor;
    const deadline = this.cancelAfter(order.maker);
    if (deadline !== 0n && timestamp > deadline) return SkipReason.MakerCancelAfterPassed;
    return 0;
  }

  private settleFill(batch: BatchModel, orders: Order[], fill: Fill, timestamp: bigint): number {
    const maker = orders[Number(fill.makerIndex)];
    const taker = orders[Number(fill.takerIndex)];
    const market = batch.load(maker.marketId);
    const makerCode = this.validity(maker, Number(fill.makerIndex), timestamp);
    const takerCode = this.validity(taker, Number(fill.takerIndex), timestamp);
    if (makerCode !== 0) return makerCode;
    if (takerCode !== 0) return takerCode + 1;
    const makerState = this.nonceState(maker.maker, maker.nonce);
    const takerState = this.nonceState(taker.maker, taker.nonce);
    if (this.isDead(maker.maker, maker.nonce, timestamp)) return SkipReason.MakerCancelled;
    if (this.isDead(taker.maker, taker.nonce, timestamp)) return SkipReason.TakerCancelled;
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
