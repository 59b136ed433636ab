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
import type { Exchange, MockERC20, MockPriceFeed } from "../../typechain-types";
import { deployExchange } from "../helpers/fixture";
import {
  FILL_OR_KILL,
  IMMEDIATE_OR_CANCEL,
  MAX_UINT64,
  ORDER_TYPES,
  POST_ONLY,
  SkipReason,
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
} from "./model";

const GAS_LIMIT = 8_000_000n;
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
  return { ...f, wbtc, traders, tokens, guardian, feeds };
}

export interface Stats {
  runs: number;
  steps: number;
  commands: Record<string, number>;
  fills: number;
  traded: number;
  skipped: Record<string, number>;
  expectedReverts: Record<string, number>;
}

export function newStats(): Stats {
  return { runs: 0, steps: 0, commands: {}, fills: 0, traded: 0, skipped: {}, expectedReverts: {} };
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
  /** What `checkWorld` last read: balances, fill state and floors, keyed like the model. */
  last: { balances: Map<string, bigint>; filled: Map<string, bigint>; floors: Map<string, bigint> };
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
    last: { balances: new Map(), filled: new Map(), floors: new Map() },
    fokTraded: new Map(),
    stats,
  };
  stats.runs += 1;
  await checkWorld(model, real, "full");
  return { model, real };
}

const balanceKey = (account: string, token: string) => `${account.toLowerCase()}/${token.toLowerCase()}`;

/**
 * What a check compares with the chain: "full" is every piece of state the model knows and every
 * invariant that holds in every state; "balances" leaves out the fill state and the nonce floors,
 * for deposits and withdrawals; "floors" is the limits and the nonce floors, for `cancelUpTo`;
 * "withdrawals" is the limits and invariant 5, for a pause or a halt; "limits" is the risk limits and
 * their state (and the fee recipient), for setters that cannot touch balances, fill state or floors;
 * "bounds" is only the price bounds, which move with time. (A stray write to a part a step leaves
 * out would still show at the next full check: every settle is followed by one.)
 */
export type CheckScope = "full" | "balances" | "floors" | "withdrawals" | "limits" | "bounds";

/**
 * Compares the chain with the model, and checks the invariants that hold in every state: (1) token
 * holdings cover internal balances, (2) no nonce filled beyond its largest order, (5) every funded
 * account can withdraw its whole balance — paused, halted or not.
 */
export async function checkWorld(model: ExchangeModel, real: World, scope: CheckScope) {
  const { exchange } = real;
  const latest = (await ethers.provider.getBlock("latest"))!;
  const now = BigInt(latest.timestamp);
  const blockNumber = BigInt(latest.number);
  // Views run in the latest block: the price bounds are those at its timestamp.
  await Promise.all(
    [1n, 2n].map(async (id) => {
      const bounds = model.priceBounds(id, now);
      expect([...(await exchange.priceBounds(id))], `priceBounds(${id}) at ${now}`).to.deep.equal([
        bounds.available,
        bounds.low,
        bounds.high,
      ]);
    }),
  );
  if (scope === "bounds") return;
  await checkLimits(model, real, now, blockNumber);
  if (scope === "full" || scope === "balances") real.last.balances = await checkBalances(model, real);
  if (scope === "full") real.last.filled = await checkFills(model, real);
  if (scope === "full" || scope === "floors") real.last.floors = await checkFloors(model, real);
  if (scope === "full" || scope === "balances" || scope === "withdrawals") {
    await checkWithdrawals(real, real.last.balances);
  }
}

/** The risk limits and their state: pause, each market's limits, each trader's deadline and windows. */
async function checkLimits(model: ExchangeModel, real: World, now: bigint, blockNumber: bigint) {
  const { exchange } = real;
  const checks: Promise<unknown>[] = [
    exchange.paused().then((paused) => expect(paused, "paused()").to.equal(model.paused)),
    exchange.feeRecipient().then((recipient) => expect(recipient, "feeRecipient()").to.equal(model.feeRecipient)),
  ];
  for (const id of [1n, 2n]) {
    checks.push(
      exchange
        .riskLimits(id)
        .then((limits) =>
          expect([...limits], `riskLimits(${id}) in block ${blockNumber}`).to.deep.equal(
            model.riskLimits(id, blockNumber),
          ),
        ),
    );
  }
  for (const trader of real.traders) {
    checks.push(
      exchange
        .cancelAfter(trader.address)
        .then((deadline) =>
          expect(deadline, `cancelAfter(${trader.address})`).to.equal(model.cancelAfter(trader.address)),
        ),
    );
    for (const id of [1n, 2n]) {
      checks.push(
        exchange.windowLimit(trader.address, id).then((limit) => {
          // As of now; a window with nothing filled in it shows no start.
          const w = windowAt(model.window(trader.address, id), now);
          if (w.usedLots === 0n) w.windowStart = 0n;
          expect([...limit], `windowLimit(${trader.address}, ${id})`).to.deep.equal([
            w.maxLots,
            w.windowSeconds,
            w.windowStart,
            w.usedLots,
            w.pendingMaxLots,
            w.pendingWindowSeconds,
            w.pendingEffectiveAt,
          ]);
        }),
      );
    }
  }
  await Promise.all(checks);
}

/** Internal balances, and invariant 1. */
async function checkBalances(model: ExchangeModel, real: World): Promise<Map<string, bigint>> {
  const { exchange, tokenAddresses } = real;
  const balances = new Map<string, bigint>();
  await Promise.all(
    real.accounts.flatMap((account) =>
      tokenAddresses.map(async (token) => {
        const onChain = await exchange.balanceOf(account.address, token);
        expect(onChain, `internal balance of ${account.address} in ${token}`).to.equal(
          model.balance(account.address, token),
        );
        balances.set(balanceKey(account.address, token), onChain);
      }),
    ),
  );
  // Invariant 1: for every token, the Exchange holds at least the sum of internal balances (and,
  // with plain tokens and no direct transfers, exactly what was deposited minus what was withdrawn).
  await Promise.all(
    real.tokens.map(async (token, i) => {
      const held = await token.balanceOf(exchange);
      let sum = 0n;
      for (const account of real.accounts) sum += balances.get(balanceKey(account.address, tokenAddresses[i]))!;
      expect(held, `tokens ${tokenAddresses[i]} held by the Exchange`).to.equal(
        model.holdings.get(tokenAddresses[i]) ?? 0n,
      );
      expect(held >= sum, `Exchange holds ${held} of ${tokenAddresses[i]} but owes ${sum}`).to.equal(true);
    }),
  );
  return balances;
}

/** Fill state, and invariant 2: no (maker, nonce) fills beyond the largest order signed under it. */
async function checkFills(model: ExchangeModel, real: World): Promise<Map<string, bigint>> {
  const filled = new Map<string, bigint>();
  await Promise.all(
    [...model.knownNonces.entries()].map(async ([key, { maker, nonce }]) => {
      const onChain = await real.exchange.filled(maker, nonce);
      expect(onChain, `filled(${maker}, ${nonce})`).to.equal(model.filled(maker, nonce));
      if (onChain !== MAX_UINT64) {
        expect(
          onChain <= (model.largestSigned.get(key) ?? 0n),
          `filled(${maker}, ${nonce}) beyond its orders`,
        ).to.equal(true);
      }
      filled.set(key, onChain);
    }),
  );
  return filled;
}

async function checkFloors(model: ExchangeModel, real: World): Promise<Map<string, bigint>> {
  const floors = new Map<string, bigint>();
  await Promise.all(
    real.traders.map(async (trader) => {
      const onChain = await real.exchange.minNonce(trader.address);
      expect(onChain, `minNonce(${trader.address})`).to.equal(model.minNonce(trader.address));
      floors.set(trader.address.toLowerCase(), onChain);
    }),
  );
  return floors;
}

/** Invariant 5: withdraw works for any funded account (simulated, so that the state stays put). */
async function checkWithdrawals(real: World, balances: Map<string, bigint>) {
  await Promise.all(
    real.accounts.flatMap((account) =>
      real.tokenAddresses.map(async (token) => {
        const balance = balances.get(balanceKey(account.address, token))!;
        if (balance > 0n) await real.exchange.connect(account).withdraw.staticCall(token, balance);
      }),
    ),
  );
}

function count(record: Record<string, number>, key: string) {
  record[key] = (record[key] ?? 0) + 1;
}

type ExchangeCommand = fc.AsyncCommand<ExchangeModel, World>;

abstract class Step implements ExchangeCommand {
  abstract readonly name: string;
  /** What to compare after the step (see `CheckScope`); "none" for steps that send no transaction. */
  protected readonly scope: CheckScope | "none" = "full";
  check(model: Readonly<ExchangeModel>): boolean {
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

export class Withdraw extends Step {
  readonly name = "withdraw";
  protected readonly scope = "balances";
  /** @param account 0..3 a trader, 4 the outsider (never funded) @param percent of the balance; above 100 asks for more */
  constructor(
    readonly account: number,
    readonly token: number,
    readonly percent: bigint,
  ) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    const account = this.account < 4 ? real.traders[this.account] : real.outsider;
    const token = real.tokenAddresses[this.token];
    const available = model.balance(account.address, token);
    const amount = this.percent > 100n ? available + this.percent - 100n : (available * this.percent) / 100n;
    const call = real.exchange.connect(account).withdraw(token, amount, { gasLimit: GAS_LIMIT });
    if (amount === 0n) {
      await expect(call).to.be.revertedWithCustomError(real.exchange, "ZeroAmount");
      count(real.stats.expectedReverts, "ZeroAmount");
    } else if (amount > available) {
      await expect(call)
        .to.be.revertedWithCustomError(real.exchange, "InsufficientBalance")
        .withArgs(token, available, amount);
      count(real.stats.expectedReverts, "InsufficientBalance");
    } else {
      await expect(call).to.changeTokenBalances(real.tokens[this.token], [account, real.exchange], [amount, -amount]);
      model.withdraw(account.address, token, amount);
    }
  }
  toString() {
    return `withdraw(account ${this.account}, token ${this.token}, ${this.percent}%)`;
  }
}

export const withdrawArb = fc
  .record({
    account: fc.integer({ min: 0, max: 4 }),
    token: fc.integer({ min: 0, max: 2 }),
    percent: fc.oneof(fc.constantFrom(100n, 101n), fc.bigInt({ min: 0n, max: 130n })),
  })
  .map(({ account, token, percent }) => new Withdraw(account, token, percent));

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
}

export class SignOrder extends Step {
  readonly name = "sign";
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
      nonce = highest + 1n > model.minNonce(trader.address) ? highest + 1n : model.minNonce(trader.address);
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
    const signature = await signOrder(trader, real.domain, order);
    expect(await real.exchange.hashOrder(order)).to.equal(
      ethers.TypedDataEncoder.hash(real.domain, ORDER_TYPES, order),
    );
    model.recordSigned({ id: model.orders.length, order, signature });
  }
  toString() {
    const s = this.spec;
    return `sign(trader ${s.trader}, market ${s.marketId}, ${s.isBuy ? "buy" : "sell"} ${s.lots}@${s.priceTicks}, flags ${s.flags}, maxFee ${s.maxFeeBps}, expiresIn ${s.expiresIn}, nonce mode ${s.nonceMode}/${s.nonceSeed})`;
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
export function planBatch(model: ExchangeModel, intents: FillIntent[], now: bigint, blockNumber: bigint) {
  const pool = model.orders.slice(-POOL);
  const orders: Order[] = [];
  const signatures: string[] = [];
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
  // What a careful keeper knows is dead: cancelled (it watches the events), expired, below the floor
  // (and, aware of the risk limits, past its account's cancel-after); and it does not match an
  // account with itself, nor an order whose maxFeeBps is below the fee.
  const live = (o: Order, riskAware: boolean) => {
    const deadline = model.cancelAfter(o.maker);
    return (
      !model.isCancelled(o.maker, o.nonce) &&
      o.expiry >= now &&
      o.nonce >= model.minNonce(o.maker) &&
      (!riskAware || deadline === 0n || now <= deadline)
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
    const room = windowRoom(model.window(account, id), now);
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
  // follow the batch's own earlier fills, so a balance can still fall short).
  const affordable = (m: Order, t: Order): bigint => {
    const market = model.markets.get(m.marketId)!;
    const [buyer, seller] = m.isBuy ? [m.maker, t.maker] : [t.maker, m.maker];
    const perLot = m.priceTicks * market.tickSize;
    const feePerLot = (perLot * (m.isBuy ? market.makerFeeBps : market.takerFeeBps) + BPS - 1n) / BPS;
    const byQuote = model.balance(buyer, market.quote) / (perLot + feePerLot);
    const byBase = model.balance(seller, market.base) / market.lotSize;
    return byQuote < byBase ? byQuote : byBase;
  };
  const none = new Map<string, bigint>();
  const makersFor = (t: Order, { careful, riskAware }: FillIntent) =>
    pool.filter(
      ({ order: m }) =>
        canMake(m) &&
        left(m, none) > 0n &&
        m.marketId === t.marketId &&
        m.isBuy !== t.isBuy &&
        crosses(m, t) &&
        !(m.maker === t.maker && m.nonce === t.nonce) &&
        (!careful ||
          (live(m, riskAware) &&
            m.maker !== t.maker &&
            feeOk(m, "maker") &&
            (!riskAware || priceOk(m)) &&
            affordable(m, t) > 0n)),
    );
  /** Plans one intent in `market`; false when no order there can take. */
  const plan = (intent: FillIntent, market: bigint): boolean => {
    const riskAware = intent.careful && intent.riskAware;
    if (riskAware && !marketOk(market)) return false;
    const takers = pool.filter(
      ({ id, order: o }) =>
        o.marketId === market &&
        canTake(o) &&
        (hasFlag(o, FILL_OR_KILL) ? !fokUsed.has(id) && left(o, none) === o.lots : left(o, none) > 0n) &&
        (!intent.careful || (live(o, riskAware) && feeOk(o, "taker"))) &&
        makersFor(o, intent).length > 0,
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
      run.push({ maker: maker.id, lots });
      add(runPlanned, m, lots);
      useRoom(runWindows, m.maker, market, lots);
      useRoom(runWindows, t.maker, market, lots);
      runLots += lots;
      need -= lots;
    }
    if (need > 0n) return true;
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
  return { orders, signatures, fills };
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

/** One `settle` call: what the keeper sent, what the model predicts, and the limits it started from. */
interface PlannedCall {
  orders: Order[];
  signatures: string[];
  fills: Fill[];
  predicted: FillOutcome[];
  limits: LimitsBefore;
}

type Executed = { fill: Fill; maker: Order; taker: Order };

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
  check(model: Readonly<ExchangeModel>): boolean {
    return model.orders.length >= 2;
  }
  protected async act(model: ExchangeModel, real: World) {
    const timestamp = BigInt(await time.latest()) + 1n;
    const blockNumber = BigInt(await ethers.provider.getBlockNumber()) + 1n;
    const before = { ...real.last }; // checkWorld replaces its maps
    await time.setNextBlockTimestamp(timestamp);
    if (model.paused) {
      const { orders, signatures, fills } = planBatch(model, this.intents, timestamp, blockNumber);
      await expect(
        real.exchange.connect(real.keeper).settle(orders, signatures, fills, { gasLimit: GAS_LIMIT }),
      ).to.be.revertedWithCustomError(real.exchange, "EnforcedPause");
      count(real.stats.expectedReverts, "EnforcedPause (settle)");
      return;
    }
    // The model predicts before any call is sent, so that a model failure leaves no call in flight.
    const calls: PlannedCall[] = [];
    for (const intents of this.sameBlock ? [this.intents, this.sameBlock] : [this.intents]) {
      const { orders, signatures, fills } = planBatch(model, intents, timestamp, blockNumber);
      const limits = limitsBefore(model, real, timestamp, blockNumber);
      const predicted = model.settle(orders, fills, timestamp, blockNumber);
      calls.push({ orders, signatures, fills, predicted, limits });
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

    const executed = calls.map((call, i) => this.compareEvents(real, call, receipts[i]));
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
          expect(
            o.nonce >= (before.floors.get(o.maker.toLowerCase()) ?? 0n),
            "an order below the floor filled",
          ).to.equal(true);
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
          if (hasFlag(o, IMMEDIATE_OR_CANCEL)) {
            expect(after.filled.get(nonceKey(o.maker, o.nonce)), `IOC order (${o.maker}, ${o.nonce}) rests`).to.equal(
              MAX_UINT64,
            );
          }
        }
      }
    });
  }

  /** Each fill has one event, in fill order, and the chain does what the model predicts. */
  private compareEvents(real: World, call: PlannedCall, receipt: ContractTransactionReceipt): Executed[] {
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
    return executed;
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

export const settleArb = fc
  .tuple(
    intentsArb(8),
    fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: intentsArb(4), weight: 1 }),
  )
  .map(([intents, sameBlock]) => new Settle(intents, sameBlock));

// ─── Cancellation ────────────────────────────────────────────────────────────────────────

export class Cancel extends Step {
  readonly name = "cancel";
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
    const call = real.exchange.connect(trader).cancel(nonces, { gasLimit: GAS_LIMIT });
    if (nonces.length === 0) {
      await expect(call).to.be.revertedWithCustomError(real.exchange, "NothingToCancel");
      count(real.stats.expectedReverts, "NothingToCancel");
      return;
    }
    let assertion = expect(call).to.emit(real.exchange, "OrderCancelled").withArgs(trader.address, nonces[0]);
    for (const nonce of nonces.slice(1)) {
      assertion = assertion.and.to.emit(real.exchange, "OrderCancelled").withArgs(trader.address, nonce);
    }
    await assertion;
    model.cancel(trader.address, nonces);
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
  protected readonly scope = "floors";
  /** @param mode "raise": to one of its signed nonces (maybe +1); "same": the current floor; "lower": below it */
  constructor(
    readonly trader: number,
    readonly mode: "raise" | "same" | "lower",
    readonly pick: number,
  ) {
    super();
  }
  protected async act(model: ExchangeModel, real: World) {
    const trader = real.traders[this.trader];
    const current = model.minNonce(trader.address);
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
    const call = real.exchange.connect(trader).cancelUpTo(target, { gasLimit: GAS_LIMIT });
    if (target <= current) {
      await expect(call).to.be.revertedWithCustomError(real.exchange, "NonceFloorNotRaised").withArgs(current, target);
      count(real.stats.expectedReverts, "NonceFloorNotRaised");
    } else {
      await expect(call).to.emit(real.exchange, "NonceFloorRaised").withArgs(trader.address, current, target);
      model.cancelUpTo(trader.address, target);
    }
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
  check(model: Readonly<ExchangeModel>): boolean {
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
  check(model: Readonly<ExchangeModel>): boolean {
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

// ─── Traders' own limits ─────────────────────────────────────────────────────────────────

export type DeadlineMode = "off" | "past" | "next" | "future";

/** A trader sets its cancel-after deadline: off, `seconds` in the past, the next block's time, or ahead. */
export class SetCancelAfter extends Step {
  readonly name = "setCancelAfter";
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
    await expectOutcome(real, call, model.setCancelAfter(trader.address, deadline));
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
    const current = model.window(trader.address, this.marketId);
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
    [withdrawArb, 1],
    [signArb, 24],
    [settleArb, 9],
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
  ] as [fc.Arbitrary<ExchangeCommand>, number][]
).flatMap(([arb, weight]) => Array<fc.Arbitrary<ExchangeCommand>>(weight).fill(arb));
