/**
 * Issue 15: a shard leader's CPU an order. Each accepted order cost its store six statements: two
 * reads of its status (before the signature, then in its account's turn), its insert, a raise of
 * its market's next sequence number, and a savepoint with its release around its writes. Now the
 * raise is held to the group commit (once a group, the highest), a call of the group commit takes
 * no savepoint, and the second status read is made only when an order under the same hash was
 * recorded since the first (`RecentRecords`): two statements an order, and one raise a group. Then
 * the first status read went too: an order whose nonce is above every nonce the store holds of its
 * maker is not stored (`HighestNonces`, in memory): one statement an order. The list below is the
 * whole of it, so that a statement added to the path shows here.
 *
 *   alice and bob post 5 bids each at once  ──▶  per order: 1 insert (rising nonces: no status read)
 *                                               per group commit: 1 raise of market 1's sequence
 *   the same order twice at once             ──▶  the second refused DUPLICATE_ORDER (read again)
 *
 * A cancel-all read each order's row twice before its update (the account's live rows, then the
 * row again in `cancelOrder`); the engine now cancels the row it just read in one write
 * (`cancelIfResting`):
 *
 *   bob's resting bids, cancelled all at once ──▶  per order: 1 live read, 1 update, 1 read for the feed
 */
import { expect } from "chai";
import { signOrder } from "@crossbook/sdk";
import { traceSql } from "../support";
import { newTrader, orderOf, startKeeper, type Keeper, type Trader } from "../api/support";

const STATUS = "SELECT status FROM orders WHERE hash = ?";
const kind = (sql: string) =>
  sql === STATUS
    ? "status read"
    : /^INSERT INTO orders\b/.test(sql)
      ? "order insert"
      : /^INSERT INTO meta\b/.test(sql)
        ? "raise"
        : sql;

describe("regression (issue 15): the working copy's statements for an accepted post-only order and a cancel-all", function () {
  this.timeout(120_000);
  let tracer: ReturnType<typeof traceSql>;
  let k: Keeper;
  let traders: Trader[];

  before(async () => {
    tracer = traceSql(); // before the store opens: its statements are prepared once
    k = await startKeeper();
    traders = [await newTrader(k.env), await newTrader(k.env)];
  });

  after(async () => {
    tracer.stop();
    await k?.close();
  });

  it("costs one insert an order, no status read, one raise a group commit, and no savepoint", async () => {
    const sign = async (trader: Trader, i: number) => {
      const order = orderOf(trader, { isBuy: true, priceTicks: 190_000n - BigInt(i), lots: 2n });
      return { order, signature: await signOrder({ signer: trader.account, order, domain: k.env.sdkDomain }) };
    };
    for (const trader of traders) await k.engine.submit(await sign(trader, 0)); // the chain's facts read once
    const burst = await Promise.all(traders.flatMap((trader) => [1, 2, 3, 4, 5].map((i) => sign(trader, i))));
    tracer.start();
    const results = await Promise.all(burst.map((signed) => k.engine.submit(signed)));
    tracer.trace.recording = false;
    expect(results.map((r) => r.ok)).to.deep.equal(burst.map(() => true));
    const counts: Record<string, number> = {};
    for (const { sql } of tracer.trace.statements) counts[kind(sql)] = (counts[kind(sql)] ?? 0) + 1;
    const n = burst.length;
    expect(counts).to.deep.equal({ "order insert": n, raise: tracer.trace.commits });
    expect(tracer.trace.commits).to.be.within(1, n);
    expect(tracer.trace.savepoints).to.equal(0);
  });

  it("cancels all of an account's orders with one update each and no read of a row before it", async () => {
    const bob = traders[1];
    const resting = k.engine.openOrderCount(bob.account.address);
    expect(resting).to.be.greaterThan(0);
    k.store.liveOrdersOf(bob.account.address); // the store's live sets, read once at their first use
    tracer.start();
    const cancelled = await k.engine.cancelAll(bob.account.address);
    tracer.trace.recording = false;
    expect(cancelled).to.have.length(resting);
    const counts: Record<string, number> = {};
    for (const { sql } of tracer.trace.statements) {
      const what = /^SELECT \* FROM orders WHERE hash = \? AND status IN/.test(sql)
        ? "live read"
        : /^SELECT \* FROM orders WHERE hash = \?$/.test(sql)
          ? "row read"
          : /^UPDATE orders SET status = 'cancelled'/.test(sql)
            ? "cancel"
            : sql;
      counts[what] = (counts[what] ?? 0) + 1;
    }
    // The row read is the feed's order update, after the cancel.
    expect(counts).to.deep.equal({ "live read": resting, cancel: resting, "row read": resting });
  });

  it("still refuses the second of the same order sent twice at once, reading its status again", async () => {
    const order = orderOf(traders[0], { isBuy: true, priceTicks: 180_000n, lots: 1n });
    const signature = await signOrder({ signer: traders[0].account, order, domain: k.env.sdkDomain });
    const [first, second] = await Promise.all([
      k.engine.submit({ order, signature }),
      k.engine.submit({ order, signature }),
    ]);
    expect(first).to.include({ ok: true });
    expect(second).to.include({ ok: false, code: "DUPLICATE_ORDER" });
  });
});
