import { expect } from "chai";
import { ethers } from "hardhat";
import { deployExchange as deployLinkedExchange } from "../../scripts/lib/deploy";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { LOT_SIZE, MAKER_FEE_BPS, TAKER_FEE_BPS } from "../helpers/fixture";
import {
  exchangeDomain,
  FILL_OR_KILL,
  IMMEDIATE_OR_CANCEL,
  MAX_UINT64,
  orderKey,
  ORDER_TYPES,
  POST_ONLY,
  signOrder,
  SkipReason,
} from "../helpers/orders";
import {
  balancesOf,
  baseOf,
  deployFunded,
  deployFundedWithWallet,
  deployTwoMarkets,
  expectOnlyMiddleSkipped,
  feeOf,
  fill,
  outcomes,
  PRICE,
  quoteOf,
  settleAs,
  signed,
  signedByWallet,
  START_BASE,
  START_QUOTE,
  WalletMode,
  aliceAsksBobBids,
} from "./support";

describe("Exchange settle", function () {
  describe("amounts and fees", function () {
    it("settle moves exact lot and tick amounts and rounds each fee down", async function () {
      const { exchange, domain, keeper, admin, alice, bob, base, quote } = await loadFixture(deployFunded);
      // alice rests a sell of 7 lots at 200 003 ticks; bob takes it.
      const sell = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 7n,
      });
      const buy = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 7n,
      });
      await settleAs(exchange, keeper, [sell, buy], [fill(0, 1, 7n)]);

      // quote = 7 * 200_003 * 100 = 140_002_100 atoms; maker fee 5 bps = 70_001.05 -> 70_001;
      // taker fee 10 bps = 140_002.1 -> 140_002.
      const [[aliceBase, aliceQuote], [bobBase, bobQuote], [, adminQuote]] = await balancesOf(
        exchange,
        [alice.address, bob.address, admin.address],
        [await base.getAddress(), await quote.getAddress()],
      );
      expect(aliceBase).to.equal(START_BASE - 7n * LOT_SIZE);
      expect(bobBase).to.equal(START_BASE + 7n * LOT_SIZE);
      expect(aliceQuote).to.equal(START_QUOTE + 140_002_100n - 70_001n);
      expect(bobQuote).to.equal(START_QUOTE - 140_002_100n - 140_002n);
      expect(adminQuote).to.equal(70_001n + 140_002n);
      expect(await exchange.filled(alice.address, 1n)).to.equal(7n);
      expect(await exchange.filled(bob.address, 1n)).to.equal(7n);
    });

    it("settle charges a buying maker quote plus the maker fee and pays a selling taker quote minus the taker fee", async function () {
      const { exchange, domain, keeper, admin, alice, bob, base, quote } = await loadFixture(deployFunded);
      const bid = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 3n,
        priceTicks: 999_999n,
      });
      const ask = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 3n,
        priceTicks: 1n,
      });
      await settleAs(exchange, keeper, [bid, ask], [fill(0, 1, 3n)]);

      const q = 3n * 999_999n * 100n; // 299_999_700
      const [[bobBase, bobQuote], [aliceBase, aliceQuote], [, adminQuote]] = await balancesOf(
        exchange,
        [bob.address, alice.address, admin.address],
        [await base.getAddress(), await quote.getAddress()],
      );
      expect(bobBase).to.equal(START_BASE + 3n * LOT_SIZE);
      expect(bobQuote).to.equal(START_QUOTE - q - 149_999n); // 5 bps of q = 149_999.85
      expect(aliceBase).to.equal(START_BASE - 3n * LOT_SIZE);
      expect(aliceQuote).to.equal(START_QUOTE + q - 299_999n); // 10 bps of q = 299_999.7
      expect(adminQuote).to.equal(149_999n + 299_999n);
    });

    it("settle fills at the maker's price when the taker's limit is better", async function () {
      const { exchange, domain, keeper, alice, bob, carol, dave, quote } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        priceTicks: 1_000n,
      });
      const generousBuy = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        priceTicks: 1_100n,
      });
      const bid = await signed(carol, domain, {
        isBuy: true,
        nonce: 1n,
        priceTicks: 1_000n,
      });
      const cheapSell = await signed(dave, domain, {
        isBuy: false,
        nonce: 1n,
        priceTicks: 900n,
      });
      const { traded } = await outcomes(
        exchange,
        settleAs(exchange, keeper, [ask, generousBuy, bid, cheapSell], [fill(0, 1, 2n), fill(2, 3, 2n)]),
      );
      expect(traded.map((t) => t.priceTicks)).to.deep.equal([1_000n, 1_000n]);
      const q = quoteOf(2n, 1_000n);
      expect(await exchange.balanceOf(bob.address, quote)).to.equal(START_QUOTE - q - feeOf(q, TAKER_FEE_BPS));
      expect(await exchange.balanceOf(dave.address, quote)).to.equal(START_QUOTE + q - feeOf(q, TAKER_FEE_BPS));
    });

    it("settle fills when the limits are equal", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 1n)])).to.emit(exchange, "Traded");
    });

    it("settle charges nothing on a zero-fee market and a fee that rounds to zero", async function () {
      const { exchange, domain, keeper, admin, alice, bob, quote } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        priceTicks: 19n,
      });
      const buy = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        priceTicks: 19n,
      });
      // 1 lot at 19 ticks = 1_900 atoms: 5 bps = 0.95 and 10 bps = 1.9 round down to 0 and 1.
      await settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 1n)]);
      expect(await exchange.balanceOf(alice.address, quote)).to.equal(START_QUOTE + 1_900n);
      expect(await exchange.balanceOf(bob.address, quote)).to.equal(START_QUOTE - 1_901n);
      expect(await exchange.balanceOf(admin.address, quote)).to.equal(1n);

      await exchange.setFees(1, 0n, 0n);
      const ask2 = await signed(alice, domain, { isBuy: false, nonce: 2n });
      const buy2 = await signed(bob, domain, { isBuy: true, nonce: 2n });
      await settleAs(exchange, keeper, [ask2, buy2], [fill(0, 1, 3n)]);
      expect(await exchange.balanceOf(alice.address, quote)).to.equal(START_QUOTE + 1_900n + quoteOf(3n, PRICE));
      expect(await exchange.balanceOf(admin.address, quote)).to.equal(1n);
    });

    it("settle credits fees to the current fee recipient", async function () {
      const { exchange, domain, keeper, admin, alice, bob, carol, quote } = await loadFixture(deployFunded);
      await exchange.setFeeRecipient(carol.address);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 5n)]);
      const q = quoteOf(5n, PRICE);
      expect(await exchange.balanceOf(carol.address, quote)).to.equal(
        START_QUOTE + feeOf(q, MAKER_FEE_BPS) + feeOf(q, TAKER_FEE_BPS),
      );
      expect(await exchange.balanceOf(admin.address, quote)).to.equal(0n);
    });

    it("settle credits each market's fees in that market's quote token within one batch", async function () {
      const { exchange, domain, keeper, admin, alice, bob, quote, quote2 } = await loadFixture(deployTwoMarkets);
      const ask1 = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        marketId: 1n,
      });
      const buy1 = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        marketId: 1n,
      });
      const ask2 = await signed(alice, domain, {
        isBuy: false,
        nonce: 2n,
        marketId: 2n,
      });
      const buy2 = await signed(bob, domain, {
        isBuy: true,
        nonce: 2n,
        marketId: 2n,
      });
      await settleAs(
        exchange,
        keeper,
        [ask1, buy1, ask2, buy2],
        [fill(0, 1, 1n), fill(0, 1, 3n), fill(2, 3, 2n), fill(2, 3, 5n)],
      );
      const q1 = quoteOf(1n, PRICE);
      const q3 = quoteOf(3n, PRICE);
      const q2 = quoteOf(2n, PRICE);
      const q5 = quoteOf(5n, PRICE);
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

    it("settle reverts MarketNotContiguous when a market's fills are split by another market's", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployTwoMarkets);
      const ask1 = await signed(alice, domain, { isBuy: false, nonce: 1n, marketId: 1n });
      const buy1 = await signed(bob, domain, { isBuy: true, nonce: 1n, marketId: 1n });
      const ask2 = await signed(alice, domain, { isBuy: false, nonce: 2n, marketId: 2n });
      const buy2 = await signed(bob, domain, { isBuy: true, nonce: 2n, marketId: 2n });
      await expect(
        settleAs(exchange, keeper, [ask1, buy1, ask2, buy2], [fill(0, 1, 1n), fill(2, 3, 2n), fill(0, 1, 3n)]),
      )
        .to.be.revertedWithCustomError(exchange, "MarketNotContiguous")
        .withArgs(2n, 1n);
    });
    it("settle fills a buyer who holds exactly quote plus fee and skips one atom short", async function () {
      const { exchange, domain, keeper, alice, bob, carol, quote } = await loadFixture(deployFunded);
      const q = quoteOf(7n, PRICE);
      const needed = q + feeOf(q, TAKER_FEE_BPS);
      await exchange.connect(bob).withdraw(quote, START_QUOTE - needed);
      await exchange.connect(carol).withdraw(quote, START_QUOTE - needed + 1n);
      const ask = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 14n,
      });
      const bobBuy = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 7n,
      });
      const carolBuy = await signed(carol, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 7n,
      });
      const { traded, skipped } = await outcomes(
        exchange,
        settleAs(exchange, keeper, [ask, bobBuy, carolBuy], [fill(0, 1, 7n), fill(0, 2, 7n)]),
      );
      expect(traded.map((t) => t.taker)).to.deep.equal([bob.address]);
      expect(skipped).to.deep.equal([[1, SkipReason.TakerBalanceTooLow]]);
      expect(await exchange.balanceOf(bob.address, quote)).to.equal(0n);
      expect(await exchange.balanceOf(carol.address, quote)).to.equal(needed - 1n);
    });

    it("settle fills an order whose maxFeeBps equals the market's fee", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        maxFeeBps: MAKER_FEE_BPS,
      });
      const buy = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        maxFeeBps: TAKER_FEE_BPS,
      });
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 1n)])).to.emit(exchange, "Traded");
    });
  });

  describe("Traded", function () {
    it("settle emits Traded with the market, both orders, the maker's side and price, and the lots", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const bid = await signed(alice, domain, {
        isBuy: true,
        nonce: 11n,
        priceTicks: 5_000n,
      });
      const sell = await signed(bob, domain, {
        isBuy: false,
        nonce: 22n,
        priceTicks: 4_000n,
      });
      await expect(settleAs(exchange, keeper, [bid, sell], [fill(0, 1, 3n)]))
        .to.emit(exchange, "Traded")
        .withArgs(1n, orderKey(alice.address, 11n), orderKey(bob.address, 22n), true, 5_000n, 3n);
    });
  });

  describe("partial fills and order reuse", function () {
    it("settle fills an order partly across calls until it is full", async function () {
      const { exchange, domain, keeper, alice, bob, carol } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 10n,
      });
      const bobBuy = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 10n,
      });
      const carolBuy = await signed(carol, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 10n,
      });
      await settleAs(exchange, keeper, [ask, bobBuy], [fill(0, 1, 3n)]);
      await settleAs(exchange, keeper, [ask, carolBuy], [fill(0, 1, 4n)]);
      expect(await exchange.filled(alice.address, 1n)).to.equal(7n);
      await expect(settleAs(exchange, keeper, [ask, bobBuy], [fill(0, 1, 4n)]))
        .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
        .withArgs(0n, 0n, 3n, 4n);
      await settleAs(exchange, keeper, [ask, bobBuy], [fill(0, 1, 3n)]);
      expect(await exchange.filled(alice.address, 1n)).to.equal(10n);
      expect(await exchange.filled(bob.address, 1n)).to.equal(6n);
      await expect(settleAs(exchange, keeper, [ask, carolBuy], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
        .withArgs(0n, 0n, 0n, 1n);
    });

    it("settle lets one maker order fill several takers in one call", async function () {
      const { exchange, domain, keeper, alice, bob, carol, dave, base } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 10n,
      });
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
      const buy = await signed(dave, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 9n,
        priceTicks: 3_000n,
      });
      const asks = [
        await signed(alice, domain, {
          isBuy: false,
          nonce: 1n,
          priceTicks: 1_000n,
        }),
        await signed(bob, domain, {
          isBuy: false,
          nonce: 1n,
          priceTicks: 2_000n,
        }),
        await signed(carol, domain, {
          isBuy: false,
          nonce: 1n,
          priceTicks: 3_000n,
        }),
      ];
      await settleAs(exchange, keeper, [buy, ...asks], [fill(1, 0, 2n), fill(2, 0, 3n), fill(3, 0, 4n)]);
      const q = [quoteOf(2n, 1_000n), quoteOf(3n, 2_000n), quoteOf(4n, 3_000n)];
      const paid = q.reduce((s, x) => s + x + feeOf(x, TAKER_FEE_BPS), 0n);
      expect(await exchange.balanceOf(dave.address, quote)).to.equal(START_QUOTE - paid);
      expect(await exchange.filled(dave.address, 1n)).to.equal(9n);
    });

    it("settle lets an ERC-1271 wallet's order fill several takers in one call", async function () {
      const { exchange, domain, keeper, wallet, walletOwner, bob, carol } = await loadFixture(deployFundedWithWallet);
      const ask = await signedByWallet(wallet, walletOwner, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 10n,
      });
      const bobBuy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      const carolBuy = await signed(carol, domain, { isBuy: true, nonce: 1n });
      const { traded, skipped } = await outcomes(
        exchange,
        settleAs(exchange, keeper, [ask, bobBuy, carolBuy], [fill(0, 1, 6n), fill(0, 2, 4n)]),
      );
      expect(skipped).to.deep.equal([]);
      expect(traded.map((t) => t.maker)).to.deep.equal([await wallet.getAddress(), await wallet.getAddress()]);
      expect(await exchange.filled(wallet, 1n)).to.equal(10n);
    });

    it("settle asks an ERC-1271 wallet once per call however many fills use its order", async function () {
      const { exchange, domain, keeper, wallet, walletOwner, bob, carol, dave } =
        await loadFixture(deployFundedWithWallet);
      await wallet.connect(walletOwner).setMode(WalletMode.BurnGas); // every question costs the full 100k gas
      const ask = await signedByWallet(wallet, walletOwner, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 10n,
      });
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
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await expect(exchange.connect(keeper).settle([ask.order, buy.order], [ask.signature], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "SignatureCountMismatch")
        .withArgs(2n, 1n);
    });

    it("settle reverts OrderIndexOutOfRange for a maker or taker index beyond the orders", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 1n), fill(2, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "OrderIndexOutOfRange")
        .withArgs(1n, 2n, 2n);
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 7, 1n)]))
        .to.be.revertedWithCustomError(exchange, "OrderIndexOutOfRange")
        .withArgs(0n, 7n, 2n);
    });

    it("settle reverts ZeroLotFill for a fill of zero lots", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 1n), fill(0, 1, 0n)]))
        .to.be.revertedWithCustomError(exchange, "ZeroLotFill")
        .withArgs(1n);
    });

    it("settle reverts MarketMismatch for orders of different markets", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployTwoMarkets);
      const ask = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        marketId: 2n,
      });
      const buy = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        marketId: 1n,
      });
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "MarketMismatch")
        .withArgs(0n, 2n, 1n);
    });

    it("settle reverts UnknownMarket for a market that is not listed", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      const ask9 = await signed(alice, domain, {
        isBuy: false,
        nonce: 2n,
        marketId: 9n,
      });
      const buy9 = await signed(bob, domain, {
        isBuy: true,
        nonce: 2n,
        marketId: 9n,
      });
      await expect(settleAs(exchange, keeper, [ask9, buy9], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "UnknownMarket")
        .withArgs(0n, 9n);
      await expect(settleAs(exchange, keeper, [ask, buy, ask9, buy9], [fill(0, 1, 1n), fill(2, 3, 1n)]))
        .to.be.revertedWithCustomError(exchange, "UnknownMarket")
        .withArgs(1n, 9n);
    });

    it("settle reverts UnknownMarket for market 0, even as the first fill", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask0 = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        marketId: 0n,
      });
      const buy0 = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        marketId: 0n,
      });
      await expect(settleAs(exchange, keeper, [ask0, buy0], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "UnknownMarket")
        .withArgs(0n, 0n);
      expect(await exchange.filled(alice.address, 1n)).to.equal(0n);
    });

    it("settle reverts SameSide for two buys or two sells", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const buyA = await signed(alice, domain, { isBuy: true, nonce: 1n });
      const buyB = await signed(bob, domain, { isBuy: true, nonce: 1n });
      const sellA = await signed(alice, domain, { isBuy: false, nonce: 2n });
      const sellB = await signed(bob, domain, { isBuy: false, nonce: 2n });
      await expect(settleAs(exchange, keeper, [buyA, buyB], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "SameSide")
        .withArgs(0n, true);
      await expect(settleAs(exchange, keeper, [sellA, sellB], [fill(1, 0, 1n)]))
        .to.be.revertedWithCustomError(exchange, "SameSide")
        .withArgs(0n, false);
    });

    it("settle reverts PricesDoNotCross when a taker's limit is worse than the maker's price", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        priceTicks: 1_000n,
      });
      const lowBuy = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        priceTicks: 999n,
      });
      await expect(settleAs(exchange, keeper, [ask, lowBuy], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "PricesDoNotCross")
        .withArgs(0n, 1_000n, 999n);
      const bid = await signed(alice, domain, {
        isBuy: true,
        nonce: 2n,
        priceTicks: 1_000n,
      });
      const highSell = await signed(bob, domain, {
        isBuy: false,
        nonce: 2n,
        priceTicks: 1_001n,
      });
      await expect(settleAs(exchange, keeper, [bid, highSell], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "PricesDoNotCross")
        .withArgs(0n, 1_000n, 1_001n);
    });

    it("settle reverts PostOnlyTaker for a post-only order used as the taker", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const buy = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        flags: POST_ONLY,
      });
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "PostOnlyTaker")
        .withArgs(0n, 1n);
    });

    it("settle fills a post-only order used as the maker", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        flags: POST_ONLY,
      });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 2n)])).to.emit(exchange, "Traded");
      expect(await exchange.filled(alice.address, 1n)).to.equal(2n);
    });

    it("settle reverts FillOrKillMaker for a fill-or-kill order used as the maker", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        flags: FILL_OR_KILL,
        lots: 1n,
      });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await expect(settleAs(exchange, keeper, [buy, ask], [fill(1, 0, 1n)]))
        .to.be.revertedWithCustomError(exchange, "FillOrKillMaker")
        .withArgs(0n, 1n);
    });

    it("settle reverts FillOrKillSizeMismatch when a fill-or-kill taker's fills do not add up to its size", async function () {
      const { exchange, domain, keeper, alice, bob, carol } = await loadFixture(deployFunded);
      const fok = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        flags: FILL_OR_KILL,
        lots: 10n,
      });
      const askA = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 10n,
      });
      const askC = await signed(carol, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 10n,
      });
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
      const askA = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 10n,
      });
      const buyD = await signed(dave, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 10n,
      });
      const fok = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        flags: FILL_OR_KILL,
        lots: 10n,
      });
      const askC = await signed(carol, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 10n,
      });
      await expect(
        settleAs(exchange, keeper, [askA, buyD, fok, askC], [fill(0, 1, 1n), fill(0, 2, 6n), fill(3, 2, 5n)]),
      )
        .to.be.revertedWithCustomError(exchange, "FillOrKillSizeMismatch")
        .withArgs(1n, 10n, 11n);
    });

    it("settle reverts FillOrKillNotContiguous when a fill-or-kill taker appears again after its run", async function () {
      const { exchange, domain, keeper, alice, bob, carol, dave } = await loadFixture(deployFunded);
      const askA = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 10n,
      });
      const fok = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        flags: FILL_OR_KILL,
        lots: 4n,
      });
      const askC = await signed(carol, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 10n,
      });
      const buyD = await signed(dave, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 10n,
      });
      await expect(
        settleAs(exchange, keeper, [askA, fok, askC, buyD], [fill(0, 1, 4n), fill(2, 3, 1n), fill(2, 1, 4n)]),
      )
        .to.be.revertedWithCustomError(exchange, "FillOrKillNotContiguous")
        .withArgs(2n, 1n);
    });

    it("settle reverts InvalidFlags for an order with a flag bit outside POST_ONLY, IOC and FOK", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const badAsk = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        flags: 8n,
      });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await expect(settleAs(exchange, keeper, [badAsk, buy], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "InvalidFlags")
        .withArgs(0n, 0n, 8n);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 2n });
      const badBuy = await signed(bob, domain, {
        isBuy: true,
        nonce: 2n,
        flags: 0x80n | IMMEDIATE_OR_CANCEL,
      });
      await expect(settleAs(exchange, keeper, [ask, badBuy], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "InvalidFlags")
        .withArgs(0n, 1n, 0x82n);
    });

    it("settle reverts SameOrderOnBothSides for one (maker, nonce) on both sides of a fill", async function () {
      const { exchange, domain, keeper, alice } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 5n });
      const bid = await signed(alice, domain, { isBuy: true, nonce: 5n });
      await expect(settleAs(exchange, keeper, [ask, bid], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "SameOrderOnBothSides")
        .withArgs(0n, alice.address, 5n);
    });

    it("settle reverts FillExceedsOrder for a fill beyond the maker's or the taker's remaining lots", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 10n,
      });
      const bigBuy = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 20n,
      });
      await expect(settleAs(exchange, keeper, [ask, bigBuy], [fill(0, 1, 11n)]))
        .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
        .withArgs(0n, 0n, 10n, 11n);
      const smallBuy = await signed(bob, domain, {
        isBuy: true,
        nonce: 2n,
        lots: 5n,
      });
      await expect(settleAs(exchange, keeper, [ask, smallBuy], [fill(0, 1, 2n), fill(0, 1, 4n)]))
        .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
        .withArgs(1n, 1n, 3n, 4n);
    });

    it("settle reverts InvalidSignature for an EOA order signed by someone else", async function () {
      const { exchange, domain, keeper, alice, bob, carol } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      const forged = {
        ...buy,
        signature: await signOrder(carol, domain, buy.order),
      };
      await expect(settleAs(exchange, keeper, [ask, forged], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "InvalidSignature")
        .withArgs(0n, 1n);
    });

    it("settle reverts InvalidSignature for an EOA order changed after signing", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 1n,
      });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      const inflated = { ...ask, order: { ...ask.order, lots: 100n } };
      await expect(settleAs(exchange, keeper, [buy, inflated], [fill(1, 0, 5n)]))
        .to.be.revertedWithCustomError(exchange, "InvalidSignature")
        .withArgs(0n, 1n);
    });

    it("settle reverts InvalidSignature for an empty or malformed EOA signature", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      for (const signature of ["0x", "0x1234", buy.signature.slice(0, -2)]) {
        await expect(settleAs(exchange, keeper, [ask, { ...buy, signature }], [fill(0, 1, 1n)]))
          .to.be.revertedWithCustomError(exchange, "InvalidSignature")
          .withArgs(0n, 1n);
      }
    });

    it("settle rolls back the fills before a keeper mistake", async function () {
      const { exchange, domain, keeper, admin, alice, bob, base, quote } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      const accounts = [alice.address, bob.address, admin.address];
      const tokens = [await base.getAddress(), await quote.getAddress()];
      const before = await balancesOf(exchange, accounts, tokens);
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 2n), fill(0, 1, 0n)])).to.be.reverted;
      expect(await balancesOf(exchange, accounts, tokens)).to.deep.equal(before);
      expect(await exchange.filled(alice.address, 1n)).to.equal(0n);
    });
  });

  describe("skips", function () {
    it("settle skips a fill whose maker cancelled", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await aliceAsksBobBids(env);
      await env.exchange.connect(env.alice).cancel([1n]);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerCancelled);
    });

    it("settle skips a fill whose taker cancelled", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await aliceAsksBobBids(env);
      await env.exchange.connect(env.bob).cancel([1n]);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.TakerCancelled);
      expect(await env.exchange.filled(env.alice.address, 1n)).to.equal(0n);
    });

    it("settle skips a fill whose maker order expired", async function () {
      const env = await loadFixture(deployFunded);
      const expiry = BigInt(await time.latest()) + 100n;
      const maker = await signed(env.alice, env.domain, {
        isBuy: false,
        nonce: 1n,
        expiry,
      });
      const taker = await signed(env.bob, env.domain, {
        isBuy: true,
        nonce: 1n,
      });
      await time.setNextBlockTimestamp(expiry + 1n);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerExpired);
    });

    it("settle skips a fill whose taker order expired", async function () {
      const env = await loadFixture(deployFunded);
      const expiry = BigInt(await time.latest()) + 100n;
      const maker = await signed(env.alice, env.domain, {
        isBuy: false,
        nonce: 1n,
      });
      const taker = await signed(env.bob, env.domain, {
        isBuy: true,
        nonce: 1n,
        expiry,
      });
      await time.increase(200);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.TakerExpired);
    });

    it("settle fills an order in the very second of its expiry", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const expiry = BigInt(await time.latest()) + 100n;
      const ask = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        expiry,
      });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n, expiry });
      await time.setNextBlockTimestamp(expiry);
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 1n)])).to.emit(exchange, "Traded");
    });

    it("settle skips a fill whose maker nonce is below the maker's floor", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await aliceAsksBobBids(env);
      await env.exchange.connect(env.alice).cancelUpTo(2n);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerNonceBelowFloor);
    });

    it("settle skips a fill whose taker nonce is below the taker's floor", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await aliceAsksBobBids(env);
      await env.exchange.connect(env.bob).cancelUpTo(2n);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.TakerNonceBelowFloor);
    });

    it("settle skips a fill whose selling maker lacks the base", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await aliceAsksBobBids(env);
      await env.exchange.connect(env.alice).withdraw(env.base, START_BASE);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerBalanceTooLow);
    });

    it("settle skips a fill whose buying maker cannot pay quote plus its fee", async function () {
      const env = await loadFixture(deployFunded);
      const maker = await signed(env.alice, env.domain, {
        isBuy: true,
        nonce: 1n,
      });
      const taker = await signed(env.bob, env.domain, {
        isBuy: false,
        nonce: 1n,
      });
      const q = quoteOf(1n, PRICE);
      await env.exchange.connect(env.alice).withdraw(env.quote, START_QUOTE - q - feeOf(q, MAKER_FEE_BPS) + 1n);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerBalanceTooLow);
    });

    it("settle skips a fill whose buying taker lacks the quote", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await aliceAsksBobBids(env);
      await env.exchange.connect(env.bob).withdraw(env.quote, START_QUOTE);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.TakerBalanceTooLow);
    });

    it("settle skips a fill whose selling taker lacks the base", async function () {
      const env = await loadFixture(deployFunded);
      const maker = await signed(env.alice, env.domain, {
        isBuy: true,
        nonce: 1n,
      });
      const taker = await signed(env.bob, env.domain, {
        isBuy: false,
        nonce: 1n,
      });
      await env.exchange.connect(env.bob).withdraw(env.base, START_BASE - LOT_SIZE + 1n);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.TakerBalanceTooLow);
    });

    it("settle skips a fill whose maker fee is above the maker's maxFeeBps", async function () {
      const env = await loadFixture(deployFunded);
      const maker = await signed(env.alice, env.domain, {
        isBuy: false,
        nonce: 1n,
        maxFeeBps: MAKER_FEE_BPS - 1n,
      });
      const taker = await signed(env.bob, env.domain, {
        isBuy: true,
        nonce: 1n,
      });
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerFeeTooHigh);
    });

    it("settle skips a fill whose taker fee is above the taker's maxFeeBps", async function () {
      const env = await loadFixture(deployFunded);
      const maker = await signed(env.alice, env.domain, {
        isBuy: false,
        nonce: 1n,
      });
      const taker = await signed(env.bob, env.domain, {
        isBuy: true,
        nonce: 1n,
        maxFeeBps: TAKER_FEE_BPS - 1n,
      });
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.TakerFeeTooHigh);
    });

    it("settle skips a fill whose maker is an ERC-1271 wallet that rejects the order", async function () {
      const env = await loadFixture(deployFundedWithWallet);
      const maker = await signedByWallet(env.wallet, env.walletOwner, env.domain, { isBuy: false, nonce: 1n });
      const taker = await signed(env.bob, env.domain, {
        isBuy: true,
        nonce: 1n,
      });
      await env.wallet.connect(env.walletOwner).setMode(WalletMode.Reject);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerSignatureRejected);
    });

    it("settle skips a fill whose taker is an ERC-1271 wallet that rejects the order", async function () {
      const env = await loadFixture(deployFundedWithWallet);
      const maker = await signed(env.alice, env.domain, {
        isBuy: false,
        nonce: 1n,
      });
      const taker = await signedByWallet(env.wallet, env.walletOwner, env.domain, { isBuy: true, nonce: 1n });
      await env.wallet.connect(env.walletOwner).setMode(WalletMode.Reject);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.TakerSignatureRejected);
    });

    it("settle skips a self-trade between two orders of one account", async function () {
      const env = await loadFixture(deployFunded);
      const maker = await signed(env.alice, env.domain, {
        isBuy: false,
        nonce: 1n,
      });
      const taker = await signed(env.alice, env.domain, {
        isBuy: true,
        nonce: 2n,
      });
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.SelfTrade);
      expect(await env.exchange.filled(env.alice.address, 1n)).to.equal(0n);
      expect(await env.exchange.filled(env.alice.address, 2n)).to.equal(0n);
    });

    it("settle skips a fill-or-kill run with FillOrKillIncomplete for the fills that did not fail", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, domain, keeper, alice, bob, carol, dave } = env;
      const fok = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        flags: FILL_OR_KILL,
        lots: 3n,
      });
      const askA = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const askC = await signed(carol, domain, { isBuy: false, nonce: 1n });
      const buyD = await signed(dave, domain, { isBuy: true, nonce: 1n });
      await exchange.connect(alice).cancel([1n]);
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
  });

  describe("immediate-or-cancel", function () {
    it("settle kills a partly filled IOC taker after the call", async function () {
      const { exchange, domain, keeper, alice, bob, carol } = await loadFixture(deployFunded);
      const ioc = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        flags: IMMEDIATE_OR_CANCEL,
        lots: 10n,
      });
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
      const { exchange, domain, keeper, alice, bob, carol } = await loadFixture(deployFunded);
      const ioc = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        flags: IMMEDIATE_OR_CANCEL,
        lots: 10n,
      });
      const buyB = await signed(bob, domain, { isBuy: true, nonce: 1n });
      const buyC = await signed(carol, domain, { isBuy: true, nonce: 1n });
      await settleAs(exchange, keeper, [ioc, buyB], [fill(0, 1, 4n)]);
      expect(await exchange.filled(alice.address, 1n)).to.equal(MAX_UINT64);
      await expect(settleAs(exchange, keeper, [ioc, buyC], [fill(0, 1, 1n)]))
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MakerCancelled);
    });

    it("settle kills an IOC order whose only fill was skipped", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ioc = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        flags: IMMEDIATE_OR_CANCEL,
      });
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      await exchange.connect(alice).cancel([1n]);
      await expect(settleAs(exchange, keeper, [ask, ioc], [fill(0, 1, 1n)]))
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MakerCancelled);
      expect(await exchange.filled(bob.address, 1n)).to.equal(MAX_UINT64);
    });

    it("settle kills a fully filled IOC order too", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ioc = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        flags: IMMEDIATE_OR_CANCEL,
        lots: 2n,
      });
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      await settleAs(exchange, keeper, [ask, ioc], [fill(0, 1, 2n)]);
      expect(await exchange.filled(bob.address, 1n)).to.equal(MAX_UINT64);
    });
  });

  describe("fill-or-kill", function () {
    it("settle fills a fill-or-kill taker completely across two makers", async function () {
      const { exchange, domain, keeper, alice, bob, carol, base } = await loadFixture(deployFunded);
      const fok = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        flags: FILL_OR_KILL,
        lots: 10n,
      });
      const askA = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 4n,
      });
      const askC = await signed(carol, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 6n,
      });
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

    it("settle rolls back a fill-or-kill run whose second maker cannot deliver, leaving balances unchanged", async function () {
      const { exchange, domain, keeper, admin, alice, bob, carol, dave, base, quote } = await loadFixture(deployFunded);
      // carol keeps only 5 lots of base: she cannot deliver the 6 lots of the run's second fill.
      await exchange.connect(carol).withdraw(base, START_BASE - baseOf(5n));
      const fok = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        flags: FILL_OR_KILL,
        lots: 10n,
      });
      const askA = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 10n,
      });
      const askC = await signed(carol, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 6n,
      });
      const buyD = await signed(dave, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 1n,
      });
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
      await exchange.connect(bob).withdraw(quote, START_QUOTE - affordable);
      const fok = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        flags: FILL_OR_KILL,
        lots: 6n,
        priceTicks: 3_000n,
      });
      const askA = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        priceTicks: 1_000n,
      });
      const askC = await signed(carol, domain, {
        isBuy: false,
        nonce: 1n,
        priceTicks: 2_000n,
      });
      const askA2 = await signed(alice, domain, {
        isBuy: false,
        nonce: 2n,
        priceTicks: 3_000n,
      });
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
      const big = await signed(alice, domain, {
        isBuy: false,
        nonce: 7n,
        lots: 10n,
        priceTicks: 1_000n,
      });
      const small = await signed(alice, domain, {
        isBuy: false,
        nonce: 7n,
        lots: 6n,
        priceTicks: 900n,
      });
      const buyB = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 100n,
        priceTicks: 1_000n,
      });
      const buyC = await signed(carol, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 100n,
        priceTicks: 1_000n,
      });
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
      const big = await signed(alice, domain, {
        isBuy: false,
        nonce: 7n,
        lots: 10n,
      });
      const small = await signed(alice, domain, {
        isBuy: false,
        nonce: 7n,
        lots: 6n,
      });
      const buy = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 100n,
      });
      await expect(settleAs(exchange, keeper, [big, small, buy], [fill(1, 2, 6n), fill(0, 2, 5n)]))
        .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
        .withArgs(1n, 0n, 4n, 5n);
    });
  });

  describe("domain", function () {
    it("hashOrder returns the EIP-712 digest that ethers signs", async function () {
      const { exchange, domain, alice } = await loadFixture(deployFunded);
      const { order } = await signed(alice, domain, {
        isBuy: true,
        nonce: 42n,
        flags: 3n,
        maxFeeBps: 7n,
      });
      expect(await exchange.hashOrder(order)).to.equal(ethers.TypedDataEncoder.hash(domain, ORDER_TYPES, order));
    });

    it("settle does not execute an order signed for another chain id", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const otherChain = exchangeDomain(1n, await exchange.getAddress());
      const buy = await signed(bob, otherChain, { isBuy: true, nonce: 1n });
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "InvalidSignature")
        .withArgs(0n, 1n);
    });

    it("settle does not execute an order signed for another Exchange", async function () {
      const { exchange, domain, keeper, admin, alice, bob } = await loadFixture(deployFunded);
      const other = await deployLinkedExchange(ethers, admin.address);
      const { chainId } = await ethers.provider.getNetwork();
      const ask = await signed(alice, exchangeDomain(chainId, await other.getAddress()), { isBuy: false, nonce: 1n });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 1n)]))
        .to.be.revertedWithCustomError(exchange, "InvalidSignature")
        .withArgs(0n, 0n);
    });

    it("settle skips an ERC-1271 wallet's order signed for another chain id", async function () {
      const { exchange, domain, keeper, wallet, walletOwner, bob } = await loadFixture(deployFundedWithWallet);
      const otherChain = exchangeDomain(1n, await exchange.getAddress());
      const ask = await signedByWallet(wallet, walletOwner, otherChain, {
        isBuy: false,
        nonce: 1n,
      });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 1n)]))
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MakerSignatureRejected);
    });
  });

  describe("access", function () {
    it("settle reverts for an account without KEEPER_ROLE, the admin included", async function () {
      const { exchange, domain, admin, alice, bob, outsider } = await loadFixture(deployFunded);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      const keeperRole = await exchange.KEEPER_ROLE();
      for (const caller of [admin, outsider, alice]) {
        await expect(settleAs(exchange, caller, [ask, buy], [fill(0, 1, 1n)]))
          .to.be.revertedWithCustomError(exchange, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, keeperRole);
      }
    });

    it("settle reverts for a keeper whose role was revoked", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      await exchange.revokeRole(await exchange.KEEPER_ROLE(), keeper.address);
      const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 1n)])).to.be.revertedWithCustomError(
        exchange,
        "AccessControlUnauthorizedAccount",
      );
    });

    it("settle accepts an empty batch from the keeper", async function () {
      const { exchange, keeper } = await loadFixture(deployFunded);
      await expect(exchange.connect(keeper).settle([], [], [])).to.not.emit(exchange, "Traded");
    });
  });
});
