import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployExchange, fund } from "../helpers/fixture";
import { afterFirmness, FIRMNESS_DELAY, fundWith, linkedLibrary, minedAt, requestWithdrawNow } from "./support";

/** The fixture plus one of each misbehaving token. */
async function deployWithWeirdTokens() {
  const env = await deployExchange();
  const noReturn = await ethers.deployContract("NoReturnToken");
  const returnsFalse = await ethers.deployContract("ReturnsFalseToken");
  const feeOnTransfer = await ethers.deployContract("FeeOnTransferToken");
  const reverting = await ethers.deployContract("RevertingToken");
  return { ...env, noReturn, returnsFalse, feeOnTransfer, reverting };
}

const AMOUNT = 1_000_000n;

describe("Exchange balances", function () {
  describe("deposit", function () {
    it("pulls the tokens, credits the internal balance and emits Deposited", async function () {
      const { exchange, base, alice } = await loadFixture(deployExchange);
      await base.mint(alice.address, AMOUNT);
      await base.connect(alice).approve(exchange, AMOUNT);
      await expect(exchange.connect(alice).deposit(base, 400n))
        .to.emit(exchange, "Deposited")
        .withArgs(alice.address, await base.getAddress(), 400n);
      expect(await exchange.balanceOf(alice.address, base)).to.equal(400n);
      expect(await base.balanceOf(alice.address)).to.equal(AMOUNT - 400n);
      expect(await base.balanceOf(exchange)).to.equal(400n);
    });

    it("adds successive deposits together", async function () {
      const { exchange, base, alice } = await loadFixture(deployExchange);
      await fund(exchange, base, alice, 123n);
      await fund(exchange, base, alice, 877n);
      expect(await exchange.balanceOf(alice.address, base)).to.equal(1_000n);
    });

    it("keeps balances per account and per token", async function () {
      const { exchange, base, quote, alice, bob } = await loadFixture(deployExchange);
      await fund(exchange, base, alice, 5n);
      await fund(exchange, quote, bob, 7n);
      expect(await exchange.balanceOf(alice.address, base)).to.equal(5n);
      expect(await exchange.balanceOf(alice.address, quote)).to.equal(0n);
      expect(await exchange.balanceOf(bob.address, base)).to.equal(0n);
      expect(await exchange.balanceOf(bob.address, quote)).to.equal(7n);
    });

    it("reverts ZeroAmount for a zero deposit", async function () {
      const { exchange, base, alice } = await loadFixture(deployExchange);
      await expect(exchange.connect(alice).deposit(base, 0n)).to.be.revertedWithCustomError(exchange, "ZeroAmount");
    });

    it("reverts when the allowance is short, crediting nothing", async function () {
      const { exchange, base, alice } = await loadFixture(deployExchange);
      await base.mint(alice.address, AMOUNT);
      await base.connect(alice).approve(exchange, AMOUNT - 1n);
      await expect(exchange.connect(alice).deposit(base, AMOUNT)).to.be.revertedWithCustomError(
        base,
        "ERC20InsufficientAllowance",
      );
      expect(await exchange.balanceOf(alice.address, base)).to.equal(0n);
    });
  });

  describe("withdraw", function () {
    it("sends the tokens, debits the internal balance and emits Withdrawn", async function () {
      const { exchange, base, alice } = await loadFixture(deployExchange);
      await fund(exchange, base, alice, AMOUNT);
      await requestWithdrawNow(exchange, alice, base, 300n);
      await expect(exchange.connect(alice).withdraw(base, 300n))
        .to.emit(exchange, "Withdrawn")
        .withArgs(alice.address, await base.getAddress(), 300n);
      expect(await exchange.balanceOf(alice.address, base)).to.equal(AMOUNT - 300n);
      expect(await base.balanceOf(alice.address)).to.equal(300n);
      expect(await base.balanceOf(exchange)).to.equal(AMOUNT - 300n);
    });

    it("withdraws the whole balance down to zero", async function () {
      const { exchange, base, alice } = await loadFixture(deployExchange);
      await fund(exchange, base, alice, AMOUNT);
      await requestWithdrawNow(exchange, alice, base, AMOUNT);
      await exchange.connect(alice).withdraw(base, AMOUNT);
      expect(await exchange.balanceOf(alice.address, base)).to.equal(0n);
      expect(await base.balanceOf(alice.address)).to.equal(AMOUNT);
    });

    it("reverts InsufficientBalance for more than the balance", async function () {
      const { exchange, base, alice } = await loadFixture(deployExchange);
      await fund(exchange, base, alice, AMOUNT);
      await requestWithdrawNow(exchange, alice, base, AMOUNT + 1n);
      await expect(exchange.connect(alice).withdraw(base, AMOUNT + 1n))
        .to.be.revertedWithCustomError(exchange, "InsufficientBalance")
        .withArgs(await base.getAddress(), AMOUNT, AMOUNT + 1n);
      expect(await exchange.balanceOf(alice.address, base)).to.equal(AMOUNT);
    });

    it("reverts InsufficientBalance when withdrawing another account's tokens", async function () {
      const { exchange, base, alice, bob } = await loadFixture(deployExchange);
      await fund(exchange, base, alice, AMOUNT);
      await requestWithdrawNow(exchange, bob, base, 1n);
      await expect(exchange.connect(bob).withdraw(base, 1n))
        .to.be.revertedWithCustomError(exchange, "InsufficientBalance")
        .withArgs(await base.getAddress(), 0n, 1n);
    });

    it("reverts ZeroAmount for a zero withdrawal", async function () {
      const { exchange, base, alice } = await loadFixture(deployExchange);
      await fund(exchange, base, alice, AMOUNT);
      await requestWithdrawNow(exchange, alice, base, 0n);
      await expect(exchange.connect(alice).withdraw(base, 0n)).to.be.revertedWithCustomError(exchange, "ZeroAmount");
    });
  });

  describe("withdrawal requests", function () {
    /** The timestamp of the latest block. */
    const now = async () => BigInt(await time.latest());

    it("emits WithdrawalRequested with when the request is in force, and withdraws only from then on", async function () {
      const { exchange, base, alice } = await loadFixture(deployExchange);
      await fund(exchange, base, alice, AMOUNT);
      const token = await base.getAddress();
      const tx = exchange.connect(alice).requestWithdraw(base, 400n);
      const effectiveAt = (await minedAt(tx)) + FIRMNESS_DELAY;
      await expect(tx).to.emit(exchange, "WithdrawalRequested").withArgs(alice.address, token, 400n, effectiveAt);
      expect([...(await exchange.withdrawalRequest(alice.address, base))]).to.deep.equal([400n, effectiveAt]);
      expect(await exchange.balanceOf(alice.address, base)).to.equal(AMOUNT); // the request reserves nothing
      await time.setNextBlockTimestamp(effectiveAt - 1n);
      await expect(exchange.connect(alice).withdraw(base, 400n))
        .to.be.revertedWithCustomError(exchange, "WithdrawalNotYetEffective")
        .withArgs(token, effectiveAt);
      await time.setNextBlockTimestamp(effectiveAt);
      await expect(exchange.connect(alice).withdraw(base, 150n))
        .to.emit(exchange, "Withdrawn")
        .withArgs(alice.address, token, 150n);
      // What is left of the request stays in force.
      expect([...(await exchange.withdrawalRequest(alice.address, base))]).to.deep.equal([250n, effectiveAt]);
      await expect(exchange.connect(alice).withdraw(base, 251n))
        .to.be.revertedWithCustomError(exchange, "WithdrawalExceedsRequest")
        .withArgs(token, 250n, 251n);
      await exchange.connect(alice).withdraw(base, 250n);
      expect(await exchange.balanceOf(alice.address, base)).to.equal(AMOUNT - 400n);
    });

    it("reverts WithdrawalExceedsRequest without a request, and for another token than the one asked for", async function () {
      const { exchange, base, quote, alice } = await loadFixture(deployExchange);
      await fund(exchange, base, alice, AMOUNT);
      await expect(exchange.connect(alice).withdraw(base, 1n))
        .to.be.revertedWithCustomError(exchange, "WithdrawalExceedsRequest")
        .withArgs(await base.getAddress(), 0n, 1n);
      await requestWithdrawNow(exchange, alice, base, AMOUNT);
      await expect(exchange.connect(alice).withdraw(quote, 1n))
        .to.be.revertedWithCustomError(exchange, "WithdrawalExceedsRequest")
        .withArgs(await quote.getAddress(), 0n, 1n);
    });

    it("keeps a request's time when asked for no more, starts the delay again when asked for more, and drops it with 0", async function () {
      const { exchange, base, alice } = await loadFixture(deployExchange);
      await exchange.connect(alice).requestWithdraw(base, 500n);
      const first = (await now()) + FIRMNESS_DELAY;
      await time.increase(10);
      await exchange.connect(alice).requestWithdraw(base, 200n);
      expect([...(await exchange.withdrawalRequest(alice.address, base))]).to.deep.equal([200n, first]);
      await exchange.connect(alice).requestWithdraw(base, 201n);
      expect([...(await exchange.withdrawalRequest(alice.address, base))]).to.deep.equal([
        201n,
        (await now()) + FIRMNESS_DELAY,
      ]);
      await expect(exchange.connect(alice).requestWithdraw(base, 0n))
        .to.emit(exchange, "WithdrawalRequested")
        .withArgs(alice.address, await base.getAddress(), 0n, 0n);
      expect([...(await exchange.withdrawalRequest(alice.address, base))]).to.deep.equal([0n, 0n]);
    });

    it("may be asked for more than the balance; the withdrawal is bounded by both", async function () {
      const { exchange, base, alice } = await loadFixture(deployExchange);
      await fund(exchange, base, alice, AMOUNT);
      await requestWithdrawNow(exchange, alice, base, AMOUNT * 2n);
      await expect(exchange.connect(alice).withdraw(base, AMOUNT + 1n))
        .to.be.revertedWithCustomError(exchange, "InsufficientBalance")
        .withArgs(await base.getAddress(), AMOUNT, AMOUNT + 1n);
      await afterFirmness();
      await exchange.connect(alice).withdraw(base, AMOUNT);
      expect(await base.balanceOf(alice.address)).to.equal(AMOUNT);
    });
  });

  describe("a token that returns nothing (USDT-like)", function () {
    it("deposits and withdraws normally", async function () {
      const { exchange, noReturn, alice } = await loadFixture(deployWithWeirdTokens);
      await noReturn.mint(alice.address, AMOUNT);
      await noReturn.connect(alice).approve(exchange, AMOUNT);
      await expect(exchange.connect(alice).deposit(noReturn, AMOUNT))
        .to.emit(exchange, "Deposited")
        .withArgs(alice.address, await noReturn.getAddress(), AMOUNT);
      await requestWithdrawNow(exchange, alice, noReturn, 250n);
      await expect(exchange.connect(alice).withdraw(noReturn, 250n))
        .to.emit(exchange, "Withdrawn")
        .withArgs(alice.address, await noReturn.getAddress(), 250n);
      expect(await exchange.balanceOf(alice.address, noReturn)).to.equal(AMOUNT - 250n);
      expect(await noReturn.balanceOf(alice.address)).to.equal(250n);
    });

    it("still reverts a deposit the token refuses", async function () {
      const { exchange, noReturn, alice } = await loadFixture(deployWithWeirdTokens);
      await noReturn.mint(alice.address, AMOUNT);
      await expect(exchange.connect(alice).deposit(noReturn, AMOUNT)).to.be.revertedWithCustomError(
        noReturn,
        "AllowanceTooLow",
      );
      expect(await exchange.balanceOf(alice.address, noReturn)).to.equal(0n);
    });
  });

  describe("a token that returns false instead of reverting", function () {
    it("deposits and withdraws normally while its transfers succeed", async function () {
      const { exchange, returnsFalse, alice } = await loadFixture(deployWithWeirdTokens);
      await fundWith(exchange, returnsFalse, alice, AMOUNT);
      await requestWithdrawNow(exchange, alice, returnsFalse, 1n);
      await exchange.connect(alice).withdraw(returnsFalse, 1n);
      expect(await exchange.balanceOf(alice.address, returnsFalse)).to.equal(AMOUNT - 1n);
      expect(await returnsFalse.balanceOf(alice.address)).to.equal(1n);
    });

    it("makes a deposit beyond the allowance revert SafeERC20FailedOperation, crediting nothing", async function () {
      const { exchange, returnsFalse, alice } = await loadFixture(deployWithWeirdTokens);
      await returnsFalse.mint(alice.address, AMOUNT);
      await returnsFalse.connect(alice).approve(exchange, AMOUNT - 1n);
      await expect(exchange.connect(alice).deposit(returnsFalse, AMOUNT))
        .to.be.revertedWithCustomError(await linkedLibrary(exchange, "TraderActions"), "SafeERC20FailedOperation")
        .withArgs(await returnsFalse.getAddress());
      expect(await exchange.balanceOf(alice.address, returnsFalse)).to.equal(0n);
      expect(await returnsFalse.balanceOf(alice.address)).to.equal(AMOUNT);
    });

    it("makes a deposit beyond the sender's balance revert SafeERC20FailedOperation", async function () {
      const { exchange, returnsFalse, alice } = await loadFixture(deployWithWeirdTokens);
      await returnsFalse.mint(alice.address, AMOUNT - 1n);
      await returnsFalse.connect(alice).approve(exchange, AMOUNT);
      await expect(exchange.connect(alice).deposit(returnsFalse, AMOUNT))
        .to.be.revertedWithCustomError(await linkedLibrary(exchange, "TraderActions"), "SafeERC20FailedOperation")
        .withArgs(await returnsFalse.getAddress());
    });

    it("makes a withdrawal whose transfer returns false revert SafeERC20FailedOperation, keeping the balance", async function () {
      const { exchange, returnsFalse, alice } = await loadFixture(deployWithWeirdTokens);
      await fundWith(exchange, returnsFalse, alice, AMOUNT);
      await returnsFalse.setFailTransfers(true);
      await requestWithdrawNow(exchange, alice, returnsFalse, AMOUNT);
      await expect(exchange.connect(alice).withdraw(returnsFalse, AMOUNT))
        .to.be.revertedWithCustomError(await linkedLibrary(exchange, "TraderActions"), "SafeERC20FailedOperation")
        .withArgs(await returnsFalse.getAddress());
      expect(await exchange.balanceOf(alice.address, returnsFalse)).to.equal(AMOUNT);
      expect(await returnsFalse.balanceOf(alice.address)).to.equal(0n);
    });
  });

  describe("a fee-on-transfer token", function () {
    it("credits what arrived, not what was asked, and says so in Deposited", async function () {
      const { exchange, feeOnTransfer, alice } = await loadFixture(deployWithWeirdTokens);
      await feeOnTransfer.mint(alice.address, AMOUNT);
      await feeOnTransfer.connect(alice).approve(exchange, AMOUNT);
      const arrived = AMOUNT - AMOUNT / 100n; // 1% burnt
      await expect(exchange.connect(alice).deposit(feeOnTransfer, AMOUNT))
        .to.emit(exchange, "Deposited")
        .withArgs(alice.address, await feeOnTransfer.getAddress(), arrived);
      expect(await exchange.balanceOf(alice.address, feeOnTransfer)).to.equal(arrived);
      expect(await feeOnTransfer.balanceOf(exchange)).to.equal(arrived);
    });

    it("debits the amount withdrawn while the trader receives it minus the token's fee", async function () {
      const { exchange, feeOnTransfer, alice } = await loadFixture(deployWithWeirdTokens);
      await fundWith(exchange, feeOnTransfer, alice, AMOUNT);
      const credited = await exchange.balanceOf(alice.address, feeOnTransfer); // 990_000
      await requestWithdrawNow(exchange, alice, feeOnTransfer, credited);
      await expect(exchange.connect(alice).withdraw(feeOnTransfer, credited))
        .to.emit(exchange, "Withdrawn")
        .withArgs(alice.address, await feeOnTransfer.getAddress(), credited);
      expect(await exchange.balanceOf(alice.address, feeOnTransfer)).to.equal(0n);
      expect(await feeOnTransfer.balanceOf(alice.address)).to.equal(credited - credited / 100n);
      expect(await feeOnTransfer.balanceOf(exchange)).to.equal(0n);
    });

    it("keeps the Exchange's holdings equal to the sum of balances across two traders", async function () {
      const { exchange, feeOnTransfer, alice, bob } = await loadFixture(deployWithWeirdTokens);
      await fundWith(exchange, feeOnTransfer, alice, 12_345n);
      await fundWith(exchange, feeOnTransfer, bob, 67_891n);
      await requestWithdrawNow(exchange, bob, feeOnTransfer, 1_000n);
      await exchange.connect(bob).withdraw(feeOnTransfer, 1_000n);
      const sum =
        (await exchange.balanceOf(alice.address, feeOnTransfer)) +
        (await exchange.balanceOf(bob.address, feeOnTransfer));
      expect(await feeOnTransfer.balanceOf(exchange)).to.equal(sum);
      expect(sum).to.equal(12_345n - 123n + (67_891n - 678n) - 1_000n);
    });

    it("reverts ZeroAmount for a deposit of which nothing arrives", async function () {
      const { exchange, feeOnTransfer, alice } = await loadFixture(deployWithWeirdTokens);
      await feeOnTransfer.setFeeBps(10_000n);
      await feeOnTransfer.mint(alice.address, AMOUNT);
      await feeOnTransfer.connect(alice).approve(exchange, AMOUNT);
      await expect(exchange.connect(alice).deposit(feeOnTransfer, AMOUNT)).to.be.revertedWithCustomError(
        exchange,
        "ZeroAmount",
      );
    });
  });

  describe("a token that can be switched to revert", function () {
    it("deposits and withdraws normally while switched off", async function () {
      const { exchange, reverting, alice } = await loadFixture(deployWithWeirdTokens);
      await fundWith(exchange, reverting, alice, AMOUNT);
      await requestWithdrawNow(exchange, alice, reverting, AMOUNT);
      await exchange.connect(alice).withdraw(reverting, AMOUNT);
      expect(await reverting.balanceOf(alice.address)).to.equal(AMOUNT);
    });

    it("makes a deposit revert with the token's error while switched on", async function () {
      const { exchange, reverting, alice } = await loadFixture(deployWithWeirdTokens);
      await reverting.mint(alice.address, AMOUNT);
      await reverting.connect(alice).approve(exchange, AMOUNT);
      await reverting.setReverting(true);
      await expect(exchange.connect(alice).deposit(reverting, AMOUNT)).to.be.revertedWithCustomError(
        reverting,
        "TransfersReverting",
      );
      expect(await exchange.balanceOf(alice.address, reverting)).to.equal(0n);
    });

    it("makes a withdrawal revert while switched on, keeping the balance for a later withdrawal", async function () {
      const { exchange, reverting, alice } = await loadFixture(deployWithWeirdTokens);
      await fundWith(exchange, reverting, alice, AMOUNT);
      await reverting.setReverting(true);
      await requestWithdrawNow(exchange, alice, reverting, AMOUNT);
      await expect(exchange.connect(alice).withdraw(reverting, AMOUNT)).to.be.revertedWithCustomError(
        reverting,
        "TransfersReverting",
      );
      expect(await exchange.balanceOf(alice.address, reverting)).to.equal(AMOUNT);
      await reverting.setReverting(false);
      await requestWithdrawNow(exchange, alice, reverting, AMOUNT);
      await exchange.connect(alice).withdraw(reverting, AMOUNT);
      expect(await reverting.balanceOf(alice.address)).to.equal(AMOUNT);
    });
  });
});
