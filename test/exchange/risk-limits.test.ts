import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { LOT_SIZE } from "../helpers/fixture";
import { FILL_OR_KILL, MAX_UINT64, SkipReason, type Fill } from "../helpers/orders";
import {
  afterFirmness,
  balancesOf,
  deployTwoMarkets,
  FIRMNESS_DELAY,
  minedAt,
  windowLimitNow,
  expectOnlyMiddleSkipped,
  fill,
  fundWith,
  outcomes,
  PRICE,
  settleAs,
  signed,
  type Signed,
  type Trader,
} from "./support";

/** The two-market fixture (market 2: the same base against a second quote) plus a guardian. */
async function deployRisk() {
  const env = await deployTwoMarkets();
  const guardian = (await ethers.getSigners())[8];
  await env.exchange.grantRole(await env.exchange.GUARDIAN_ROLE(), guardian.address);
  return { ...env, guardian };
}

type RiskEnv = Awaited<ReturnType<typeof deployRisk>>;

/** One maker order of a batch built by `sells`: its lots and price (defaults: 1 lot at PRICE). */
interface Leg {
  lots?: bigint;
  price?: bigint;
}

interface TradeOptions {
  maker?: Trader;
  taker?: Trader;
  /** The taker's nonce, and the maker's first (its orders take `nonce`, `nonce + 1`, …). */
  nonce?: bigint;
  marketId?: bigint;
}

/**
 * `maker` (alice) sells one order per leg and `taker` (bob) buys them all with one bid whose limit
 * crosses every leg: fill `i` takes leg `i`'s lots at leg `i`'s price.
 */
async function sells(env: RiskEnv, legs: Leg[], options: TradeOptions = {}) {
  const { maker = env.alice, taker = env.bob, nonce = 1n, marketId = 1n } = options;
  const priced = legs.map((leg) => ({ lots: leg.lots ?? 1n, price: leg.price ?? PRICE }));
  const asks = await Promise.all(
    priced.map((leg, i) =>
      signed(maker, env.domain, {
        isBuy: false,
        nonce: nonce + BigInt(i),
        marketId,
        priceTicks: leg.price,
        lots: leg.lots,
      }),
    ),
  );
  const bid = await signed(taker, env.domain, {
    isBuy: true,
    nonce,
    marketId,
    priceTicks: priced.reduce((high, leg) => (leg.price > high ? leg.price : high), 0n),
    lots: priced.reduce((total, leg) => total + leg.lots, 0n),
  });
  return { orders: [...asks, bid], fills: priced.map((leg, i) => fill(i, priced.length, leg.lots)) };
}

/** Settles the batch of `sells` as the keeper and returns its outcomes. */
async function settleSells(env: RiskEnv, legs: Leg[], options: TradeOptions = {}) {
  const { orders, fills } = await sells(env, legs, options);
  return outcomes(env.exchange, settleAs(env.exchange, env.keeper, orders, fills));
}

/** `settleSells` with one lot at each of `prices`. */
function settleAtPrices(env: RiskEnv, prices: bigint[], options: TradeOptions = {}) {
  return settleSells(
    env,
    prices.map((price) => ({ price })),
    options,
  );
}

/** `settleSells` at PRICE with each of `lots`. */
function settleLots(env: RiskEnv, lots: bigint[], options: TradeOptions = {}) {
  return settleSells(
    env,
    lots.map((l) => ({ lots: l })),
    options,
  );
}

/** Alice sells one lot to bob on market 1 (fill 0) and on market 2 (fill 1), in one batch. */
async function oneFillPerMarket(env: RiskEnv, nonce: bigint) {
  const orders: Signed[] = [];
  for (const marketId of [1n, 2n]) {
    const n = nonce + marketId;
    orders.push(await signed(env.alice, env.domain, { isBuy: false, nonce: n, marketId }));
    orders.push(await signed(env.bob, env.domain, { isBuy: true, nonce: n, marketId }));
  }
  return outcomes(env.exchange, settleAs(env.exchange, env.keeper, orders, [fill(0, 1, 1n), fill(2, 3, 1n)]));
}

/** The internal balances of alice, bob, carol and dave in the base and both quotes. */
async function traderBalances(env: RiskEnv) {
  const accounts = [env.alice, env.bob, env.carol, env.dave].map((s) => s.address);
  const tokens = await Promise.all([env.base, env.quote, env.quote2].map((t) => t.getAddress()));
  return balancesOf(env.exchange, accounts, tokens);
}

/** Sends each batch as its own `settle` transaction and mines them all in one block. */
async function settleInOneBlock(env: RiskEnv, batches: { orders: Signed[]; fills: Fill[] }[]) {
  await network.provider.send("evm_setAutomine", [false]);
  const sent = [];
  try {
    for (const { orders, fills } of batches) {
      sent.push(await settleAs(env.exchange, env.keeper, orders, fills, 3_000_000n));
    }
    await network.provider.send("evm_mine", []);
  } finally {
    await network.provider.send("evm_setAutomine", [true]);
  }
  const receipts = await Promise.all(sent.map((tx) => tx.wait()));
  expect(new Set(receipts.map((r) => r?.blockNumber)).size).to.equal(1);
  return Promise.all(sent.map((tx) => outcomes(env.exchange, Promise.resolve(tx))));
}

/**
 * Every action a trader takes on its own account works (halted or paused): a withdrawal request and,
 * once in force, the withdrawal; cancel, cancelUpTo, setCancelAfter, setWindowLimit.
 */
async function expectTraderActionsWork(env: RiskEnv) {
  const { exchange, alice, quote } = env;
  await expect(exchange.connect(alice).requestWithdraw(quote, 1_000n)).to.emit(exchange, "WithdrawalRequested");
  await expect(exchange.connect(alice).cancel([7n])).to.emit(exchange, "OrderCancelled");
  await expect(exchange.connect(alice).cancelUpTo(5n)).to.emit(exchange, "NonceFloorRaised");
  await expect(exchange.connect(alice).setCancelAfter(1n)).to.emit(exchange, "CancelAfterChanged");
  await expect(exchange.connect(alice).setWindowLimit(1n, 5n, 60n)).to.emit(exchange, "WindowLimitChangeScheduled");
  await afterFirmness();
  await expect(exchange.connect(alice).withdraw(quote, 1_000n))
    .to.emit(exchange, "Withdrawn")
    .withArgs(alice.address, await quote.getAddress(), 1_000n);
  expect(await exchange.filled(alice.address, 7n)).to.equal(MAX_UINT64);
  expect(await exchange.minNonce(alice.address)).to.equal(5n);
}

const tradedPrices = (result: Awaited<ReturnType<typeof outcomes>>) => result.traded.map((t) => t.priceTicks);
const tradedLots = (result: Awaited<ReturnType<typeof outcomes>>) => result.traded.map((t) => t.lots);

const HOUR = 3_600n;
const DAY = 24n * HOUR;

// Feed answers, by hand. A feed answers the price of one whole base unit in whole quote units; in
// ticks per lot that is answer / 10^feedDecimals * (lotSize / 10^baseDecimals) * 10^quoteDecimals / tickSize.
//
// Market 1 (18-decimal base, 6-decimal quote, lot 10^16, tick 100) with an 8-decimal feed:
//   answer * 10^16 * 10^6 / (10^8 * 10^18 * 100) = answer / 10^6.
//   $2,000.035 = 200,003,500,000 -> 200,003.5 ticks per lot; a band of 100 bps is
//   [200,003.5 * 0.99, 200,003.5 * 1.01] = [198,003.465, 202,003.535] -> whole ticks [198,004, 202,003].
//   (A reference cut to 200,003 first would let 198,003 in; one rounded to 200,004 would let 202,004 in.)
const FEED_ANSWER_8 = 200_003_500_000n;
const FEED_LOW = 198_004n;
const FEED_HIGH = 202_003n;
// The same price from an 18-decimal feed: answer * 10^22 / (10^18 * 10^18 * 100) = answer / 10^16.
const FEED_ANSWER_18 = 2_000_035n * 10n ** 15n;
//
// Market 3 (6-decimal base, 18-decimal quote, lot 500,000 = half a unit, tick 10^15 = 0.001 quote)
// with an 8-decimal feed: answer * 500,000 * 10^18 / (10^8 * 10^6 * 10^15) = answer * 5 / 10^8.
//   $12.3456789 = 1,234,567,890 -> 6,172.83945 ticks per lot; a band of 250 bps is
//   [6,172.83945 * 0.975, 6,172.83945 * 1.025] = [6,018.51846375, 6,327.16043625] -> [6,019, 6,327].
const M3_LOT_SIZE = 500_000n;
const M3_TICK_SIZE = 10n ** 15n;
const M3_FEED_ANSWER = 1_234_567_890n;
const M3_LOW = 6_019n;
const M3_HIGH = 6_327n;

/** The risk fixture plus an 8-decimal feed on market 1 (band 100 bps, max age 1 hour) and market 3. */
async function deployFeeds() {
  const env = await deployRisk();
  const { exchange, alice, bob } = env;
  const feed = await ethers.deployContract("MockPriceFeed", [8, FEED_ANSWER_8]);
  await exchange.setPriceFeed(1n, feed, HOUR);
  await exchange.setPriceBand(1n, 100n, 0n);

  const base3 = await ethers.deployContract("MockERC20", ["Six", "SIX", 6]);
  const quote3 = await ethers.deployContract("MockERC20", ["Dai", "DAI", 18]);
  await exchange.listMarket(base3, quote3, M3_LOT_SIZE, M3_TICK_SIZE, 0n, 0n);
  await fundWith(exchange, base3, alice, 100n * M3_LOT_SIZE);
  await fundWith(exchange, quote3, bob, 10n ** 24n);
  const feed3 = await ethers.deployContract("MockPriceFeed", [8, M3_FEED_ANSWER]);
  await exchange.setPriceFeed(3n, feed3, HOUR);
  await exchange.setPriceBand(3n, 250n, 0n);
  return { ...env, feed, feed3, base3, quote3 };
}

describe("Exchange risk limits", function () {
  describe("price band around the last price", function () {
    /** Market 1 with a band of 100 bps around 10,000 ticks: [9,900, 10,100]. */
    async function deployBand() {
      const env = await deployRisk();
      await env.exchange.setPriceBand(1n, 100n, 10_000n);
      return env;
    }

    it("executes fills priced exactly at the band's bounds", async function () {
      const env = await loadFixture(deployBand);
      const result = await settleAtPrices(env, [9_900n, 10_100n]);
      expect(result.skipped).to.deep.equal([]);
      expect(tradedPrices(result)).to.deep.equal([9_900n, 10_100n]);
    });

    it("skips a fill one tick below or above the band with PriceOutsideBand and moves no funds", async function () {
      const env = await loadFixture(deployBand);
      const before = await traderBalances(env);
      const result = await settleAtPrices(env, [9_899n, 10_101n]);
      expect(result.skipped).to.deep.equal([
        [0, SkipReason.PriceOutsideBand],
        [1, SkipReason.PriceOutsideBand],
      ]);
      expect(result.traded).to.deep.equal([]);
      expect(await traderBalances(env)).to.deep.equal(before);
    });

    it("in a batch mixing prices inside and outside the band, executes exactly the fills inside", async function () {
      const env = await loadFixture(deployBand);
      const { exchange, alice, base } = env;
      const baseBefore = await exchange.balanceOf(alice.address, base);
      const result = await settleAtPrices(env, [10_100n, 10_101n, 9_900n, 9_899n, 10_000n]);
      expect(result.skipped).to.deep.equal([
        [1, SkipReason.PriceOutsideBand],
        [3, SkipReason.PriceOutsideBand],
      ]);
      expect(tradedPrices(result)).to.deep.equal([10_100n, 9_900n, 10_000n]);
      expect(await exchange.balanceOf(alice.address, base)).to.equal(baseBefore - 3n * LOT_SIZE);
    });

    it("rounds a non-integer lower bound up and a non-integer upper bound down", async function () {
      const env = await loadFixture(deployBand);
      // 10,001 * 0.99 = 9,900.99 and 10,001 * 1.01 = 10,101.01.
      await env.exchange.setPriceBand(1n, 100n, 10_001n);
      expect(await env.exchange.priceBounds(1n)).to.deep.equal([true, 9_901n, 10_101n]);
      const result = await settleAtPrices(env, [9_900n, 9_901n, 10_101n, 10_102n]);
      expect(tradedPrices(result)).to.deep.equal([9_901n, 10_101n]);
      expect(result.skipped).to.deep.equal([
        [0, SkipReason.PriceOutsideBand],
        [3, SkipReason.PriceOutsideBand],
      ]);
    });

    it("judges every fill of a call against the price from before the call", async function () {
      const env = await loadFixture(deployBand);
      // 10,101 would be inside a band around 10,100, the first fill's price.
      const result = await settleAtPrices(env, [10_100n, 10_101n]);
      expect(tradedPrices(result)).to.deep.equal([10_100n]);
      expect(result.skipped).to.deep.equal([[1, SkipReason.PriceOutsideBand]]);
    });

    it("moves the reference to the call's last executed price from the next call on", async function () {
      const env = await loadFixture(deployBand);
      const { exchange } = env;
      await settleAtPrices(env, [10_050n, 10_100n, 10_101n], { nonce: 1n });
      const [, , , , , lastPriceTicks] = await exchange.riskLimits(1n);
      expect(lastPriceTicks).to.equal(10_100n); // the skipped 10,101 is not a settled price
      // Around 10,100: [9,999, 10,201].
      expect(await exchange.priceBounds(1n)).to.deep.equal([true, 9_999n, 10_201n]);
      const result = await settleAtPrices(env, [10_201n, 10_202n, 9_999n, 9_998n], { nonce: 10n });
      expect(tradedPrices(result)).to.deep.equal([10_201n, 9_999n]);
      expect(result.skipped).to.deep.equal([
        [1, SkipReason.PriceOutsideBand],
        [3, SkipReason.PriceOutsideBand],
      ]);
    });

    it("reverts setPriceBand with NoReferencePrice when the market has neither a last price nor a feed", async function () {
      const { exchange } = await loadFixture(deployRisk);
      await expect(exchange.setPriceBand(1n, 100n, 0n))
        .to.be.revertedWithCustomError(exchange, "NoReferencePrice")
        .withArgs(1n);
      await expect(exchange.setPriceBand(1n, 0n, 0n)).to.emit(exchange, "PriceBandChanged");
    });

    it("keeps the last price as reference when setPriceBand is given 0", async function () {
      const env = await loadFixture(deployBand);
      await expect(env.exchange.setPriceBand(1n, 200n, 0n))
        .to.emit(env.exchange, "PriceBandChanged")
        .withArgs(1n, 100n, 200n, 10_000n, 10_000n);
      expect(await env.exchange.priceBounds(1n)).to.deep.equal([true, 9_800n, 10_200n]);
    });

    it("turns the band off with 0 bps, so that any price fills", async function () {
      const env = await loadFixture(deployBand);
      await env.exchange.setPriceBand(1n, 0n, 0n);
      expect(await env.exchange.priceBounds(1n)).to.deep.equal([true, 0n, MAX_UINT64]);
      const result = await settleAtPrices(env, [1n, 1_000_000n]);
      expect(result.skipped).to.deep.equal([]);
      expect(tradedPrices(result)).to.deep.equal([1n, 1_000_000n]);
    });

    it("reverts InvalidPriceBand above 10,000 bps and accepts 10,000", async function () {
      const { exchange } = await loadFixture(deployRisk);
      await expect(exchange.setPriceBand(1n, 10_001n, 10_000n))
        .to.be.revertedWithCustomError(exchange, "InvalidPriceBand")
        .withArgs(10_001n);
      await exchange.setPriceBand(1n, 10_000n, 10_000n);
      expect(await exchange.priceBounds(1n)).to.deep.equal([true, 0n, 20_000n]);
    });

    it("reverts setPriceBand for a market that is not listed", async function () {
      const { exchange } = await loadFixture(deployRisk);
      await expect(exchange.setPriceBand(3n, 100n, 10_000n))
        .to.be.revertedWithCustomError(exchange, "MarketNotListed")
        .withArgs(3n);
    });
  });

  describe("price band around a feed", function () {
    it("converts an 8-decimal feed exactly into ticks on the 18/6-decimal market, as settle enforces", async function () {
      const env = await loadFixture(deployFeeds);
      expect(await env.exchange.priceBounds(1n)).to.deep.equal([true, FEED_LOW, FEED_HIGH]);
      const result = await settleAtPrices(env, [FEED_LOW - 1n, FEED_LOW, FEED_HIGH, FEED_HIGH + 1n]);
      expect(tradedPrices(result)).to.deep.equal([FEED_LOW, FEED_HIGH]);
      expect(result.skipped).to.deep.equal([
        [0, SkipReason.PriceOutsideBand],
        [3, SkipReason.PriceOutsideBand],
      ]);
    });

    it("converts a feed exactly into ticks on a market with other decimals and sizes, as settle enforces", async function () {
      const env = await loadFixture(deployFeeds);
      expect(await env.exchange.priceBounds(3n)).to.deep.equal([true, M3_LOW, M3_HIGH]);
      const result = await settleAtPrices(env, [M3_LOW - 1n, M3_LOW, M3_HIGH, M3_HIGH + 1n], { marketId: 3n });
      expect(tradedPrices(result)).to.deep.equal([M3_LOW, M3_HIGH]);
      expect(result.skipped).to.deep.equal([
        [0, SkipReason.PriceOutsideBand],
        [3, SkipReason.PriceOutsideBand],
      ]);
      expect(await env.exchange.balanceOf(env.bob.address, env.base3)).to.equal(2n * M3_LOT_SIZE);
    });

    it("gives the same bounds for the same price from an 18-decimal feed", async function () {
      const env = await loadFixture(deployFeeds);
      const feed18 = await ethers.deployContract("MockPriceFeed", [18, FEED_ANSWER_18]);
      await env.exchange.setPriceFeed(1n, feed18, HOUR);
      expect(await env.exchange.priceBounds(1n)).to.deep.equal([true, FEED_LOW, FEED_HIGH]);
    });

    it("reverts setPriceFeed with UnsupportedDecimals for a feed or a token above 18 decimals", async function () {
      const env = await loadFixture(deployFeeds);
      const { exchange } = env;
      const feed19 = await ethers.deployContract("MockPriceFeed", [19, FEED_ANSWER_18 * 10n]);
      await expect(exchange.setPriceFeed(1n, feed19, HOUR))
        .to.be.revertedWithCustomError(exchange, "UnsupportedDecimals")
        .withArgs(19n, 18n, 6n);
      const base19 = await ethers.deployContract("MockERC20", ["Nineteen", "N19", 19]);
      await exchange.listMarket(base19, env.quote, 1n, 1n, 0n, 0n);
      await expect(exchange.setPriceFeed(4n, env.feed, HOUR))
        .to.be.revertedWithCustomError(exchange, "UnsupportedDecimals")
        .withArgs(8n, 19n, 6n);
    });

    it("treats an answer exactly maxAge old as fresh and one a second older as stale", async function () {
      const env = await loadFixture(deployFeeds);
      const { orders } = await sells(env, [{ lots: 2n }]);
      const updatedAt = BigInt(await time.latest()) + 10n;
      await env.feed.setAnswerAt(FEED_ANSWER_8, updatedAt);

      await time.setNextBlockTimestamp(updatedAt + HOUR);
      const fresh = await outcomes(env.exchange, settleAs(env.exchange, env.keeper, orders, [fill(0, 1, 1n)]));
      expect(fresh.skipped).to.deep.equal([]);
      expect(fresh.traded).to.have.length(1);

      await time.setNextBlockTimestamp(updatedAt + HOUR + 1n);
      const stale = await outcomes(env.exchange, settleAs(env.exchange, env.keeper, orders, [fill(0, 1, 1n)]));
      expect(stale.skipped).to.deep.equal([[0, SkipReason.ReferencePriceUnavailable]]);
      expect(stale.traded).to.deep.equal([]);
      expect(await env.exchange.priceBounds(1n)).to.deep.equal([false, 0n, 0n]);
    });

    for (const [what, answer] of [
      ["zero", 0n],
      ["negative", -FEED_ANSWER_8],
    ] as const) {
      it(`skips every fill with ReferencePriceUnavailable while the feed's answer is ${what}`, async function () {
        const env = await loadFixture(deployFeeds);
        await env.feed.setAnswer(answer);
        expect(await env.exchange.priceBounds(1n)).to.deep.equal([false, 0n, 0n]);
        const before = await traderBalances(env);
        const result = await settleAtPrices(env, [FEED_LOW, 200_003n]);
        expect(result.skipped).to.deep.equal([
          [0, SkipReason.ReferencePriceUnavailable],
          [1, SkipReason.ReferencePriceUnavailable],
        ]);
        expect(await traderBalances(env)).to.deep.equal(before);
      });
    }

    it("skips a market whose feed reverts while another market's fills in the same batch execute", async function () {
      const env = await loadFixture(deployFeeds);
      await env.feed.setReverting(true);
      expect(await env.exchange.priceBounds(1n)).to.deep.equal([false, 0n, 0n]);
      // Market 2 has no band; PRICE is inside market 1's feed band, so only the feed stops fill 0.
      const result = await oneFillPerMarket(env, 1n);
      expect(result.skipped).to.deep.equal([[0, SkipReason.ReferencePriceUnavailable]]);
      expect(result.traded.map((t) => t.marketId)).to.deep.equal([2n]);
      await env.feed.setReverting(false);
      expect((await oneFillPerMarket(env, 10n)).traded.map((t) => t.marketId)).to.deep.equal([1n, 2n]);
    });

    it("treats an answer from the future as unavailable and one from this very second as fresh", async function () {
      const env = await loadFixture(deployFeeds);
      const { orders } = await sells(env, [{ lots: 2n }]);
      const now = BigInt(await time.latest()) + 10n;
      await env.feed.setAnswerAt(FEED_ANSWER_8, now + 1n);
      await time.setNextBlockTimestamp(now);
      const future = await outcomes(env.exchange, settleAs(env.exchange, env.keeper, orders, [fill(0, 1, 1n)]));
      expect(future.skipped).to.deep.equal([[0, SkipReason.ReferencePriceUnavailable]]);
      await time.setNextBlockTimestamp(now + 1n);
      const current = await outcomes(env.exchange, settleAs(env.exchange, env.keeper, orders, [fill(0, 1, 1n)]));
      expect(current.skipped).to.deep.equal([]);
      expect(current.traded).to.have.length(1);
    });

    it("falls back to the last settled price when the feed is removed", async function () {
      const env = await loadFixture(deployFeeds);
      const { exchange } = env;
      // Settles at 200,000 (inside the feed's band), which becomes the last price.
      await settleAtPrices(env, [200_000n], { nonce: 1n });
      // Inside the last price's band [198,000, 202,000] but outside the feed's: 198,000.
      expect((await settleAtPrices(env, [198_000n], { nonce: 10n })).skipped).to.deep.equal([
        [0, SkipReason.PriceOutsideBand],
      ]);
      await expect(exchange.setPriceFeed(1n, ethers.ZeroAddress, 0n))
        .to.emit(exchange, "PriceFeedChanged")
        .withArgs(1n, await env.feed.getAddress(), ethers.ZeroAddress, HOUR, 0n);
      expect(await exchange.priceBounds(1n)).to.deep.equal([true, 198_000n, 202_000n]);
      // A failing feed no longer matters.
      await env.feed.setReverting(true);
      const result = await settleAtPrices(env, [198_000n, 197_999n], { nonce: 20n });
      expect(tradedPrices(result)).to.deep.equal([198_000n]);
      expect(result.skipped).to.deep.equal([[1, SkipReason.PriceOutsideBand]]);
    });

    it("lets a band be set without a reference price on a market with a feed, but not the feed be removed then", async function () {
      const env = await loadFixture(deployFeeds);
      // Market 3 has never settled: its band rests on the feed alone.
      const [, , , , , lastPriceTicks] = await env.exchange.riskLimits(3n);
      expect(lastPriceTicks).to.equal(0n);
      await expect(env.exchange.setPriceFeed(3n, ethers.ZeroAddress, 0n))
        .to.be.revertedWithCustomError(env.exchange, "NoReferencePrice")
        .withArgs(3n);
    });

    it("ignores the feed while the market has no band", async function () {
      const env = await loadFixture(deployFeeds);
      await env.exchange.setPriceBand(1n, 0n, 0n);
      await env.feed.setReverting(true);
      const result = await settleAtPrices(env, [1n, PRICE * 10n]);
      expect(result.skipped).to.deep.equal([]);
      expect(result.traded).to.have.length(2);
    });

    it("reports the feed and its maximum age in riskLimits", async function () {
      const env = await loadFixture(deployFeeds);
      const [halted, bandBps, maxLotsPerBlock, feed, feedMaxAgeSeconds] = await env.exchange.riskLimits(1n);
      expect([halted, bandBps, maxLotsPerBlock, feed, feedMaxAgeSeconds]).to.deep.equal([
        false,
        100n,
        0n,
        await env.feed.getAddress(),
        HOUR,
      ]);
    });
  });

  describe("velocity", function () {
    /** Market 1 limited to 10 lots per block. */
    async function deployVelocity() {
      const env = await deployRisk();
      await env.exchange.setVelocityLimit(1n, 10n);
      return env;
    }

    it("fills exactly maxLotsPerBlock lots in one call and skips the next lot with VelocityLimitReached", async function () {
      const env = await loadFixture(deployVelocity);
      const result = await settleLots(env, [4n, 6n, 1n]);
      expect(tradedLots(result)).to.deep.equal([4n, 6n]);
      expect(result.skipped).to.deep.equal([[2, SkipReason.VelocityLimitReached]]);
      const [, , maxLotsPerBlock, , , , lotsThisBlock] = await env.exchange.riskLimits(1n);
      expect([maxLotsPerBlock, lotsThisBlock]).to.deep.equal([10n, 10n]);
    });

    it("in a batch mixing fills that fit and fills that do not, executes exactly those that fit", async function () {
      const env = await loadFixture(deployVelocity);
      const { exchange, alice, base } = env;
      const baseBefore = await exchange.balanceOf(alice.address, base);
      // 4 fits (4), 7 would make 11, 6 fits (10), 1 would make 11.
      const result = await settleLots(env, [4n, 7n, 6n, 1n]);
      expect(tradedLots(result)).to.deep.equal([4n, 6n]);
      expect(result.skipped).to.deep.equal([
        [1, SkipReason.VelocityLimitReached],
        [3, SkipReason.VelocityLimitReached],
      ]);
      expect(await exchange.balanceOf(alice.address, base)).to.equal(baseBefore - 10n * LOT_SIZE);
    });

    it("counts the lots of two settle calls in the same block together", async function () {
      const env = await loadFixture(deployVelocity);
      const first = await sells(env, [{ lots: 6n }], { nonce: 1n });
      const second = await sells(env, [{ lots: 4n }, { lots: 1n }], { nonce: 10n });
      const [a, b] = await settleInOneBlock(env, [first, second]);
      expect(tradedLots(a)).to.deep.equal([6n]);
      expect(tradedLots(b)).to.deep.equal([4n]);
      expect(b.skipped).to.deep.equal([[1, SkipReason.VelocityLimitReached]]);
      const [, , , , , , lotsThisBlock] = await env.exchange.riskLimits(1n);
      expect(lotsThisBlock).to.equal(10n);
    });

    it("starts counting afresh in the next block", async function () {
      const env = await loadFixture(deployVelocity);
      expect(tradedLots(await settleLots(env, [10n], { nonce: 1n }))).to.deep.equal([10n]);
      await mine();
      const [, , , , , , lotsThisBlock] = await env.exchange.riskLimits(1n);
      expect(lotsThisBlock).to.equal(0n);
      const result = await settleLots(env, [10n, 1n], { nonce: 10n });
      expect(tradedLots(result)).to.deep.equal([10n]);
      expect(result.skipped).to.deep.equal([[1, SkipReason.VelocityLimitReached]]);
    });

    it("limits only its own market", async function () {
      const env = await loadFixture(deployVelocity);
      await settleLots(env, [10n], { nonce: 1n });
      expect(tradedLots(await settleLots(env, [50n], { nonce: 10n, marketId: 2n }))).to.deep.equal([50n]);
    });

    it("stops limiting when set back to 0", async function () {
      const env = await loadFixture(deployVelocity);
      await env.exchange.setVelocityLimit(1n, 0n);
      expect(tradedLots(await settleLots(env, [50n, 50n]))).to.deep.equal([50n, 50n]);
    });
  });

  describe("halt", function () {
    async function deployHalted() {
      const env = await deployRisk();
      await env.exchange.connect(env.guardian).haltMarket(1n);
      return env;
    }

    it("skips the halted market's fills with MarketHalted while another market's fills in the batch execute", async function () {
      const env = await loadFixture(deployHalted);
      const before = await traderBalances(env);
      const result = await oneFillPerMarket(env, 1n);
      expect(result.skipped).to.deep.equal([[0, SkipReason.MarketHalted]]);
      expect(result.traded.map((t) => t.marketId)).to.deep.equal([2n]);
      const after = await traderBalances(env);
      expect(after[0][1]).to.equal(before[0][1]); // alice's quote of market 1
      expect(after[0][2]).to.be.greaterThan(before[0][2]); // alice's quote of market 2
      const [halted] = await env.exchange.riskLimits(1n);
      expect(halted).to.equal(true);
    });

    it("keeps deposit, withdrawal requests and withdraw, cancel, cancelUpTo and the account limits working", async function () {
      const env = await loadFixture(deployHalted);
      const { exchange, alice, quote } = env;
      await quote.mint(alice.address, 1_000n);
      await quote.connect(alice).approve(exchange, 1_000n);
      await expect(exchange.connect(alice).deposit(quote, 1_000n)).to.emit(exchange, "Deposited");
      await expectTraderActionsWork(env);
    });

    it("lets the admin resume the market, after which its fills execute again", async function () {
      const env = await loadFixture(deployHalted);
      await expect(env.exchange.resumeMarket(1n)).to.emit(env.exchange, "MarketHaltChanged").withArgs(1n, true, false);
      const result = await oneFillPerMarket(env, 1n);
      expect(result.skipped).to.deep.equal([]);
      expect(result.traded.map((t) => t.marketId)).to.deep.equal([1n, 2n]);
    });

    it("reverts NoStateChange when halting a halted market or resuming a running one", async function () {
      const env = await loadFixture(deployHalted);
      const { exchange, guardian } = env;
      await expect(exchange.connect(guardian).haltMarket(1n)).to.be.revertedWithCustomError(exchange, "NoStateChange");
      await expect(exchange.resumeMarket(2n)).to.be.revertedWithCustomError(exchange, "NoStateChange");
    });

    it("reverts MarketNotListed for a market that is not listed", async function () {
      const env = await loadFixture(deployRisk);
      await expect(env.exchange.connect(env.guardian).haltMarket(3n))
        .to.be.revertedWithCustomError(env.exchange, "MarketNotListed")
        .withArgs(3n);
    });
  });

  describe("pause", function () {
    async function deployPaused() {
      const env = await deployRisk();
      await env.exchange.connect(env.guardian).pause();
      return env;
    }

    it("makes settle and deposit revert EnforcedPause", async function () {
      const env = await loadFixture(deployPaused);
      const { exchange, alice, quote } = env;
      expect(await exchange.paused()).to.equal(true);
      const { orders, fills } = await sells(env, [{}]);
      await expect(settleAs(exchange, env.keeper, orders, fills)).to.be.revertedWithCustomError(
        exchange,
        "EnforcedPause",
      );
      await quote.mint(alice.address, 1_000n);
      await quote.connect(alice).approve(exchange, 1_000n);
      await expect(exchange.connect(alice).deposit(quote, 1_000n)).to.be.revertedWithCustomError(
        exchange,
        "EnforcedPause",
      );
    });

    it("keeps withdrawal requests and withdraw, cancel, cancelUpTo and the account limits working", async function () {
      await expectTraderActionsWork(await loadFixture(deployPaused));
    });

    it("lets the admin unpause, after which settle and deposit work again", async function () {
      const env = await loadFixture(deployPaused);
      const { exchange, alice, quote } = env;
      await expect(exchange.unpause()).to.emit(exchange, "PauseChanged").withArgs(true, false);
      expect(await exchange.paused()).to.equal(false);
      expect((await settleLots(env, [1n])).traded).to.have.length(1);
      await quote.mint(alice.address, 1_000n);
      await quote.connect(alice).approve(exchange, 1_000n);
      await expect(exchange.connect(alice).deposit(quote, 1_000n)).to.emit(exchange, "Deposited");
    });

    it("reverts NoStateChange when pausing twice or unpausing what is not paused", async function () {
      const env = await loadFixture(deployPaused);
      await expect(env.exchange.connect(env.guardian).pause()).to.be.revertedWithCustomError(
        env.exchange,
        "NoStateChange",
      );
      await env.exchange.unpause();
      await expect(env.exchange.unpause()).to.be.revertedWithCustomError(env.exchange, "NoStateChange");
    });
  });

  describe("cancel-after", function () {
    it("fills an order while block.timestamp equals its maker's deadline", async function () {
      const env = await loadFixture(deployRisk);
      const deadline = BigInt(await time.latest()) + 100n;
      await env.exchange.connect(env.alice).setCancelAfter(deadline);
      await time.setNextBlockTimestamp(deadline);
      const result = await settleLots(env, [1n]);
      expect(result.skipped).to.deep.equal([]);
      expect(result.traded).to.have.length(1);
    });

    it("skips the maker's fill one second after its deadline with MakerCancelAfterPassed", async function () {
      const env = await loadFixture(deployRisk);
      const deadline = BigInt(await time.latest()) + 100n;
      await env.exchange.connect(env.alice).setCancelAfter(deadline);
      const ask = await signed(env.alice, env.domain, { isBuy: false, nonce: 1n });
      const bid = await signed(env.bob, env.domain, { isBuy: true, nonce: 1n });
      await time.setNextBlockTimestamp(deadline + 1n);
      await expectOnlyMiddleSkipped(env, ask, bid, SkipReason.MakerCancelAfterPassed);
    });

    it("skips the taker's fill one second after its deadline with TakerCancelAfterPassed", async function () {
      const env = await loadFixture(deployRisk);
      const deadline = BigInt(await time.latest()) + 100n;
      await env.exchange.connect(env.alice).setCancelAfter(deadline);
      const ask = await signed(env.bob, env.domain, { isBuy: false, nonce: 1n });
      const bid = await signed(env.alice, env.domain, { isBuy: true, nonce: 1n });
      await time.setNextBlockTimestamp(deadline + 1n);
      await expectOnlyMiddleSkipped(env, ask, bid, SkipReason.TakerCancelAfterPassed);
    });

    it("fills again once the account turns the switch off with 0", async function () {
      const env = await loadFixture(deployRisk);
      const { exchange, alice } = env;
      const deadline = BigInt(await time.latest()) + 100n;
      await exchange.connect(alice).setCancelAfter(deadline);
      await time.increaseTo(deadline + 1n);
      expect((await settleLots(env, [1n], { nonce: 1n })).skipped).to.deep.equal([
        [0, SkipReason.MakerCancelAfterPassed],
      ]);
      await expect(exchange.connect(alice).setCancelAfter(0n))
        .to.emit(exchange, "CancelAfterChanged")
        .withArgs(alice.address, deadline, 0n);
      expect((await settleLots(env, [1n], { nonce: 10n })).traded).to.have.length(1);
    });

    it("fills again once the account renews its deadline, until the new deadline passes", async function () {
      const env = await loadFixture(deployRisk);
      const { exchange, alice } = env;
      const deadline = BigInt(await time.latest()) + 100n;
      await exchange.connect(alice).setCancelAfter(deadline);
      await time.increaseTo(deadline + 1n);
      const renewed = deadline + 60n;
      await expect(exchange.connect(alice).setCancelAfter(renewed))
        .to.emit(exchange, "CancelAfterChanged")
        .withArgs(alice.address, deadline, renewed);
      expect(await exchange.cancelAfter(alice.address)).to.equal(renewed);
      await time.setNextBlockTimestamp(renewed);
      expect((await settleLots(env, [1n], { nonce: 1n })).traded).to.have.length(1);
      await time.setNextBlockTimestamp(renewed + 1n);
      expect((await settleLots(env, [1n], { nonce: 10n })).skipped).to.deep.equal([
        [0, SkipReason.MakerCancelAfterPassed],
      ]);
    });

    it("emits CancelAfterChanged from 0 for a first deadline and reports it in cancelAfter", async function () {
      const { exchange, alice, bob } = await loadFixture(deployRisk);
      const deadline = BigInt(await time.latest()) + DAY;
      await expect(exchange.connect(alice).setCancelAfter(deadline))
        .to.emit(exchange, "CancelAfterChanged")
        .withArgs(alice.address, 0n, deadline);
      expect(await exchange.cancelAfter(alice.address)).to.equal(deadline);
      expect(await exchange.cancelAfter(bob.address)).to.equal(0n);
    });

    it("stores a deadline less than the firmness delay ahead as the delay's last second, and keeps an earlier one", async function () {
      const { exchange, alice } = await loadFixture(deployRisk);
      const tx = exchange.connect(alice).setCancelAfter(1n); // in the past: stop at once, were it not for the delay
      const firmUntil = (await minedAt(tx)) + FIRMNESS_DELAY - 1n;
      await expect(tx).to.emit(exchange, "CancelAfterChanged").withArgs(alice.address, 0n, firmUntil);
      // Earlier again: the deadline already in force comes first, and stays.
      await expect(exchange.connect(alice).setCancelAfter(2n))
        .to.emit(exchange, "CancelAfterChanged")
        .withArgs(alice.address, firmUntil, firmUntil);
      // Later is a loosening: at once.
      await expect(exchange.connect(alice).setCancelAfter(firmUntil + DAY))
        .to.emit(exchange, "CancelAfterChanged")
        .withArgs(alice.address, firmUntil, firmUntil + DAY);
    });
  });

  describe("window limit", function () {
    it("fills up to the maker's cap within a window and skips the lot beyond with MakerWindowLimitReached", async function () {
      const env = await loadFixture(deployRisk);
      await windowLimitNow(env.exchange, env.alice, 1n, 10n, HOUR);
      const result = await settleLots(env, [4n, 6n, 1n]);
      expect(tradedLots(result)).to.deep.equal([4n, 6n]);
      expect(result.skipped).to.deep.equal([[2, SkipReason.MakerWindowLimitReached]]);
    });

    it("in a batch mixing fills that fit and fills that do not, executes exactly those that fit", async function () {
      const env = await loadFixture(deployRisk);
      const { exchange, alice, base } = env;
      await windowLimitNow(exchange, alice, 1n, 10n, HOUR);
      const baseBefore = await exchange.balanceOf(alice.address, base);
      const result = await settleLots(env, [4n, 7n, 6n, 1n]);
      expect(tradedLots(result)).to.deep.equal([4n, 6n]);
      expect(result.skipped).to.deep.equal([
        [1, SkipReason.MakerWindowLimitReached],
        [3, SkipReason.MakerWindowLimitReached],
      ]);
      expect(await exchange.balanceOf(alice.address, base)).to.equal(baseBefore - 10n * LOT_SIZE);
    });

    it("skips the taker's fill beyond its cap with TakerWindowLimitReached", async function () {
      const env = await loadFixture(deployRisk);
      await windowLimitNow(env.exchange, env.alice, 1n, 10n, HOUR);
      // Bob sells to alice: alice is the taker.
      const result = await settleLots(env, [4n, 6n, 1n], { maker: env.bob, taker: env.alice });
      expect(tradedLots(result)).to.deep.equal([4n, 6n]);
      expect(result.skipped).to.deep.equal([[2, SkipReason.TakerWindowLimitReached]]);
    });

    it("allows again in a new window starting windowSeconds after the first fill of the last one", async function () {
      const env = await loadFixture(deployRisk);
      const { exchange, alice, keeper, domain } = env;
      await windowLimitNow(exchange, alice, 1n, 5n, HOUR);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n, lots: 20n });
      const bid = await signed(env.bob, domain, { isBuy: true, nonce: 1n, lots: 20n });
      const start = BigInt(await time.latest()) + 10n;
      const settleAt = async (timestamp: bigint, lots: bigint) => {
        await time.setNextBlockTimestamp(timestamp);
        return outcomes(exchange, settleAs(exchange, keeper, [ask, bid], [fill(0, 1, lots)]));
      };
      expect((await settleAt(start, 5n)).traded).to.have.length(1);
      expect((await settleAt(start + HOUR - 1n, 1n)).skipped).to.deep.equal([[0, SkipReason.MakerWindowLimitReached]]);
      expect((await settleAt(start + HOUR, 5n)).traded).to.have.length(1);
      const [, , windowStart, usedLots] = await exchange.windowLimit(alice.address, 1n);
      expect([windowStart, usedLots]).to.deep.equal([start + HOUR, 5n]);
    });

    it("reports the limit, its current window and usage in windowLimit", async function () {
      const env = await loadFixture(deployRisk);
      const { exchange, alice } = env;
      await windowLimitNow(exchange, alice, 1n, 10n, HOUR);
      expect(await exchange.windowLimit(alice.address, 1n)).to.deep.equal([10n, HOUR, 0n, 0n, 0n, 0n, 0n]);
      const startedAt = await minedAt(
        sells(env, [{ lots: 3n }]).then(({ orders, fills }) => settleAs(exchange, env.keeper, orders, fills)),
      );
      expect(await exchange.windowLimit(alice.address, 1n)).to.deep.equal([10n, HOUR, startedAt, 3n, 0n, 0n, 0n]);
      expect(await exchange.windowLimit(env.bob.address, 1n)).to.deep.equal([0n, 0n, 0n, 0n, 0n, 0n, 0n]);
    });

    it("shows in windowLimit a window that ended as closed, and a loosening that fell due as applied", async function () {
      const env = await loadFixture(deployRisk);
      const { exchange, alice } = env;
      await windowLimitNow(exchange, alice, 1n, 10n, HOUR);
      await settleLots(env, [3n], { nonce: 1n });
      await exchange.connect(alice).setWindowLimit(1n, 20n, HOUR); // a loosening: pending
      const pending = await exchange.windowLimit(alice.address, 1n);
      expect(pending[0]).to.equal(10n);
      expect(pending[3]).to.equal(3n);
      expect(pending[4]).to.equal(20n);
      await time.increase(HOUR); // the window ends and the loosening falls due, with no fill since
      expect(await exchange.windowLimit(alice.address, 1n)).to.deep.equal([20n, HOUR, 0n, 0n, 0n, 0n, 0n]);
    });

    it("applies a tightening after the firmness delay and emits WindowLimitChangeScheduled with the old and new limits", async function () {
      const env = await loadFixture(deployRisk);
      const { exchange, alice } = env;
      const first = exchange.connect(alice).setWindowLimit(1n, 10n, HOUR);
      await expect(first)
        .to.emit(exchange, "WindowLimitChangeScheduled")
        .withArgs(alice.address, 1n, 0n, 0n, 10n, HOUR, (await minedAt(first)) + FIRMNESS_DELAY);
      await afterFirmness();
      await settleLots(env, [4n], { nonce: 1n });
      const tighter = exchange.connect(alice).setWindowLimit(1n, 5n, 2n * HOUR);
      const effectiveAt = (await minedAt(tighter)) + FIRMNESS_DELAY;
      await expect(tighter)
        .to.emit(exchange, "WindowLimitChangeScheduled")
        .withArgs(alice.address, 1n, 10n, HOUR, 5n, 2n * HOUR, effectiveAt);
      // Until it takes effect the old cap holds: 4 used of 10, 2 more fit.
      await time.setNextBlockTimestamp(effectiveAt - 1n);
      expect(tradedLots(await settleLots(env, [2n], { nonce: 5n }))).to.deep.equal([2n]);
      // Then 6 used of 5: nothing more fits.
      await time.setNextBlockTimestamp(effectiveAt);
      const result = await settleLots(env, [1n], { nonce: 10n });
      expect(result.skipped).to.deep.equal([[0, SkipReason.MakerWindowLimitReached]]);
    });

    it("drops a pending loosening when the account tightens", async function () {
      const env = await loadFixture(deployRisk);
      const { exchange, alice } = env;
      await windowLimitNow(exchange, alice, 1n, 5n, DAY);
      await settleLots(env, [5n], { nonce: 1n });
      await expect(exchange.connect(alice).setWindowLimit(1n, 20n, DAY)).to.emit(
        exchange,
        "WindowLimitChangeScheduled",
      );
      const tx = exchange.connect(alice).setWindowLimit(1n, 5n, DAY);
      await expect(tx)
        .to.emit(exchange, "WindowLimitChangeScheduled")
        .withArgs(alice.address, 1n, 5n, DAY, 5n, DAY, (await minedAt(tx)) + FIRMNESS_DELAY);
      await afterFirmness();
      const [, , , , pendingMaxLots, pendingWindowSeconds, pendingEffectiveAt] = await exchange.windowLimit(
        alice.address,
        1n,
      );
      expect([pendingMaxLots, pendingWindowSeconds, pendingEffectiveAt]).to.deep.equal([0n, 0n, 0n]);
      await time.increase(2n * HOUR);
      expect((await settleLots(env, [1n], { nonce: 10n })).skipped).to.deep.equal([
        [0, SkipReason.MakerWindowLimitReached],
      ]);
    });

    /**
     * Alice's cap of 5 lots a day is used up; she asks for `maxLots` per `windowSeconds`. A fill
     * the second before the loosening's effective time is still refused; at it, `lots` fill.
     */
    async function expectLooseningAfterDelay(maxLots: bigint, windowSeconds: bigint, lots: bigint) {
      const env = await loadFixture(deployRisk);
      const { exchange, alice } = env;
      await windowLimitNow(exchange, alice, 1n, 5n, DAY);
      const used = await sells(env, [{ lots: 5n }], { nonce: 1n });
      const filledAt = await minedAt(settleAs(exchange, env.keeper, used.orders, used.fills));
      const tx = exchange.connect(alice).setWindowLimit(1n, maxLots, windowSeconds);
      const effectiveAt = (await minedAt(tx)) + HOUR;
      await expect(tx)
        .to.emit(exchange, "WindowLimitChangeScheduled")
        .withArgs(alice.address, 1n, 5n, DAY, maxLots, windowSeconds, effectiveAt);
      expect(await exchange.windowLimit(alice.address, 1n)).to.deep.equal([
        5n,
        DAY,
        filledAt,
        5n,
        maxLots,
        windowSeconds,
        effectiveAt,
      ]);
      await time.setNextBlockTimestamp(effectiveAt - 1n);
      expect((await settleLots(env, [1n], { nonce: 10n })).skipped).to.deep.equal([
        [0, SkipReason.MakerWindowLimitReached],
      ]);
      await time.setNextBlockTimestamp(effectiveAt);
      const result = await settleLots(env, [lots], { nonce: 20n });
      expect(result.skipped).to.deep.equal([]);
      expect(tradedLots(result)).to.deep.equal([lots]);
      return env;
    }

    it("applies a higher cap only LOOSEN_DELAY after it was asked for", async function () {
      const env = await expectLooseningAfterDelay(10n, DAY, 5n);
      expect(await env.exchange.LOOSEN_DELAY()).to.equal(HOUR);
      // The new cap holds: 10 used of 10.
      expect((await settleLots(env, [1n], { nonce: 30n })).skipped).to.deep.equal([
        [0, SkipReason.MakerWindowLimitReached],
      ]);
    });

    it("applies a shorter window only LOOSEN_DELAY after it was asked for", async function () {
      const env = await expectLooseningAfterDelay(5n, 600n, 5n);
      const [maxLots, windowSeconds, windowStart] = await env.exchange.windowLimit(env.alice.address, 1n);
      expect([maxLots, windowSeconds]).to.deep.equal([5n, 600n]);
      // The new window is 600 seconds long: full at its last second, open again after it.
      await time.setNextBlockTimestamp(windowStart + 599n);
      expect((await settleLots(env, [1n], { nonce: 30n })).skipped).to.deep.equal([
        [0, SkipReason.MakerWindowLimitReached],
      ]);
      await time.setNextBlockTimestamp(windowStart + 600n);
      expect(tradedLots(await settleLots(env, [5n], { nonce: 40n }))).to.deep.equal([5n]);
    });

    it("applies the removal of a limit only LOOSEN_DELAY after it was asked for", async function () {
      const env = await expectLooseningAfterDelay(0n, 0n, 50n);
      // No cap at all any more, in this window or the next call.
      expect(tradedLots(await settleLots(env, [100n], { nonce: 30n }))).to.deep.equal([100n]);
    });

    it("reverts InvalidWindowLimit for a zero cap over a non-zero window", async function () {
      const { exchange, alice } = await loadFixture(deployRisk);
      await expect(exchange.connect(alice).setWindowLimit(1n, 0n, 60n))
        .to.be.revertedWithCustomError(exchange, "InvalidWindowLimit")
        .withArgs(0n, 60n);
      await expect(exchange.connect(alice).setWindowLimit(3n, 5n, 60n))
        .to.be.revertedWithCustomError(exchange, "MarketNotListed")
        .withArgs(3n);
    });

    it("does not limit the account on another market", async function () {
      const env = await loadFixture(deployRisk);
      await windowLimitNow(env.exchange, env.alice, 1n, 1n, DAY);
      const result = await settleLots(env, [50n], { marketId: 2n });
      expect(tradedLots(result)).to.deep.equal([50n]);
      expect(await env.exchange.windowLimit(env.alice.address, 2n)).to.deep.equal([0n, 0n, 0n, 0n, 0n, 0n, 0n]);
    });

    it("leaves accounts without a limit unaffected in the same batch", async function () {
      const env = await loadFixture(deployRisk);
      const { exchange, alice, carol, bob, domain, keeper } = env;
      await windowLimitNow(exchange, alice, 1n, 5n, DAY);
      const orders = [
        await signed(alice, domain, { isBuy: false, nonce: 1n, lots: 10n }),
        await signed(carol, domain, { isBuy: false, nonce: 1n, lots: 50n }),
        await signed(bob, domain, { isBuy: true, nonce: 1n, lots: 100n }),
      ];
      const fills = [fill(0, 2, 5n), fill(0, 2, 1n), fill(1, 2, 50n)];
      const result = await outcomes(exchange, settleAs(exchange, keeper, orders, fills));
      expect(result.traded.map((t) => [t.maker, t.lots])).to.deep.equal([
        [alice.address, 5n],
        [carol.address, 50n],
      ]);
      expect(result.skipped).to.deep.equal([[1, SkipReason.MakerWindowLimitReached]]);
    });
  });

  describe("fill-or-kill runs", function () {
    /**
     * Bob's fill-or-kill bid for 10 lots against alice's ask (6 lots) and then carol's (4 lots). With
     * `before`, carol first sells that many lots to dave; with `after`, she sells him that many after
     * the run. Returns the outcomes and the index of the run's first fill.
     */
    async function fillOrKillRun(env: RiskEnv, { before, after }: { before?: bigint; after?: bigint } = {}) {
      const { domain, alice, bob, carol, dave } = env;
      const orders = [
        await signed(alice, domain, { isBuy: false, nonce: 1n, lots: 6n }),
        await signed(carol, domain, { isBuy: false, nonce: 1n, lots: 40n }),
        await signed(bob, domain, { isBuy: true, nonce: 1n, lots: 10n, flags: FILL_OR_KILL }),
        await signed(dave, domain, { isBuy: true, nonce: 1n, lots: 40n }),
      ];
      const fills = [fill(0, 2, 6n), fill(1, 2, 4n)];
      if (before !== undefined) fills.unshift(fill(1, 3, before));
      if (after !== undefined) fills.push(fill(1, 3, after));
      const result = await outcomes(env.exchange, settleAs(env.exchange, env.keeper, orders, fills));
      return { ...result, run: before === undefined ? 0 : 1 };
    }

    it("skips the whole run when its second fill hits the velocity limit and gives its lots back", async function () {
      const env = await loadFixture(deployRisk);
      const { exchange, alice, bob } = env;
      await exchange.setVelocityLimit(1n, 8n);
      const before = await traderBalances(env);
      const result = await fillOrKillRun(env);
      expect(result.skipped).to.deep.equal([
        [0, SkipReason.FillOrKillIncomplete],
        [1, SkipReason.VelocityLimitReached],
      ]);
      expect(result.traded).to.deep.equal([]);
      expect(await traderBalances(env)).to.deep.equal(before);
      expect(await exchange.filled(alice.address, 1n)).to.equal(0n);
      expect(await exchange.filled(bob.address, 1n)).to.equal(0n);
      const [, , , , , lastPriceTicks, lotsThisBlock] = await exchange.riskLimits(1n);
      expect([lastPriceTicks, lotsThisBlock]).to.deep.equal([0n, 0n]);
    });

    it("gives the abandoned run's lots back to the velocity count for the later fills of the call", async function () {
      const env = await loadFixture(deployRisk);
      await env.exchange.setVelocityLimit(1n, 8n);
      // 1 before the run; the run's 6 make 7 and its 4 would make 11; given back, 7 more make 8.
      const result = await fillOrKillRun(env, { before: 1n, after: 7n });
      expect(result.skipped).to.deep.equal([
        [1, SkipReason.FillOrKillIncomplete],
        [2, SkipReason.VelocityLimitReached],
      ]);
      expect(result.traded.map((t) => [t.taker, t.lots])).to.deep.equal([
        [env.dave.address, 1n],
        [env.dave.address, 7n],
      ]);
      const [, , , , , lastPriceTicks, lotsThisBlock] = await env.exchange.riskLimits(1n);
      expect([lastPriceTicks, lotsThisBlock]).to.deep.equal([PRICE, 8n]);
    });

    it("skips the whole run when its second fill hits a maker's window limit and gives back the first fill's usage", async function () {
      const env = await loadFixture(deployRisk);
      const { exchange, alice, bob, carol } = env;
      await windowLimitNow(exchange, alice, 1n, 20n, HOUR);
      await windowLimitNow(exchange, bob, 1n, 100n, HOUR);
      await windowLimitNow(exchange, carol, 1n, 3n, HOUR);
      const before = await traderBalances(env);
      const result = await fillOrKillRun(env);
      expect(result.skipped).to.deep.equal([
        [0, SkipReason.FillOrKillIncomplete],
        [1, SkipReason.MakerWindowLimitReached],
      ]);
      expect(await traderBalances(env)).to.deep.equal(before);
      for (const account of [alice, bob]) {
        const [, , windowStart, usedLots] = await exchange.windowLimit(account.address, 1n);
        expect([windowStart, usedLots]).to.deep.equal([0n, 0n]);
      }
      // Alice's whole cap is still there.
      const after = await settleLots(env, [20n, 1n], { nonce: 10n });
      expect(tradedLots(after)).to.deep.equal([20n]);
      expect(after.skipped).to.deep.equal([[1, SkipReason.MakerWindowLimitReached]]);
    });

    it("skips the whole run when its second fill hits the taker's window limit and gives back the first fill's usage", async function () {
      const env = await loadFixture(deployRisk);
      const { exchange, alice, bob } = env;
      await windowLimitNow(exchange, alice, 1n, 20n, HOUR);
      // Bob has used 1 of 10 already: the run's 10 lots would make 11.
      await windowLimitNow(exchange, bob, 1n, 10n, HOUR);
      const usedAt = await minedAt(
        sells(env, [{}], { maker: env.dave, nonce: 50n }).then(({ orders, fills }) =>
          settleAs(exchange, env.keeper, orders, fills),
        ),
      );
      const before = await traderBalances(env);
      const result = await fillOrKillRun(env);
      expect(result.skipped).to.deep.equal([
        [0, SkipReason.FillOrKillIncomplete],
        [1, SkipReason.TakerWindowLimitReached],
      ]);
      expect(await traderBalances(env)).to.deep.equal(before);
      const [, , aliceStart, aliceUsed] = await exchange.windowLimit(alice.address, 1n);
      expect([aliceStart, aliceUsed]).to.deep.equal([0n, 0n]);
      const [, , bobStart, bobUsed] = await exchange.windowLimit(bob.address, 1n);
      expect([bobStart, bobUsed]).to.deep.equal([usedAt, 1n]);
    });

    /**
     * A batch that opens market 1's fills with bob's one-fill fill-or-kill bid against alice's
     * cancelled ask (abandoned: MakerCancelled), followed by carol selling to dave: one fill per
     * entry of `lots`, at `price`. `prefix` orders and fills (other markets) come first.
     */
    async function afterAbandonedRun(
      env: RiskEnv,
      lots: bigint[],
      price: bigint,
      prefix: { orders: Signed[]; fills: Fill[] } = { orders: [], fills: [] },
    ) {
      const { exchange, domain, alice, bob, carol, dave } = env;
      await exchange.connect(alice).cancel([1n]);
      await afterFirmness();
      const total = lots.reduce((a, b) => a + b, 0n);
      const n = prefix.orders.length;
      const orders = [
        ...prefix.orders,
        await signed(alice, domain, { isBuy: false, nonce: 1n, lots: 1n, priceTicks: price }),
        await signed(bob, domain, { isBuy: true, nonce: 1n, lots: 1n, priceTicks: price, flags: FILL_OR_KILL }),
        await signed(carol, domain, { isBuy: false, nonce: 1n, lots: total, priceTicks: price }),
        await signed(dave, domain, { isBuy: true, nonce: 1n, lots: total, priceTicks: price }),
      ];
      const fills = [...prefix.fills, fill(n, n + 1, 1n), ...lots.map((l) => fill(n + 2, n + 3, l))];
      return outcomes(exchange, settleAs(exchange, env.keeper, orders, fills));
    }

    // Found by these tests: `_settleFillOrKill` once took its snapshot of the market's risk state
    // before the run's first fill loaded the market, so an abandoned run that opened its market's
    // fills restored an empty (or the previous market's) state, and the fills after it escaped the
    // halt, band, reference and velocity checks.
    it("keeps a halted market halted for the fills after an abandoned fill-or-kill run", async function () {
      const env = await loadFixture(deployRisk);
      await env.exchange.connect(env.guardian).haltMarket(1n);
      const before = await traderBalances(env);
      const result = await afterAbandonedRun(env, [5n], PRICE);
      expect(result.skipped).to.deep.equal([
        [0, SkipReason.MakerCancelled],
        [1, SkipReason.MarketHalted],
      ]);
      expect(result.traded).to.deep.equal([]);
      expect(await traderBalances(env)).to.deep.equal(before);
    });

    it("keeps the price band for the fills after an abandoned fill-or-kill run", async function () {
      const env = await loadFixture(deployRisk);
      await env.exchange.setPriceBand(1n, 100n, 10_000n);
      const result = await afterAbandonedRun(env, [1n], 20_000n);
      expect(result.skipped).to.deep.equal([
        [0, SkipReason.MakerCancelled],
        [1, SkipReason.PriceOutsideBand],
      ]);
      expect(result.traded).to.deep.equal([]);
    });

    it("keeps the velocity limit and tracks the fills after an abandoned fill-or-kill run", async function () {
      const env = await loadFixture(deployRisk);
      await env.exchange.setVelocityLimit(1n, 5n);
      const result = await afterAbandonedRun(env, [5n, 1n], PRICE);
      expect(tradedLots(result)).to.deep.equal([5n]);
      expect(result.skipped).to.deep.equal([
        [0, SkipReason.MakerCancelled],
        [2, SkipReason.VelocityLimitReached],
      ]);
      const [, , , , , lastPriceTicks, lotsThisBlock] = await env.exchange.riskLimits(1n);
      expect([lastPriceTicks, lotsThisBlock]).to.deep.equal([PRICE, 5n]);
    });

    // With another market settled earlier in the call, the old snapshot carried that market's
    // lastPriceTicks and lotsThisBlock into this one: a keeper could move any market's reference.
    it("leaves a market's reference price alone when its abandoned fill-or-kill run follows another market's fills", async function () {
      const env = await loadFixture(deployRisk);
      const { exchange, domain, alice, bob } = env;
      await exchange.setPriceBand(1n, 100n, 10_000n);
      await exchange.setPriceBand(2n, 100n, 50_000n);
      const prefix = {
        orders: [
          await signed(alice, domain, { isBuy: false, nonce: 2n, marketId: 2n, priceTicks: 50_000n }),
          await signed(bob, domain, { isBuy: true, nonce: 2n, marketId: 2n, priceTicks: 50_000n }),
        ],
        fills: [fill(0, 1, 1n)],
      };
      const result = await afterAbandonedRun(env, [], 10_000n, prefix);
      expect(result.skipped).to.deep.equal([[1, SkipReason.MakerCancelled]]);
      expect(result.traded.map((t) => t.marketId)).to.deep.equal([2n]);
      const [, , , , , lastPriceTicks, lotsThisBlock] = await exchange.riskLimits(1n);
      expect([lastPriceTicks, lotsThisBlock]).to.deep.equal([10_000n, 0n]);
      expect(await exchange.priceBounds(1n)).to.deep.equal([true, 9_900n, 10_100n]);
    });
  });

  describe("parameter events and the fee cap", function () {
    it("emits PauseChanged with the old and new state", async function () {
      const { exchange, guardian } = await loadFixture(deployRisk);
      await expect(exchange.connect(guardian).pause()).to.emit(exchange, "PauseChanged").withArgs(false, true);
      await expect(exchange.unpause()).to.emit(exchange, "PauseChanged").withArgs(true, false);
    });

    it("emits MarketHaltChanged with the old and new state", async function () {
      const { exchange, guardian } = await loadFixture(deployRisk);
      await expect(exchange.connect(guardian).haltMarket(2n))
        .to.emit(exchange, "MarketHaltChanged")
        .withArgs(2n, false, true);
      await expect(exchange.resumeMarket(2n)).to.emit(exchange, "MarketHaltChanged").withArgs(2n, true, false);
    });

    it("emits PriceBandChanged with the old and new band and reference", async function () {
      const { exchange } = await loadFixture(deployRisk);
      await expect(exchange.setPriceBand(1n, 100n, 10_000n))
        .to.emit(exchange, "PriceBandChanged")
        .withArgs(1n, 0n, 100n, 0n, 10_000n);
      await expect(exchange.setPriceBand(1n, 250n, 12_345n))
        .to.emit(exchange, "PriceBandChanged")
        .withArgs(1n, 100n, 250n, 10_000n, 12_345n);
      const [, bandBps, , , , lastPriceTicks] = await exchange.riskLimits(1n);
      expect([bandBps, lastPriceTicks]).to.deep.equal([250n, 12_345n]);
    });

    it("emits PriceFeedChanged with the old and new feed and maximum age", async function () {
      const { exchange } = await loadFixture(deployRisk);
      const feedA = await ethers.deployContract("MockPriceFeed", [8, FEED_ANSWER_8]);
      const feedB = await ethers.deployContract("MockPriceFeed", [18, FEED_ANSWER_18]);
      const [a, b] = await Promise.all([feedA.getAddress(), feedB.getAddress()]);
      await expect(exchange.setPriceFeed(1n, feedA, HOUR))
        .to.emit(exchange, "PriceFeedChanged")
        .withArgs(1n, ethers.ZeroAddress, a, 0n, HOUR);
      await expect(exchange.setPriceFeed(1n, feedB, 60n))
        .to.emit(exchange, "PriceFeedChanged")
        .withArgs(1n, a, b, HOUR, 60n);
      await expect(exchange.setPriceFeed(1n, ethers.ZeroAddress, 0n))
        .to.emit(exchange, "PriceFeedChanged")
        .withArgs(1n, b, ethers.ZeroAddress, 60n, 0n);
    });

    it("emits VelocityLimitChanged with the old and new limit", async function () {
      const { exchange } = await loadFixture(deployRisk);
      await expect(exchange.setVelocityLimit(1n, 10n)).to.emit(exchange, "VelocityLimitChanged").withArgs(1n, 0n, 10n);
      await expect(exchange.setVelocityLimit(1n, 0n)).to.emit(exchange, "VelocityLimitChanged").withArgs(1n, 10n, 0n);
    });

    it("emits FeesChanged with the old and new fees, accepting MAX_FEE_BPS", async function () {
      const { exchange } = await loadFixture(deployRisk);
      const cap = await exchange.MAX_FEE_BPS();
      expect(cap).to.equal(100n);
      await expect(exchange.setFees(1n, cap, cap))
        .to.emit(exchange, "FeesChanged")
        .withArgs(1n, 5n, 10n, cap, cap);
    });

    it("reverts setFees with FeeAboveCap for a maker or taker fee above MAX_FEE_BPS", async function () {
      const { exchange } = await loadFixture(deployRisk);
      await expect(exchange.setFees(1n, 101n, 0n))
        .to.be.revertedWithCustomError(exchange, "FeeAboveCap")
        .withArgs(101n, 100n);
      await expect(exchange.setFees(1n, 0n, 101n))
        .to.be.revertedWithCustomError(exchange, "FeeAboveCap")
        .withArgs(101n, 100n);
      const [, , , , makerFeeBps, takerFeeBps] = await exchange.market(1n);
      expect([makerFeeBps, takerFeeBps]).to.deep.equal([5n, 10n]);
    });
  });
});
