/**
 * End to end, as real processes: a `hardhat node` on a free loopback port, the deploy-and-fund
 * script, the keeper CLI, and this test as the traders through the SDK over HTTP and WebSocket.
 * A short market, a keeper killed (SIGKILL) between sending a batch and seeing its receipt and
 * started again on the same database, and at the end the audit the demo prints: every fill
 * settled exactly once, every balance explained by deposits, trades and fees, the Exchange solvent.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { createPublicClient, http, type PublicClient } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import {
  createKeeperClient,
  createKeeperFeed,
  signOrder,
  type KeeperBook,
  type KeeperClient,
  type Order,
} from "@crossbook/sdk";
import { auditMarket } from "../../scripts/lib/audit";
import { localTraders } from "../../scripts/lib/accounts";
import type { Deployment } from "../../scripts/lib/market";
import {
  startLocalKeeper,
  startLocalMarket,
  stopAll,
  type LocalNode,
  type ManagedProcess,
} from "../../scripts/lib/processes";

describe("end to end: hardhat node, keeper CLI, SDK over HTTP and WebSocket", function () {
  this.timeout(600_000);
  let dir: string;
  let node: LocalNode;
  let deployment: Deployment;
  let chain: PublicClient;
  let keeperProcess: ManagedProcess;
  let keeper: KeeperClient;
  let traders: PrivateKeyAccount[];
  let nonce = BigInt(Date.now());

  async function startKeeper(): Promise<void> {
    const started = await startLocalKeeper(deployment, {
      rpcUrl: node.url,
      database: join(dir, "keeper.db"),
      flags: ["--confirmations", "1", "--batch-max-wait-ms", "100", "--poll-interval-ms", "100"],
    });
    keeperProcess = started.process;
    keeper = createKeeperClient({
      url: started.url,
      domain: { chainId: deployment.chainId, verifyingContract: deployment.exchange },
    });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "crossbook-e2e-"));
    ({ node, deployment } = await startLocalMarket(dir, 4));
    chain = createPublicClient({ transport: http(node.url, { retryCount: 0 }) }) as PublicClient;
    // Blocks every 200 ms besides one per transaction, so that confirmations come on an idle chain.
    await chain.request({ method: "evm_setIntervalMining" as never, params: [200] as never });
    traders = localTraders(4);
    await startKeeper();
  });

  after(async () => {
    await stopAll();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function submit(trader: PrivateKeyAccount, fields: Partial<Order> & Pick<Order, "isBuy" | "priceTicks">) {
    const market = deployment.markets[0];
    const order: Order = {
      maker: trader.address,
      marketId: market.id,
      flags: 0n,
      maxFeeBps: 10n,
      expiry: BigInt(Math.floor(Date.now() / 1000) + 3600),
      nonce: nonce++,
      lots: 5n,
      ...fields,
    };
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.exchange };
    return keeper.submitOrder({ order, signature: await signOrder({ signer: trader, order, domain }) });
  }

  /** Waits until every trade the keeper has matched in market 1 is settled (or skipped). */
  async function settledAll(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const trades = await keeper.getTrades(deployment.markets[0].id, { limit: 1000 });
      if (trades.length > 0 && trades.every((t) => t.status !== "matched")) return;
      if (Date.now() > deadline)
        throw new Error(`trades still matched: ${trades.filter((t) => t.status === "matched").length}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it("matches and settles orders of several traders, and the feed's book equals GET book", async () => {
    const mid = deployment.markets[0].initialPriceTicks;
    const feed = createKeeperFeed({ wsUrl: keeper.url.replace(/^http/, "ws") + "/v1/ws", WebSocket });
    let feedBook: KeeperBook | undefined;
    const subscription = feed.subscribeBook(deployment.markets[0].id, { onBook: (book) => (feedBook = book) });
    try {
      for (let i = 1n; i <= 3n; i++) await submit(traders[0], { isBuy: false, priceTicks: mid + i * 100n });
      await submit(traders[1], { isBuy: true, priceTicks: mid - 100n });
      const taker = await submit(traders[2], { isBuy: true, priceTicks: mid + 200n, lots: 8n });
      expect(taker.trades.map((t) => t.lots)).to.deep.equal([5n, 3n]);
      await settledAll();
      const book = await keeper.getBook(deployment.markets[0].id);
      const same = (a: unknown, b: unknown) =>
        JSON.stringify(a, (_k, v) => (typeof v === "bigint" ? `${v}` : v)) ===
        JSON.stringify(b, (_k, v) => (typeof v === "bigint" ? `${v}` : v));
      for (let i = 0; i < 50 && !same(feedBook?.asks, book.asks); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(feedBook?.bids).to.deep.equal(book.bids);
      expect(feedBook?.asks).to.deep.equal(book.asks);
      expect(book.asks.map((l) => l.lots)).to.deep.equal([2n, 5n]);
    } finally {
      subscription.unsubscribe();
      feed.close();
    }
  });

  it("settles every fill exactly once when the keeper is killed between sending a batch and its receipt", async () => {
    const mid = deployment.markets[0].initialPriceTicks;
    // Hold the next transaction in the mempool: no automine, no interval blocks.
    await chain.request({ method: "evm_setIntervalMining" as never, params: [0] as never });
    await chain.request({ method: "evm_setAutomine" as never, params: [false] as never });
    await submit(traders[3], { isBuy: false, priceTicks: mid, lots: 4n });
    const taker = await submit(traders[1], { isBuy: true, priceTicks: mid, lots: 4n });
    expect(taker.status).to.equal("filled");
    await keeperProcess.waitFor(/"msg":"batch sent"/, 60_000);
    await keeperProcess.kill(); // SIGKILL: no cleanup at all
    await chain.request({ method: "evm_mine" as never, params: [] as never });
    await chain.request({ method: "evm_setAutomine" as never, params: [true] as never });
    await chain.request({ method: "evm_setIntervalMining" as never, params: [200] as never });

    await startKeeper();
    await settledAll();
    const audit = await auditMarket({ client: chain, deployment, keeper });
    for (const check of audit.checks) expect(check.ok, `${check.name}: ${check.detail}`).to.equal(true);
    expect(audit.tradesOnChain).to.equal(3);
    expect(audit.tradesReportedSettled).to.equal(3);

    // The restarted keeper's metrics: the batch it found on start settled, and what it counts adds up.
    const metrics = await (await fetch(`${keeper.url}/metrics`)).text();
    const count = (outcome: string) =>
      Number(new RegExp(`crossbook_batches_total\\{outcome="${outcome}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    expect(count("settled")).to.be.greaterThan(0);
    expect(metrics).to.match(/crossbook_fills_pending 0/);
  });
});
