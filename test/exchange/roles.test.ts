import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse } from "ethers";
import { LOT_SIZE, TICK_SIZE } from "../helpers/fixture";
import { deployFunded, fill, settleAs, signed, type Trader } from "./support";

const ADMIN = ethers.ZeroHash; // DEFAULT_ADMIN_ROLE
const GUARDIAN = ethers.id("GUARDIAN_ROLE");
const KEEPER = ethers.id("KEEPER_ROLE");

/** The funded fixture plus a guardian, a price feed, two fresh tokens to list, and a signed batch. */
async function deployRoles() {
  const env = await deployFunded();
  const guardian = (await ethers.getSigners())[8];
  await env.exchange.grantRole(GUARDIAN, guardian.address);
  const feed = await ethers.deployContract("MockPriceFeed", [8, 200_003_000_000n]);
  const tokenA = await ethers.deployContract("MockERC20", ["Token A", "A", 18]);
  const tokenB = await ethers.deployContract("MockERC20", ["Token B", "B", 6]);
  const ask = await signed(env.alice, env.domain, { isBuy: false, nonce: 1n });
  const bid = await signed(env.bob, env.domain, { isBuy: true, nonce: 1n });
  return { ...env, guardian, feed, tokenA, tokenB, ask, bid };
}

type RolesEnv = Awaited<ReturnType<typeof deployRoles>>;
/** The Exchange as seen by one caller. */
type Exchange = ReturnType<RolesEnv["exchange"]["connect"]>;
type Holder = "admin" | "guardian" | "keeper";
const CALLERS = ["outsider", "keeper", "guardian", "admin"] as const;
type Caller = (typeof CALLERS)[number];

interface Restricted {
  name: string;
  role: Holder;
  /** Puts the Exchange in a state where the call succeeds for the role's holder. */
  prepare?: (env: RolesEnv) => Promise<unknown>;
  call: (exchange: Exchange, env: RolesEnv) => Promise<ContractTransactionResponse>;
  /** The event the holder's call emits. */
  event: string;
}

const RESTRICTED: Restricted[] = [
  {
    name: "listMarket",
    role: "admin",
    call: (exchange, { tokenA, tokenB }) => exchange.listMarket(tokenA, tokenB, LOT_SIZE, TICK_SIZE, 1n, 2n),
    event: "MarketListed",
  },
  {
    name: "setFees",
    role: "admin",
    call: (exchange) => exchange.setFees(1n, 1n, 2n),
    event: "FeesChanged",
  },
  {
    name: "setFeeRecipient",
    role: "admin",
    call: (exchange, { carol }) => exchange.setFeeRecipient(carol.address),
    event: "FeeRecipientChanged",
  },
  {
    name: "setPriceBand",
    role: "admin",
    call: (exchange) => exchange.setPriceBand(1n, 100n, 10_000n),
    event: "PriceBandChanged",
  },
  {
    name: "setPriceFeed",
    role: "admin",
    call: (exchange, { feed }) => exchange.setPriceFeed(1n, feed, 3_600n),
    event: "PriceFeedChanged",
  },
  {
    name: "setFirmnessDelay",
    role: "admin",
    call: (exchange) => exchange.setFirmnessDelay(60n),
    event: "FirmnessDelayChanged",
  },
  {
    name: "setVelocityLimit",
    role: "admin",
    call: (exchange) => exchange.setVelocityLimit(1n, 10n),
    event: "VelocityLimitChanged",
  },
  {
    name: "unpause",
    role: "admin",
    prepare: ({ exchange, guardian }) => exchange.connect(guardian).pause(),
    call: (exchange) => exchange.unpause(),
    event: "PauseChanged",
  },
  {
    name: "resumeMarket",
    role: "admin",
    prepare: ({ exchange, guardian }) => exchange.connect(guardian).haltMarket(1n),
    call: (exchange) => exchange.resumeMarket(1n),
    event: "MarketHaltChanged",
  },
  {
    name: "grantRole",
    role: "admin",
    call: (exchange, { outsider }) => exchange.grantRole(KEEPER, outsider.address),
    event: "RoleGranted",
  },
  {
    name: "revokeRole",
    role: "admin",
    call: (exchange, { keeper }) => exchange.revokeRole(KEEPER, keeper.address),
    event: "RoleRevoked",
  },
  {
    name: "pause",
    role: "guardian",
    call: (exchange) => exchange.pause(),
    event: "PauseChanged",
  },
  {
    name: "haltMarket",
    role: "guardian",
    call: (exchange) => exchange.haltMarket(1n),
    event: "MarketHaltChanged",
  },
  {
    name: "settle",
    role: "keeper",
    call: (exchange, { ask, bid }) =>
      exchange.settle([ask.order, bid.order], [ask.signature, bid.signature], [fill(0, 1, 1n)]),
    event: "Traded",
  },
];

const ROLE_HASH: Record<Holder, string> = { admin: ADMIN, guardian: GUARDIAN, keeper: KEEPER };

function signerOf(env: RolesEnv, caller: Caller): Trader {
  return env[caller];
}

describe("Exchange roles", function () {
  for (const fn of RESTRICTED) {
    describe(fn.name, function () {
      for (const caller of CALLERS.filter((c) => c !== fn.role)) {
        it(`reverts AccessControlUnauthorizedAccount when called by the ${caller}`, async function () {
          const env = await loadFixture(deployRoles);
          await fn.prepare?.(env);
          const signer = signerOf(env, caller);
          await expect(fn.call(env.exchange.connect(signer), env))
            .to.be.revertedWithCustomError(env.exchange, "AccessControlUnauthorizedAccount")
            .withArgs(signer.address, ROLE_HASH[fn.role]);
        });
      }

      it(`succeeds for the ${fn.role}`, async function () {
        const env = await loadFixture(deployRoles);
        await fn.prepare?.(env);
        await expect(fn.call(env.exchange.connect(signerOf(env, fn.role)), env)).to.emit(env.exchange, fn.event);
      });
    });
  }

  it("gives the deployer's admin only DEFAULT_ADMIN_ROLE, and each role its own holder", async function () {
    const { exchange, admin, keeper, guardian } = await loadFixture(deployRoles);
    const holds = async (role: string) =>
      Promise.all([admin, keeper, guardian].map((s) => exchange.hasRole(role, s.address)));
    expect(await holds(ADMIN)).to.deep.equal([true, false, false]);
    expect(await holds(KEEPER)).to.deep.equal([false, true, false]);
    expect(await holds(GUARDIAN)).to.deep.equal([false, false, true]);
    expect(await exchange.getRoleAdmin(KEEPER)).to.equal(ADMIN);
    expect(await exchange.getRoleAdmin(GUARDIAN)).to.equal(ADMIN);
  });

  it("stops a keeper from settling once the admin revokes its role", async function () {
    const { exchange, keeper, ask, bid } = await loadFixture(deployRoles);
    await exchange.revokeRole(KEEPER, keeper.address);
    await expect(settleAs(exchange, keeper, [ask, bid], [fill(0, 1, 1n)]))
      .to.be.revertedWithCustomError(exchange, "AccessControlUnauthorizedAccount")
      .withArgs(keeper.address, KEEPER);
  });

  it("lets a newly granted guardian pause at once", async function () {
    const { exchange, outsider } = await loadFixture(deployRoles);
    await exchange.grantRole(GUARDIAN, outsider.address);
    await expect(exchange.connect(outsider).pause()).to.emit(exchange, "PauseChanged").withArgs(false, true);
    expect(await exchange.paused()).to.equal(true);
  });

  it("leaves the account self-limits to every account, whatever its roles", async function () {
    const { exchange, outsider } = await loadFixture(deployRoles);
    await expect(exchange.connect(outsider).setCancelAfter(1n)).to.emit(exchange, "CancelAfterChanged");
    await expect(exchange.connect(outsider).setWindowLimit(1n, 5n, 60n)).to.emit(
      exchange,
      "WindowLimitChangeScheduled",
    );
  });
});
