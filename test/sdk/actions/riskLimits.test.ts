import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { zeroAddress } from "viem";
import {
  ContractRevertError,
  MAX_ORDER_LOTS,
  MAX_UINT64,
  decodeContractError,
  getCancelAfter,
  getFirmnessDelay,
  getPaused,
  getPriceBounds,
  getRiskLimits,
  getWindowLimit,
  setCancelAfter,
  setWindowLimit,
} from "@crossbook/sdk";
import { fundedLocalAccount, publicClient, sdkFixture, walletClient, type SdkEnv } from "../support";

const LOOSEN_DELAY = 3600n;
const FIRMNESS_DELAY = 30n;

/** The contract's own `windowLimit` view, read through ethers, with the SDK's field names and bigints. */
async function contractWindowLimit(env: SdkEnv, account: string, marketId: bigint) {
  const r = await env.exchange.windowLimit(account, marketId);
  return {
    maxLots: BigInt(r.maxLots),
    windowSeconds: BigInt(r.windowSeconds),
    windowStart: BigInt(r.windowStart),
    usedLots: BigInt(r.usedLots),
    pendingMaxLots: BigInt(r.pendingMaxLots),
    pendingWindowSeconds: BigInt(r.pendingWindowSeconds),
    pendingEffectiveAt: BigInt(r.pendingEffectiveAt),
  };
}

const NO_LIMIT = {
  maxLots: 0n,
  windowSeconds: 0n,
  windowStart: 0n,
  usedLots: 0n,
  pendingMaxLots: 0n,
  pendingWindowSeconds: 0n,
  pendingEffectiveAt: 0n,
};

describe("sdk/actions: risk limits", function () {
  it("setCancelAfter sets the deadline getCancelAfter and the contract's cancelAfter read; 0n turns it off", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange } = env.addresses;
    const account = await fundedLocalAccount();
    const client = walletClient(account);
    expect(await getCancelAfter(publicClient, { exchange, account: account.address })).to.equal(0n);

    // Far beyond the firmness delay, however far the wall clock (the next block's time) runs ahead of the latest block.
    const deadline = BigInt(await time.latest()) + 86_400n;
    await publicClient.waitForTransactionReceipt({ hash: await setCancelAfter(client, { exchange, deadline }) });
    expect(await getCancelAfter(publicClient, { exchange, account: account.address })).to.equal(deadline);
    expect(await env.exchange.cancelAfter(account.address)).to.equal(deadline);

    // Earlier than the firmness delay allows: stored as the delay's last second.
    const delay = await getFirmnessDelay(publicClient, { exchange });
    expect(delay).to.equal(FIRMNESS_DELAY);
    const hash = await setCancelAfter(client, { exchange, deadline: 1n });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    const minedAt = (await publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp;
    expect(await getCancelAfter(publicClient, { exchange, account: account.address })).to.equal(minedAt + delay - 1n);

    await publicClient.waitForTransactionReceipt({ hash: await setCancelAfter(client, { exchange, deadline: 0n }) });
    expect(await getCancelAfter(publicClient, { exchange, account: account.address })).to.equal(0n);
    expect(await env.exchange.cancelAfter(account.address)).to.equal(0n);
  });

  it("setWindowLimit: a tightening applies after the firmness delay, a loosening after LOOSEN_DELAY; pending until then", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange } = env.addresses;
    const account = await fundedLocalAccount();
    const client = walletClient(account);
    const read = () => getWindowLimit(publicClient, { exchange, account: account.address, marketId: 1n });
    expect(await read()).to.deep.equal(NO_LIMIT);
    expect(await env.exchange.LOOSEN_DELAY()).to.equal(LOOSEN_DELAY);

    // Any limit is tighter than none: pending for the firmness delay, then in force.
    const first = await setWindowLimit(client, { exchange, marketId: 1n, maxLots: 100n, windowSeconds: 600n });
    const firstReceipt = await publicClient.waitForTransactionReceipt({ hash: first });
    const firstAt = (await publicClient.getBlock({ blockNumber: firstReceipt.blockNumber })).timestamp;
    expect(await read()).to.deep.equal({
      ...NO_LIMIT,
      pendingMaxLots: 100n,
      pendingWindowSeconds: 600n,
      pendingEffectiveAt: firstAt + FIRMNESS_DELAY,
    });
    await time.increaseTo(firstAt + FIRMNESS_DELAY);
    expect(await read()).to.deep.equal({ ...NO_LIMIT, maxLots: 100n, windowSeconds: 600n });
    expect(await read()).to.deep.equal(await contractWindowLimit(env, account.address, 1n));

    // A lower cap over a longer window: the same.
    await publicClient.waitForTransactionReceipt({
      hash: await setWindowLimit(client, { exchange, marketId: 1n, maxLots: 50n, windowSeconds: 900n }),
    });
    await time.increase(FIRMNESS_DELAY);
    expect(await read()).to.deep.equal({ ...NO_LIMIT, maxLots: 50n, windowSeconds: 900n });

    // A higher cap: pending for LOOSEN_DELAY, the current limit unchanged.
    const hash = await setWindowLimit(client, { exchange, marketId: 1n, maxLots: 200n, windowSeconds: 900n });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    const minedAt = (await publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp;
    const pending = await read();
    expect(pending).to.deep.equal({
      ...NO_LIMIT,
      maxLots: 50n,
      windowSeconds: 900n,
      pendingMaxLots: 200n,
      pendingWindowSeconds: 900n,
      pendingEffectiveAt: minedAt + LOOSEN_DELAY,
    });
    expect(pending).to.deep.equal(await contractWindowLimit(env, account.address, 1n));

    // Once due, the view shows the loosening applied.
    await time.increaseTo(minedAt + LOOSEN_DELAY);
    expect(await read()).to.deep.equal({ ...NO_LIMIT, maxLots: 200n, windowSeconds: 900n });
    expect(await read()).to.deep.equal(await contractWindowLimit(env, account.address, 1n));

    // A loosening replaced by a later tightening.
    await publicClient.waitForTransactionReceipt({
      hash: await setWindowLimit(client, { exchange, marketId: 1n, maxLots: 0n, windowSeconds: 0n }),
    });
    expect(await read()).to.include({ maxLots: 200n, windowSeconds: 900n, pendingWindowSeconds: 0n });
    expect((await read()).pendingEffectiveAt).to.not.equal(0n);
    await publicClient.waitForTransactionReceipt({
      hash: await setWindowLimit(client, { exchange, marketId: 1n, maxLots: 10n, windowSeconds: 900n }),
    });
    await time.increase(FIRMNESS_DELAY);
    expect(await read()).to.deep.equal({ ...NO_LIMIT, maxLots: 10n, windowSeconds: 900n });
    expect(await read()).to.deep.equal(await contractWindowLimit(env, account.address, 1n));
  });

  it("setWindowLimit with a zero cap and a window throws InvalidWindowLimit, decoded with its arguments", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange } = env.addresses;
    const account = await fundedLocalAccount();
    const error = await setWindowLimit(walletClient(account), {
      exchange,
      marketId: 1n,
      maxLots: 0n,
      windowSeconds: 60n,
    }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ContractRevertError).with.property("errorName", "InvalidWindowLimit");
    expect((error as ContractRevertError).namedArgs).to.deep.equal({ maxLots: 0, windowSeconds: 60 });

    // The same revert raised through ethers, decoded by decodeContractError.
    const ethersError = await env.exchange
      .connect(env.alice)
      .setWindowLimit(1, 0, 60)
      .catch((e: unknown) => e);
    expect(decodeContractError({ error: ethersError })).to.deep.include({
      errorName: "InvalidWindowLimit",
      args: [0, 60],
      namedArgs: { maxLots: 0, windowSeconds: 60 },
    });

    const unlisted = await setWindowLimit(walletClient(account), {
      exchange,
      marketId: 2n,
      maxLots: 1n,
      windowSeconds: 60n,
    }).catch((e: unknown) => e);
    expect(unlisted).to.be.instanceOf(ContractRevertError).with.property("errorName", "MarketNotListed");
  });

  it("getRiskLimits and getPriceBounds read a market without limits, then the band the admin sets", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange } = env.addresses;
    expect(await getRiskLimits(publicClient, { exchange, marketId: 1n })).to.deep.equal({
      halted: false,
      bandBps: 0n,
      maxLotsPerBlock: 0n,
      feed: zeroAddress,
      feedMaxAgeSeconds: 0n,
      lastPriceTicks: 0n,
      lotsThisBlock: 0n,
    });
    expect(await getPriceBounds(publicClient, { exchange, marketId: 1n })).to.deep.equal({
      available: true,
      minPriceTicks: 0n,
      maxPriceTicks: MAX_UINT64,
    });

    // Admin setup, straight through the contract: a 5% band around 200,000 ticks, and a velocity limit.
    await (await env.exchange.connect(env.admin).setPriceBand(1, 500, 200_000)).wait();
    await (await env.exchange.connect(env.admin).setVelocityLimit(1, 1_000)).wait();

    const limits = await getRiskLimits(publicClient, { exchange, marketId: 1n });
    expect(limits).to.deep.equal({
      halted: false,
      bandBps: 500n,
      maxLotsPerBlock: 1_000n,
      feed: zeroAddress,
      feedMaxAgeSeconds: 0n,
      lastPriceTicks: 200_000n,
      lotsThisBlock: 0n,
    });
    const r = await env.exchange.riskLimits(1);
    expect(limits).to.deep.equal({
      halted: r.halted,
      bandBps: BigInt(r.bandBps),
      maxLotsPerBlock: r.maxLotsPerBlock,
      feed: r.feed,
      feedMaxAgeSeconds: BigInt(r.feedMaxAgeSeconds),
      lastPriceTicks: r.lastPriceTicks,
      lotsThisBlock: r.lotsThisBlock,
    });

    const bounds = await getPriceBounds(publicClient, { exchange, marketId: 1n });
    const b = await env.exchange.priceBounds(1);
    expect(bounds).to.deep.equal({
      available: b.available,
      minPriceTicks: b.minPriceTicks,
      maxPriceTicks: b.maxPriceTicks,
    });
    expect(bounds.available).to.equal(true);
    expect(bounds.minPriceTicks).to.be.within(190_000n, 200_000n);
    expect(bounds.maxPriceTicks).to.be.within(200_000n, 210_000n);

    await (await env.exchange.connect(env.admin).grantRole(await env.exchange.GUARDIAN_ROLE(), env.admin)).wait();
    await (await env.exchange.connect(env.admin).haltMarket(1)).wait();
    expect(await getRiskLimits(publicClient, { exchange, marketId: 1n })).to.include({ halted: true });
  });

  it("getRiskLimits and getPriceBounds of an unlisted market throw MarketNotListed", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange } = env.addresses;
    for (const read of [getRiskLimits, getPriceBounds]) {
      const error = await read(publicClient, { exchange, marketId: 2n }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ContractRevertError).with.property("errorName", "MarketNotListed");
    }
  });

  it("getPaused follows the guardian's pause and the admin's unpause", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange } = env.addresses;
    expect(await getPaused(publicClient, { exchange })).to.equal(false);
    await (await env.exchange.connect(env.admin).grantRole(await env.exchange.GUARDIAN_ROLE(), env.admin)).wait();
    await (await env.exchange.connect(env.admin).pause()).wait();
    expect(await getPaused(publicClient, { exchange })).to.equal(true);
    expect(await env.exchange.paused()).to.equal(true);
    await (await env.exchange.connect(env.admin).unpause()).wait();
    expect(await getPaused(publicClient, { exchange })).to.equal(false);
  });

  it("getFirmnessDelay follows the admin's setFirmnessDelay; MAX_ORDER_LOTS is the contract's", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange } = env.addresses;
    expect(await getFirmnessDelay(publicClient, { exchange })).to.equal(FIRMNESS_DELAY);
    await (await env.exchange.connect(env.admin).setFirmnessDelay(120)).wait();
    expect(await getFirmnessDelay(publicClient, { exchange })).to.equal(120n);
    expect(await env.exchange.firmnessDelay()).to.equal(120n);
    expect(await env.exchange.MAX_ORDER_LOTS()).to.equal(MAX_ORDER_LOTS);
  });
});
