import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { MAX_UINT64 } from "../../helpers/orders";

const MAKER = "0x00000000000000000000000000000000000000aa";
const FLAG = 1n << 63n;
const MAX_LOTS = FLAG - 1n;

async function deployFillState() {
  return ethers.deployContract("FillStateHarness");
}

describe("FillState", function () {
  it("keeps four nonces in one word, 64 bits each, and adds and takes back lots in one lane", async function () {
    const fills = await loadFixture(deployFillState);
    await fills.addFilled(MAKER, 5n, 7n);
    await fills.addFilled(MAKER, 6n, 1n);
    await fills.addFilled(MAKER, 5n, 3n);
    expect(await fills.lanes(MAKER, 4n)).to.equal((10n << 64n) | (1n << 128n));
    await fills.subFilled(MAKER, 5n, 3n);
    expect([...(await fills.filledAt(MAKER, 5n, 0n))]).to.deep.equal([7n, false]);
    expect([...(await fills.filledAt(MAKER, 8n, 0n))]).to.deep.equal([0n, false]); // the next word
  });

  it("counts up to MAX_LOTS without reaching the flag or the next lane", async function () {
    const fills = await loadFixture(deployFillState);
    await fills.addFilled(MAKER, 2n, MAX_LOTS);
    expect([...(await fills.filledAt(MAKER, 2n, 0n))]).to.deep.equal([MAX_LOTS, false]);
    expect(await fills.lanes(MAKER, 2n)).to.equal(MAX_LOTS << 128n);
  });

  it("keeps a requested cancel's filled count and lets it fill until its time, dead from then on", async function () {
    const fills = await loadFixture(deployFillState);
    await fills.addFilled(MAKER, 1n, 4n);
    expect(await fills.requestCancel.staticCall(MAKER, 1n, 130n, 100n)).to.equal(130n);
    await fills.requestCancel(MAKER, 1n, 130n, 100n);
    expect(await fills.lanes(MAKER, 1n)).to.equal((FLAG | 4n) << 64n);
    expect([...(await fills.filledAt(MAKER, 1n, 129n))]).to.deep.equal([4n, false]);
    await fills.addFilled(MAKER, 1n, 2n); // a fill inside the delay keeps the flag
    expect([...(await fills.filledAt(MAKER, 1n, 129n))]).to.deep.equal([6n, false]);
    expect(await fills.pendingCancel(MAKER, 1n, 129n)).to.equal(130n);
    expect([...(await fills.filledAt(MAKER, 1n, 130n))]).to.deep.equal([6n, true]);
    expect(await fills.filledView(MAKER, 1n, 130n)).to.equal(MAX_UINT64);
    expect(await fills.pendingCancel(MAKER, 1n, 130n)).to.equal(0n);
  });

  it("keeps the first request's time, answers the time an already dead nonce died by, and kills at once with no delay", async function () {
    const fills = await loadFixture(deployFillState);
    await fills.requestCancel(MAKER, 3n, 130n, 100n);
    expect(await fills.requestCancel.staticCall(MAKER, 3n, 200n, 170n)).to.equal(130n);
    await fills.requestCancel(MAKER, 7n, 100n, 100n); // effective now: dead outright
    expect(await fills.lanes(MAKER, 7n)).to.equal(MAX_UINT64 << 192n);
    expect(await fills.requestCancel.staticCall(MAKER, 7n, 300n, 250n)).to.equal(250n);
    expect(await fills.pendingCancel(MAKER, 7n, 0n)).to.equal(0n);
  });

  it("kills a nonce once: a live, a pending or a dead one", async function () {
    const fills = await loadFixture(deployFillState);
    await fills.addFilled(MAKER, 0n, 9n);
    await fills.requestCancel(MAKER, 1n, 500n, 100n);
    for (const nonce of [0n, 1n]) {
      expect(await fills.kill.staticCall(MAKER, nonce)).to.equal(true);
      await fills.kill(MAKER, nonce);
      expect(await fills.kill.staticCall(MAKER, nonce)).to.equal(false);
      expect([...(await fills.filledAt(MAKER, nonce, 0n))]).to.deep.equal([0n, true]);
    }
  });
});
