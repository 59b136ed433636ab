/**
 * Issue 13, finding 9, on PostgreSQL: the feed's orders snapshot read the store's working copy,
 * which holds a commit from its local COMMIT on, a flush before the engine publishes it. A maker
 * that subscribed in that window got its order already filled in the snapshot (numbered `seq`), and
 * then the same fill again as message `seq + 1`; and had the flush been refused, a fill that never
 * happened. Now the snapshot is read at once but sent only once the engine has published every
 * commit it holds, and the channel's messages wait for it.
 *
 *   alice's ask rests; the next flush is held; bob's bid takes 4 of its 10 lots (in the working copy)
 *     → alice subscribes to her orders: `subscribed` comes, the snapshot does not (a book snapshot
 *       asked after it comes first)
 *     → the flush lands: the snapshot shows 4 lots filled, and the channel's next message is the
 *       next change (bob takes the other 6: 10 filled, seq + 1), not the first fill again
 *   and when a step-down undoes the commit the snapshot waited for, the snapshot is read again
 */
import { expect } from "chai";
import type { PostgresDatabase } from "../../../keeper/src/store";
import { askAndTaker, FeedClient, feedLogin } from "../api/support";
import { keeperWithHeldFlushes, takeWithFlushHeld } from "./heldFlush";

describe("regression (issue 13, finding 9): the orders snapshot never shows a change its channel has not published (postgres)", function () {
  this.timeout(60_000);
  const suite = keeperWithHeldFlushes();

  it("sends the snapshot of a fill committed in the working copy only once it is published, and the fill once", async () => {
    const k = suite.keeper;
    const { maker: alice, ask, take } = await askAndTaker(k);
    const feed = (suite.feed = await FeedClient.open(k.api.wsUrl));
    await feedLogin(feed, k, alice);
    const { held, taking } = await takeWithFlushHeld(suite, () => take(4n));

    feed.send({ op: "subscribe", channel: "orders" });
    await feed.next((m) => m.type === "subscribed" && m.channel === "orders");
    // The feed answers a connection's messages in order: a snapshot sent at once would come first.
    feed.send({ op: "subscribe", channel: "book", marketId: "1" });
    const first = await feed.next((m) => m.type === "snapshot");
    expect(first.channel).to.equal("book");

    held.release();
    expect((await taking).status).to.equal(201);
    const snapshot = await feed.next((m) => m.type === "snapshot" && m.channel === "orders");
    expect(filledLotsOf(snapshot)).to.deep.equal([[ask.hash, "4"]]);

    expect((await take(6n)).status).to.equal(201); // the rest: nothing of alice's rests for the next test
    const next = await feed.next((m) => m.type === "order");
    expect([next.seq, next.update.hash, next.update.filledLots]).to.deep.equal([snapshot.seq + 1, ask.hash, "10"]);
  });

  it("reads the snapshot again when a step-down undid the commit it waited for: the fill that never was is not shown", async () => {
    const k = suite.keeper;
    const { maker: carol, ask, take } = await askAndTaker(k);
    suite.feed?.close();
    const feed = (suite.feed = await FeedClient.open(k.api.wsUrl));
    await feedLogin(feed, k, carol);
    const { held, taking } = await takeWithFlushHeld(suite, () => take(4n));
    feed.send({ op: "subscribe", channel: "orders" });
    await feed.next((m) => m.type === "subscribed" && m.channel === "orders");

    // The leader steps down and its flush is refused (as the fence refuses a deposed leader's).
    k.engine.demote();
    held.refuse(new Error("crossbook fenced: term 2 no longer leads"));
    expect((await taking).status).to.equal(503);
    await (k.store.database as PostgresDatabase).resync();
    k.engine.refollow();
    const snapshot = await feed.next((m) => m.type === "snapshot" && m.channel === "orders");
    expect(filledLotsOf(snapshot)).to.deep.equal([[ask.hash, "0"]]);
  });
});

/** An orders snapshot's orders as `[hash, filledLots]`. */
const filledLotsOf = (snapshot: Record<string, unknown>) =>
  (snapshot.orders as { hash: string; filledLots: string }[]).map((o) => [o.hash, o.filledLots]);
