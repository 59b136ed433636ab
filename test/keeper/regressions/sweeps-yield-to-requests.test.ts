/**
 * Issue 13, the attack benchmark: 10,000 orders expiring in one block were cancelled in slices of
 * 100, but on a busy machine a slice of 100 took 50–100 ms, and every honest request waited that
 * long for each of its turns of the event loop. A slice now also ends once it has run
 * `SLICE_BUDGET_MS` (of the engine's work clock, injected here), and the sweep yields between
 * slices, so that requests arriving meanwhile are served between them. And each state change
 * published its own book delta to every feed connection; a group commit's are now published as one.
 *
 *   40 orders expiring at T, a work clock that moves 1 ms per reading  ──expire(T+1)──▶
 *     after one turn of the event loop only a few are cancelled; all 40 once it resolves
 */
import { expect } from "chai";
import type { Hex } from "viem";
import type { Order } from "@crossbook/sdk";
import { Engine, EXPIRY_SLICE, SLICE_BUDGET_MS, type OrderUpdate } from "../../../keeper/src/engine";
import { Store } from "../../../keeper/src/store";
import { tempDatabase, traceSql } from "../support";

const hashOf = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const SIG = `0x${"ab".repeat(65)}` as Hex;
const T = 2_000_000_000n;
const DOMAIN = { chainId: 31337, verifyingContract: `0x${"11".repeat(20)}` as const };

const order = (n: number): Order => ({
  maker: `0x${(0x1000 + (n % 7)).toString(16).padStart(40, "0")}`,
  marketId: 1n,
  isBuy: false,
  flags: 0n,
  maxFeeBps: 100n,
  expiry: T,
  nonce: BigInt(n),
  priceTicks: 300_000n + BigInt(n),
  lots: 1n,
});

describe("regression (issue 13, bench:attack): an expiry sweep yields within its time budget", function () {
  let store: Store;
  let tracer: ReturnType<typeof traceSql>;

  before(() => {
    tracer = traceSql(); // before any store opens: its statements are prepared once
  });

  after(() => tracer.stop());

  beforeEach(() => {
    store = Store.open(tempDatabase());
    store.transaction(() => {
      for (let n = 0; n < 40; n++) {
        store.acceptOrder({ hash: hashOf(n + 1), order: order(n), signature: SIG, seq: n, rested: true, at: 1 });
      }
    });
  });

  afterEach(() => store.close());

  const open = (workClock: () => number) =>
    Engine.open({
      store,
      markets: [1n],
      domain: DOMAIN,
      readRiskContext: () => Promise.reject(new Error("no reads in this test")),
      workClock,
    });

  it("cuts a slice once it has run SLICE_BUDGET_MS, and serves what waits between slices", async () => {
    let ms = 0;
    const engine = await open(() => ms++); // every reading: one millisecond later
    const updates: OrderUpdate[] = [];
    engine.on("order", (u) => updates.push(u));
    let deltas = 0;
    engine.on("book", () => deltas++);
    expect(40).to.be.below(EXPIRY_SLICE); // the count alone would not cut this sweep
    tracer.start();
    const sweep = engine.expire(T + 1n);
    // What a request arriving now would see at its turn: the sweep has done one slice (or two: its
    // second may be queued before this check), not all 40 orders.
    const seen = await new Promise<number>((resolve) => setImmediate(() => resolve(engine.book(1n)!.size)));
    expect(40 - seen).to.be.within(1, 2 * SLICE_BUDGET_MS);
    expect(await sweep).to.equal(40);
    expect(engine.book(1n)!.size).to.equal(0);
    expect(store.getOrder(hashOf(1))).to.include({ status: "cancelled", reason: "expired" });
    // The events of a state change go out PUBLISH_SLICE a turn: the tail may follow the sweep's end,
    // and a group's book delta follows its orders' updates (it may come a turn after the last one).
    const done = () => updates.length >= 40 && deltas >= tracer.trace.commits;
    for (let turn = 0; turn < 50 && !done(); turn++) await new Promise((r) => setImmediate(r));
    // Many slices, but one book update per commit: the slices of one group commit are published as one.
    expect(deltas).to.equal(tracer.trace.commits);
    // Each order's update says what the store has (the sweep builds it from the book, without a read).
    expect(updates).to.have.length(40);
    for (const u of updates) {
      const stored = store.getOrder(u.hash)!;
      expect(u).to.include({ event: "cancelled", status: stored.status, reason: stored.reason });
      expect([u.filledLots, u.remainingLots]).to.deep.equal([stored.filledLots, stored.remainingLots]);
    }
  });

  it("does the whole sweep in one slice when the clock does not move", async () => {
    const engine = await open(() => 0);
    const sweep = engine.expire(T + 1n);
    // The first slice ran before expire returned its promise.
    expect(engine.book(1n)!.size).to.equal(0);
    expect(await sweep).to.equal(40);
  });
});
