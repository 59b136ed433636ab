import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse, Signer, TypedDataDomain } from "ethers";
import { deployExchange, fund, LOT_SIZE, TICK_SIZE } from "../helpers/fixture";
import { decodeOrderKey, makeOrder, signOrder, type Fill, type Order } from "../helpers/orders";

export type Env = Awaited<ReturnType<typeof deployExchange>>;
export type Exchange = Env["exchange"];
export type Token = Env["base"];
export type Trader = Env["alice"];

/** A price (ticks per lot) whose quote amounts make the fee's rounding visible. */
export const PRICE = 200_003n;
/** What each funded trader starts with on the Exchange. */
export const START_BASE = 1_000n * LOT_SIZE;
export const START_QUOTE = 10n ** 12n;

/**
 * The Exchange's firmness delay as deployed (`DEFAULT_FIRMNESS_DELAY`, seconds): a trader's cancel,
 * nonce floor, withdrawal request or tighter limit is in force this long after it is mined.
 */
export const FIRMNESS_DELAY = 30n;

/** Lets the firmness delay pass, so that every trader action mined so far is in force. */
export async function afterFirmness() {
  await time.increase(FIRMNESS_DELAY);
}

/** Basis points in one. */
export const BPS = 10_000n;

/** Base atoms of `lots` on the fixture market. */
export const baseOf = (lots: bigint) => lots * LOT_SIZE;
/** Quote atoms of `lots` at `priceTicks` on the fixture market. */
export const quoteOf = (lots: bigint, priceTicks: bigint) => lots * priceTicks * TICK_SIZE;
/** A fee on `quote` atoms at `feeBps`, rounded down as the Exchange does. */
export const feeOf = (quote: bigint, feeBps: bigint) => (quote * feeBps) / BPS;

/** A fill with numeric indices. */
export function fill(makerIndex: number, takerIndex: number, lots: bigint): Fill {
  return {
    makerIndex: BigInt(makerIndex),
    takerIndex: BigInt(takerIndex),
    lots,
  };
}

/** An order and its signature. */
export interface Signed {
  order: Order;
  signature: string;
}

/** Builds an order from `fields` (see `makeOrder`) for `signer` and signs it with `signer`. */
export async function signed(
  signer: Signer,
  domain: TypedDataDomain,
  fields: Partial<Order> & Pick<Order, "isBuy" | "nonce">,
): Promise<Signed> {
  const order = makeOrder({
    maker: await signer.getAddress(),
    priceTicks: PRICE,
    ...fields,
  });
  return { order, signature: await signOrder(signer, domain, order) };
}

/** The `orders` and `signatures` arguments of `settle`, from signed orders in index order. */
export function batchOf(signedOrders: Signed[]): [Order[], string[]] {
  return [signedOrders.map((s) => s.order), signedOrders.map((s) => s.signature)];
}

/** Calls `settle` as the keeper. */
export function settleAs(exchange: Exchange, keeper: Signer, signedOrders: Signed[], fills: Fill[], gasLimit?: bigint) {
  const [orders, signatures] = batchOf(signedOrders);
  return exchange.connect(keeper).settle(orders, signatures, fills, gasLimit === undefined ? {} : { gasLimit });
}

/** The timestamp of the block that mined `tx`. */
export async function minedAt(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  const receipt = (await (await tx).wait())!;
  return BigInt((await receipt.getBlock()).timestamp);
}

/**
 * The Exchange at its address, seen with the ABI of a library linked into it: the errors that
 * library's calls revert with (a deposit's `SafeERC20FailedOperation`), for `revertedWithCustomError`.
 */
export async function linkedLibrary(exchange: Exchange, name: "TraderActions" | "MarketConfig" | "WindowLimit") {
  return ethers.getContractAt(name, await exchange.getAddress());
}

/** Internal balances of `accounts` in `tokens`, as `[account][token]` bigints. */
export async function balancesOf(exchange: Exchange, accounts: string[], tokens: string[]): Promise<bigint[][]> {
  return Promise.all(accounts.map((a) => Promise.all(tokens.map((t) => exchange.balanceOf(a, t)))));
}

/** Any token the tests mint: the fixture's, or one of the misbehaving mocks. */
export interface MintableToken {
  getAddress(): Promise<string>;
  mint(to: string, amount: bigint): Promise<unknown>;
  connect(signer: Signer): {
    approve(spender: string, amount: bigint): Promise<unknown>;
  };
}

/** Like the fixture's `fund`, for any mintable token: mints `amount` to `trader` and deposits it all. */
export async function fundWith(exchange: Exchange, token: MintableToken, trader: Trader, amount: bigint) {
  const tokenAddress = await token.getAddress();
  await token.mint(trader.address, amount);
  await token.connect(trader).approve(await exchange.getAddress(), amount);
  await exchange.connect(trader).deposit(tokenAddress, amount);
}

/** The fixture with alice, bob, carol and dave each holding START_BASE and START_QUOTE on the Exchange. */
export async function deployFunded() {
  const env = await deployExchange();
  for (const trader of [env.alice, env.bob, env.carol, env.dave]) {
    await fund(env.exchange, env.base, trader, START_BASE);
    await fund(env.exchange, env.quote, trader, START_QUOTE);
  }
  return env;
}

/** The funded fixture plus an ERC-1271 wallet (owned by `walletOwner`) funded like the traders. */
export async function deployFundedWithWallet() {
  const env = await deployFunded();
  const signers = await ethers.getSigners();
  const walletOwner = signers[7];
  const wallet = await ethers.deployContract("MockERC1271Wallet", [walletOwner.address]);
  await fundWallet(env, wallet, walletOwner, env.base, START_BASE);
  await fundWallet(env, wallet, walletOwner, env.quote, START_QUOTE);
  return { ...env, wallet, walletOwner };
}

export type Wallet = Awaited<ReturnType<typeof deployFundedWithWallet>>["wallet"];

/** Mints `amount` of `token` to the wallet and has it deposit it all. */
export async function fundWallet(env: Env, wallet: Wallet, owner: Signer, token: Token, amount: bigint) {
  await token.mint(await wallet.getAddress(), amount);
  await wallet.connect(owner).deposit(await env.exchange.getAddress(), await token.getAddress(), amount);
}

/** An order made by the wallet and signed by its owner. */
export async function signedByWallet(
  wallet: Wallet,
  owner: Signer,
  domain: TypedDataDomain,
  fields: Partial<Order> & Pick<Order, "isBuy" | "nonce">,
): Promise<Signed> {
  const order = makeOrder({
    maker: await wallet.getAddress(),
    priceTicks: PRICE,
    ...fields,
  });
  return { order, signature: await signOrder(owner, domain, order) };
}

/** `MockERC1271Wallet.Mode`, in order. */
export const WalletMode = {
  Approve: 0,
  Reject: 1,
  Revert: 2,
  BurnGas: 3,
  ShortData: 4,
  Garbage: 5,
  HugeData: 6,
} as const;

/** The funded fixture plus market 2: the same base against a second quote token, maker 20 bps, taker 30 bps. */
export async function deployTwoMarkets() {
  const env = await deployFunded();
  const quote2 = await ethers.deployContract("MockERC20", ["Tether USD", "USDT", 6]);
  await env.exchange.listMarket(env.base, quote2, LOT_SIZE, TICK_SIZE, 20n, 30n);
  for (const trader of [env.alice, env.bob, env.carol, env.dave]) {
    await fundWith(env.exchange, quote2, trader, START_QUOTE);
  }
  return { ...env, quote2 };
}

/** One executed fill, as its `Traded` event tells it. */
export interface TradedLog {
  marketId: bigint;
  maker: string;
  makerNonce: bigint;
  taker: string;
  takerNonce: bigint;
  makerIsBuy: boolean;
  priceTicks: bigint;
  lots: bigint;
}

/** What a `settle` transaction did: its `Traded` events, its `[fillIndex, reason]` skips, and its gas. */
export async function outcomes(exchange: Exchange, tx: Promise<ContractTransactionResponse>) {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("no receipt");
  const traded: TradedLog[] = [];
  const skipped: [number, number][] = [];
  for (const log of receipt.logs) {
    const parsed = exchange.interface.parseLog(log);
    if (parsed?.name === "Traded") {
      const [marketId, makerKey, takerKey, makerIsBuy, priceTicks, lots] = parsed.args;
      const makerOrder = decodeOrderKey(makerKey);
      const takerOrder = decodeOrderKey(takerKey);
      traded.push({
        marketId,
        maker: ethers.getAddress(makerOrder.account),
        makerNonce: makerOrder.nonce,
        taker: ethers.getAddress(takerOrder.account),
        takerNonce: takerOrder.nonce,
        makerIsBuy,
        priceTicks,
        lots,
      });
    } else if (parsed?.name === "FillSkipped") {
      skipped.push([Number(parsed.args[0]), Number(parsed.args[1])]);
    }
  }
  return { traded, skipped, gasUsed: receipt.gasUsed };
}

/** One side of a signed pair: its trader (default alice for the maker, bob for the taker) and order fields. */
export type Side = Partial<Order> & { trader?: Trader };

/**
 * A maker order and a crossing taker order, signed: by default alice sells and bob buys, each at
 * nonce 1, PRICE and the default size; `maker` and `taker` change any field (the taker's side is
 * always the other one).
 */
export async function signedPair(env: Env, maker: Side = {}, taker: Side = {}) {
  const { trader: makerTrader = env.alice, ...makerFields } = maker;
  const { trader: takerTrader = env.bob, ...takerFields } = taker;
  const isBuy = makerFields.isBuy ?? false;
  return {
    maker: await signed(makerTrader, env.domain, { nonce: 1n, ...makerFields, isBuy }),
    taker: await signed(takerTrader, env.domain, { nonce: 1n, ...takerFields, isBuy: !isBuy }),
  };
}

/** Asks to withdraw `amount` of `token` for `trader`, and lets the firmness delay pass. */
export async function requestWithdrawNow(
  exchange: Exchange,
  trader: Trader,
  token: { getAddress(): Promise<string> },
  amount: bigint,
) {
  await exchange.connect(trader).requestWithdraw(await token.getAddress(), amount);
  await afterFirmness();
}

/** Sets `trader`'s window limit on `marketId` and lets the firmness delay pass, so that a tighter one is in force. */
export async function windowLimitNow(
  exchange: Exchange,
  trader: Trader,
  marketId: bigint,
  maxLots: bigint,
  windowSeconds: bigint,
) {
  await exchange.connect(trader).setWindowLimit(marketId, maxLots, windowSeconds);
  await afterFirmness();
}

/** `requestWithdrawNow`, then the withdrawal. */
export async function withdrawNow(
  exchange: Exchange,
  trader: Trader,
  token: { getAddress(): Promise<string> },
  amount: bigint,
) {
  await requestWithdrawNow(exchange, trader, token, amount);
  return exchange.connect(trader).withdraw(await token.getAddress(), amount);
}

/**
 * Settles three fills — carol sells to dave (fill 0), `maker` against `taker` (fill 1), carol sells to
 * dave again (fill 2) — and checks that only fill 1 is skipped, with `reason`, that both of carol's
 * fills executed, and that fill 1 changed neither its traders' balances nor its orders' fill state.
 */
export async function expectOnlyMiddleSkipped(
  env: Awaited<ReturnType<typeof deployFunded>>,
  maker: Signed,
  taker: Signed,
  reason: number,
  gasLimit?: bigint,
) {
  const { exchange, domain, keeper, carol, dave, base, quote } = env;
  const ask = await signed(carol, domain, { isBuy: false, nonce: 100n });
  const bid = await signed(dave, domain, { isBuy: true, nonce: 100n });
  const accounts = [maker.order.maker, taker.order.maker];
  const tokens = [await base.getAddress(), await quote.getAddress()];
  const fillState = () => Promise.all([maker, taker].map(({ order }) => exchange.filled(order.maker, order.nonce)));
  const balancesBefore = await balancesOf(exchange, accounts, tokens);
  const filledBefore = await fillState();
  const result = await outcomes(
    exchange,
    settleAs(exchange, keeper, [ask, bid, maker, taker], [fill(0, 1, 1n), fill(2, 3, 1n), fill(0, 1, 2n)], gasLimit),
  );
  expect(result.skipped).to.deep.equal([[1, reason]]);
  expect(result.traded.map((t) => [t.maker, t.taker, t.lots])).to.deep.equal([
    [carol.address, dave.address, 1n],
    [carol.address, dave.address, 2n],
  ]);
  expect(await exchange.filled(carol.address, 100n)).to.equal(3n);
  expect(await balancesOf(exchange, accounts, tokens)).to.deep.equal(balancesBefore);
  expect(await fillState()).to.deep.equal(filledBefore);
  return result;
}
