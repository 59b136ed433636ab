import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployExchange } from "../helpers/fixture";
import { MAX_UINT64, SkipReason } from "../helpers/orders";
import { deployFunded, fill, settleAs, signed } from "./support";

describe("Exchange cancellation", function () {
  describe("cancel", function () {
    it("makes filled() read type(uint64).max for each cancelled nonce and emits OrderCancelled", async function () {
      const { exchange, alice } = await loadFixture(deployExchange);
      const tx = exchange.connect(alice).cancel([3n, 9n]);
      await expect(tx).to.emit(exchange, "OrderCancelled").withArgs(alice.address, 3n);
      await expect(tx).to.emit(exchange, "OrderCancelled").withArgs(alice.address, 9n);
      expect(await exchange.filled(alice.address, 3n)).to.equal(MAX_UINT64);
      expect(await exchange.filled(alice.address, 9n)).to.equal(MAX_UINT64);
    });

    it("leaves the neighbouring nonces that share its storage word untouched", async function () {
      const { exchange, alice } = await loadFixture(deployExchange);
      await exchange.connect(alice).cancel([5n]);
      for (const nonce of [4n, 6n, 7n, 8n]) expect(await exchange.filled(alice.address, nonce)).to.equal(0n);
      expect(await exchange.filled(alice.address, 5n)).to.equal(MAX_UINT64);
    });

    it("keeps the fill count of a neighbouring nonce that shares its storage word", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const sell = await signed(alice, domain, {
        isBuy: false,
        nonce: 4n,
        lots: 10n,
      });
      const buy = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 10n,
      });
      await settleAs(exchange, keeper, [sell, buy], [fill(0, 1, 3n)]);
      await exchange.connect(alice).cancel([5n, 7n]);
      expect(await exchange.filled(alice.address, 4n)).to.equal(3n);
      expect(await exchange.filled(alice.address, 6n)).to.equal(0n);
      await settleAs(exchange, keeper, [sell, buy], [fill(0, 1, 2n)]);
      expect(await exchange.filled(alice.address, 4n)).to.equal(5n);
      expect(await exchange.filled(alice.address, 5n)).to.equal(MAX_UINT64);
      expect(await exchange.filled(alice.address, 7n)).to.equal(MAX_UINT64);
    });

    it("cancels the largest nonce", async function () {
      const { exchange, alice } = await loadFixture(deployExchange);
      await exchange.connect(alice).cancel([MAX_UINT64]);
      expect(await exchange.filled(alice.address, MAX_UINT64)).to.equal(MAX_UINT64);
      expect(await exchange.filled(alice.address, MAX_UINT64 - 1n)).to.equal(0n);
    });

    it("cancels only the caller's nonce, not another maker's with the same number", async function () {
      const { exchange, alice, bob } = await loadFixture(deployExchange);
      await exchange.connect(alice).cancel([1n]);
      expect(await exchange.filled(bob.address, 1n)).to.equal(0n);
    });

    it("may cancel a nonce twice, which stays cancelled", async function () {
      const { exchange, alice } = await loadFixture(deployExchange);
      await exchange.connect(alice).cancel([2n]);
      await expect(exchange.connect(alice).cancel([2n]))
        .to.emit(exchange, "OrderCancelled")
        .withArgs(alice.address, 2n);
      expect(await exchange.filled(alice.address, 2n)).to.equal(MAX_UINT64);
    });

    it("reverts NothingToCancel for an empty list", async function () {
      const { exchange, alice } = await loadFixture(deployExchange);
      await expect(exchange.connect(alice).cancel([])).to.be.revertedWithCustomError(exchange, "NothingToCancel");
    });

    it("kills the rest of a partly filled order, so that its next fill is skipped", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const sell = await signed(alice, domain, {
        isBuy: false,
        nonce: 1n,
        lots: 10n,
      });
      const buy = await signed(bob, domain, {
        isBuy: true,
        nonce: 1n,
        lots: 10n,
      });
      await settleAs(exchange, keeper, [sell, buy], [fill(0, 1, 4n)]);
      expect(await exchange.filled(alice.address, 1n)).to.equal(4n);

      await exchange.connect(alice).cancel([1n]);
      expect(await exchange.filled(alice.address, 1n)).to.equal(MAX_UINT64);
      await expect(settleAs(exchange, keeper, [sell, buy], [fill(0, 1, 4n)]))
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MakerCancelled);
      expect(await exchange.filled(bob.address, 1n)).to.equal(4n);
    });
  });

  describe("cancelUpTo", function () {
    it("raises the nonce floor and emits NonceFloorRaised with the old and new floors", async function () {
      const { exchange, alice } = await loadFixture(deployExchange);
      expect(await exchange.minNonce(alice.address)).to.equal(0n);
      await expect(exchange.connect(alice).cancelUpTo(5n))
        .to.emit(exchange, "NonceFloorRaised")
        .withArgs(alice.address, 0n, 5n);
      await expect(exchange.connect(alice).cancelUpTo(8n))
        .to.emit(exchange, "NonceFloorRaised")
        .withArgs(alice.address, 5n, 8n);
      expect(await exchange.minNonce(alice.address)).to.equal(8n);
    });

    it("reverts NonceFloorNotRaised for the current floor or a lower one", async function () {
      const { exchange, alice } = await loadFixture(deployExchange);
      await expect(exchange.connect(alice).cancelUpTo(0n))
        .to.be.revertedWithCustomError(exchange, "NonceFloorNotRaised")
        .withArgs(0n, 0n);
      await exchange.connect(alice).cancelUpTo(5n);
      await expect(exchange.connect(alice).cancelUpTo(5n))
        .to.be.revertedWithCustomError(exchange, "NonceFloorNotRaised")
        .withArgs(5n, 5n);
      await expect(exchange.connect(alice).cancelUpTo(3n))
        .to.be.revertedWithCustomError(exchange, "NonceFloorNotRaised")
        .withArgs(5n, 3n);
      expect(await exchange.minNonce(alice.address)).to.equal(5n);
    });

    it("raises only the caller's floor", async function () {
      const { exchange, alice, bob } = await loadFixture(deployExchange);
      await exchange.connect(alice).cancelUpTo(100n);
      expect(await exchange.minNonce(bob.address)).to.equal(0n);
    });

    it("makes nonces below the floor skip and lets the floor itself fill", async function () {
      const { exchange, domain, keeper, alice, bob } = await loadFixture(deployFunded);
      const below = await signed(alice, domain, { isBuy: false, nonce: 4n });
      const atFloor = await signed(alice, domain, { isBuy: false, nonce: 5n });
      const buy = await signed(bob, domain, { isBuy: true, nonce: 1n });
      await exchange.connect(alice).cancelUpTo(5n);

      const tx = settleAs(exchange, keeper, [below, atFloor, buy], [fill(0, 2, 1n), fill(1, 2, 1n)]);
      await expect(tx).to.emit(exchange, "FillSkipped").withArgs(0n, SkipReason.MakerNonceBelowFloor);
      await expect(tx).to.emit(exchange, "Traded");
      expect(await exchange.filled(alice.address, 4n)).to.equal(0n);
      expect(await exchange.filled(alice.address, 5n)).to.equal(1n);
    });
  });
});
