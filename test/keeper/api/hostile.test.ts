import { request } from "node:http";
/**
 * Every rejection code the API can reach, table-driven, and a bad-input corpus against a running
 * keeper: after it, the keeper still answers and every order it accepted is in the store and the book.
 */
import { expect } from "chai";
import type { Hex } from "viem";
import { signOrder, type Order } from "@crossbook/sdk";
import { manualClock } from "../support";
import {
  FeedClient,
  bearer,
  cancelBody,
  http,
  login,
  newTrader,
  orderOf,
  signedBody,
  startKeeper,
  wireOrder,
  type Keeper,
  type Trader,
} from "./support";

describe("keeper/api: rejection codes and hostile input", function () {
  let k: Keeper;
  let alice: Trader;
  let poor: Trader;
  let url: string;
  const accepted: Hex[] = [];

  let aliceSession: Record<string, string>;

  before(async function () {
    // 1,000 WebSockets (each an HTTP connection until it upgrades) and hundreds of requests at once
    // from this test's one address: the caps per address are raised for it.
    k = await startKeeper({ limits: { maxClientsPerIp: 1_100, maxHttpConnectionsPerIp: 1_100 } });
    url = k.api.url;
    alice = await newTrader(k.env);
    poor = await newTrader(k.env, 0n, 0n);
    aliceSession = bearer(await login(k, alice));
  });

  after(async function () {
    await k?.close();
  });

  const post = (path: string, body: unknown, headers?: Record<string, string>) =>
    http(url, "POST", path, body, headers);

  it("answers every reachable rejection code with its status and the error body", async function () {
    const resting = orderOf(alice, { isBuy: false, priceTicks: 300_000n, lots: 5n });
    const restingBody = await signedBody(k, alice, resting);
    const first = await post("/v1/orders", restingBody);
    expect(first.status).to.equal(201);
    accepted.push(first.body.hash);

    const tampered = await signedBody(k, alice, orderOf(alice, { isBuy: true, priceTicks: 1_000n }));
    tampered.order.lots = "11";
    const otherDomain = orderOf(alice, { isBuy: true, priceTicks: 1_000n });
    const otherDomainBody = {
      order: wireOrder(otherDomain),
      signature: await signOrder({
        signer: alice.account,
        order: otherDomain,
        domain: { chainId: 1, verifyingContract: k.env.addresses.exchange },
      }),
    };
    const sameNonce: Order = { ...resting, priceTicks: 310_000n };
    const huge = "x".repeat(20_000);

    const cases: [string, () => Promise<{ status: number; body: any }>, number, string][] = [
      ["malformed JSON", () => post("/v1/orders", "{"), 400, "BAD_JSON"],
      ["empty JSON body", () => post("/v1/orders", ""), 400, "BAD_JSON"],
      ["prototype poisoning", () => post("/v1/orders", '{"__proto__":{"x":1}}'), 400, "BAD_JSON"],
      ["a missing field", () => post("/v1/orders", { order: {} }), 400, "BAD_REQUEST"],
      ["an unknown field", () => post("/v1/orders", { ...restingBody, extra: 1 }), 400, "BAD_REQUEST"],
      [
        "lots = 2^64",
        () => post("/v1/orders", { ...restingBody, order: { ...restingBody.order, lots: (2n ** 64n).toString() } }),
        400,
        "BAD_REQUEST",
      ],
      [
        "negative lots",
        () => post("/v1/orders", { ...restingBody, order: { ...restingBody.order, lots: "-1" } }),
        400,
        "BAD_REQUEST",
      ],
      [
        "lots as 1e3",
        () => post("/v1/orders", { ...restingBody, order: { ...restingBody.order, lots: "1e3" } }),
        400,
        "BAD_REQUEST",
      ],
      [
        "an unsafe JSON number",
        () =>
          post(
            "/v1/orders",
            `{"order":${JSON.stringify({ ...restingBody.order }).replace('"lots":"5"', '"lots":9007199254740993')},"signature":"${restingBody.signature}"}`,
          ),
        400,
        "BAD_REQUEST",
      ],
      [
        "a string for isBuy",
        () => post("/v1/orders", { ...restingBody, order: { ...restingBody.order, isBuy: "false" } }),
        400,
        "BAD_REQUEST",
      ],
      [
        "unicode digits",
        () => post("/v1/orders", { ...restingBody, order: { ...restingBody.order, lots: "５" } }),
        400,
        "BAD_REQUEST",
      ],
      [
        "a bad address",
        () => post("/v1/orders", { ...restingBody, order: { ...restingBody.order, maker: "0xZZ" } }),
        400,
        "BAD_REQUEST",
      ],
      [
        "zero lots",
        async () => post("/v1/orders", await signedBody(k, alice, orderOf(alice, { isBuy: true, lots: 0n }))),
        400,
        "ZERO_LOTS",
      ],
      [
        "unknown flag bits",
        async () => post("/v1/orders", await signedBody(k, alice, orderOf(alice, { isBuy: true, flags: 64n }))),
        400,
        "INVALID_FLAGS",
      ],
      [
        "a zero price",
        async () => post("/v1/orders", await signedBody(k, alice, orderOf(alice, { isBuy: true, priceTicks: 0n }))),
        400,
        "ZERO_PRICE",
      ],
      ["a tampered order", () => post("/v1/orders", tampered), 401, "BAD_SIGNATURE"],
      ["a signature for another chain", () => post("/v1/orders", otherDomainBody), 401, "BAD_SIGNATURE"],
      ["an unknown route", () => http(url, "GET", "/v1/nothing"), 404, "NOT_FOUND"],
      [
        "an order without a session",
        () => http(url, "GET", `/v1/orders/0x${"ab".repeat(32)}`),
        401,
        "SESSION_REQUIRED",
      ],
      [
        "an unknown order",
        () => http(url, "GET", `/v1/orders/0x${"ab".repeat(32)}`, undefined, aliceSession),
        404,
        "ORDER_NOT_FOUND",
      ],
      [
        "another account's orders",
        () => http(url, "GET", `/v1/accounts/${poor.address}/orders`, undefined, aliceSession),
        403,
        "FORBIDDEN",
      ],
      [
        "a session from a challenge the keeper never gave",
        () =>
          post("/v1/sessions", {
            account: alice.address,
            challenge: `0x${"12".repeat(32)}`,
            signature: `0x${"22".repeat(65)}`,
          }),
        401,
        "SESSION_REQUIRED",
      ],
      ["a bad order hash", () => http(url, "GET", "/v1/orders/0x1234"), 400, "BAD_REQUEST"],
      ["an unserved market's book", () => http(url, "GET", "/v1/markets/2/book"), 404, "MARKET_NOT_SERVED"],
      ["a bad depth", () => http(url, "GET", "/v1/markets/1/book?depth=0"), 400, "BAD_REQUEST"],
      ["an unknown query parameter", () => http(url, "GET", "/v1/markets/1/book?deep=1"), 400, "BAD_REQUEST"],
      ["GET on a POST route", () => http(url, "GET", "/v1/orders"), 405, "METHOD_NOT_ALLOWED"],
      ["DELETE on an order", () => http(url, "DELETE", `/v1/orders/0x${"ab".repeat(32)}`), 405, "METHOD_NOT_ALLOWED"],
      ["the same order twice", () => post("/v1/orders", restingBody), 409, "DUPLICATE_ORDER"],
      [
        "another order under an open nonce",
        async () => post("/v1/orders", await signedBody(k, alice, sameNonce)),
        409,
        "DUPLICATE_NONCE",
      ],
      ["a 20 KB body", () => post("/v1/orders", `{"a":"${huge}"}`), 413, "BODY_TOO_LARGE"],
      ["text/plain", () => post("/v1/orders", "{}", { "content-type": "text/plain" }), 415, "UNSUPPORTED_MEDIA_TYPE"],
      ["no content type", () => http(url, "POST", "/v1/orders"), 415, "UNSUPPORTED_MEDIA_TYPE"],
      [
        "an expired order",
        async () =>
          post(
            "/v1/orders",
            await signedBody(k, alice, orderOf(alice, { isBuy: true, priceTicks: 1_000n, expiry: 1_000n })),
          ),
        422,
        "EXPIRED",
      ],
      [
        "a max fee below the market's",
        async () =>
          post(
            "/v1/orders",
            await signedBody(k, alice, orderOf(alice, { isBuy: true, priceTicks: 1_000n, maxFeeBps: 0n })),
          ),
        422,
        "MAX_FEE_TOO_LOW",
      ],
      [
        "an unfunded maker",
        async () => post("/v1/orders", await signedBody(k, poor, orderOf(poor, { isBuy: true, priceTicks: 1_000n }))),
        422,
        "INSUFFICIENT_BALANCE",
      ],
      [
        "a post-only order that crosses",
        async () =>
          post(
            "/v1/orders",
            await signedBody(k, alice, orderOf(alice, { isBuy: true, priceTicks: 300_000n, flags: 1n })),
          ),
        422,
        "POST_ONLY_WOULD_CROSS",
      ],
      [
        "a fill-or-kill the book cannot fill",
        async () =>
          post(
            "/v1/orders",
            await signedBody(k, alice, orderOf(alice, { isBuy: true, priceTicks: 1_000n, flags: 4n })),
          ),
        422,
        "FILL_OR_KILL_UNFILLABLE",
      ],
      [
        "an unserved market",
        async () => post("/v1/orders", await signedBody(k, alice, orderOf(alice, { isBuy: true, marketId: 2n }))),
        404,
        "MARKET_NOT_SERVED",
      ],
      [
        "a stale cancel",
        async () => post("/v1/cancels", await cancelBody(k, alice, [first.body.hash], BigInt(Date.now() - 400_000))),
        422,
        "CANCEL_EXPIRED",
      ],
      [
        "a cancel from the future",
        async () => post("/v1/cancels", await cancelBody(k, alice, [first.body.hash], BigInt(Date.now() + 400_000))),
        422,
        "CANCEL_EXPIRED",
      ],
      [
        "a cancel signed by someone else",
        async () => {
          const b = await cancelBody(k, poor, [first.body.hash]);
          return post("/v1/cancels", { ...b, cancel: { ...b.cancel, maker: alice.address } });
        },
        401,
        "BAD_CANCEL_SIGNATURE",
      ],
      [
        "a cancel with a tampered hash list",
        async () => {
          const b = await cancelBody(k, alice, [first.body.hash]);
          return post("/v1/cancels", { ...b, cancel: { ...b.cancel, orderHashes: [`0x${"cd".repeat(32)}`] } });
        },
        401,
        "BAD_CANCEL_SIGNATURE",
      ],
      [
        "a signed cancel used twice",
        async () => {
          const b = await cancelBody(k, alice, [`0x${"ef".repeat(32)}`]);
          await post("/v1/cancels", b);
          return post("/v1/cancels", b);
        },
        409,
        "CANCEL_REPLAYED",
      ],
      [
        "101 hashes in a cancel",
        async () =>
          post(
            "/v1/cancels",
            await cancelBody(
              k,
              alice,
              Array.from({ length: 101 }, () => first.body.hash),
            ),
          ),
        400,
        "BAD_REQUEST",
      ],
    ];
    for (const [name, run, status, code] of cases) {
      const answer = await run();
      expect(answer.status, `${name}: ${JSON.stringify(answer.body)}`).to.equal(status);
      expect(answer.body.error.code, name).to.equal(code);
      expect(answer.body.error.message, name).to.be.a("string").and.not.equal("");
    }
    // The 405 names what is allowed.
    expect((await http(url, "GET", "/v1/orders")).headers.get("allow")).to.equal("POST");
    // A refusal the risk check made is not stored, but its maker can still read it for a while.
    const rejected = await post(
      "/v1/orders",
      await signedBody(k, poor, orderOf(poor, { isBuy: true, priceTicks: 2_000n })),
    );
    const hash = rejected.body.error.details.hash;
    expect(k.store.getOrder(hash)).to.equal(undefined);
    const status = await http(url, "GET", `/v1/orders/${hash}`, undefined, bearer(await login(k, poor)));
    expect(status.body).to.include({ status: "rejected", reason: "INSUFFICIENT_BALANCE" });
  });

  it("rate-limits per account and per IP with 429 and Retry-After, and reports readiness", async function () {
    const clock = manualClock();
    const limited = await startKeeper({
      env: k.env,
      limits: { perAccountPerSecond: 3, perIpPerSecond: 40 },
      isReady: () => ({ ready: false, missing: ["chain"] }),
      api: { clock: clock.now },
    });
    try {
      const body = await signedBody(limited, alice, orderOf(alice, { isBuy: true, priceTicks: 1_000n, maxFeeBps: 0n }));
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await http(limited.api.url, "POST", "/v1/orders", body));
      // A refused order may come again (and is refused again) until the account's budget is spent.
      expect(answers.map((a) => a.status)).to.deep.equal([422, 422, 422, 429, 429]);
      expect(answers[3].body.error.code).to.equal("RATE_LIMITED");
      expect(Number(answers[3].headers.get("retry-after"))).to.be.at.least(1);
      // The clock stands still: 35 tokens are left of 40, so the 36th request is refused, exactly;
      // then the address is not read until Retry-After has passed (regressions/floods-are-not-read).
      const many = [];
      for (let i = 0; i < 36; i++) many.push((await http(limited.api.url, "GET", "/v1/health")).status);
      expect(many).to.deep.equal([...Array(35).fill(200), 429]);
      clock.advance(1_100); // a second later the budget is full again, and the address is read again
      const ready = await http(limited.api.url, "GET", "/v1/ready");
      expect(ready.status).to.equal(503);
      expect(ready.body.error.code).to.equal("NOT_READY");
      expect(ready.body.error.details).to.deep.include({ missing: ["chain"], role: "leader" });
    } finally {
      await limited.close();
    }
  });

  it("charges unsigned requests to the address that sent them, not to the account they name, and forgets them", async () => {
    const clock = manualClock();
    const guarded = await startKeeper({
      env: k.env,
      limits: { perAccountPerSecond: 20, perIpBadSignaturesPerSecond: 20 },
      // The budgets read this clock, which stands still: no refill while the test runs, however slow the machine.
      api: { clock: clock.now },
    });
    try {
      const victim = await newTrader(k.env);
      const resting = orderOf(victim, { isBuy: false, priceTicks: 300_000n, lots: 1n });
      const placed = await http(guarded.api.url, "POST", "/v1/orders", await signedBody(guarded, victim, resting));
      expect(placed.status).to.equal(201);
      // An attacker on another loopback address names the victim in orders it cannot sign.
      const statuses: number[] = [];
      // (The first refusal for the spent budget is the last answer: the address is then not read
      // until Retry-After has passed, which this clock never reaches.)
      for (let i = 0; i < 21; i++) {
        const junk = { ...resting, nonce: 10_000n + BigInt(i) };
        const body = JSON.stringify({ order: wireOrder(junk), signature: "0x" + "22".repeat(65) });
        statuses.push(await postFrom("127.0.0.2", guarded.api.url, "/v1/orders", body));
      }
      expect(statuses).to.deep.equal([...Array(20).fill(401), 429]); // the bad-signature budget
      // The victim, from its own address, still cancels; none of the junk was stored.
      const cancel = await http(
        guarded.api.url,
        "POST",
        "/v1/cancels",
        await cancelBody(guarded, victim, [placed.body.hash]),
      );
      expect(cancel.status).to.equal(200);
      expect(cancel.body.results[0].outcome).to.equal("cancelled");
      expect(guarded.store.ordersOf(victim.address)).to.have.length(1);
    } finally {
      await guarded.close();
    }
  });

  it("survives a corpus of bad input and 1,000 WebSockets, then still answers with every accepted order in store and book", async function () {
    const bob = await newTrader(k.env);
    const bobSession = bearer(await login(k, bob));
    // Good orders interleaved with garbage.
    const corpus: unknown[] = [
      "null",
      "[]",
      '"string"',
      "1",
      "{".repeat(5_000),
      "[".repeat(5_000),
      '{"order":null,"signature":null}',
      JSON.stringify({ order: { maker: "0x" + "0".repeat(40) }, signature: "0x" }),
      JSON.stringify({ order: { lots: 1e308 }, signature: "0x00" }),
      "\u0000\u0001\u0002",
      '{"order":"\u{1F4A5}"}',
      Buffer.from([0xff, 0xfe, 0xfd]).toString("latin1"),
    ];
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      const o = orderOf(bob, {
        isBuy: i % 2 === 0,
        priceTicks: i % 2 === 0 ? 150_000n - BigInt(i) : 350_000n + BigInt(i),
        lots: 1n,
      });
      work.push(
        signedBody(k, bob, o).then(async (b) => {
          const a = await post("/v1/orders", b);
          if (a.status === 201) accepted.push(a.body.hash);
          return a;
        }),
      );
      for (const c of corpus) work.push(post("/v1/orders", c as string));
    }
    // A replayed order signature on a different order, and a signature of the wrong length.
    const replayed = await signedBody(k, bob, orderOf(bob, { isBuy: true, priceTicks: 1_000n }));
    const other = orderOf(bob, { isBuy: true, priceTicks: 1_001n });
    work.push(post("/v1/orders", { order: wireOrder(other), signature: replayed.signature }));
    work.push(post("/v1/orders", { ...replayed, signature: replayed.signature.slice(0, 100) }));
    const answers = (await Promise.all(work)) as { status: number; body: any }[];
    for (const a of answers) {
      expect(a.status, JSON.stringify(a.body)).to.be.oneOf([201, 400, 401, 413]);
      if (a.status !== 201) expect(a.body.error.code).to.be.a("string");
    }

    // 1,000 WebSockets at once, each subscribed to the book.
    const sockets = await Promise.all(Array.from({ length: 1_000 }, () => FeedClient.open(k.api.wsUrl)));
    expect(k.api.feed.clientCount).to.be.at.least(1_000);
    for (const s of sockets) s.send({ op: "subscribe", channel: "book", marketId: "1" });
    await Promise.all(sockets.map((s) => s.next((m) => m.type === "snapshot")));
    const one = orderOf(bob, { isBuy: false, priceTicks: 500_000n, lots: 1n });
    const placed = await post("/v1/orders", await signedBody(k, bob, one));
    expect(placed.status).to.equal(201);
    accepted.push(placed.body.hash);
    await Promise.all(sockets.map((s) => s.next((m) => m.type === "delta")));
    for (const s of sockets) s.close();
    await Promise.all(sockets.map((s) => s.closed));

    // Still up, and nothing accepted was lost.
    expect((await http(url, "GET", "/v1/health")).status).to.equal(200);
    const book = k.engine.book(1n)!;
    for (const hash of accepted) {
      const stored = k.store.getOrder(hash);
      expect(stored, hash).to.not.equal(undefined);
      expect(stored!.status).to.be.oneOf(["open", "partially-filled"]);
      expect(book.get(hash), hash).to.not.equal(undefined);
      const maker = stored!.order.maker === bob.address ? bobSession : aliceSession;
      expect((await http(url, "GET", `/v1/orders/${hash}`, undefined, maker)).status).to.equal(200);
    }
    expect(accepted.length).to.equal(22);
  });
});

/** POSTs a JSON body from a given local address (another loopback address is another client IP). */
function postFrom(localAddress: string, base: string, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(base + path);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        localAddress,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
