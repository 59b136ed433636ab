// node:assert in the per-step checks: chai's deep equality under the Hardhat matchers is slow (see book.property.test.ts).
import assert from "node:assert/strict";
import { expect } from "chai";
import { OrderBook, type NewOrder } from "../../../keeper/src/book";
import { BookSide, MARGIN, WINDOW } from "../../../keeper/src/book/side";
import { Levels, NONE } from "../../../keeper/src/book/store";

/**
 * One side's levels (side.ts): a window of `WINDOW` ticks near the touch, with a bitmap, and a
 * fallback (a `Map` and a B+ tree) for prices outside it. Each case checks, after every step,
 * that the side walks its levels best first exactly as a sorted list of its prices does, and
 * finds each of them (and no other price) by price.
 */
class Checked {
  readonly levels = new Levels();
  readonly side: BookSide;
  /** price → level handle */
  readonly held = new Map<number, number>();

  constructor(readonly isBuy: boolean) {
    this.side = new BookSide(isBuy, this.levels);
  }

  add(...prices: number[]): this {
    for (const price of prices) {
      assert.equal(this.side.get(price), NONE, `no level at ${price} yet`);
      this.held.set(price, this.side.create(BigInt(price), price));
      this.check();
    }
    return this;
  }

  remove(...prices: number[]): this {
    for (const price of prices) {
      const level = this.held.get(price) as number;
      this.side.delete(level);
      this.held.delete(price);
      this.check();
    }
    return this;
  }

  /** The prices best first, by walking the side. */
  walk(): number[] {
    const out: number[] = [];
    for (let level = this.side.best; level !== NONE; level = this.side.after(level)) out.push(this.levels.price[level]);
    return out;
  }

  check(): void {
    const sorted = [...this.held.keys()].sort((a, b) => (this.isBuy ? b - a : a - b));
    assert.deepEqual(this.walk(), sorted);
    for (const [price, level] of this.held) assert.equal(this.side.get(price), level, `level at ${price}`);
    for (const price of sorted) {
      for (const near of [price - 1, price + 1]) {
        if (!this.held.has(near)) assert.equal(this.side.get(near), NONE, `no level at ${near}`);
      }
    }
    assert.deepEqual(
      this.side.depth(3).map((l) => Number(l.priceTicks)),
      sorted.slice(0, 3),
    );
  }
}

describe("BookSide (window of levels and fallback)", function () {
  for (const isBuy of [false, true]) {
    const name = isBuy ? "bids" : "asks";
    /** `n` ticks worse than `price` on this side. */
    const worse = (price: number, n: number) => (isBuy ? price - n : price + n);

    describe(name, function () {
      it("empties a level and refills it at the same price, in the window and outside it", function () {
        const s = new Checked(isBuy).add(1_000_000, worse(1_000_000, 3), worse(1_000_000, 40));
        s.remove(worse(1_000_000, 3)).add(worse(1_000_000, 3));
        s.remove(1_000_000).add(1_000_000);
        // Far behind the touch: the fallback; emptied and refilled there too.
        const far = worse(1_000_000, 3 * WINDOW);
        s.add(far);
        expect(s.side.outside).to.equal(1);
        s.remove(far).add(far);
        expect(s.side.outside).to.equal(1);
      });

      it("follows the touch past the window's edge, keeping the levels it had", function () {
        const s = new Checked(isBuy);
        let price = 5_000_000;
        s.add(price, worse(price, 1), worse(price, 100));
        // Each new best a little more than the window beyond the last: the window re-centres on it.
        for (let i = 0; i < 6; i++) {
          price = worse(price, -(WINDOW - MARGIN + 1 + i));
          s.add(price);
          expect(s.levels.price[s.side.best]).to.equal(price);
          expect(s.side.get(price)).to.equal(s.held.get(price));
        }
        // The levels left behind went to the fallback; behind the touch by less than the window, into it.
        expect(s.side.outside).to.be.greaterThan(0);
        s.add(worse(price, 1), worse(price, WINDOW - MARGIN - 1));
        // The touch moves back through the fallback as the best levels leave.
        const order = s.walk();
        for (const p of order.slice(0, -1)) s.remove(p);
        expect(s.walk()).to.deep.equal(order.slice(-1));
      });

      it("holds prices far apart (1 tick, 2^30, 2^53-1) and walks them in order", function () {
        const top = Number.MAX_SAFE_INTEGER;
        const s = new Checked(isBuy).add(2 ** 30, 1, top, 2 ** 30 + 1, top - 1, 2, 2 ** 40);
        s.remove(2 ** 30, top)
          .add(top - WINDOW, 3)
          .remove(1, 2, 3)
          .remove(...[...s.held.keys()]);
        expect(s.side.best).to.equal(NONE);
        expect(s.side.outside).to.equal(0);
      });

      it("re-centres with levels in the window: those it leaves go to the fallback and come back", function () {
        const s = new Checked(isBuy);
        const near = Array.from({ length: 50 }, (_, i) => worse(2_000_000, 2 * i));
        s.add(...near);
        expect(s.side.outside).to.equal(0);
        // A new best three windows better: the window moves to it, the 50 levels leave it.
        const far = worse(2_000_000, -3 * WINDOW);
        s.add(far);
        expect(s.side.outside).to.equal(50);
        // The far level leaves; the next level created outside the window brings the window back
        // to the side's best (in the fallback), and the levels near it into the window.
        s.remove(far).add(worse(2_000_000, 2 * WINDOW));
        expect(s.side.outside).to.equal(1);
        s.remove(...near.slice(0, 10));
      });

      it("moves no more levels than it has credit for: one per level created", function () {
        const s = new Checked(isBuy);
        const near = Array.from({ length: 50 }, (_, i) => worse(2_000_000, i));
        s.add(...near);
        s.add(worse(2_000_000, -3 * WINDOW)); // 51 credits: the window moves, 50 levels out
        expect(s.side.outside).to.equal(50);
        s.remove(worse(2_000_000, -3 * WINDOW)).add(worse(2_000_000, 60)); // back: 50 in
        expect(s.side.outside).to.equal(0);
        // Now a new best far away again: no credit left to move the 51 levels out, so it goes to the fallback.
        for (let i = 1; i <= 5; i++) {
          s.add(worse(2_000_000, -i * 3 * WINDOW));
          expect(s.side.outside).to.equal(i);
        }
        expect(s.levels.price[s.side.best]).to.equal(worse(2_000_000, -15 * WINDOW));
        s.remove(...[...s.held.keys()]);
      });

      it("loses its best and its worst level, in the window and in the fallback", function () {
        const s = new Checked(isBuy).add(300_000, worse(300_000, 7), worse(300_000, 2 * WINDOW), worse(300_000, 9));
        s.remove(300_000); // the best, in the window
        s.remove(worse(300_000, 2 * WINDOW)); // the worst, in the fallback
        s.remove(worse(300_000, 9)); // the worst, in the window
        s.add(worse(300_000, -2 * WINDOW)); // a far better best: the window moves to it
        s.remove(worse(300_000, -2 * WINDOW)); // and leaves: the best is the fallback's
        s.remove(worse(300_000, 7));
        expect(s.side.best).to.equal(NONE);
      });
    });
  }

  it("matches across the window and the fallback, best price first", function () {
    const book = new OrderBook();
    let n = 0;
    const ask = (price: number, lots: number): NewOrder => ({
      id: `a${n++}`,
      account: "0xaaaa",
      isBuy: false,
      priceTicks: BigInt(price),
      lots: BigInt(lots),
      flags: 0,
    });
    // Asks near 1,000,000, then one far better and one far worse: the window follows the better.
    for (const price of [1_000_000, 1_000_001, 1_000_005]) book.place(ask(price, 2));
    book.place(ask(1_000_000 - 3 * WINDOW, 1));
    book.place(ask(1_000_000 + 3 * WINDOW, 1));
    const taker = book.place({
      id: "b",
      account: "0xbbbb",
      isBuy: true,
      priceTicks: 1_000_000n + BigInt(3 * WINDOW),
      lots: 8n,
      flags: 0,
    });
    expect(taker.fills.map((f) => Number(f.priceTicks))).to.deep.equal([
      1_000_000 - 3 * WINDOW,
      1_000_000,
      1_000_001,
      1_000_005,
      1_000_000 + 3 * WINDOW,
    ]);
    expect(taker.remainingLots).to.equal(0n);
    expect(book.depth()).to.deep.equal({ bids: [], asks: [] });
    // The emptied levels are gone from both structures: new orders at their prices start them afresh.
    book.place(ask(1_000_000 + 3 * WINDOW, 4));
    book.place(ask(1_000_000, 3));
    expect(book.depth().asks.map((l) => [Number(l.priceTicks), Number(l.lots)])).to.deep.equal([
      [1_000_000, 3],
      [1_000_000 + 3 * WINDOW, 4],
    ]);
  });
});
