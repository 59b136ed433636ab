/**
 * Regression, review finding 2 (low): market id `2^32-1` executed as an empty market.
 *
 * The id doubled as the "no market loaded" marker of `settle`'s market cache, so orders signed for
 * it ran as zero-value fills and emitted `Traded` for a market that does not exist. No value a signed
 * field can carry may act as a sentinel: every unlisted id, the largest and 0 included, reverts
 * `UnknownMarket`, whether its fill opens the batch or follows another market's.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { MAX_UINT32 } from "@crossbook/sdk";
import { signedPair, deployFunded, fill, settleAs, signed } from "../support";

describe("regression: no market id is a sentinel", function () {
  for (const marketId of [MAX_UINT32, MAX_UINT32 - 1n, 0n]) {
    it(`settle reverts UnknownMarket for market ${marketId}, as the first fill and after another market's`, async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, domain, alice, bob } = env;
      const { maker, taker } = await signedPair(env);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 2n, marketId });
      const bid = await signed(bob, domain, { isBuy: true, nonce: 2n, marketId });
      await expect(settleAs(exchange, keeper, [ask, bid], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "UnknownMarket")
        .withArgs(0n, marketId);
      await expect(settleAs(exchange, keeper, [maker, taker, ask, bid], [fill(0, 1, 1n), fill(2, 3, 1n)]))
        .to.be.revertedWithCustomError(exchange, "UnknownMarket")
        .withArgs(1n, marketId);
      expect(await exchange.filled(alice.address, 2n)).to.equal(0n);
    });
  }
});
