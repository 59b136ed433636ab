/**
 * Issue 13, finding 9, and issue 15's snapshot-plus-sequence guarantee, on PostgreSQL: the feed's
 * trades and fills snapshots read the store's working copy, which holds a commit from its local
 * COMMIT on, a flush before the engine publishes it. A client that subscribed in that window got
 * the new fill in its snapshot (numbered `seq`) and then again as message `seq + 1`: a trade shown
 * twice, and a snapshot ahead of its number. Now a snapshot holds only fills already published.
 *
 *   alice's ask rests; the next flush is held; bob's bid takes 4 lots (committed in the working copy)
 *     → a client subscribes to the trades and to bob's fills: the snapshots hold no fill, nor do
 *       GET /v1/markets/1/trades and GET /v1/accounts/{bob}/fills
 *     → the flush lands: the fill comes once, as message seq + 1 of each channel
 */
import { expect } from "chai";
import { askAndTaker, bearer, FeedClient, feedLogin, http, login } from "../api/support";
import { keeperWithHeldFlushes, takeWithFlushHeld } from "./heldFlush";

describe("regression (issue 13, finding 9): a feed snapshot never holds a fill its channel has not published (postgres)", function () {
  this.timeout(60_000);
  const suite = keeperWithHeldFlushes();

  it("sends a fill committed in the working copy, not yet in PostgreSQL, once: after the snapshot", async () => {
    const k = suite.keeper;
    const { taker: bob, take } = await askAndTaker(k);
    const { held, taking } = await takeWithFlushHeld(suite, () => take(4n));

    const feed = (suite.feed = await FeedClient.open(k.api.wsUrl));
    feed.send({ op: "subscribe", channel: "trades", marketId: "1" });
    const trades = await feed.next((m) => m.type === "snapshot" && m.channel === "trades");
    await feedLogin(feed, k, bob);
    feed.send({ op: "subscribe", channel: "fills" });
    const fills = await feed.next((m) => m.type === "snapshot" && m.channel === "fills");
    expect(trades.trades).to.deep.equal([]);
    expect(fills.fills).to.deep.equal([]);
    // The same pages over HTTP, as the published book is.
    const token = await login(k, bob);
    const tradesPage = await http(k.api.url, "GET", "/v1/markets/1/trades");
    const fillsPage = await http(k.api.url, "GET", `/v1/accounts/${bob.address}/fills`, undefined, bearer(token));
    expect([tradesPage.status, tradesPage.body.trades]).to.deep.equal([200, []]);
    expect([fillsPage.status, fillsPage.body.fills]).to.deep.equal([200, []]);

    held.release();
    expect((await taking).status).to.equal(201);
    const trade = await feed.next((m) => m.type === "trade");
    const fill = await feed.next((m) => m.type === "fill");
    expect([trade.seq, trade.trade.status, trade.trade.lots]).to.deep.equal([trades.seq + 1, "matched", "4"]);
    expect([fill.seq, fill.fill.status, fill.fill.lots]).to.deep.equal([fills.seq + 1, "matched", "4"]);
  });
});
