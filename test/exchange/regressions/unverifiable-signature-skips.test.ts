/**
 * Regression, review finding 4 (low): a trader could make a batch revert with EIP-7702.
 *
 * An account signs through its delegated wallet's ERC-1271, then removes the delegation: its code is
 * gone, ECDSA does not recover, and `settle` reverted `InvalidSignature` for the whole batch. Whether
 * a signature verifies can depend on what the trader does after signing, so a signature that does not
 * verify is a skip — `MakerSignatureRejected` / `TakerSignatureRejected` — for EOAs too. A
 * fill-or-kill run with a rejected signature is rolled back as a whole.
 *
 *   fill 0: carol sells 1 lot to dave        — executes
 *   fill 1: unverifiable order ⇄ honest one — skipped
 *   fill 2: carol sells 2 lots to dave       — executes
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { FILL_OR_KILL, SkipReason, makeOrder, signOrder } from "../../helpers/orders";
import {
  deployFunded,
  deployFundedWithWallet,
  expectOnlyMiddleSkipped,
  fill,
  outcomes,
  PRICE,
  settleAs,
  signed,
  type Signed,
} from "../support";

describe("regression: a signature that does not verify skips, for EOAs too", function () {
  const damage: [string, (s: Signed) => Signed][] = [
    ["signed by another key", (s) => s],
    [
      "with a flipped bit",
      (s) => ({
        ...s,
        signature: s.signature.slice(0, 10) + (s.signature[10] === "0" ? "1" : "0") + s.signature.slice(11),
      }),
    ],
    ["empty", (s) => ({ ...s, signature: "0x" })],
    ["64 bytes long", (s) => ({ ...s, signature: s.signature.slice(0, 130) })],
  ];

  for (const [what, mangle] of damage) {
    it(`skips only the fill of an EOA maker whose signature is ${what}`, async function () {
      const env = await loadFixture(deployFunded);
      const signer = what === "signed by another key" ? env.dave : env.alice;
      const ask = makeOrder({ maker: env.alice.address, isBuy: false, nonce: 1n, priceTicks: PRICE });
      const maker = mangle({ order: ask, signature: await signOrder(signer, env.domain, ask) });
      const taker = await signed(env.bob, env.domain, { isBuy: true, nonce: 1n });
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerSignatureRejected);
    });

    it(`skips only the fill of an EOA taker whose signature is ${what}`, async function () {
      const env = await loadFixture(deployFunded);
      const signer = what === "signed by another key" ? env.dave : env.bob;
      const bid = makeOrder({ maker: env.bob.address, isBuy: true, nonce: 1n, priceTicks: PRICE });
      const maker = await signed(env.alice, env.domain, { isBuy: false, nonce: 1n });
      const taker = mangle({ order: bid, signature: await signOrder(signer, env.domain, bid) });
      await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.TakerSignatureRejected);
    });
  }

  it("skips, rather than reverts, once an EIP-7702 account that signed through its wallet drops the delegation", async function () {
    const env = await loadFixture(deployFundedWithWallet);
    const { exchange, keeper, domain, wallet, walletOwner, outsider, bob, base } = env;
    // The outsider deposits as an EOA, then delegates to the wallet's code (simulated: its code is
    // set to the wallet's runtime code, which approves what the wallet owner signs).
    await base.mint(outsider.address, 10n ** 18n);
    await base.connect(outsider).approve(exchange, 10n ** 18n);
    await exchange.connect(outsider).deposit(base, 10n ** 18n);
    await network.provider.send("hardhat_setCode", [outsider.address, await ethers.provider.getCode(wallet)]);
    const ask = makeOrder({ maker: outsider.address, isBuy: false, nonce: 1n, priceTicks: PRICE });
    const maker = { order: ask, signature: await signOrder(walletOwner, domain, ask) };
    const taker = await signed(bob, domain, { isBuy: true, nonce: 1n });
    await expect(settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 1n)], 5_000_000n)).to.emit(exchange, "Traded");

    await network.provider.send("hardhat_setCode", [outsider.address, "0x"]);
    await expectOnlyMiddleSkipped(env, maker, taker, SkipReason.MakerSignatureRejected, 5_000_000n);
  });

  it("rolls back a whole fill-or-kill run whose second maker's signature does not verify", async function () {
    const { exchange, keeper, domain, alice, bob, carol, dave } = await loadFixture(deployFunded);
    const aliceAsk = await signed(alice, domain, { isBuy: false, nonce: 1n });
    const forgedAsk = makeOrder({ maker: carol.address, isBuy: false, nonce: 1n, priceTicks: PRICE });
    const forged = { order: forgedAsk, signature: await signOrder(dave, domain, forgedAsk) };
    const bobFok = await signed(bob, domain, { isBuy: true, nonce: 1n, lots: 4n, flags: FILL_OR_KILL });
    const result = await outcomes(
      exchange,
      settleAs(exchange, keeper, [aliceAsk, forged, bobFok], [fill(0, 2, 2n), fill(1, 2, 2n)]),
    );
    expect(result.skipped).to.deep.equal([
      [0, SkipReason.FillOrKillIncomplete],
      [1, SkipReason.MakerSignatureRejected],
    ]);
    expect(await exchange.filled(alice.address, 1n)).to.equal(0n);
    expect(await exchange.filled(bob.address, 1n)).to.equal(0n);
  });
});
