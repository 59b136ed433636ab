import { expect } from "chai";
import {
  FILL_OR_KILL,
  IMMEDIATE_OR_CANCEL,
  MAX_BOOK_INTEGER,
  MAX_UINT64,
  OrderBook,
  POST_ONLY,
  type NewOrder,
  type RestingOrder,
} from "../../../keeper/src/book";

const ALICE = "0x00000000000000000000000000000000000a11ce";
const BOB = "0x0000000000000000000000000000000000000b0b";
const CAROL = "0x00000000000000000000000000000000000ca201";

let counter = 0;
/** A plain limit order; the id is fresh unless given. */
function order(fields: Partial<NewOrder> & Pick<NewOrder, "isBuy" | "priceTicks" | "lots">): NewOrder {
  return { id: `order-${counter++}`, account: ALICE, flags: 0, ...fields };
}
const bid = (priceTicks: bigint, lots: bigint, fields: Partial<NewOrder> = {}) =>
  order({ isBuy: true, priceTicks, lots, ...fields });
const ask = (priceTicks: bigint, lots: bigint, fields: Partial<NewOrder> = {}) =>
  order({ isBuy: false, priceTicks, lots, ...fields });

/** A book holding the given orders, each placed in turn (and expected to rest). */
function bookWith(...orders: NewOrder[]): OrderBook {
  const book = new OrderBook();
  for (const o of orders) expect(book.place(o).rested, `${o.id} rests`).to.equal(true);
  return book;
}

/** Every resting order of one side, best first, as [id, lots]. */
function sideOf(book: OrderBook, isBuy: boolean): [string, bigint][] {
  const levels = isBuy ? book.depth().bids : book.depth().asks;
  return levels.flatMap((l) => book.queue(isBuy, l.priceTicks).map((o): [string, bigint] => [o.id, o.lots]));
}

describe("OrderBook", function () {
  describe("place", function () {
    it("rests a limit order that crosses nothing and reports its new level", function () {
      const book = new OrderBook();
      const o = bid(100n, 5n);
      const result = book.place(o);
      expect(result).to.deep.equal({
        seq: 0,
        fills: [],
        selfTradeCancelled: [],
        rested: true,
        remainingLots: 5n,
        levels: [{ isBuy: true, priceTicks: 100n, lots: 5n, orders: 1 }],
      });
      expect(book.get(o.id)).to.deep.equal({ ...o, seq: 0 });
      expect(book.bestBid()).to.equal(100n);
      expect(book.bestAsk()).to.equal(undefined);
    });

    it("fills a crossing order at the resting order's price, not at the taker's limit", function () {
      const maker = ask(100n, 5n, { account: BOB });
      const book = bookWith(maker);
      const taker = bid(105n, 5n);
      const result = book.place(taker);
      expect(result.fills).to.deep.equal([
        { makerId: maker.id, takerId: taker.id, priceTicks: 100n, lots: 5n, makerRemainingLots: 0n },
      ]);
      expect(result.rested).to.equal(false);
      expect(result.remainingLots).to.equal(0n);
      expect(book.size).to.equal(0);
    });

    it("fills the best price first, then the earliest order at one price", function () {
      const late = ask(101n, 1n, { account: BOB });
      const early = ask(101n, 1n, { account: CAROL });
      const book = new OrderBook();
      const worse = ask(102n, 1n, { account: BOB });
      book.place(worse);
      book.place(early);
      book.place(late);
      const best = ask(100n, 1n, { account: CAROL });
      book.place(best);
      const result = book.place(bid(102n, 4n));
      expect(result.fills.map((f) => f.makerId)).to.deep.equal([best.id, early.id, late.id, worse.id]);
      expect(result.fills.map((f) => f.priceTicks)).to.deep.equal([100n, 101n, 101n, 102n]);
    });

    it("fills a resting order partly and leaves the rest at the head of its level", function () {
      const first = ask(100n, 10n, { account: BOB });
      const second = ask(100n, 3n, { account: CAROL });
      const book = bookWith(first, second);
      const result = book.place(bid(100n, 4n));
      expect(result.fills).to.have.length(1);
      expect(result.fills[0]).to.include({ makerId: first.id, lots: 4n, makerRemainingLots: 6n });
      expect(sideOf(book, false)).to.deep.equal([
        [first.id, 6n],
        [second.id, 3n],
      ]);
      expect(result.levels).to.deep.equal([{ isBuy: false, priceTicks: 100n, lots: 9n, orders: 2 }]);
    });

    it("sweeps several levels and rests the remainder at the taker's own limit", function () {
      const book = bookWith(ask(100n, 1n, { account: BOB }), ask(101n, 2n, { account: BOB }), ask(103n, 5n));
      const taker = bid(102n, 5n, { account: CAROL });
      const result = book.place(taker);
      expect(result.fills.map((f) => [f.priceTicks, f.lots])).to.deep.equal([
        [100n, 1n],
        [101n, 2n],
      ]);
      expect(result.rested).to.equal(true);
      expect(result.remainingLots).to.equal(2n);
      expect(book.get(taker.id)?.lots).to.equal(2n);
      expect(book.bestBid()).to.equal(102n);
      expect(book.bestAsk()).to.equal(103n);
    });

    it("reports each level it touched once, with its final total, and 0 for a level it emptied", function () {
      const book = bookWith(
        ask(100n, 1n, { account: BOB }),
        ask(100n, 1n, { account: CAROL }),
        ask(101n, 4n, { account: BOB }),
        ask(101n, 4n, { account: CAROL }),
      );
      const result = book.place(bid(101n, 5n));
      expect(result.levels).to.deep.equal([
        { isBuy: false, priceTicks: 100n, lots: 0n, orders: 0 },
        { isBuy: false, priceTicks: 101n, lots: 5n, orders: 2 },
      ]);
    });

    it("keeps prices and sizes exact up to 2^53-1, the most it holds", function () {
      const MAX = MAX_BOOK_INTEGER;
      const book = bookWith(ask(MAX, MAX, { account: BOB }), ask(MAX - 1n, 1n, { account: BOB }));
      const result = book.place(bid(MAX, MAX));
      expect(result.fills.map((f) => [f.priceTicks, f.lots])).to.deep.equal([
        [MAX - 1n, 1n],
        [MAX, MAX - 1n],
      ]);
      expect(result.fills[1].makerRemainingLots).to.equal(1n);
      expect(book.depth().asks).to.deep.equal([{ priceTicks: MAX, lots: 1n, orders: 1 }]);
      expect(book.get(result.fills[1].makerId)?.lots).to.equal(1n);
    });

    it("reports sizes on both sides of 16,384, where sizes stop coming from its table of small bigints", function () {
      const maker = ask(100n, 16_385n, { account: BOB });
      const book = bookWith(maker, ask(100n, 16_383n, { account: CAROL }));
      const result = book.place(bid(100n, 16_384n));
      expect(result.fills).to.deep.equal([
        {
          makerId: maker.id,
          takerId: result.fills[0].takerId,
          priceTicks: 100n,
          lots: 16_384n,
          makerRemainingLots: 1n,
        },
      ]);
      expect(result.levels).to.deep.equal([{ isBuy: false, priceTicks: 100n, lots: 16_384n, orders: 2 }]);
      expect(book.reduce(maker.id, 1n)?.levels).to.deep.equal([
        { isBuy: false, priceTicks: 100n, lots: 16_383n, orders: 1 },
      ]);
      const big = bid(99n, 16_383n);
      expect(book.place(big).levels).to.deep.equal([{ isBuy: true, priceTicks: 99n, lots: 16_383n, orders: 1 }]);
      expect(book.increase(big.id, 2n)?.order.lots).to.equal(16_385n);
      expect(book.depth().bids).to.deep.equal([{ priceTicks: 99n, lots: 16_385n, orders: 1 }]);
    });

    it("gives accepted orders increasing seq, and rejected ones none", function () {
      const book = new OrderBook();
      expect(book.place(bid(100n, 1n)).seq).to.equal(0);
      expect(book.place(bid(100n, 0n)).seq).to.equal(-1);
      expect(book.place(ask(200n, 1n, { flags: IMMEDIATE_OR_CANCEL })).seq).to.equal(1);
      expect(book.place(bid(99n, 1n)).seq).to.equal(2);
      expect(book.nextSeq).to.equal(3);
    });
  });

  it("gives empty result arrays that no caller can fill for another, and fresh ones when there is something to report", function () {
    const book = bookWith(ask(100n, 5n, { account: BOB }), bid(90n, 1n, { account: CAROL }));
    const passive = book.place(bid(95n, 1n));
    const empties: readonly unknown[][] = [passive.fills, passive.selfTradeCancelled];
    expect(() => (passive.fills as unknown[]).push(1)).to.throw(TypeError);
    const rejected = book.place(bid(101n, 1n, { flags: POST_ONLY }));
    const allEmpties = [...empties, rejected.fills, rejected.levels];
    for (const empty of allEmpties) {
      expect(empty).to.deep.equal([]);
      expect(Object.isFrozen(empty)).to.equal(true);
    }
    const taker = book.place(bid(100n, 2n));
    expect(Object.isFrozen(taker.fills)).to.equal(false);
    expect(taker.fills.map((f) => f.lots)).to.deep.equal([2n]);
    expect(Object.isFrozen(taker.levels)).to.equal(false);
  });

  describe("results: what the caller must read before its next call, and what it may keep", function () {
    it("overwrites the result of an accepted place, its fills and the fills' objects at the next place", function () {
      const book = bookWith(ask(100n, 2n, { account: BOB }), ask(101n, 3n, { account: CAROL }));
      const first = book.place(bid(100n, 1n, { id: "t1" }));
      const firstFill = first.fills[0];
      expect(first.fills.map((f) => [f.takerId, f.lots])).to.deep.equal([["t1", 1n]]);
      const second = book.place(bid(101n, 4n, { id: "t2" }));
      // The same objects, now saying what the second order did: a caller that kept the first has lost it.
      expect(second).to.equal(first);
      expect(second.fills[0]).to.equal(firstFill);
      expect(first.fills.map((f) => [f.makerId, f.takerId, f.lots])).to.deep.equal([
        ["order-" + (counter - 4), "t2", 1n],
        ["order-" + (counter - 3), "t2", 3n],
      ]);
      expect(book.place(bid(90n, 1n)).fills).to.deep.equal([]);
      expect(first.seq).to.equal(4);
    });

    it("overwrites the result of cancel, reduce and increase, and its order, at the next such call", function () {
      const a = bid(100n, 5n, { id: "a" });
      const b = bid(99n, 7n, { id: "b" });
      const book = bookWith(a, b);
      const reduced = book.reduce("a", 2n) as NonNullable<ReturnType<OrderBook["reduce"]>>;
      const order = reduced.order;
      expect(reduced.order).to.deep.equal({ ...a, lots: 3n, seq: 0 });
      const cancelled = book.cancel("b");
      expect(cancelled).to.equal(reduced);
      expect(cancelled?.order).to.equal(order);
      expect(reduced).to.deep.equal({
        order: { ...b, seq: 1 },
        removed: true,
        levels: [{ isBuy: true, priceTicks: 99n, lots: 0n, orders: 0 }],
      });
    });

    it("gives fresh level changes, self-trade cancels and rejections, which a caller may keep", function () {
      const mine = ask(100n, 2n, { id: "mine" });
      const book = bookWith(mine, ask(100n, 4n, { account: BOB }));
      const cancelled = book.reduce("mine", 1n) as NonNullable<ReturnType<OrderBook["reduce"]>>;
      const kept = cancelled.levels;
      const taker = book.place(bid(100n, 2n, { id: "taker" }));
      const keptLevels = taker.levels;
      const keptSelf = taker.selfTradeCancelled;
      const rejected = book.place(bid(90n, 0n));
      book.place(ask(100n, 3n, { account: CAROL }));
      book.cancel("nothing");
      book.increase(book.ordersOf(CAROL)[0].id, 1n);
      expect(kept).to.deep.equal([{ isBuy: false, priceTicks: 100n, lots: 5n, orders: 2 }]);
      expect(keptSelf).to.deep.equal([{ ...mine, lots: 1n, seq: 0 }]);
      expect(keptLevels).to.deep.equal([{ isBuy: false, priceTicks: 100n, lots: 2n, orders: 1 }]);
      expect(rejected.rejected).to.equal("invalid-lots");
      expect(book.place(bid(90n, 0n))).to.not.equal(rejected);
    });
  });

  describe("self-trade prevention", function () {
    it("never matches an account with itself: it cancels the resting order and matches behind it", function () {
      const mine = ask(100n, 3n, { account: ALICE });
      const theirs = ask(100n, 3n, { account: BOB });
      const book = bookWith(mine, theirs);
      const taker = bid(100n, 2n, { account: ALICE });
      const result = book.place(taker);
      expect(result.selfTradeCancelled).to.deep.equal([{ ...mine, seq: 0 }]);
      expect(result.fills).to.deep.equal([
        { makerId: theirs.id, takerId: taker.id, priceTicks: 100n, lots: 2n, makerRemainingLots: 1n },
      ]);
      expect(book.get(mine.id)).to.equal(undefined);
      expect(book.ordersOf(ALICE)).to.deep.equal([]);
      expect(result.levels).to.deep.equal([{ isBuy: false, priceTicks: 100n, lots: 1n, orders: 1 }]);
    });

    it("cancels every order of the taker's account that it reaches, on every level it crosses", function () {
      const a1 = ask(100n, 1n, { account: ALICE });
      const a2 = ask(101n, 1n, { account: ALICE });
      const b1 = ask(101n, 1n, { account: BOB });
      const book = bookWith(a1, a2, b1);
      const result = book.place(bid(101n, 5n, { account: ALICE }));
      expect(result.selfTradeCancelled.map((o) => o.id)).to.deep.equal([a1.id, a2.id]);
      expect(result.fills.map((f) => f.makerId)).to.deep.equal([b1.id]);
      expect(result.rested).to.equal(true);
      expect(result.remainingLots).to.equal(4n);
      expect(book.bestAsk()).to.equal(undefined);
    });

    it("leaves the taker's own orders alone beyond its limit or once it is filled", function () {
      const theirs = ask(100n, 2n, { account: BOB });
      const mineBehind = ask(100n, 1n, { account: ALICE });
      const mineAbove = ask(102n, 1n, { account: ALICE });
      const book = bookWith(theirs, mineBehind, mineAbove);
      const result = book.place(bid(101n, 2n, { account: ALICE }));
      expect(result.selfTradeCancelled).to.deep.equal([]);
      expect(result.fills.map((f) => f.makerId)).to.deep.equal([theirs.id]);
      expect(book.ordersOf(ALICE).map((o) => o.id)).to.deep.equal([mineBehind.id, mineAbove.id]);
    });

    it("cancels the taker's own resting order even when nothing else is there to fill", function () {
      const mine = bid(100n, 4n, { account: ALICE });
      const book = bookWith(mine);
      const taker = ask(99n, 1n, { account: ALICE });
      const result = book.place(taker);
      expect(result.fills).to.deep.equal([]);
      expect(result.selfTradeCancelled.map((o) => o.id)).to.deep.equal([mine.id]);
      expect(result.rested).to.equal(true);
      expect(book.bestBid()).to.equal(undefined);
      expect(book.bestAsk()).to.equal(99n);
    });
  });

  describe("POST_ONLY", function () {
    it("rejects a post-only order that would cross, leaving the book unchanged", function () {
      const book = bookWith(ask(100n, 5n, { account: BOB }));
      const before = book.depth();
      const result = book.place(bid(100n, 1n, { flags: POST_ONLY }));
      expect(result).to.deep.include({
        rejected: "post-only-would-cross",
        fills: [],
        rested: false,
        remainingLots: 1n,
      });
      expect(book.depth()).to.deep.equal(before);
    });

    it("rejects a post-only order that would cross only its own account's order", function () {
      const book = bookWith(ask(100n, 5n, { account: ALICE }));
      const result = book.place(bid(100n, 1n, { account: ALICE, flags: POST_ONLY }));
      expect(result.rejected).to.equal("post-only-would-cross");
      expect(book.size).to.equal(1);
    });

    it("rests a post-only order that does not cross", function () {
      const book = bookWith(ask(100n, 5n, { account: BOB }));
      const o = bid(99n, 1n, { flags: POST_ONLY });
      expect(book.place(o).rested).to.equal(true);
      expect(book.get(o.id)?.flags).to.equal(POST_ONLY);
    });
  });

  describe("IMMEDIATE_OR_CANCEL", function () {
    it("drops the unfilled remainder of an immediate-or-cancel order", function () {
      const book = bookWith(ask(100n, 2n, { account: BOB }));
      const result = book.place(bid(100n, 5n, { flags: IMMEDIATE_OR_CANCEL }));
      expect(result.fills.map((f) => f.lots)).to.deep.equal([2n]);
      expect(result).to.deep.include({ rested: false, remainingLots: 3n });
      expect(book.size).to.equal(0);
      expect(result.levels).to.deep.equal([{ isBuy: false, priceTicks: 100n, lots: 0n, orders: 0 }]);
    });

    it("accepts an immediate-or-cancel order that fills nothing, and rests nothing", function () {
      const book = new OrderBook();
      const result = book.place(bid(100n, 5n, { flags: IMMEDIATE_OR_CANCEL }));
      expect(result).to.deep.equal({
        seq: 0,
        fills: [],
        selfTradeCancelled: [],
        rested: false,
        remainingLots: 5n,
        levels: [],
      });
      expect(book.size).to.equal(0);
    });
  });

  describe("FILL_OR_KILL", function () {
    it("fills a fill-or-kill order in full when the liquidity it crosses covers it", function () {
      const book = bookWith(ask(100n, 2n, { account: BOB }), ask(101n, 3n, { account: CAROL }), ask(102n, 9n));
      const result = book.place(bid(101n, 5n, { account: ALICE, flags: FILL_OR_KILL }));
      expect(result.rejected).to.equal(undefined);
      expect(result.fills.map((f) => f.lots)).to.deep.equal([2n, 3n]);
      expect(result).to.deep.include({ rested: false, remainingLots: 0n });
    });

    it("rejects a fill-or-kill order the book cannot fill in full, and changes nothing", function () {
      const book = bookWith(ask(100n, 2n, { account: BOB }), ask(101n, 2n, { account: CAROL }), ask(102n, 9n));
      const before = book.restingOrders();
      const result = book.place(bid(101n, 5n, { account: ALICE, flags: FILL_OR_KILL }));
      expect(result).to.deep.include({ rejected: "fill-or-kill-unfillable", fills: [], seq: -1, remainingLots: 5n });
      expect(book.restingOrders()).to.deep.equal(before);
    });

    it("does not count the taker's own orders as liquidity, and leaves them resting when it is rejected", function () {
      const mine = ask(100n, 4n, { account: ALICE });
      const book = bookWith(mine, ask(100n, 2n, { account: BOB }));
      const result = book.place(bid(100n, 3n, { account: ALICE, flags: FILL_OR_KILL }));
      expect(result.rejected).to.equal("fill-or-kill-unfillable");
      expect(book.get(mine.id)?.lots).to.equal(4n);
    });

    it("cancels the taker's own orders it reaches when it does fill", function () {
      const mine = ask(100n, 4n, { account: ALICE });
      const book = bookWith(mine, ask(100n, 2n, { account: BOB }));
      const result = book.place(bid(100n, 2n, { account: ALICE, flags: FILL_OR_KILL }));
      expect(result.fills.map((f) => f.lots)).to.deep.equal([2n]);
      expect(result.selfTradeCancelled.map((o) => o.id)).to.deep.equal([mine.id]);
      expect(book.size).to.equal(0);
    });

    it("treats IMMEDIATE_OR_CANCEL | FILL_OR_KILL as fill-or-kill", function () {
      const book = bookWith(ask(100n, 2n, { account: BOB }));
      const result = book.place(bid(100n, 3n, { flags: IMMEDIATE_OR_CANCEL | FILL_OR_KILL }));
      expect(result.rejected).to.equal("fill-or-kill-unfillable");
    });
  });

  describe("rejections", function () {
    it("rejects an id that is resting, but not one that has left the book", function () {
      const resting = bid(100n, 1n);
      const book = bookWith(resting);
      expect(book.place({ ...resting, priceTicks: 90n }).rejected).to.equal("duplicate-id");
      book.cancel(resting.id);
      expect(book.place({ ...resting, priceTicks: 90n }).rejected).to.equal(undefined);
    });

    it("rejects lots and prices outside 1 ..= 2^64-1", function () {
      const book = new OrderBook();
      expect(book.place(bid(100n, 0n)).rejected).to.equal("invalid-lots");
      expect(book.place(bid(100n, -1n)).rejected).to.equal("invalid-lots");
      expect(book.place(bid(100n, MAX_UINT64 + 1n)).rejected).to.equal("invalid-lots");
      expect(book.place(bid(0n, 1n)).rejected).to.equal("invalid-price");
      expect(book.place(bid(MAX_UINT64 + 1n, 1n)).rejected).to.equal("invalid-price");
      expect(book.size).to.equal(0);
    });

    it("refuses as too-large a uint64 above 2^53-1, and an order that would take its level past it", function () {
      const book = new OrderBook();
      expect(book.place(bid(100n, MAX_BOOK_INTEGER + 1n)).rejected).to.equal("too-large");
      expect(book.place(bid(100n, MAX_UINT64)).rejected).to.equal("too-large");
      expect(book.place(bid(MAX_BOOK_INTEGER + 1n, 1n)).rejected).to.equal("too-large");
      expect(book.place(bid(MAX_UINT64, 1n)).rejected).to.equal("too-large");
      expect(book.place(bid(100n, MAX_BOOK_INTEGER - 1n)).rested).to.equal(true);
      // The level's total must stay exact: 2^53-1 lots at most rest at one price on one side.
      expect(book.place(bid(100n, 2n)).rejected).to.equal("too-large");
      expect(book.place(bid(100n, 1n)).rested).to.equal(true);
      expect(book.place(bid(99n, 2n)).rested).to.equal(true);
      // An order that never rests does not join the level.
      expect(book.place(bid(100n, 2n, { flags: IMMEDIATE_OR_CANCEL })).rejected).to.equal(undefined);
      expect(() => book.increase(book.ordersOf(ALICE)[1].id, 1n)).to.throw(RangeError);
      expect(book.restore({ ...bid(100n, 1n), seq: 99 }).rejected).to.equal("too-large");
      expect(book.depth().bids).to.deep.equal([
        { priceTicks: 100n, lots: MAX_BOOK_INTEGER, orders: 2 },
        { priceTicks: 99n, lots: 2n, orders: 1 },
      ]);
    });

    it("rejects unknown flag bits and post-only combined with IOC or FOK", function () {
      const book = new OrderBook();
      for (const flags of [8, 16, 255, -1, 1.5, POST_ONLY | IMMEDIATE_OR_CANCEL, POST_ONLY | FILL_OR_KILL]) {
        expect(book.place(bid(100n, 1n, { flags })).rejected, `flags ${flags}`).to.equal("invalid-flags");
      }
      expect(book.size).to.equal(0);
    });
  });

  describe("cancel", function () {
    it("removes an order by id and returns it as it was", function () {
      const o = bid(100n, 3n);
      const book = bookWith(o, bid(100n, 1n));
      expect(book.cancel(o.id)).to.deep.equal({
        order: { ...o, seq: 0 },
        removed: true,
        levels: [{ isBuy: true, priceTicks: 100n, lots: 1n, orders: 1 }],
      });
      expect(book.get(o.id)).to.equal(undefined);
      expect(book.cancel(o.id)).to.equal(undefined);
    });

    it("returns undefined for an id the book does not hold", function () {
      expect(new OrderBook().cancel("nope")).to.equal(undefined);
    });

    it("removes the level of its last order and moves the best price", function () {
      const top = ask(100n, 1n);
      const book = bookWith(top, ask(105n, 1n));
      expect(book.cancel(top.id)?.levels).to.deep.equal([{ isBuy: false, priceTicks: 100n, lots: 0n, orders: 0 }]);
      expect(book.bestAsk()).to.equal(105n);
      expect(book.depth().asks).to.have.length(1);
    });
  });

  describe("reduce and increase", function () {
    it("reduce shrinks an order and keeps its time priority", function () {
      const first = ask(100n, 5n, { account: BOB });
      const second = ask(100n, 5n, { account: CAROL });
      const book = bookWith(first, second);
      const result = book.reduce(first.id, 3n);
      expect(result).to.deep.equal({
        order: { ...first, lots: 2n, seq: 0 },
        removed: false,
        levels: [{ isBuy: false, priceTicks: 100n, lots: 7n, orders: 2 }],
      });
      expect(book.place(bid(100n, 1n)).fills[0].makerId).to.equal(first.id);
    });

    it("reduce by the whole size or more removes the order", function () {
      const o = ask(100n, 5n);
      const book = bookWith(o);
      const result = book.reduce(o.id, 9n);
      expect(result?.removed).to.equal(true);
      expect(result?.order.lots).to.equal(5n);
      expect(book.size).to.equal(0);
      expect(book.bestAsk()).to.equal(undefined);
    });

    it("increase gives lots back and keeps time priority", function () {
      const first = ask(100n, 1n, { account: BOB });
      const second = ask(100n, 5n, { account: CAROL });
      const book = bookWith(first, second);
      expect(book.increase(first.id, 4n)?.levels).to.deep.equal([
        { isBuy: false, priceTicks: 100n, lots: 10n, orders: 2 },
      ]);
      const fills = book.place(bid(100n, 5n)).fills;
      expect(fills.map((f) => [f.makerId, f.lots])).to.deep.equal([[first.id, 5n]]);
    });

    it("return undefined for an unknown id and throw on a size below 1 or past 2^53-1", function () {
      const o = ask(100n, MAX_BOOK_INTEGER - 1n);
      const book = bookWith(o);
      expect(book.reduce("nope", 1n)).to.equal(undefined);
      expect(book.increase("nope", 1n)).to.equal(undefined);
      expect(() => book.reduce(o.id, 0n)).to.throw(RangeError);
      expect(() => book.increase(o.id, 0n)).to.throw(RangeError);
      expect(() => book.increase(o.id, 2n)).to.throw(RangeError);
      expect(() => book.increase(o.id, MAX_UINT64)).to.throw(RangeError);
      expect(book.increase(o.id, 1n)?.order.lots).to.equal(MAX_BOOK_INTEGER);
    });
  });

  describe("restore", function () {
    const resting = (fields: Partial<RestingOrder> & Pick<RestingOrder, "seq">): RestingOrder => ({
      ...ask(100n, 1n, { account: BOB }),
      ...fields,
    });

    it("inserts without matching, at the order's original time priority, even out of sequence", function () {
      const book = new OrderBook();
      const s5 = resting({ seq: 5 });
      const s9 = resting({ seq: 9 });
      const s2 = resting({ seq: 2 });
      const s7 = resting({ seq: 7 });
      for (const [i, o] of [s5, s9, s2, s7].entries()) {
        const levels = [{ isBuy: false, priceTicks: 100n, lots: BigInt(i + 1), orders: i + 1 }];
        expect(book.restore(o)).to.deep.equal({ levels });
      }
      expect(book.queue(false, 100n).map((o) => o.seq)).to.deep.equal([2, 5, 7, 9]);
      expect(book.nextSeq).to.equal(10);
      expect(book.place(bid(100n, 1n)).fills[0].makerId).to.equal(s2.id);
    });

    it("gives orders placed after a restore a later seq than every restored one", function () {
      const book = new OrderBook();
      book.restore(resting({ seq: 41 }));
      const late = ask(100n, 1n);
      expect(book.place(late).seq).to.equal(42);
      book.restore(resting({ seq: 3 }));
      expect(book.nextSeq).to.equal(43);
      expect(book.queue(false, 100n).map((o) => o.seq)).to.deep.equal([3, 41, 42]);
    });

    it("starts from the nextSeq it is given, so that a rebuilt book never gives a seq twice", function () {
      const book = new OrderBook({ nextSeq: 100 });
      book.restore(resting({ seq: 7 }));
      expect(book.place(bid(50n, 1n)).seq).to.equal(100);
      expect(() => new OrderBook({ nextSeq: -1 })).to.throw(RangeError);
      expect(() => new OrderBook({ nextSeq: 0.5 })).to.throw(RangeError);
    });

    it("puts back an order that a fill had taken out, ahead of later orders at its price", function () {
      // A fill is skipped on-chain after the maker left the book: its size comes back.
      const maker = ask(100n, 2n, { account: BOB });
      const later = ask(100n, 2n, { account: CAROL });
      const book = bookWith(maker, later);
      book.place(bid(100n, 2n));
      expect(book.restore({ ...maker, seq: 0 }).rejected).to.equal(undefined);
      expect(book.queue(false, 100n).map((o) => o.id)).to.deep.equal([maker.id, later.id]);
    });

    it("rejects an order that would cross, one that never rests, a taken seq, a bad seq and a duplicate id", function () {
      const book = bookWith(bid(99n, 1n));
      const o = resting({ seq: 1 });
      expect(book.restore({ ...o, priceTicks: 99n }).rejected).to.equal("would-cross");
      expect(book.restore({ ...o, flags: IMMEDIATE_OR_CANCEL }).rejected).to.equal("never-rests");
      expect(book.restore({ ...o, flags: FILL_OR_KILL }).rejected).to.equal("never-rests");
      expect(book.restore({ ...o, seq: -1 }).rejected).to.equal("invalid-seq");
      expect(book.restore({ ...o, seq: 1.5 }).rejected).to.equal("invalid-seq");
      expect(book.restore({ ...o, lots: 0n }).rejected).to.equal("invalid-lots");
      expect(book.restore(o).rejected).to.equal(undefined);
      expect(book.restore({ ...o, id: "other" }).rejected).to.equal("invalid-seq");
      expect(book.restore(o).rejected).to.equal("duplicate-id");
      expect(book.restore({ ...o, id: "post-only", seq: 2, flags: POST_ONLY }).rejected).to.equal(undefined);
      expect(book.size).to.equal(3);
    });

    it("rebuilds, from the resting orders in sequence, a book equal to the original", function () {
      const book = new OrderBook();
      const accounts = [ALICE, BOB, CAROL];
      for (let i = 0; i < 60; i++) {
        const isBuy = i % 3 !== 0;
        const flags = i % 7 === 0 ? POST_ONLY : i % 11 === 0 ? IMMEDIATE_OR_CANCEL : 0;
        book.place(
          order({
            isBuy,
            priceTicks: BigInt(95 + ((i * 7) % 11)),
            lots: BigInt(1 + (i % 5)),
            account: accounts[i % 3],
            flags,
          }),
        );
        if (i % 9 === 0) book.cancel(`order-${counter - 3}`);
      }
      expect(book.size).to.be.greaterThan(10);
      const rebuilt = new OrderBook();
      for (const o of book.restingOrders()) expect(rebuilt.restore(o).rejected).to.equal(undefined);
      expect(rebuilt.depth()).to.deep.equal(book.depth());
      expect(rebuilt.restingOrders()).to.deep.equal(book.restingOrders());
      for (const level of book.depth().bids) {
        expect(rebuilt.queue(true, level.priceTicks)).to.deep.equal(book.queue(true, level.priceTicks));
      }
      for (const level of book.depth().asks) {
        expect(rebuilt.queue(false, level.priceTicks)).to.deep.equal(book.queue(false, level.priceTicks));
      }
      // And it goes on matching the same way.
      const next = bid(120n, 30n, { account: "0xdddd" });
      expect(rebuilt.place(next)).to.deep.equal(book.place(next));
    });
  });

  describe("queries", function () {
    it("depth aggregates each side's levels, best first, and cuts at the top N", function () {
      const book = bookWith(
        bid(98n, 1n),
        bid(99n, 2n),
        bid(99n, 3n),
        bid(97n, 1n),
        ask(101n, 4n),
        ask(103n, 1n),
        ask(102n, 1n),
      );
      expect(book.depth(2)).to.deep.equal({
        bids: [
          { priceTicks: 99n, lots: 5n, orders: 2 },
          { priceTicks: 98n, lots: 1n, orders: 1 },
        ],
        asks: [
          { priceTicks: 101n, lots: 4n, orders: 1 },
          { priceTicks: 102n, lots: 1n, orders: 1 },
        ],
      });
      expect(book.depth().bids).to.have.length(3);
      expect(book.depth(0)).to.deep.equal({ bids: [], asks: [] });
    });

    it("lists an account's open orders earliest first", function () {
      const a1 = bid(90n, 1n, { account: ALICE });
      const b1 = bid(91n, 1n, { account: BOB });
      const a2 = ask(120n, 1n, { account: ALICE });
      const book = bookWith(a1, b1, a2);
      expect(book.ordersOf(ALICE).map((o) => o.id)).to.deep.equal([a1.id, a2.id]);
      book.cancel(a1.id);
      expect(book.ordersOf(ALICE).map((o) => o.id)).to.deep.equal([a2.id]);
      expect(book.ordersOf(CAROL)).to.deep.equal([]);
    });

    it("hands out copies: changing one does not change the book", function () {
      const o = bid(100n, 5n);
      const book = bookWith(o);
      const copy = book.get(o.id) as { lots: bigint };
      copy.lots = 1n;
      expect(book.get(o.id)?.lots).to.equal(5n);
      expect(book.depth().bids[0].lots).to.equal(5n);
    });

    it("gives the same output for the same input sequence", function () {
      const run = () => {
        const book = new OrderBook();
        const out: string[] = [];
        // Each result read at once: the book overwrites it at its next call.
        const read = (result: unknown) =>
          out.push(JSON.stringify(result, (_, v) => (typeof v === "bigint" ? `${v}n` : v)));
        for (let i = 0; i < 200; i++) {
          const isBuy = (i * 13) % 5 < 2;
          const account = [ALICE, BOB, CAROL][(i * 7) % 3];
          const flags = [0, 0, POST_ONLY, IMMEDIATE_OR_CANCEL, FILL_OR_KILL][i % 5];
          read(
            book.place({
              id: `d${i}`,
              account,
              isBuy,
              priceTicks: BigInt(95 + ((i * 31) % 10)),
              lots: BigInt(1 + (i % 4)),
              flags,
            }),
          );
          if (i % 6 === 0) read(book.cancel(`d${i - 4}`));
        }
        read(book.restingOrders());
        return out.join("\n");
      };
      expect(run()).to.equal(run());
    });
  });

  describe("handles reused inside", function () {
    it("forgets an order whose slot a new order took, and a level whose slot a new level took", function () {
      const gone = bid(100n, 5n);
      const book = bookWith(gone);
      book.cancel(gone.id);
      // The new order and its new level take the slots the cancelled ones freed.
      const next = ask(200n, 3n, { account: BOB });
      expect(book.place(next).rested).to.equal(true);
      expect(book.get(gone.id)).to.equal(undefined);
      expect(book.cancel(gone.id)).to.equal(undefined);
      expect(book.queue(true, 100n)).to.deep.equal([]);
      expect(book.countOf(ALICE)).to.equal(0);
      expect(book.depth()).to.deep.equal({ bids: [], asks: [{ priceTicks: 200n, lots: 3n, orders: 1 }] });
      expect(book.get(next.id)).to.deep.equal({ ...next, seq: 1 });
    });

    it("refills a level that a fill emptied, behind nothing of the orders that were there", function () {
      const first = ask(100n, 2n, { account: BOB });
      const book = bookWith(first, ask(101n, 1n, { account: BOB }));
      book.place(bid(100n, 2n));
      const again = ask(100n, 4n, { account: CAROL });
      book.place(again);
      expect(book.queue(false, 100n).map((o) => o.id)).to.deep.equal([again.id]);
      expect(book.bestAsk()).to.equal(100n);
      expect(
        book.place(bid(101n, 5n, { flags: IMMEDIATE_OR_CANCEL })).fills.map((f) => [f.priceTicks, f.lots]),
      ).to.deep.equal([
        [100n, 4n],
        [101n, 1n],
      ]);
    });

    it("holds thousands of orders on levels far apart, and gives back the same book after cancelling half", function () {
      const book = new OrderBook();
      const far = MAX_BOOK_INTEGER - 10n;
      const placed: NewOrder[] = [];
      for (let i = 0; i < 3000; i++) {
        const isBuy = i % 2 === 0;
        // Bids from 1 up, asks from 2^53-11 down: prices 2^53 apart, a level every 2 orders.
        const priceTicks = isBuy ? 1n + BigInt(i % 1500) : far - BigInt(i % 1500);
        const o = order({ isBuy, priceTicks, lots: BigInt(1 + (i % 7)), account: [ALICE, BOB, CAROL][i % 3] });
        expect(book.place(o).rested).to.equal(true);
        placed.push(o);
      }
      // Half of them, bids and asks alike (7 and 3,000 are coprime: no index twice).
      const cancelled = new Set(Array.from({ length: 1500 }, (_, n) => (n * 7) % 3000));
      for (const n of cancelled) expect(book.cancel(placed[n].id)?.removed).to.equal(true);
      const left = placed.filter((_, n) => !cancelled.has(n));
      const prices = (isBuy: boolean) => left.filter((o) => o.isBuy === isBuy).map((o) => o.priceTicks);
      const rebuilt = new OrderBook();
      for (const o of book.restingOrders()) expect(rebuilt.restore(o).rejected).to.equal(undefined);
      expect(rebuilt.depth()).to.deep.equal(book.depth());
      expect(rebuilt.restingOrders()).to.deep.equal(book.restingOrders());
      expect(book.size).to.equal(1500);
      expect(book.bestBid()).to.equal(prices(true).reduce((a, b) => (a > b ? a : b)));
      expect(book.bestAsk()).to.equal(prices(false).reduce((a, b) => (a < b ? a : b)));
      expect(book.countOf(BOB)).to.equal(book.ordersOf(BOB).length);
    });
  });
});
