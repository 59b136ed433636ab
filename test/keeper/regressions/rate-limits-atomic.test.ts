/**
 * Issue 13, finding 4: a request's budget was checked before an `await` and charged after it, so
 * concurrent requests all passed; a proxy's clients all shared the proxy's address; and every IPv6
 * address was a budget of its own (a /64 holds 2^64 of them). Now budgets are checked and charged in
 * one step, `trustProxy` names the proxies whose `X-Forwarded-For` is believed, and IPv6 clients are
 * keyed by their /64.
 */
import { expect } from "chai";
import { clientKey } from "../../../keeper/src/api/rateLimit";
import { manualClock } from "../support";
import { http, newTrader, orderOf, signedBody, startKeeper, type Keeper } from "../api/support";

describe("regression (issue 13, finding 4): rate limits", function () {
  let k: Keeper | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  it("charges an account's budget as it is checked: of 10 concurrent orders, 3 pass a budget of 3", async () => {
    const clock = manualClock();
    k = await startKeeper({ limits: { perAccountPerSecond: 3 }, api: { clock: clock.now } });
    const alice = await newTrader(k.env);
    const bodies = [];
    for (let i = 0; i < 10; i++) {
      bodies.push(await signedBody(k, alice, orderOf(alice, { isBuy: false, priceTicks: 400_000n + BigInt(i) })));
    }
    const answers = await Promise.all(bodies.map((b) => http(k!.api.url, "POST", "/v1/orders", b)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).to.deep.equal([201, 201, 201, 429, 429, 429, 429, 429, 429, 429]);
  });

  it("believes X-Forwarded-For only from a trusted proxy", async () => {
    const clock = manualClock();
    k = await startKeeper({ limits: { perIpPerSecond: 2 }, api: { clock: clock.now, trustProxy: ["127.0.0.1"] } });
    const from = (ip: string) => http(k!.api.url, "GET", "/v1/health", undefined, { "x-forwarded-for": ip });
    expect((await from("203.0.113.1")).status).to.equal(200);
    expect((await from("203.0.113.1")).status).to.equal(200);
    expect((await from("203.0.113.1")).status).to.equal(429);
    expect((await from("203.0.113.2")).status).to.equal(200);
    // A /64 is one client: its addresses share a budget.
    expect((await from("2001:db8:1:2::1")).status).to.equal(200);
    expect((await from("2001:db8:1:2:ffff::9")).status).to.equal(200);
    expect((await from("2001:db8:1:2:abcd::7")).status).to.equal(429);
    expect((await from("2001:db8:1:3::1")).status).to.equal(200);
  });

  it("ignores X-Forwarded-For by default", async () => {
    const clock = manualClock();
    k = await startKeeper({ limits: { perIpPerSecond: 2 }, api: { clock: clock.now } });
    const from = (ip: string) => http(k!.api.url, "GET", "/v1/health", undefined, { "x-forwarded-for": ip });
    expect([(await from("203.0.113.1")).status, (await from("203.0.113.2")).status]).to.deep.equal([200, 200]);
    expect((await from("203.0.113.3")).status).to.equal(429);
  });

  it("keys IPv6 clients by /64 and IPv4 (mapped or not) by address", () => {
    expect(clientKey("2001:db8:1:2:aaaa::1")).to.equal(clientKey("2001:0db8:0001:0002:bbbb:0:0:2"));
    expect(clientKey("2001:db8:1:2::1")).to.not.equal(clientKey("2001:db8:1:3::1"));
    expect(clientKey("::ffff:192.0.2.7")).to.equal(clientKey("192.0.2.7"));
    expect(clientKey("192.0.2.7")).to.not.equal(clientKey("192.0.2.8"));
  });
});
