/**
 * The commands of the stateful property test of the Exchange (Exchange.property.test.ts): each one
 * acts on the chain and on the model (model.ts), asserts that the chain did what the model
 * predicts, and then checks the state and the DESIGN.md invariants (`checkWorld`).
 *
 * Besides traders' deposits, withdrawals, orders and cancels and the keeper's batches, the commands
 * include the guardian's pause and halts, the admin's fees, price bands, feeds and velocity limits,
 * a Chainlink-style feed moving (or going stale, non-positive or failing), and each trader's own
 * cancel-after deadline and window limits.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionReceipt, ContractTransactionResponse, TypedDataDomain } from "ethers";
import type { Exchange, ExchangeLens, MockERC20, MockPriceFeed } from "../../typechain-types";
import { deployExchange } from "../helpers/fixture";
import {
  FILL_OR_KILL,
  IMMEDIATE_OR_CANCEL,
  MAX_UINT64,
  ORDER_TYPES,
  POST_ONLY,
  SkipReason,
  decodeOrderKey,
  orderKey,
  signOrder,
  type Fill,
  type Order,
} from "../helpers/orders";
import {
  BPS,
  ExchangeModel,
  ZERO_ADDRESS,
  canMake,
  canTake,
  crosses,
  hasFlag,
  nonceKey,
  windowAt,
  windowKey,
  windowRoom,
  type CallOutcome,
  type FeedModel,
  type FillOutcome,
  type MarketModel,
  type MarketRiskView,
  type SignedOrder,
  type WindowState,
} from "./model";

const GAS_LIMIT = 8_000_000n;
const MAX_FIRMNESS_DELAY = 300n;
const MAX_FEE_BPS = 100n;
const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;
const GUARDIAN_ROLE = ethers.id("GUARDIAN_ROLE");

/** Market 2 trades WBTC (8 decimals) against WETH: WETH is market 1's base and market 2's quote. */
export const MARKET2 = { lotSize: 10n ** 4n, tickSize: 7n, makerFeeBps: 0n, takerFeeBps: 30n };

/**
 * The price feeds of a run: 8 decimals (made for market 1, where 10^6 of its answer is one tick),
 * 18 decimals (made for market 2, where 70,000 of its answer is one tick), and 19 decimals, which
 * the Exchange refuses. Each starts at 100 ticks of the market it is made for.
 */
export const FEEDS = [
  { decimals: 8n, answer: 10n ** 8n, market: 1n },
  { decimals: 18n, answer: 7n * 10n ** 6n, market: 2n },
  { decimals: 19n, answer: 10n ** 19n, market: 1n },
];

/** Nonces each trader counts up from; dave's sit at the top of the uint64 range. */
const NONCE_BASES = [0n, 0n, 1000n, MAX_UINT64 - 63n];

/**
 * What each trader has deposited at the start of a run, per token (WETH, USDC, WBTC): about 20 lots
 * of each market's base and quote, except that dave starts with no USDC.
 */
export const INITIAL_DEPOSITS = [
  [2n * 10n ** 17n, 2n * 10n ** 5n, 2n * 10n ** 5n],
  [2n * 10n ** 17n, 2n * 10n ** 5n, 2n * 10n ** 5n],
  [2n * 10n ** 17n, 2n * 10n ** 5n, 2n * 10n ** 5n],
  [2n * 10n ** 17n, 0n, 2n * 10n ** 5n],
];

/**
 * An Exchange with two markets, four funded traders, a guardian, and three price feeds (`FEEDS`),
 * none of them set on a market; the traders and the outsider have approved it for every token.
 */
export async function twoMarketFixture() {
  const f = await deployExchange();
  const Token = await ethers.getContractFactory("MockERC20");
  const wbtc = await Token.deploy("Wrapped Bitcoin", "WBTC", 8);
  await f.exchange.listMarket(
    wbtc,
    f.base,
    MARKET2.lotSize,
    MARKET2.tickSize,
    MARKET2.makerFeeBps,
    MARKET2.takerFeeBps,
  );
  const guardian = (await ethers.getSigners())[7];
  await f.exchange.grantRole(GUARDIAN_ROLE, guardian.address);
  const Feed = await ethers.getContractFactory("MockPriceFeed");
  const feeds: MockPriceFeed[] = [];
  for (const { decimals, answer } of FEEDS) feeds.push(await Feed.deploy(decimals, answer));
  const traders = [f.alice, f.bob, f.carol, f.dave];
  const tokens = [f.base, f.quote, wbtc];
  for (const trader of [...traders, f.outsider]) {
    for (const token of tokens) await token.connect(trader).approve(f.exchange, ethers.MaxUint256);
  }
  for (const [t, trader] of traders.entries()) {
    for (const [i, token] of tokens.entries()) {
      const amount = INITIAL_DEPOSITS[t][i];
      if (amount === 0n) continue;
      await token.mint(trader, amount);
      await f.exchange.connect(trader).deposit(token, amount);
    }
  }
  const lens = await ethers.deployContract("ExchangeLens");
  return { ...f, wbtc, traders, tokens, guardian, feeds, lens };
}

export interface Stats {
  runs: number;
  steps: number;
  commands: Record<string, number>;
  fills: number;
  traded: number;
  skipped: Record<string, number>;
  expectedReverts: Record<string, number>;
  /**
   * Firm matches: fills a firm keeper matched, those settled within the firmness delay of the match
   * and after it, and trader actions taken while a match waited (`Match`, `SettleMatched`).
   */
  firm: { matched: number; settledWithin: number; settledAfter: number; backOuts: number };
}

export function newStats(): Stats {
  return {
    runs: 0,
    steps: 0,
    commands: {},
    fills: 0,
    traded: 0,
    skipped: {},
    expectedReverts: {},
    firm: { matched: 0, settledWithin: 0, settledAfter: 0, backOuts: 0 },
  };
}

const reasonName = (reason: number) =>
  Object.entries(SkipReason).find(([, code]) => code === reason)?.[0] ?? `reason ${reason}`;

/** The chain side of a model run, plus what the last check read from it. */
export interface World {
  exchange: Exchange;
  tokens: MockERC20[];
  tokenAddresses: string[];
  admin: HardhatEthersSigner;
  keeper: HardhatEthersSigner;
  guardian: HardhatEthersSigner;
  traders: HardhatEthersSigner[];
  outsider: HardhatEthersSigner;
  feeds: MockPriceFeed[];
  feedAddresses: string[];
  /** Every account whose internal balances are checked. */
  accounts: HardhatEthersSigner[];
  domain: TypedDataDomain;
  /** Reads many views of the Exchange in one call. */
  lens: ExchangeLens;
  /** What `checkWorld` last read: balances, fill state and floors, keyed like the model. */
  last: { balances: Map<string, bigint>; filled: Map<string, bigint>; floors: Map<string, bigint> };
  /** Each (maker, nonce)'s fill state as rebuilt from the Exchange's log up to block `upTo`. */
  log: { upTo: number; orders: Map<string, { lots: bigint; deadAt?: bigint }> };
  /** Ids of fill-or-kill orders that have traded, and the call (step) that filled them. */
  fokTraded: Map<number, number>;
  stats: Stats;
}

export async function setupWorld(stats: Stats): Promise<{ model: ExchangeModel; real: World }> {
  const f = await loadFixture(twoMarketFixture);
  const tokenAddresses = await Promise.all(f.tokens.map((t) => t.getAddress()));
  const feedAddresses = await Promise.all(f.feeds.map((feed) => feed.getAddress()));
  const decimals = new Map<string, bigint>();
  for (const [i, token] of f.tokens.entries()) decimals.set(tokenAddresses[i], await token.decimals());
  const markets = new Map<bigint, MarketModel>();
  for (const id of [1n, 2n]) {
    const [base, quote, lotSize, tickSize, makerFeeBps, takerFeeBps] = await f.exchange.market(id);
    const [halted, bandBps, maxLotsPerBlock, feed, feedMaxAge, lastPriceTicks] = await f.exchange.riskLimits(id);
    markets.set(id, {
      id,
      base,
      quote,
      lotSize,
      tickSize,
      makerFeeBps,
      takerFeeBps,
      baseDecimals: decimals.get(base)!,
      quoteDecimals: decimals.get(quote)!,
      halted,
      bandBps,
      maxLotsPerBlock,
      feed,
      feedMaxAge,
      lastPriceTicks,
      stateBlock: 0n,
      lotsThisBlock: 0n,
    });
  }
  const feeds = new Map<string, FeedModel>();
  for (const [i, feed] of f.feeds.entries()) {
    const [, answer, , updatedAt] = await feed.latestRoundData();
    feeds.set(feedAddresses[i].toLowerCase(), {
      address: feedAddresses[i],
      decimals: await feed.decimals(),
      answer,
      updatedAt,
      reverting: false,
    });
  }
  const model = new ExchangeModel(markets, f.admin.address, feeds);
  for (const [t, trader] of f.traders.entries()) {
    for (const [i, token] of tokenAddresses.entries()) {
      if (INITIAL_DEPOSITS[t][i] > 0n) model.deposit(trader.address, token, INITIAL_DEPOSITS[t][i]);
    }
  }
  const real: World = {
    exchange: f.exchange,
    tokens: f.tokens,
    tokenAddresses,
    admin: f.admin,
    keeper: f.keeper,
    guardian: f.guardian,
    traders: f.traders,
    outsider: f.outsider,
    feeds: f.feeds,
    feedAddresses,
    accounts: [f.admin, f.keeper, ...f.traders, f.outsider],
    domain: f.domain,
    lens: f.lens,
    last: { balances: new Map(), filled: new Map(), floors: new Map() },
    log: { upTo: 0, orders: new Map() },
    fokTraded: new Map(),
    stats,
  };
  stats.runs += 1;
  await checkWorld(model, real, "full");
  return { model, real };
}

const balanceKey = (account: string, token: string) => `${account.toLowerCase()}/${token.toLowerCase()}`;

/**
 * What a check compares with the chain: every scope but "bounds" compares the Exchange's whole
 * observable state with the model (one `ExchangeLens.snapshot` call) and checks the invariants that
 * hold in every state; "full", "balances" and "withdrawals" (for deposits and withdrawals, a pause or
 * a halt) also simulate withdrawals (invariant 5); "bounds" is only the price bounds, which move
 * with time. The other names ("floors", "limits") say what the step can change.
 */
export type CheckScope = "full" | "balances" | "floors" | "withdrawals" | "limits" | "bounds";

/**
 * Compares the chain with the model, and checks the invariants that hold in every state: (1) token
 * holdings cover internal balances, (2) no nonce filled beyond its largest order, (5) what a
 * withdrawal request in force covers can leave — paused, halted or not; and that the log alone
 * rebuilds every order's fill state.
 */
export async function checkWorld(model: ExchangeModel, real: World, scope: CheckScope) {
  const { exchange } = real;
  const latest = (await ethers.provider.getBlock("latest"))!;
  const now = BigInt(latest.timestamp);
  const blockNumber = BigInt(latest.number);
  const markets = [1n, 2n];
  if (scope === "bounds") {
    // Views run in the latest block: the price bounds are those at its timestamp.
    for (const id of markets) {
      const bounds = model.priceBounds(id, now);
      expect([...(await exchange.priceBounds(id))], `priceBounds(${id}) at ${now}`).to.deep.equal([
        bounds.available,
        bounds.low,
        bounds.high,
      ]);
    }
    return;
  }
  const accounts = real.accounts.map((a) => a.address);
  const traders = real.traders.map((t) => t.address);
  const known = [...model.knownNonces.entries()];
  const snap = await real.lens.snapshot(
    exchange,
    markets,
    real.tokenAddresses,
    accounts,
    traders,
    known.map(([, { maker }]) => maker),
    known.map(([, { nonce }]) => nonce),
  );
  expect([snap.paused, snap.feeRecipient, snap.firmnessDelay], "paused, feeRecipient, firmnessDelay").to.deep.equal([
    model.paused,
    model.feeRecipient,
    model.firmnessDelay,
  ]);
  markets.forEach((id, m) => {
    const market = snap.markets[m];
    const bounds = model.priceBounds(id, now);
    expect([...market], `riskLimits(${id}) and priceBounds(${id}) in block ${blockNumber}`).to.deep.equal([
      ...model.riskLimits(id, blockNumber),
      bounds.available,
      bounds.low,
      bounds.high,
    ]);
  });
  traders.forEach((trader, t) => {
    const { minNonce, pendingMinNonce, pendingAt, cancelAfter, windows } = snap.traders[t];
    expect(minNonce, `minNonce(${trader})`).to.equal(model.minNonce(trader, now));
    expect([pendingMinNonce, pendingAt], `pendingMinNonce(${trader})`).to.deep.equal(
      model.pendingMinNonce(trader, now),
    );
    expect(cancelAfter, `cancelAfter(${trader})`).to.equal(model.cancelAfter(trader));
    markets.forEach((id, m) => {
      // As of now; a window with nothing filled in it shows no start.
      const w = windowAt(model.window(trader, id), now);
      if (w.usedLots === 0n) w.windowStart = 0n;
      expect([...windows[m]], `windowLimit(${trader}, ${id})`).to.deep.equal([
        w.maxLots,
        w.windowSeconds,
        w.windowStart,
        w.usedLots,
        w.pendingMaxLots,
        w.pendingWindowSeconds,
        w.pendingEffectiveAt,
      ]);
    });
  });
  real.last.floors = new Map(traders.map((trader, t) => [trader.toLowerCase(), snap.traders[t].minNonce]));
  real.last.balances = checkBalances(model, real, snap);
  real.last.filled = await checkFills(model, real, snap, known, now);
  if (scope === "full" || scope === "balances" || scope === "withdrawals") {
    await checkWithdrawals(model, real, real.last.balances, now);
  }
}

type Snapshot = Awaited<ReturnType<ExchangeLens["snapshot"]>>;

/** Internal balances and withdrawal requests, and invariant 1. */
function checkBalances(model: ExchangeModel, real: World, snap: Snapshot): Map<string, bigint> {
  const { tokenAddresses } = real;
  const balances = new Map<string, bigint>();
  const sums = tokenAddresses.map(() => 0n);
  real.accounts.forEach(({ address: account }, a) =>
    tokenAddresses.forEach((token, t) => {
      const { balance, requested, requestAt } = snap.balances[a * tokenAddresses.length + t];
      expect(balance, `internal balance of ${account} in ${token}`).to.equal(model.balance(account, token));
      const request = model.request(account, token);
      expect([requested, requestAt], `withdrawal request of ${account} in ${token}`).to.deep.equal([
        request.amount,
        request.effectiveAt,
      ]);
      balances.set(balanceKey(account, token), balance);
      sums[t] += balance;
    }),
  );
  // Invariant 1: for every token, the Exchange holds at least the sum of internal balances (and,
  // with plain tokens and no direct transfers, exactly what was deposited minus what was withdrawn).
  tokenAddresses.forEach((token, t) => {
    const held = snap.holdings[t];
    expect(held, `tokens ${token} held by the Exchange`).to.equal(model.holdings.get(token) ?? 0n);
    expect(held >= sums[t], `Exchange holds ${held} of ${token} but owes ${sums[t]}`).to.equal(true);
  });
  return balances;
}

/**
 * Fill state and pending cancels; invariant 2: no (maker, nonce) fills beyond the largest order
 * signed under it; and the log alone rebuilds every order's fill state (`rebuildFromLog`).
 */
async function checkFills(
  model: ExchangeModel,
  real: World,
  snap: Snapshot,
  known: [string, { maker: string; nonce: bigint }][],
  now: bigint,
): Promise<Map<string, bigint>> {
  const filled = new Map<string, bigint>();
  const rebuilt = await rebuildFromLog(real);
  known.forEach(([key, { maker, nonce }], i) => {
    const onChain = snap.nonces[i].filled;
    expect(onChain, `filled(${maker}, ${nonce})`).to.equal(model.filled(maker, nonce, now));
    expect(snap.nonces[i].pendingCancel, `pendingCancel(${maker}, ${nonce})`).to.equal(
      model.pendingCancel(maker, nonce, now),
    );
    const fromLog = rebuilt.get(key) ?? { lots: 0n };
    const logFilled = fromLog.deadAt !== undefined && now >= fromLog.deadAt ? MAX_UINT64 : fromLog.lots;
    expect(logFilled, `filled(${maker}, ${nonce}) rebuilt from the log alone`).to.equal(onChain);
    if (onChain !== MAX_UINT64) {
      expect(onChain <= (model.largestSigned.get(key) ?? 0n), `filled(${maker}, ${nonce}) beyond its orders`).to.equal(
        true,
      );
    }
    filled.set(key, onChain);
  });
  return filled;
}

/**
 * Invariant 5: withdrawal works for any funded account, paused, halted or not (simulated, so that
 * the state stays put): what a request in force covers can leave. (Asking cannot fail: the
 * `RequestWithdraw` steps ask for any amount, in every state.)
 */
async function checkWithdrawals(model: ExchangeModel, real: World, balances: Map<string, bigint>, now: bigint) {
  await Promise.all(
    real.accounts.flatMap((account) =>
      real.tokenAddresses.map(async (token) => {
        const balance = balances.get(balanceKey(account.address, token))!;
        if (balance === 0n) return;
        const request = model.request(account.address, token);
        const covered = request.amount < balance ? request.amount : balance;
        if (covered > 0n && request.effectiveAt < now) {
          await real.exchange.connect(account).withdraw.staticCall(token, covered);
        }
      }),
    ),
  );
}

/**
 * Every (maker, nonce)'s fill state as the Exchange's log alone tells it: the lots of its `Traded`
 * events, and the earliest time an `OrderCancelled` names (a cancel, or an IOC kill), from which it
 * reads as cancelled. Reads the logs mined since the last call into `real.log`.
 */
async function rebuildFromLog(real: World) {
  const latest = await ethers.provider.getBlockNumber();
  if (latest > real.log.upTo) {
    const address = await real.exchange.getAddress();
    const logs = await ethers.provider.getLogs({ address, fromBlock: real.log.upTo + 1, toBlock: latest });
    for (const log of logs) {
      const parsed = real.exchange.interface.parseLog(log);
      if (parsed?.name === "Traded") {
        const [, makerKey, takerKey, , , lots] = parsed.args;
        for (const key of [makerKey, takerKey]) {
          const { account, nonce } = decodeOrderKey(key);
          const state = real.log.orders.get(nonceKey(account, nonce)) ?? { lots: 0n };
          state.lots += lots;
          real.log.orders.set(nonceKey(account, nonce), state);
        }
      } else if (parsed?.name === "OrderCancelled") {
        const [maker, nonce, effectiveAt] = parsed.args as unknown as [string, bigint, bigint];
        const state = real.log.orders.get(nonceKey(maker, nonce)) ?? { lots: 0n };
        if (state.deadAt === undefined || effectiveAt < state.deadAt) state.deadAt = effectiveAt;
        real.log.orders.set(nonceKey(maker, nonce), state);
      }
    }
    real.log.upTo = latest;
  }
  return real.log.orders;
}

function count(record: Record<string, number>, key: string) {
  record[key] = (record[key] ?? 0) + 1;
}

type ExchangeCommand = fc.AsyncCommand<ExchangeModel, World>;

abstract class Step implements ExchangeCommand {
  abstract readonly name: string;
  /** What to compare after the step (see `CheckScope`); "none" for steps that send no transaction. */
  protected readonly scope: CheckScope | "none" = "full";
  /**
   * Whether the step may come between a firm keeper's match and its settlement (`Match`): what
   * traders do and time passing may; another batch, and the admin's and guardian's changes, may not.
   */
  protected readonly whileMatched: boolean = false;
  check(model: Readonly<ExchangeModel>): boolean {
    return (this.whileMatched || model.matched === undefined) && this.allowed(model);
  }
  /** Whether the step can run in this state (besides a pending match). */
  protected allowed(model: Readonly<ExchangeModel>): boolean {
    void model;
    return true;
  }
  async run(model: ExchangeModel, real: World) {
    real.stats.steps += 1;
    count(real.stats.commands, this.name);
    await this.act(model, real);
    if (this.scope !== "none") await checkWorld(model, real, this.scope);
  }
  protected abstract act(model: ExchangeModel, real: World): Promise<void>;
  abstract toString(): string;
}

/** Asserts that `call` reverts with, or emits, what the model predicts. */
async function expectOutcome(
  real: World,
  call: Promise<ContractTransactionResponse>,
  outcome: CallOutcome,
  emitter: Exchange = real.exchange,
) {
  if ("error" in outcome) {
    await expect(call)
      .to.be.revertedWithCustomError(emitter, outcome.error)
      .withArgs(...outcome.args);
    count(real.stats.expectedReverts, outcome.error);
  } else {
    await expect(call)
      .to.emit(emitter, outcome.event)
      .withArgs(...outcome.args);
  }
}

/** Asserts that `call` reverts because `account` lacks `role`. */
async function expectUnauthorized(real: World, call: Promise<unknown>, account: HardhatEthersSigner, role: string) {
  await expect(call)
    .to.be.revertedWithCustomError(real.exchange, "AccessControlUnauthorizedAccount")
    .withArgs(account.address, role);
  count(real.stats.expectedReverts, "AccessControlUnauthorizedAccount");
}

/** Counts a trader action taken while a firm keeper's match waits to settle: an attempt to back out. */
function noteBackOut(model: ExchangeModel, real: World) {
  if (model.matched !== undefined) real.stats.firm.backOuts += 1;
}

/** Mines the next transaction one second after the latest block, and returns that time. */
async function nextTimestamp(): Promise<bigint> {
  const timestamp = BigInt(await time.latest()) + 1n;
  await time.setNextBlockTimestamp(timestamp);
  return timestamp;
}

// ─── Balances ────────────────────────────────────────────────────────────────────────────

/** Amount scales per token (WETH, USDC, WBTC): a lot or a lot's price in each market. */
const AMOUNT_SCALES = [[10n ** 16n, 1000n], [10n ** 4n], [10n ** 4n]];

export class Deposit extends Step {
  readonly name = "deposit";
  protected readonly whileMatched = true;
  protected readonly scope = "balances";
  constructor(
    readonly trader: number,
    readonly token: number,
    readonly amount: bigint,
  ) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    const trader = real.traders[this.trader];
    const token = real.tokens[this.token];
    await token.mint(trader.address, this.amount, { gasLimit: GAS_LIMIT });
    const call = real.exchange.connect(trader).deposit(token, this.amount, { gasLimit: GAS_LIMIT });
    if (model.paused) {
      await expect(call).to.be.revertedWithCustomError(real.exchange, "EnforcedPause");
      count(real.stats.expectedReverts, "EnforcedPause (deposit)");
      return;
    }
    await expect(call)
      .to.emit(real.exchange, "Deposited")
      .withArgs(trader.address, real.tokenAddresses[this.token], this.amount);
    model.deposit(trader.address, real.tokenAddresses[this.token], this.amount);
  }
  toString() {
    return `deposit(trader ${this.trader}, token ${this.token}, ${this.amount})`;
  }
}
export const depositArb = fc
  .record({
    trader: fc.integer({ min: 0, max: 3 }),
    token: fc.integer({ min: 0, max: 2 }),
    units: fc.bigInt({ min: 1n, max: 40n }),
    scale: fc.nat(),
    odd: fc.bigInt({ min: 0n, max: 999n }),
  })
  .map(({ trader, token, units, scale, odd }) => {
    const scales = AMOUNT_SCALES[token];
    return new Deposit(trader, token, units * scales[scale % scales.length] + odd);
  });

/**
 * A trader (or, `account` 4, the outsider, never funded) asks to withdraw `percent` of its balance
 * ("request"), or withdraws `percent` of its standing request ("withdraw"); above 100: more.
 */
export class WithdrawalStep extends Step {
  readonly name: string;
  protected readonly whileMatched = true;
  protected readonly scope = "balances";
  constructor(
    readonly kind: "request" | "withdraw",
    readonly account: number,
    readonly token: number,
    readonly percent: bigint,
  ) {
    super();
    this.name = kind === "request" ? "requestWithdraw" : "withdraw";
  }
  protected async act(model: ExchangeModel, real: World) {
    const account = this.account < 4 ? real.traders[this.account] : real.outsider;
    const token = real.tokenAddresses[this.token];
    const whole =
      this.kind === "request" ? model.balance(account.address, token) : model.request(account.address, token).amount;
    const amount = this.percent > 100n ? whole + this.percent - 100n : (whole * this.percent) / 100n;
    const timestamp = await nextTimestamp();
    const exchange = real.exchange.connect(account);
    const [call, outcome] =
      this.kind === "request"
        ? [
            exchange.requestWithdraw(token, amount, { gasLimit: GAS_LIMIT }),
            model.requestWithdraw(account.address, token, amount, timestamp),
          ]
        : [
            exchange.withdraw(token, amount, { gasLimit: GAS_LIMIT }),
            model.withdraw(account.address, token, amount, timestamp),
          ];
    await expectOutcome(real, call, outcome);
    noteBackOut(model, real);
  }
  toString() {
    return `${this.name}(account ${this.account}, token ${this.token}, ${this.percent}%)`;
  }
}

const withdrawalArb = (kind: "request" | "withdraw") =>
  fc
    .record({
      account: fc.integer({ min: 0, max: 4 }),
      token: fc.integer({ min: 0, max: 2 }),
      percent: fc.oneof(fc.constantFrom(0n, 100n, 101n), fc.bigInt({ min: 0n, max: 130n })),
    })
    .map(({ account, token, percent }) => new WithdrawalStep(kind, account, token, percent));
export const requestWithdrawArb = withdrawalArb("request");
export const withdrawArb = withdrawalArb("withdraw");

// ─── Orders ──────────────────────────────────────────────────────────────────────────────

export interface OrderSpec {
  trader: number;
  marketId: bigint;
  isBuy: boolean;
  flags: bigint;
  maxFeeBps: bigint;
  /** Expiry relative to the latest block's timestamp, in seconds. */
  expiresIn: bigint;
  /** 0: the trader's next fresh nonce; 1: a nonce it signed before; 2: a small raw nonce. */
  nonceMode: number;
  nonceSeed: number;
  priceTicks: bigint;
  lots: bigint;
  /** Signed by the next trader instead: a forged order, whose fills skip and which changes nothing. */
  forged?: boolean;
}

export class SignOrder extends Step {
  readonly name = "sign";
  protected readonly whileMatched = true;
  // Signing is off-chain: nothing on the chain can have changed.
  protected readonly scope = "none";
  constructor(readonly spec: OrderSpec) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    const s = this.spec;
    const trader = real.traders[s.trader];
    const signed = model.signedNonces(trader.address);
    let nonce: bigint;
    if (s.nonceMode === 1 && signed.length > 0) nonce = signed[s.nonceSeed % signed.length];
    else if (s.nonceMode === 2) nonce = NONCE_BASES[s.trader] + BigInt(s.nonceSeed % 6);
    else {
      const highest = signed.reduce((a, b) => (b > a ? b : a), NONCE_BASES[s.trader] - 1n);
      const floor = model.requestedFloor(trader.address);
      nonce = highest + 1n > floor ? highest + 1n : floor;
      if (nonce > MAX_UINT64) nonce = MAX_UINT64;
    }
    const order: Order = {
      maker: trader.address,
      marketId: s.marketId,
      isBuy: s.isBuy,
      flags: s.flags,
      maxFeeBps: s.maxFeeBps,
      expiry: BigInt(await time.latest()) + s.expiresIn,
      nonce,
      priceTicks: s.priceTicks,
      lots: s.lots,
    };
    const signer = s.forged ? real.traders[(s.trader + 1) % real.traders.length] : trader;
    const signature = await signOrder(signer, real.domain, order);
    expect(await real.exchange.hashOrder(order)).to.equal(
      ethers.TypedDataEncoder.hash(real.domain, ORDER_TYPES, order),
    );
    model.recordSigned({ id: model.orders.length, order, signature, forged: s.forged === true });
  }
  toString() {
    const s = this.spec;
    return `sign(trader ${s.trader}${s.forged ? " (forged)" : ""}, market ${s.marketId}, ${s.isBuy ? "buy" : "sell"} ${s.lots}@${s.priceTicks}, flags ${s.flags}, maxFee ${s.maxFeeBps}, expiresIn ${s.expiresIn}, nonce mode ${s.nonceMode}/${s.nonceSeed})`;
  }
}

/** Flag sets a maker might sign: mostly plain, and every flag alone and in the combinations that can fill. */
const FLAG_CHOICES = [0n, 0n, 0n, POST_ONLY, IMMEDIATE_OR_CANCEL, FILL_OR_KILL, IMMEDIATE_OR_CANCEL | FILL_OR_KILL];

export const signArb = fc
  .record({
    trader: fc.integer({ min: 0, max: 3 }),
    marketId: fc.constantFrom(1n, 2n),
    isBuy: fc.boolean(),
    flags: fc.constantFrom(...FLAG_CHOICES),
    maxFeeBps: fc.oneof(
      { arbitrary: fc.constant(MAX_FEE_BPS), weight: 3 },
      { arbitrary: fc.constantFrom(0n, 5n, 10n, 30n), weight: 1 },
      { arbitrary: fc.bigInt({ min: 0n, max: MAX_FEE_BPS }), weight: 1 },
    ),
    expiresIn: fc.oneof(
      { arbitrary: fc.bigInt({ min: 600n, max: 9000n }), weight: 4 },
      { arbitrary: fc.bigInt({ min: -5n, max: 60n }), weight: 1 },
    ),
    nonceMode: fc.constantFrom(0, 0, 0, 0, 1, 2),
    nonceSeed: fc.nat({ max: 1000 }),
    priceOffset: fc.bigInt({ min: 0n, max: 8n }),
    lots: fc.bigInt({ min: 1n, max: 12n }),
    forged: fc.oneof({ arbitrary: fc.constant(false), weight: 19 }, { arbitrary: fc.constant(true), weight: 1 }),
  })
  // Buyers bid 97..105 and sellers ask 95..103, so that most pairs cross.
  .map(({ priceOffset, ...spec }) => new SignOrder({ ...spec, priceTicks: (spec.isBuy ? 97n : 95n) + priceOffset }));

// ─── Settlement ──────────────────────────────────────────────────────────────────────────

/** The keeper's choice for one fill: a market, a taker and a maker among its recent orders, and a size. */
export interface FillIntent {
  market: bigint;
  taker: number;
  maker: number;
  /** Percent of what is left to fill (a chunk, for a fill-or-kill run). */
  size: number;
  /** Leaves out the orders the keeper knows are dead, self-trades, too-high fees and short balances. */
  careful: boolean;
  /** Also (when careful) leaves out, or sizes down, what the risk limits would stop. */
  riskAware: boolean;
}

/** The keeper matches among the most recent orders, as a book would (older ones mostly died). */
const POOL = 32;

const min = (...values: bigint[]) => values.reduce((a, b) => (b < a ? b : a));

/**
 * Turns intents into keeper-valid fills: same market, opposite sides, crossing prices, no post-only
 * taker, no fill-or-kill maker, never one (maker, nonce) on both sides, within what is left of each
 * order's lots under its nonce (counting every earlier fill of the batch as executed), and each
 * market's fills contiguous. A fill-or-kill taker with nothing filled under its nonce gets one
 * contiguous run adding up to its size. Careless intents may still pick orders that are dead,
 * self-trades, or beyond a limit: those fills skip. Careful and risk-aware ones play the keeper's
 * `risk` module: they leave out halted markets, markets without a usable reference, makers priced
 * outside the band, accounts past their cancel-after deadline, and size fills to the velocity and
 * window room left (counting the batch's earlier fills).
 */
export function planBatch(model: ExchangeModel, intents: FillIntent[], now: bigint, blockNumber: bigint, horizon = 0n) {
  const pool = model.orders.slice(-POOL);
  const orders: Order[] = [];
  const signatures: string[] = [];
  const forged: boolean[] = [];
  const indexOf = new Map<number, bigint>();
  const fills: Fill[] = [];
  const planned = new Map<string, bigint>();
  const fokUsed = new Set<number>();
  const index = (id: number) => {
    let i = indexOf.get(id);
    if (i === undefined) {
      const signed = model.orders[id];
      i = BigInt(orders.length);
      orders.push(signed.order);
      signatures.push(signed.signature);
      forged.push(signed.forged === true);
      indexOf.set(id, i);
    }
    return i;
  };
  const left = (o: Order, extra: Map<string, bigint>): bigint => {
    const key = nonceKey(o.maker, o.nonce);
    const used = model.lotsFilled(o.maker, o.nonce) + (planned.get(key) ?? 0n) + (extra.get(key) ?? 0n);
    return o.lots > used ? o.lots - used : 0n;
  };
  const add = (into: Map<string, bigint>, o: Order, lots: bigint) => {
    const key = nonceKey(o.maker, o.nonce);
    into.set(key, (into.get(key) ?? 0n) + lots);
  };
  // What a careful keeper knows is dead: forged (it checks signatures), cancelled or being cancelled
  // (it watches the events), expired, below the last floor asked for (and, aware of the risk limits,
  // past its account's cancel-after); and it does not match an account with itself, nor an order
  // whose maxFeeBps is below the fee. A firm keeper (`horizon`: the firmness delay less a second)
  // holds each of them to the last second its batch can land in.
  const until = now + horizon;
  const live = ({ order: o, forged: isForged }: SignedOrder, riskAware: boolean) => {
    const deadline = model.cancelAfter(o.maker);
    return (
      !isForged &&
      !model.isCancelled(o.maker, o.nonce) &&
      o.expiry >= until &&
      o.nonce >= model.requestedFloor(o.maker) &&
      (!riskAware || deadline === 0n || until <= deadline)
    );
  };
  const feeOk = (o: Order, side: "maker" | "taker") => {
    const market = model.markets.get(o.marketId)!;
    return (side === "maker" ? market.makerFeeBps : market.takerFeeBps) <= o.maxFeeBps;
  };
  // The market limits as the call will see them, and the room the batch's planned fills leave.
  const risk = new Map<bigint, MarketRiskView>();
  for (const id of [1n, 2n]) risk.set(id, model.marketRiskView(id, now, blockNumber));
  const marketOk = (id: bigint) => {
    const r = risk.get(id)!;
    return !r.halted && (!r.band || r.bounds.available);
  };
  const priceOk = (m: Order) => {
    const { bounds } = risk.get(m.marketId)!;
    return m.priceTicks >= bounds.low && m.priceTicks <= bounds.high;
  };
  const velocityUsed = new Map<bigint, bigint>();
  const windowUsed = new Map<string, bigint>();
  const velocityRoom = (id: bigint, extra: bigint) => {
    const r = risk.get(id)!;
    if (r.maxLotsPerBlock === 0n) return MAX_UINT64;
    const used = r.lotsThisBlock + (velocityUsed.get(id) ?? 0n) + extra;
    return r.maxLotsPerBlock > used ? r.maxLotsPerBlock - used : 0n;
  };
  const accountRoom = (account: string, id: bigint, extra: Map<string, bigint>) => {
    const room = firmRoom(model.window(account, id), now, horizon);
    if (room === undefined) return MAX_UINT64;
    const key = windowKey(account, id);
    const used = (windowUsed.get(key) ?? 0n) + (extra.get(key) ?? 0n);
    return room > used ? room - used : 0n;
  };
  const useRoom = (into: Map<string, bigint>, account: string, id: bigint, lots: bigint) => {
    const key = windowKey(account, id);
    into.set(key, (into.get(key) ?? 0n) + lots);
  };
  // A careful keeper also sizes a fill to what both accounts hold before the batch (it does not
  // follow the batch's own earlier fills, so a balance can still fall short). A firm keeper does
  // follow them, and holds back what an account has asked to withdraw.
  const spent = new Map<string, bigint>();
  const available = (account: string, token: string) => {
    if (horizon === 0n) return model.balance(account, token);
    const key = `${account.toLowerCase()}/${token.toLowerCase()}`;
    const held = model.balance(account, token) - model.request(account, token).amount - (spent.get(key) ?? 0n);
    return held > 0n ? held : 0n;
  };
  const legs = (m: Order, t: Order) => {
    const market = model.markets.get(m.marketId)!;
    const [buyer, seller] = m.isBuy ? [m.maker, t.maker] : [t.maker, m.maker];
    const perLot = m.priceTicks * market.tickSize;
    const feePerLot = (perLot * (m.isBuy ? market.makerFeeBps : market.takerFeeBps) + BPS - 1n) / BPS;
    return { market, buyer, seller, buyerPerLot: perLot + feePerLot };
  };
  const affordable = (m: Order, t: Order): bigint => {
    const { market, buyer, seller, buyerPerLot } = legs(m, t);
    const byQuote = available(buyer, market.quote) / buyerPerLot;
    const byBase = available(seller, market.base) / market.lotSize;
    return byQuote < byBase ? byQuote : byBase;
  };
  const spend = (m: Order, t: Order, lots: bigint) => {
    const { market, buyer, seller, buyerPerLot } = legs(m, t);
    for (const [account, token, amount] of [
      [buyer, market.quote, lots * buyerPerLot],
      [seller, market.base, lots * market.lotSize],
    ] as const) {
      const key = `${account.toLowerCase()}/${token.toLowerCase()}`;
      spent.set(key, (spent.get(key) ?? 0n) + amount);
    }
  };
  /** A window limit's room at `now`, and (for a firm keeper) under a tighter change pending. */
  const firmRoom = (state: WindowState, time: bigint, ahead: bigint) => {
    const room = windowRoom(state, time);
    if (ahead === 0n || state.pendingEffectiveAt === 0n) return room;
    const applied = windowRoom({ ...state, pendingEffectiveAt: time }, time);
    if (room === undefined) return applied;
    return applied === undefined || room < applied ? room : applied;
  };
  const none = new Map<string, bigint>();
  const makersFor = (t: Order, { careful, riskAware }: FillIntent) =>
    pool.filter(
      (signed) =>
        canMake(signed.order) &&
        left(signed.order, none) > 0n &&
        signed.order.marketId === t.marketId &&
        signed.order.isBuy !== t.isBuy &&
        crosses(signed.order, t) &&
        !(signed.order.maker === t.maker && signed.order.nonce === t.nonce) &&
        (!careful ||
          (live(signed, riskAware) &&
            signed.order.maker !== t.maker &&
            feeOk(signed.order, "maker") &&
            (!riskAware || priceOk(signed.order)) &&
            affordable(signed.order, t) > 0n)),
    );
  /** Plans one intent in `market`; false when no order there can take. */
  const plan = (intent: FillIntent, market: bigint): boolean => {
    const riskAware = intent.careful && intent.riskAware;
    if (riskAware && !marketOk(market)) return false;
    const takers = pool.filter(
      (signed) =>
        signed.order.marketId === market &&
        canTake(signed.order) &&
        (hasFlag(signed.order, FILL_OR_KILL)
          ? !fokUsed.has(signed.id) && left(signed.order, none) === signed.order.lots
          : left(signed.order, none) > 0n) &&
        (!intent.careful || (live(signed, riskAware) && feeOk(signed.order, "taker"))) &&
        makersFor(signed.order, intent).length > 0,
    );
    if (takers.length === 0) return false;
    const taker = takers[intent.taker % takers.length];
    const t = taker.order;
    const makers = makersFor(t, intent);
    if (!hasFlag(t, FILL_OR_KILL)) {
      const maker = makers[intent.maker % makers.length];
      const m = maker.order;
      let room = min(left(m, none), left(t, none));
      if (intent.careful) room = min(room, affordable(m, t));
      if (riskAware) {
        room = min(
          room,
          velocityRoom(market, 0n),
          accountRoom(m.maker, market, none),
          accountRoom(t.maker, market, none),
        );
      }
      if (room === 0n) return true;
      let lots = (room * BigInt(intent.size)) / 100n;
      if (lots === 0n) lots = 1n;
      fills.push({ makerIndex: index(maker.id), takerIndex: index(taker.id), lots });
      spend(m, t, lots);
      add(planned, m, lots);
      add(planned, t, lots);
      velocityUsed.set(market, (velocityUsed.get(market) ?? 0n) + lots);
      useRoom(windowUsed, m.maker, market, lots);
      useRoom(windowUsed, t.maker, market, lots);
      return true;
    }
    // A fill-or-kill taker (unused, nothing filled under its nonce): the whole size, now, in one run.
    const run: { maker: number; lots: bigint }[] = [];
    const runPlanned = new Map<string, bigint>();
    const runWindows = new Map<string, bigint>();
    let runLots = 0n;
    let need = t.lots;
    const chunk = (t.lots * BigInt(intent.size) + 99n) / 100n;
    for (let k = 0; k < 2 * makers.length && need > 0n; k += 1) {
      const maker = makers[(intent.maker + k) % makers.length];
      const m = maker.order;
      let lots = min(left(m, runPlanned), need, chunk);
      if (intent.careful) lots = min(lots, affordable(m, t));
      if (riskAware) {
        lots = min(
          lots,
          velocityRoom(market, runLots),
          accountRoom(m.maker, market, runWindows),
          accountRoom(t.maker, market, runWindows),
        );
      }
      if (lots === 0n) continue;
      spend(m, t, lots);
      run.push({ maker: maker.id, lots });
      add(runPlanned, m, lots);
      useRoom(runWindows, m.maker, market, lots);
      useRoom(runWindows, t.maker, market, lots);
      runLots += lots;
      need -= lots;
    }
    if (need > 0n) {
      for (const { maker, lots } of run) spend(model.orders[maker].order, t, -lots);
      return true;
    }
    fokUsed.add(taker.id);
    for (const { maker, lots } of run) {
      fills.push({ makerIndex: index(maker), takerIndex: index(taker.id), lots });
      add(planned, model.orders[maker].order, lots);
    }
    add(planned, t, t.lots);
    velocityUsed.set(market, (velocityUsed.get(market) ?? 0n) + runLots);
    for (const [key, lots] of runWindows) windowUsed.set(key, (windowUsed.get(key) ?? 0n) + lots);
    return true;
  };
  // Each market's fills are contiguous in a batch (else MarketNotContiguous, a keeper mistake): the
  // intents of the first intent's market are planned first, then the others, with the first group's
  // intents that found no taker in their market trying the other one.
  const first = intents[0]?.market;
  const deferred: FillIntent[] = [];
  for (const intent of intents) if (intent.market === first && !plan(intent, first)) deferred.push(intent);
  const second = first === 1n ? 2n : 1n;
  for (const intent of [...intents.filter((i) => i.market !== first), ...deferred]) plan(intent, second);
  return { orders, signatures, fills, forged };
}

/** The limits a call starts from, as the model sees them before the call: what the invariants check. */
interface LimitsBefore {
  markets: Map<bigint, MarketRiskView>;
  cancelAfter: Map<string, bigint>;
  /** Window room per (account, market) at the call's time; absent without a limit. */
  windowRoom: Map<string, bigint>;
}

function limitsBefore(model: ExchangeModel, real: World, timestamp: bigint, blockNumber: bigint): LimitsBefore {
  const markets = new Map<bigint, MarketRiskView>();
  const cancelAfter = new Map<string, bigint>();
  const rooms = new Map<string, bigint>();
  for (const id of [1n, 2n]) markets.set(id, model.marketRiskView(id, timestamp, blockNumber));
  for (const trader of real.traders) {
    cancelAfter.set(trader.address.toLowerCase(), model.cancelAfter(trader.address));
    for (const id of [1n, 2n]) {
      const room = windowRoom(model.window(trader.address, id), timestamp);
      if (room !== undefined) rooms.set(windowKey(trader.address, id), room);
    }
  }
  return { markets, cancelAfter, windowRoom: rooms };
}

/** A batch as the keeper plans it (`planBatch`). */
export type Plan = ReturnType<typeof planBatch>;

/** One `settle` call: what the keeper sent, what the model predicts, and the limits it started from. */
interface PlannedCall extends Plan {
  predicted: FillOutcome[];
  /** The `OrderCancelled` events the call must emit for the IOC orders it kills. */
  kills: CallOutcome[];
  limits: LimitsBefore;
}

type Executed = { fill: Fill; maker: Order; taker: Order };

/**
 * Settles one `settle` call per planner, all mined in one block one second after the latest (automine
 * off for more than one), each planned and predicted by the model before any is sent (a planner sees
 * the model after the calls before it). Compares every event and the whole state with the model, and
 * checks invariants 2, 3, 4 and 7 and the risk limits against the limits from before. Returns the
 * block's time and each call's outcomes; `undefined` while paused, when the call reverts.
 */
async function settleAndCheck(
  model: ExchangeModel,
  real: World,
  planners: ((timestamp: bigint, blockNumber: bigint) => Plan)[],
): Promise<{ timestamp: bigint; outcomes: FillOutcome[][] } | undefined> {
  const timestamp = BigInt(await time.latest()) + 1n;
  const blockNumber = BigInt(await ethers.provider.getBlockNumber()) + 1n;
  const before = { ...real.last }; // checkWorld replaces its maps
  await time.setNextBlockTimestamp(timestamp);
  if (model.paused) {
    const { orders, signatures, fills } = planners[0](timestamp, blockNumber);
    await expect(
      real.exchange.connect(real.keeper).settle(orders, signatures, fills, { gasLimit: GAS_LIMIT }),
    ).to.be.revertedWithCustomError(real.exchange, "EnforcedPause");
    count(real.stats.expectedReverts, "EnforcedPause (settle)");
    return undefined;
  }
  // The model predicts before any call is sent, so that a model failure leaves no call in flight.
  const calls: PlannedCall[] = [];
  for (const planner of planners) {
    const plan = planner(timestamp, blockNumber);
    const limits = limitsBefore(model, real, timestamp, blockNumber);
    const { outcomes, kills } = model.settle(plan.orders, plan.fills, timestamp, blockNumber, plan.forged);
    calls.push({ ...plan, predicted: outcomes, kills, limits });
  }
  const send = (call: PlannedCall) =>
    real.exchange.connect(real.keeper).settle(call.orders, call.signatures, call.fills, { gasLimit: GAS_LIMIT });
  const txs: ContractTransactionResponse[] = [];
  if (calls.length === 1) {
    txs.push(await send(calls[0]));
  } else {
    await ethers.provider.send("evm_setAutomine", [false]);
    try {
      for (const call of calls) txs.push(await send(call));
      await ethers.provider.send("evm_mine", []);
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }
  }
  const receipts = await Promise.all(txs.map(async (tx) => (await tx.wait())!));
  for (const receipt of receipts) {
    expect(receipt.status, "settle succeeded").to.equal(1);
    expect(BigInt(receipt.blockNumber), "settle's block").to.equal(blockNumber);
  }
  expect((await receipts[0].getBlock()).timestamp).to.equal(Number(timestamp));

  const executed = calls.map((call, i) => compareEvents(real, call, receipts[i]));
  await checkWorld(model, real, "full");
  const after = real.last;
  const fees = new Map<bigint, [bigint, bigint]>();
  for (const id of [1n, 2n]) {
    const [, , , , makerFeeBps, takerFeeBps] = await real.exchange.market(id);
    fees.set(id, [makerFeeBps, takerFeeBps]);
  }

  const tradedAccounts = new Set<string>();
  calls.forEach((call, c) => {
    for (const { maker, taker } of executed[c]) {
      tradedAccounts.add(maker.maker.toLowerCase());
      tradedAccounts.add(taker.maker.toLowerCase());
      // Invariant 3: at the maker's price, within the taker's limit, and fees within each maxFeeBps.
      const [makerFeeBps, takerFeeBps] = fees.get(maker.marketId)!;
      const [buyer, seller] = maker.isBuy ? [maker, taker] : [taker, maker];
      expect(buyer.priceTicks >= maker.priceTicks, "buyer pays at most its limit").to.equal(true);
      expect(seller.priceTicks <= maker.priceTicks, "seller receives at least its limit").to.equal(true);
      expect(makerFeeBps <= maker.maxFeeBps && takerFeeBps <= taker.maxFeeBps, "fee within maxFeeBps").to.equal(true);
      // Invariant 2: neither order was cancelled, expired or below its maker's floor (a nonce first
      // signed after the last full check has not been cancelled: a cancel is checked in full).
      for (const o of [maker, taker]) {
        expect(before.filled.get(nonceKey(o.maker, o.nonce)) ?? 0n, "a cancelled order filled").to.not.equal(
          MAX_UINT64,
        );
        expect(timestamp <= o.expiry, "an expired order filled").to.equal(true);
        expect(o.nonce >= (before.floors.get(o.maker.toLowerCase()) ?? 0n), "an order below the floor filled").to.equal(
          true,
        );
      }
      // Invariant 7: post-only never takes.
      expect(hasFlag(taker, POST_ONLY), "a post-only order took").to.equal(false);
    }
    checkRiskLimits(call.limits, executed[c], timestamp);
  });
  // Invariant 4: nobody without an executed fill has a balance changed, but the fee recipient.
  for (const [key, value] of after.balances) {
    const account = key.split("/")[0];
    if (tradedAccounts.has(account) || account === model.feeRecipient.toLowerCase()) continue;
    expect(value, `balance ${key} of an account with no executed fill`).to.equal(before.balances.get(key));
  }
  calls.forEach((call, c) => {
    // Invariant 7: a fill-or-kill taker fills its whole size in one call, or not at all, ever.
    const fokIndices = new Set(
      call.fills.filter((f) => hasFlag(call.orders[Number(f.takerIndex)], FILL_OR_KILL)).map((f) => f.takerIndex),
    );
    for (const i of fokIndices) {
      const order = call.orders[Number(i)];
      const lots = executed[c].filter((t) => t.taker === order).reduce((sum, t) => sum + t.fill.lots, 0n);
      expect([0n, order.lots], "fill-or-kill filled partly").to.include(lots);
      if (lots > 0n) {
        const id = model.orders.findIndex((signed) => signed.order === order);
        expect(real.fokTraded.has(id), `fill-or-kill order ${id} filled in two calls`).to.equal(false);
        real.fokTraded.set(id, real.stats.steps);
      }
    }
    // Invariant 7: an immediate-or-cancel order used by a fill of a call can never fill again.
    for (const fill of call.fills) {
      for (const i of [fill.makerIndex, fill.takerIndex]) {
        const o = call.orders[Number(i)];
        if (hasFlag(o, IMMEDIATE_OR_CANCEL) && !call.forged[Number(i)]) {
          expect(after.filled.get(nonceKey(o.maker, o.nonce)), `IOC order (${o.maker}, ${o.nonce}) rests`).to.equal(
            MAX_UINT64,
          );
        }
      }
    }
  });
  return { timestamp, outcomes: calls.map((call) => call.predicted) };
}

/**
 * The keeper settles a batch planned from `intents`; with `sameBlock`, a second batch planned after
 * the first goes into the same block (mined together, automine off), so that the lots per block and
 * the reference price carry from one call to the next as they do on a busy chain.
 */
export class Settle extends Step {
  readonly name: string;
  constructor(
    readonly intents: FillIntent[],
    readonly sameBlock?: FillIntent[],
  ) {
    super();
    this.name = sameBlock ? "settle×2" : "settle";
  }
  protected allowed(model: Readonly<ExchangeModel>): boolean {
    return model.orders.length >= 2;
  }
  protected async act(model: ExchangeModel, real: World) {
    const batches = this.sameBlock ? [this.intents, this.sameBlock] : [this.intents];
    await settleAndCheck(
      model,
      real,
      batches.map((intents) => (timestamp, blockNumber) => planBatch(model, intents, timestamp, blockNumber)),
    );
  }

  toString() {
    const show = (intents: FillIntent[]) =>
      intents
        .map((i) => `m${i.market}:${i.taker}>${i.maker}:${i.size}%${i.careful ? (i.riskAware ? "" : "?") : "!"}`)
        .join(", ");
    return this.sameBlock
      ? `settle×2(${show(this.intents)} | ${show(this.sameBlock)})`
      : `settle(${show(this.intents)})`;
  }
}

/**
 * The skip reasons of a fill that settles within the firmness delay of its match, with no admin or
 * guardian change in between: market conditions (a feed going stale or moving) and a fill-or-kill run
 * they broke. A reason a trader causes (cancels, floors, balances, deadlines, windows, its signature)
 * is not among them: a firm keeper's match leaves none a trader can use — this test's traders have
 * no ERC-1271 wallet or EIP-7702 delegation to withdraw, the documented residual options.
 */
const FIRM_SKIPS = new Set<number>([
  SkipReason.PriceOutsideBand,
  SkipReason.VelocityLimitReached,
  SkipReason.ReferencePriceUnavailable,
  SkipReason.FillOrKillIncomplete,
]);

/**
 * A firm keeper matches a batch now and settles it later (`SettleMatched`), while traders act and
 * time passes. It plans as a careful, risk-aware keeper that also holds every order and account to
 * the last second the batch may land in within the firmness delay: no order expiring or deadline
 * passing before it, no cancel or floor raise asked for, balances less the batch's own earlier fills
 * and the withdrawals asked for, window room under any tighter change pending.
 */
export class Match extends Step {
  readonly name = "match";
  protected readonly scope = "none";
  constructor(readonly intents: FillIntent[]) {
    super();
  }
  protected allowed(model: Readonly<ExchangeModel>): boolean {
    return !model.paused && model.orders.length >= 2;
  }
  protected async act(model: ExchangeModel) {
    const now = BigInt(await time.latest()) + 1n;
    const blockNumber = BigInt(await ethers.provider.getBlockNumber()) + 1n;
    const horizon = model.firmnessDelay > 0n ? model.firmnessDelay - 1n : 0n;
    const firm = this.intents.map((intent) => ({ ...intent, careful: true, riskAware: true }));
    const plan = planBatch(model, firm, now, blockNumber, horizon);
    if (plan.fills.length > 0) model.matched = { plan, matchedAt: now };
  }
  toString() {
    return `match(${this.intents.map((i) => `m${i.market}:${i.taker}>${i.maker}:${i.size}%`).join(", ")})`;
  }
}

/** The keeper settles the batch it matched; within the firmness delay, no trader backed out of it. */
export class SettleMatched extends Step {
  readonly name = "settleMatched";
  protected readonly whileMatched = true;
  protected allowed(model: Readonly<ExchangeModel>): boolean {
    return model.matched !== undefined;
  }
  protected async act(model: ExchangeModel, real: World) {
    const { plan, matchedAt } = model.matched as NonNullable<ExchangeModel["matched"]>;
    model.matched = undefined;
    const settled = await settleAndCheck(model, real, [() => plan as Plan]);
    if (settled === undefined) return;
    const outcomes = settled.outcomes[0];
    const firm = real.stats.firm;
    firm.matched += outcomes.length;
    if (settled.timestamp - matchedAt >= model.firmnessDelay) {
      firm.settledAfter += outcomes.length;
      return;
    }
    firm.settledWithin += outcomes.length;
    outcomes.forEach((outcome, i) => {
      if (outcome.traded) return;
      expect(
        FIRM_SKIPS.has(outcome.reason),
        `fill ${i}, matched at ${matchedAt} and settled at ${settled.timestamp} (delay ${model.firmnessDelay}), ` +
          `skipped with ${reasonName(outcome.reason)}: a trader backed out of a firm match`,
      ).to.equal(true);
    });
  }
  toString() {
    return "settleMatched()";
  }
}

/**
 * Each fill has one event, in fill order, and the chain does what the model predicts; each IOC order
 * the call kills has its `OrderCancelled`.
 */
function compareEvents(real: World, call: PlannedCall, receipt: ContractTransactionReceipt): Executed[] {
  const { orders, fills, predicted } = call;
  const events = receipt.logs
    .map((log) => real.exchange.interface.parseLog(log))
    .filter((e) => e !== null && (e.name === "Traded" || e.name === "FillSkipped"))
    .map((e) => e!);
  expect(events.length, "one Traded or FillSkipped per fill").to.equal(fills.length);
  const executed: Executed[] = [];
  fills.forEach((fill, i) => {
    const maker = orders[Number(fill.makerIndex)];
    const taker = orders[Number(fill.takerIndex)];
    const outcome = predicted[i];
    const event = events[i];
    real.stats.fills += 1;
    if (outcome.traded) {
      real.stats.traded += 1;
      expect(event.name, `fill ${i} (skipped with ${reasonName(Number(event.args[1]))})`).to.equal("Traded");
      expect([...event.args]).to.deep.equal([
        maker.marketId,
        orderKey(maker.maker, maker.nonce),
        orderKey(taker.maker, taker.nonce),
        maker.isBuy,
        maker.priceTicks,
        fill.lots,
      ]);
      executed.push({ fill, maker, taker });
    } else {
      count(real.stats.skipped, reasonName(outcome.reason));
      expect(event.name, `fill ${i} (expected to skip with ${reasonName(outcome.reason)})`).to.equal("FillSkipped");
      expect(
        [Number(event.args[0]), reasonName(Number(event.args[1]))],
        `fill ${i}: FillSkipped(index, reason)`,
      ).to.deep.equal([i, reasonName(outcome.reason)]);
    }
  });
  const kills = receipt.logs
    .map((log) => real.exchange.interface.parseLog(log))
    .filter((e) => e?.name === "OrderCancelled")
    .map((e) => ({ event: "OrderCancelled", args: [...e!.args] }));
  expect(kills, "OrderCancelled for each IOC order killed").to.deep.equal(call.kills);
  return executed;
}

/**
 * The risk limits, against the limits from before the call: no fill in a halted market, outside its
 * market's band (or without a usable reference), above its market's lots per block, past either
 * account's cancel-after deadline, or past either account's window cap.
 */
function checkRiskLimits(limits: LimitsBefore, executed: Executed[], timestamp: bigint) {
  const marketLots = new Map<bigint, bigint>();
  const windowLots = new Map<string, bigint>();
  for (const { fill, maker, taker } of executed) {
    const market = limits.markets.get(maker.marketId)!;
    expect(market.halted, `a fill in halted market ${maker.marketId}`).to.equal(false);
    if (market.band) {
      const { available, low, high } = market.bounds;
      expect(available, `a fill in market ${maker.marketId} without a usable reference`).to.equal(true);
      expect(
        low <= maker.priceTicks && maker.priceTicks <= high,
        `a fill at ${maker.priceTicks} outside the band [${low}, ${high}] of market ${maker.marketId}`,
      ).to.equal(true);
    }
    const lots = (marketLots.get(maker.marketId) ?? 0n) + fill.lots;
    marketLots.set(maker.marketId, lots);
    if (market.maxLotsPerBlock !== 0n) {
      expect(
        market.lotsThisBlock + lots <= market.maxLotsPerBlock,
        `market ${maker.marketId}: ${market.lotsThisBlock + lots} lots in a block, above ${market.maxLotsPerBlock}`,
      ).to.equal(true);
    }
    for (const o of [maker, taker]) {
      const deadline = limits.cancelAfter.get(o.maker.toLowerCase()) ?? 0n;
      expect(deadline === 0n || timestamp <= deadline, `${o.maker}'s order filled past its cancel-after`).to.equal(
        true,
      );
      const key = windowKey(o.maker, maker.marketId);
      const used = (windowLots.get(key) ?? 0n) + fill.lots;
      windowLots.set(key, used);
      const room = limits.windowRoom.get(key);
      if (room !== undefined) {
        expect(used <= room, `${o.maker}: ${used} lots in market ${maker.marketId}'s window, room ${room}`).to.equal(
          true,
        );
      }
    }
  }
}

const intentsArb = (maxLength: number) =>
  fc.array(
    fc.record({
      market: fc.constantFrom(1n, 2n),
      taker: fc.nat({ max: POOL - 1 }),
      maker: fc.nat({ max: POOL - 1 }),
      size: fc.oneof(fc.constant(100), fc.integer({ min: 1, max: 100 })),
      careful: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
      riskAware: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
    }),
    { minLength: 1, maxLength },
  );

export const matchArb = intentsArb(6).map((intents) => new Match(intents));
export const settleMatchedArb = fc.constant(new SettleMatched());

export const settleArb = fc
  .tuple(
    intentsArb(8),
    fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: intentsArb(4), weight: 1 }),
  )
  .map(([intents, sameBlock]) => new Settle(intents, sameBlock));

// ─── Cancellation ────────────────────────────────────────────────────────────────────────

export class Cancel extends Step {
  readonly name = "cancel";
  protected readonly whileMatched = true;
  /** @param picks each picks one of the trader's signed nonces (or, with none signed, is a raw nonce) */
  constructor(
    readonly trader: number,
    readonly picks: number[],
  ) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    const trader = real.traders[this.trader];
    const signed = model.signedNonces(trader.address);
    const nonces = this.picks.map((p) =>
      signed.length > 0 ? signed[signed.length - 1 - (p % signed.length)] : NONCE_BASES[this.trader] + BigInt(p),
    );
    const timestamp = await nextTimestamp();
    const call = real.exchange.connect(trader).cancel(nonces, { gasLimit: GAS_LIMIT });
    if (nonces.length === 0) {
      await expect(call).to.be.revertedWithCustomError(real.exchange, "NothingToCancel");
      count(real.stats.expectedReverts, "NothingToCancel");
      return;
    }
    const receipt = (await (await call).wait())!;
    const events = receipt.logs
      .map((log) => real.exchange.interface.parseLog(log))
      .filter((e) => e?.name === "OrderCancelled")
      .map((e) => ({ event: "OrderCancelled", args: [...e!.args] }));
    expect(events, "OrderCancelled for each nonce, with when it dies").to.deep.equal(
      model.cancel(trader.address, nonces, timestamp),
    );
    noteBackOut(model, real);
  }
  toString() {
    return `cancel(trader ${this.trader}, picks [${this.picks.join(", ")}])`;
  }
}

export const cancelArb = fc
  .record({
    trader: fc.integer({ min: 0, max: 3 }),
    picks: fc.array(fc.nat({ max: 20 }), { minLength: 0, maxLength: 3 }),
  })
  .map(({ trader, picks }) => new Cancel(trader, picks));

export class CancelUpTo extends Step {
  readonly name = "cancelUpTo";
  protected readonly whileMatched = true;
  protected readonly scope = "floors";
  /** @param mode "raise": to one of its signed nonces (maybe +1); "same": the last floor asked for; "lower": below it */
  constructor(
    readonly trader: number,
    readonly mode: "raise" | "same" | "lower",
    readonly pick: number,
  ) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    const trader = real.traders[this.trader];
    const current = model.requestedFloor(trader.address);
    const signed = model.signedNonces(trader.address);
    let target: bigint;
    if (this.mode === "raise") {
      const base = signed.length > 0 ? signed[this.pick % signed.length] : NONCE_BASES[this.trader];
      target = base + BigInt(this.pick % 2);
      if (target > MAX_UINT64) target = MAX_UINT64;
    } else if (this.mode === "lower" && current > 0n) {
      target = current - 1n - (BigInt(this.pick) % current);
    } else {
      target = current;
    }
    const timestamp = await nextTimestamp();
    const call = real.exchange.connect(trader).cancelUpTo(target, { gasLimit: GAS_LIMIT });
    await expectOutcome(real, call, model.cancelUpTo(trader.address, target, timestamp));
    noteBackOut(model, real);
  }
  toString() {
    return `cancelUpTo(trader ${this.trader}, ${this.mode}, pick ${this.pick})`;
  }
}

export const cancelUpToArb = fc
  .record({
    trader: fc.integer({ min: 0, max: 3 }),
    mode: fc.constantFrom<"raise" | "same" | "lower">("raise", "raise", "same", "lower"),
    pick: fc.nat({ max: 1000 }),
  })
  .map(({ trader, mode, pick }) => new CancelUpTo(trader, mode, pick));

// ─── Time and admin ──────────────────────────────────────────────────────────────────────

export class TimePasses extends Step {
  readonly name = "time";
  protected readonly whileMatched = true;
  // Time moves the price bounds (a feed goes stale); stored state stays put.
  protected readonly scope = "bounds";
  constructor(readonly seconds: number) {
    super();
  }
  protected async act() {
    await time.increase(this.seconds);
  }
  toString() {
    return `time(+${this.seconds}s)`;
  }
}

/** Mostly seconds; sometimes past a window or a feed's maximum age; now and then past LOOSEN_DELAY. */
export const timeArb = fc
  .oneof(
    { arbitrary: fc.integer({ min: 1, max: 30 }), weight: 5 },
    { arbitrary: fc.integer({ min: 30, max: 900 }), weight: 2 },
    { arbitrary: fc.integer({ min: 3000, max: 4000 }), weight: 1 },
  )
  .map((s) => new TimePasses(s));

export class SetFees extends Step {
  readonly name = "setFees";
  protected readonly scope = "limits";
  constructor(
    readonly marketId: bigint,
    readonly makerFeeBps: bigint,
    readonly takerFeeBps: bigint,
  ) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    const market = model.markets.get(this.marketId)!;
    await expect(
      real.exchange
        .connect(real.admin)
        .setFees(this.marketId, this.makerFeeBps, this.takerFeeBps, { gasLimit: GAS_LIMIT }),
    )
      .to.emit(real.exchange, "FeesChanged")
      .withArgs(this.marketId, market.makerFeeBps, market.takerFeeBps, this.makerFeeBps, this.takerFeeBps);
    model.setFees(this.marketId, this.makerFeeBps, this.takerFeeBps);
    const [, , , , makerFeeBps, takerFeeBps] = await real.exchange.market(this.marketId);
    expect([makerFeeBps, takerFeeBps], `fees of market ${this.marketId}`).to.deep.equal([
      this.makerFeeBps,
      this.takerFeeBps,
    ]);
  }
  toString() {
    return `setFees(market ${this.marketId}, maker ${this.makerFeeBps}, taker ${this.takerFeeBps})`;
  }
}

const feeArb = fc.oneof(fc.constantFrom(0n, 5n, 10n, 30n, MAX_FEE_BPS), fc.bigInt({ min: 0n, max: MAX_FEE_BPS }));
export const setFeesArb = fc
  .record({ marketId: fc.constantFrom(1n, 2n), maker: feeArb, taker: feeArb })
  .map(({ marketId, maker, taker }) => new SetFees(marketId, maker, taker));

export class SetFeeRecipient extends Step {
  readonly name = "setFeeRecipient";
  protected readonly scope = "limits";
  /** @param who 0 the admin, 1..4 a trader */
  constructor(readonly who: number) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    const recipient = this.who === 0 ? real.admin : real.traders[this.who - 1];
    await expect(real.exchange.connect(real.admin).setFeeRecipient(recipient.address, { gasLimit: GAS_LIMIT }))
      .to.emit(real.exchange, "FeeRecipientChanged")
      .withArgs(model.feeRecipient, recipient.address);
    model.feeRecipient = recipient.address;
  }
  toString() {
    return `setFeeRecipient(${this.who === 0 ? "admin" : `trader ${this.who - 1}`})`;
  }
}

export const setFeeRecipientArb = fc.integer({ min: 0, max: 4 }).map((who) => new SetFeeRecipient(who));

// ─── Guardian: pause and halt (lifted by the admin) ──────────────────────────────────────

/**
 * The guardian pauses (`paused` true) or the admin unpauses. Runs only when it changes the state,
 * unless `redundant` (then NoStateChange); `wrongRole` has the other of the two try it instead.
 */
export class SetPaused extends Step {
  readonly name: string;
  protected readonly scope = "withdrawals";
  constructor(
    readonly paused: boolean,
    readonly redundant: boolean,
    readonly wrongRole: boolean,
  ) {
    super();
    this.name = paused ? "pause" : "unpause";
  }
  protected allowed(model: Readonly<ExchangeModel>): boolean {
    return this.redundant || this.wrongRole || model.paused !== this.paused;
  }
  protected async act(model: ExchangeModel, real: World) {
    const [caller, role] = this.paused ? [real.guardian, GUARDIAN_ROLE] : [real.admin, DEFAULT_ADMIN_ROLE];
    if (this.wrongRole) {
      const other = this.paused ? real.admin : real.guardian;
      const exchange = real.exchange.connect(other);
      await expectUnauthorized(real, this.paused ? exchange.pause() : exchange.unpause(), other, role);
      return;
    }
    const exchange = real.exchange.connect(caller);
    const call = this.paused ? exchange.pause({ gasLimit: GAS_LIMIT }) : exchange.unpause({ gasLimit: GAS_LIMIT });
    await expectOutcome(real, call, model.setPaused(this.paused));
  }
  toString() {
    return `${this.name}(${this.redundant ? "redundant" : ""}${this.wrongRole ? "wrong role" : ""})`;
  }
}

const rare = (weight = 1) =>
  fc.oneof({ arbitrary: fc.constant(false), weight: 20 * weight }, { arbitrary: fc.constant(true), weight: 1 });

export const pauseArb = fc
  .record({ redundant: rare(), wrongRole: rare() })
  .map(({ redundant, wrongRole }) => new SetPaused(true, redundant, wrongRole));
export const unpauseArb = fc
  .record({ redundant: rare(), wrongRole: rare() })
  .map(({ redundant, wrongRole }) => new SetPaused(false, redundant, wrongRole));

/**
 * The guardian halts a market (`halted` true) or the admin resumes one; like `SetPaused`. Unless
 * `redundant` or `wrongRole`, it acts on the other market when `marketId` is already as asked.
 */
export class SetHalted extends Step {
  readonly name: string;
  protected readonly scope = "withdrawals";
  private target: bigint;
  constructor(
    readonly marketId: bigint,
    readonly halted: boolean,
    readonly redundant: boolean,
    readonly wrongRole: boolean,
  ) {
    super();
    this.name = halted ? "haltMarket" : "resumeMarket";
    this.target = marketId;
  }
  protected allowed(model: Readonly<ExchangeModel>): boolean {
    return this.redundant || this.wrongRole || [...model.markets.values()].some((m) => m.halted !== this.halted);
  }
  protected async act(model: ExchangeModel, real: World) {
    this.target = this.marketId;
    if (!this.redundant && !this.wrongRole && model.markets.get(this.marketId)!.halted === this.halted) {
      this.target = this.marketId === 1n ? 2n : 1n;
    }
    const [caller, role] = this.halted ? [real.guardian, GUARDIAN_ROLE] : [real.admin, DEFAULT_ADMIN_ROLE];
    const run = (who: HardhatEthersSigner) => {
      const exchange = real.exchange.connect(who);
      return this.halted
        ? exchange.haltMarket(this.target, { gasLimit: GAS_LIMIT })
        : exchange.resumeMarket(this.target, { gasLimit: GAS_LIMIT });
    };
    if (this.wrongRole) {
      // The keeper may not halt; the guardian may not resume.
      const other = this.halted ? real.keeper : real.guardian;
      await expectUnauthorized(real, run(other), other, role);
      return;
    }
    await expectOutcome(real, run(caller), model.setHalted(this.target, this.halted));
  }
  toString() {
    return `${this.name}(market ${this.target}${this.redundant ? ", redundant" : ""}${this.wrongRole ? ", wrong role" : ""})`;
  }
}

export const haltArb = fc
  .record({ marketId: fc.constantFrom(1n, 2n), redundant: rare(), wrongRole: rare() })
  .map(({ marketId, redundant, wrongRole }) => new SetHalted(marketId, true, redundant, wrongRole));
export const resumeArb = fc
  .record({ marketId: fc.constantFrom(1n, 2n), redundant: rare(), wrongRole: rare() })
  .map(({ marketId, redundant, wrongRole }) => new SetHalted(marketId, false, redundant, wrongRole));

// ─── Admin: price bands, feeds, velocity ─────────────────────────────────────────────────

export class SetPriceBand extends Step {
  readonly name = "setPriceBand";
  protected readonly scope = "limits";
  /** @param reference 0 keeps the market's last price as the reference */
  constructor(
    readonly marketId: bigint,
    readonly bandBps: bigint,
    readonly reference: bigint,
    readonly wrongRole: boolean,
  ) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    if (this.wrongRole) {
      await expectUnauthorized(
        real,
        real.exchange.connect(real.guardian).setPriceBand(this.marketId, this.bandBps, this.reference),
        real.guardian,
        DEFAULT_ADMIN_ROLE,
      );
      return;
    }
    const call = real.exchange
      .connect(real.admin)
      .setPriceBand(this.marketId, this.bandBps, this.reference, { gasLimit: GAS_LIMIT });
    await expectOutcome(real, call, model.setPriceBand(this.marketId, this.bandBps, this.reference));
  }
  toString() {
    return `setPriceBand(market ${this.marketId}, ${this.bandBps} bps, reference ${this.reference}${this.wrongRole ? ", wrong role" : ""})`;
  }
}

export const setPriceBandArb = fc
  .record({
    marketId: fc.constantFrom(1n, 2n),
    bandBps: fc.oneof(
      { arbitrary: fc.constant(0n), weight: 2 },
      { arbitrary: fc.bigInt({ min: 1n, max: 1500n }), weight: 6 },
      { arbitrary: fc.constant(BPS), weight: 1 },
      { arbitrary: fc.bigInt({ min: BPS + 1n, max: 65_535n }), weight: 1 },
    ),
    reference: fc.oneof(
      { arbitrary: fc.constant(0n), weight: 3 },
      { arbitrary: fc.bigInt({ min: 94n, max: 106n }), weight: 5 },
      { arbitrary: fc.constantFrom(1n, MAX_UINT64), weight: 1 },
    ),
    wrongRole: rare(2),
  })
  .map(({ marketId, bandBps, reference, wrongRole }) => new SetPriceBand(marketId, bandBps, reference, wrongRole));

/** Sets a market's feed: `pick` 0 removes it, 1 the feed made for the market, 2 the other market's, 3 the 19-decimal one. */
export class SetPriceFeed extends Step {
  readonly name = "setPriceFeed";
  protected readonly scope = "limits";
  constructor(
    readonly marketId: bigint,
    readonly pick: number,
    readonly maxAge: bigint,
  ) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    const feed =
      this.pick === 0
        ? ZERO_ADDRESS
        : this.pick === 3
          ? real.feedAddresses[2]
          : real.feedAddresses[(this.marketId === 1n) === (this.pick === 1) ? 0 : 1];
    const call = real.exchange
      .connect(real.admin)
      .setPriceFeed(this.marketId, feed, this.maxAge, { gasLimit: GAS_LIMIT });
    await expectOutcome(real, call, model.setPriceFeed(this.marketId, feed, this.maxAge));
  }
  toString() {
    const feed = ["none", "own", "other market's", "19 decimals"][this.pick];
    return `setPriceFeed(market ${this.marketId}, ${feed} feed, max age ${this.maxAge}s)`;
  }
}

export const setPriceFeedArb = fc
  .record({
    marketId: fc.constantFrom(1n, 2n),
    pick: fc.constantFrom(0, 0, 1, 1, 1, 1, 2, 3),
    maxAge: fc.oneof(
      { arbitrary: fc.constant(0n), weight: 1 },
      { arbitrary: fc.bigInt({ min: 5n, max: 120n }), weight: 2 },
      { arbitrary: fc.bigInt({ min: 300n, max: 900n }), weight: 3 },
      { arbitrary: fc.constant(3600n), weight: 3 },
    ),
  })
  .map(({ marketId, pick, maxAge }) => new SetPriceFeed(marketId, pick, maxAge));

export type FeedMode = "price" | "stale" | "future" | "zero" | "negative" | "huge" | "reverting";

/**
 * Moves one of the two usable feeds. "price": `hundredths` of a tick of the market the feed is made
 * for, plus `jitter` thousandths of a tick, as of `age` seconds ago; "stale": that price older than
 * any maximum age; "future": that price dated after the next block; "zero", "negative": a
 * non-positive answer; "huge": above every uint64 price; "reverting": toggles whether
 * `latestRoundData` reverts.
 */
export class MoveFeed extends Step {
  readonly name = "moveFeed";
  protected readonly whileMatched = true;
  // Only the price bounds read the feed.
  protected readonly scope = "bounds";
  constructor(
    readonly feed: number,
    readonly mode: FeedMode,
    readonly hundredths: bigint,
    readonly jitter: bigint,
    readonly age: bigint,
  ) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    const feed = real.feeds[this.feed];
    const state = model.feed(real.feedAddresses[this.feed]);
    if (this.mode === "reverting") {
      await feed.setReverting(!state.reverting, { gasLimit: GAS_LIMIT });
      state.reverting = !state.reverting;
      expect(await feed.reverting()).to.equal(state.reverting);
      return;
    }
    // Answer units per tick of the market the feed is made for (exact for both usable feeds).
    const market = model.markets.get(FEEDS[this.feed].market)!;
    const perTick =
      (market.tickSize * 10n ** (state.decimals + market.baseDecimals)) /
      (market.lotSize * 10n ** market.quoteDecimals);
    const price = (this.hundredths * perTick) / 100n + (this.jitter * perTick) / 1000n;
    const latest = BigInt(await time.latest());
    let answer = price;
    let updatedAt = latest - this.age;
    if (this.mode === "stale") updatedAt = latest - 3601n - this.age;
    else if (this.mode === "future") updatedAt = latest + 2n + this.age;
    else if (this.mode === "zero") answer = 0n;
    else if (this.mode === "negative") answer = -price;
    else if (this.mode === "huge") answer = (1n << 65n) * perTick + price;
    await feed.setAnswerAt(answer, updatedAt, { gasLimit: GAS_LIMIT });
    state.answer = answer;
    state.updatedAt = updatedAt;
    if (!state.reverting) {
      const [, onChainAnswer, , onChainUpdatedAt] = await feed.latestRoundData();
      expect([onChainAnswer, onChainUpdatedAt]).to.deep.equal([answer, updatedAt]);
    }
  }
  toString() {
    return `moveFeed(feed ${this.feed}, ${this.mode}, ${this.hundredths}/100 + ${this.jitter}/1000 ticks, age ${this.age}s)`;
  }
}

export const moveFeedArb = fc
  .record({
    feed: fc.constantFrom(0, 1),
    mode: fc.oneof(
      { arbitrary: fc.constant<FeedMode>("price"), weight: 12 },
      { arbitrary: fc.constantFrom<FeedMode>("stale", "future", "zero", "negative", "huge", "reverting"), weight: 4 },
    ),
    hundredths: fc.bigInt({ min: 9_400n, max: 10_600n }),
    jitter: fc.bigInt({ min: 0n, max: 999n }),
    age: fc.oneof(
      { arbitrary: fc.bigInt({ min: 0n, max: 30n }), weight: 3 },
      { arbitrary: fc.bigInt({ min: 0n, max: 1000n }), weight: 1 },
    ),
  })
  .map(({ feed, mode, hundredths, jitter, age }) => new MoveFeed(feed, mode, hundredths, jitter, age));

export class SetVelocityLimit extends Step {
  readonly name = "setVelocityLimit";
  protected readonly scope = "limits";
  constructor(
    readonly marketId: bigint,
    readonly maxLotsPerBlock: bigint,
  ) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    const call = real.exchange
      .connect(real.admin)
      .setVelocityLimit(this.marketId, this.maxLotsPerBlock, { gasLimit: GAS_LIMIT });
    await expectOutcome(real, call, model.setVelocityLimit(this.marketId, this.maxLotsPerBlock));
  }
  toString() {
    return `setVelocityLimit(market ${this.marketId}, ${this.maxLotsPerBlock} lots per block)`;
  }
}

export const setVelocityLimitArb = fc
  .record({
    marketId: fc.constantFrom(1n, 2n),
    max: fc.oneof(
      { arbitrary: fc.constant(0n), weight: 1 },
      { arbitrary: fc.bigInt({ min: 1n, max: 10n }), weight: 3 },
    ),
  })
  .map(({ marketId, max }) => new SetVelocityLimit(marketId, max));

/** The admin sets the firmness delay (301: above `MAX_FIRMNESS_DELAY`, which reverts). */
export class SetFirmnessDelay extends Step {
  readonly name = "setFirmnessDelay";
  protected readonly scope = "limits";
  constructor(readonly seconds: bigint) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    const call = real.exchange.connect(real.admin).setFirmnessDelay(this.seconds, { gasLimit: GAS_LIMIT });
    if (this.seconds > MAX_FIRMNESS_DELAY) {
      await expectOutcome(real, call, { error: "FirmnessDelayTooLong", args: [this.seconds, MAX_FIRMNESS_DELAY] });
      return;
    }
    await expectOutcome(real, call, { event: "FirmnessDelayChanged", args: [model.firmnessDelay, this.seconds] });
    model.firmnessDelay = this.seconds;
  }
  toString() {
    return `setFirmnessDelay(${this.seconds}s)`;
  }
}

export const setFirmnessDelayArb = fc
  .constantFrom(0n, 1n, 5n, 30n, 30n, 30n, 60n, MAX_FIRMNESS_DELAY, MAX_FIRMNESS_DELAY + 1n)
  .map((seconds) => new SetFirmnessDelay(seconds));

// ─── Traders' own limits ─────────────────────────────────────────────────────────────────

export type DeadlineMode = "off" | "past" | "next" | "future";

/** A trader sets its cancel-after deadline: off, `seconds` in the past, the next block's time, or ahead. */
export class SetCancelAfter extends Step {
  readonly name = "setCancelAfter";
  protected readonly whileMatched = true;
  protected readonly scope = "limits";
  constructor(
    readonly trader: number,
    readonly mode: DeadlineMode,
    readonly seconds: bigint,
  ) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    const trader = real.traders[this.trader];
    const latest = BigInt(await time.latest());
    const deadline =
      this.mode === "off"
        ? 0n
        : this.mode === "past"
          ? latest - this.seconds
          : this.mode === "next"
            ? latest + 2n // the block after this transaction's
            : latest + this.seconds;
    await time.setNextBlockTimestamp(latest + 1n);
    const call = real.exchange.connect(trader).setCancelAfter(deadline, { gasLimit: GAS_LIMIT });
    await expectOutcome(real, call, model.setCancelAfter(trader.address, deadline, latest + 1n));
    noteBackOut(model, real);
  }
  toString() {
    return `setCancelAfter(trader ${this.trader}, ${this.mode}, ${this.seconds}s)`;
  }
}

export const setCancelAfterArb = fc
  .record({
    trader: fc.integer({ min: 0, max: 3 }),
    mode: fc.oneof(
      { arbitrary: fc.constant<DeadlineMode>("off"), weight: 3 },
      { arbitrary: fc.constant<DeadlineMode>("future"), weight: 6 },
      { arbitrary: fc.constantFrom<DeadlineMode>("past", "next"), weight: 2 },
    ),
    seconds: fc.oneof(
      { arbitrary: fc.bigInt({ min: 1n, max: 60n }), weight: 1 },
      { arbitrary: fc.bigInt({ min: 600n, max: 9000n }), weight: 4 },
    ),
  })
  .map(({ trader, mode, seconds }) => new SetCancelAfter(trader, mode, seconds));

export type WindowMode = "set" | "tighten" | "loosen" | "remove" | "invalid";

/**
 * A trader sets its window limit on a market. "set": `lots` per `seconds`; "tighten": at most the
 * current cap over at least the current window; "loosen": a higher cap or a shorter window (pending
 * for LOOSEN_DELAY); "remove": no window (also pending); "invalid": a zero cap over a window.
 */
export class SetWindowLimit extends Step {
  readonly name = "setWindowLimit";
  protected readonly whileMatched = true;
  protected readonly scope = "limits";
  constructor(
    readonly trader: number,
    readonly marketId: bigint,
    readonly mode: WindowMode,
    readonly lots: bigint,
    readonly seconds: bigint,
  ) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    const trader = real.traders[this.trader];
    const timestamp = await nextTimestamp();
    const current = windowAt(model.window(trader.address, this.marketId), timestamp); // in force now
    let maxLots = this.lots;
    let windowSeconds = this.seconds;
    if (this.mode === "tighten" && current.windowSeconds !== 0n) {
      maxLots = current.maxLots > (this.lots % 4n) + 1n ? current.maxLots - (this.lots % 4n) : 1n;
      windowSeconds = current.windowSeconds + (this.seconds % 30n);
    } else if (this.mode === "loosen" && current.windowSeconds !== 0n) {
      maxLots = current.maxLots + (this.lots % 5n);
      windowSeconds =
        current.windowSeconds > 1n + (this.seconds % 30n) ? current.windowSeconds - (this.seconds % 30n) : 1n;
      if (maxLots === current.maxLots && windowSeconds === current.windowSeconds) maxLots += 1n;
    } else if (this.mode === "remove") {
      maxLots = this.lots % 2n === 0n ? 0n : this.lots;
      windowSeconds = 0n;
    } else if (this.mode === "invalid") {
      maxLots = 0n;
    }
    const call = real.exchange
      .connect(trader)
      .setWindowLimit(this.marketId, maxLots, windowSeconds, { gasLimit: GAS_LIMIT });
    await expectOutcome(
      real,
      call,
      model.setWindowLimit(trader.address, this.marketId, maxLots, windowSeconds, timestamp),
    );
    noteBackOut(model, real);
  }
  toString() {
    return `setWindowLimit(trader ${this.trader}, market ${this.marketId}, ${this.mode}, ${this.lots} lots, ${this.seconds}s)`;
  }
}

export const setWindowLimitArb = fc
  .record({
    trader: fc.integer({ min: 0, max: 3 }),
    marketId: fc.constantFrom(1n, 2n),
    mode: fc.constantFrom<WindowMode>("set", "set", "tighten", "tighten", "loosen", "loosen", "remove", "invalid"),
    lots: fc.bigInt({ min: 1n, max: 10n }),
    seconds: fc.oneof(
      { arbitrary: fc.bigInt({ min: 5n, max: 120n }), weight: 2 },
      { arbitrary: fc.bigInt({ min: 300n, max: 1800n }), weight: 2 },
    ),
  })
  .map(({ trader, marketId, mode, lots, seconds }) => new SetWindowLimit(trader, marketId, mode, lots, seconds));

/** Every command with its weight: orders and settlement dominate. */
export const allCommands: fc.Arbitrary<ExchangeCommand>[] = (
  [
    [depositArb, 2],
    [requestWithdrawArb, 2],
    [withdrawArb, 2],
    [signArb, 24],
    [settleArb, 9],
    [matchArb, 8],
    [settleMatchedArb, 8],
    [cancelArb, 2],
    [cancelUpToArb, 2],
    [timeArb, 2],
    [setFeesArb, 1],
    [setFeeRecipientArb, 1],
    [pauseArb, 1],
    [unpauseArb, 12],
    [haltArb, 1],
    [resumeArb, 6],
    [setPriceBandArb, 2],
    [setPriceFeedArb, 2],
    [moveFeedArb, 2],
    [setVelocityLimitArb, 2],
    [setCancelAfterArb, 4],
    [setWindowLimitArb, 3],
    [setFirmnessDelayArb, 1],
  ] as [fc.Arbitrary<ExchangeCommand>, number][]
).flatMap(([arb, weight]) => Array<fc.Arbitrary<ExchangeCommand>>(weight).fill(arb));
