/**
 * The bots against a real keeper (engine, SQLite store in a temp dir, `startApi` on a free loopback
 * port) on the in-process Hardhat network with the local deployment (scripts/lib/market.ts):
 *
 *   feed 2,000 ─▶ mm quotes 3 bids below / 3 asks above, heartbeat + window limit on-chain
 *   feed 2,010 ─▶ mm cancels the old ladder, quotes around 2,010 with new (higher) nonces
 *   taker ── marketable + IOC orders through the best level ──▶ fills on both bots
 *   abort ─▶ both soft-cancel everything: no order of theirs left open on the keeper
 *   and all along: the book and their own orders come from the keeper's feed, never polled
 */
import { expect } from "chai";
import hre from "hardhat";
import { custom, toHex, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createKeeperClient, getCancelAfter, getWindowLimit, type KeeperClient } from "@crossbook/sdk";
import { Metrics } from "../../keeper/src/metrics";
import { Store } from "../../keeper/src/store";
import type { RunningApi } from "../../keeper/src/api";
import { deployLocalMarket, fundTraders, setFeedPrice, type Deployment } from "../../scripts/lib/market";
import { runMarketMaker, runTaker, type BotEvent, type BotStats } from "../../scripts/bots";
import { openEngine, serveApi, tempDatabase } from "../keeper/support";
import { publicClient } from "../sdk/support";

const transport = custom(hre.network.provider, { retryCount: 0 });

/** Resolves once `check()` holds, polling every 25 ms; fails after `timeoutMs`. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A fresh key whose account holds ether for gas and `amounts` deposited on the Exchange. */
async function trader(deployment: Deployment, amounts: Record<string, string>): Promise<Hex> {
  const key = generatePrivateKey();
  const address = privateKeyToAccount(key).address;
  await hre.network.provider.send("hardhat_setBalance", [address, toHex(10n ** 20n)]);
  if (Object.keys(amounts).length > 0) {
    await fundTraders(hre, deployment, [new hre.ethers.Wallet(key, hre.ethers.provider)], amounts);
  }
  return key;
}

describe("bots against a real keeper", function () {
  this.timeout(180_000);
  let store: Store;
  let api: RunningApi;
  let deployment: Deployment;
  let keeper: KeeperClient;
  let metrics: Metrics;

  before(async function () {
    const [, keeperSigner] = await hre.ethers.getSigners();
    ({ deployment } = await deployLocalMarket(hre, { keeper: keeperSigner.address, write: false }));
    store = Store.open(tempDatabase("crossbook-bots-"));
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.exchange };
    const chain = { exchange: deployment.exchange, domain, markets: deployment.markets.map((m) => m.id) };
    const engine = await openEngine(store, chain);
    metrics = new Metrics({ defaultMetrics: false });
    api = await serveApi(engine, store, chain, { metrics });
    keeper = createKeeperClient({ url: api.url, domain });
  });

  after(async function () {
    await api?.close();
    store?.close();
  });

  it("quotes a ladder, requotes with new nonces as the feed moves, fills a taker, and stops clean", async function () {
    const mmKey = await trader(deployment, { WETH: "10", USDC: "50000" });
    const takerKey = await trader(deployment, { WETH: "10", USDC: "50000" });
    const mmAddress = privateKeyToAccount(mmKey).address;
    const takerAddress = privateKeyToAccount(takerKey).address;
    // Each account's orders are read with its own session.
    const mmKeeper = createKeeperClient({ url: keeper.url, domain: keeper.domain });
    await mmKeeper.login({ signer: privateKeyToAccount(mmKey) });
    const takerKeeper = createKeeperClient({ url: keeper.url, domain: keeper.domain });
    await takerKeeper.login({ signer: privateKeyToAccount(takerKey) });
    const connection = { keeperUrl: api.url, transport, deployment, market: "WETH/USDC", pollingIntervalMs: 10 };
    await setFeedPrice(hre, deployment, "WETH/USDC", "2000");

    const mmEvents: BotEvent[] = [];
    let mmStats: BotStats | undefined;
    const stopMm = new AbortController();
    const mm = runMarketMaker(
      {
        ...connection,
        privateKey: mmKey,
        levels: 3,
        spreadBps: 10,
        spacingBps: 10,
        lotsPerLevel: 10n,
        requoteBps: 20,
        intervalMs: 50,
        cancelAfterSeconds: 30,
        windowLimit: { maxLots: 5_000n, windowSeconds: 120 },
      },
      {
        signal: stopMm.signal,
        onEvent: (event, stats) => {
          mmEvents.push(event);
          mmStats = stats;
        },
      },
    );

    // The ladder: 3 bids below 2,000.00 and 3 asks above it, 10 lots each, all the maker's.
    await until("the first ladder", () =>
      mmEvents.some((e) => e.type === "quoted" && e.liveBids === 3 && e.liveAsks === 3),
    );
    let bookRequestsByTest = 1;
    const book = await keeper.getBook(1n);
    expect(book.bids.map((l) => [l.priceTicks, l.lots])).to.deep.equal([
      [199_800n, 10n],
      [199_600n, 10n],
      [199_400n, 10n],
    ]);
    expect(book.asks.map((l) => [l.priceTicks, l.lots])).to.deep.equal([
      [200_200n, 10n],
      [200_400n, 10n],
      [200_600n, 10n],
    ]);
    const firstOrders = await mmKeeper.getOpenOrders(mmAddress);
    expect(firstOrders).to.have.length(6);
    for (const o of firstOrders) expect(o.order.flags).to.equal(1n); // POST_ONLY

    // Self-limits on-chain: the heartbeat's deadline ahead of the clock the bot reads (`chainNow`: the
    // later of the latest block and the wall clock — the in-process network's clock lags the wall clock
    // by however long the test files before this one took), and the window limit.
    const block = await publicClient.getBlock();
    const wall = BigInt(Math.floor(Date.now() / 1000));
    const now = block.timestamp > wall ? block.timestamp : wall;
    const deadline = await getCancelAfter(publicClient, { exchange: deployment.exchange, account: mmAddress });
    expect(deadline > now && deadline <= now + 31n, `deadline ${deadline}, now ${now}`).to.equal(true);
    const window = await getWindowLimit(publicClient, {
      exchange: deployment.exchange,
      account: mmAddress,
      marketId: 1n,
    });
    // Tighter than none: in force after the Exchange's firmness delay, waiting until then.
    const set = window.pendingEffectiveAt !== 0n ? window.pendingMaxLots : window.maxLots;
    const seconds = window.pendingEffectiveAt !== 0n ? window.pendingWindowSeconds : window.windowSeconds;
    expect([set, seconds]).to.deep.equal([5_000n, 120n]);

    // A 10 bps move stays under the 20 bps threshold: no requote. A 50 bps move requotes.
    await setFeedPrice(hre, deployment, "WETH/USDC", "2002");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(mmStats?.requotes).to.equal(1);
    await setFeedPrice(hre, deployment, "WETH/USDC", "2010");
    await until("the requote", () =>
      mmEvents.some((e) => e.type === "quoted" && e.requoted && e.referenceTicks === 201_000n),
    );
    await until(
      "the new ladder",
      async () => (bookRequestsByTest++, await keeper.getBook(1n)).bids[0]?.priceTicks === 200_799n,
    );
    const secondOrders = await mmKeeper.getOpenOrders(mmAddress);
    expect(secondOrders.map((o) => o.order.priceTicks).sort()).to.deep.equal(
      [200_799n, 200_598n, 200_397n, 201_201n, 201_402n, 201_603n].sort(),
    );
    const oldHashes = new Set(firstOrders.map((o) => o.hash));
    for (const o of secondOrders) expect(oldHashes.has(o.hash)).to.equal(false);
    const maxOldNonce = firstOrders.reduce((max, o) => (o.order.nonce > max ? o.order.nonce : max), 0n);
    for (const o of secondOrders) expect(o.order.nonce > maxOldNonce).to.equal(true);
    for (const o of firstOrders) expect((await mmKeeper.getOrder(o.hash)).status).to.equal("cancelled");

    // The taker trades against the ladder; both bots see the fills.
    let takerStats: BotStats | undefined;
    const stopTaker = new AbortController();
    const taker = runTaker(
      {
        ...connection,
        privateKey: takerKey,
        rate: 20,
        iocShare: 0.5,
        maxLots: 3n,
        slippageTicks: 2n,
        restMs: 100,
        seed: 1,
      },
      { signal: stopTaker.signal, onEvent: (_event, stats) => (takerStats = stats) },
    );
    await until("taker fills", () => (takerStats?.fills ?? 0) >= 4);
    await until("the maker to see fills", () => (mmStats?.fills ?? 0) >= 2);

    stopTaker.abort();
    stopMm.abort();
    const [finalMm, finalTaker] = await Promise.all([mm, taker]);
    expect(finalTaker.accepted).to.be.greaterThan(0);
    expect(finalTaker.filledLots > 0n).to.equal(true);
    expect(finalMm.fills).to.be.greaterThan(0);
    expect(finalMm.heartbeats).to.be.at.least(1);
    expect(finalMm.accepted).to.be.at.least(12);
    // What the maker bought minus what it sold is what it saw filled, on the right sides.
    expect(finalMm.inventoryLots <= finalMm.filledLots && -finalMm.inventoryLots <= finalMm.filledLots).to.equal(true);
    expect(mmEvents.at(-1)?.type).to.equal("stopped");
    expect(await mmKeeper.getOpenOrders(mmAddress)).to.deep.equal([]);
    expect(await takerKeeper.getOpenOrders(takerAddress)).to.deep.equal([]);

    // The bots polled neither their orders nor the book: the account-orders requests the keeper
    // served are this test's own four, the book requests this test's own, all while the bots ran
    // 50 ms rounds (market maker) and 20 orders a second (taker) on the feed.
    const exposition = await metrics.registry.getSingleMetricAsString("crossbook_http_request_duration_seconds");
    const served = (route: string) =>
      exposition
        .split("\n")
        .filter((l) => l.startsWith("crossbook_http_request_duration_seconds_count{"))
        .filter((l) => l.includes('method="GET"') && l.includes(`route="${route}"`))
        .reduce((sum, l) => sum + Number(l.split(" ").pop()), 0);
    expect(served("/v1/accounts/:address/orders")).to.equal(4);
    expect(served("/v1/markets/:marketId/book")).to.equal(bookRequestsByTest);

    // Nonces strictly increase in the order the keeper accepted the maker's orders.
    const all = await mmKeeper.getOpenOrders(mmAddress, { status: "all", limit: 1000 });
    const byTime = [...all].sort((a, b) => a.createdAt - b.createdAt || (a.order.nonce < b.order.nonce ? -1 : 1));
    for (let i = 1; i < byTime.length; i++) expect(byTime[i].order.nonce > byTime[i - 1].order.nonce).to.equal(true);
  });

  it("counts the keeper's refusals by code, backs off, and still stops clean", async function () {
    const brokeKey = await trader(deployment, {}); // gas, but nothing deposited
    const events: BotEvent[] = [];
    const stop = new AbortController();
    const run = runMarketMaker(
      {
        keeperUrl: api.url,
        transport,
        deployment,
        market: "WBTC/USDC",
        privateKey: brokeKey,
        pollingIntervalMs: 10,
        levels: 2,
        intervalMs: 20,
        cancelAfterSeconds: 0,
        windowLimit: null,
      },
      { signal: stop.signal, onEvent: (event) => events.push(event) },
    );
    await until("a refusal", () => events.some((e) => e.type === "rejected"));
    stop.abort();
    const stats = await run;
    expect(stats.rejected.INSUFFICIENT_BALANCE).to.be.at.least(1);
    expect(stats.accepted).to.equal(0);
    // Backing off: one refused round each time, doubling from 20 ms, not one per 20 ms.
    expect(stats.ordersSent).to.be.at.most(10);
    expect(events.at(-1)).to.deep.equal({ type: "stopped", cancelled: 0 });
  });

  it("refuses to start for a market the deployment does not have, or a bad key", async function () {
    const base = { keeperUrl: api.url, transport, deployment, privateKey: generatePrivateKey() };
    await expectRejection(
      runMarketMaker({ ...base, market: "DOGE/USDC" }),
      /No market "DOGE\/USDC".*WETH\/USDC, WBTC\/USDC/,
    );
    await expectRejection(runTaker({ ...base, market: "WETH/USDC", privateKey: "0x1234" }), /64 hex digits/);
    await expectRejection(runTaker({ ...base, market: "WETH/USDC", iocShare: 2 }), /iocShare/);
  });
});

async function expectRejection(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).message).to.match(pattern);
    return;
  }
  expect.fail(`expected a rejection matching ${pattern}`);
}
