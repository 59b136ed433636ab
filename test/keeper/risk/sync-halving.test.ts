/**
 * The keeper's first sync reads every event since the start block in chunks; a provider that
 * refuses an answer too large (more blocks, or more bytes, than it serves at once) halves the chunk.
 * At start the keeper tries again at once until the chunk fits (`syncHalving`), instead of failing
 * to start: a busy market's history exceeded viem's 10 MB limit for a chunk of 10,000 blocks.
 */
import { expect } from "chai";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { createPublicClient, custom } from "viem";
import { CachedChainReads } from "../../../keeper/src/risk";
import { publicClient, sdkFixture, transport } from "../../sdk/support";

/** A client whose `eth_getLogs` refuses ranges of more than `maxBlocks` blocks. */
function rangeLimited(maxBlocks: bigint) {
  return createPublicClient({
    transport: custom({
      async request(args: { method: string; params?: unknown }) {
        if (args.method === "eth_getLogs") {
          const [{ fromBlock, toBlock }] = args.params as [{ fromBlock: string; toBlock: string }];
          if (BigInt(toBlock) - BigInt(fromBlock) + 1n > maxBlocks) throw new Error("response size exceeded");
        }
        return transport({}).request(args as never);
      },
    }),
  });
}

describe("keeper risk: the first sync under a provider's range limit", () => {
  it("halves the chunk and tries again until it fits, where one sync fails", async () => {
    const env = await loadFixture(sdkFixture);
    await mine(40);
    const options = { startBlock: 0n, nonceSeen: () => false, logChunk: 64n };
    const once = new CachedChainReads(rangeLimited(5n), env.addresses.exchange, options);
    let failed: unknown;
    await once.sync().catch((e: unknown) => (failed = e));
    expect(String(failed)).to.contain("response size exceeded");

    const reads = new CachedChainReads(rangeLimited(5n), env.addresses.exchange, options);
    await reads.syncHalving();
    expect(reads.health().syncedBlock).to.equal(await publicClient.getBlockNumber());
  });

  it("throws at once an error that halving cannot help", async () => {
    const env = await loadFixture(sdkFixture);
    const reads = new CachedChainReads(rangeLimited(0n), env.addresses.exchange, {
      startBlock: 0n,
      nonceSeen: () => false,
      logChunk: 1n,
    });
    let failed: unknown;
    await reads.syncHalving().catch((e: unknown) => (failed = e));
    expect(String(failed)).to.contain("response size exceeded");
  });
});
