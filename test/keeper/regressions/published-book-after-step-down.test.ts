/**
 * The chaos test's failure after a takeover: the new leader's GET /book held a bid that the shared
 * store had no open order for. GET /book and the feed show the book as published (`PublishedBook`,
 * built from the level changes the engine publishes after each commit), and a rebuild of the books
 * (a step-down's `refollow`, a takeover's `promote`) published only what differed between the
 * engine's own books before and after it. A match whose commit was refused after the leader stepped
 * down had moved the engine's book but was never published; when what the new leader committed
 * meanwhile left that level as the engine's book had it (the taker, retried there, took the same
 * maker), the rebuild found no difference and the published book kept the maker for good.
 *
 *   alice's bid rests (published); bob's sell takes it in memory; the leader steps down and the
 *   commit is refused (nothing published); the new leader's store has bob's retry filling alice
 *     → after refollow, and after a later promote, GET /book is the store's open orders: empty
 */
import { expect } from "chai";
import type { Hex } from "viem";
import { http, newTrader, orderOf, refuseCommits, signedBody, startKeeper, type Keeper } from "../api/support";

const SIG = `0x${"ab".repeat(65)}` as Hex;

describe("regression: the published book after a step-down whose last commit was refused", function () {
  let k: Keeper;
  before(async () => {
    k = await startKeeper();
  });
  after(async () => {
    await k?.close().catch(() => undefined);
  });

  /** The store's open orders as GET /book levels of market 1. */
  const storeLevels = () => {
    const levels = (isBuy: boolean) =>
      k.store
        .openOrders(1n)
        .filter((o) => o.order.isBuy === isBuy)
        .map((o) => ({ priceTicks: o.order.priceTicks.toString(), lots: o.remainingLots.toString(), orders: 1 }));
    return { bids: levels(true), asks: levels(false) };
  };
  const published = async () => {
    const book = await http(k.api.url, "GET", "/v1/markets/1/book");
    return { bids: book.body.bids, asks: book.body.asks };
  };

  /**
   * alice's bid rests (published); bob's sell matches it in memory; the leader steps down before
   * its group commits, and the commit is refused (as PostgreSQL's fence refuses a deposed leader's
   * flush). Answers alice's order's answer and bob's sell.
   */
  async function bidTakenAsTheLeaderStepsDown(priceTicks: bigint, lots: bigint) {
    const alice = await newTrader(k.env);
    const bob = await newTrader(k.env);
    const bid = await http(
      k.api.url,
      "POST",
      "/v1/orders",
      await signedBody(k, alice, orderOf(alice, { isBuy: true, priceTicks, lots })),
    );
    expect(bid.status).to.equal(201);
    expect(await published()).to.deep.equal({
      bids: [{ priceTicks: priceTicks.toString(), lots: lots.toString(), orders: 1 }],
      asks: [],
    });
    const restore = refuseCommits(k, () => {
      k.engine.demote();
      throw new Error("crossbook fenced: term 2 no longer leads");
    });
    const sell = orderOf(bob, { isBuy: false, priceTicks, lots });
    const take = await http(k.api.url, "POST", "/v1/orders", await signedBody(k, bob, sell));
    restore();
    expect([take.status, take.body.error?.code]).to.deep.equal([503, "NOT_LEADER"]);
    expect(k.engine.book(1n)?.size, "the engine's own book matched").to.equal(0);
    return { bid, sell };
  }

  it("publishes the levels a refused commit changed when the books are rebuilt", async () => {
    const { bid, sell } = await bidTakenAsTheLeaderStepsDown(200_000n, 11n);

    // What the new leader committed meanwhile: bob's order, retried there, filled alice's bid.
    const bobHash = `0x${"b0".repeat(32)}` as Hex; // stands for its hash (the store does not check it)
    k.store.acceptOrder({
      hash: bobHash,
      order: sell,
      signature: SIG,
      seq: k.store.nextSeq(1n),
      fills: [{ makerHash: bid.body.hash as Hex, takerHash: bobHash, priceTicks: 200_000n, lots: 11n }],
      rested: false,
      at: Date.now(),
    });
    expect(storeLevels()).to.deep.equal({ bids: [], asks: [] });

    k.engine.refollow(); // the step-down's rebuild, once the store is the shared database's
    expect(await published(), "after refollow").to.deep.equal(storeLevels());
    k.engine.promote(); // a later takeover
    expect(await published(), "after promote").to.deep.equal(storeLevels());
  });

  it("answers GET /v1/books/digest only once the books are rebuilt, never with a refused match in them", async () => {
    // The step-down test's failure: a digest read between the step-down and the rebuild held the
    // engine's books with the refused match in them, and differed from every other keeper's.
    await bidTakenAsTheLeaderStepsDown(190_000n, 5n);
    let early: unknown;
    const digest = http(k.api.url, "GET", "/v1/books/digest").then((answer) => (early = answer.body));
    // A deadline for a wrong answer to arrive, not a measure: none may come before the rebuild.
    await Promise.race([digest, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    expect(early, "a digest answered while the books held a refused match").to.equal(undefined);
    k.engine.refollow();
    const answer = (await digest) as { markets: { marketId: string; levels: number; orders: number }[] };
    expect(answer.markets.find((m) => m.marketId === "1")).to.include({ levels: 1, orders: 1 }); // alice's bid
    expect(storeLevels().bids).to.deep.equal([{ priceTicks: "190000", lots: "5", orders: 1 }]);
    k.engine.promote();
  });
});
