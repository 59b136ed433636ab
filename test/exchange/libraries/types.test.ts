import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { SkipReason } from "../../helpers/orders";

async function deployTypes() {
  return ethers.deployContract("TypesHarness");
}

describe("OrderStatus and Account value types", function () {
  describe("OrderStatus", function () {
    // [isChecked, isValid, signatureAccepted, hasWindow, iocUsed, fokUsed]
    it("reads a rejected signature as checked, not valid, not accepted, with MakerSignatureRejected", async function () {
      const types = await loadFixture(deployTypes);
      const [, flags, reason] = await types.status(0, 0, false, false, false);
      expect([...flags]).to.deep.equal([true, false, false, false, false, false]);
      expect(reason).to.equal(SkipReason.MakerSignatureRejected);
    });

    it("reads a signed order that cannot fill as accepted, not valid, with its reason", async function () {
      const types = await loadFixture(deployTypes);
      const [, flags, reason] = await types.status(1, SkipReason.MakerExpired, false, true, false);
      expect([...flags]).to.deep.equal([true, false, true, false, true, false]);
      expect(reason).to.equal(SkipReason.MakerExpired);
    });

    it("reads a valid order with or without window limits, and keeps each mark", async function () {
      const types = await loadFixture(deployTypes);
      expect([...(await types.status(2, 0, true, false, true))[1]]).to.deep.equal([
        true,
        true,
        true,
        true,
        false,
        true,
      ]);
      expect([...(await types.status(2, 0, false, true, true))[1]]).to.deep.equal([
        true,
        true,
        true,
        false,
        true,
        true,
      ]);
    });
  });

  describe("Account", function () {
    it("keeps the floor in force until a raise takes effect, and the raise from then on", async function () {
      const types = await loadFixture(deployTypes);
      const word = await types.withFloor(0n, 5n, 9n, 1_000n);
      expect(await types.minNonceAt(word, 999n)).to.equal(5n);
      expect(await types.minNonceAt(word, 1_000n)).to.equal(9n);
      expect([...(await types.requestedFloor(word))]).to.deep.equal([9n, 1_000n]);
      expect(await types.minNonceAt(0n, 0n)).to.equal(0n);
    });

    it("says why an order cannot fill at a time: expired, then below the floor in force, then past the cancel-after deadline", async function () {
      const types = await loadFixture(deployTypes);
      const VALID = 0xffn;
      let word = await types.withFloor(0n, 5n, 9n, 1_000n);
      word = await types.withCancelAfter(word, 2_000n);
      // expiry 1_500, nonce 7: below the raised floor only from 1_000 on.
      expect([...(await types.statusOf(word, 1_500n, 7n, 999n))]).to.deep.equal([VALID, false]);
      expect([...(await types.statusOf(word, 1_500n, 7n, 1_000n))]).to.deep.equal([
        BigInt(SkipReason.MakerNonceBelowFloor),
        false,
      ]);
      expect([...(await types.statusOf(word, 999n, 7n, 1_000n))]).to.deep.equal([
        BigInt(SkipReason.MakerExpired),
        false,
      ]);
      expect([...(await types.statusOf(word, 3_000n, 9n, 2_000n))]).to.deep.equal([VALID, false]); // at the deadline
      expect([...(await types.statusOf(word, 3_000n, 9n, 2_001n))]).to.deep.equal([
        BigInt(SkipReason.MakerCancelAfterPassed),
        false,
      ]);
      word = await types.withWindowLimitChange(word, false, true, 0n);
      expect([...(await types.statusOf(word, 3_000n, 9n, 1_500n))]).to.deep.equal([VALID, true]);
    });

    it("keeps every field when another changes", async function () {
      const types = await loadFixture(deployTypes);
      let word = await types.withCancelAfter(0n, 2n ** 40n - 1n);
      word = await types.withFloor(word, 2n ** 64n - 2n, 2n ** 64n - 1n, 2n ** 32n - 1n);
      word = await types.withWindowLimitChange(word, false, true, 2n ** 32n - 1n);
      expect(await types.cancelAfter(word)).to.equal(2n ** 40n - 1n);
      expect([...(await types.requestedFloor(word))]).to.deep.equal([2n ** 64n - 1n, 2n ** 32n - 1n]);
      expect(await types.minNonceAt(word, 0n)).to.equal(2n ** 64n - 2n);
      word = await types.withCancelAfter(word, 0n);
      expect(await types.cancelAfter(word)).to.equal(0n);
      expect(await types.checksWindowsAt(word, 2n ** 40n)).to.equal(true);
    });

    it("checks window limits while a limit is live, or until a removal of one in force takes effect", async function () {
      const types = await loadFixture(deployTypes);
      let word = await types.withWindowLimitChange(0n, false, true, 0n);
      word = await types.withWindowLimitChange(word, false, true, 0n);
      expect(await types.checksWindowsAt(word, 0n)).to.equal(true);
      word = await types.withWindowLimitChange(word, true, false, 500n);
      expect(await types.checksWindowsAt(word, 10_000n)).to.equal(true); // one still live
      word = await types.withWindowLimitChange(word, true, false, 400n); // an earlier removal keeps the later
      expect(await types.checksWindowsAt(word, 499n)).to.equal(true);
      expect(await types.checksWindowsAt(word, 500n)).to.equal(false);
      await expect(types.withWindowLimitChange(word, true, false, 0n)).to.be.revertedWithPanic(0x11);
    });
  });
});
