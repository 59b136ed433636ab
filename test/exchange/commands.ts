/**
 * The commands of the stateful property test of the Exchange (Exchange.property.test.ts): each one
 * acts on the chain and on the model (model.ts), asserts that the chain did what the model
 * predicts, and then checks the whole state and the DESIGN.md invariants (`checkWorld`).
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { TypedDataDomain } from "ethers";
import type { Exchange, MockERC20 } from "../../typechain-types";
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
import { BPS, ExchangeModel, canMake, canTake, crosses, hasFlag, nonceKey, type MarketModel } from "./model";

const GAS_LIMIT = 8_000_000n;
const MAX_FEE_BPS = 100n;

/** Market 2 trades WBTC (8 decimals) against WETH: WETH is market 1's base and market 2's quote. */
export const MARKET2 = { lotSize: 10n ** 4n, tickSize: 7n, makerFeeBps: 0n, takerFeeBps: 30n };

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

/** An Exchange with two markets and four funded traders; they and the outsider have approved it for every token. */
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
  return { ...f, wbtc, traders, tokens };
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
  traders: HardhatEthersSigner[];
  outsider: HardhatEthersSigner;
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
  const markets = new Map<bigint, MarketModel>();
  for (const id of [1n, 2n]) {
    const [base, quote, lotSize, tickSize, makerFeeBps, takerFeeBps] = await f.exchange.market(id);
    markets.set(id, { id, base, quote, lotSize, tickSize, makerFeeBps, takerFeeBps });
  }
  const model = new ExchangeModel(markets, f.admin.address);
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
    traders: f.traders,
    outsider: f.outsider,
    accounts: [f.admin, f.keeper, ...f.traders, f.outsider],
    domain: f.domain,
    last: { balances: new Map(), filled: new Map(), floors: new Map() },
    fokTraded: new Map(),
    stats,
  };
  stats.runs += 1;
  await checkWorld(model, real);
  return { model, real };
}

const balanceKey = (account: string, token: string) => `${account.toLowerCase()}/${token.toLowerCase()}`;

/**
 * Compares every piece of state the model knows with the chain, and checks the invariants that
 * hold in every state: (1) token holdings cover internal balances, (2) no nonce filled beyond its
 * largest order, (5) every funded account can withdraw its whole balance.
 */
export async function checkWorld(model: ExchangeModel, real: World) {
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
  // Fill state, and invariant 2: no (maker, nonce) fills beyond the largest order signed under it.
  const filled = new Map<string, bigint>();
  await Promise.all(
    [...model.knownNonces.entries()].map(async ([key, { maker, nonce }]) => {
      const onChain = await exchange.filled(maker, nonce);
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
  const floors = new Map<string, bigint>();
  await Promise.all(
    real.traders.map(async (trader) => {
      const onChain = await exchange.minNonce(trader.address);
      expect(onChain, `minNonce(${trader.address})`).to.equal(model.minNonce(trader.address));
      floors.set(trader.address.toLowerCase(), onChain);
    }),
  );
  expect(await exchange.feeRecipient()).to.equal(model.feeRecipient);
  // Invariant 5: withdraw works for any funded account (simulated, so that the state stays put).
  await Promise.all(
    real.accounts.flatMap((account) =>
      tokenAddresses.map(async (token) => {
        const balance = balances.get(balanceKey(account.address, token))!;
        if (balance > 0n) await exchange.connect(account).withdraw.staticCall(token, balance);
      }),
    ),
  );
  real.last = { balances, filled, floors };
}

function count(record: Record<string, number>, key: string) {
  record[key] = (record[key] ?? 0) + 1;
}

type ExchangeCommand = fc.AsyncCommand<ExchangeModel, World>;

abstract class Step implements ExchangeCommand {
  abstract readonly name: string;
  check(model: Readonly<ExchangeModel>): boolean {
    void model;
    return true;
  }
  async run(model: ExchangeModel, real: World) {
    real.stats.steps += 1;
    count(real.stats.commands, this.name);
    await this.act(model, real);
    await checkWorld(model, real);
  }
  protected abstract act(model: ExchangeModel, real: World): Promise<void>;
  abstract toString(): string;
}

// ─── Balances ────────────────────────────────────────────────────────────────────────────

/** Amount scales per token (WETH, USDC, WBTC): a lot or a lot's price in each market. */
const AMOUNT_SCALES = [[10n ** 16n, 1000n], [10n ** 4n], [10n ** 4n]];

export class Deposit extends Step {
  readonly name = "deposit";
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
    await expect(real.exchange.connect(trader).deposit(token, this.amount, { gasLimit: GAS_LIMIT }))
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
      { arbitrary: fc.bigInt({ min: 600n, max: 5000n }), weight: 4 },
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
  /** Leaves out the orders the keeper knows are dead, and self-trades. */
  careful: boolean;
}

/** The keeper matches among the most recent orders, as a book would (older ones mostly died). */
const POOL = 16;

/**
 * Turns intents into keeper-valid fills: same market, opposite sides, crossing prices, no post-only
 * taker, no fill-or-kill maker, never one (maker, nonce) on both sides, and within what is left of
 * each order's lots under its nonce, counting every earlier fill of the batch as executed. A
 * fill-or-kill taker with nothing filled under its nonce gets one contiguous run adding up to its
 * size. Careless intents may still pick orders that are dead or self-trades: those fills skip.
 */
export function planBatch(model: ExchangeModel, intents: FillIntent[], now: bigint) {
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
  // What a careful keeper knows is dead: cancelled (it watches the events), expired, below the floor;
  // and it does not match an account with itself, nor an order whose maxFeeBps is below the fee.
  const live = (o: Order) =>
    !model.isCancelled(o.maker, o.nonce) && o.expiry >= now && o.nonce >= model.minNonce(o.maker);
  const feeOk = (o: Order, side: "maker" | "taker") => {
    const market = model.markets.get(o.marketId)!;
    return (side === "maker" ? market.makerFeeBps : market.takerFeeBps) <= o.maxFeeBps;
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
  const makersFor = (t: Order, careful: boolean) =>
    pool.filter(
      ({ order: m }) =>
        canMake(m) &&
        left(m, none) > 0n &&
        m.marketId === t.marketId &&
        m.isBuy !== t.isBuy &&
        crosses(m, t) &&
        !(m.maker === t.maker && m.nonce === t.nonce) &&
        (!careful || (live(m) && m.maker !== t.maker && feeOk(m, "maker") && affordable(m, t) > 0n)),
    );
  /** Plans one intent in `market`; false when no order there can take. */
  const plan = (intent: FillIntent, market: bigint): boolean => {
    const takers = pool.filter(
      ({ id, order: o }) =>
        o.marketId === market &&
        canTake(o) &&
        (hasFlag(o, FILL_OR_KILL) ? !fokUsed.has(id) && left(o, none) === o.lots : left(o, none) > 0n) &&
        (!intent.careful || (live(o) && feeOk(o, "taker"))) &&
        makersFor(o, intent.careful).length > 0,
    );
    if (takers.length === 0) return false;
    const taker = takers[intent.taker % takers.length];
    const t = taker.order;
    const makers = makersFor(t, intent.careful);
    if (!hasFlag(t, FILL_OR_KILL)) {
      const maker = makers[intent.maker % makers.length];
      let room = left(maker.order, none) < left(t, none) ? left(maker.order, none) : left(t, none);
      if (intent.careful && affordable(maker.order, t) < room) room = affordable(maker.order, t);
      if (room === 0n) return true;
      let lots = (room * BigInt(intent.size)) / 100n;
      if (lots === 0n) lots = 1n;
      fills.push({ makerIndex: index(maker.id), takerIndex: index(taker.id), lots });
      add(planned, maker.order, lots);
      add(planned, t, lots);
      return true;
    }
    // A fill-or-kill taker (unused, nothing filled under its nonce): the whole size, now, in one run.
    const run: { maker: number; lots: bigint }[] = [];
    const runPlanned = new Map<string, bigint>();
    let need = t.lots;
    const chunk = (t.lots * BigInt(intent.size) + 99n) / 100n;
    for (let k = 0; k < 2 * makers.length && need > 0n; k += 1) {
      const maker = makers[(intent.maker + k) % makers.length];
      let lots = left(maker.order, runPlanned);
      if (lots > need) lots = need;
      if (lots > chunk) lots = chunk;
      if (intent.careful && lots > affordable(maker.order, t)) lots = affordable(maker.order, t);
      if (lots === 0n) continue;
      run.push({ maker: maker.id, lots });
      add(runPlanned, maker.order, lots);
      need -= lots;
    }
    if (need > 0n) return true;
    fokUsed.add(taker.id);
    for (const { maker, lots } of run) {
      fills.push({ makerIndex: index(maker), takerIndex: index(taker.id), lots });
      add(planned, model.orders[maker].order, lots);
    }
    add(planned, t, t.lots);
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

export class Settle extends Step {
  readonly name = "settle";
  constructor(readonly intents: FillIntent[]) {
    super();
  }
  check(model: Readonly<ExchangeModel>): boolean {
    return model.orders.length >= 2;
  }
  protected async act(model: ExchangeModel, real: World) {
    const timestamp = BigInt(await time.latest()) + 1n;
    const { orders, signatures, fills } = planBatch(model, this.intents, timestamp);
    const before = real.last;
    await time.setNextBlockTimestamp(timestamp);
    const predicted = model.settle(orders, fills, timestamp);
    const tx = await real.exchange.connect(real.keeper).settle(orders, signatures, fills, { gasLimit: GAS_LIMIT });
    const receipt = (await tx.wait())!;
    expect((await receipt.getBlock()).timestamp).to.equal(Number(timestamp));

    // Each fill has one event, in fill order; the chain does what the model predicts.
    const events = receipt.logs
      .map((log) => real.exchange.interface.parseLog(log))
      .filter((e) => e !== null && (e.name === "Traded" || e.name === "FillSkipped"))
      .map((e) => e!);
    expect(events.length, "one Traded or FillSkipped per fill").to.equal(fills.length);
    const traded: { fill: Fill; maker: Order; taker: Order }[] = [];
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
        traded.push({ fill, maker, taker });
      } else {
        count(real.stats.skipped, reasonName(outcome.reason));
        expect(event.name, `fill ${i} (expected to skip with ${reasonName(outcome.reason)})`).to.equal("FillSkipped");
        expect(
          [Number(event.args[0]), reasonName(Number(event.args[1]))],
          `fill ${i}: FillSkipped(index, reason)`,
        ).to.deep.equal([i, reasonName(outcome.reason)]);
      }
    });

    await checkWorld(model, real);
    const after = real.last;
    const fees = new Map<bigint, [bigint, bigint]>();
    for (const id of [1n, 2n]) {
      const [, , , , makerFeeBps, takerFeeBps] = await real.exchange.market(id);
      fees.set(id, [makerFeeBps, takerFeeBps]);
    }

    const tradedAccounts = new Set<string>();
    for (const { maker, taker } of traded) {
      tradedAccounts.add(maker.maker.toLowerCase());
      tradedAccounts.add(taker.maker.toLowerCase());
      // Invariant 3: at the maker's price, within the taker's limit, and fees within each maxFeeBps.
      const [makerFeeBps, takerFeeBps] = fees.get(maker.marketId)!;
      const [buyer, seller] = maker.isBuy ? [maker, taker] : [taker, maker];
      expect(buyer.priceTicks >= maker.priceTicks, "buyer pays at most its limit").to.equal(true);
      expect(seller.priceTicks <= maker.priceTicks, "seller receives at least its limit").to.equal(true);
      expect(makerFeeBps <= maker.maxFeeBps && takerFeeBps <= taker.maxFeeBps, "fee within maxFeeBps").to.equal(true);
      // Invariant 2: neither order was cancelled, expired or below its maker's floor.
      for (const o of [maker, taker]) {
        expect(before.filled.get(nonceKey(o.maker, o.nonce)), "a cancelled order filled").to.not.equal(MAX_UINT64);
        expect(timestamp <= o.expiry, "an expired order filled").to.equal(true);
        expect(o.nonce >= (before.floors.get(o.maker.toLowerCase()) ?? 0n), "an order below the floor filled").to.equal(
          true,
        );
      }
      // Invariant 7: post-only never takes.
      expect(hasFlag(taker, POST_ONLY), "a post-only order took").to.equal(false);
    }
    // Invariant 4: nobody without an executed fill has a balance changed, but the fee recipient.
    for (const [key, value] of after.balances) {
      const account = key.split("/")[0];
      if (tradedAccounts.has(account) || account === model.feeRecipient.toLowerCase()) continue;
      expect(value, `balance ${key} of an account with no executed fill`).to.equal(before.balances.get(key));
    }
    // Invariant 7: a fill-or-kill taker fills its whole size in one call, or not at all, ever.
    const fokIndices = new Set(
      fills.filter((f) => hasFlag(orders[Number(f.takerIndex)], FILL_OR_KILL)).map((f) => f.takerIndex),
    );
    for (const i of fokIndices) {
      const order = orders[Number(i)];
      const lots = traded.filter((t) => t.taker === order).reduce((sum, t) => sum + t.fill.lots, 0n);
      expect([0n, order.lots], "fill-or-kill filled partly").to.include(lots);
      if (lots > 0n) {
        const id = model.orders.findIndex((s) => s.order === order);
        expect(real.fokTraded.has(id), `fill-or-kill order ${id} filled in two calls`).to.equal(false);
        real.fokTraded.set(id, real.stats.steps);
      }
    }
    // Invariant 7: an immediate-or-cancel order used by a fill of this call can never fill again.
    for (const fill of fills) {
      for (const i of [fill.makerIndex, fill.takerIndex]) {
        const o = orders[Number(i)];
        if (hasFlag(o, IMMEDIATE_OR_CANCEL)) {
          expect(after.filled.get(nonceKey(o.maker, o.nonce)), `IOC order (${o.maker}, ${o.nonce}) rests`).to.equal(
            MAX_UINT64,
          );
        }
      }
    }
  }
  toString() {
    const intents = this.intents.map((i) => `m${i.market}:${i.taker}>${i.maker}:${i.size}%${i.careful ? "" : "!"}`);
    return `settle(${intents.join(", ")})`;
  }
}

export const settleArb = fc
  .array(
    fc.record({
      market: fc.constantFrom(1n, 2n),
      taker: fc.nat({ max: POOL - 1 }),
      maker: fc.nat({ max: POOL - 1 }),
      size: fc.oneof(fc.constant(100), fc.integer({ min: 1, max: 100 })),
      careful: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
    }),
    { minLength: 1, maxLength: 6 },
  )
  .map((intents) => new Settle(intents));

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

export const timeArb = fc
  .oneof(
    { arbitrary: fc.integer({ min: 1, max: 30 }), weight: 3 },
    { arbitrary: fc.integer({ min: 30, max: 900 }), weight: 1 },
  )
  .map((s) => new TimePasses(s));

export class SetFees extends Step {
  readonly name = "setFees";
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

/** Every command with its weight: orders and settlement dominate. */
export const allCommands: fc.Arbitrary<ExchangeCommand>[] = (
  [
    [depositArb, 2],
    [withdrawArb, 1],
    [signArb, 8],
    [settleArb, 4],
    [cancelArb, 1],
    [cancelUpToArb, 1],
    [timeArb, 1],
    [setFeesArb, 1],
    [setFeeRecipientArb, 1],
  ] as [fc.Arbitrary<ExchangeCommand>, number][]
).flatMap(([arb, weight]) => Array<fc.Arbitrary<ExchangeCommand>>(weight).fill(arb));
