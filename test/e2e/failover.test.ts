/**
 * Two keepers on one PostgreSQL, as real processes (a `hardhat node`, an embedded PostgreSQL, two
 * keeper CLIs with one keeper key): the leader is killed with SIGKILL after it answered orders and
 * sent a batch; the standby takes the lease, recovers as a restart does and answers order entry;
 * nothing it answered before is lost and every fill settles exactly once (the demo's audit). Then
 * the new leader is paused with SIGSTOP past its lease: the other keeper takes over, and the paused
 * one, resumed, steps down without writing and follows in its own process, with the same books.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, http, type PublicClient } from "viem";
import type { KeeperClient } from "@crossbook/sdk";
import { auditMarket } from "../../scripts/lib/audit";
import { keeperClient, orderEntryBack, startHaKeeper, submitOrder, type HaKeeper } from "../../scripts/lib/failover";
import { localTraders } from "../../scripts/lib/accounts";
import type { Deployment } from "../../scripts/lib/market";
import { startLocalMarket, stopAll, type LocalNode } from "../../scripts/lib/processes";
import { freshDatabase } from "../helpers/postgres";

describe("failover: two keeper processes on one PostgreSQL", function () {
  this.timeout(600_000);
  let dir: string;
  let node: LocalNode;
  let deployment: Deployment;
  let chain: PublicClient;
  let database: string;
  const traders = localTraders(4);
  const start = (name: string): HaKeeper =>
    startHaKeeper(deployment, {
      rpcUrl: node.url,
      database,
      name,
      leaseMs: 1000,
      flags: ["--confirmations", "1", "--batch-max-wait-ms", "100", "--poll-interval-ms", "100"],
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "crossbook-failover-"));
    ({ node, deployment } = await startLocalMarket(dir, traders.length));
    chain = createPublicClient({ transport: http(node.url, { retryCount: 0 }) }) as PublicClient;
    await chain.request({ method: "evm_setIntervalMining" as never, params: [200] as never });
    database = await freshDatabase();
  });

  after(async () => {
    await stopAll();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function settledAll(keeper: KeeperClient, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const trades = await keeper.getTrades(deployment.markets[0].id, { limit: 1000 });
      if (trades.length > 0 && trades.every((t) => t.status !== "matched")) return;
      if (Date.now() > deadline) throw new Error("trades still matched");
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it("takes over after SIGKILL with every answered order kept, and fences a leader paused past its lease", async () => {
    const mid = deployment.markets[0].initialPriceTicks;
    const a = start("keeper-a");
    const leaderA = keeperClient(await a.listening, deployment);
    const b = start("keeper-b");
    await b.process.waitFor(/role: standby/, 120_000);

    // Orders answered by a, one of them matched: its batch goes out.
    const answered: { hash: `0x${string}`; trader: number }[] = [];
    for (let i = 1n; i <= 3n; i++) {
      const placed = await submitOrder(leaderA, deployment, traders[0], { isBuy: false, priceTicks: mid + i });
      answered.push({ hash: placed.hash, trader: 0 });
    }
    const maker = await submitOrder(leaderA, deployment, traders[3], { isBuy: false, priceTicks: mid, lots: 4n });
    answered.push({ hash: maker.hash, trader: 3 });
    const taker = await submitOrder(leaderA, deployment, traders[1], { isBuy: true, priceTicks: mid, lots: 4n });
    expect(taker.status).to.equal("filled");
    answered.push({ hash: taker.hash, trader: 1 });
    await a.process.waitFor(/"msg":"batch sent"/, 60_000);

    const killedAt = Date.now();
    await a.process.kill(); // SIGKILL: no cleanup at all
    const back = await orderEntryBack(b, deployment, traders[2], mid + 50n, killedAt);
    const leaderB = keeperClient(back.url, deployment);
    for (const { hash, trader } of answered) {
      const reader = keeperClient(back.url, deployment);
      await reader.login({ signer: traders[trader] });
      expect((await reader.getOrder(hash)).hash, `order ${hash} answered by the old leader`).to.equal(hash);
    }
    await settledAll(leaderB);
    const audit = await auditMarket({ client: chain, deployment, keeper: leaderB });
    for (const check of audit.checks) expect(check.ok, `${check.name}: ${check.detail}`).to.equal(true);
    expect(audit.tradesOnChain).to.equal(audit.tradesReportedSettled);

    // a comes back as a standby; b is paused past its lease; a takes over; b, resumed, steps down and follows.
    const a2 = start("keeper-a2");
    await a2.process.waitFor(/role: standby/, 120_000);
    process.kill(-(b.process.child.pid as number), "SIGSTOP");
    const pausedAt = Date.now();
    const again = await orderEntryBack(a2, deployment, traders[2], mid + 60n, pausedAt);
    process.kill(-(b.process.child.pid as number), "SIGCONT");
    await b.process.waitFor(/role change: follower \(stepped down\)/, 60_000);
    expect(b.process.child.exitCode).to.equal(null);
    expect(b.process.output()).to.match(/role change: stepping down/);
    const digestOf = async (url: string) => {
      const r = await fetch(`${url}/v1/books/digest`);
      return JSON.stringify(((await r.json()) as { markets: unknown }).markets);
    };
    const leaderDigest = await digestOf(again.url);
    const bUrl = await b.listening;
    for (let i = 0; (await digestOf(bUrl)) !== leaderDigest; i++) {
      expect(i, "the keeper that stepped down holds the leader's books").to.be.below(600);
      await new Promise((r) => setTimeout(r, 100));
    }
    const reader = keeperClient(again.url, deployment);
    await reader.login({ signer: traders[2] });
    expect((await reader.getOrder(back.hash as `0x${string}`)).hash).to.equal(back.hash);
  });
});
