/**
 * Issue 13, finding 2: `GET /v1/accounts/{a}/orders` and the feed's orders snapshot loaded every row
 * the account ever had, even with `limit=1` (200,000 rows blocked the event loop for ~3 s); an
 * order's fills and the metrics' pending-fill gauge read whole tables too. Every read is now a page
 * through an index: the rows read do not grow with the account's history.
 *
 *   alice: 3,000 cancelled orders + 2 open, one of them filled by 600 one-lot takers
 *   GET her orders (limit 1), her open orders on the feed, one order's fills, her fills channel's
 *   snapshot, /metrics
 *     → each reads O(page) rows, every statement through an index
 */
import { expect } from "chai";
import type { Hex } from "viem";
import type { Order } from "@crossbook/sdk";
import type { NewFill, Store } from "../../../keeper/src/store";
import { traceSql } from "../support";
import { sdkFixture } from "../../sdk/support";
import {
  FeedClient,
  bearer,
  feedLogin,
  http,
  login,
  newTrader,
  startKeeper,
  type Keeper,
  type Trader,
} from "../api/support";

const hashOf = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const SIG = `0x${"ab".repeat(65)}` as Hex;

describe("regression (issue 13, finding 2): every read is paged through an index", function () {
  let k: Keeper;
  let alice: Trader;
  let tracer: ReturnType<typeof traceSql>;
  const resting = hashOf(1_000_000);
  const history = 3_000;
  const takers = 600;

  before(async () => {
    tracer = traceSql(); // before the store opens: its statements are prepared once
    const env = await sdkFixture();
    alice = await newTrader(env);
    const bob = await newTrader(env);
    const order = (maker: Trader, n: number, fields: Partial<Order> = {}): Order => ({
      maker: maker.address,
      marketId: 1n,
      isBuy: false,
      flags: 0n,
      maxFeeBps: 100n,
      expiry: 4_102_444_800n,
      nonce: BigInt(n),
      priceTicks: 900_000n,
      lots: 1n,
      ...fields,
    });
    // History written straight to the store before the engine opens (the engine's rules are not
    // what this test is about; what a store holds at open counts as published).
    const at = Date.now() - 3_600_000;
    const writeHistory = (store: Store) =>
      store.transaction(() => {
        for (let i = 0; i < history; i++) {
          store.acceptOrder({
            hash: hashOf(i + 1),
            order: order(alice, i + 1),
            signature: SIG,
            seq: i,
            rested: true,
            at: at + i,
          });
          store.cancelOrder(hashOf(i + 1), "soft-cancel", at + i);
        }
        store.acceptOrder({
          hash: resting,
          order: order(alice, history + 1, { lots: 10_000n }),
          signature: SIG,
          seq: history,
          rested: true,
          at: at + history,
        });
        for (let i = 0; i < takers; i++) {
          const fill: NewFill = {
            makerHash: resting,
            takerHash: hashOf(2_000_000 + i),
            priceTicks: 900_000n,
            lots: 1n,
          };
          store.acceptOrder({
            hash: fill.takerHash,
            order: order(bob, i + 1, { isBuy: true }),
            signature: SIG,
            seq: history + 1 + i,
            fills: [fill],
            rested: false,
            at: at + history + 1 + i,
          });
        }
      });
    k = await startKeeper({
      env,
      engine: (store) => {
        writeHistory(store);
        return {};
      },
    });
  });

  after(async () => {
    tracer.stop();
    await k?.close();
  });

  it("pages an account's orders", async () => {
    const token = await login(k, alice);
    tracer.start();
    const page = await http(
      k.api.url,
      "GET",
      `/v1/accounts/${alice.address}/orders?status=all&limit=1`,
      undefined,
      bearer(token),
    );
    expect(page.status, JSON.stringify(page.body)).to.equal(200);
    expect(page.body.orders).to.have.length(1);
    expect(tracer.rows()).to.be.at.most(20);
    expect(tracer.unindexed(k.path)).to.deep.equal([]);
  });

  it("sends the feed's open-orders snapshot without reading the account's history", async () => {
    const feed = await FeedClient.open(k.api.wsUrl);
    await feedLogin(feed, k, alice);
    tracer.start();
    feed.send({ op: "subscribe", channel: "orders" });
    const snapshot = await feed.next((m) => m.type === "snapshot" && m.channel === "orders");
    expect(snapshot.orders.map((o: { hash: string }) => o.hash)).to.deep.equal([resting]);
    expect(tracer.rows()).to.be.at.most(20);
    expect(tracer.unindexed(k.path)).to.deep.equal([]);
    feed.close();
  });

  it("pages an order's fills", async () => {
    const token = await login(k, alice);
    tracer.start();
    const detail = await http(k.api.url, "GET", `/v1/orders/${resting}`, undefined, bearer(token));
    expect(detail.status, JSON.stringify(detail.body)).to.equal(200);
    expect(detail.body.settledLots).to.equal("0");
    expect(detail.body.filledLots).to.equal(String(takers));
    expect(detail.body.fills.length).to.be.at.most(100);
    expect(tracer.rows()).to.be.at.most(100 * 4 + 20);
    expect(tracer.unindexed(k.path)).to.deep.equal([]);
  });

  it("sends the fills channel's snapshot as one page through the account indexes (issue 16)", async () => {
    const feed = await FeedClient.open(k.api.wsUrl);
    await feedLogin(feed, k, alice);
    feed.send({ op: "subscribe", channel: "fills", limit: 1 }); // reads the markets' fees once
    await feed.next((m) => m.type === "snapshot" && m.channel === "fills");
    feed.send({ op: "unsubscribe", channel: "fills" });
    await feed.next((m) => m.type === "unsubscribed" && m.channel === "fills");
    tracer.start();
    feed.send({ op: "subscribe", channel: "fills", limit: 5 });
    const snapshot = await feed.next((m) => m.type === "snapshot" && m.channel === "fills" && m.fills.length === 5);
    expect(snapshot.fills.map((f: { side: string; orderHash: string }) => [f.side, f.orderHash])).to.deep.equal(
      Array(5).fill(["maker", resting]),
    );
    expect(tracer.rows()).to.be.at.most(5 * 4 + 20);
    expect(tracer.unindexed(k.path)).to.deep.equal([]);
    feed.close();
  });

  it("counts pending fills for the metrics without reading them", async () => {
    tracer.start();
    const metrics = (await http(k.api.url, "GET", "/metrics")).body as string;
    expect(metrics).to.match(new RegExp(`crossbook_fills_pending ${takers}\\n`));
    expect(tracer.rows()).to.be.at.most(5);
  });
});
