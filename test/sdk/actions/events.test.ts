/**
 *   alice ── asks 10 lots ──▶ ◀── bob bids 10 lots        fill 0: 3 lots trade
 *   carol ── asks 5 lots, holds no base ──▶                fill 1: skipped, MakerBalanceTooLow
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Address } from "viem";
import { SkipReason, getSkippedFills, getTrades, signOrder, type Order } from "@crossbook/sdk";
import { LOT_SIZE } from "../../helpers/fixture";
import { fund, order, publicClient, sdkFixture, settleAsKeeper, type SdkEnv } from "../support";

async function settledFixture() {
  const env = await sdkFixture();
  await fund(env.exchange, env.base, env.alice, 100n * LOT_SIZE);
  await fund(env.exchange, env.quote, env.bob, 10n ** 12n);
  const sign = async (signer: SdkEnv["alice"], fields: Omit<Order, "marketId" | "flags" | "maxFeeBps" | "expiry">) => {
    const o = order(fields);
    return { order: o, signature: await signOrder({ signer, order: o, domain: env.sdkDomain }) };
  };
  const ask = await sign(env.alice, {
    maker: env.alice.address as Address,
    isBuy: false,
    nonce: 1n,
    priceTicks: 200_000n,
    lots: 10n,
  });
  const bid = await sign(env.bob, {
    maker: env.bob.address as Address,
    isBuy: true,
    nonce: 2n,
    priceTicks: 200_100n,
    lots: 10n,
  });
  const poor = await sign(env.carol, {
    maker: env.carol.address as Address,
    isBuy: false,
    nonce: 3n,
    priceTicks: 200_000n,
    lots: 5n,
  });
  const outcome = await settleAsKeeper(
    env,
    [ask, bid, poor],
    [
      { makerIndex: 0n, takerIndex: 1n, lots: 3n },
      { makerIndex: 2n, takerIndex: 1n, lots: 2n },
    ],
  );
  return { env, outcome };
}

describe("sdk/actions: Traded and FillSkipped events", function () {
  it("parseSettlementLogs decodes a settle receipt into trades and skipped fills", async function () {
    const { env, outcome } = await loadFixture(settledFixture);
    expect(outcome.trades).to.have.lengthOf(1);
    const [trade] = outcome.trades;
    expect(trade).to.deep.include({
      marketId: 1n,
      makerOrder: { account: env.alice.address, nonce: 1n },
      takerOrder: { account: env.bob.address, nonce: 2n },
      makerIsBuy: false,
      priceTicks: 200_000n,
      lots: 3n,
      transactionHash: outcome.receipt.transactionHash,
    });
    expect(outcome.skippedFills).to.have.lengthOf(1);
    expect(outcome.skippedFills[0]).to.include({
      fillIndex: 1n,
      reason: SkipReason.MakerBalanceTooLow,
      reasonName: "MakerBalanceTooLow",
    });
  });

  it("getTrades and getSkippedFills read the same events from the chain, and getTrades filters by market", async function () {
    const { env, outcome } = await loadFixture(settledFixture);
    const { exchange } = env.addresses;
    expect(await getTrades(publicClient, { exchange })).to.deep.equal(outcome.trades);
    expect(await getTrades(publicClient, { exchange, marketId: 1n })).to.deep.equal(outcome.trades);
    expect(await getTrades(publicClient, { exchange, marketId: 2n })).to.deep.equal([]);
    expect(await getSkippedFills(publicClient, { exchange })).to.deep.equal(outcome.skippedFills);
    const before = outcome.receipt.blockNumber - 1n;
    expect(await getTrades(publicClient, { exchange, fromBlock: 0n, toBlock: before })).to.deep.equal([]);
  });
});
