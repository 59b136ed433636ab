import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { SkipReasonName } from "@crossbook/sdk";
import { LOT_SIZE, MAKER_FEE_BPS, TAKER_FEE_BPS, TICK_SIZE } from "../helpers/fixture";
import { orderKey, SkipReason } from "../helpers/orders";
import {
  afterFirmness,
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
  signedPair,
  START_BASE,
  START_QUOTE,
  WalletMode,
  withdrawNow,
  type Env,
  type Signed,
} from "./support";

/**
 * A hostile trader signs an order, the keeper matches it, and the trader then does whatever it can to
 * make the batch revert. In each case the batch must still execute every other fill and skip only
 * the hostile trader's, with the reason that names what it did.
 *
 *   fill 0: carol sells 1 lot to dave        — executes
 *   fill 1: maker ⇄ taker (alice ⇄ bob)      — skipped (reason)
 *   fill 2: carol sells 2 lots to dave       — executes
 *
 * A trader's cancel, nonce floor, withdrawal and tighter limit take effect after the firmness delay
 * (firmness.test.ts shows the fill settling inside it); here each case lets the delay pass.
 */

/** What a trader does to its order (or what happens to it), and the pair it leaves for fill 1. */
type Case = { what: string; pair: (env: Env) => Promise<{ maker: Signed; taker: Signed }> };

/** Lets the delay pass after `action`, and returns the default pair signed before it. */
async function after(env: Env, action: (env: Env) => Promise<unknown>, maker = {}, taker = {}) {
  const pair = await signedPair(env, maker, taker);
  await action(env);
  await afterFirmness();
  return pair;
}

/** A window limit of 1 lot per hour, used up by an earlier fill of the account's. */
async function windowUsedUp(env: Env, trader: Env["alice"], isBuy: boolean) {
  await env.exchange.connect(trader).setWindowLimit(1n, 1n, 3_600n);
  await afterFirmness();
  const { maker, taker } = await signedPair(env, { trader, isBuy, nonce: 9n }, { trader: env.carol, nonce: 9n });
  await settleAs(env.exchange, env.keeper, [maker, taker], [fill(0, 1, 1n)]);
}

const expired = async (env: Env, side: "maker" | "taker") => {
  const expiry = { expiry: BigInt(await time.latest()) + 60n };
  const pair = await signedPair(env, side === "maker" ? expiry : {}, side === "taker" ? expiry : {});
  await time.increase(61);
  return pair;
};

/**
 * Every SkipReason: how a trader's fill comes to be skipped with it, or where the tests of a reason
 * the trader cannot cause stand.
 */
const CASES: Record<SkipReasonName, Case | string> = {
  None: "never emitted",
  MakerCancelled: {
    what: "a maker who cancels its order",
    pair: (env) => after(env, (e) => e.exchange.connect(e.alice).cancel([1n])),
  },
  TakerCancelled: {
    what: "a taker who cancels its order",
    pair: (env) => after(env, (e) => e.exchange.connect(e.bob).cancel([1n])),
  },
  MakerExpired: { what: "a maker whose order expires", pair: (env) => expired(env, "maker") },
  TakerExpired: { what: "a taker whose order expires", pair: (env) => expired(env, "taker") },
  MakerNonceBelowFloor: {
    what: "a maker who raises its nonce floor past its order",
    pair: (env) => after(env, (e) => e.exchange.connect(e.alice).cancelUpTo(2n)),
  },
  TakerNonceBelowFloor: {
    what: "a taker who raises its nonce floor past its order",
    pair: (env) => after(env, (e) => e.exchange.connect(e.bob).cancelUpTo(2n)),
  },
  MakerBalanceTooLow: {
    what: "a buying maker who withdraws all but one atom short of quote plus fee",
    pair: (env) => {
      const q = quoteOf(1n, PRICE);
      const short = START_QUOTE - q - feeOf(q, MAKER_FEE_BPS) + 1n;
      return after(env, (e) => withdrawNow(e.exchange, e.alice, e.quote, short), { isBuy: true });
    },
  },
  TakerBalanceTooLow: {
    what: "a selling taker who withdraws all but one atom short of a lot of base",
    pair: (env) =>
      after(env, (e) => withdrawNow(e.exchange, e.bob, e.base, START_BASE - LOT_SIZE + 1n), { isBuy: true }),
  },
  MakerFeeTooHigh: {
    what: "a maker whose maxFeeBps the admin's new fee exceeds",
    pair: (env) =>
      after(env, (e) => e.exchange.setFees(1n, MAKER_FEE_BPS + 1n, TAKER_FEE_BPS), { maxFeeBps: MAKER_FEE_BPS }),
  },
  TakerFeeTooHigh: {
    what: "a taker whose maxFeeBps the admin's new fee exceeds",
    pair: (env) =>
      after(env, (e) => e.exchange.setFees(1n, MAKER_FEE_BPS, TAKER_FEE_BPS + 1n), {}, { maxFeeBps: TAKER_FEE_BPS }),
  },
  MakerSignatureRejected: {
    what: "a maker whose signature does not verify",
    pair: async (env) => ({
      ...(await signedPair(env)),
      maker: await signed(env.dave, env.domain, { isBuy: false, nonce: 1n, maker: env.alice.address }),
    }),
  },
  TakerSignatureRejected: {
    what: "a taker whose signature does not verify",
    pair: async (env) => ({
      ...(await signedPair(env)),
      taker: await signed(env.dave, env.domain, { isBuy: true, nonce: 1n, maker: env.bob.address }),
    }),
  },
  SelfTrade: {
    what: "a trader whose orders meet on both sides of a fill",
    pair: (env) => signedPair(env, {}, { trader: env.alice, nonce: 2n }),
  },
  FillOrKillIncomplete: "settle.test.ts, fill-or-kill",
  MarketHalted: "risk-limits.test.ts, halt",
  PriceOutsideBand: "risk-limits.test.ts, price band",
  VelocityLimitReached: "risk-limits.test.ts, velocity",
  ReferencePriceUnavailable: "risk-limits.test.ts, price band around a feed",
  MakerCancelAfterPassed: {
    what: "a maker whose cancel-after deadline passes",
    pair: (env) => after(env, async (e) => e.exchange.connect(e.alice).setCancelAfter(await time.latest())),
  },
  TakerCancelAfterPassed: {
    what: "a taker whose cancel-after deadline passes",
    pair: (env) => after(env, async (e) => e.exchange.connect(e.bob).setCancelAfter(await time.latest())),
  },
  MakerWindowLimitReached: {
    what: "a maker whose window limit is used up",
    pair: (env) => after(env, (e) => windowUsedUp(e, e.alice, false)),
  },
  TakerWindowLimitReached: {
    what: "a taker whose window limit is used up",
    pair: (env) => after(env, (e) => windowUsedUp(e, e.bob, true)),
  },
};

describe("Exchange settle against a hostile trader", function () {
  /** Gas for batches with a hostile ERC-1271 wallet: enough that the wallet gets its full allowance. */
  const GAS_LIMIT = 5_000_000n;
  /** A bound the whole three-fill batch stays under, whatever the wallet does with its 100k gas. */
  const GAS_BOUND = 400_000n;

  describe("one skip per reason", function () {
    for (const [reason, test] of Object.entries(CASES) as [SkipReasonName, Case | string][]) {
      if (typeof test === "string") continue;
      it(`${test.what} makes settle skip only its fill, with ${reason}`, async function () {
        const env = await loadFixture(deployFunded);
        const { maker, taker } = await test.pair(env);
        await expectOnlyMiddleSkipped(env, maker, taker, SkipReason[reason]);
      });
    }
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
      const { exchange, wallet, walletOwner, domain, bob } = env;
      const maker = await signedByWallet(wallet, walletOwner, domain, { isBuy: false, nonce: 1n });
      const taker = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await wallet.connect(walletOwner).cancel(exchange, [1n]);
      await afterFirmness();
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerCancelled);
    });

    it("a wallet that withdraws its balance makes settle skip only its fill", async function () {
      const env = await loadFixture(deployFundedWithWallet);
      const { exchange, wallet, walletOwner, domain, bob, base } = env;
      const maker = await signedByWallet(wallet, walletOwner, domain, { isBuy: false, nonce: 1n });
      const taker = await signed(bob, domain, { isBuy: true, nonce: 1n });
      const request = exchange.interface.encodeFunctionData("requestWithdraw", [await base.getAddress(), START_BASE]);
      await wallet.connect(walletOwner).execute(exchange, request);
      await afterFirmness();
      await wallet.connect(walletOwner).withdraw(exchange, base, START_BASE);
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
      for (const side of ["maker", "taker"] as const) {
        it(`a ${side} wallet that ${behaviour} makes settle skip only its fill, within bounded gas`, async function () {
          const env = await loadFixture(deployFundedWithWallet);
          const ofWallet = await signedByWallet(env.wallet, env.walletOwner, env.domain, {
            isBuy: side === "taker",
            nonce: 1n,
          });
          const other = await signed(side === "maker" ? env.bob : env.alice, env.domain, {
            isBuy: side === "maker",
            nonce: 1n,
          });
          await env.wallet.connect(env.walletOwner).setMode(mode);
          const [maker, taker] = side === "maker" ? [ofWallet, other] : [other, ofWallet];
          const reason = side === "maker" ? SkipReason.MakerSignatureRejected : SkipReason.TakerSignatureRejected;
          const { gasUsed } = await expectOnlyMiddleSkipped(env, maker, taker, reason, GAS_LIMIT);
          expect(gasUsed).to.be.lessThan(GAS_BOUND);
        });
      }
    }

    it("a wallet that approves again after rejecting fills in a later call", async function () {
      const env = await loadFixture(deployFundedWithWallet);
      const { exchange, keeper, wallet, walletOwner, domain, bob } = env;
      const ask = await signedByWallet(wallet, walletOwner, domain, { isBuy: false, nonce: 1n });
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
    const honestAsk = await signed(carol, domain, { isBuy: false, nonce: 1n, lots: 100n });
    const honestBid = await signed(dave, domain, { isBuy: true, nonce: 1n, lots: 100n });
    const cancelled = await signed(alice, domain, { isBuy: false, nonce: 1n });
    const expiring = await signed(bob, domain, { isBuy: false, nonce: 1n, expiry });
    const walletAsk = await signedByWallet(wallet, walletOwner, domain, { isBuy: false, nonce: 1n });
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
    const { exchange, keeper, alice, bob } = env;
    const revBase = await ethers.deployContract("RevertingToken");
    const revQuote = await ethers.deployContract("RevertingToken");
    await exchange.listMarket(revBase, revQuote, LOT_SIZE, TICK_SIZE, 5n, 10n);
    await fundWith(exchange, revBase, alice, START_BASE);
    await fundWith(exchange, revQuote, bob, START_QUOTE);
    await revBase.setReverting(true);
    await revQuote.setReverting(true);

    const { maker, taker } = await signedPair(env, { marketId: 2n }, { marketId: 2n });
    await expect(settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 4n)]))
      .to.emit(exchange, "Traded")
      .withArgs(2n, orderKey(alice.address, 1n), orderKey(bob.address, 1n), false, PRICE, 4n);
    expect(await exchange.balanceOf(bob.address, revBase)).to.equal(baseOf(4n));
    const q = quoteOf(4n, PRICE);
    expect(await exchange.balanceOf(alice.address, revQuote)).to.equal(q - feeOf(q, 5n));
    // The tokens really do revert: only settle got through.
    await exchange.connect(bob).requestWithdraw(revBase, 1n);
    await afterFirmness();
    await expect(exchange.connect(bob).withdraw(revBase, 1n)).to.be.revertedWithCustomError(
      revBase,
      "TransfersReverting",
    );
  });
});
