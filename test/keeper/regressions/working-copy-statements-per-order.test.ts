/**
 * Issue 15: a shard leader's CPU an order. Each accepted order cost its store six statements: two
 * reads of its status (before the signature, then in its account's turn), its insert, a raise of
 * its market's next sequence number, and a savepoint with its release around its writes. Now the
 * raise is held to the group commit (once a group, the highest) and a call of the group commit
 * takes no savepoint: four, three of them the order's own. The list below is the whole of it, so
 * that a statement added to the path shows here.
 *
 *   alice and bob post 5 bids each at once  ──▶  per order: 2 status reads, 1 insert
 *                                               per group commit: 1 raise of market 1's sequence
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

describe("regression (issue 15): the working copy's statements for an accepted post-only order", function () {
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

  it("costs two status reads and one insert an order, one raise a group commit, and no savepoint", async () => {
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
    expect(counts).to.deep.equal({ "status read": 2 * n, "order insert": n, raise: tracer.trace.commits });
    expect(tracer.trace.commits).to.be.within(1, n);
    expect(tracer.trace.savepoints).to.equal(0);
  });
});
