/**
 * Regression, review finding 5: the price feed was called with all the remaining gas and its whole
 * answer copied, so a feed that burns gas or answers megabytes cost, or reverted, whole batches.
 * The call now gets a fixed allowance (`MarketConfig.FEED_GAS_LIMIT`, 100,000) and reads five words,
 * as the wallet check does: such a feed makes only its own market's fills skip
 * (`ReferencePriceUnavailable`), and a keeper that leaves the feed less than its allowance gets
 * `InsufficientGasForPriceFeed`.
 *
 *   fill 0: alice sells 1 lot to bob on market 1 (hostile feed, band 1%) — skipped
 *   fill 1: alice sells 1 lot to bob on market 2 (no band)               — executes
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { SkipReason } from "../../helpers/orders";
import { deployTwoMarkets, fill, outcomes, settleAs, signed } from "../support";

/** MockPriceFeed.Hostility, in order. */
const Hostility = { None: 0, BurnGas: 1, HugeData: 2, ShortData: 3 } as const;
/** What a batch of the two fills stays under, whatever the feed does with its allowance. */
const GAS_BOUND = 400_000n;

async function deployHostileFeed() {
  const env = await deployTwoMarkets();
  // $2,000.03 with 8 decimals: 200,003 ticks per lot on market 1.
  const feed = await ethers.deployContract("MockPriceFeed", [8, 200_003_000_000n]);
  await env.exchange.setPriceFeed(1n, feed, 3_600n);
  await env.exchange.setPriceBand(1n, 100n, 0n);
  const orders = [];
  for (const marketId of [1n, 2n]) {
    orders.push(await signed(env.alice, env.domain, { isBuy: false, nonce: marketId, marketId }));
    orders.push(await signed(env.bob, env.domain, { isBuy: true, nonce: marketId, marketId }));
  }
  return { ...env, feed, orders };
}

describe("regression: a price feed gets bounded gas and a fixed-size answer", function () {
  for (const [what, hostility] of [
    ["burns all its gas", Hostility.BurnGas],
    ["answers a megabyte", Hostility.HugeData],
    ["answers four words instead of five", Hostility.ShortData],
  ] as const) {
    it(`skips only the fills of a market whose feed ${what}, within bounded gas`, async function () {
      const { exchange, keeper, feed, orders } = await loadFixture(deployHostileFeed);
      await feed.setHostility(hostility);
      expect(await exchange.priceBounds(1n)).to.deep.equal([false, 0n, 0n]);
      const result = await outcomes(
        exchange,
        settleAs(exchange, keeper, orders, [fill(0, 1, 1n), fill(2, 3, 1n)], 10_000_000n),
      );
      expect(result.skipped).to.deep.equal([[0, SkipReason.ReferencePriceUnavailable]]);
      expect(result.traded.map((t) => t.marketId)).to.deep.equal([2n]);
      expect(result.gasUsed).to.be.lessThan(GAS_BOUND);
    });
  }

  it("reverts InsufficientGasForPriceFeed when the keeper leaves the feed less than its allowance", async function () {
    const { exchange, keeper, orders } = await loadFixture(deployHostileFeed);
    await expect(settleAs(exchange, keeper, orders, [fill(0, 1, 1n), fill(2, 3, 1n)], 110_000n))
      .to.be.revertedWithCustomError(exchange, "InsufficientGasForPriceFeed")
      .withArgs(0n, 1n);
    // With enough gas the same batch executes both fills: the feed answers.
    const result = await outcomes(exchange, settleAs(exchange, keeper, orders, [fill(0, 1, 1n), fill(2, 3, 1n)]));
    expect(result.traded.map((t) => t.marketId)).to.deep.equal([1n, 2n]);
  });
});
