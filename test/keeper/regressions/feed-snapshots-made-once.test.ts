/**
 * Issue 13, the attack benchmark: one address opened a hundred feed connections (its cap) and
 * subscribed each to the book and the trades; each trades snapshot read the last 100 fills and two
 * orders per fill, and each book snapshot serialised every level — a hundred times over. A market
 * channel's snapshot is now made once per message of the channel and sent as is to every
 * subscriber until the channel moves on.
 *
 *   a trade, then 10 subscribers          ──▶  10 equal snapshots, the fills read once
 *   another trade, then one subscriber    ──▶  a new snapshot: both trades, the next seq
 */
import { expect } from "chai";
import { traceSql } from "../support";
import { FeedClient, http, newTrader, orderOf, signedBody, startKeeper, type Keeper } from "../api/support";
import { IMMEDIATE_OR_CANCEL } from "@crossbook/sdk";

type Snapshot = { type: string; channel: string; seq: number; trades?: { fillId: number }[]; asks?: unknown[] };

describe("regression (issue 13, bench:attack): a market channel's snapshot is made once per message", function () {
  let tracer: ReturnType<typeof traceSql>;
  let k: Keeper;
  const feeds: FeedClient[] = [];

  before(async () => {
    tracer = traceSql();
    k = await startKeeper();
  });

  after(async () => {
    tracer.stop();
    for (const f of feeds) f.close();
    await k?.close();
  });

  const trade = async (price: bigint) => {
    const [maker, taker] = [await newTrader(k.env), await newTrader(k.env)];
    const ask = orderOf(maker, { isBuy: false, priceTicks: price, lots: 1n });
    expect((await http(k.api.url, "POST", "/v1/orders", await signedBody(k, maker, ask))).status).to.equal(201);
    const bid = orderOf(taker, { isBuy: true, priceTicks: price, lots: 1n, flags: IMMEDIATE_OR_CANCEL });
    const taken = await http(k.api.url, "POST", "/v1/orders", await signedBody(k, taker, bid));
    expect(taken.body.trades).to.have.length(1);
  };

  const subscribe = async (channel: "book" | "trades"): Promise<Snapshot> => {
    const feed = await FeedClient.open(k.api.wsUrl);
    feeds.push(feed);
    feed.send({ op: "subscribe", channel, marketId: "1" });
    return (await feed.next((m) => m.type === "snapshot" && m.channel === channel)) as unknown as Snapshot;
  };

  it("serves every subscriber between two messages the same snapshot, read once", async () => {
    await trade(200_000n);
    tracer.start();
    const snapshots = await Promise.all(Array.from({ length: 10 }, () => subscribe("trades")));
    const fillReads = tracer.trace.statements.filter((s) => /FROM fills WHERE market/.test(s.sql));
    expect(fillReads).to.have.length(1);
    for (const s of snapshots) expect(s).to.deep.equal(snapshots[0]);
    expect(snapshots[0].trades).to.have.length(1);

    await trade(200_001n);
    const after = await subscribe("trades");
    expect(after.seq).to.be.above(snapshots[0].seq);
    expect(after.trades).to.have.length(2);

    const books = await Promise.all(Array.from({ length: 5 }, () => subscribe("book")));
    for (const b of books) expect(b).to.deep.equal(books[0]);
  });
});
