/**
 * Found measuring a shard at saturation (`bench:shard`, a leader that stepped down under load): a
 * write let in while the keeper led, and reaching the engine after it stepped down, was answered
 * 500 INTERNAL. The engine refused it (it follows now: the change was not made), but with an error
 * the API did not know, so a gateway or a client could not tell to go to the new leader; an order
 * in the same window was refused `STOPPED`, which a gateway does not send on either. Both are
 * `503 NOT_LEADER` now (`Retry-After: 1`), over HTTP and on the feed.
 *
 *   alice's ask rests; the engine steps down (`demote`, as a lost lease does)
 *     → her next order, her cancel-all and her cancel answer 503 NOT_LEADER, and so does her cancel
 *       on the feed; the ask still rests in the store, and the order was not stored
 *   bob's ask rests; his cancel-all's commit is refused as the keeper steps down (a flush the lease
 *   no longer covers, as bench:shard saw for a thousand of them) → 503 NOT_LEADER, not 500
 */
import { expect } from "chai";
import {
  askAndTaker,
  cancelAllBody,
  cancelBody,
  FeedClient,
  feedLogin,
  http,
  orderOf,
  refuseCommits,
  signedBody,
  startKeeper,
  type Keeper,
} from "../api/support";

describe("regression: a write that reaches the engine after a step-down is refused NOT_LEADER, not INTERNAL", function () {
  let k: Keeper;
  let feed: FeedClient | undefined;
  beforeEach(async () => {
    k = await startKeeper(); // each test steps its keeper down
  });
  afterEach(async () => {
    feed?.close();
    await k?.close().catch(() => undefined);
  });

  it("answers 503 NOT_LEADER over HTTP and on the feed, and changes nothing", async () => {
    const { maker: alice, ask } = await askAndTaker(k);
    feed = await FeedClient.open(k.api.wsUrl);
    await feedLogin(feed, k, alice);

    k.engine.demote(); // this keeper's API has no role: it lets every write in, as a leader's does

    const order = await http(
      k.api.url,
      "POST",
      "/v1/orders",
      await signedBody(k, alice, orderOf(alice, { isBuy: false, priceTicks: 200_001n, lots: 3n })),
    );
    const all = await http(k.api.url, "POST", "/v1/cancels/all", await cancelAllBody(k, alice));
    const one = await http(k.api.url, "POST", "/v1/cancels", await cancelBody(k, alice, [ask.hash]));
    feed.send({ op: "cancel", id: "c1", ...(await cancelBody(k, alice, [ask.hash])) });
    const onFeed = await feed.next((m) => m.type === "result" && m.id === "c1");
    expect(order.headers.get("retry-after")).to.equal("1");
    expect([
      [order.status, order.body.error?.code],
      [all.status, all.body.error?.code],
      [one.status, one.body.error?.code],
      [onFeed.status, onFeed.body.error?.code],
    ]).to.deep.equal([
      [503, "NOT_LEADER"],
      [503, "NOT_LEADER"],
      [503, "NOT_LEADER"],
      [503, "NOT_LEADER"],
    ]);
    expect(k.store.getOrder(ask.hash)?.status).to.equal("open");
    expect(k.store.ordersOf(alice.address)).to.have.length(1);
  });

  it("answers a cancel-all whose commit was refused as the keeper stepped down 503 NOT_LEADER, not INTERNAL", async () => {
    const { maker: bob, ask } = await askAndTaker(k);
    // The keeper steps down as the cancel-all's group commits, and the commit is refused (as a
    // flush that the lease no longer covers is, or as PostgreSQL's fence refuses a deposed leader's).
    const restore = refuseCommits(k, () => {
      k.engine.demote();
      throw new Error("the lease of term 1 could lapse: this keeper stepped down; the commit was not sent");
    });
    const all = await http(k.api.url, "POST", "/v1/cancels/all", await cancelAllBody(k, bob));
    restore();
    expect([all.status, all.body.error?.code]).to.deep.equal([503, "NOT_LEADER"]);
    expect(k.store.getOrder(ask.hash)?.status).to.equal("open");
  });
});
