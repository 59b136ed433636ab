/**
 * The risk check against the in-process Hardhat network: what it accepts settles without a skip,
 * and what it rejects the Exchange would indeed skip, with the matching `SkipReason`.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Signer } from "ethers";
import type { Address, Hex } from "viem";
import { createPublicClient } from "viem";
import { getBlock } from "viem/actions";
import { ethers } from "hardhat";
import { SkipReason, signOrder, type Order } from "@crossbook/sdk";
import {
  RiskCode,
  checkOrder,
  readRiskContext,
  type ReservingOrder,
  type RiskDecision,
} from "../../../keeper/src/risk";
import { LOT_SIZE, TICK_SIZE, TAKER_FEE_BPS } from "../../helpers/fixture";
import { CONTRACT_READS_BATCH } from "../../../keeper/src/keeper";
import { causedTransports } from "../../../keeper/src/metrics/rpc";
import { fund, hardhat, order, publicClient, sdkFixture, transport } from "../../sdk/support";

/** 10 lots at 200,000 ticks: what a buyer pays with the larger (taker) fee, rounded down. */
const QUOTE_ATOMS = 10n * 200_000n * TICK_SIZE;
const BUY_NEEDS = QUOTE_ATOMS + (QUOTE_ATOMS * TAKER_FEE_BPS) / 10_000n;

async function setup() {
  const env = await sdkFixture();
  // Alice rests a sell of 10 lots at 200,000 ticks, funded with exactly its base.
  await fund(env.exchange, env.base, env.alice, 10n * LOT_SIZE);
  const makerOrder = order({ maker: env.alice.address as Address, isBuy: false, nonce: 1n });
  const makerSignature = await signOrder({ signer: env.alice, order: makerOrder, domain: env.sdkDomain });
  return { ...env, makerOrder, makerSignature };
}

type Env = Awaited<ReturnType<typeof setup>>;

/** The node calls `batchingClient` made, by the keeper's metric labels (`eth_call:multicall`…). */
const batchedCalls: string[] = [];
/** A client that batches its reads as the keeper's do: several to an `eth_call`. */
const batchingClient = createPublicClient({
  chain: hardhat,
  transport: causedTransports(transport, (call) => batchedCalls.push(call.method))("order"),
  batch: CONTRACT_READS_BATCH,
});

async function risk(
  env: Env,
  o: Order,
  signature: Hex,
  openOrders: ReservingOrder[] = [],
  client = publicClient,
): Promise<RiskDecision> {
  const context = await readRiskContext(
    client,
    env.addresses.exchange,
    { order: o, signature },
    { chainId: env.sdkDomain.chainId, openOrders },
  );
  return checkOrder(o, signature, context);
}

/** Settles `lots` of the taker against Alice's resting sell; the reasons of the skipped fills. */
async function settle(env: Env, taker: Order, takerSignature: Hex, lots = 10n): Promise<number[]> {
  const tx = await env.exchange
    .connect(env.keeper)
    .settle([env.makerOrder, taker], [env.makerSignature, takerSignature], [{ makerIndex: 0n, takerIndex: 1n, lots }]);
  const receipt = await tx.wait();
  const reasons: number[] = [];
  let traded = 0;
  for (const log of receipt!.logs) {
    const parsed = env.exchange.interface.parseLog(log);
    if (parsed?.name === "FillSkipped") reasons.push(Number(parsed.args.reason));
    if (parsed?.name === "Traded") traded++;
  }
  expect(traded + reasons.length).to.equal(1);
  return reasons;
}

async function buy(env: Env, signer: Signer & { address: string }, fields: Partial<Order> = {}) {
  const o = order({ maker: signer.address as Address, isBuy: true, nonce: 5n, ...fields });
  return { order: o, signature: await signOrder({ signer, order: o, domain: env.sdkDomain }) };
}

describe("keeper/risk: readRiskContext + checkOrder on the Hardhat network", function () {
  it("an order it accepts (funded to the atom, fee included) settles without a skip", async function () {
    const env = await loadFixture(setup);
    await fund(env.exchange, env.quote, env.bob, BUY_NEEDS);
    const taker = await buy(env, env.bob);
    expect(await risk(env, env.makerOrder, env.makerSignature)).to.deep.equal({ ok: true });
    expect(await risk(env, taker.order, taker.signature)).to.deep.equal({ ok: true });
    expect(await settle(env, taker.order, taker.signature)).to.deep.equal([]);
  });

  it("counts the maker's other open orders against its balance", async function () {
    const env = await loadFixture(setup);
    await fund(env.exchange, env.quote, env.bob, BUY_NEEDS);
    const first = await buy(env, env.bob, { nonce: 5n });
    const second = await buy(env, env.bob, { nonce: 6n, lots: 1n });
    const decision = await risk(env, second.order, second.signature, [{ order: first.order, lots: 10n }]);
    expect(decision).to.include({ ok: false, code: RiskCode.INSUFFICIENT_BALANCE });
    expect(await risk(env, second.order, second.signature, [{ order: first.order, lots: 9n }])).to.deep.equal({
      ok: true,
    });
    // The same nonce as an open order is refused before any balance is looked at.
    const dup = await risk(env, first.order, first.signature, [{ order: { ...first.order, lots: 2n }, lots: 2n }]);
    expect(dup).to.include({ code: RiskCode.DUPLICATE_NONCE });
  });

  it("too little balance (one atom short): rejected, and the chain skips it as TakerBalanceTooLow", async function () {
    const env = await loadFixture(setup);
    await fund(env.exchange, env.quote, env.carol, BUY_NEEDS - 1n);
    const taker = await buy(env, env.carol);
    expect(await risk(env, taker.order, taker.signature)).to.include({ code: RiskCode.INSUFFICIENT_BALANCE });
    expect(await settle(env, taker.order, taker.signature)).to.deep.equal([SkipReason.TakerBalanceTooLow]);
  });

  it("a cancelled nonce: rejected, and the chain skips it as TakerCancelled", async function () {
    const env = await loadFixture(setup);
    await fund(env.exchange, env.quote, env.bob, BUY_NEEDS);
    const taker = await buy(env, env.bob);
    await (await env.exchange.connect(env.bob).cancel([taker.order.nonce])).wait();
    await time.increase(await env.exchange.firmnessDelay()); // the cancel is in force after the delay
    expect(await risk(env, taker.order, taker.signature)).to.include({ code: RiskCode.CANCELLED });
    expect(await settle(env, taker.order, taker.signature)).to.deep.equal([SkipReason.TakerCancelled]);
  });

  it("an expired order: rejected, and the chain skips it as TakerExpired", async function () {
    const env = await loadFixture(setup);
    await fund(env.exchange, env.quote, env.bob, BUY_NEEDS);
    const { timestamp } = await getBlock(publicClient, { blockTag: "latest" });
    const taker = await buy(env, env.bob, { expiry: timestamp - 1n });
    expect(await risk(env, taker.order, taker.signature)).to.include({ code: RiskCode.EXPIRED });
    expect(await settle(env, taker.order, taker.signature)).to.deep.equal([SkipReason.TakerExpired]);
  });

  it("a halted market: rejected, and the chain skips it as MarketHalted", async function () {
    const env = await loadFixture(setup);
    await fund(env.exchange, env.quote, env.bob, BUY_NEEDS);
    const taker = await buy(env, env.bob);
    await env.exchange.grantRole(await env.exchange.GUARDIAN_ROLE(), env.admin.address);
    await (await env.exchange.haltMarket(1)).wait();
    expect(await risk(env, taker.order, taker.signature)).to.include({ code: RiskCode.MARKET_HALTED });
    expect(await settle(env, taker.order, taker.signature)).to.deep.equal([SkipReason.MarketHalted]);
  });

  it("an unlisted market, and a bad signature, are told apart from a failing read", async function () {
    const env = await loadFixture(setup);
    const other = await buy(env, env.bob, { marketId: 9n });
    expect(await risk(env, other.order, other.signature)).to.include({ code: RiskCode.UNKNOWN_MARKET });
    const taker = await buy(env, env.bob);
    const byDave = await signOrder({ signer: env.dave, order: taker.order, domain: env.sdkDomain });
    expect(await risk(env, taker.order, byDave)).to.include({ code: RiskCode.BAD_SIGNATURE });
  });

  it("the same with the reads batched as the keeper's are: a revert inside the batch is still the market's", async function () {
    const env = await loadFixture(setup);
    await fund(env.exchange, env.quote, env.bob, BUY_NEEDS);
    batchedCalls.length = 0;
    const other = await buy(env, env.bob, { marketId: 9n });
    expect(await risk(env, other.order, other.signature, [], batchingClient)).to.include({
      code: RiskCode.UNKNOWN_MARKET,
    });
    const taker = await buy(env, env.bob);
    expect(await risk(env, taker.order, taker.signature, [], batchingClient)).to.deep.equal({ ok: true });
    expect(batchedCalls).to.include("eth_call:multicall"); // the reads were indeed batched
    expect(batchedCalls.filter((m) => m.startsWith("eth_call:") && m !== "eth_call:multicall")).to.deep.equal([]);
  });

  it("a contract wallet: accepted while it approves; once it rejects, so does the chain (TakerSignatureRejected)", async function () {
    const env = await loadFixture(setup);
    const Wallet = await ethers.getContractFactory("MockERC1271Wallet");
    const wallet = await Wallet.deploy(env.bob.address);
    const walletAddress = (await wallet.getAddress()) as Address;
    await env.quote.mint(walletAddress, BUY_NEEDS);
    await wallet.connect(env.bob).deposit(env.addresses.exchange, env.addresses.quote, BUY_NEEDS);
    const o = order({ maker: walletAddress, isBuy: true, nonce: 3n });
    const signature = await signOrder({ signer: env.bob, order: o, domain: env.sdkDomain });
    expect(await risk(env, o, signature)).to.deep.equal({ ok: true });
    await (await wallet.connect(env.bob).setMode(1)).wait(); // Reject
    expect(await risk(env, o, signature)).to.include({ code: RiskCode.SIGNATURE_REJECTED });
    expect(await settle(env, o, signature)).to.deep.equal([SkipReason.TakerSignatureRejected]);
  });
});
