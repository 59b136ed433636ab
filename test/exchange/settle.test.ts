import { expect } from "chai";
import { ethers } from "hardhat";
import { deployExchange as deployLinkedExchange } from "../../scripts/lib/deploy";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { MAKER_FEE_BPS, TAKER_FEE_BPS } from "../helpers/fixture";
import {
  exchangeDomain,
  FILL_OR_KILL,
  IMMEDIATE_OR_CANCEL,
  MAX_UINT64,
  orderKey,
  ORDER_TYPES,
  POST_ONLY,
  SkipReason,
} from "../helpers/orders";
import {
  afterFirmness,
  balancesOf,
  baseOf,
  deployFunded,
  deployFundedWithWallet,
  deployTwoMarkets,
  feeOf,
  fill,
  outcomes,
  PRICE,
  quoteOf,
  settleAs,
  signed,
  signedByWallet,
  signedPair,
  START_BASE,
  START_QUOTE,
  WalletMode,
  withdrawNow,
} from "./support";

// Single fills that a trader's own state skips are one table in hostile-trader.test.ts; the risk
// limits' skips are in risk-limits.test.ts.
describe("Exchange settle", function () {
  describe("amounts and fees", function () {
    it("settle moves exact lot and tick amounts and rounds each fee down", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, admin, alice, bob, base, quote } = env;
      // alice rests a sell of 7 lots at 200 003 ticks; bob takes it.
      const { maker, taker } = await signedPair(env, { lots: 7n }, { lots: 7n });
      await settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 7n)]);

      // quote = 7 * 200_003 * 100 = 140_002_100 atoms; maker fee 5 bps = 70_001.05 -> 70_001;
      // taker fee 10 bps = 140_002.1 -> 140_002.
      expect(
        await balancesOf(
          exchange,
          [alice.address, bob.address, admin.address],
          [await base.getAddress(), await quote.getAddress()],
        ),
      ).to.deep.equal([
        [START_BASE - baseOf(7n), START_QUOTE + 140_002_100n - 70_001n],
        [START_BASE + baseOf(7n), START_QUOTE - 140_002_100n - 140_002n],
        [0n, 70_001n + 140_002n],
      ]);
      expect(await exchange.filled(alice.address, 1n)).to.equal(7n);
      expect(await exchange.filled(bob.address, 1n)).to.equal(7n);
    });

    it("settle charges a buying maker quote plus the maker fee and pays a selling taker quote minus the taker fee", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, admin, alice, bob, base, quote } = env;
      const { maker, taker } = await signedPair(
        env,
        { trader: bob, isBuy: true, lots: 3n, priceTicks: 999_999n },
        { trader: alice, lots: 3n, priceTicks: 1n },
      );
      await settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 3n)]);

      const q = 3n * 999_999n * 100n; // 299_999_700; 5 bps = 149_999.85, 10 bps = 299_999.7
      expect(
        await balancesOf(
          exchange,
          [bob.address, alice.address, admin.address],
          [await base.getAddress(), await quote.getAddress()],
        ),
      ).to.deep.equal([
        [START_BASE + baseOf(3n), START_QUOTE - q - 149_999n],
        [START_BASE - baseOf(3n), START_QUOTE + q - 299_999n],
        [0n, 149_999n + 299_999n],
      ]);
    });

    it("settle fills at the maker's price when the taker's limit is better", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, bob, carol, dave, quote } = env;
      const sells = await signedPair(env, { priceTicks: 1_000n }, { priceTicks: 1_100n });
      const buys = await signedPair(
        env,
        { trader: carol, isBuy: true, priceTicks: 1_000n },
        { trader: dave, priceTicks: 900n },
      );
      const { traded } = await outcomes(
        exchange,
        settleAs(
          exchange,
          keeper,
          [sells.maker, sells.taker, buys.maker, buys.taker],
          [fill(0, 1, 2n), fill(2, 3, 2n)],
        ),
      );
      expect(traded.map((t) => t.priceTicks)).to.deep.equal([1_000n, 1_000n]);
      const q = quoteOf(2n, 1_000n);
      expect(await exchange.balanceOf(bob.address, quote)).to.equal(START_QUOTE - q - feeOf(q, TAKER_FEE_BPS));
      expect(await exchange.balanceOf(dave.address, quote)).to.equal(START_QUOTE + q - feeOf(q, TAKER_FEE_BPS));
    });

    it("settle fills when the limits are equal, and an order whose maxFeeBps equals the market's fee", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await signedPair(env, { maxFeeBps: MAKER_FEE_BPS }, { maxFeeBps: TAKER_FEE_BPS });
      await expect(settleAs(env.exchange, env.keeper, [maker, taker], [fill(0, 1, 1n)])).to.emit(
        env.exchange,
        "Traded",
      );
    });

    it("settle charges nothing on a zero-fee market and a fee that rounds to zero", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, admin, alice, bob, quote } = env;
      const cheap = await signedPair(env, { priceTicks: 19n }, { priceTicks: 19n });
      // 1 lot at 19 ticks = 1_900 atoms: 5 bps = 0.95 and 10 bps = 1.9 round down to 0 and 1.
      await settleAs(exchange, keeper, [cheap.maker, cheap.taker], [fill(0, 1, 1n)]);
      expect(await exchange.balanceOf(alice.address, quote)).to.equal(START_QUOTE + 1_900n);
      expect(await exchange.balanceOf(bob.address, quote)).to.equal(START_QUOTE - 1_901n);
      expect(await exchange.balanceOf(admin.address, quote)).to.equal(1n);

      await exchange.setFees(1, 0n, 0n);
      const free = await signedPair(env, { nonce: 2n }, { nonce: 2n });
      await settleAs(exchange, keeper, [free.maker, free.taker], [fill(0, 1, 3n)]);
      expect(await exchange.balanceOf(alice.address, quote)).to.equal(START_QUOTE + 1_900n + quoteOf(3n, PRICE));
      expect(await exchange.balanceOf(admin.address, quote)).to.equal(1n);
    });

    it("settle credits fees to the current fee recipient", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, admin, carol, quote } = env;
      await exchange.setFeeRecipient(carol.address);
      const { maker, taker } = await signedPair(env);
      await settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 5n)]);
      const q = quoteOf(5n, PRICE);
      expect(await exchange.balanceOf(carol.address, quote)).to.equal(
        START_QUOTE + feeOf(q, MAKER_FEE_BPS) + feeOf(q, TAKER_FEE_BPS),
      );
      expect(await exchange.balanceOf(admin.address, quote)).to.equal(0n);
    });

    it("settle credits each market's fees in that market's quote token within one batch", async function () {
      const env = await loadFixture(deployTwoMarkets);
      const { exchange, keeper, admin, bob, quote, quote2 } = env;
      const one = await signedPair(env, { marketId: 1n }, { marketId: 1n });
      const two = await signedPair(env, { marketId: 2n, nonce: 2n }, { marketId: 2n, nonce: 2n });
      await settleAs(
        exchange,
        keeper,
        [one.maker, one.taker, two.maker, two.taker],
        [fill(0, 1, 1n), fill(0, 1, 3n), fill(2, 3, 2n), fill(2, 3, 5n)],
      );
      const [q1, q3, q2, q5] = [1n, 3n, 2n, 5n].map((lots) => quoteOf(lots, PRICE));
      expect(await exchange.balanceOf(admin.address, quote)).to.equal(
        feeOf(q1, 5n) + feeOf(q1, 10n) + feeOf(q3, 5n) + feeOf(q3, 10n),
      );
      expect(await exchange.balanceOf(admin.address, quote2)).to.equal(
        feeOf(q2, 20n) + feeOf(q2, 30n) + feeOf(q5, 20n) + feeOf(q5, 30n),
      );
      expect(await exchange.balanceOf(bob.address, quote2)).to.equal(
        START_QUOTE - q2 - q5 - feeOf(q2, 30n) - feeOf(q5, 30n),
      );
    });

    it("settle fills a buyer who holds exactly quote plus fee and skips one atom short", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, bob, carol, quote } = env;
      const q = quoteOf(7n, PRICE);
      const needed = q + feeOf(q, TAKER_FEE_BPS);
      await withdrawNow(exchange, bob, quote, START_QUOTE - needed);
      await withdrawNow(exchange, carol, quote, START_QUOTE - needed + 1n);
      const { maker, taker } = await signedPair(env, { lots: 14n }, { lots: 7n });
      const carolBuy = await signed(carol, env.domain, { isBuy: true, nonce: 1n, lots: 7n });
      const { traded, skipped } = await outcomes(
        exchange,
        settleAs(exchange, keeper, [maker, taker, carolBuy], [fill(0, 1, 7n), fill(0, 2, 7n)]),
      );
      expect(traded.map((t) => t.taker)).to.deep.equal([bob.address]);
      expect(skipped).to.deep.equal([[1, SkipReason.TakerBalanceTooLow]]);
      expect(await exchange.balanceOf(bob.address, quote)).to.equal(0n);
      expect(await exchange.balanceOf(carol.address, quote)).to.equal(needed - 1n);
    });
  });

  describe("Traded", function () {
    it("settle emits Traded with the market, both orders, the maker's side and price, and the lots", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await signedPair(
        env,
        { isBuy: true, nonce: 11n, priceTicks: 5_000n },
        { nonce: 22n, priceTicks: 4_000n },
      );
      await expect(settleAs(env.exchange, env.keeper, [maker, taker], [fill(0, 1, 3n)]))
        .to.emit(env.exchange, "Traded")
        .withArgs(1n, orderKey(env.alice.address, 11n), orderKey(env.bob.address, 22n), true, 5_000n, 3n);
    });
  });

  describe("partial fills and order reuse", function () {
    it("settle fills an order partly across calls until it is full", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, alice, bob, carol } = env;
      const { maker, taker } = await signedPair(env);
      const carolBuy = await signed(carol, env.domain, { isBuy: true, nonce: 1n });
      await settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 3n)]);
      await settleAs(exchange, keeper, [maker, carolBuy], [fill(0, 1, 4n)]);
      expect(await exchange.filled(alice.address, 1n)).to.equal(7n);
      await expect(settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 4n)]))
        .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
        .withArgs(0n, 0n, 3n, 4n);
      await settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 3n)]);
      expect(await exchange.filled(alice.address, 1n)).to.equal(10n);
      expect(await exchange.filled(bob.address, 1n)).to.equal(6n);
      await expect(settleAs(exchange, keeper, [maker, carolBuy], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
        .withArgs(0n, 0n, 0n, 1n);
    });

    it("settle lets one maker order fill several takers in one call", async function () {
      const { exchange, domain, keeper, alice, bob, carol, dave, base } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const takers = await Promise.all(
        [bob, carol, dave].map((t) => signed(t, domain, { isBuy: true, nonce: 1n, lots: 5n })),
      );
      const { traded } = await outcomes(
        exchange,
        settleAs(exchange, keeper, [ask, ...takers], [fill(0, 1, 3n), fill(0, 2, 4n), fill(0, 3, 3n)]),
      );
      expect(traded.map((t) => [t.taker, t.lots])).to.deep.equal([
        [bob.address, 3n],
        [carol.address, 4n],
        [dave.address, 3n],
      ]);
      expect(await exchange.filled(alice.address, 1n)).to.equal(10n);
      expect(await exchange.balanceOf(alice.address, base)).to.equal(START_BASE - baseOf(10n));
    });

    it("settle lets one taker order sweep several makers in one call, each at its own price", async function () {
      const { exchange, domain, keeper, alice, bob, carol, dave, quote } = await loadFixture(deployFunded);
      const buy = await signed(dave, domain, { isBuy: true, nonce: 1n, lots: 9n, priceTicks: 3_000n });
      const asks = await Promise.all(
        [alice, bob, carol].map((t, i) =>
          signed(t, domain, { isBuy: false, nonce: 1n, priceTicks: 1_000n * BigInt(i + 1) }),
        ),
      );
      await settleAs(exchange, keeper, [buy, ...asks], [fill(1, 0, 2n), fill(2, 0, 3n), fill(3, 0, 4n)]);
      const q = [quoteOf(2n, 1_000n), quoteOf(3n, 2_000n), quoteOf(4n, 3_000n)];
      const paid = q.reduce((s, x) => s + x + feeOf(x, TAKER_FEE_BPS), 0n);
      expect(await exchange.balanceOf(dave.address, quote)).to.equal(START_QUOTE - paid);
      expect(await exchange.filled(dave.address, 1n)).to.equal(9n);
    });

    it("settle lets an ERC-1271 wallet's order fill several takers in one call", async function () {
      const { exchange, domain, keeper, wallet, walletOwner, bob, carol } = await loadFixture(deployFundedWithWallet);
      const ask = await signedByWallet(wallet, walletOwner, domain, { isBuy: false, nonce: 1n });
      const buys = await Promise.all([bob, carol].map((t) => signed(t, domain, { isBuy: true, nonce: 1n })));
      const { traded, skipped } = await outcomes(
        exchange,
        settleAs(exchange, keeper, [ask, ...buys], [fill(0, 1, 6n), fill(0, 2, 4n)]),
      );
      expect(skipped).to.deep.equal([]);
      expect(traded.map((t) => t.maker)).to.deep.equal([await wallet.getAddress(), await wallet.getAddress()]);
      expect(await exchange.filled(wallet, 1n)).to.equal(10n);
    });

    it("settle asks an ERC-1271 wallet once per call however many fills use its order", async function () {
      const { exchange, domain, keeper, wallet, walletOwner, bob, carol, dave } =
        await loadFixture(deployFundedWithWallet);
      await wallet.connect(walletOwner).setMode(WalletMode.BurnGas); // every question costs the full 100k gas
      const ask = await signedByWallet(wallet, walletOwner, domain, { isBuy: false, nonce: 1n });
      const buys = await Promise.all([bob, carol, dave].map((t) => signed(t, domain, { isBuy: true, nonce: 1n })));
      const one = await outcomes(exchange, settleAs(exchange, keeper, [ask, ...buys], [fill(0, 1, 1n)], 5_000_000n));
      const three = await outcomes(
        exchange,
        settleAs(exchange, keeper, [ask, ...buys], [fill(0, 1, 1n), fill(0, 2, 1n), fill(0, 3, 1n)], 5_000_000n),
      );
      expect(three.skipped).to.deep.equal([
        [0, SkipReason.MakerSignatureRejected],
        [1, SkipReason.MakerSignatureRejected],
        [2, SkipReason.MakerSignatureRejected],
      ]);
      expect(one.gasUsed).to.be.greaterThan(100_000n);
      // Asking again would burn another 100k gas per fill.
      expect(three.gasUsed - one.gasUsed).to.be.lessThan(50_000n);
    });
  });

  describe("keeper mistakes revert the whole call", function () {
    it("settle reverts SignatureCountMismatch when signatures and orders differ in number", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await signedPair(env);
      await expect(
        env.exchange.connect(env.keeper).settle([maker.order, taker.order], [maker.signature], [fill(0, 1, 1n)]),
      )
        .to.be.revertedWithCustomError(env.exchange, "SignatureCountMismatch")
        .withArgs(2n, 1n);
    });

    it("settle reverts OrderIndexOutOfRange for a maker or taker index beyond the orders", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper } = env;
      const { maker, taker } = await signedPair(env);
      await expect(settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 1n), fill(2, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "OrderIndexOutOfRange")
        .withArgs(1n, 2n, 2n);
      await expect(settleAs(exchange, keeper, [maker, taker], [fill(0, 7, 1n)]))
        .to.be.revertedWithCustomError(exchange, "OrderIndexOutOfRange")
        .withArgs(0n, 7n, 2n);
    });

    it("settle reverts ZeroLotFill for a fill of zero lots", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await signedPair(env);
      await expect(settleAs(env.exchange, env.keeper, [maker, taker], [fill(0, 1, 1n), fill(0, 1, 0n)]))
        .to.be.revertedWithCustomError(env.exchange, "ZeroLotFill")
        .withArgs(1n);
    });

    it("settle reverts MarketMismatch for orders of different markets", async function () {
      const env = await loadFixture(deployTwoMarkets);
      const { maker, taker } = await signedPair(env, { marketId: 2n }, { marketId: 1n });
      await expect(settleAs(env.exchange, env.keeper, [maker, taker], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(env.exchange, "MarketMismatch")
        .withArgs(0n, 2n, 1n);
    });

    it("settle reverts MarketNotContiguous when a market's fills are split by another market's", async function () {
      const env = await loadFixture(deployTwoMarkets);
      const one = await signedPair(env, { marketId: 1n }, { marketId: 1n });
      const two = await signedPair(env, { marketId: 2n, nonce: 2n }, { marketId: 2n, nonce: 2n });
      const orders = [one.maker, one.taker, two.maker, two.taker];
      await expect(settleAs(env.exchange, env.keeper, orders, [fill(0, 1, 1n), fill(2, 3, 2n), fill(0, 1, 3n)]))
        .to.be.revertedWithCustomError(env.exchange, "MarketNotContiguous")
        .withArgs(2n, 1n);
    });

    it("settle reverts UnknownMarket for a market that is not listed, first or after a listed one", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, alice } = env;
      const listed = await signedPair(env);
      const unlisted = await signedPair(env, { nonce: 2n, marketId: 9n }, { nonce: 2n, marketId: 9n });
      await expect(settleAs(exchange, keeper, [unlisted.maker, unlisted.taker], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "UnknownMarket")
        .withArgs(0n, 9n);
      const orders = [listed.maker, listed.taker, unlisted.maker, unlisted.taker];
      await expect(settleAs(exchange, keeper, orders, [fill(0, 1, 1n), fill(2, 3, 1n)]))
        .to.be.revertedWithCustomError(exchange, "UnknownMarket")
        .withArgs(1n, 9n);
      expect(await exchange.filled(alice.address, 1n)).to.equal(0n);
    });

    it("settle reverts SameSide for two buys or two sells", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, domain, alice, bob } = env;
      for (const [isBuy, nonce] of [
        [true, 1n],
        [false, 2n],
      ] as const) {
        const a = await signed(alice, domain, { isBuy, nonce });
        const b = await signed(bob, domain, { isBuy, nonce });
        await expect(settleAs(exchange, keeper, [a, b], [fill(0, 1, 1n)]))
          .to.be.revertedWithCustomError(exchange, "SameSide")
          .withArgs(0n, isBuy);
      }
    });

    it("settle reverts PricesDoNotCross when a taker's limit is worse than the maker's price", async function () {
      const env = await loadFixture(deployFunded);
      for (const [isBuy, takerPrice, nonce] of [
        [false, 999n, 1n],
        [true, 1_001n, 2n],
      ] as const) {
        const { maker, taker } = await signedPair(
          env,
          { isBuy, nonce, priceTicks: 1_000n },
          { nonce, priceTicks: takerPrice },
        );
        await expect(settleAs(env.exchange, env.keeper, [maker, taker], [fill(0, 1, 1n)]))
          .to.be.revertedWithCustomError(env.exchange, "PricesDoNotCross")
          .withArgs(0n, 1_000n, takerPrice);
      }
    });

    it("settle reverts PostOnlyTaker for a post-only taker and fills a post-only maker", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, alice } = env;
      const postTaker = await signedPair(env, {}, { flags: POST_ONLY });
      await expect(settleAs(exchange, keeper, [postTaker.maker, postTaker.taker], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "PostOnlyTaker")
        .withArgs(0n, 1n);
      const postMaker = await signedPair(env, { flags: POST_ONLY });
      await expect(settleAs(exchange, keeper, [postMaker.maker, postMaker.taker], [fill(0, 1, 2n)])).to.emit(
        exchange,
        "Traded",
      );
      expect(await exchange.filled(alice.address, 1n)).to.equal(2n);
    });

    it("settle reverts FillOrKillMaker for a fill-or-kill order used as the maker", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await signedPair(env, { flags: FILL_OR_KILL, lots: 1n });
      await expect(settleAs(env.exchange, env.keeper, [taker, maker], [fill(1, 0, 1n)]))
        .to.be.revertedWithCustomError(env.exchange, "FillOrKillMaker")
        .withArgs(0n, 1n);
    });

    it("settle reverts FillOrKillSizeMismatch when a fill-or-kill taker's fills do not add up to its size", async function () {
      const { exchange, domain, keeper, alice, bob, carol } = await loadFixture(deployFunded);
      const fok = await signed(bob, domain, { isBuy: true, nonce: 1n, flags: FILL_OR_KILL });
      const askA = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const askC = await signed(carol, domain, { isBuy: false, nonce: 1n });
      await expect(settleAs(exchange, keeper, [askA, askC, fok], [fill(0, 2, 4n), fill(1, 2, 5n)]))
        .to.be.revertedWithCustomError(exchange, "FillOrKillSizeMismatch")
        .withArgs(0n, 10n, 9n);
      // A fill of another taker ends the run: the run before it is too short.
      await expect(settleAs(exchange, keeper, [askA, askC, fok], [fill(0, 2, 4n), fill(1, 0, 1n), fill(1, 2, 6n)]))
        .to.be.revertedWithCustomError(exchange, "FillOrKillSizeMismatch")
        .withArgs(0n, 10n, 4n);
    });

    it("settle reverts FillOrKillSizeMismatch for a run larger than the order, naming the run's first fill", async function () {
      const { exchange, domain, keeper, alice, bob, carol, dave } = await loadFixture(deployFunded);
      const askA = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const buyD = await signed(dave, domain, { isBuy: true, nonce: 1n });
      const fok = await signed(bob, domain, { isBuy: true, nonce: 1n, flags: FILL_OR_KILL });
      const askC = await signed(carol, domain, { isBuy: false, nonce: 1n });
      await expect(
        settleAs(exchange, keeper, [askA, buyD, fok, askC], [fill(0, 1, 1n), fill(0, 2, 6n), fill(3, 2, 5n)]),
      )
        .to.be.revertedWithCustomError(exchange, "FillOrKillSizeMismatch")
        .withArgs(1n, 10n, 11n);
    });

    it("settle reverts FillOrKillNotContiguous when a fill-or-kill taker appears again after its run", async function () {
      const { exchange, domain, keeper, alice, bob, carol, dave } = await loadFixture(deployFunded);
      const askA = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const fok = await signed(bob, domain, { isBuy: true, nonce: 1n, flags: FILL_OR_KILL, lots: 4n });
      const askC = await signed(carol, domain, { isBuy: false, nonce: 1n });
      const buyD = await signed(dave, domain, { isBuy: true, nonce: 1n });
      await expect(
        settleAs(exchange, keeper, [askA, fok, askC, buyD], [fill(0, 1, 4n), fill(2, 3, 1n), fill(2, 1, 4n)]),
      )
        .to.be.revertedWithCustomError(exchange, "FillOrKillNotContiguous")
        .withArgs(2n, 1n);
    });

    it("settle reverts InvalidFlags for an order with a flag bit outside POST_ONLY, IOC and FOK", async function () {
      const env = await loadFixture(deployFunded);
      const badMaker = await signedPair(env, { flags: 8n });
      await expect(settleAs(env.exchange, env.keeper, [badMaker.maker, badMaker.taker], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(env.exchange, "InvalidFlags")
        .withArgs(0n, 0n, 8n);
      const badTaker = await signedPair(env, { nonce: 2n }, { nonce: 2n, flags: 0x80n | IMMEDIATE_OR_CANCEL });
      await expect(settleAs(env.exchange, env.keeper, [badTaker.maker, badTaker.taker], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(env.exchange, "InvalidFlags")
        .withArgs(0n, 1n, 0x82n);
    });

    it("settle reverts OrderTooLarge for an order of more than MAX_ORDER_LOTS, and fills one of exactly that", async function () {
      const env = await loadFixture(deployFunded);
      const max = await env.exchange.MAX_ORDER_LOTS();
      expect(max).to.equal(2n ** 63n - 1n);
      const tooLarge = await signedPair(env, { lots: max + 1n });
      await expect(settleAs(env.exchange, env.keeper, [tooLarge.maker, tooLarge.taker], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(env.exchange, "OrderTooLarge")
        .withArgs(0n, 0n, max + 1n);
      const largest = await signedPair(env, { nonce: 2n, lots: max }, { nonce: 2n, lots: MAX_UINT64 });
      await expect(settleAs(env.exchange, env.keeper, [largest.maker, largest.taker], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(env.exchange, "OrderTooLarge")
        .withArgs(0n, 1n, MAX_UINT64);
      const fits = await signedPair(env, { nonce: 3n, lots: max }, { nonce: 3n });
      await expect(settleAs(env.exchange, env.keeper, [fits.maker, fits.taker], [fill(0, 1, 1n)])).to.emit(
        env.exchange,
        "Traded",
      );
    });

    it("settle reverts SameOrderOnBothSides for one (maker, nonce) on both sides of a fill", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await signedPair(env, { nonce: 5n }, { trader: env.alice, nonce: 5n });
      await expect(settleAs(env.exchange, env.keeper, [maker, taker], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(env.exchange, "SameOrderOnBothSides")
        .withArgs(0n, env.alice.address, 5n);
    });

    it("settle reverts FillExceedsOrder for a fill beyond the maker's or the taker's remaining lots", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper } = env;
      const big = await signedPair(env, {}, { lots: 20n });
      await expect(settleAs(exchange, keeper, [big.maker, big.taker], [fill(0, 1, 11n)]))
        .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
        .withArgs(0n, 0n, 10n, 11n);
      const small = await signedPair(env, {}, { nonce: 2n, lots: 5n });
      await expect(settleAs(exchange, keeper, [small.maker, small.taker], [fill(0, 1, 2n), fill(0, 1, 4n)]))
        .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
        .withArgs(1n, 1n, 3n, 4n);
    });

    it("settle rolls back the fills before a keeper mistake", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, admin, alice, bob, base, quote } = env;
      const { maker, taker } = await signedPair(env);
      const accounts = [alice.address, bob.address, admin.address];
      const tokens = [await base.getAddress(), await quote.getAddress()];
      const before = await balancesOf(exchange, accounts, tokens);
      await expect(settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 2n), fill(0, 1, 0n)])).to.be.reverted;
      expect(await balancesOf(exchange, accounts, tokens)).to.deep.equal(before);
      expect(await exchange.filled(alice.address, 1n)).to.equal(0n);
    });
  });

  describe("expiry", function () {
    it("settle fills an order in the very second of its expiry and skips it the second after", async function () {
      const env = await loadFixture(deployFunded);
      const expiry = BigInt(await time.latest()) + 100n;
      const { maker, taker } = await signedPair(env, { expiry }, { expiry });
      await time.setNextBlockTimestamp(expiry);
      await expect(settleAs(env.exchange, env.keeper, [maker, taker], [fill(0, 1, 1n)])).to.emit(
        env.exchange,
        "Traded",
      );
      await expect(settleAs(env.exchange, env.keeper, [maker, taker], [fill(0, 1, 1n)]))
        .to.emit(env.exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MakerExpired);
    });
  });

  describe("immediate-or-cancel", function () {
    it("settle kills a partly filled IOC taker after the call", async function () {
      const { exchange, domain, keeper, alice, bob, carol } = await loadFixture(deployFunded);
      const ioc = await signed(bob, domain, { isBuy: true, nonce: 1n, flags: IMMEDIATE_OR_CANCEL });
      const askA = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const askC = await signed(carol, domain, { isBuy: false, nonce: 1n });
      await settleAs(exchange, keeper, [askA, ioc, askC], [fill(0, 1, 3n), fill(2, 1, 2n)]);
      expect(await exchange.filled(bob.address, 1n)).to.equal(MAX_UINT64);
      expect(await exchange.filled(alice.address, 1n)).to.equal(3n);
      await expect(settleAs(exchange, keeper, [askA, ioc], [fill(0, 1, 1n)]))
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason.TakerCancelled);
    });

    it("settle kills an IOC maker after the call", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, alice, carol } = env;
      const { maker, taker } = await signedPair(env, { flags: IMMEDIATE_OR_CANCEL });
      await settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 4n)]);
      expect(await exchange.filled(alice.address, 1n)).to.equal(MAX_UINT64);
      const carolBuy = await signed(carol, env.domain, { isBuy: true, nonce: 1n });
      await expect(settleAs(exchange, keeper, [maker, carolBuy], [fill(0, 1, 1n)]))
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MakerCancelled);
    });

    it("settle kills an IOC order whose only fill was skipped", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await signedPair(env, { maxFeeBps: 0n }, { flags: IMMEDIATE_OR_CANCEL });
      await expect(settleAs(env.exchange, env.keeper, [maker, taker], [fill(0, 1, 1n)]))
        .to.emit(env.exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MakerFeeTooHigh);
      expect(await env.exchange.filled(env.bob.address, 1n)).to.equal(MAX_UINT64);
    });

    it("settle kills a fully filled IOC order too", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await signedPair(env, {}, { flags: IMMEDIATE_OR_CANCEL, lots: 2n });
      await settleAs(env.exchange, env.keeper, [maker, taker], [fill(0, 1, 2n)]);
      expect(await env.exchange.filled(env.bob.address, 1n)).to.equal(MAX_UINT64);
    });
  });

  describe("fill-or-kill", function () {
    it("settle fills a fill-or-kill taker completely across two makers", async function () {
      const { exchange, domain, keeper, alice, bob, carol, base } = await loadFixture(deployFunded);
      const fok = await signed(bob, domain, { isBuy: true, nonce: 1n, flags: FILL_OR_KILL });
      const askA = await signed(alice, domain, { isBuy: false, nonce: 1n, lots: 4n });
      const askC = await signed(carol, domain, { isBuy: false, nonce: 1n, lots: 6n });
      const { traded, skipped } = await outcomes(
        exchange,
        settleAs(exchange, keeper, [askA, askC, fok], [fill(0, 2, 4n), fill(1, 2, 6n)]),
      );
      expect(skipped).to.deep.equal([]);
      expect(traded.map((t) => [t.maker, t.lots])).to.deep.equal([
        [alice.address, 4n],
        [carol.address, 6n],
      ]);
      expect(await exchange.filled(bob.address, 1n)).to.equal(10n);
      expect(await exchange.balanceOf(bob.address, base)).to.equal(START_BASE + baseOf(10n));
    });

    it("settle skips a fill-or-kill run with FillOrKillIncomplete for the fills that did not fail", async function () {
      const { exchange, domain, keeper, alice, bob, carol, dave } = await loadFixture(deployFunded);
      const fok = await signed(bob, domain, { isBuy: true, nonce: 1n, flags: FILL_OR_KILL, lots: 3n });
      const askA = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const askC = await signed(carol, domain, { isBuy: false, nonce: 1n });
      const buyD = await signed(dave, domain, { isBuy: true, nonce: 1n });
      await exchange.connect(alice).cancel([1n]);
      await afterFirmness();
      const { traded, skipped } = await outcomes(
        exchange,
        settleAs(exchange, keeper, [fok, askA, askC, buyD], [fill(1, 0, 1n), fill(2, 0, 2n), fill(2, 3, 4n)]),
      );
      expect(skipped).to.deep.equal([
        [0, SkipReason.MakerCancelled],
        [1, SkipReason.FillOrKillIncomplete],
      ]);
      expect(traded.map((t) => [t.taker, t.lots])).to.deep.equal([[dave.address, 4n]]);
      expect(await exchange.filled(carol.address, 1n)).to.equal(4n);
      expect(await exchange.filled(bob.address, 1n)).to.equal(0n);
    });

    it("settle rolls back a fill-or-kill run whose second maker cannot deliver, leaving balances unchanged", async function () {
      const { exchange, domain, keeper, admin, alice, bob, carol, dave, base, quote } = await loadFixture(deployFunded);
      // carol keeps only 5 lots of base: she cannot deliver the 6 lots of the run's second fill.
      await withdrawNow(exchange, carol, base, START_BASE - baseOf(5n));
      const fok = await signed(bob, domain, { isBuy: true, nonce: 1n, flags: FILL_OR_KILL });
      const askA = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const askC = await signed(carol, domain, { isBuy: false, nonce: 1n, lots: 6n });
      const buyD = await signed(dave, domain, { isBuy: true, nonce: 1n, lots: 1n });
      const accounts = [alice.address, bob.address, carol.address, admin.address];
      const tokens = [await base.getAddress(), await quote.getAddress()];
      const before = await balancesOf(exchange, accounts, tokens);

      const { traded, skipped } = await outcomes(
        exchange,
        settleAs(exchange, keeper, [askA, askC, fok, buyD], [fill(0, 2, 4n), fill(1, 2, 6n), fill(0, 3, 1n)]),
      );

      expect(skipped).to.deep.equal([
        [0, SkipReason.FillOrKillIncomplete],
        [1, SkipReason.MakerBalanceTooLow],
      ]);
      expect(traded.map((t) => [t.maker, t.taker, t.lots])).to.deep.equal([[alice.address, dave.address, 1n]]);
      // Only dave's 1-lot fill changed anything.
      const q = quoteOf(1n, PRICE);
      const after = await balancesOf(exchange, accounts, tokens);
      expect(after[0]).to.deep.equal([before[0][0] - baseOf(1n), before[0][1] + q - feeOf(q, MAKER_FEE_BPS)]);
      expect(after[1]).to.deep.equal(before[1]);
      expect(after[2]).to.deep.equal(before[2]);
      expect(after[3]).to.deep.equal([0n, feeOf(q, MAKER_FEE_BPS) + feeOf(q, TAKER_FEE_BPS)]);
      expect(await exchange.filled(alice.address, 1n)).to.equal(1n);
      expect(await exchange.filled(bob.address, 1n)).to.equal(0n);
      expect(await exchange.filled(carol.address, 1n)).to.equal(0n);
    });

    it("settle rolls back a fill-or-kill run whose taker runs out of quote on the last fill", async function () {
      const { exchange, domain, keeper, alice, bob, carol, base, quote } = await loadFixture(deployFunded);
      const q1 = quoteOf(1n, 1_000n);
      const q2 = quoteOf(2n, 2_000n);
      // bob can pay for the first two fills but not the third.
      const affordable = q1 + feeOf(q1, TAKER_FEE_BPS) + q2 + feeOf(q2, TAKER_FEE_BPS);
      await withdrawNow(exchange, bob, quote, START_QUOTE - affordable);
      const fok = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        flags: FILL_OR_KILL,
        lots: 6n,
        priceTicks: 3_000n,
      });
      const askA = await signed(alice, domain, { isBuy: false, nonce: 1n, priceTicks: 1_000n });
      const askC = await signed(carol, domain, { isBuy: false, nonce: 1n, priceTicks: 2_000n });
      const askA2 = await signed(alice, domain, { isBuy: false, nonce: 2n, priceTicks: 3_000n });
      const { skipped } = await outcomes(
        exchange,
        settleAs(exchange, keeper, [fok, askA, askC, askA2], [fill(1, 0, 1n), fill(2, 0, 2n), fill(3, 0, 3n)]),
      );
      expect(skipped).to.deep.equal([
        [0, SkipReason.FillOrKillIncomplete],
        [1, SkipReason.FillOrKillIncomplete],
        [2, SkipReason.TakerBalanceTooLow],
      ]);
      expect(await exchange.balanceOf(bob.address, quote)).to.equal(affordable);
      expect(await exchange.balanceOf(alice.address, base)).to.equal(START_BASE);
      expect(await exchange.balanceOf(carol.address, quote)).to.equal(START_QUOTE);
      expect(await exchange.filled(alice.address, 1n)).to.equal(0n);
      expect(await exchange.filled(carol.address, 1n)).to.equal(0n);
    });
  });

  describe("nonces", function () {
    it("settle never fills two orders signed with one nonce beyond the larger one in total", async function () {
      const { exchange, domain, keeper, alice, bob, carol, base } = await loadFixture(deployFunded);
      const big = await signed(alice, domain, { isBuy: false, nonce: 7n, priceTicks: 1_000n });
      const small = await signed(alice, domain, { isBuy: false, nonce: 7n, lots: 6n, priceTicks: 900n });
      const buyB = await signed(bob, domain, { isBuy: true, nonce: 1n, lots: 100n, priceTicks: 1_000n });
      const buyC = await signed(carol, domain, { isBuy: true, nonce: 1n, lots: 100n, priceTicks: 1_000n });
      const orders = [big, small, buyB, buyC];

      await settleAs(exchange, keeper, orders, [fill(0, 2, 4n)]);
      await expect(settleAs(exchange, keeper, orders, [fill(1, 3, 3n)]))
        .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
        .withArgs(0n, 1n, 2n, 3n);
      await settleAs(exchange, keeper, orders, [fill(1, 3, 2n)]);
      await expect(settleAs(exchange, keeper, orders, [fill(0, 2, 5n)]))
        .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
        .withArgs(0n, 0n, 4n, 5n);
      await settleAs(exchange, keeper, orders, [fill(0, 2, 4n)]);
      expect(await exchange.filled(alice.address, 7n)).to.equal(10n);
      await expect(settleAs(exchange, keeper, orders, [fill(1, 3, 1n)]))
        .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
        .withArgs(0n, 1n, 0n, 1n);
      expect(await exchange.balanceOf(alice.address, base)).to.equal(START_BASE - baseOf(10n));
    });

    it("settle counts fills of two orders with one nonce together within one call", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const big = await signed(alice, domain, { isBuy: false, nonce: 7n });
      const small = await signed(alice, domain, { isBuy: false, nonce: 7n, lots: 6n });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n, lots: 100n });
      await expect(settleAs(exchange, keeper, [big, small, buy], [fill(1, 2, 6n), fill(0, 2, 5n)]))
        .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
        .withArgs(1n, 0n, 4n, 5n);
    });
  });

  describe("domain", function () {
    it("hashOrder returns the EIP-712 digest that ethers signs", async function () {
      const { exchange, domain, alice } = await loadFixture(deployFunded);
      const { order } = await signed(alice, domain, { isBuy: true, nonce: 42n, flags: 3n, maxFeeBps: 7n });
      expect(await exchange.hashOrder(order)).to.equal(ethers.TypedDataEncoder.hash(domain, ORDER_TYPES, order));
    });

    it("settle skips an order signed for another chain id or another Exchange, EOA or wallet", async function () {
      const env = await loadFixture(deployFundedWithWallet);
      const { exchange, domain, keeper, admin, alice, bob, wallet, walletOwner } = env;
      const { chainId } = await ethers.provider.getNetwork();
      const other = await deployLinkedExchange(ethers, admin.address);
      const otherChain = exchangeDomain(1n, await exchange.getAddress());
      const otherExchange = exchangeDomain(chainId, await other.getAddress());
      const bid = await signed(bob, domain, { isBuy: true, nonce: 1n, lots: 100n });
      const asks = [
        await signed(alice, otherChain, { isBuy: false, nonce: 1n }),
        await signed(alice, otherExchange, { isBuy: false, nonce: 2n }),
        await signedByWallet(wallet, walletOwner, otherChain, { isBuy: false, nonce: 1n }),
      ];
      const { skipped, traded } = await outcomes(
        exchange,
        settleAs(exchange, keeper, [bid, ...asks], [fill(1, 0, 1n), fill(2, 0, 1n), fill(3, 0, 1n)]),
      );
      expect(traded).to.deep.equal([]);
      expect(skipped).to.deep.equal([0, 1, 2].map((i) => [i, SkipReason.MakerSignatureRejected]));
    });
  });

  describe("access", function () {
    it("settle reverts for an account without KEEPER_ROLE, the admin included, and for a revoked keeper", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, admin, alice, outsider } = env;
      const { maker, taker } = await signedPair(env);
      const keeperRole = await exchange.KEEPER_ROLE();
      await exchange.revokeRole(keeperRole, keeper.address);
      for (const caller of [admin, outsider, alice, keeper]) {
        await expect(settleAs(exchange, caller, [maker, taker], [fill(0, 1, 1n)]))
          .to.be.revertedWithCustomError(exchange, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, keeperRole);
      }
    });

    it("settle accepts an empty batch from the keeper", async function () {
      const { exchange, keeper } = await loadFixture(deployFunded);
      await expect(exchange.connect(keeper).settle([], [], [])).to.not.emit(exchange, "Traded");
    });
  });
});
