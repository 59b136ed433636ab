/**
 * Issue 13, finding 9: the feed, the book and the GET reads showed a match before it was durable:
 * a crash inside the group-commit window erased fills that makers had already been told about. Now
 * nothing is published, and no read shows anything, before its commit.
 *
 *   alice's ask rests (committed); the disk fails; bob's taking order matches it in memory
 *     → bob is told STOPPED; no feed client saw the trade or the book change; GET shows neither
 */
import { expect } from "chai";
import { askAndTaker, FeedClient, http, refuseCommits, startKeeper, type Keeper } from "../api/support";

describe("regression (issue 13, finding 9): only what is committed is published", function () {
  let k: Keeper;
  before(async () => {
    k = await startKeeper();
  });
  after(async () => {
    await k?.close().catch(() => undefined);
  });

  it("publishes nothing of a match whose commit failed", async () => {
    const { take } = await askAndTaker(k);

    const feed = await FeedClient.open(k.api.wsUrl);
    feed.send({ op: "subscribe", channel: "book", marketId: "1" });
    feed.send({ op: "subscribe", channel: "trades", marketId: "1" });
    const snapshot = await feed.next((m) => m.type === "snapshot" && m.channel === "book");
    await feed.next((m) => m.type === "snapshot" && m.channel === "trades");
    const before = await http(k.api.url, "GET", "/v1/markets/1/book");

    // The next group commit fails, as a disk that fills up would.
    const restore = refuseCommits(k, () => {
      throw new Error("disk I/O error");
    });
    const taken = await take(4n);
    restore();
    expect([taken.status, taken.body.error?.code]).to.deep.equal([503, "STOPPED"]);

    // A barrier: the feed answers in order, so whatever it published before this answer has arrived.
    const from = feed.messages.length;
    feed.send({ op: "unsubscribe", channel: "trades", marketId: "1" });
    await feed.next((m) => m.type === "unsubscribed", 10_000, from);
    expect(feed.messages.filter((m) => m.type === "trade")).to.deep.equal([]);
    expect(feed.messages.filter((m) => m.type === "delta")).to.deep.equal([]);
    const after = await http(k.api.url, "GET", "/v1/markets/1/book");
    expect(after.body).to.deep.equal(before.body);
    expect(after.body.seq).to.equal(snapshot.seq);
    const trades = await http(k.api.url, "GET", "/v1/markets/1/trades");
    expect(trades.body.trades).to.deep.equal([]);
    feed.close();
  });
});
