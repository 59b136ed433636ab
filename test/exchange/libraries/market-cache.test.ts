import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { SkipReason } from "../../helpers/orders";

const FEE_RECIPIENT = "0x00000000000000000000000000000000000000fe";

async function deployCache() {
  const marketConfig = await ethers.deployContract("MarketConfig");
  const factory = await ethers.getContractFactory("MarketCacheHarness", {
    libraries: { MarketConfig: await marketConfig.getAddress() },
  });
  const cache = await factory.deploy();
  const base = await ethers.deployContract("MockERC20", ["Base", "B", 18]);
  const quote = await ethers.deployContract("MockERC20", ["Quote", "Q", 6]);
  await cache.listMarket(base, quote, 10n ** 16n, 100n, 5n, 10n); // 1
  await cache.listMarket(quote, base, 1n, 1n, 0n, 0n); // 2
  return { cache, base, quote };
}

describe("MarketCache", function () {
  it("loads a market's parameters, with no limit flag on the common path", async function () {
    const { cache, base, quote } = await loadFixture(deployCache);
    const loaded = await cache.load.staticCall([1n]);
    expect([loaded.marketId, loaded.base, loaded.quote, loaded.lotSize, loaded.tickSize]).to.deep.equal([
      1n,
      await base.getAddress(),
      await quote.getAddress(),
      10n ** 16n,
      100n,
    ]);
    expect([loaded.makerFeeBps, loaded.takerFeeBps, loaded.riskFlags]).to.deep.equal([5n, 10n, 0n]);
  });

  it("reverts UnknownMarket for an unlisted id, 0 and the largest included, and MarketNotContiguous for a market loaded before", async function () {
    const { cache } = await loadFixture(deployCache);
    for (const id of [0n, 3n, 2n ** 32n - 1n]) {
      await expect(cache.load([id]))
        .to.be.revertedWithCustomError(cache, "UnknownMarket")
        .withArgs(0n, id);
    }
    await expect(cache.load([1n, 1n, 2n, 1n]))
      .to.be.revertedWithCustomError(cache, "MarketNotContiguous")
      .withArgs(3n, 1n);
  });

  it("checks halt, band and velocity in that order, and counts only executed trades against the velocity", async function () {
    const { cache } = await loadFixture(deployCache);
    await cache.setLimits(1n, false, 100n, 10_000n, 5n); // band [9_900, 10_100], 5 lots a block
    const reasons = await cache.trade.staticCall(
      1n,
      [9_899n, 10_000n, 10_100n, 10_000n],
      [1n, 3n, 2n, 1n],
      0n,
      FEE_RECIPIENT,
    );
    expect(reasons).to.deep.equal([
      BigInt(SkipReason.PriceOutsideBand),
      0n,
      0n,
      BigInt(SkipReason.VelocityLimitReached),
    ]);
    await cache.setLimits(1n, true, 100n, 0n, 5n);
    expect(await cache.trade.staticCall(1n, [10_000n], [1n], 0n, FEE_RECIPIENT)).to.deep.equal([
      BigInt(SkipReason.MarketHalted),
    ]);
  });

  it("writes back the last price, the block's lots and the fees once, when flushed", async function () {
    const { cache, quote } = await loadFixture(deployCache);
    await cache.setLimits(1n, false, 100n, 10_000n, 50n);
    await cache.trade(1n, [10_000n, 10_050n], [2n, 3n], 7n, FEE_RECIPIENT);
    const block = BigInt(await ethers.provider.getBlockNumber());
    expect([...(await cache.market(1n))]).to.deep.equal([10_050n, block, 5n]);
    expect(await cache.feesOf(FEE_RECIPIENT, quote)).to.equal(14n);
    await mine();
    // A new block counts from zero: 5 lots fit again, and the band moved to the last price.
    expect(await cache.trade.staticCall(1n, [10_100n], [5n], 0n, FEE_RECIPIENT)).to.deep.equal([0n]);
  });

  it("puts back the last price, the block's lots and the fees of a restored snapshot", async function () {
    const { cache, quote } = await loadFixture(deployCache);
    await cache.setLimits(1n, false, 100n, 10_000n, 50n);
    await cache.tradeAndRestore(1n, 10_050n, 3n, 9n);
    expect([...(await cache.market(1n))]).to.deep.equal([10_000n, 0n, 0n]);
    expect(await cache.feesOf(await cache.getAddress(), quote)).to.equal(0n);
  });

  it("computes exact base and quote amounts and rounds each fee down", async function () {
    const { cache } = await loadFixture(deployCache);
    // 7 lots at 200_003 ticks: 7 * 10^16 base, 140_002_100 quote; 5 bps 70_001.05 -> 70_001, 10 bps -> 140_002.
    expect(await cache.amounts.staticCall(1n, 7n, 200_003n)).to.deep.equal([
      7n * 10n ** 16n,
      140_002_100n,
      70_001n,
      140_002n,
    ]);
  });

  it("gives each side of a fill its leg: the buyer pays quote and its fee, the seller gets quote less its fee", async function () {
    const { cache } = await loadFixture(deployCache);
    const [maker, taker] = ["0x00000000000000000000000000000000000000a1", "0x00000000000000000000000000000000000000b2"];
    const order = (isBuy: boolean) => ({
      maker,
      marketId: 1n,
      isBuy,
      flags: 0n,
      maxFeeBps: 10n,
      expiry: 0n,
      nonce: 0n,
      priceTicks: 200_003n,
      lots: 7n,
    });
    const base = 7n * 10n ** 16n;
    // A buying maker pays its 5 bps fee; the selling taker gives up its 10 bps.
    expect([...(await cache.legs.staticCall(1n, order(true), taker, 7n))]).to.deep.equal([
      maker,
      taker,
      base,
      140_002_100n + 70_001n,
      140_002_100n - 140_002n,
    ]);
    expect([...(await cache.legs.staticCall(1n, order(false), taker, 7n))]).to.deep.equal([
      taker,
      maker,
      base,
      140_002_100n + 140_002n,
      140_002_100n - 70_001n,
    ]);
  });
});
