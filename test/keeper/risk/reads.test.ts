/**
 * The keeper's cached chain reads: one read per fact per block, a new block drops the memo, and a
 * nonce's fill state comes from the keeper's knowledge plus `OrderCancelled` events.
 */
import { expect } from "chai";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import type { Address } from "viem";
import { MAX_UINT64 } from "@crossbook/sdk";
import { CachedChainReads } from "../../../keeper/src/risk";
import { LOT_SIZE } from "../../helpers/fixture";
import { fund, publicClient, sdkFixture, transport } from "../../sdk/support";
import { createPublicClient, custom } from "viem";

describe("keeper risk: cached chain reads", () => {
  /** A client that counts the JSON-RPC calls it makes. */
  function countingClient() {
    const counts = new Map<string, number>();
    const client = createPublicClient({
      transport: custom({
        async request(args: { method: string; params?: unknown }) {
          counts.set(args.method, (counts.get(args.method) ?? 0) + 1);
          return transport({}).request(args as never);
        },
      }),
    });
    return { client, counts };
  }

  it("reads each fact once per block, and again after a new block", async () => {
    const env = await loadFixture(sdkFixture);
    const { client, counts } = countingClient();
    const reads = new CachedChainReads(client, env.addresses.exchange, { startBlock: 0n, nonceSeen: () => false });
    const alice = env.alice.address as Address;
    await reads.sync();
    counts.clear();
    const first = await Promise.all([reads.balance(alice, env.addresses.base), reads.minNonce(alice)]);
    await Promise.all([reads.balance(alice, env.addresses.base), reads.minNonce(alice), reads.paused()]);
    expect(counts.get("eth_call")).to.equal(3);

    await fund(env.exchange, env.base, env.alice, 5n * LOT_SIZE);
    await reads.sync();
    counts.clear();
    expect(await reads.balance(alice, env.addresses.base)).to.equal(first[0] + 5n * LOT_SIZE);
    expect(counts.get("eth_call")).to.equal(1);
  });

  it("knows a fresh nonce is unfilled without a call, and sees an on-chain cancel from its event", async () => {
    const env = await loadFixture(sdkFixture);
    const { client, counts } = countingClient();
    const seen = new Set<bigint>([9n]);
    const reads = new CachedChainReads(client, env.addresses.exchange, {
      startBlock: 0n,
      nonceSeen: (_maker, nonce) => seen.has(nonce),
    });
    const alice = env.alice.address as Address;
    await reads.sync();
    counts.clear();
    expect(await reads.filled(alice, 7n)).to.equal(0n);
    expect(counts.get("eth_call") ?? 0).to.equal(0);
    expect(await reads.filled(alice, 9n)).to.equal(0n); // seen by the keeper: read from the chain
    expect(counts.get("eth_call")).to.equal(1);

    await (await env.exchange.connect(env.alice).cancel([7n])).wait();
    await mine(1);
    await reads.sync();
    expect(await reads.filled(alice, 7n)).to.equal(MAX_UINT64);
    expect(await reads.filled(alice, 8n)).to.equal(0n);
    // Events from before the start block are not read; from block 0 they all are.
    const late = new CachedChainReads(publicClient, env.addresses.exchange, { startBlock: 0n, nonceSeen: () => false });
    expect(await late.filled(alice, 7n)).to.equal(MAX_UINT64);
  });
});
