/**
 * Property test of the book: random streams of places (random sides, prices, sizes, accounts and
 * flags, valid or not), cancels, reduces, increases and restores of orders that left the book go
 * through OrderBook and through the naive ReferenceBook (reference.ts). After every operation both
 * must report the same thing, hold the same orders in the same priority, and the level changes
 * the book reports must be exactly the difference between its depth before and after. At the end
 * of each stream, a book rebuilt from the resting orders in sequence must equal the original.
 *
 * Its concrete twins are in book.test.ts, among them the cases it caught when the book was broken
 * on purpose while this test was written (a fill-or-kill counting its own orders as liquidity, a
 * restore appended behind later orders, a restore that did not move `nextSeq`).
 *
 * `npm test` runs a fixed seed; BOOK_PROPERTY_SEED and BOOK_PROPERTY_RUNS run more, e.g.
 * `BOOK_PROPERTY_RUNS=20000 npx hardhat test test/keeper/book/book.property.test.ts`.
 */
// node:assert rather than chai's expect: the Hardhat chai matchers that `npm test` loads make
// chai's deep equality about 60 times slower, and this test compares whole books at every step.
import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_BOOK_INTEGER, OrderBook, type Depth, type LevelChange, type RestingOrder } from "../../../keeper/src/book";
import { WINDOW } from "../../../keeper/src/book/side";
import { ReferenceBook } from "./reference";

const SEED = Number(process.env.BOOK_PROPERTY_SEED ?? 42);
const RUNS = Number(process.env.BOOK_PROPERTY_RUNS ?? 300);

type Op =
  | {
      kind: "place";
      isBuy: boolean;
      price: number;
      lots: number;
      account: number;
      flags: number;
      reuseId: number | null;
    }
  | { kind: "cancel"; pick: number }
  | { kind: "reduce"; pick: number; lots: number }
  | { kind: "increase"; pick: number; lots: number }
  | { kind: "restore"; pick: number; lots: number };

const FLAGS = [0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 4, 4, 6, 3, 5, 8];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("place" as const),
      isBuy: fc.boolean(),
      price: fc.integer({ min: 0, max: 9 }),
      lots: fc.integer({ min: 1, max: 8 }),
      account: fc.integer({ min: 0, max: 2 }),
      flags: fc.constantFrom(...FLAGS),
      // Now and then the id of an earlier order: a duplicate while that order rests.
      reuseId: fc.oneof({ weight: 19, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("reduce" as const),
      pick: fc.nat(),
      lots: fc.integer({ min: 1, max: 6 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("increase" as const),
      pick: fc.nat(),
      lots: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("restore" as const),
      pick: fc.nat(),
      lots: fc.integer({ min: 1, max: 4 }),
    }),
  },
);

/**
 * The ten prices of a stream: 1 tick apart near 100, or at the very top of what the book holds
 * (2^53-1), where a double still tells them apart and one more bit would not; or a stride apart
 * that spreads them over one side's window of levels (`WINDOW` ticks, side.ts), or past it, so
 * that levels go to its fallback and the window re-centres with levels in it.
 */
const pricesArb = fc
  .tuple(fc.constantFrom(1n, 1n, 1_000n, BigInt(Math.floor(WINDOW / 3) + 1), BigInt(WINDOW + 7)), fc.boolean())
  .map(([stride, top]) => ({ stride, base: top ? MAX_BOOK_INTEGER - 9n * stride : 100n }));

const ACCOUNTS = ["0xaaaa", "0xbbbb", "0xcccc"];

/** How often each outcome came up, to see that the streams reach every rule. */
const stats: Record<string, number> = {};
const count = (what: string) => (stats[what] = (stats[what] ?? 0) + 1);

/** Level changes as a comparable, sorted list. */
function sortedChanges(levels: LevelChange[]): string[] {
  return levels.map((l) => `${l.isBuy ? "bid" : "ask"} ${l.priceTicks} ${l.lots} ${l.orders}`).sort();
}

/** What an operation should have reported as level changes: the depth before vs after. */
function depthDiff(before: Depth, after: Depth): string[] {
  const out: string[] = [];
  for (const isBuy of [true, false]) {
    const key = isBuy ? "bids" : "asks";
    const was = new Map(before[key].map((l) => [l.priceTicks, l]));
    const now = new Map(after[key].map((l) => [l.priceTicks, l]));
    for (const [price, l] of now) {
      const old = was.get(price);
      if (old === undefined || old.lots !== l.lots || old.orders !== l.orders) {
        out.push(`${isBuy ? "bid" : "ask"} ${price} ${l.lots} ${l.orders}`);
      }
    }
    for (const price of was.keys()) if (!now.has(price)) out.push(`${isBuy ? "bid" : "ask"} ${price} 0 0`);
  }
  return out.sort();
}

function expectSameBook(book: OrderBook, reference: ReferenceBook): void {
  const depth = book.depth();
  assert.deepEqual(depth, reference.depth());
  for (const isBuy of [true, false]) {
    const levels = isBuy ? depth.bids : depth.asks;
    const queues = levels.flatMap((l) => book.queue(isBuy, l.priceTicks));
    assert.deepEqual(queues, reference.side(isBuy));
  }
  assert.equal(book.bestBid(), depth.bids[0]?.priceTicks);
  assert.equal(book.bestAsk(), depth.asks[0]?.priceTicks);
  if (depth.bids.length > 0 && depth.asks.length > 0) {
    assert.ok(depth.bids[0].priceTicks < depth.asks[0].priceTicks, "the book is crossed");
  }
}

/** Runs one stream through both books, checking after every step. */
function runStream({ base, stride }: { base: bigint; stride: bigint }, ops: Op[]): void {
  const book = new OrderBook();
  const reference = new ReferenceBook();
  const ids: string[] = [];
  const departed: RestingOrder[] = []; // orders that left the book, for restore

  for (const op of ops) {
    const before = book.depth();
    let levels: LevelChange[] = [];
    if (op.kind === "place") {
      const id = op.reuseId !== null && ids.length > 0 ? ids[op.reuseId % ids.length] : `o${ids.length}`;
      if (id === `o${ids.length}`) ids.push(id);
      const order = {
        id,
        account: ACCOUNTS[op.account],
        isBuy: op.isBuy,
        priceTicks: base + BigInt(op.price) * stride,
        lots: BigInt(op.lots),
        flags: op.flags,
      };
      const restingBefore = new Map(reference.side(!op.isBuy).map((o) => [o.id, o]));
      const actual = book.place(order);
      const expected = reference.place(order);
      levels = actual.levels;
      assert.deepEqual({ ...actual, levels: [] }, expected);
      count(actual.rejected ?? (actual.fills.length > 0 ? "filled" : actual.rested ? "rested" : "dropped"));
      if (actual.selfTradeCancelled.length > 0) count("self-trade cancel");
      if (order.flags & 4 && actual.rejected === undefined) count("fill-or-kill filled");
      departed.push(...actual.selfTradeCancelled);
      for (const f of actual.fills) {
        if (f.makerRemainingLots === 0n) departed.push(restingBefore.get(f.makerId) as RestingOrder);
      }
    } else if (op.kind === "cancel" || op.kind === "reduce" || op.kind === "increase") {
      if (ids.length === 0) continue;
      const id = ids[op.pick % ids.length];
      const actual =
        op.kind === "cancel"
          ? book.cancel(id)
          : op.kind === "reduce"
            ? book.reduce(id, BigInt(op.lots))
            : book.increase(id, BigInt(op.lots));
      const expected =
        op.kind === "cancel"
          ? reference.cancel(id)
          : op.kind === "reduce"
            ? reference.reduce(id, BigInt(op.lots))
            : reference.increase(id, BigInt(op.lots));
      assert.deepEqual(actual?.order, expected);
      if (actual !== undefined) {
        assert.equal(actual.removed, op.kind === "cancel" || (op.kind === "reduce" && book.get(id) === undefined));
        if (actual.removed) departed.push(actual.order);
        levels = actual.levels;
      }
    } else {
      if (departed.length === 0) continue;
      // A fill of a departed order was skipped on-chain: its size comes back at its old priority.
      const order = { ...departed[op.pick % departed.length], lots: BigInt(op.lots) };
      const actual = book.restore(order);
      assert.equal(actual.rejected, reference.restore(order));
      count(`restore ${actual.rejected ?? "accepted"}`);
      if (actual.rejected === undefined && book.queue(order.isBuy, order.priceTicks).at(-1)?.id !== order.id) {
        count("restore ahead of later orders");
      }
      levels = actual.levels;
    }
    const changes = sortedChanges(levels);
    assert.equal(new Set(changes).size, changes.length, "a level reported twice");
    assert.deepEqual(changes, depthDiff(before, book.depth()));
    expectSameBook(book, reference);
  }

  // The keeper's restart: restore every resting order, in sequence, into an empty book.
  const rebuilt = new OrderBook();
  for (const order of book.restingOrders()) assert.equal(rebuilt.restore(order).rejected, undefined);
  assert.deepEqual(rebuilt.depth(), book.depth());
  const depth = book.depth();
  for (const [isBuy, levels] of [[true, depth.bids] as const, [false, depth.asks] as const]) {
    for (const level of levels) {
      assert.deepEqual(rebuilt.queue(isBuy, level.priceTicks), book.queue(isBuy, level.priceTicks));
    }
  }
  const resting = book.restingOrders();
  // New orders after the rebuild come after every restored one.
  if (resting.length > 0) assert.equal(rebuilt.nextSeq, Math.max(...resting.map((o) => o.seq)) + 1);
}

describe("OrderBook property", function () {
  it(`matches the naive reference matcher on random order streams (seed ${SEED}, ${RUNS} runs)`, function () {
    this.timeout(0);
    fc.assert(
      fc.property(pricesArb, fc.array(opArb, { maxLength: 120, size: "max" }), (base, ops) => runStream(base, ops)),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(`      ${JSON.stringify(stats)}`);
  });
});
