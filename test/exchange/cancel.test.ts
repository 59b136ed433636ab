import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployExchange } from "../helpers/fixture";
import { MAX_UINT64, SkipReason } from "../helpers/orders";
import { afterFirmness, deployFunded, fill, FIRMNESS_DELAY, minedAt, settleAs, signedPair } from "./support";

describe("Exchange cancellation", function () {
  describe("cancel", function () {
    it("emits OrderCancelled with when each nonce dies; filled() reads MAX_UINT64 from then on", async function () {
      const { exchange, alice } = await loadFixture(deployExchange);
      const tx = exchange.connect(alice).cancel([3n, 9n]);
      const effectiveAt = (await minedAt(tx)) + FIRMNESS_DELAY;
      await expect(tx).to.emit(exchange, "OrderCancelled").withArgs(alice.address, 3n, effectiveAt);
      await expect(tx).to.emit(exchange, "OrderCancelled").withArgs(alice.address, 9n, effectiveAt);
      expect(await exchange.filled(alice.address, 3n)).to.equal(0n);
      expect(await exchange.pendingCancel(alice.address, 3n)).to.equal(effectiveAt);
      await time.increaseTo(effectiveAt);
      expect(await exchange.filled(alice.address, 3n)).to.equal(MAX_UINT64);
      expect(await exchange.filled(alice.address, 9n)).to.equal(MAX_UINT64);
      expect(await exchange.pendingCancel(alice.address, 3n)).to.equal(0n);
    });

    it("keeps a partly filled order filling until its cancel takes effect, and skips it from that second on", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, alice, bob } = env;
      const { maker, taker } = await signedPair(env);
      await settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 4n)]);
      const effectiveAt = (await minedAt(exchange.connect(alice).cancel([1n]))) + FIRMNESS_DELAY;
      await time.setNextBlockTimestamp(effectiveAt - 1n);
      await expect(settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 2n)])).to.emit(exchange, "Traded");
      expect(await exchange.filled(alice.address, 1n)).to.equal(6n);
      await expect(settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 1n)]))
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MakerCancelled);
      expect(await exchange.filled(alice.address, 1n)).to.equal(MAX_UINT64);
      expect(await exchange.filled(bob.address, 1n)).to.equal(6n);
    });

    it("keeps the earlier time when a nonce is cancelled again, and stays cancelled", async function () {
      const { exchange, alice } = await loadFixture(deployExchange);
      const effectiveAt = (await minedAt(exchange.connect(alice).cancel([2n]))) + FIRMNESS_DELAY;
      await time.increase(10);
      await expect(exchange.connect(alice).cancel([2n]))
        .to.emit(exchange, "OrderCancelled")
        .withArgs(alice.address, 2n, effectiveAt);
      await time.increaseTo(effectiveAt);
      await expect(exchange.connect(alice).cancel([2n]))
        .to.emit(exchange, "OrderCancelled")
        .withArgs(alice.address, 2n, effectiveAt);
      expect(await exchange.filled(alice.address, 2n)).to.equal(MAX_UINT64);
    });

    it("leaves the neighbouring nonces that share its storage word untouched, their fill counts included", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, alice } = env;
      const { maker, taker } = await signedPair(env, { nonce: 4n });
      await settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 3n)]);
      await exchange.connect(alice).cancel([5n, 7n]);
      await afterFirmness();
      await settleAs(exchange, keeper, [maker, taker], [fill(0, 1, 2n)]);
      expect(await exchange.filled(alice.address, 4n)).to.equal(5n);
      expect(await exchange.filled(alice.address, 5n)).to.equal(MAX_UINT64);
      expect(await exchange.filled(alice.address, 6n)).to.equal(0n);
      expect(await exchange.filled(alice.address, 7n)).to.equal(MAX_UINT64);
      expect(await exchange.filled(alice.address, 8n)).to.equal(0n);
    });

    it("cancels the largest nonce, and only the caller's", async function () {
      const { exchange, alice, bob } = await loadFixture(deployExchange);
      await exchange.connect(alice).cancel([MAX_UINT64]);
      await afterFirmness();
      expect(await exchange.filled(alice.address, MAX_UINT64)).to.equal(MAX_UINT64);
      expect(await exchange.filled(alice.address, MAX_UINT64 - 1n)).to.equal(0n);
      expect(await exchange.filled(bob.address, MAX_UINT64)).to.equal(0n);
    });

    it("takes effect at once while the admin has set the firmness delay to 0", async function () {
      const { exchange, alice } = await loadFixture(deployExchange);
      await exchange.setFirmnessDelay(0n);
      const tx = exchange.connect(alice).cancel([1n]);
      await expect(tx)
        .to.emit(exchange, "OrderCancelled")
        .withArgs(alice.address, 1n, await minedAt(tx));
      expect(await exchange.filled(alice.address, 1n)).to.equal(MAX_UINT64);
      expect(await exchange.pendingCancel(alice.address, 1n)).to.equal(0n);
    });

    it("reverts NothingToCancel for an empty list", async function () {
      const { exchange, alice } = await loadFixture(deployExchange);
      await expect(exchange.connect(alice).cancel([])).to.be.revertedWithCustomError(exchange, "NothingToCancel");
    });
  });

  describe("cancelUpTo", function () {
    it("raises the nonce floor from the end of the firmness delay and emits NonceFloorRaised", async function () {
      const { exchange, alice } = await loadFixture(deployExchange);
      const tx = exchange.connect(alice).cancelUpTo(5n);
      const effectiveAt = (await minedAt(tx)) + FIRMNESS_DELAY;
      await expect(tx).to.emit(exchange, "NonceFloorRaised").withArgs(alice.address, 0n, 5n, effectiveAt);
      expect(await exchange.minNonce(alice.address)).to.equal(0n);
      expect([...(await exchange.pendingMinNonce(alice.address))]).to.deep.equal([5n, effectiveAt]);
      await time.increaseTo(effectiveAt);
      expect(await exchange.minNonce(alice.address)).to.equal(5n);
      expect([...(await exchange.pendingMinNonce(alice.address))]).to.deep.equal([0n, 0n]);
      const next = exchange.connect(alice).cancelUpTo(8n);
      await expect(next)
        .to.emit(exchange, "NonceFloorRaised")
        .withArgs(alice.address, 5n, 8n, (await minedAt(next)) + FIRMNESS_DELAY);
    });

    it("replaces a raise still pending: both take effect with the later one", async function () {
      const { exchange, alice } = await loadFixture(deployExchange);
      await exchange.connect(alice).cancelUpTo(5n);
      await time.increase(10);
      const tx = exchange.connect(alice).cancelUpTo(9n);
      const effectiveAt = (await minedAt(tx)) + FIRMNESS_DELAY;
      await expect(tx).to.emit(exchange, "NonceFloorRaised").withArgs(alice.address, 0n, 9n, effectiveAt);
      await time.increaseTo(effectiveAt - 1n);
      expect(await exchange.minNonce(alice.address)).to.equal(0n);
      await time.increase(1);
      expect(await exchange.minNonce(alice.address)).to.equal(9n);
    });

    it("reverts NonceFloorNotRaised unless the floor rises above the last one asked for", async function () {
      const { exchange, alice } = await loadFixture(deployExchange);
      await expect(exchange.connect(alice).cancelUpTo(0n))
        .to.be.revertedWithCustomError(exchange, "NonceFloorNotRaised")
        .withArgs(0n, 0n);
      await exchange.connect(alice).cancelUpTo(5n);
      for (const floor of [5n, 3n]) {
        await expect(exchange.connect(alice).cancelUpTo(floor))
          .to.be.revertedWithCustomError(exchange, "NonceFloorNotRaised")
          .withArgs(5n, floor);
      }
      await afterFirmness();
      expect(await exchange.minNonce(alice.address)).to.equal(5n);
    });

    it("raises only the caller's floor", async function () {
      const { exchange, alice, bob } = await loadFixture(deployExchange);
      await exchange.connect(alice).cancelUpTo(100n);
      await afterFirmness();
      expect(await exchange.minNonce(bob.address)).to.equal(0n);
    });

    it("makes nonces below the floor skip once it is in force, and lets the floor itself fill", async function () {
      const env = await loadFixture(deployFunded);
      const { exchange, keeper, alice } = env;
      const below = await signedPair(env, { nonce: 4n });
      const atFloor = await signedPair(env, { nonce: 5n });
      await exchange.connect(alice).cancelUpTo(5n);
      await afterFirmness();
      const orders = [below.maker, atFloor.maker, below.taker];
      const tx = settleAs(exchange, keeper, orders, [fill(0, 2, 1n), fill(1, 2, 1n)]);
      await expect(tx).to.emit(exchange, "FillSkipped").withArgs(0n, SkipReason.MakerNonceBelowFloor);
      await expect(tx).to.emit(exchange, "Traded");
      expect(await exchange.filled(alice.address, 4n)).to.equal(0n);
      expect(await exchange.filled(alice.address, 5n)).to.equal(1n);
    });
  });
});
