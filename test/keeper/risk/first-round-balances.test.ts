/**
 * An order's risk read over facts the node has not answered yet (an account's first order, the
 * first order of a block): when the order's market is known, the maker's balances are asked with
 * the first round of facts, so the read waits for one round trip to the node, not two. Over a
 * source whose every fact is held until the test lets it go, counting what was asked when.
 */
import { expect } from "chai";
import type { Address, Hex } from "viem";
import type { Market } from "@crossbook/sdk";
import { readRiskContextFrom } from "../../../keeper/src/risk";
import type { RiskReads } from "../../../keeper/src/risk/reads";
import { order } from "../../sdk/support";

const EXCHANGE = "0x00000000000000000000000000000000000000e1" as Address;
const MAKER = "0x00000000000000000000000000000000000000a1" as Address;
const MARKET: Market = {
  marketId: 1n,
  base: "0x00000000000000000000000000000000000000b1",
  quote: "0x00000000000000000000000000000000000000c1",
  lotSize: 1n,
  tickSize: 1n,
  makerFeeBps: 0n,
  takerFeeBps: 0n,
} as Market;

/** A fact source whose maker facts are each held (a promise) until `release`; the rest are known. */
function heldReads(options: { marketKnown: boolean }) {
  const asked: string[] = [];
  const held: { name: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  const hold = <T>(name: string, value: T): Promise<T> => {
    asked.push(name);
    return new Promise<T>((resolve, reject) => held.push({ name, resolve: () => resolve(value), reject }));
  };
  const known = <T>(name: string, value: T): T => {
    asked.push(name);
    return value;
  };
  const reads: RiskReads = {
    domain: () => known("domain", { chainId: 31337n, verifyingContract: EXCHANGE } as never),
    market: () => (options.marketKnown ? known("market", MARKET) : hold("market", MARKET)),
    riskLimits: () => known("riskLimits", undefined),
    priceBounds: () => known("priceBounds", undefined),
    paused: () => known("paused", false),
    minNonce: () => hold("minNonce", 0n),
    pendingMinNonce: () => hold("pendingMinNonce", 0n),
    cancelAfter: () => hold("cancelAfter", 0n),
    windowLimit: () =>
      hold("windowLimit", {
        maxLots: 0n,
        windowSeconds: 0n,
        pendingMaxLots: 0n,
        pendingWindowSeconds: 0n,
        pendingEffectiveAt: 0n,
      } as never),
    filled: () => known("filled", 0n),
    code: () => hold("code", "0x" as Hex),
    timestamp: () => known("timestamp", 1_000n),
    balance: (_account, token) => hold(`balance:${token === MARKET.base ? "base" : "quote"}`, 7n),
    withdrawalRequested: (_account, token) => hold(`withdrawal:${token === MARKET.base ? "base" : "quote"}`, 0n),
    contractApproves: () => known("contractApproves", false),
  };
  /** Lets every fact held so far answer (or fail, with `error`); returns their names. */
  const release = (error?: Error): string[] => {
    const now = held.splice(0);
    for (const h of now) error === undefined ? h.resolve() : h.reject(error);
    return now.map((h) => h.name);
  };
  return { reads, asked, release };
}

const signed = { order: order({ maker: MAKER, isBuy: true, nonce: 5n }), signature: "0x" as Hex };
const state = { chainId: 31337n, openOrders: [] };

/** Lets the promise callbacks queued so far run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("keeper risk: the first round of an order's reads", () => {
  it("asks the maker's balances with the first round when the market is known: one round trip", async () => {
    const { reads, release } = heldReads({ marketKnown: true });
    let settled = false;
    const context = readRiskContextFrom(reads, EXCHANGE, signed, state).finally(() => (settled = true));
    const firstRound = release();
    expect(firstRound).to.include.members(["minNonce", "code", "balance:base", "balance:quote", "withdrawal:quote"]);
    await turn();
    // Nothing was asked after the first round's answers: the context is there.
    expect(release()).to.deep.equal([]);
    expect(settled).to.equal(true);
    expect((await context).balances).to.deep.equal({ base: 7n, quote: 7n });
  });

  it("asks them after the first round when the market is not known yet", async () => {
    const { reads, release } = heldReads({ marketKnown: false });
    const context = readRiskContextFrom(reads, EXCHANGE, signed, state);
    const firstRound = release();
    expect(firstRound.filter((name) => name === "market")).to.have.length(1); // asked once
    expect(firstRound).to.not.include("balance:base");
    await turn();
    expect(release()).to.have.members(["balance:base", "withdrawal:base", "balance:quote", "withdrawal:quote"]);
    expect((await context).balances).to.deep.equal({ base: 7n, quote: 7n });
  });

  it("leaves no rejection unhandled when the first round fails with the balances asked", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const { reads, release } = heldReads({ marketKnown: true });
      const context = readRiskContextFrom(reads, EXCHANGE, signed, state);
      release(new Error("node down"));
      await expect(context).to.be.rejectedWith("node down");
      await turn();
      await turn();
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
