import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { LOT_SIZE, TICK_SIZE } from "../helpers/fixture";
import { orderKey, SkipReason } from "../helpers/orders";
import {
  baseOf,
  deployFunded,
  deployFundedWithWallet,
  expectOnlyMiddleSkipped,
  feeOf,
  fill,
  fundWith,
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

/**
 * A hostile trader signs an order, the keeper matches it, and before the batch lands the trader does
 * whatever it can to make the batch revert. In each case the batch must still execute every other
 * fill and skip only the hostile trader's, with the reason that names what it did.
 *
 *   fill 0: carol sells 1 lot to dave        — executes
 *   fill 1: hostile maker  ⇄  honest taker  — skipped (reason)
 *   fill 2: carol sells 2 lots to dave       — executes
 */
describe("Exchange settle against a hostile trader", function () {
  /** Gas for batches with a hostile ERC-1271 wallet: enough that the wallet gets its full allowance. */
  const GAS_LIMIT = 5_000_000n;
  /** A bound the whole three-fill batch stays under, whatever the wallet does with its 100k gas. */
  const GAS_BOUND = 400_000n;

  describe("an EOA trader", function () {
    it("a trader who cancels its order makes settle skip only its fill", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await aliceAsksBobBids(env);
      await env.exchange.connect(env.alice).cancel([1n]);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerCancelled);
    });

    it("a taker who cancels its order makes settle skip only its fill", async function () {
      const env = await loadFixture(deployFunded);
      const maker = await signed(env.bob, env.domain, {
        isBuy: false,
        nonce: 1n,
      });
      const taker = await signed(env.alice, env.domain, {
        isBuy: true,
        nonce: 1n,
      });
      await env.exchange.connect(env.alice).cancel([1n]);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.TakerCancelled);
    });

    it("a trader who raises its nonce floor past its order makes settle skip only its fill", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await aliceAsksBobBids(env);
      await env.exchange.connect(env.alice).cancelUpTo(1_000n);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerNonceBelowFloor);
    });

    it("a seller who withdraws its base makes settle skip only its fill", async function () {
      const env = await loadFixture(deployFunded);
      const { maker, taker } = await aliceAsksBobBids(env);
      await env.exchange.connect(env.alice).withdraw(env.base, START_BASE);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerBalanceTooLow);
    });

    it("a buyer who withdraws its quote makes settle skip only its fill", async function () {
      const env = await loadFixture(deployFunded);
      const maker = await signed(env.bob, env.domain, {
        isBuy: false,
        nonce: 1n,
      });
      const taker = await signed(env.alice, env.domain, {
        isBuy: true,
        nonce: 1n,
      });
      await env.exchange.connect(env.alice).withdraw(env.quote, START_QUOTE);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.TakerBalanceTooLow);
    });

    it("a trader who lets its order expire makes settle skip only its fill", async function () {
      const env = await loadFixture(deployFunded);
      const expiry = BigInt(await time.latest()) + 60n;
      const maker = await signed(env.alice, env.domain, {
        isBuy: false,
        nonce: 1n,
        expiry,
      });
      const taker = await signed(env.bob, env.domain, {
        isBuy: true,
        nonce: 1n,
      });
      await time.increase(61);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerExpired);
    });

    it("a trader whose maxFeeBps the admin's new fee exceeds makes settle skip only its fill", async function () {
      const env = await loadFixture(deployFunded);
      const maker = await signed(env.alice, env.domain, {
        isBuy: false,
        nonce: 1n,
        maxFeeBps: 5n,
      });
      const taker = await signed(env.bob, env.domain, {
        isBuy: true,
        nonce: 1n,
        maxFeeBps: 100n,
      });
      await env.exchange.setFees(1, 6n, 10n);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerFeeTooHigh);
    });

    it("a taker whose maxFeeBps the admin's new fee exceeds makes settle skip only its fill", async function () {
      const env = await loadFixture(deployFunded);
      const maker = await signed(env.bob, env.domain, {
        isBuy: false,
        nonce: 1n,
        maxFeeBps: 100n,
      });
      const taker = await signed(env.alice, env.domain, {
        isBuy: true,
        nonce: 1n,
        maxFeeBps: 10n,
      });
      await env.exchange.setFees(1, 5n, 11n);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.TakerFeeTooHigh);
    });

    it("a trader whose orders meet on both sides of a fill makes settle skip only that self-trade", async function () {
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
    });
  });

  describe("an ERC-1271 wallet", function () {
    it("the test wallet answers isValidSignature in each hostile mode as described", async function () {
      const { wallet, walletOwner } = await loadFixture(deployFundedWithWallet);
      const call = async () =>
        ethers.provider.call({
          to: await wallet.getAddress(),
          data: wallet.interface.encodeFunctionData("isValidSignature", [ethers.ZeroHash, "0x"]),
          gasLimit: 100_000n,
        });
      const magic = wallet.interface.getFunction("isValidSignature").selector;
      await wallet.connect(walletOwner).setMode(WalletMode.Reject);
      expect(await call()).to.equal(ethers.zeroPadBytes("0xffffffff", 32));
      await wallet.connect(walletOwner).setMode(WalletMode.ShortData);
      expect(await call()).to.equal(magic);
      await wallet.connect(walletOwner).setMode(WalletMode.Garbage);
      expect(await call()).to.equal(ethers.zeroPadBytes(magic, 31) + "01");
      await wallet.connect(walletOwner).setMode(WalletMode.HugeData);
      expect(ethers.dataLength(await call())).to.equal(100_000);
      await wallet.connect(walletOwner).setMode(WalletMode.Revert);
      await expect(call()).to.be.rejected;
      await wallet.connect(walletOwner).setMode(WalletMode.BurnGas);
      await expect(call()).to.be.rejected;
    });

    it("a wallet that cancels its order makes settle skip only its fill", async function () {
      const env = await loadFixture(deployFundedWithWallet);
      const maker = await signedByWallet(env.wallet, env.walletOwner, env.domain, { isBuy: false, nonce: 1n });
      const taker = await signed(env.bob, env.domain, {
        isBuy: true,
        nonce: 1n,
      });
      await env.wallet.connect(env.walletOwner).cancel(env.exchange, [1n]);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerCancelled);
    });

    it("a wallet that withdraws its balance makes settle skip only its fill", async function () {
      const env = await loadFixture(deployFundedWithWallet);
      const maker = await signedByWallet(env.wallet, env.walletOwner, env.domain, { isBuy: false, nonce: 1n });
      const taker = await signed(env.bob, env.domain, {
        isBuy: true,
        nonce: 1n,
      });
      await env.wallet.connect(env.walletOwner).withdraw(env.exchange, env.base, START_BASE);
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerBalanceTooLow);
    });

    const hostileModes: [string, number][] = [
      ["rejects the order", WalletMode.Reject],
      ["reverts", WalletMode.Revert],
      ["burns all its gas", WalletMode.BurnGas],
      ["returns the magic value unpadded, in 4 bytes", WalletMode.ShortData],
      ["returns a garbage word", WalletMode.Garbage],
      ["returns 100 kB of data", WalletMode.HugeData],
    ];

    it("settle reverts InsufficientGasForWallet when the keeper leaves a wallet less than its whole allowance", async function () {
      const env = await loadFixture(deployFundedWithWallet);
      const maker = await signedByWallet(env.wallet, env.walletOwner, env.domain, { isBuy: false, nonce: 1n });
      const taker = await signed(env.bob, env.domain, { isBuy: true, nonce: 1n });
      // Enough gas to reach the wallet check, too little to hand the wallet its 100,000.
      await expect(settleAs(env.exchange, env.keeper, [maker, taker], [fill(0, 1, 1n)], 120_000n))
        .to.be.revertedWithCustomError(env.exchange, "InsufficientGasForWallet")
        .withArgs(0n, 0n);
      // With enough gas the same batch executes: the wallet approves.
      await expect(settleAs(env.exchange, env.keeper, [maker, taker], [fill(0, 1, 1n)], GAS_LIMIT)).to.emit(
        env.exchange,
        "Traded",
      );
    });

    for (const [behaviour, mode] of hostileModes) {
      it(`a maker wallet that ${behaviour} makes settle skip only its fill, within bounded gas`, async function () {
        const env = await loadFixture(deployFundedWithWallet);
        const maker = await signedByWallet(env.wallet, env.walletOwner, env.domain, { isBuy: false, nonce: 1n });
        const taker = await signed(env.bob, env.domain, {
          isBuy: true,
          nonce: 1n,
        });
        await env.wallet.connect(env.walletOwner).setMode(mode);
        const { gasUsed } = await expectOnlyMiddleSkipped(
          env,
          maker,
          taker,
          SkipReason.MakerSignatureRejected,
          GAS_LIMIT,
        );
        expect(gasUsed).to.be.lessThan(GAS_BOUND);
      });

      it(`a taker wallet that ${behaviour} makes settle skip only its fill`, async function () {
        const env = await loadFixture(deployFundedWithWallet);
        const maker = await signed(env.alice, env.domain, {
          isBuy: false,
          nonce: 1n,
        });
        const taker = await signedByWallet(env.wallet, env.walletOwner, env.domain, { isBuy: true, nonce: 1n });
        await env.wallet.connect(env.walletOwner).setMode(mode);
        await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.TakerSignatureRejected, GAS_LIMIT);
      });
    }

    it("a wallet that approves again after rejecting fills in a later call", async function () {
      const env = await loadFixture(deployFundedWithWallet);
      const { exchange, keeper, wallet, walletOwner, domain, bob } = env;
      const ask = await signedByWallet(wallet, walletOwner, domain, {
        isBuy: false,
        nonce: 1n,
      });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await wallet.connect(walletOwner).setMode(WalletMode.Revert);
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 1n)]))
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MakerSignatureRejected);
      await wallet.connect(walletOwner).setMode(WalletMode.Approve);
      await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 1n)])).to.emit(exchange, "Traded");
      expect(await exchange.filled(wallet, 1n)).to.equal(1n);
    });
  });

  it("settle skips each of several hostile traders in one batch and executes every honest fill", async function () {
    const env = await loadFixture(deployFundedWithWallet);
    const { exchange, keeper, domain, alice, bob, carol, dave, wallet, walletOwner, quote } = env;
    const expiry = BigInt(await time.latest()) + 60n;
    const honestAsk = await signed(carol, domain, {
      isBuy: false,
      nonce: 1n,
      lots: 100n,
    });
    const honestBid = await signed(dave, domain, {
      isBuy: true,
      nonce: 1n,
      lots: 100n,
    });
    const cancelled = await signed(alice, domain, { isBuy: false, nonce: 1n });
    const expiring = await signed(bob, domain, {
      isBuy: false,
      nonce: 1n,
      expiry,
    });
    const walletAsk = await signedByWallet(wallet, walletOwner, domain, {
      isBuy: false,
      nonce: 1n,
    });
    const selfBid = await signed(carol, domain, { isBuy: true, nonce: 2n });
    await exchange.connect(alice).cancel([1n]);
    await wallet.connect(walletOwner).setMode(WalletMode.BurnGas);
    await time.increase(61);

    // orders: 0 honestAsk, 1 honestBid, 2 cancelled, 3 expiring, 4 walletAsk, 5 selfBid
    const { traded, skipped, gasUsed } = await outcomes(
      exchange,
      settleAs(
        exchange,
        keeper,
        [honestAsk, honestBid, cancelled, expiring, walletAsk, selfBid],
        [
          fill(0, 1, 1n),
          fill(2, 1, 1n),
          fill(0, 1, 2n),
          fill(3, 1, 1n),
          fill(4, 1, 1n),
          fill(0, 5, 1n),
          fill(0, 1, 3n),
        ],
        GAS_LIMIT,
      ),
    );
    expect(skipped).to.deep.equal([
      [1, SkipReason.MakerCancelled],
      [3, SkipReason.MakerExpired],
      [4, SkipReason.MakerSignatureRejected],
      [5, SkipReason.SelfTrade],
    ]);
    expect(traded.map((t) => t.lots)).to.deep.equal([1n, 2n, 3n]);
    expect(await exchange.filled(dave.address, 1n)).to.equal(6n);
    const q = quoteOf(6n, PRICE);
    expect(await exchange.balanceOf(carol.address, quote)).to.equal(START_QUOTE + q - feeOf(q, 5n));
    expect(gasUsed).to.be.lessThan(GAS_BOUND);
  });

  it("settle makes no token calls: a market of tokens that revert on transfer still settles", async function () {
    const env = await loadFixture(deployFunded);
    const { exchange, keeper, domain, alice, bob } = env;
    const revBase = await ethers.deployContract("RevertingToken");
    const revQuote = await ethers.deployContract("RevertingToken");
    await exchange.listMarket(revBase, revQuote, LOT_SIZE, TICK_SIZE, 5n, 10n);
    await fundWith(exchange, revBase, alice, START_BASE);
    await fundWith(exchange, revQuote, bob, START_QUOTE);
    await revBase.setReverting(true);
    await revQuote.setReverting(true);

    const ask = await signed(alice, domain, {
      isBuy: false,
      nonce: 1n,
      marketId: 2n,
    });
    const buy = await signed(bob, domain, {
      isBuy: true,
      nonce: 1n,
      marketId: 2n,
    });
    await expect(settleAs(exchange, keeper, [ask, buy], [fill(0, 1, 4n)]))
      .to.emit(exchange, "Traded")
      .withArgs(2n, orderKey(alice.address, 1n), orderKey(bob.address, 1n), false, PRICE, 4n);
    expect(await exchange.balanceOf(bob.address, revBase)).to.equal(baseOf(4n));
    const q = quoteOf(4n, PRICE);
    expect(await exchange.balanceOf(alice.address, revQuote)).to.equal(q - feeOf(q, 5n));
    // The tokens really do revert: only settle got through.
    await expect(exchange.connect(bob).withdraw(revBase, 1n)).to.be.revertedWithCustomError(
      revBase,
      "TransfersReverting",
    );
  });
});
