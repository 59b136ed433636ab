/**
 * Issue 13, finding 14: one failed chain read during a sync (a provider's `eth_getLogs` limit, say)
 * froze every cached chain fact at the old block while `/v1/ready` stayed 200, so accounts could
 * overcommit. Now a failed sync drops the cache (facts are read afresh), the reads report how old
 * their facts are, and the keeper is not ready while they are older than a few blocks.
 */
import { expect } from "chai";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import type { Address } from "viem";
import { CachedChainReads } from "../../../keeper/src/risk";
import { LOT_SIZE } from "../../helpers/fixture";
import { fund, sdkFixture } from "../../sdk/support";
import { countingClient, runKeeperInProcess } from "../support";
import { http } from "../api/support";

describe("regression (issue 13, finding 14): a failed sync invalidates the cache", function () {
  it("reads facts afresh after a failed sync and says how far behind it is", async () => {
    const env = await loadFixture(sdkFixture);
    let failLogs = false;
    const { client } = countingClient((method) =>
      failLogs && method === "eth_getLogs" ? Promise.reject(new Error("query exceeds max block range")) : undefined,
    );
    const reads = new CachedChainReads(client, env.addresses.exchange, { startBlock: 0n, nonceSeen: () => false });
    const alice = env.alice.address as Address;
    await reads.sync();
    const before = await reads.balance(alice, env.addresses.base);
    expect(reads.health().behindBlocks).to.equal(0n);

    failLogs = true;
    await fund(env.exchange, env.base, env.alice, 7n * LOT_SIZE);
    await mine(3);
    await reads.sync().catch(() => undefined);
    expect(await reads.balance(alice, env.addresses.base)).to.equal(before + 7n * LOT_SIZE);
    expect(reads.health().failing).to.equal(true);
    expect(reads.health().behindBlocks > 3n).to.equal(true);

    failLogs = false;
    await reads.sync();
    expect(reads.health()).to.deep.include({ failing: false, behindBlocks: 0n });
  });

  it("reports the keeper not ready while its chain facts are stale", async () => {
    const env = await sdkFixture();
    const running = await runKeeperInProcess(env, { flags: ["--max-stale-blocks", "2"] });
    try {
      expect((await http(running.url, "GET", "/v1/ready")).status).to.equal(200);
      (running.keeper as unknown as { reads: CachedChainReads }).reads.sync = () =>
        Promise.reject(new Error("query exceeds max block range"));
      await mine(5);
      let ready = await http(running.url, "GET", "/v1/ready");
      for (let i = 0; i < 400 && ready.status === 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
        ready = await http(running.url, "GET", "/v1/ready");
      }
      expect(ready.status).to.equal(503);
      expect(ready.body.error.details.missing.join(" ")).to.match(/chain facts/);
    } finally {
      await running.close();
    }
  });
});
