/**
 * The API's small pure parts: sessions (challenges used once, tokens that expire and cannot be
 * forged), signed cancels remembered until they expire, the published book, readiness.
 */
import { expect } from "chai";
import { getAddress, type Hex } from "viem";
import { PublishedBook } from "../../../keeper/src/api/levels";
import { UsedMessages } from "../../../keeper/src/api/replay";
import { Sessions } from "../../../keeper/src/api/sessions";
import { readiness } from "../../../keeper/src/readiness";

const ALICE = getAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");

describe("keeper/api: sessions, used cancels, the published book, readiness", () => {
  it("uses a challenge once, refuses forged and expired ones, and issues tokens that expire", () => {
    let now = 1_000;
    const sessions = new Sessions({ ttlMs: 60_000, challengeTtlMs: 10_000, clock: () => now });
    const { challenge } = sessions.challenge();
    expect(sessions.useChallenge(challenge)).to.equal("ok");
    expect(sessions.useChallenge(challenge)).to.equal("used");
    const forged = `${challenge.slice(0, -2)}${challenge.endsWith("00") ? "01" : "00"}` as Hex;
    expect(sessions.useChallenge(forged)).to.equal("unknown");
    const late = sessions.challenge().challenge;
    now += 10_001;
    expect(sessions.useChallenge(late)).to.equal("expired");

    const { token, expiresAt } = sessions.issue(ALICE);
    expect(expiresAt).to.equal(now + 60_000);
    expect(sessions.verify(token)).to.equal(ALICE);
    expect(new Sessions({ ttlMs: 60_000, challengeTtlMs: 1, clock: () => now }).verify(token)).to.equal(undefined);
    const tampered = token.replace(/^v1\.[0-9a-f]{2}/, "v1.00");
    expect(sessions.verify(tampered)).to.equal(undefined);
    now = expiresAt + 1;
    expect(sessions.verify(token)).to.equal(undefined);
  });

  it("remembers a signed cancel until it expires, and says when it cannot remember more", () => {
    const used = new UsedMessages(2);
    const digest = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
    expect(used.use(digest(1), 1_000, 0)).to.deep.equal({ ok: true });
    expect(used.use(digest(1), 1_000, 10)).to.deep.equal({ ok: false, reason: "replayed", firstAt: 0 });
    expect(used.use(digest(2), 2_000, 10)).to.deep.equal({ ok: true });
    expect(used.use(digest(3), 3_000, 20)).to.deep.equal({ ok: false, reason: "full", retryAfterSeconds: 1 });
    expect(used.use(digest(3), 3_000, 1_001)).to.deep.equal({ ok: true });
    expect(used.size).to.equal(2);
  });

  it("keeps the published book from the changes it is given, best levels first", () => {
    const book = new PublishedBook({ bids: [{ priceTicks: 90n, lots: 5n, orders: 1 }], asks: [] });
    book.apply({ isBuy: true, priceTicks: 95n, lots: 2n, orders: 1 });
    book.apply({ isBuy: false, priceTicks: 101n, lots: 3n, orders: 2 });
    book.apply({ isBuy: false, priceTicks: 100n, lots: 1n, orders: 1 });
    book.apply({ isBuy: true, priceTicks: 90n, lots: 0n, orders: 0 });
    expect(book.depth()).to.deep.equal({
      bids: [{ priceTicks: 95n, lots: 2n, orders: 1 }],
      asks: [
        { priceTicks: 100n, lots: 1n, orders: 1 },
        { priceTicks: 101n, lots: 3n, orders: 2 },
      ],
    });
    expect(book.depth(1).asks).to.have.length(1);
  });

  it("is ready only with a running engine, recent blocks, current chain facts, and a settlement with nothing to fix", () => {
    const facts = {
      engineRunning: true,
      lastBlockAt: 1_000,
      now: 2_000,
      maxBlockAgeMs: 30_000,
      chainFacts: { syncedBlock: 10n, headBlock: 10n, behindBlocks: 0n, failing: false },
      maxStaleBlocks: 3,
      settlement: {},
    };
    expect(readiness(facts)).to.deep.equal({ ready: true, missing: [] });
    const bad = readiness({
      ...facts,
      engineRunning: false,
      now: 40_000,
      chainFacts: { syncedBlock: 10n, headBlock: 15n, behindBlocks: 5n, failing: true },
      settlement: {
        stuck: "batch 3 is stuck: raise fees.maxFeePerGas",
        lowBalance: "keeper balance 1 wei is below 2",
        fatal: "disk",
      },
    });
    expect(bad.ready).to.equal(false);
    expect(bad.missing).to.have.length(6);
    expect(bad.missing.join("\n")).to.match(/chain facts are 5 blocks behind.*the last sync failed/);
  });
});
