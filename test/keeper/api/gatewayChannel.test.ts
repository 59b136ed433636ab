import { expect } from "chai";
import WebSocket from "ws";
import { hashOrder, type Order } from "@crossbook/sdk";
import {
  CLUSTER_SECRET_HEADER,
  GATEWAY_CHANNEL_PATH,
  GATEWAY_FEED_PATH,
  type ForwardedAnswer,
  type ForwardedRequest,
} from "../../../keeper/src/api/gatewayChannel";
import { ShardLink } from "../../../keeper/src/cluster/shardLinks";
import { manualClock } from "../support";
import {
  bearer,
  cancelAllBody,
  cancelBody,
  FeedClient,
  http,
  login,
  newTrader,
  orderOf,
  signedBody,
  startKeeper,
  startVouchingKeeper,
  wireOrder,
  type Keeper,
  type Trader,
} from "./support";

const SECRET = "a cluster secret for the tests";

/** Opens the channel with `secret`; resolves with the socket, or rejects with the upgrade's status. */
function openChannel(k: Keeper, secret?: string): Promise<WebSocket> {
  const url = `${k.api.url.replace("http", "ws")}${GATEWAY_CHANNEL_PATH}`;
  const ws = new WebSocket(url, { headers: secret === undefined ? {} : { [CLUSTER_SECRET_HEADER]: secret } });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

function forward(ws: WebSocket, frame: ForwardedRequest): Promise<ForwardedAnswer> {
  return new Promise((resolve) => {
    const onMessage = (data: Buffer) => {
      const answer = JSON.parse(data.toString()) as ForwardedAnswer;
      if (answer.id !== frame.id) return;
      ws.off("message", onMessage);
      resolve(answer);
    };
    ws.on("message", onMessage);
    ws.send(JSON.stringify(frame));
  });
}

describe("keeper API: the gateways' channel (cluster secret only)", function () {
  this.timeout(120_000);
  let k: Keeper;
  let trader: Trader;
  /** Signatures the engine recovered itself, by order hash. */
  let recoveredHere: string[];

  before(async () => {
    ({ k, recoveredHere } = await startVouchingKeeper(SECRET));
    trader = await newTrader(k.env);
  });
  after(async () => k?.close());

  it("refuses the upgrade without the secret or with another one", async () => {
    expect(await openChannel(k).catch((e: Error) => e.message)).to.equal("status 403");
    expect(await openChannel(k, "not the secret").catch((e: Error) => e.message)).to.equal("status 403");
  });

  it("runs a forwarded order through the keeper's routes and believes the gateway's signer", async () => {
    const ws = await openChannel(k, SECRET);
    try {
      const order = orderOf(trader, { isBuy: true, priceTicks: 190_000n });
      const answer = await forward(ws, {
        id: 7,
        method: "POST",
        url: "/v1/orders",
        headers: { "content-type": "application/json" },
        body: await signedBody(k, trader, order),
        client: "10.1.2.3",
        signer: trader.address,
      });
      expect(answer.id).to.equal(7);
      expect(answer.status).to.equal(201);
      const hash = hashOrder({ order, domain: k.env.sdkDomain });
      expect((answer.body as { hash: string }).hash).to.equal(hash);
      expect(recoveredHere).to.not.include(hash); // the keeper did not recover it again

      // A read, and a refusal with its code, come back as they are.
      const book = await forward(ws, { id: 8, method: "GET", url: "/v1/markets/1/book", client: "10.1.2.3" });
      expect(book.status).to.equal(200);
      expect((book.body as { bids: unknown[] }).bids).to.have.length(1);
      const missing = await forward(ws, { id: 9, method: "GET", url: "/v1/markets/9/book", client: "10.1.2.3" });
      expect(missing.status).to.equal(404);
      expect((missing.body as { error: { code: string } }).error.code).to.equal("MARKET_NOT_SERVED");
    } finally {
      ws.close();
    }
  });

  it("never believes a signer that a client sends over HTTP", async () => {
    const order = orderOf(trader, { isBuy: true, priceTicks: 180_000n });
    const body = await signedBody(k, trader, order);
    const withField = await http(k.api.url, "POST", "/v1/orders", { ...body, signer: trader.address });
    expect(withField.status).to.equal(400);
    const res = await http(k.api.url, "POST", "/v1/orders", body, { "x-crossbook-signer": trader.address });
    expect(res.status).to.equal(201);
    expect(recoveredHere).to.include(hashOrder({ order, domain: k.env.sdkDomain })); // recovered here
  });

  it("believes the signers a gateway adds to order entry on the feed it relays, and on no other feed", async () => {
    const token = await login(k, trader);
    const feedUrl = k.api.url.replace("http", "ws");
    const relayed = await FeedClient.open(`${feedUrl}${GATEWAY_FEED_PATH}?client=10.1.2.5`, {
      headers: { [CLUSTER_SECRET_HEADER]: SECRET },
    });
    const own = await FeedClient.open(`${feedUrl}/v1/ws`);
    try {
      for (const feed of [relayed, own]) {
        feed.send({ op: "login", token });
        await feed.next((m) => m.type === "login");
      }
      const result = (feed: FeedClient, id: string) => feed.next((m) => m.type === "result" && m.id === id);
      const hashOf = (order: Order) => hashOrder({ order, domain: k.env.sdkDomain });

      const placed = orderOf(trader, { isBuy: true, priceTicks: 170_000n });
      relayed.send({ op: "place", id: "p", ...(await signedBody(k, trader, placed)), signer: trader.address });
      expect((await result(relayed, "p")).status).to.equal(201);
      const amended = orderOf(trader, { isBuy: true, priceTicks: 170_001n });
      relayed.send({
        op: "amend",
        id: "a",
        target: { hash: hashOf(placed) },
        ...(await signedBody(k, trader, amended)),
        signer: trader.address,
      });
      expect((await result(relayed, "a")).status).to.equal(200);
      const batched = orderOf(trader, { isBuy: true, priceTicks: 170_002n });
      relayed.send({
        op: "batch",
        id: "b",
        actions: [{ place: await signedBody(k, trader, batched) }],
        signers: { 0: trader.address },
      });
      expect((await result(relayed, "b")).status).to.equal(200);
      for (const [i, order] of [placed, amended, batched].entries())
        expect(recoveredHere, String(i)).to.not.include(hashOf(order));

      // A trader's own connection cannot say who signed: the field is refused, and the keeper recovers.
      const own1 = orderOf(trader, { isBuy: true, priceTicks: 170_003n });
      own.send({ op: "place", id: "o1", ...(await signedBody(k, trader, own1)), signer: trader.address });
      expect((await result(own, "o1")).status).to.equal(400);
      own.send({ op: "place", id: "o2", ...(await signedBody(k, trader, own1)) });
      expect((await result(own, "o2")).status).to.equal(201);
      expect(recoveredHere).to.include(hashOf(own1));
    } finally {
      relayed.ws.close();
      own.ws.close();
    }
  });

  it("carries concurrent frames in fewer messages both ways, and each answer reaches its request", async () => {
    const link = new ShardLink(k.api.url, SECRET, () => {});
    try {
      const orders = Array.from({ length: 40 }, (_, i) =>
        orderOf(trader, { isBuy: true, priceTicks: 100_000n + BigInt(i) }),
      );
      const hashes = orders.map((order) => hashOrder({ order, domain: k.env.sdkDomain }));
      const bodies = await Promise.all(orders.map((o) => signedBody(k, trader, o)));
      const sendAll = () =>
        Promise.all([
          link.request({ method: "GET", url: "/v1/markets/1/book", client: "10.1.2.4" }),
          ...bodies.map((body) =>
            link.request({
              method: "POST",
              url: "/v1/orders",
              headers: { "content-type": "application/json" },
              body,
              client: "10.1.2.4",
              signer: trader.address, // as a gateway sends it
            }),
          ),
        ]);
      const [book, ...answers] = await sendAll();
      expect(book.status).to.equal(200);
      expect((book.body as { bids: unknown }).bids).to.be.an("array");
      for (const [i, answer] of answers.entries()) {
        expect(answer.status).to.equal(201);
        expect((answer.body as { hash: string }).hash).to.equal(hashes[i]);
      }
      expect(link.counts.framesSent).to.equal(41);
      expect(link.counts.messagesSent).to.be.at.most(5); // 41 frames of under 1 KiB, 16 KiB a message

      // Sent again: each is a duplicate, refused without a chain read, so the answers are ready
      // together and come back in few messages.
      const before = { ...link.counts };
      const [, ...again] = await sendAll();
      for (const [i, answer] of again.entries()) {
        expect(answer.status).to.equal(409);
        expect((answer.body as { error: { details: { hash: string } } }).error.details.hash).to.equal(hashes[i]);
      }
      expect(link.counts.answersReceived - before.answersReceived).to.equal(41);
      expect(link.counts.messagesReceived - before.messagesReceived).to.be.at.most(5);
    } finally {
      link.close();
    }
  });

  it("has no channel without a secret", async () => {
    const plain = await startKeeper({ env: k.env });
    try {
      const res = await http(plain.api.url, "GET", GATEWAY_CHANNEL_PATH);
      expect(res.status).to.equal(404);
      expect(await openChannel(plain, SECRET).catch((e: Error) => e.message)).to.equal("status 404");
    } finally {
      await plain.close();
    }
  });
});

describe("keeper API: order entry straight from a gateway's frame answers as the routes do", function () {
  this.timeout(120_000);
  const clock = manualClock(); // never moves: both keepers' budgets see the same instant
  const limits = { perIpPerSecond: 40, perAccountPerSecond: 8 };
  let direct: Keeper;
  let injected: Keeper;
  let wsDirect: WebSocket;
  let wsInjected: WebSocket;
  let alice: Trader;
  let bob: Trader;
  let nextId = 1;

  before(async () => {
    direct = await startKeeper({ limits, api: { clusterSecret: SECRET, clock: clock.now } });
    injected = await startKeeper({
      env: direct.env,
      limits,
      api: { clusterSecret: SECRET, clock: clock.now, gatewayInject: true },
    });
    [wsDirect, wsInjected] = await Promise.all([openChannel(direct, SECRET), openChannel(injected, SECRET)]);
    alice = await newTrader(direct.env);
    bob = await newTrader(direct.env);
  });
  after(async () => {
    wsDirect?.close();
    wsInjected?.close();
    await direct?.close();
    await injected?.close();
  });

  /** Sends the same request to both keepers, expects the same answer, and returns it. */
  async function both(
    url: string,
    body: unknown,
    options: { client?: string; authorization?: string } = {},
  ): Promise<ForwardedAnswer> {
    const frame: Omit<ForwardedRequest, "id"> = {
      method: "POST",
      url,
      headers: {
        "content-type": "application/json",
        ...(options.authorization === undefined ? {} : { authorization: options.authorization }),
      },
      body,
      client: options.client ?? "10.1.2.3",
    };
    const id = nextId++;
    const [a, b] = await Promise.all([forward(wsDirect, { ...frame, id }), forward(wsInjected, { ...frame, id })]);
    expect(a, `${url} ${JSON.stringify(body).slice(0, 80)}`).to.deep.equal(b);
    return a;
  }
  const code = (a: ForwardedAnswer) => (a.body as { error?: { code: string } }).error?.code;

  it("accepts, refuses a duplicate, a bad schema and a bad signature alike", async () => {
    const order = orderOf(alice, { isBuy: true, priceTicks: 150_000n });
    const body = await signedBody(direct, alice, order);
    const accepted = await both("/v1/orders", body);
    expect(accepted.status).to.equal(201);
    expect(accepted.headers["x-account-ratelimit-limit"]).to.equal("8");
    expect(accepted.headers["content-type"]).to.match(/^application\/json/);
    expect(code(await both("/v1/orders", body))).to.equal("DUPLICATE_ORDER");
    const badSchema = await both("/v1/orders", { order: wireOrder(order), signature: "not hex" });
    expect(badSchema.status).to.equal(400);
    const stranger = await signedBody(direct, bob, { ...order, nonce: 99n }); // bob signs alice's order
    expect(code(await both("/v1/orders", stranger))).to.equal("BAD_SIGNATURE");
  });

  it("refuses a batch without a session, and under another account's session (FORBIDDEN)", async () => {
    const order = orderOf(alice, { isBuy: true, priceTicks: 151_000n });
    const batch = { account: alice.address, actions: [{ place: await signedBody(direct, alice, order) }] };
    expect(code(await both("/v1/orders/batch", batch))).to.equal("SESSION_REQUIRED");
    const bobs = await login(direct, bob);
    const forbidden = await both("/v1/orders/batch", batch, { authorization: bearer(bobs).authorization });
    expect(forbidden.status).to.equal(403);
    expect(code(forbidden)).to.equal("FORBIDDEN");
    const alices = await login(direct, alice);
    const ok = await both("/v1/orders/batch", batch, { authorization: bearer(alices).authorization });
    expect(ok.status).to.equal(200);
  });

  it("answers a cancel, its replay and a cancel-all alike", async () => {
    const order = orderOf(alice, { isBuy: true, priceTicks: 152_000n });
    expect((await both("/v1/orders", await signedBody(direct, alice, order))).status).to.equal(201);
    const hash = hashOrder({ order, domain: direct.env.sdkDomain });
    const cancel = await cancelBody(direct, alice, [hash], BigInt(clock.now()));
    const cancelled = await both("/v1/cancels", cancel);
    expect(cancelled.status).to.equal(200);
    expect(code(await both("/v1/cancels", cancel))).to.equal("CANCEL_REPLAYED");
    const all = await both("/v1/cancels/all", await cancelAllBody(direct, alice, 0n, BigInt(clock.now())));
    expect(all.status).to.equal(200);
  });

  it("refuses past the account's budget and the address's budget, with the same Retry-After", async () => {
    let limited: ForwardedAnswer | undefined;
    for (let i = 0; i < 10 && limited === undefined; i++) {
      const order = orderOf(alice, { isBuy: true, priceTicks: 140_000n + BigInt(i) });
      const answer = await both("/v1/orders", await signedBody(direct, alice, order), { client: "10.7.7.7" });
      if (answer.status === 429) limited = answer;
    }
    expect(limited, "the account's budget ran out").to.not.equal(undefined);
    expect(limited!.headers["retry-after"]).to.match(/^\d+$/);
    expect(limited!.headers["x-account-ratelimit-remaining"]).to.equal("0");

    let byAddress: ForwardedAnswer | undefined;
    for (let i = 0; i <= limits.perIpPerSecond && byAddress === undefined; i++) {
      const answer = await both("/v1/cancels", { nothing: true }, { client: "10.8.8.8" });
      if (answer.status === 429) byAddress = answer;
    }
    expect(byAddress, "the address's budget ran out").to.not.equal(undefined);
    expect(code(byAddress!)).to.equal("RATE_LIMITED");
    expect(byAddress!.headers["retry-after"]).to.match(/^\d+$/);
  });
});
