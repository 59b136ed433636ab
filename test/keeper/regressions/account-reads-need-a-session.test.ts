/**
 * Issue 13, finding 7: any account's open orders, nonces and signatures were public
 * (`GET /v1/accounts/{a}/orders`, `GET /v1/orders/{hash}`), which made the signed login of the
 * private feed pointless. Now per-account reads need the account's session (the feed's EIP-712
 * login, as a bearer token with an expiry), signatures are served to no one, and the public book
 * shows levels only.
 *
 *   alice rests an ask; bob, a stranger and alice herself ask about it:
 *     no session → 401 SESSION_REQUIRED; bob's session → 403 / 404; alice's → 200 without signature
 */
import { expect } from "chai";
import { manualClock } from "../support";
import {
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
} from "../api/support";

describe("regression (issue 13, finding 7): per-account reads need the account's session", function () {
  let k: Keeper;
  let alice: Trader;
  let bob: Trader;
  let hash: string;
  const clock = manualClock();

  before(async () => {
    k = await startKeeper({ api: { clock: clock.now, sessionTtlMs: 60_000 } });
    alice = await newTrader(k.env);
    bob = await newTrader(k.env);
    const placed = await http(
      k.api.url,
      "POST",
      "/v1/orders",
      await signedBody(k, alice, orderOf(alice, { isBuy: false, priceTicks: 300_000n })),
    );
    expect(placed.status).to.equal(201);
    hash = placed.body.hash;
  });

  after(async () => {
    await k?.close();
  });

  it("refuses an account's orders without its session", async () => {
    const none = await http(k.api.url, "GET", `/v1/accounts/${alice.address}/orders`);
    expect([none.status, none.body.error?.code]).to.deep.equal([401, "SESSION_REQUIRED"]);
    const forged = await http(
      k.api.url,
      "GET",
      `/v1/accounts/${alice.address}/orders`,
      undefined,
      bearer("v1.nonsense"),
    );
    expect([forged.status, forged.body.error?.code]).to.deep.equal([401, "SESSION_REQUIRED"]);
    const bobs = await http(
      k.api.url,
      "GET",
      `/v1/accounts/${alice.address}/orders`,
      undefined,
      bearer(await login(k, bob)),
    );
    expect([bobs.status, bobs.body.error?.code]).to.deep.equal([403, "FORBIDDEN"]);
    const own = await http(
      k.api.url,
      "GET",
      `/v1/accounts/${alice.address}/orders`,
      undefined,
      bearer(await login(k, alice)),
    );
    expect(own.status).to.equal(200);
    expect(own.body.orders.map((o: { hash: string }) => o.hash)).to.deep.equal([hash]);
    expect(own.body.orders[0]).to.not.have.property("signature");
  });

  it("shows an order only to its maker, and never its signature", async () => {
    const none = await http(k.api.url, "GET", `/v1/orders/${hash}`);
    expect([none.status, none.body.error?.code]).to.deep.equal([401, "SESSION_REQUIRED"]);
    const bobs = await http(k.api.url, "GET", `/v1/orders/${hash}`, undefined, bearer(await login(k, bob)));
    expect([bobs.status, bobs.body.error?.code]).to.deep.equal([404, "ORDER_NOT_FOUND"]);
    const own = await http(k.api.url, "GET", `/v1/orders/${hash}`, undefined, bearer(await login(k, alice)));
    expect(own.status).to.equal(200);
    expect(own.body).to.include({ hash, status: "open" });
    expect(own.body).to.not.have.property("signature");
  });

  it("ends a session at its expiry", async () => {
    const token = await login(k, alice);
    clock.advance(61_000);
    const late = await http(k.api.url, "GET", `/v1/accounts/${alice.address}/orders`, undefined, bearer(token));
    expect([late.status, late.body.error?.code]).to.deep.equal([401, "SESSION_REQUIRED"]);
  });

  it("sends no signature on the private feed and no account on the public book", async () => {
    const token = await login(k, alice);
    const feed = await FeedClient.open(k.api.wsUrl);
    feed.send({ op: "login", token });
    expect((await feed.next((m) => m.type === "login")).account).to.equal(alice.address);
    feed.send({ op: "subscribe", channel: "orders" });
    const snapshot = await feed.next((m) => m.type === "snapshot" && m.channel === "orders");
    expect(snapshot.orders).to.have.length(1);
    expect(snapshot.orders[0]).to.not.have.property("signature");
    feed.close();
    const book = await http(k.api.url, "GET", "/v1/markets/1/book");
    expect(JSON.stringify(book.body)).to.not.include(alice.address.slice(2).toLowerCase());
    expect(Object.keys(book.body.asks[0]).sort()).to.deep.equal(["lots", "orders", "priceTicks"]);
  });
});
