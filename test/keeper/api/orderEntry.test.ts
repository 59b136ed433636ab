/**
 * Order entry on the feed (issue 16): after the signed login, `place`, `cancel`, `amend` and `batch`
 * on the WebSocket, each answered by `{ type: "result", id }` with the status and body HTTP gives the
 * same request — one code path (`keeper/src/api/orderEntry.ts`) — over a real keeper and real sockets.
 *
 *   alice (logged in on the feed) ──place/cancel/amend/batch──▶ keeper ◀──same requests── HTTP
 *   alice's login, bob's order or bob's batch                    → FORBIDDEN
 *   a connection that has not logged in                          → NOT_LOGGED_IN
 */
import { expect } from "chai";
import type { Hex } from "viem";
import type { Order } from "@crossbook/sdk";
import { manualClock } from "../support";
import {
  FeedClient,
  bearer,
  cancelBody,
  feedLogin,
  http,
  login,
  newTrader,
  orderOf,
  signedBody,
  startKeeper,
  type Keeper,
  type Trader,
} from "./support";

/** The account budget of this keeper: small, so that the test can spend it. */
const PER_ACCOUNT = 12;

describe("keeper/api: order entry on the feed answers as HTTP does", function () {
  let k: Keeper;
  let alice: Trader;
  let bob: Trader;
  let feed: FeedClient;
  let aliceToken: string;
  let nextId = 1;
  const clock = manualClock();

  before(async function () {
    // The API's clock moves only when the test moves it: budgets refill when it says so.
    k = await startKeeper({ limits: { perAccountPerSecond: PER_ACCOUNT }, api: { clock: clock.now } });
    alice = await newTrader(k.env);
    bob = await newTrader(k.env);
    aliceToken = await login(k, alice);
    feed = await FeedClient.open(k.api.wsUrl);
    await feedLogin(feed, k, alice);
  });

  beforeEach(function () {
    clock.advance(2_000); // every budget full again
  });

  after(async function () {
    feed?.close();
    await k?.close();
  });

  /** Sends an order-entry message on `on` and waits for its result. */
  async function ws(op: string, body: object, on: FeedClient = feed) {
    const id = `t${nextId++}`;
    on.send({ op, id, ...body });
    const result = await on.next((m) => m.type === "result" && m.id === id);
    return { status: result.status as number, body: result.body, retryAfterSeconds: result.retryAfterSeconds };
  }
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    http(k.api.url, "POST", path, body, headers);
  /** Status and code, as a refusal is compared across the two transports. */
  const codeOf = (a: { status: number; body: { error?: { code: string } } }) => [a.status, a.body.error?.code];

  it("places an order: 201 with the order's state, as POST /v1/orders answers", async function () {
    const ask = orderOf(alice, { isBuy: false, priceTicks: 230_000n, lots: 3n });
    const overWs = await ws("place", await signedBody(k, alice, ask));
    expect(overWs.status, JSON.stringify(overWs.body)).to.equal(201);
    const other = orderOf(alice, { isBuy: false, priceTicks: 230_000n, lots: 3n });
    const overHttp = await post("/v1/orders", await signedBody(k, alice, other));
    expect(overHttp.status).to.equal(201);
    expect(Object.keys(overWs.body).sort()).to.deep.equal(Object.keys(overHttp.body).sort());
    expect(overWs.body).to.include({ status: "open", remainingLots: "3", filledLots: "0" });
    expect(k.store.committed.getOrder(overWs.body.hash)?.status).to.equal("open");
  });

  it("refuses what HTTP refuses with the same status, code and message", async function () {
    const o = orderOf(alice, { isBuy: false, priceTicks: 231_000n, lots: 2n });
    const placed = await post("/v1/orders", await signedBody(k, alice, o));
    expect(placed.status).to.equal(201);
    const zeroLots = orderOf(alice, { isBuy: false, lots: 0n });
    const badField = { order: { ...(await signedBody(k, alice, o)).order, lots: "-1" }, signature: "0x00" };
    const cases: [string, string, object][] = [
      ["a duplicate", "/v1/orders", await signedBody(k, alice, o)],
      ["no lots", "/v1/orders", await signedBody(k, alice, zeroLots)],
      ["a bad field", "/v1/orders", badField],
    ];
    for (const [what, path, body] of cases) {
      const overHttp = await post(path, body);
      const overWs = await ws("place", body);
      expect(overHttp.status, what).to.be.greaterThanOrEqual(400);
      expect(codeOf(overWs), what).to.deep.equal(codeOf(overHttp));
      expect(overWs.body.error.message, what).to.equal(overHttp.body.error.message);
    }
    expect(codeOf(await ws("place", badField))).to.deep.equal([400, "BAD_REQUEST"]);
  });

  it("cancels with a signed CancelOrders, and refuses its replay over either transport", async function () {
    const o = orderOf(alice, { isBuy: false, priceTicks: 232_000n, lots: 2n });
    const placed = await ws("place", await signedBody(k, alice, o));
    const hash = placed.body.hash as Hex;
    const cancel = await cancelBody(k, alice, [hash], BigInt(clock.now()));
    const overWs = await ws("cancel", cancel);
    expect(overWs.status).to.equal(200);
    expect(overWs.body).to.deep.equal({ results: [{ hash, outcome: "cancelled" }] });
    expect(k.store.committed.getOrder(hash)?.reason).to.equal("soft-cancel");
    const replayed = await post("/v1/cancels", cancel);
    expect(codeOf(replayed)).to.deep.equal([409, "CANCEL_REPLAYED"]);
    expect(codeOf(await ws("cancel", cancel))).to.deep.equal([409, "CANCEL_REPLAYED"]);
  });

  it("amends by nonce in one step: the old order cancelled as amended, the new one open", async function () {
    const old = orderOf(alice, { isBuy: false, priceTicks: 233_000n, lots: 2n });
    const placed = await ws("place", await signedBody(k, alice, old));
    const requote = orderOf(alice, { isBuy: false, priceTicks: 234_000n, lots: 2n });
    const amended = await ws("amend", {
      target: { nonce: old.nonce.toString() },
      ...(await signedBody(k, alice, requote)),
    });
    expect(amended.status, JSON.stringify(amended.body)).to.equal(200);
    const [result] = amended.body.results;
    expect(result).to.include({ kind: "amend", ok: true, replaced: placed.body.hash });
    expect(k.store.committed.getOrder(placed.body.hash)?.reason).to.equal("amended");
    expect(k.store.committed.getOrder(result.order.hash)?.status).to.equal("open");
    // An amend of an order no longer open is refused as the same batch over HTTP refuses it.
    const again = orderOf(alice, { isBuy: false, priceTicks: 235_000n, lots: 2n });
    const overWs = await ws("amend", {
      target: { nonce: old.nonce.toString() },
      ...(await signedBody(k, alice, again)),
    });
    const overHttp = await post(
      "/v1/orders/batch",
      {
        account: alice.address,
        actions: [{ amend: { target: { nonce: old.nonce.toString() }, ...(await signedBody(k, alice, again)) } }],
      },
      bearer(aliceToken),
    );
    expect(overWs.body.results[0]).to.deep.equal(overHttp.body.results[0]);
    expect(overWs.body.results[0]).to.include({ ok: false, status: 409, code: "ORDER_NOT_OPEN" });
  });

  it("batches places and cancels of the logged-in account, each answered on its own", async function () {
    const resting = orderOf(alice, { isBuy: false, priceTicks: 235_500n, lots: 2n });
    expect((await ws("place", await signedBody(k, alice, resting))).status).to.equal(201);
    const a = orderOf(alice, { isBuy: false, priceTicks: 236_000n, lots: 2n });
    const b = orderOf(alice, { isBuy: false, priceTicks: 237_000n, lots: 2n });
    const answer = await ws("batch", {
      actions: [
        { place: await signedBody(k, alice, a) },
        { place: await signedBody(k, alice, b) },
        { cancel: { nonce: resting.nonce.toString() } },
        { cancel: { nonce: "999999" } },
      ],
    });
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    expect(answer.body.results.map((r: { kind: string; ok: boolean }) => [r.kind, r.ok])).to.deep.equal([
      ["place", true],
      ["place", true],
      ["cancel", true],
      ["cancel", false],
    ]);
    expect(answer.body.results[3]).to.include({ status: 404, code: "ORDER_NOT_FOUND" });
  });

  it("refuses another account's order, cancel and batch on alice's login with FORBIDDEN", async function () {
    const bobs: Order = orderOf(bob, { isBuy: false, priceTicks: 238_000n, lots: 2n });
    const place = await ws("place", await signedBody(k, bob, bobs));
    expect(codeOf(place)).to.deep.equal([403, "FORBIDDEN"]);
    expect(k.store.committed.orderByNonce(bob.address, bobs.nonce)).to.equal(undefined);
    const cancel = await ws("cancel", await cancelBody(k, bob, [`0x${"11".repeat(32)}`], BigInt(clock.now())));
    expect(codeOf(cancel)).to.deep.equal([403, "FORBIDDEN"]);
    const batch = await ws("batch", { account: bob.address, actions: [{ place: await signedBody(k, bob, bobs) }] });
    expect(codeOf(batch)).to.deep.equal([403, "FORBIDDEN"]);
    // Over HTTP, alice's session cannot batch bob's orders either: the same code.
    const overHttp = await post(
      "/v1/orders/batch",
      { account: bob.address, actions: [{ place: await signedBody(k, bob, bobs) }] },
      bearer(aliceToken),
    );
    expect(codeOf(overHttp)).to.deep.equal(codeOf(batch));
  });

  it("answers a connection that has not logged in NOT_LOGGED_IN, and changes nothing", async function () {
    const stranger = await FeedClient.open(k.api.wsUrl);
    try {
      const o = orderOf(alice, { isBuy: false, priceTicks: 239_000n, lots: 2n });
      for (const [op, body] of [
        ["place", await signedBody(k, alice, o)],
        ["batch", { actions: [{ place: await signedBody(k, alice, o) }] }],
        ["cancelOnDisconnect", { enabled: true }],
      ] as const) {
        const answer = await ws(op, body, stranger);
        expect(codeOf(answer), op).to.deep.equal([401, "NOT_LOGGED_IN"]);
      }
      expect(k.store.committed.orderByNonce(alice.address, o.nonce)).to.equal(undefined);
    } finally {
      stranger.close();
    }
  });

  it("charges the account's budget as HTTP does: spent over the feed, refused over both", async function () {
    let answer = { status: 0, body: {} as { error?: { code: string } }, retryAfterSeconds: undefined as unknown };
    let accepted = 0;
    for (let i = 0; i <= PER_ACCOUNT && answer.status !== 429; i++) {
      const o = orderOf(alice, { isBuy: true, priceTicks: 100_000n + BigInt(i), lots: 1n });
      answer = await ws("place", await signedBody(k, alice, o));
      if (answer.status === 201) accepted++;
    }
    expect(accepted).to.equal(PER_ACCOUNT);
    expect(codeOf(answer as never)).to.deep.equal([429, "RATE_LIMITED"]);
    expect(answer.retryAfterSeconds).to.be.a("number");
    const overHttp = await post(
      "/v1/orders",
      await signedBody(k, alice, orderOf(alice, { isBuy: true, priceTicks: 99_000n, lots: 1n })),
    );
    expect(codeOf(overHttp)).to.deep.equal([429, "RATE_LIMITED"]);
    clock.advance(1_000);
    const refilled = await ws(
      "place",
      await signedBody(k, alice, orderOf(alice, { isBuy: true, priceTicks: 98_000n, lots: 1n })),
    );
    expect(refilled.status).to.equal(201);
  });
});
