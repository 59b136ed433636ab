/**
 * Issue 15: a shard leader's CPU an order. After placing an order, the engine read it back from the
 * store (the whole row) to publish its `accepted` update and to answer with its state, though for an
 * order that rested untouched — no fill, no self-trade — that state is what it had just written:
 * open, nothing filled. Now only an order that the placement changed is read back.
 *
 *   alice posts a bid that rests untouched   ──▶  answered and published `open`, no read of its row
 *   bob's ask fills it                        ──▶  both rows read, as before (their fills changed them)
 */
import { expect } from "chai";
import { hashOrder, signOrder, type Order } from "@crossbook/sdk";
import type { OrderUpdate } from "../../../keeper/src/engine";
import { traceSql } from "../support";
import { newTrader, orderOf, startKeeper, type Keeper, type Trader } from "../api/support";

const ORDER_ROW = "SELECT * FROM orders WHERE hash = ?";

describe("regression (issue 15): an order accepted untouched is not read back", function () {
  this.timeout(120_000);
  let tracer: ReturnType<typeof traceSql>;
  let k: Keeper;
  let alice: Trader;
  let bob: Trader;

  before(async () => {
    tracer = traceSql(); // before the store opens: its statements are prepared once
    k = await startKeeper();
    alice = await newTrader(k.env);
    bob = await newTrader(k.env);
  });

  after(async () => {
    tracer.stop();
    await k?.close();
  });

  const submit = async (trader: Trader, order: Order) => {
    const signature = await signOrder({ signer: trader.account, order, domain: k.env.sdkDomain });
    return k.engine.submit({ order, signature });
  };
  const rowReads = () => tracer.trace.statements.filter((s) => s.sql === ORDER_ROW).length;

  it("answers and publishes an order that rests untouched without reading its row, and one that fills as before", async () => {
    const updates: OrderUpdate[] = [];
    k.engine.on("order", (u) => updates.push(u));
    const bid = orderOf(alice, { isBuy: true, priceTicks: 190_000n, lots: 2n });
    await submit(alice, bid); // the chain's facts read once (the cache warm), the first order's own reads done
    const second = orderOf(alice, { isBuy: true, priceTicks: 189_000n, lots: 3n });
    const hash = hashOrder({ order: second, domain: k.env.sdkDomain });
    tracer.start();
    const result = await submit(alice, second);
    tracer.trace.recording = false;
    expect(result).to.deep.include({ ok: true, hash, status: "open", filledLots: 0n, remainingLots: 3n, trades: [] });
    expect(rowReads()).to.equal(0);
    expect(updates.find((u) => u.hash === hash)).to.deep.include({
      account: alice.address,
      marketId: 1n,
      event: "accepted",
      status: "open",
      filledLots: 0n,
      remainingLots: 3n,
    });
    expect(k.store.getOrder(hash)).to.deep.include({ status: "open", filledLots: 0n, remainingLots: 3n });

    tracer.start();
    const ask = orderOf(bob, { isBuy: false, priceTicks: 190_000n, lots: 1n });
    expect(await submit(bob, ask)).to.deep.include({ ok: true, status: "filled", filledLots: 1n });
    tracer.trace.recording = false;
    expect(rowReads()).to.be.greaterThan(0);
  });
});
