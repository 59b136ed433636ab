/**
 * Firm matches: no trader can back out of a fill once it is matched.
 *
 * For each way a trader could make a matched fill fail, the fill is matched at t, the trader acts at
 * c > t, and the batch lands inside the firmness delay (at c + D − 1): it executes. From c + D the
 * action is in force, as final as ever: the next fill of the same orders skips with its reason.
 *
 *   alice asks 10 lots, bob bids 10 lots (nonce 1); the keeper matches 2 lots
 *   c:        alice (maker) or bob (taker) backs out by one path
 *   c+D−1:    the batch lands                          — Traded (2 lots)
 *   c+D:      2 more lots of the same orders           — FillSkipped(reason)
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse } from "ethers";
import type { SkipReasonName } from "@crossbook/sdk";
import { SkipReason } from "../helpers/orders";
import {
  deployFunded,
  deployFundedWithWallet,
  fill,
  FIRMNESS_DELAY,
  minedAt,
  outcomes,
  settleAs,
  signed,
  signedByWallet,
  signedPair,
  START_BASE,
  START_QUOTE,
  WalletMode,
  type Env,
  type Trader,
} from "./support";

interface BackOut {
  /** What the trader does. */
  what: string;
  /** Who does it: the maker (alice sells) or the taker (bob buys). */
  side: "maker" | "taker";
  act: (env: Env, trader: Trader) => Promise<ContractTransactionResponse>;
  /** What the trader does once the action is in force (a withdrawal after its request), if anything. */
  then?: (env: Env, trader: Trader) => Promise<unknown>;
  /** The skip reason once in force, without its side. */
  reason: "Cancelled" | "NonceBelowFloor" | "BalanceTooLow" | "CancelAfterPassed" | "WindowLimitReached";
}

/** The token a side's trader gives in the fill: alice sells base, bob pays quote. */
const given = (env: Env, side: BackOut["side"]) =>
  side === "maker" ? { token: env.base, amount: START_BASE } : { token: env.quote, amount: START_QUOTE };

const PATHS: BackOut[] = (["maker", "taker"] as const).flatMap((side): BackOut[] => [
  { what: "cancels its order", side, act: ({ exchange }, t) => exchange.connect(t).cancel([1n]), reason: "Cancelled" },
  {
    what: "raises its nonce floor past its order",
    side,
    act: ({ exchange }, t) => exchange.connect(t).cancelUpTo(2n),
    reason: "NonceBelowFloor",
  },
  {
    what: "asks to withdraw its whole balance, and withdraws what is left of it",
    side,
    act: async (env, t) => env.exchange.connect(t).requestWithdraw(given(env, side).token, given(env, side).amount),
    then: async (env, t) => {
      const { token } = given(env, side);
      return env.exchange.connect(t).withdraw(token, await env.exchange.balanceOf(t.address, token));
    },
    reason: "BalanceTooLow",
  },
  {
    what: "pulls its cancel-after deadline in to now",
    side,
    act: async ({ exchange }, t) => exchange.connect(t).setCancelAfter(await time.latest()),
    reason: "CancelAfterPassed",
  },
  {
    what: "tightens its window limit to 1 lot an hour",
    side,
    act: ({ exchange }, t) => exchange.connect(t).setWindowLimit(1n, 1n, 3_600n),
    reason: "WindowLimitReached",
  },
]);

describe("Exchange firm matches", function () {
  for (const path of PATHS) {
    it(`a ${path.side} that ${path.what} after the match cannot stop the fill inside the firmness delay, and can after it`, async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper } = env;
      const trader = path.side === "maker" ? env.alice : env.bob;
      const { maker, taker } = await signedPair(env);
      const backedOutAt = await minedAt(path.act(env, trader));
      await time.setNextBlockTimestamp(backedOutAt + FIRMNESS_DELAY - 1n);
      const inside = await outcomes(exchange, settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 2n)]));
      expect(inside.skipped).to.deep.equal([]);
      expect(inside.traded.map((t) => t.lots)).to.deep.equal([2n]);

      await time.setNextBlockTimestamp(backedOutAt + FIRMNESS_DELAY);
      if (path.then) await path.then(env, trader);
      const name = `${path.side === "maker" ? "Maker" : "Taker"}${path.reason}` as SkipReasonName;
      await expect(settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 2n)]))
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason[name]);
    });
  }

  it("lets every path back out at once while the admin has set the delay to 0", async function () {
    const env = await loadFixture(deployFunded);
    const { exchange, keeper, alice } = env;
    await expect(exchange.setFirmnessDelay(0n)).to.emit(exchange, "FirmnessDelayChanged").withArgs(FIRMNESS_DELAY, 0n);
    const { maker, taker } = await signedPair(env);
    await exchange.connect(alice).cancel([1n]);
    await expect(settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 2n)]))
      .to.emit(exchange, "FillSkipped")
      .withArgs(0n, SkipReason.MakerCancelled);
  });

  describe("the residual options: what still fails at once after a match", function () {
    it("an ERC-1271 wallet that stops approving skips its fill at once", async function () {
      const env = await loadFixture(deployFundedWithWallet);
      const { exchange, keeper, wallet, walletOwner, domain, bob } = env;
      const maker = await signedByWallet(wallet, walletOwner, domain, { isBuy: false, nonce: 1n });
      const taker = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await wallet.connect(walletOwner).setMode(WalletMode.Reject);
      await expect(settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 2n)], 5_000_000n))
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MakerSignatureRejected);
    });

    it("an EIP-7702 account that drops the delegation it signed through skips its fill at once", async function () {
      const env = await loadFixture(deployFundedWithWallet);
      const { exchange, keeper, wallet, walletOwner, domain, alice, bob } = env;
      // alice's account runs the wallet's code (as under EIP-7702) and signs through it.
      await network.provider.send("hardhat_setCode", [alice.address, await ethers.provider.getCode(wallet)]);
      const maker = await signedByWallet(wallet, walletOwner, domain, {
        isBuy: false,
        nonce: 1n,
        maker: alice.address,
      });
      const taker = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await network.provider.send("hardhat_setCode", [alice.address, "0x"]);
      await expect(settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 2n)], 5_000_000n))
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MakerSignatureRejected);
    });
  });

  describe("the delay", function () {
    it("is DEFAULT_FIRMNESS_DELAY (30 s) from deployment, and the admin can set it up to MAX_FIRMNESS_DELAY (300 s)", async function () {
      const { exchange, outsider } = await loadFixture(deployFunded);
      expect(await exchange.firmnessDelay()).to.equal(FIRMNESS_DELAY);
      const max = await exchange.MAX_FIRMNESS_DELAY();
      expect(max).to.equal(300n);
      await expect(exchange.setFirmnessDelay(max + 1n))
        .to.be.revertedWithCustomError(exchange, "FirmnessDelayTooLong")
        .withArgs(max + 1n, max);
      await expect(exchange.setFirmnessDelay(max))
        .to.emit(exchange, "FirmnessDelayChanged")
        .withArgs(FIRMNESS_DELAY, max);
      expect(await exchange.firmnessDelay()).to.equal(max);
      await expect(exchange.connect(outsider).setFirmnessDelay(0n)).to.be.revertedWithCustomError(
        exchange,
        "AccessControlUnauthorizedAccount",
      );
    });

    it("leaves requests already made with their times when the admin changes it", async function () {
      const { exchange, alice } = await loadFixture(deployFunded);
      const effectiveAt = (await minedAt(exchange.connect(alice).cancel([1n]))) + FIRMNESS_DELAY;
      await exchange.setFirmnessDelay(300n);
      expect(await exchange.pendingCancel(alice.address, 1n)).to.equal(effectiveAt);
      await exchange.setFirmnessDelay(0n);
      expect(await exchange.pendingCancel(alice.address, 1n)).to.equal(effectiveAt);
    });
  });
});
