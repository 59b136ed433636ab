import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

const BUYER = "0x00000000000000000000000000000000000000b1";
const SELLER = "0x00000000000000000000000000000000000000c1";

async function deployVault() {
  const [trader] = await ethers.getSigners();
  const vault = await ethers.deployContract("VaultHarness");
  const base = await ethers.deployContract("MockERC20", ["Base", "B", 18]);
  const quote = await ethers.deployContract("MockERC20", ["Quote", "Q", 6]);
  await base.mint(trader.address, 1_000n);
  await base.connect(trader).approve(vault, 1_000n);
  return { vault, base, quote, trader };
}

/** Shortfall, in order. */
const Shortfall = { None: 0n, Buyer: 1n, Seller: 2n };

describe("Vault", function () {
  it("moves exactly what a swap says, and its undo puts every balance back", async function () {
    const { vault, base, quote } = await loadFixture(deployVault);
    await vault.credit(BUYER, quote, 1_000n);
    await vault.credit(SELLER, base, 50n);
    const balances = async () =>
      Promise.all([
        vault.balanceOf(BUYER, quote),
        vault.balanceOf(BUYER, base),
        vault.balanceOf(SELLER, quote),
        vault.balanceOf(SELLER, base),
      ]);
    await vault.swap(base, quote, BUYER, SELLER, 30n, 600n, 590n, true);
    expect(await balances()).to.deep.equal([1_000n, 0n, 0n, 50n]);
    await vault.swap(base, quote, BUYER, SELLER, 30n, 600n, 590n, false);
    expect(await balances()).to.deep.equal([400n, 30n, 590n, 20n]);
  });

  it("changes nothing and names the short side when a balance cannot cover its part", async function () {
    const { vault, base, quote } = await loadFixture(deployVault);
    await vault.credit(BUYER, quote, 599n);
    await vault.credit(SELLER, base, 29n);
    expect(await vault.swap.staticCall(base, quote, BUYER, SELLER, 30n, 600n, 590n, false)).to.equal(Shortfall.Buyer);
    await vault.credit(BUYER, quote, 1n);
    expect(await vault.swap.staticCall(base, quote, BUYER, SELLER, 30n, 600n, 590n, false)).to.equal(Shortfall.Seller);
    await vault.credit(SELLER, base, 1n);
    expect(await vault.swap.staticCall(base, quote, BUYER, SELLER, 30n, 600n, 590n, false)).to.equal(Shortfall.None);
  });

  it("withdraws only what a request in force covers and the balance holds, and shrinks the request", async function () {
    const { vault, base, trader } = await loadFixture(deployVault);
    await vault.deposit(base, 1_000n);
    const now = BigInt(await time.latest());
    await vault.requestWithdrawal(base, 600n, now + 10n);
    await expect(vault.withdraw(base, 600n))
      .to.be.revertedWithCustomError(vault, "WithdrawalNotYetEffective")
      .withArgs(await base.getAddress(), now + 10n);
    await time.increaseTo(now + 10n);
    await expect(vault.withdraw(base, 601n))
      .to.be.revertedWithCustomError(vault, "WithdrawalExceedsRequest")
      .withArgs(await base.getAddress(), 600n, 601n);
    await vault.withdraw(base, 200n);
    expect([...(await vault.request(trader.address, base))]).to.deep.equal([400n, now + 10n]);
    expect(await vault.balanceOf(trader.address, base)).to.equal(800n);
    expect(await base.balanceOf(trader.address)).to.equal(200n);
  });

  it("keeps a request's time when asked for no more, restarts it for more, drops it with 0, and refuses more than 216 bits", async function () {
    const { vault, base, trader } = await loadFixture(deployVault);
    expect(await vault.requestWithdrawal.staticCall(base, 5n, 100n)).to.equal(100n);
    await vault.requestWithdrawal(base, 5n, 100n);
    expect(await vault.requestWithdrawal.staticCall(base, 5n, 200n)).to.equal(100n);
    expect(await vault.requestWithdrawal.staticCall(base, 6n, 200n)).to.equal(200n);
    expect(await vault.requestWithdrawal.staticCall(base, 0n, 200n)).to.equal(0n);
    await vault.requestWithdrawal(base, 0n, 200n);
    expect([...(await vault.request(trader.address, base))]).to.deep.equal([0n, 0n]);
    await expect(vault.requestWithdrawal(base, 2n ** 216n, 200n)).to.be.revertedWithCustomError(
      vault,
      "SafeCastOverflowedUintDowncast",
    );
  });
});
