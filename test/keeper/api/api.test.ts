/**
 * The keeper API over real sockets: a keeper on the in-process Hardhat network, HTTP through
 * fetch, the feed through `ws`.
 *
 *   alice ── sell 10 @ 200,000 ──▶ keeper (rests)        bob ── buy 4 @ 200,000 ──▶ keeper (takes 4)
 *   alice's feed sees: accepted, partially-filled; bob's trade arrives on the trades channel.
 */
import { expect } from "chai";
import type { Hex } from "viem";
import { keeperMessageTypedData } from "@crossbook/sdk";
import {
  BookReplica,
  FeedClient,
  bearer,
  cancelAllBody,
  cancelBody,
  feedLogin,
  http,
  login,
  newTrader,
  orderOf,
  signedBody,
  startKeeper,
  type Keeper,
  type Trader,
} from "./support";

describe("keeper/api: HTTP and feed over real sockets", function () {
  let k: Keeper;
  let alice: Trader;
  let bob: Trader;
  let url: string;

  before(async function () {
    k = await startKeeper();
    url = k.api.url;
    alice = await newTrader(k.env);
    bob = await newTrader(k.env);
  });

  after(async function () {
    await k?.close();
  });

  it("runs the full lifecycle: submit, book via GET and feed, a crossing order, trades, status, soft cancel", async function () {
    const feed = await FeedClient.open(k.api.wsUrl);
    feed.send({ op: "subscribe", channel: "book", marketId: "1" });
    feed.send({ op: "subscribe", channel: "trades", marketId: "1" });
    const snapshot = await feed.next((m) => m.type === "snapshot" && m.channel === "book");
    expect(snapshot.bids).to.deep.equal([]);
    await feed.next((m) => m.type === "snapshot" && m.channel === "trades");

    const sell = orderOf(alice, { isBuy: false, lots: 10n, priceTicks: 200_000n });
    const placed = await http(url, "POST", "/v1/orders", await signedBody(k, alice, sell));
    expect(placed.status, JSON.stringify(placed.body)).to.equal(201);
    expect(placed.body).to.include({ status: "open", filledLots: "0", remainingLots: "10" });
    const sellHash = placed.body.hash as Hex;
    expect(sellHash).to.equal(k.engine.hashOf(sell));

    const delta = await feed.next((m) => m.type === "delta");
    expect(delta.seq).to.equal(snapshot.seq + 1);
    expect(delta.levels).to.deep.equal([{ side: "ask", priceTicks: "200000", lots: "10", orders: 1 }]);
    const book = await http(url, "GET", "/v1/markets/1/book");
    expect(book.status).to.equal(200);
    expect(book.body).to.deep.equal({
      marketId: "1",
      seq: delta.seq,
      bids: [],
      asks: [{ priceTicks: "200000", lots: "10", orders: 1 }],
    });

    const buy = orderOf(bob, { isBuy: true, lots: 4n, priceTicks: 200_000n });
    const taken = await http(url, "POST", "/v1/orders", await signedBody(k, bob, buy));
    expect(taken.status, JSON.stringify(taken.body)).to.equal(201);
    expect(taken.body).to.include({ status: "filled", filledLots: "4", remainingLots: "0" });
    expect(taken.body.trades).to.have.length(1);
    expect(taken.body.trades[0]).to.include({
      makerHash: sellHash,
      maker: alice.address,
      taker: bob.address,
      makerIsBuy: false,
      priceTicks: "200000",
      lots: "4",
      status: "matched",
    });
    const trade = await feed.next((m) => m.type === "trade");
    expect(trade.trade).to.deep.equal(taken.body.trades[0]);

    const trades = await http(url, "GET", "/v1/markets/1/trades?limit=5");
    expect(trades.body.trades[0]).to.deep.equal(taken.body.trades[0]);

    // A later subscriber's trades snapshot is the channel's trades as told, made without a store read.
    const committed = k.store.committed;
    const getOrder = committed.getOrder;
    let orderReads = 0;
    committed.getOrder = (...args: Parameters<typeof getOrder>) => (orderReads++, getOrder.apply(committed, args));
    try {
      const later = await FeedClient.open(k.api.wsUrl);
      later.send({ op: "subscribe", channel: "trades", marketId: "1" });
      const tradesSnapshot = await later.next((m) => m.type === "snapshot" && m.channel === "trades");
      expect(tradesSnapshot.seq).to.equal(trade.seq);
      expect(tradesSnapshot.trades).to.deep.equal([trade.trade]);
      expect(orderReads, "store reads for the trades snapshot").to.equal(0);
      later.close();
    } finally {
      committed.getOrder = getOrder;
    }

    const aliceSession = bearer(await login(k, alice));
    const status = await http(url, "GET", `/v1/orders/${sellHash}`, undefined, aliceSession);
    expect(status.status).to.equal(200);
    expect(status.body).to.include({
      status: "partially-filled",
      filledLots: "4",
      remainingLots: "6",
      settledLots: "0",
    });
    expect(status.body.order).to.deep.include({ maker: alice.address, lots: "10", isBuy: false });
    expect(status.body.fills).to.have.length(1);

    const cancelled = await http(url, "POST", "/v1/cancels", await cancelBody(k, alice, [sellHash]));
    expect(cancelled.status, JSON.stringify(cancelled.body)).to.equal(200);
    expect(cancelled.body).to.deep.equal({ results: [{ hash: sellHash, outcome: "cancelled" }] });
    const gone = await feed.next((m) => m.type === "delta" && m.levels[0].lots === "0");
    expect(gone.levels).to.deep.equal([{ side: "ask", priceTicks: "200000", lots: "0", orders: 0 }]);
    // A new signed cancel of the same order: it is not open any more.
    const again = await http(
      url,
      "POST",
      "/v1/cancels",
      await cancelBody(k, alice, [sellHash], BigInt(Date.now() + 1)),
    );
    expect(again.body.results[0].outcome).to.equal("not-open");

    const open = await http(url, "GET", `/v1/accounts/${alice.address}/orders`, undefined, aliceSession);
    expect(open.body.orders).to.deep.equal([]);
    const all = await http(
      url,
      "GET",
      `/v1/accounts/${alice.address.toLowerCase()}/orders?status=all`,
      undefined,
      aliceSession,
    );
    expect(all.body.orders.map((o: { hash: string }) => o.hash)).to.include(sellHash);
    expect(all.body.orders[0]).to.include({ status: "cancelled", reason: "soft-cancel" });
    feed.close();
  });

  it("cancels all of an account's orders with a signed CancelAll, but not orders placed after it was signed", async function () {
    const a = await http(
      url,
      "POST",
      "/v1/orders",
      await signedBody(k, alice, orderOf(alice, { isBuy: false, priceTicks: 300_000n })),
    );
    const b = await http(
      url,
      "POST",
      "/v1/orders",
      await signedBody(k, alice, orderOf(alice, { isBuy: true, priceTicks: 100_000n })),
    );
    expect([a.status, b.status]).to.deep.equal([201, 201]);
    const signedEarlier = await cancelAllBody(k, alice, 0n, BigInt(Date.now() - 60_000));
    const later = await http(url, "POST", "/v1/cancels/all", signedEarlier);
    expect(later.body).to.deep.equal({ cancelled: [] });
    const now = await http(url, "POST", "/v1/cancels/all", await cancelAllBody(k, alice, 1n));
    expect(now.status).to.equal(200);
    expect(new Set(now.body.cancelled)).to.deep.equal(new Set([a.body.hash, b.body.hash]));
  });

  it("serves markets with parameters, risk limits and price bounds read from the chain", async function () {
    const list = await http(url, "GET", "/v1/markets");
    expect(list.status).to.equal(200);
    expect(list.body.markets).to.have.length(1);
    const one = await http(url, "GET", "/v1/markets/1");
    expect(one.body).to.deep.equal(list.body.markets[0]);
    expect(one.body).to.deep.include({
      marketId: "1",
      base: k.env.addresses.base,
      quote: k.env.addresses.quote,
      lotSize: (10n ** 16n).toString(),
      tickSize: "100",
      makerFeeBps: "5",
      takerFeeBps: "10",
      baseDecimals: 18, // the tokens' ERC-20 decimals
      quoteDecimals: 6,
      riskLimits: { halted: false, bandBps: "0", maxLotsPerBlock: "0" },
    });
    expect(one.body.priceBounds.available).to.equal(true);
    expect((await http(url, "GET", "/v1/health")).body).to.deep.equal({ status: "ok" });
    expect((await http(url, "GET", "/v1/ready")).status).to.equal(200);
  });

  it("exposes Prometheus metrics: orders accepted and rejected by code, depth, feed clients, HTTP durations", async function () {
    await http(url, "POST", "/v1/orders", "{bad json");
    const m = await http(url, "GET", "/metrics");
    expect(m.status).to.equal(200);
    expect(m.headers.get("content-type")).to.match(/text\/plain/);
    const text = m.body as string;
    expect(text).to.match(/crossbook_orders_accepted_total\{market="1"\} [1-9]/);
    expect(text).to.match(/crossbook_orders_rejected_total\{code="BAD_JSON"\} [1-9]/);
    expect(text).to.match(/crossbook_book_levels\{market="1",side="ask"\} \d+/);
    expect(text).to.match(/crossbook_book_lots\{market="1",side="bid"\} \d+/);
    expect(text).to.include("crossbook_fills_pending");
    expect(text).to.include("crossbook_feed_clients");
    expect(text).to.match(
      /crossbook_http_request_duration_seconds_count\{method="POST",route="\/v1\/orders",status="201"\} [1-9]/,
    );
  });

  it("keeps a replica built from snapshot + deltas equal to GET /book through a burst of random orders and cancels", async function () {
    const carol = await newTrader(k.env);
    const dave = await newTrader(k.env);
    const feed = await FeedClient.open(k.api.wsUrl);
    const replica = new BookReplica();
    let gap = false;
    feed.ws.on("message", (data) => {
      const m = JSON.parse(data.toString());
      if (m.channel !== "book") return;
      if (m.type === "snapshot") replica.applySnapshot(m);
      else if (m.type === "delta" && !replica.applyDelta(m)) gap = true;
    });
    feed.send({ op: "subscribe", channel: "book", marketId: "1" });
    await feed.next((m) => m.type === "snapshot");

    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const live: { trader: Trader; hash: Hex }[] = [];
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      const trader = i % 2 === 0 ? carol : dave;
      if (random(4) === 0 && live.length > 0) {
        const victim = live.splice(random(live.length), 1)[0];
        work.push(cancelBody(k, victim.trader, [victim.hash]).then((b) => http(url, "POST", "/v1/cancels", b)));
        continue;
      }
      const o = orderOf(trader, {
        isBuy: random(2) === 0,
        priceTicks: 199_990n + BigInt(random(20)),
        lots: 1n + BigInt(random(5)),
      });
      live.push({ trader, hash: k.engine.hashOf(o) });
      work.push(signedBody(k, trader, o).then((b) => http(url, "POST", "/v1/orders", b)));
    }
    const answers = (await Promise.all(work)) as { status: number }[];
    expect(
      answers.every((a) => a.status === 201 || a.status === 200),
      JSON.stringify(answers.filter((a) => a.status >= 300)),
    ).to.equal(true);

    const book = await http(url, "GET", "/v1/markets/1/book?depth=1000");
    await feed.next((m) => m.type === "delta" && m.seq === book.body.seq).catch(() => undefined);
    expect(gap).to.equal(false);
    expect(replica.seq).to.equal(book.body.seq);
    expect(replica.toBook()).to.deep.equal({ bids: book.body.bids, asks: book.body.asks });
    expect(book.body.bids.length + book.body.asks.length).to.be.greaterThan(0);

    // A client that disconnects and reconnects gets a fresh snapshot; the numbering continues.
    feed.close();
    await feed.closed;
    const more = orderOf(carol, { isBuy: false, priceTicks: 250_000n, lots: 3n });
    expect((await http(url, "POST", "/v1/orders", await signedBody(k, carol, more))).status).to.equal(201);
    const again = await FeedClient.open(k.api.wsUrl);
    again.send({ op: "subscribe", channel: "book", marketId: "1" });
    const resync = await again.next((m) => m.type === "snapshot");
    expect(resync.seq).to.be.greaterThan(replica.seq);
    const now = await http(url, "GET", "/v1/markets/1/book?depth=1000");
    expect(resync.seq).to.equal(now.body.seq);
    expect({ bids: resync.bids, asks: resync.asks }).to.deep.equal({ bids: now.body.bids, asks: now.body.asks });
    const next = orderOf(carol, { isBuy: false, priceTicks: 260_000n, lots: 1n });
    await http(url, "POST", "/v1/orders", await signedBody(k, carol, next));
    const d = await again.next((m) => m.type === "delta");
    expect(d.seq).to.equal(resync.seq + 1);
    again.close();
  });

  it("opens the private orders channel with a signed challenge, refuses a bad signature, and streams updates", async function () {
    const erin = await newTrader(k.env);
    const feed = await FeedClient.open(k.api.wsUrl);
    feed.send({ op: "subscribe", channel: "orders" });
    expect((await feed.next((m) => m.type === "error")).code).to.equal("NOT_LOGGED_IN");

    // A signature by someone else.
    feed.send({ op: "challenge" });
    let challenge = (await feed.next((m) => m.type === "challenge")).challenge as Hex;
    const forged = await bob.account.signTypedData(
      keeperMessageTypedData({
        domain: k.env.sdkDomain,
        primaryType: "FeedLogin",
        message: { account: erin.address, challenge },
      }) as never,
    );
    feed.send({ op: "login", account: erin.address, signature: forged });
    expect((await feed.next((m) => m.type === "error" && m.code === "BAD_LOGIN")).code).to.equal("BAD_LOGIN");

    // The challenge is spent: even the right signature over it is refused now.
    const good = await erin.account.signTypedData(
      keeperMessageTypedData({
        domain: k.env.sdkDomain,
        primaryType: "FeedLogin",
        message: { account: erin.address, challenge },
      }) as never,
    );
    const errorsBefore = feed.messages.filter((m) => m.type === "error").length;
    feed.send({ op: "login", account: erin.address, signature: good });
    await feed.next((m) => m.type === "error" && feed.messages.filter((x) => x.type === "error").length > errorsBefore);

    await feedLogin(feed, k, erin);
    expect((await feed.next((m) => m.type === "login")).account).to.equal(erin.address);
    feed.send({ op: "subscribe", channel: "orders" });
    const snap = await feed.next((m) => m.type === "snapshot" && m.channel === "orders");
    expect(snap.orders).to.deep.equal([]);

    const o = orderOf(erin, { isBuy: false, priceTicks: 400_000n, lots: 2n });
    const placed = await http(url, "POST", "/v1/orders", await signedBody(k, erin, o));
    const accepted = await feed.next((m) => m.type === "order" && m.update.event === "accepted");
    expect(accepted.update).to.include({ hash: placed.body.hash, status: "open", remainingLots: "2" });
    expect(accepted.seq).to.equal(snap.seq + 1);
    await http(url, "POST", "/v1/cancels", await cancelBody(k, erin, [placed.body.hash]));
    const cancelled = await feed.next((m) => m.type === "order" && m.update.event === "cancelled");
    expect(cancelled.update).to.include({ status: "cancelled", reason: "soft-cancel" });
    expect(cancelled.seq).to.equal(accepted.seq + 1);
    // Bob's orders never reach Erin's channel.
    await http(
      url,
      "POST",
      "/v1/orders",
      await signedBody(k, bob, orderOf(bob, { isBuy: true, priceTicks: 1_000n, lots: 1n })),
    );
    await feed.barrier();
    expect(feed.messages.filter((m) => m.type === "order").every((m) => m.account === erin.address)).to.equal(true);
    feed.close();
  });

  it("refuses bad feed messages with an error and keeps the connection open", async function () {
    const feed = await FeedClient.open(k.api.wsUrl);
    feed.send("{not json");
    expect((await feed.next((m) => m.type === "error")).code).to.equal("BAD_JSON");
    feed.send({ op: "subscribe", channel: "book", marketId: "2" });
    expect((await feed.next((m) => m.code === "MARKET_NOT_SERVED")).code).to.equal("MARKET_NOT_SERVED");
    feed.send({ op: "subscribe", channel: "book", marketId: "1e3" });
    feed.send({ op: "fly" });
    feed.send({ op: "subscribe", channel: "book", marketId: "18446744073709551616" });
    await feed.next((m) => feed.messages.filter((x) => x.code === "BAD_REQUEST").length === 3);
    feed.send({ op: "subscribe", channel: "trades", marketId: 1 });
    expect((await feed.next((m) => m.type === "snapshot" && m.channel === "trades")).trades.length).to.be.greaterThan(
      0,
    );
    feed.close();
  });
});

describe("keeper/api: feed limits", function () {
  let k: Keeper;

  before(async function () {
    k = await startKeeper({ limits: { messagesPerSecond: 2_000 } });
  });

  after(async function () {
    await k?.close();
  });

  it("closes a slow consumer with 4008 and forgets it at once", async function () {
    // A deep book makes each snapshot large; the client asks for snapshot after snapshot but never reads.
    const url = k.api.url;
    const frank = await newTrader(k.env);
    const work = [];
    for (let i = 0; i < 40; i++) {
      const o = orderOf(frank, { isBuy: true, priceTicks: 10_000n + BigInt(i), lots: 1n });
      work.push(signedBody(k, frank, o).then((b) => http(url, "POST", "/v1/orders", b)));
    }
    await Promise.all(work);
    const slow = await FeedClient.open(k.api.wsUrl);
    const before = k.api.feed.clientCount;
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    // Each resubscribe sends a snapshot of the whole book; this keeper lets 2,000 messages a second through.
    for (let round = 0; round < 20 && k.api.feed.clientCount === before; round++) {
      for (let i = 0; i < 2_000; i++) slow.send({ op: "subscribe", channel: "book", marketId: "1" });
      await new Promise((r) => setTimeout(r, 1_050));
    }
    expect(k.api.feed.clientCount).to.equal(before - 1);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await slow.closed).to.equal(4008);
    expect(slow.messages.length).to.be.greaterThan(100);
  });
});
