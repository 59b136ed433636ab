import { expect } from "chai";
import { ethers } from "hardhat";
import { deployExchange as deployLinkedExchange } from "../../scripts/lib/deploy";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { deployExchange, LOT_SIZE, MAKER_FEE_BPS, TAKER_FEE_BPS, TICK_SIZE } from "../helpers/fixture";

const MAX_UINT96 = (1n << 96n) - 1n;
const DEFAULT_ADMIN_ROLE = ethers.ZeroHash;

/** The fixture plus a second pair of tokens that no market uses yet. */
async function deployWithSpareTokens() {
  const env = await deployExchange();
  const Token = await ethers.getContractFactory("MockERC20");
  const tokenA = await Token.deploy("Token A", "A", 18);
  const tokenB = await Token.deploy("Token B", "B", 8);
  return { ...env, tokenA, tokenB };
}

describe("Exchange markets and fees", function () {
  describe("constructor and roles", function () {
    it("gives the admin DEFAULT_ADMIN_ROLE and makes it the first fee recipient", async function () {
      const { exchange, admin, keeper } = await loadFixture(deployExchange);
      expect(await exchange.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(true);
      expect(await exchange.hasRole(DEFAULT_ADMIN_ROLE, keeper.address)).to.equal(false);
      expect(await exchange.feeRecipient()).to.equal(admin.address);
    });

    it("emits FeeRecipientChanged from the zero address at deployment", async function () {
      const { admin } = await loadFixture(deployExchange);
      const exchange = await deployLinkedExchange(ethers, admin.address);
      await expect(exchange.deploymentTransaction())
        .to.emit(exchange, "FeeRecipientChanged")
        .withArgs(ethers.ZeroAddress, admin.address);
    });

    it("names its roles by the keccak256 of their names", async function () {
      const { exchange } = await loadFixture(deployExchange);
      expect(await exchange.KEEPER_ROLE()).to.equal(ethers.id("KEEPER_ROLE"));
      expect(await exchange.GUARDIAN_ROLE()).to.equal(ethers.id("GUARDIAN_ROLE"));
    });

    it("caps fees at 100 bps", async function () {
      const { exchange } = await loadFixture(deployExchange);
      expect(await exchange.MAX_FEE_BPS()).to.equal(100n);
    });
  });

  describe("listMarket", function () {
    it("counts market ids up from 1", async function () {
      const { exchange, tokenA, tokenB, base } = await loadFixture(deployWithSpareTokens);
      expect(await exchange.marketCount()).to.equal(1n); // the fixture's market
      await expect(exchange.listMarket(tokenA, tokenB, 1n, 1n, 0n, 0n))
        .to.emit(exchange, "MarketListed")
        .withArgs(2n, await tokenA.getAddress(), await tokenB.getAddress(), 1n, 1n, 0n, 0n);
      await expect(exchange.listMarket(base, tokenB, 7n, 3n, 1n, 2n))
        .to.emit(exchange, "MarketListed")
        .withArgs(3n, await base.getAddress(), await tokenB.getAddress(), 7n, 3n, 1n, 2n);
      expect(await exchange.marketCount()).to.equal(3n);
    });

    it("returns the new market id to a static call", async function () {
      const { exchange, tokenA, tokenB } = await loadFixture(deployWithSpareTokens);
      expect(await exchange.listMarket.staticCall(tokenA, tokenB, 1n, 1n, 0n, 0n)).to.equal(2n);
    });

    it("stores the market's parameters for the market view", async function () {
      const { exchange, base, quote, tokenA, tokenB } = await loadFixture(deployWithSpareTokens);
      expect(await exchange.market(1)).to.deep.equal([
        await base.getAddress(),
        await quote.getAddress(),
        LOT_SIZE,
        TICK_SIZE,
        MAKER_FEE_BPS,
        TAKER_FEE_BPS,
      ]);
      await exchange.listMarket(tokenA, tokenB, MAX_UINT96, 12345n, 100n, 99n);
      expect(await exchange.market(2)).to.deep.equal([
        await tokenA.getAddress(),
        await tokenB.getAddress(),
        MAX_UINT96,
        12345n,
        100n,
        99n,
      ]);
    });

    it("lets the same pair be listed twice with other sizes, as a distinct market", async function () {
      const { exchange, base, quote } = await loadFixture(deployExchange);
      await exchange.listMarket(base, quote, LOT_SIZE * 10n, TICK_SIZE, 0n, 0n);
      expect((await exchange.market(2))[2]).to.equal(LOT_SIZE * 10n);
      expect((await exchange.market(1))[2]).to.equal(LOT_SIZE);
    });

    it("reverts for the same token as base and quote", async function () {
      const { exchange, tokenA } = await loadFixture(deployWithSpareTokens);
      const a = await tokenA.getAddress();
      await expect(exchange.listMarket(a, a, 1n, 1n, 0n, 0n))
        .to.be.revertedWithCustomError(exchange, "InvalidMarketTokens")
        .withArgs(a, a);
    });

    it("reverts for a base or quote that is not a contract", async function () {
      const { exchange, tokenA, outsider } = await loadFixture(deployWithSpareTokens);
      const a = await tokenA.getAddress();
      await expect(exchange.listMarket(outsider.address, a, 1n, 1n, 0n, 0n))
        .to.be.revertedWithCustomError(exchange, "InvalidMarketTokens")
        .withArgs(outsider.address, a);
      await expect(exchange.listMarket(a, outsider.address, 1n, 1n, 0n, 0n))
        .to.be.revertedWithCustomError(exchange, "InvalidMarketTokens")
        .withArgs(a, outsider.address);
      await expect(exchange.listMarket(a, ethers.ZeroAddress, 1n, 1n, 0n, 0n))
        .to.be.revertedWithCustomError(exchange, "InvalidMarketTokens")
        .withArgs(a, ethers.ZeroAddress);
    });

    it("reverts for a zero lot or tick size", async function () {
      const { exchange, tokenA, tokenB } = await loadFixture(deployWithSpareTokens);
      await expect(exchange.listMarket(tokenA, tokenB, 0n, 1n, 0n, 0n))
        .to.be.revertedWithCustomError(exchange, "InvalidMarketSize")
        .withArgs(0n, 1n);
      await expect(exchange.listMarket(tokenA, tokenB, 1n, 0n, 0n, 0n))
        .to.be.revertedWithCustomError(exchange, "InvalidMarketSize")
        .withArgs(1n, 0n);
    });

    it("reverts for a lot or tick size wider than 96 bits and accepts exactly 96 bits", async function () {
      const { exchange, tokenA, tokenB } = await loadFixture(deployWithSpareTokens);
      await expect(exchange.listMarket(tokenA, tokenB, MAX_UINT96 + 1n, 1n, 0n, 0n))
        .to.be.revertedWithCustomError(exchange, "InvalidMarketSize")
        .withArgs(MAX_UINT96 + 1n, 1n);
      await expect(exchange.listMarket(tokenA, tokenB, 1n, MAX_UINT96 + 1n, 0n, 0n))
        .to.be.revertedWithCustomError(exchange, "InvalidMarketSize")
        .withArgs(1n, MAX_UINT96 + 1n);
      await expect(exchange.listMarket(tokenA, tokenB, MAX_UINT96, MAX_UINT96, 0n, 0n)).to.emit(
        exchange,
        "MarketListed",
      );
    });

    it("reverts for a maker or taker fee above the cap and accepts the cap itself", async function () {
      const { exchange, tokenA, tokenB } = await loadFixture(deployWithSpareTokens);
      await expect(exchange.listMarket(tokenA, tokenB, 1n, 1n, 101n, 0n))
        .to.be.revertedWithCustomError(exchange, "FeeAboveCap")
        .withArgs(101n, 100n);
      await expect(exchange.listMarket(tokenA, tokenB, 1n, 1n, 0n, 101n))
        .to.be.revertedWithCustomError(exchange, "FeeAboveCap")
        .withArgs(101n, 100n);
      await expect(exchange.listMarket(tokenA, tokenB, 1n, 1n, 100n, 100n)).to.emit(exchange, "MarketListed");
    });

    it("reverts for an account without DEFAULT_ADMIN_ROLE, the keeper included", async function () {
      const { exchange, tokenA, tokenB, keeper, outsider } = await loadFixture(deployWithSpareTokens);
      for (const caller of [keeper, outsider]) {
        await expect(exchange.connect(caller).listMarket(tokenA, tokenB, 1n, 1n, 0n, 0n))
          .to.be.revertedWithCustomError(exchange, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, DEFAULT_ADMIN_ROLE);
      }
      expect(await exchange.marketCount()).to.equal(1n);
    });

    it("lets a newly granted admin list a market", async function () {
      const { exchange, tokenA, tokenB, outsider } = await loadFixture(deployWithSpareTokens);
      await exchange.grantRole(DEFAULT_ADMIN_ROLE, outsider.address);
      await expect(exchange.connect(outsider).listMarket(tokenA, tokenB, 1n, 1n, 0n, 0n))
        .to.emit(exchange, "MarketListed")
        .withArgs(2n, await tokenA.getAddress(), await tokenB.getAddress(), 1n, 1n, 0n, 0n);
    });
  });

  describe("market view", function () {
    it("reverts MarketNotListed for id 0 and for an id beyond the count", async function () {
      const { exchange } = await loadFixture(deployExchange);
      await expect(exchange.market(0)).to.be.revertedWithCustomError(exchange, "MarketNotListed").withArgs(0n);
      await expect(exchange.market(2)).to.be.revertedWithCustomError(exchange, "MarketNotListed").withArgs(2n);
    });
  });

  describe("setFees", function () {
    it("changes a market's fees and emits FeesChanged with the old and new fees", async function () {
      const { exchange } = await loadFixture(deployExchange);
      await expect(exchange.setFees(1, 17n, 42n))
        .to.emit(exchange, "FeesChanged")
        .withArgs(1n, MAKER_FEE_BPS, TAKER_FEE_BPS, 17n, 42n);
      const m = await exchange.market(1);
      expect([m[4], m[5]]).to.deep.equal([17n, 42n]);
      await expect(exchange.setFees(1, 0n, 100n))
        .to.emit(exchange, "FeesChanged")
        .withArgs(1n, 17n, 42n, 0n, 100n);
    });

    it("changes only the named market", async function () {
      const { exchange, tokenA, tokenB } = await loadFixture(deployWithSpareTokens);
      await exchange.listMarket(tokenA, tokenB, 1n, 1n, 3n, 4n);
      await exchange.setFees(2, 50n, 60n);
      const first = await exchange.market(1);
      expect([first[4], first[5]]).to.deep.equal([MAKER_FEE_BPS, TAKER_FEE_BPS]);
    });

    it("reverts for a market that is not listed", async function () {
      const { exchange } = await loadFixture(deployExchange);
      await expect(exchange.setFees(0, 1n, 1n))
        .to.be.revertedWithCustomError(exchange, "MarketNotListed")
        .withArgs(0n);
      await expect(exchange.setFees(2, 1n, 1n))
        .to.be.revertedWithCustomError(exchange, "MarketNotListed")
        .withArgs(2n);
    });

    it("reverts for a fee above the cap", async function () {
      const { exchange } = await loadFixture(deployExchange);
      await expect(exchange.setFees(1, 101n, 0n))
        .to.be.revertedWithCustomError(exchange, "FeeAboveCap")
        .withArgs(101n, 100n);
      await expect(exchange.setFees(1, 0n, 65535n))
        .to.be.revertedWithCustomError(exchange, "FeeAboveCap")
        .withArgs(65535n, 100n);
    });

    it("reverts for an account without DEFAULT_ADMIN_ROLE", async function () {
      const { exchange, keeper, outsider } = await loadFixture(deployExchange);
      for (const caller of [keeper, outsider]) {
        await expect(exchange.connect(caller).setFees(1, 0n, 0n))
          .to.be.revertedWithCustomError(exchange, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, DEFAULT_ADMIN_ROLE);
      }
    });
  });

  describe("setFeeRecipient", function () {
    it("changes the fee recipient and emits FeeRecipientChanged", async function () {
      const { exchange, admin, carol, dave } = await loadFixture(deployExchange);
      await expect(exchange.setFeeRecipient(carol.address))
        .to.emit(exchange, "FeeRecipientChanged")
        .withArgs(admin.address, carol.address);
      expect(await exchange.feeRecipient()).to.equal(carol.address);
      await expect(exchange.setFeeRecipient(dave.address))
        .to.emit(exchange, "FeeRecipientChanged")
        .withArgs(carol.address, dave.address);
    });

    it("reverts for the zero address", async function () {
      const { exchange } = await loadFixture(deployExchange);
      await expect(exchange.setFeeRecipient(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        exchange,
        "ZeroFeeRecipient",
      );
    });

    it("reverts for an account without DEFAULT_ADMIN_ROLE", async function () {
      const { exchange, admin, keeper, outsider } = await loadFixture(deployExchange);
      for (const caller of [keeper, outsider]) {
        await expect(exchange.connect(caller).setFeeRecipient(caller.address))
          .to.be.revertedWithCustomError(exchange, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, DEFAULT_ADMIN_ROLE);
      }
      expect(await exchange.feeRecipient()).to.equal(admin.address);
    });
  });
});
