import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { deployExchange } from "../helpers/fixture";
import { handAdminToTimelock } from "../../scripts/lib/deploy";

const ADMIN = ethers.ZeroHash; // DEFAULT_ADMIN_ROLE
const GUARDIAN = ethers.id("GUARDIAN_ROLE");
const PROPOSER = ethers.id("PROPOSER_ROLE");
const MIN_DELAY = 2n * 24n * 3_600n; // two days
const NO_PREDECESSOR = ethers.ZeroHash;

/**
 * The fixture governed as in production: a TimelockController (proposer and executor: the "ops"
 * signer, no timelock admin) holds DEFAULT_ADMIN_ROLE on the Exchange, the deployer has renounced
 * it, and a guardian keeps its immediate powers.
 *
 *   ops --schedule--> timelock --(2 days)--execute--> Exchange admin functions
 *   guardian ------------------------------------------> pause / haltMarket (at once)
 */
async function deployGoverned() {
  const env = await deployExchange();
  const signers = await ethers.getSigners();
  const [guardian, ops] = [signers[8], signers[9]];
  await env.exchange.grantRole(GUARDIAN, guardian.address);
  const timelock = await handAdminToTimelock(
    ethers,
    env.exchange,
    { minDelaySeconds: MIN_DELAY, proposers: [ops.address], executors: [ops.address] },
    env.admin,
  );
  return { ...env, timelock, ops, guardian };
}

type Governed = Awaited<ReturnType<typeof deployGoverned>>;

/** Has ops schedule `data` on the Exchange through the timelock; returns the operation and when it is ready. */
async function schedule(env: Governed, data: string, salt: string) {
  const { timelock, ops, exchange } = env;
  const target = await exchange.getAddress();
  const tx = await timelock.connect(ops).schedule(target, 0n, data, NO_PREDECESSOR, salt, MIN_DELAY);
  const block = await ethers.provider.getBlock((await tx.wait())!.blockNumber);
  // With a gas limit, a call that reverts is still mined (at the timestamp the test set), not refused by estimateGas.
  const execute = (gasLimit?: bigint) =>
    timelock.connect(ops).execute(target, 0n, data, NO_PREDECESSOR, salt, gasLimit === undefined ? {} : { gasLimit });
  const id = await timelock.hashOperation(target, 0n, data, NO_PREDECESSOR, salt);
  return { id, readyAt: BigInt(block!.timestamp) + MIN_DELAY, execute };
}

describe("Exchange governed by a TimelockController", function () {
  it("leaves the deployer without DEFAULT_ADMIN_ROLE and the timelock with it", async function () {
    const { exchange, admin, timelock } = await loadFixture(deployGoverned);
    expect(await exchange.hasRole(ADMIN, admin.address)).to.equal(false);
    expect(await exchange.hasRole(ADMIN, await timelock.getAddress())).to.equal(true);
  });

  it("refuses a parameter change from the ex-admin called directly", async function () {
    const { exchange, admin } = await loadFixture(deployGoverned);
    await expect(exchange.setFees(1n, 20n, 30n))
      .to.be.revertedWithCustomError(exchange, "AccessControlUnauthorizedAccount")
      .withArgs(admin.address, ADMIN);
    await expect(exchange.setPriceBand(1n, 100n, 10_000n))
      .to.be.revertedWithCustomError(exchange, "AccessControlUnauthorizedAccount")
      .withArgs(admin.address, ADMIN);
  });

  it("executes a scheduled fee change only once the delay has passed", async function () {
    const env = await loadFixture(deployGoverned);
    const { exchange, timelock } = env;
    const data = exchange.interface.encodeFunctionData("setFees", [1n, 20n, 30n]);
    const { id, readyAt, execute } = await schedule(env, data, ethers.id("fees-1"));

    await time.setNextBlockTimestamp(readyAt - 1n);
    const early = execute(500_000n);
    await expect(early).to.be.revertedWithCustomError(timelock, "TimelockUnexpectedOperationState");
    const earlyBlock = await ethers.provider.getBlock("latest");
    expect(BigInt(earlyBlock!.timestamp)).to.equal(readyAt - 1n);
    const [, , , , makerBefore, takerBefore] = await exchange.market(1n);
    expect([makerBefore, takerBefore]).to.deep.equal([5n, 10n]);

    await time.setNextBlockTimestamp(readyAt);
    await expect(execute()).to.emit(exchange, "FeesChanged").withArgs(1n, 5n, 10n, 20n, 30n);
    const [, , , , makerAfter, takerAfter] = await exchange.market(1n);
    expect([makerAfter, takerAfter]).to.deep.equal([20n, 30n]);
    expect(await timelock.isOperationDone(id)).to.equal(true);
  });

  it("executes a scheduled price band change after time.increase(delay), once only", async function () {
    const env = await loadFixture(deployGoverned);
    const { exchange, timelock } = env;
    const data = exchange.interface.encodeFunctionData("setPriceBand", [1n, 100n, 10_000n]);
    const { execute } = await schedule(env, data, ethers.id("band-1"));
    await expect(execute()).to.be.revertedWithCustomError(timelock, "TimelockUnexpectedOperationState");
    await time.increase(MIN_DELAY);
    await expect(execute()).to.emit(exchange, "PriceBandChanged").withArgs(1n, 0n, 100n, 0n, 10_000n);
    expect(await exchange.priceBounds(1n)).to.deep.equal([true, 9_900n, 10_100n]);
    await expect(execute()).to.be.revertedWithCustomError(timelock, "TimelockUnexpectedOperationState");
  });

  it("refuses to schedule with less than the minimum delay, or for anyone but a proposer", async function () {
    const { exchange, timelock, ops, outsider } = await loadFixture(deployGoverned);
    const target = await exchange.getAddress();
    const data = exchange.interface.encodeFunctionData("setVelocityLimit", [1n, 10n]);
    await expect(timelock.connect(ops).schedule(target, 0n, data, NO_PREDECESSOR, ethers.ZeroHash, MIN_DELAY - 1n))
      .to.be.revertedWithCustomError(timelock, "TimelockInsufficientDelay")
      .withArgs(MIN_DELAY - 1n, MIN_DELAY);
    await expect(timelock.connect(outsider).schedule(target, 0n, data, NO_PREDECESSOR, ethers.ZeroHash, MIN_DELAY))
      .to.be.revertedWithCustomError(timelock, "AccessControlUnauthorizedAccount")
      .withArgs(outsider.address, PROPOSER);
  });

  it("keeps the guardian's pause immediate while unpausing waits for the timelock", async function () {
    const env = await loadFixture(deployGoverned);
    const { exchange, guardian, admin } = env;
    await expect(exchange.connect(guardian).pause()).to.emit(exchange, "PauseChanged").withArgs(false, true);
    await expect(exchange.connect(admin).unpause())
      .to.be.revertedWithCustomError(exchange, "AccessControlUnauthorizedAccount")
      .withArgs(admin.address, ADMIN);
    const { execute } = await schedule(env, exchange.interface.encodeFunctionData("unpause"), ethers.id("unpause"));
    await time.increase(MIN_DELAY);
    await expect(execute()).to.emit(exchange, "PauseChanged").withArgs(true, false);
    expect(await exchange.paused()).to.equal(false);
  });
});
