/**
 * The risk read of an order whose facts are all cached (a steady market maker's, the common case):
 * the cached reads answer each known fact with its value, not a promise of it, and the context is
 * assembled without an await — its promise is settled when it is returned. A fact not known yet is
 * still a promise, and the same context comes after it.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Address } from "viem";
import { signOrder } from "@crossbook/sdk";
import { CachedChainReads, readRiskContext, readRiskContextFrom } from "../../../keeper/src/risk";
import { LOT_SIZE } from "../../helpers/fixture";
import { fund, order, publicClient, sdkFixture } from "../../sdk/support";

/** Whether `promise` has settled before the microtasks queued after this call run. */
async function settledAtOnce(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await Promise.resolve();
  return settled;
}

describe("keeper risk: an order whose facts are all known", () => {
  it("is read without an await, to the context the chain gives", async () => {
    const env = await loadFixture(sdkFixture);
    await fund(env.exchange, env.base, env.alice, 10n * LOT_SIZE);
    const alice = env.alice.address as Address;
    const o = order({ maker: alice, isBuy: false, nonce: 1n });
    const signed = { order: o, signature: await signOrder({ signer: env.alice, order: o, domain: env.sdkDomain }) };
    const state = { chainId: env.sdkDomain.chainId, openOrders: [] };
    const reads = new CachedChainReads(publicClient, env.addresses.exchange, {
      startBlock: 0n,
      nonceSeen: () => false,
    });
    await reads.sync();

    // The first read asks the node: each fact a promise, the context after them.
    const balance = reads.balance(alice, env.addresses.base);
    expect(balance).to.be.instanceOf(Promise);
    const first = readRiskContextFrom(reads, env.addresses.exchange, signed, state);
    expect(await settledAtOnce(first)).to.equal(false);
    const context = await first;

    // Every fact now known: values, and a context settled at once.
    expect(reads.balance(alice, env.addresses.base)).to.equal(10n * LOT_SIZE);
    expect(reads.timestamp()).to.equal(reads.currentBlock?.timestamp);
    expect(reads.filled(alice, 1n)).to.equal(0n);
    const again = readRiskContextFrom(reads, env.addresses.exchange, signed, state);
    expect(await settledAtOnce(again)).to.equal(true);
    expect(await again).to.deep.equal(context);
    // The same context as read from the chain directly.
    const direct = await readRiskContext(publicClient, env.addresses.exchange, signed, state);
    expect(context).to.deep.equal({ ...direct, timestamp: context.timestamp });
  });
});
