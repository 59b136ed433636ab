/**
 * Issue 16, a market maker's interface, over real sockets: `POST /v1/orders/batch` (places, cancels
 * and amends of one account in one commit, each answered on its own), amend (cancel-replace) as one
 * step, nonce lookup, rate-limit headers and the limits read — and the strangers who try to batch
 * another account's orders, replay an amend, or spend another account's budget.
 */
import { expect } from "chai";
import type { Hex } from "viem";
import {
  createKeeperClient,
  IMMEDIATE_OR_CANCEL,
  KeeperApiError,
  POST_ONLY,
  signOrder,
  type Order,
} from "@crossbook/sdk";
import { manualClock } from "../support";
import {
  BookReplica,
  FeedClient,
  bearer,
  http,
  login,
  newTrader,
  orderOf,
  signedBody,
  startKeeper,
  type Keeper,
  type Trader,
} from "./support";

/** `POST /v1/orders/batch` on `k`'s API with a session, and the bodies of its place and amend actions. */
const batchOn = (k: Keeper, token: string, account: string, actions: unknown[]) =>
  http(k.api.url, "POST", "/v1/orders/batch", { account, actions }, bearer(token));
const placeOn = async (k: Keeper, trader: Trader, o: Order) => ({ place: await signedBody(k, trader, o) });
const amendOn = async (k: Keeper, trader: Trader, target: unknown, o: Order) => ({
  amend: { target, ...(await signedBody(k, trader, o)) },
});

describe("keeper/api: a market maker's interface (issue 16)", function () {
  let k: Keeper;
  let alice: Trader;
  let bob: Trader;
  let url: string;
  let aliceToken: string;
  let bobToken: string;

  before(async function () {
    // The API's clock stands still: budgets do not refill behind the test's back.
    k = await startKeeper({ limits: { maxBatchActions: 8 }, api: { clock: manualClock().now } });
    url = k.api.url;
    alice = await newTrader(k.env);
    bob = await newTrader(k.env);
    aliceToken = await login(k, alice);
    bobToken = await login(k, bob);
  });

  after(async function () {
    await k?.close();
  });

  const batch = (token: string, account: string, actions: unknown[]) => batchOn(k, token, account, actions);
  const place = (trader: Trader, o: Order) => placeOn(k, trader, o);
  const amend = (trader: Trader, target: unknown, o: Order) => amendOn(k, trader, target, o);

  it("places and cancels in one request, one commit and one book delta; each action answered on its own", async function () {
    const feed = await FeedClient.open(k.api.wsUrl);
    feed.send({ op: "subscribe", channel: "book", marketId: "1" });
    await feed.next((m) => m.type === "snapshot" && m.channel === "book");
    const first = orderOf(alice, { isBuy: false, priceTicks: 210_000n, lots: 3n });
    const placedFirst = await batch(aliceToken, alice.address, [await place(alice, first)]);
    expect(placedFirst.status, JSON.stringify(placedFirst.body)).to.equal(200);
    await feed.next((m) => m.type === "delta");
    const deltasBefore = feed.messages.filter((m) => m.type === "delta").length;
    const from = feed.messages.length; // the feed may deliver the batch's delta after its answer

    let commits = 0;
    // The group commit lives in the database layer (its window timer calls it there, and the engine
    // right after a batch): a call that finds a group open commits it.
    const database = k.store.database;
    const commitGroup = database.commitGroup.bind(database);
    database.commitGroup = () => {
      if ((database as unknown as { group?: object }).group !== undefined) commits++;
      commitGroup();
    };
    const asks = [211_000n, 212_000n, 213_000n].map((priceTicks) =>
      orderOf(alice, { isBuy: false, priceTicks, lots: 2n }),
    );
    const forged = orderOf(alice, { isBuy: false, priceTicks: 214_000n, lots: 2n });
    const forgedPlace = {
      place: { ...(await signedBody(k, alice, forged)), signature: (await signedBody(k, bob, forged)).signature },
    };
    const answer = await batch(aliceToken, alice.address, [
      { cancel: { nonce: first.nonce.toString() } },
      await place(alice, asks[0] as Order),
      forgedPlace,
      await place(alice, asks[1] as Order),
      { cancel: { nonce: "999999" } },
      await place(alice, asks[2] as Order),
    ]);
    database.commitGroup = commitGroup;
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    const results = answer.body.results as Record<string, unknown>[];
    expect(results.map((r) => [r.kind, r.ok, r.code ?? null])).to.deep.equal([
      ["cancel", true, null],
      ["place", true, null],
      ["place", false, "BAD_SIGNATURE"],
      ["place", true, null],
      ["cancel", false, "ORDER_NOT_FOUND"],
      ["place", true, null],
    ]);
    expect(results[2]).to.include({ status: 401 });
    expect(results[4]).to.include({ status: 404 });
    expect(commits, "one store commit for the whole batch").to.equal(1);
    expect((results[1] as { order: { hash: Hex } }).order.hash).to.equal(k.engine.hashOf(asks[0] as Order));

    // One delta carries every level the batch changed: no book state between its actions is ever shown.
    const delta = await feed.next((m) => m.type === "delta", 10_000, from);
    expect(feed.messages.filter((m) => m.type === "delta").length).to.equal(deltasBefore + 1);
    expect(delta.levels).to.have.deep.members([
      { side: "ask", priceTicks: "210000", lots: "0", orders: 0 },
      { side: "ask", priceTicks: "211000", lots: "2", orders: 1 },
      { side: "ask", priceTicks: "212000", lots: "2", orders: 1 },
      { side: "ask", priceTicks: "213000", lots: "2", orders: 1 },
    ]);
    feed.close();
    expect(k.store.getOrder(k.engine.hashOf(first))).to.include({ status: "cancelled", reason: "soft-cancel" });
    await batch(
      aliceToken,
      alice.address,
      asks.map((o) => ({ cancel: { hash: k.engine.hashOf(o) } })),
    );
  });

  it("refuses a stranger: no session, another account's session, another maker's orders and cancels", async function () {
    const mine = orderOf(alice, { isBuy: false, priceTicks: 220_000n, lots: 1n });
    const mineHash = k.engine.hashOf(mine);
    expect((await batch(aliceToken, alice.address, [await place(alice, mine)])).status).to.equal(200);

    const anonymous = await http(url, "POST", "/v1/orders/batch", {
      account: alice.address,
      actions: [{ cancel: { hash: mineHash } }],
    });
    expect(anonymous.status).to.equal(401);
    expect(anonymous.body.error.code).to.equal("SESSION_REQUIRED");

    const otherSession = await batch(bobToken, alice.address, [{ cancel: { hash: mineHash } }]);
    expect(otherSession.status).to.equal(403);
    expect(otherSession.body.error.code).to.equal("FORBIDDEN");

    // Bob's own batch naming Alice's order (by hash and by her nonce), and carrying an order Alice signed.
    const aliceSigned = orderOf(alice, { isBuy: false, priceTicks: 221_000n, lots: 1n });
    const stranger = await batch(bobToken, bob.address, [
      { cancel: { hash: mineHash } },
      { cancel: { nonce: mine.nonce.toString() } },
      await place(alice, aliceSigned),
      await amend(bob, { hash: mineHash }, orderOf(bob, { isBuy: false, priceTicks: 222_000n, lots: 1n })),
    ]);
    expect(stranger.status).to.equal(200);
    expect((stranger.body.results as { code: string }[]).map((r) => r.code)).to.deep.equal([
      "ORDER_NOT_FOUND",
      "ORDER_NOT_FOUND",
      "INVALID_ORDER",
      "ORDER_NOT_OPEN",
    ]);
    expect(k.store.getOrder(mineHash)?.status).to.equal("open");
    expect(k.store.getOrder(k.engine.hashOf(aliceSigned))).to.equal(undefined);

    const tooMany = await batch(aliceToken, alice.address, Array(9).fill({ cancel: { nonce: "1" } }));
    expect(tooMany.status).to.equal(400);
    expect(tooMany.body.error.details).to.deep.equal({ maxBatchActions: 8 });
    await batch(aliceToken, alice.address, [{ cancel: { hash: mineHash } }]);
  });

  it("amends in one step: the old order leaves as the new one enters, in one delta; a replayed amend changes nothing", async function () {
    const feed = await FeedClient.open(k.api.wsUrl);
    feed.send({ op: "subscribe", channel: "book", marketId: "1" });
    await feed.next((m) => m.type === "snapshot" && m.channel === "book");
    const old = orderOf(alice, { isBuy: false, priceTicks: 230_000n, lots: 4n });
    await batch(aliceToken, alice.address, [await place(alice, old)]);
    await feed.next((m) => m.type === "delta");
    const from = feed.messages.length;

    const replacement = orderOf(alice, { isBuy: false, priceTicks: 231_000n, lots: 5n });
    const amendment = await amend(alice, { nonce: old.nonce.toString() }, replacement);
    const answer = await batch(aliceToken, alice.address, [amendment]);
    expect(answer.body.results[0], JSON.stringify(answer.body)).to.deep.include({
      kind: "amend",
      ok: true,
      replaced: k.engine.hashOf(old),
    });
    const delta = await feed.next((m) => m.type === "delta", 10_000, from);
    expect(delta.levels).to.have.deep.members([
      { side: "ask", priceTicks: "230000", lots: "0", orders: 0 },
      { side: "ask", priceTicks: "231000", lots: "5", orders: 1 },
    ]);
    const stale = k.store.getOrder(k.engine.hashOf(old));
    const fresh = k.store.getOrder(k.engine.hashOf(replacement));
    expect(stale).to.include({ status: "cancelled", reason: "amended" });
    expect(fresh?.status).to.equal("open");
    expect(stale?.updatedAt).to.equal(fresh?.createdAt);

    // The same amend again (a replay by anyone holding the session, or a retry): nothing moves.
    const replay = await batch(aliceToken, alice.address, [amendment]);
    expect(replay.body.results[0]).to.include({ ok: false, code: "ORDER_NOT_OPEN", status: 409 });
    // Aimed at the new order, the replayed signed order is a duplicate: the new one stays, once.
    const retarget = await batch(aliceToken, alice.address, [
      { amend: { ...amendment.amend, target: { hash: k.engine.hashOf(replacement) } } },
    ]);
    expect(retarget.body.results[0]).to.include({ ok: false, code: "DUPLICATE_ORDER" });
    expect(k.store.getOrder(k.engine.hashOf(replacement))?.status).to.equal("open");
    expect(k.engine.book(1n)?.countOf(alice.address)).to.equal(1);
    feed.close();
    await batch(aliceToken, alice.address, [{ cancel: { hash: k.engine.hashOf(replacement) } }]);
  });

  it("an amend whose new order is refused leaves the old one resting at its time priority", async function () {
    const bid = orderOf(bob, { isBuy: true, priceTicks: 190_000n, lots: 1n });
    await batch(bobToken, bob.address, [await place(bob, bid)]);
    const first = orderOf(alice, { isBuy: false, priceTicks: 240_000n, lots: 1n });
    const second = orderOf(alice, { isBuy: false, priceTicks: 240_000n, lots: 1n });
    await batch(aliceToken, alice.address, [await place(alice, first), await place(alice, second)]);
    // Post-only at the bid's price would take: refused, so the amend does nothing.
    const crossing = orderOf(alice, { isBuy: false, priceTicks: 190_000n, lots: 1n, flags: POST_ONLY });
    const answer = await batch(aliceToken, alice.address, [
      await amend(alice, { hash: k.engine.hashOf(first) }, crossing),
    ]);
    expect(answer.body.results[0]).to.include({ ok: false, code: "POST_ONLY_WOULD_CROSS" });
    expect(k.store.getOrder(k.engine.hashOf(first))?.status).to.equal("open");
    const level = k.engine
      .book(1n)
      ?.ordersOf(alice.address)
      .filter((o) => o.priceTicks === 240_000n)
      .map((o) => o.id);
    expect(level).to.deep.equal([k.engine.hashOf(first), k.engine.hashOf(second)]);
    await batch(aliceToken, alice.address, [
      { cancel: { hash: k.engine.hashOf(first) } },
      { cancel: { hash: k.engine.hashOf(second) } },
    ]);
    await batch(bobToken, bob.address, [{ cancel: { hash: k.engine.hashOf(bid) } }]);
  });

  it("property: racing takers, an amend never lets both orders fill after it, nor leaves neither", async function () {
    // Each round: Alice rests S1; Bob's taker and Alice's amend S1 → S2 arrive together, in a random
    // order; then Bob's second taker. Whatever the interleaving: if the amend was accepted, S1 has
    // no fill after S2 entered and S1 left in the very state change S2 entered; if it was refused,
    // S2 does not exist. S1 and S2 never rest together, and one of them rests unless filled.
    let seed = 16;
    const outcomes = [0, 0];
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 16; round++) {
      const s1 = orderOf(alice, { isBuy: false, priceTicks: 250_000n, lots: 3n });
      const placed = await batch(aliceToken, alice.address, [await place(alice, s1)]);
      // S1 rests whole: nothing of an earlier round is left to cross it (the takers are immediate-or-cancel).
      expect(placed.body.results[0].order, `round ${round}`).to.include({ status: "open", filledLots: "0" });
      const s2 = orderOf(alice, { isBuy: false, priceTicks: random() < 0.5 ? 250_000n : 251_000n, lots: 3n });
      // The first taker takes all of S1 every other round: then the amend, if it comes second, is refused.
      const takers = [round % 2 === 0 ? 3n : BigInt(1 + Math.floor(random() * 2)), 2n].map((lots) =>
        orderOf(bob, { isBuy: true, priceTicks: 251_000n, lots, flags: IMMEDIATE_OR_CANCEL }),
      );
      const signedTakers = await Promise.all(takers.map((t) => signedBody(k, bob, t)));
      const amendment = await amend(alice, { hash: k.engine.hashOf(s1) }, s2);
      const sends = [
        () => http(url, "POST", "/v1/orders", signedTakers[0]),
        () => batch(aliceToken, alice.address, [amendment]),
      ];
      if (random() < 0.5) sends.reverse();
      // Odd rounds race the two over the network; even rounds send them one after the other (so
      // that both branches surely happen), in the random order.
      const [a, b] =
        round % 2 === 1
          ? await Promise.all(sends.map((send) => send()))
          : [
              await (sends[0] as () => ReturnType<typeof batch>)(),
              await (sends[1] as () => ReturnType<typeof batch>)(),
            ];
      const answer = ((a?.body.results ?? b?.body.results) as { ok: boolean; code?: string }[])[0];
      const amended = answer?.ok === true;
      // A refused amend is refused because the taker filled S1 first, for no other reason.
      if (!amended) expect(answer?.code, JSON.stringify(answer)).to.equal("ORDER_NOT_OPEN");
      await http(url, "POST", "/v1/orders", signedTakers[1]);

      const o1 = k.store.getOrder(k.engine.hashOf(s1));
      const o2 = k.store.getOrder(k.engine.hashOf(s2));
      const fills1 = k.store.fillsOfOrder(k.engine.hashOf(s1));
      outcomes[amended ? 0 : 1]++;
      const fills2 = k.store.fillsOfOrder(k.engine.hashOf(s2));
      // The second taker came after the amend was answered: what it took, it took from S2 alone.
      const lateMakers = k.store
        .fillsOfOrder(k.engine.hashOf(takers[1] as Order))
        .filter((f) => f.takerHash === k.engine.hashOf(takers[1] as Order))
        .map((f) => f.makerHash);
      if (amended) {
        expect(o1).to.include({ status: "cancelled", reason: "amended" });
        expect(o2?.createdAt).to.equal(o1?.updatedAt);
        for (const f of fills1) expect(f.createdAt).to.be.at.most(o2?.createdAt as number);
        // Fill ids count up: every fill of S1 was matched before any of S2 (never both after the amend).
        const lastOfS1 = Math.max(0, ...fills1.map((f) => f.id));
        for (const f of fills2) expect(f.id, `round ${round}: S1 filled after S2 entered`).to.be.above(lastOfS1);
        expect(
          lateMakers.every((h) => h === k.engine.hashOf(s2)),
          `round ${round}`,
        ).to.equal(true);
        // The lots S1 had left went to S2, not away: S2 took the taker that came after.
        if (o2?.status !== "filled") expect(lateMakers, `round ${round}: the second taker found S2`).to.have.length(1);
      } else {
        expect(o2, `round ${round}: a refused amend placed nothing`).to.equal(undefined);
        expect(fills2).to.deep.equal([]);
        expect(o1?.status).to.equal("filled");
        expect(lateMakers, `round ${round}: a filled S1 takes nothing more`).to.deep.equal([]);
      }
      const resting = [s1, s2].filter((o) => k.engine.book(1n)?.get(k.engine.hashOf(o)) !== undefined);
      expect(resting.length, `round ${round}`).to.be.at.most(1);
      const filled = [o1, o2].some((o) => o?.status === "filled");
      if (!filled) expect(resting.length, `round ${round}: neither rests`).to.equal(1);
      await batch(aliceToken, alice.address, [
        { cancel: { hash: k.engine.hashOf(s1) } },
        { cancel: { hash: k.engine.hashOf(s2) } },
      ]);
    }
    // Both branches happen in 16 rounds (a taker of 3 lots first fills S1 whole, so the amend is refused).
    expect(outcomes[0], "amends accepted").to.be.above(0);
    expect(outcomes[1], "amends refused").to.be.above(0);
  });

  it("looks an order up by (maker, nonce), and says the budgets on every answer and in one read", async function () {
    const o = orderOf(alice, { isBuy: false, priceTicks: 260_000n, lots: 2n });
    const placed = await batch(aliceToken, alice.address, [await place(alice, o)]);
    expect(placed.headers.get("x-account-ratelimit-limit")).to.equal("500");
    expect(Number(placed.headers.get("x-account-ratelimit-remaining"))).to.be.below(500);
    const byNonce = await http(
      url,
      "GET",
      `/v1/accounts/${alice.address}/orders/by-nonce/${o.nonce}`,
      undefined,
      bearer(aliceToken),
    );
    expect(byNonce.status).to.equal(200);
    expect(byNonce.body).to.include({ hash: k.engine.hashOf(o), status: "open" });
    const foreign = await http(
      url,
      "GET",
      `/v1/accounts/${alice.address}/orders/by-nonce/${o.nonce}`,
      undefined,
      bearer(bobToken),
    );
    expect(foreign.status).to.equal(403);
    const missing = await http(
      url,
      "GET",
      `/v1/accounts/${alice.address}/orders/by-nonce/123456789`,
      undefined,
      bearer(aliceToken),
    );
    expect(missing.body.error.code).to.equal("ORDER_NOT_FOUND");

    const health = await http(url, "GET", "/v1/health");
    expect(health.headers.get("ratelimit-limit")).to.equal("5000");
    expect(health.headers.get("ratelimit-remaining")).to.match(/^\d+$/);
    expect(health.headers.get("ratelimit-reset")).to.match(/^\d+$/);
    const refused = await http(url, "GET", "/v1/nowhere");
    expect(refused.headers.get("ratelimit-limit")).to.equal("5000");

    const limits = await http(url, "GET", `/v1/accounts/${alice.address}/limits`, undefined, bearer(aliceToken));
    expect(limits.status).to.equal(200);
    expect(limits.body).to.deep.include({
      account: alice.address,
      maxBatchActions: 8,
      maxOpenOrders: 1000,
      openOrders: 1,
    });
    expect(limits.body.rateLimit).to.include({ perSecond: 500, burst: 500 });
    const market = (await http(url, "GET", "/v1/markets/1")).body;
    expect(limits.body.markets[0]).to.include({
      marketId: "1",
      makerFeeBps: market.makerFeeBps,
      takerFeeBps: market.takerFeeBps,
    });
    await batch(aliceToken, alice.address, [{ cancel: { nonce: o.nonce.toString() } }]);
  });

  it("the SDK: submitOrders, amendOrder (throwing the refusal), getOrderByNonce, getLimits", async function () {
    const keeper = createKeeperClient({ url, domain: k.env.sdkDomain });
    await keeper.login({ signer: alice.account });
    const domain = k.env.sdkDomain;
    const sign = async (o: Order) => ({
      order: o,
      signature: await signOrder({ signer: alice.account, order: o, domain }),
    });
    const o1 = orderOf(alice, { isBuy: false, priceTicks: 270_000n, lots: 1n });
    const results = await keeper.submitOrders([{ place: await sign(o1) }, { cancel: { nonce: 424242n } }]);
    expect(results[0]).to.deep.include({ kind: "place", ok: true });
    expect(results[1]).to.include({ kind: "cancel", ok: false, code: "ORDER_NOT_FOUND", status: 404 });
    const o2 = orderOf(alice, { isBuy: false, priceTicks: 271_000n, lots: 1n });
    const { order, replaced } = await keeper.amendOrder({ target: { nonce: o1.nonce }, ...(await sign(o2)) });
    expect(replaced).to.equal(k.engine.hashOf(o1));
    expect(order).to.include({ hash: k.engine.hashOf(o2), status: "open", remainingLots: 1n });
    const again = await keeper
      .amendOrder({ target: { nonce: o1.nonce }, ...(await sign(orderOf(alice, { isBuy: false }))) })
      .catch((e: unknown) => e);
    expect(again).to.be.instanceOf(KeeperApiError);
    expect(again).to.include({ code: "ORDER_NOT_OPEN", status: 409 });
    expect(await keeper.getOrderByNonce(alice.address, o2.nonce)).to.include({ status: "open" });
    const limits = await keeper.getLimits(alice.address);
    expect(limits.maxBatchActions).to.equal(8);
    expect(limits.markets[0]?.marketId).to.equal(1n);
    await keeper.submitOrders([{ cancel: { nonce: o2.nonce } }]);
  });
});

describe("keeper/api: amends never open a quote gap on the public book", function () {
  it("quote gap: the public book never shows fewer of a ladder's levels while it is amended (cancel-then-place does)", async function () {
    // Alice quotes 5 bids and 5 asks of 3 lots in a price range of their own; an observer follows
    // the public book and counts the range's levels after every delta. Twelve requotes move the
    // ladder by a tick or two (the side the mid leaves first), each one batch of ten amends, while
    // Bob's immediate-or-cancel takers of 1 lot race them: 5 and 5 levels at every step. Then one
    // requote the old way (cancel the ten, then place ten) shows that the count does drop.
    // (A keeper of its own: ten actions a batch, and budgets that refill.)
    const k = await startKeeper({ limits: { maxBatchActions: 10 } });
    const [alice, bob] = [await newTrader(k.env), await newTrader(k.env)];
    const aliceToken = await login(k, alice);
    const batch = (token: string, account: string, actions: unknown[]) => batchOn(k, token, account, actions);
    const place = (trader: Trader, o: Order) => placeOn(k, trader, o);
    const amend = (trader: Trader, target: unknown, o: Order) => amendOn(k, trader, target, o);
    try {
      const feed = await FeedClient.open(k.api.wsUrl);
      feed.send({ op: "subscribe", channel: "book", marketId: "1" });
      const replica = new BookReplica();
      replica.applySnapshot(await feed.next((m) => m.type === "snapshot" && m.channel === "book"));
      let applied = feed.messages.length;
      /** The fewest bid and ask levels of the range the book showed over the deltas received so far. */
      const lowest = { bid: Infinity, ask: Infinity };
      const inRange = (side: string, price: bigint) =>
        side === "bid" ? price >= 169_000n && price <= 171_000n : price >= 309_000n && price <= 311_000n;
      const follow = () => {
        for (; applied < feed.messages.length; applied++) {
          const m = feed.messages[applied] as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
          if (m.type !== "delta" || m.channel !== "book") continue;
          expect(replica.applyDelta(m), "the book's deltas come in sequence").to.equal(true);
          for (const side of ["bid", "ask"] as const) {
            const count = [...replica.levels.keys()].filter((key) => {
              const [s, price] = key.split(":");
              return s === side && inRange(side, BigInt(price as string));
            }).length;
            lowest[side] = Math.min(lowest[side], count);
          }
        }
      };
      const ladder = (mid: { bid: bigint; ask: bigint }) =>
        Array.from({ length: 10 }, (_, i) =>
          orderOf(alice, {
            isBuy: i < 5,
            priceTicks: i < 5 ? mid.bid - BigInt(i) : mid.ask + BigInt(i - 5),
            lots: 3n,
            flags: POST_ONLY,
          }),
        );
      let mid = { bid: 170_100n, ask: 310_100n };
      let live = ladder(mid);
      const placed = await batch(aliceToken, alice.address, await Promise.all(live.map((o) => place(alice, o))));
      expect(
        placed.body.results.every((r: { ok: boolean }) => r.ok),
        JSON.stringify(placed.body),
      ).to.equal(true);
      await feed.next((m) => m.type === "delta" && m.levels.length >= 10);
      follow();
      lowest.bid = lowest.ask = Infinity;

      let seed = 7;
      const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
      for (let round = 0; round < 12; round++) {
        const move = BigInt(Math.floor(random() * 5) - 2);
        mid = { bid: mid.bid + move, ask: mid.ask + move };
        const next = ladder(mid);
        // The side the mid moves away from first (each side's orders are in the ladder's order).
        const order = move > 0n ? [5, 6, 7, 8, 9, 0, 1, 2, 3, 4] : [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        const actions = await Promise.all(
          order.map((i) => amend(alice, { hash: k.engine.hashOf(live[i] as Order) }, next[i] as Order)),
        );
        const taker = orderOf(bob, { isBuy: true, priceTicks: mid.ask + 4n, lots: 1n, flags: IMMEDIATE_OR_CANCEL });
        const sends = [
          () => batch(aliceToken, alice.address, actions),
          async () => http(k.api.url, "POST", "/v1/orders", await signedBody(k, bob, taker)),
        ];
        if (random() < 0.5) sends.reverse();
        const answers = await Promise.all(sends.map((send) => send()));
        const amended = answers.find((a) => a.body.results !== undefined);
        expect(
          amended?.body.results.every((r: { ok: boolean }) => r.ok),
          JSON.stringify(amended?.body),
        ).to.equal(true);
        live = next;
        await feed.next((m) => m.type === "delta" && m.levels.length >= 10, 10_000, applied);
        follow();
      }
      expect(lowest, "levels of the ladder on the public book during the amends").to.deep.equal({ bid: 5, ask: 5 });

      // The old way: the ten cancelled in one step, then ten placed in another.
      const replaced = ladder({ bid: mid.bid + 1n, ask: mid.ask + 1n });
      await batch(
        aliceToken,
        alice.address,
        live.map((o) => ({ cancel: { hash: k.engine.hashOf(o) } })),
      );
      await batch(aliceToken, alice.address, await Promise.all(replaced.map((o) => place(alice, o))));
      await feed.next((m) => m.type === "delta" && m.levels.length >= 10, 10_000, applied + 1);
      follow();
      expect(lowest, "cancel-then-place shows an empty ladder between its two steps").to.deep.equal({ bid: 0, ask: 0 });
      await batch(
        aliceToken,
        alice.address,
        replaced.map((o) => ({ cancel: { hash: k.engine.hashOf(o) } })),
      );
      feed.close();
    } finally {
      await k.close();
    }
  });
});
