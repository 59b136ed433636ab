/**
 * Two keepers on one PostgreSQL, in this process (`runKeeper`, one keeper key, the in-process
 * chain): the second follows. It serves the book, the trades and an account's orders from the
 * shared store and its feed publishes what the leader commits; it answers every write with
 * NOT_LEADER naming the leader; `/v1/ready` says who leads. When the leader stops, the follower
 * takes the lease and leads in the same process, on the same URL, with the same books.
 */
import { expect } from "chai";
import type { Hex } from "viem";
import { runKeeperInProcess } from "../support";
import {
  bearer,
  cancelBody,
  FeedClient,
  feedLogin,
  http,
  login,
  newTrader,
  orderOf,
  signedBody,
  type Keeper,
} from "../api/support";
import { sdkFixture } from "../../sdk/support";
import { freshDatabase } from "../../helpers/postgres";
import { until, type Running } from "./support";

describe("keeper followers: reads, feed and NOT_LEADER on a follower; takeover in the same process", function () {
  this.timeout(240_000);
  let leader: Running | undefined;
  let follower: Running | undefined;

  after(async () => {
    await leader?.close().catch(() => {});
    await follower?.close().catch(() => {});
  });

  it("follows the leader's commits, refuses writes naming the leader, then leads on the same URL", async () => {
    const env = await sdkFixture();
    const database = await freshDatabase();
    const flags = ["--lease-ms", "1000"];
    leader = await runKeeperInProcess(env, { database, flags });
    follower = await runKeeperInProcess(env, { database, flags, key: leader.key });
    expect(leader.keeper.role.current.role).to.equal("leader");
    expect(follower.keeper.role.current.role).to.equal("follower");
    const a = leader.url;
    const b = follower.url;
    const k = (url: string) => ({ env, api: { url } }) as unknown as Keeper;

    // Who leads, as /v1/ready says it on each.
    const readyA = await http(a, "GET", "/v1/ready?role=leader");
    expect(readyA.status, JSON.stringify(readyA.body)).to.equal(200);
    expect(readyA.body).to.deep.include({ role: "leader", term: 1, leader: a });
    const readyB = await until(
      "the follower learns the leader's URL",
      () => http(b, "GET", "/v1/ready"),
      (r) => r.body.leader === a,
    );
    expect(readyB.body).to.deep.include({ status: "ready", role: "follower", term: 1 });
    const asLeader = await http(b, "GET", "/v1/ready?role=leader");
    expect([asLeader.status, asLeader.body.error.code]).to.deep.equal([503, "NOT_LEADER"]);

    // The follower's feed: the book and trades of market 1, and alice's orders.
    const alice = await newTrader(env);
    const bob = await newTrader(env);
    const feed = await FeedClient.open(follower.keeper.api.wsUrl);
    feed.send({ op: "subscribe", channel: "book", marketId: "1" });
    feed.send({ op: "subscribe", channel: "trades", marketId: "1" });
    await feedLogin(feed, k(b), alice);
    feed.send({ op: "subscribe", channel: "orders" });
    await feed.next((m) => m.type === "snapshot" && m.channel === "orders", 30_000);

    // alice rests an ask at the leader; the follower's feed shows the level and her order.
    const ask = orderOf(alice, { isBuy: false, priceTicks: 210_000n, lots: 10n });
    const placed = await http(a, "POST", "/v1/orders", await signedBody(k(a), alice, ask));
    expect(placed.status, JSON.stringify(placed.body)).to.equal(201);
    const askHash = placed.body.hash as Hex;
    const level = await feed.next(
      (m) => m.type === "delta" && m.levels.some((l: { priceTicks: string }) => l.priceTicks === "210000"),
      30_000,
    );
    expect(level.levels.find((l: { priceTicks: string }) => l.priceTicks === "210000")).to.deep.include({
      side: "ask",
      lots: "10",
      orders: 1,
    });
    const update = await feed.next((m) => m.type === "order" && m.update.hash === askHash, 30_000);
    expect(update.update).to.deep.include({ event: "accepted", status: "open" });

    // bob takes 4 lots at the leader: the follower's trades channel has the trade.
    const take = orderOf(bob, { isBuy: true, priceTicks: 210_000n, lots: 4n });
    const taken = await http(a, "POST", "/v1/orders", await signedBody(k(a), bob, take));
    expect(taken.status, JSON.stringify(taken.body)).to.equal(201);
    const trade = await feed.next((m) => m.type === "trade" && m.trade.makerHash === askHash, 30_000);
    expect(trade.trade).to.deep.include({ lots: "4", priceTicks: "210000" });

    // The follower's reads: the book, the trades, alice's order with her session there.
    const book = await until(
      "the follower's book has 6 lots left",
      () => http(b, "GET", "/v1/markets/1/book"),
      (r) => r.body.asks?.[0]?.lots === "6",
    );
    expect(book.body.asks[0]).to.deep.include({ priceTicks: "210000", orders: 1 });
    const trades = await http(b, "GET", "/v1/markets/1/trades");
    expect(trades.body.trades.map((t: { makerHash: string }) => t.makerHash)).to.include(askHash);
    const token = await login(k(b), alice);
    const order = await http(b, "GET", `/v1/orders/${askHash}`, undefined, bearer(token));
    expect(order.status, JSON.stringify(order.body)).to.equal(200);
    expect(order.body).to.deep.include({ hash: askHash, filledLots: "4" });

    // Every write at the follower: NOT_LEADER, naming the leader and its term; nothing is placed.
    const refused = await http(
      b,
      "POST",
      "/v1/orders",
      await signedBody(k(b), alice, orderOf(alice, { isBuy: false, priceTicks: 220_000n })),
    );
    expect(refused.status).to.equal(503);
    expect(refused.body.error.code).to.equal("NOT_LEADER");
    expect(refused.body.error.details).to.deep.equal({ leader: a, term: 1 });
    const cancel = await http(b, "POST", "/v1/cancels", await cancelBody(k(b), alice, [askHash]));
    expect([cancel.status, cancel.body.error.code]).to.deep.equal([503, "NOT_LEADER"]);
    const batch = await http(b, "POST", "/v1/orders/batch", { account: alice.address, actions: [] }, bearer(token));
    expect([batch.status, batch.body.error.code]).to.deep.equal([503, "NOT_LEADER"]);

    // The two keepers hold the same books.
    const digestA = (await http(a, "GET", "/v1/books/digest")).body;
    await until(
      "the follower's books equal the leader's",
      () => http(b, "GET", "/v1/books/digest"),
      (r) => JSON.stringify(r.body.markets) === JSON.stringify(digestA.markets),
    );
    expect(digestA.markets[0]).to.deep.include({ marketId: "1", levels: 1, orders: 1 });

    // The leader stops (a clean stop hands the lease over): the follower leads in this process.
    await leader.close();
    leader = undefined;
    await until(
      "the follower leads",
      () => http(b, "GET", "/v1/ready?role=leader"),
      (r) => r.status === 200,
    );
    expect(follower.keeper.role.current).to.deep.include({ role: "leader", term: 2, leader: b });
    expect(follower.keeper.api.url).to.equal(b);
    const digestB = (await http(b, "GET", "/v1/books/digest")).body;
    expect(digestB).to.deep.equal({ ...digestA, role: "leader" });

    // Order entry on the same URL: bob takes the rest of alice's ask.
    const rest = orderOf(bob, { isBuy: true, priceTicks: 210_000n, lots: 6n });
    const filled = await http(b, "POST", "/v1/orders", await signedBody(k(b), bob, rest));
    expect(filled.status, JSON.stringify(filled.body)).to.equal(201);
    expect(filled.body.status).to.equal("filled");
    await feed.next((m) => m.type === "order" && m.update.hash === askHash && m.update.status === "filled", 30_000);
    const metrics = (await http(b, "GET", "/metrics")).body as string;
    expect(metrics).to.match(/crossbook_keeper_is_leader 1\n/);
    expect(metrics).to.match(/crossbook_keeper_term 2\n/);
    expect(metrics).to.match(/crossbook_keeper_role_changes_total\{role="leader"\} 1\n/);
    // The new leader renews its lease (every eighth of it), and says how long each answer took.
    await until(
      "a renewal of the new leader's lease, in its metrics",
      async () => (await http(b, "GET", "/metrics")).body as string,
      (text) => /crossbook_lease_renewal_seconds_count [1-9]/.test(text),
    );
    feed.close();
  });
});
