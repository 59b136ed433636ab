/**
 * Gateways in front of market shards, as real processes (scripts/lib/cluster.ts): an embedded
 * PostgreSQL, a Hardhat node, two shards (a: market 1, b: market 2) of a leader and a follower each,
 * and gateways. An order through one gateway matches one through another and settles on-chain; a
 * gateway killed with requests in flight loses and doubles nothing when the client retries at
 * another; a shard leader killed is replaced by its follower and the gateways route to it.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createPublicClient, http, type PublicClient } from "viem";
import type { PrivateKeyAccount } from "viem/accounts";
import WebSocket from "ws";
import { createKeeperClient, hashOrder, keeperMessageTypedData, signOrder, type Order } from "@crossbook/sdk";
import { localTraders } from "../../../scripts/lib/accounts";
import { ONE_SHARD_PER_LOCAL_MARKET, startCluster, type LocalCluster } from "../../../scripts/lib/cluster";
import { localOrder } from "../../../scripts/lib/failover";
import { readShards, registerShard } from "../../../keeper/src/cluster/registry";

describe("cluster: gateways routing to shard leaders (real processes)", function () {
  this.timeout(900_000);
  let dir: string;
  let cluster: LocalCluster;
  let db: pg.Client;
  const traders = localTraders(4);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "crossbook-cluster-"));
    cluster = await startCluster({
      dir,
      shards: ONE_SHARD_PER_LOCAL_MARKET,
      gateways: 2,
      traders: traders.length,
      leaseMs: 1000,
      shardFlags: ["--confirmations", "1", "--batch-max-wait-ms", "100", "--poll-interval-ms", "100"],
    });
    const chain = createPublicClient({ transport: http(cluster.node.url, { retryCount: 0 }) }) as PublicClient;
    await chain.request({ method: "evm_setIntervalMining" as never, params: [200] as never });
    db = new pg.Client({ connectionString: cluster.database });
    await db.connect();
  });

  after(async () => {
    await db?.end().catch(() => {});
    await cluster?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** A signed order of `trader` as the wire carries it, and its hash. */
  async function signed(trader: PrivateKeyAccount, fields: Partial<Order> & Pick<Order, "isBuy" | "priceTicks">) {
    const order = localOrder(cluster.deployment, trader, fields);
    const domain = { chainId: cluster.deployment.chainId, verifyingContract: cluster.deployment.exchange };
    const signature = await signOrder({ signer: trader, order, domain });
    const wire = Object.fromEntries(Object.entries(order).map(([k, v]) => [k, typeof v === "bigint" ? String(v) : v]));
    return { body: JSON.stringify({ order: wire, signature }), hash: hashOrder({ order, domain }) };
  }

  /** Logs `conn` in as `trader` with a signed `FeedLogin` over the gateway's challenge. */
  async function feedLogin(conn: FeedConn, trader: PrivateKeyAccount) {
    conn.send({ op: "challenge" });
    const { challenge } = await conn.next((m) => m.type === "challenge");
    const domain = { chainId: cluster.deployment.chainId, verifyingContract: cluster.deployment.exchange };
    const message = { account: trader.address, challenge };
    const signature = await trader.signTypedData(
      keeperMessageTypedData({ domain, primaryType: "FeedLogin", message }) as never,
    );
    conn.send({ op: "login", account: trader.address, signature });
    await conn.next((m) => m.type === "login");
  }

  async function post(url: string, path: string, body: string) {
    const res = await fetch(url + path, { method: "POST", headers: { "content-type": "application/json" }, body });
    return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  /** How many rows each hash has in shard `shard`'s orders table. */
  async function rows(shard: string, hashes: readonly string[]): Promise<Map<string, number>> {
    const r = await db.query<{ hash: string; n: string }>(
      `SELECT lower(hash) AS hash, COUNT(*)::text AS n FROM shard_${shard}.orders WHERE lower(hash) = ANY($1::text[]) GROUP BY lower(hash)`,
      [hashes.map((h) => h.toLowerCase())],
    );
    return new Map(r.rows.map((row) => [row.hash, Number(row.n)]));
  }

  it("matches an order through gateway A against one through gateway B, and the fill settles on-chain", async () => {
    const [a, b] = cluster.gateways;
    const mid = cluster.deployment.markets[0].initialPriceTicks;
    const maker = await signed(traders[0], { isBuy: false, priceTicks: mid, lots: 4n });
    const placed = await post(a.url, "/v1/orders", maker.body);
    expect(placed.status, JSON.stringify(placed.body)).to.equal(201);
    const taker = await signed(traders[1], { isBuy: true, priceTicks: mid, lots: 4n });
    const took = await post(b.url, "/v1/orders", taker.body);
    expect(took.status, JSON.stringify(took.body)).to.equal(201);
    expect(took.body.status).to.equal("filled");

    // The trade, read through either gateway, settles on-chain.
    let status = "";
    for (const deadline = Date.now() + 60_000; status !== "settled" && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 250));
      const res = await fetch(`${a.url}/v1/markets/1/trades`);
      const trades = ((await res.json()) as { trades: { status: string }[] }).trades;
      status = trades[0]?.status ?? "";
    }
    expect(status).to.equal("settled");

    // Market 2 is shard b's: an order in it lands in b's schema only.
    const other = await signed(traders[2], {
      isBuy: false,
      priceTicks: cluster.deployment.markets[1].initialPriceTicks + 10n,
      marketId: 2n,
    });
    expect((await post(b.url, "/v1/orders", other.body)).status).to.equal(201);
    expect((await rows("b", [other.hash])).get(other.hash.toLowerCase())).to.equal(1);
    expect((await rows("a", [other.hash])).size).to.equal(0);

    // A batch with orders in both shards' markets is refused, saying which.
    const wire = (o: { body: string }) => JSON.parse(o.body) as unknown;
    const first = await signed(traders[2], { isBuy: false, priceTicks: mid + 50n, lots: 1n });
    const second = await signed(traders[2], {
      isBuy: false,
      priceTicks: cluster.deployment.markets[1].initialPriceTicks + 11n,
      marketId: 2n,
    });
    const batch = JSON.stringify({
      account: traders[2].address,
      actions: [{ place: wire(first) }, { place: wire(second) }],
    });
    const spanning = await post(a.url, "/v1/orders/batch", batch);
    expect([spanning.status, spanning.body.error.code]).to.deep.equal([400, "BATCH_SPANS_SHARDS"]);
    expect(spanning.body.error.details.shards).to.deep.equal(["a", "b"]);

    // The markets of both shards, in one answer.
    const markets = (await (await fetch(`${a.url}/v1/markets`)).json()) as { markets: { marketId: string }[] };
    expect(markets.markets.map((m) => m.marketId)).to.deep.equal(["1", "2"]);
  });

  it("relays each market's feed from its shard and merges the private orders channel of both shards", async () => {
    const [a, b] = cluster.gateways;
    const mid1 = cluster.deployment.markets[0].initialPriceTicks;
    const mid2 = cluster.deployment.markets[1].initialPriceTicks;
    const first = await FeedConn.open(`${a.url.replace("http", "ws")}/v1/ws`);
    try {
      first.send({ op: "subscribe", channel: "book", marketId: "1" });
      first.send({ op: "subscribe", channel: "book", marketId: "2" });
      const snap1 = await first.next((m) => m.type === "snapshot" && m.marketId === "1");
      await first.next((m) => m.type === "snapshot" && m.marketId === "2");
      const book = new Map<string, string>();
      for (const side of ["bids", "asks"] as const) {
        for (const l of snap1[side]) book.set(`${side.slice(0, 3)}|${l.priceTicks}`, l.lots);
      }

      // The private channel, logged in through the gateway, fed by both shards.
      const trader = traders[3];
      await feedLogin(first, trader);
      first.send({ op: "subscribe", channel: "orders" });
      const ordersSnap = await first.next((m) => m.type === "snapshot" && m.channel === "orders");

      // An order in each market through gateway B: a book delta of market 1 (the shard's next seq),
      // and two order updates numbered one after the other although two shards sent them.
      const in1 = await signed(trader, { isBuy: false, priceTicks: mid1 + 500n, lots: 2n });
      expect((await post(b.url, "/v1/orders", in1.body)).status).to.equal(201);
      const in2 = await signed(trader, { isBuy: false, priceTicks: mid2 + 500n, lots: 2n, marketId: 2n });
      expect((await post(b.url, "/v1/orders", in2.body)).status).to.equal(201);
      const delta = await first.next((m) => m.type === "delta" && m.marketId === "1");
      expect(delta.seq).to.equal(snap1.seq + 1);
      for (const l of delta.levels) book.set(`${l.side}|${l.priceTicks}`, l.lots);
      const u1 = await first.next((m) => m.type === "order" && m.update.hash === in1.hash);
      const u2 = await first.next((m) => m.type === "order" && m.update.hash === in2.hash);
      expect([u1.seq, u2.seq].sort()).to.deep.equal([ordersSnap.seq + 1, ordersSnap.seq + 2]);

      // Through the other gateway, a new subscriber's snapshot is the book the first one keeps.
      const second = await FeedConn.open(`${b.url.replace("http", "ws")}/v1/ws`);
      try {
        second.send({ op: "subscribe", channel: "book", marketId: "1" });
        const snap = await second.next((m) => m.type === "snapshot" && m.marketId === "1");
        expect(snap.seq).to.equal(delta.seq);
        const theirs = new Map<string, string>();
        for (const side of ["bids", "asks"] as const) {
          for (const l of snap[side]) theirs.set(`${side.slice(0, 3)}|${l.priceTicks}`, l.lots);
        }
        expect(theirs).to.deep.equal(new Map([...book].filter(([, lots]) => lots !== "0")));
      } finally {
        second.close();
      }
    } finally {
      first.close();
    }
  });

  it("merges an account's orders and fills of both shards page by page, and fans a cancel-all out to both", async () => {
    const [a, b] = cluster.gateways;
    const trader = traders[1];
    const domain = { chainId: cluster.deployment.chainId, verifyingContract: cluster.deployment.exchange };
    const older = await signed(trader, {
      isBuy: false,
      priceTicks: cluster.deployment.markets[0].initialPriceTicks + 600n,
    });
    expect((await post(a.url, "/v1/orders", older.body)).status).to.equal(201);
    await new Promise((r) => setTimeout(r, 5)); // a later createdAt
    const newer = await signed(trader, {
      isBuy: false,
      priceTicks: cluster.deployment.markets[1].initialPriceTicks + 600n,
      marketId: 2n,
    });
    expect((await post(b.url, "/v1/orders", newer.body)).status).to.equal(201);

    // A session from gateway A, good at gateway B (and at the shards behind it).
    const { body: asked } = await post(a.url, "/v1/sessions/challenge", "{}");
    const signature = await trader.signTypedData(
      keeperMessageTypedData({
        domain,
        primaryType: "FeedLogin",
        message: { account: trader.address, challenge: asked.challenge },
      }) as never,
    );
    const login = await post(
      a.url,
      "/v1/sessions",
      JSON.stringify({ account: trader.address, challenge: asked.challenge, signature }),
    );
    expect(login.status, JSON.stringify(login.body)).to.equal(201);
    const auth = { authorization: `Bearer ${login.body.token}` };
    const read = async (path: string) => (await fetch(b.url + path, { headers: auth })).json() as Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

    const first = await read(`/v1/accounts/${trader.address}/orders?limit=1`);
    expect(first.orders.map((o: { hash: string }) => o.hash)).to.deep.equal([newer.hash]);
    expect(first.next).to.be.a("string");
    const second = await read(`/v1/accounts/${trader.address}/orders?limit=1&before=${first.next}`);
    expect(second.orders.map((o: { hash: string }) => o.hash)).to.deep.equal([older.hash]);
    const limits = await read(`/v1/accounts/${trader.address}/limits`);
    expect(limits.openOrders).to.equal(2);
    expect(limits.markets.map((m: { marketId: string }) => m.marketId)).to.deep.equal(["1", "2"]);

    const message = { maker: trader.address, marketId: 0n, issuedAt: BigInt(Date.now()) };
    const cancelSignature = await trader.signTypedData(
      keeperMessageTypedData({ domain, primaryType: "CancelAll", message }) as never,
    );
    const cancelAll = await post(
      b.url,
      "/v1/cancels/all",
      JSON.stringify({
        cancelAll: { maker: trader.address, marketId: "0", issuedAt: String(message.issuedAt) },
        signature: cancelSignature,
      }),
    );
    expect(cancelAll.status).to.equal(200);
    expect([...cancelAll.body.cancelled].sort()).to.deep.equal([older.hash, newer.hash].sort());
    const open = await read(`/v1/accounts/${trader.address}/orders`);
    expect(open.orders).to.deep.equal([]);

    // Its fills: one in market 1 (shard a, the first test's taker), one now in market 2 (shard b,
    // against trader 2's resting sell). Both shards number their fills from 1; the gateway's
    // pages of one walk them newest first, each once.
    const taker = await signed(trader, {
      isBuy: true,
      priceTicks: cluster.deployment.markets[1].initialPriceTicks + 10n,
      marketId: 2n,
      lots: 1n,
    });
    const took = await post(a.url, "/v1/orders", taker.body);
    expect([took.status, took.body.status]).to.deep.equal([201, "filled"]);
    const walked: { marketId: string; fillId: number; orderHash: string }[] = [];
    let cursor: string | undefined;
    do {
      const page = await read(
        `/v1/accounts/${trader.address}/fills?limit=1${cursor === undefined ? "" : `&before=${cursor}`}`,
      );
      expect(page.fills.length).to.be.at.most(1);
      walked.push(...page.fills);
      cursor = page.next;
    } while (cursor !== undefined && walked.length < 10);
    expect(walked.map((f) => f.marketId)).to.deep.equal(["2", "1"]);
    expect(walked[0]!.orderHash).to.equal(taker.hash);
    // The SDK walks the same pages, passing the gateway's cursor back as it is.
    const sdk = createKeeperClient({ url: a.url, domain });
    await sdk.login({ signer: trader });
    const sdkWalk: bigint[] = [];
    let page = await sdk.getFills(trader.address, { limit: 1 });
    sdkWalk.push(...page.fills.map((f) => f.marketId));
    while (page.next !== undefined && sdkWalk.length < 10) {
      expect(page.next).to.be.a("string");
      page = await sdk.getFills(trader.address, { limit: 1, before: page.next });
      sdkWalk.push(...page.fills.map((f) => f.marketId));
    }
    expect(sdkWalk).to.deep.equal([2n, 1n]);
    const bad = await fetch(`${b.url}/v1/accounts/${trader.address}/fills?before=7`, { headers: auth });
    expect(bad.status).to.equal(400);
  });

  it("takes cancels, batches, schedules and cancel-on-disconnect on the feed, at every shard", async () => {
    const [a] = cluster.gateways;
    const trader = traders[0];
    const domain = { chainId: cluster.deployment.chainId, verifyingContract: cluster.deployment.exchange };
    const resting = async () => {
      const in1 = await signed(trader, {
        isBuy: false,
        priceTicks: cluster.deployment.markets[0].initialPriceTicks + 700n,
      });
      const in2 = await signed(trader, {
        isBuy: false,
        priceTicks: cluster.deployment.markets[1].initialPriceTicks + 700n,
        marketId: 2n,
      });
      return [in1, in2] as const;
    };
    const statuses = async (hashes: readonly string[]) => {
      const r = await db.query<{ status: string }>(
        `SELECT status FROM shard_a.orders WHERE lower(hash) = ANY($1::text[])
         UNION ALL SELECT status FROM shard_b.orders WHERE lower(hash) = ANY($1::text[])`,
        [hashes.map((h) => h.toLowerCase())],
      );
      return r.rows.map((row) => row.status);
    };

    const conn = await FeedConn.open(`${a.url.replace("http", "ws")}/v1/ws`);
    await feedLogin(conn, trader);
    const result = (id: string) => conn.next((m) => m.type === "result" && m.id === id);

    // How shard a learnt its orders' signers (its /metrics): recovered there, or told by a gateway.
    const signersLearnt = async () => {
      const leader = (await readShards(db)).find((s) => s.name === "a")?.leaderUrl;
      const text = await (await fetch(`${leader}/metrics`)).text();
      const count = (source: string) =>
        Number(new RegExp(`crossbook_order_signers_total\\{source="${source}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
      return { recovered: count("recovered"), gateway: count("gateway") };
    };
    const learntBefore = await signersLearnt();

    // A place in each market, each to its shard, with the signer the gateway recovered.
    const [first1, first2] = await resting();
    conn.send({ op: "place", id: "p1", ...JSON.parse(first1.body) });
    conn.send({ op: "place", id: "p2", ...JSON.parse(first2.body) });
    expect((await result("p1")).status).to.equal(201);
    expect((await result("p2")).status).to.equal(201);
    const learntAfter = await signersLearnt();
    expect(learntAfter.gateway - learntBefore.gateway).to.equal(1);
    expect(learntAfter.recovered - learntBefore.recovered).to.equal(0);

    // The gateway's own refusals are results under the client's id too; a bad id is refused at once.
    const elsewhere = await signed(trader, { isBuy: false, priceTicks: 1_000n, marketId: 99n });
    conn.send({ op: "place", id: "m1", ...JSON.parse(elsewhere.body) });
    const notServed = await result("m1");
    expect([notServed.status, notServed.body.error.code]).to.deep.equal([404, "MARKET_NOT_SERVED"]);
    conn.send({ op: "cancelOnDisconnect", id: "x".repeat(65), enabled: true });
    const badId = await conn.next((m) => m.type === "error" && /an id has at most 64 characters/.test(m.message));
    expect(badId.code).to.equal("BAD_REQUEST");

    // A batch with orders in both shards is refused, naming them.
    const spanning = await resting();
    conn.send({ op: "batch", id: "b1", actions: spanning.map((o) => ({ place: JSON.parse(o.body) })) });
    const refused = await result("b1");
    expect([refused.status, refused.body.error.code, refused.body.error.details.shards]).to.deep.equal([
      400,
      "BATCH_SPANS_SHARDS",
      ["a", "b"],
    ]);

    // One signed cancel of both orders: each shard cancels its own; one result, in the client's id.
    const cancel = { maker: trader.address, orderHashes: [first1.hash, first2.hash], issuedAt: BigInt(Date.now()) };
    const cancelSignature = await trader.signTypedData(
      keeperMessageTypedData({ domain, primaryType: "CancelOrders", message: cancel }) as never,
    );
    conn.send({
      op: "cancel",
      id: "c1",
      cancel: { ...cancel, issuedAt: String(cancel.issuedAt) },
      signature: cancelSignature,
    });
    const cancelled = await result("c1");
    expect(cancelled.status, JSON.stringify(cancelled.body)).to.equal(200);
    expect(cancelled.body.results).to.deep.equal([
      { hash: first1.hash, outcome: "cancelled" },
      { hash: first2.hash, outcome: "cancelled" },
    ]);
    expect(await statuses([first1.hash, first2.hash])).to.deep.equal(["cancelled", "cancelled"]);

    // Cancel-on-disconnect, turned on at every shard: closing the connection cancels in both.
    conn.send({ op: "cancelOnDisconnect", id: "d1", enabled: true });
    const on = await result("d1");
    expect([on.status, on.body]).to.deep.equal([200, { cancelOnDisconnect: true }]);
    const [last1, last2] = await resting();
    conn.send({ op: "place", id: "p3", ...JSON.parse(last1.body) });
    conn.send({ op: "place", id: "p4", ...JSON.parse(last2.body) });
    expect((await result("p3")).status).to.equal(201);
    expect((await result("p4")).status).to.equal(201);
    conn.close();
    let after: string[] = [];
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      after = await statuses([last1.hash, last2.hash]);
      if (after.every((s) => s === "cancelled")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(after).to.deep.equal(["cancelled", "cancelled"]);
  });

  it("loses and doubles no order when a gateway is killed with requests in flight", async () => {
    const doomed = await cluster.addGateway();
    const survivor = cluster.gateways[1];
    const mid = cluster.deployment.markets[0].initialPriceTicks;
    const orders = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        signed(traders[2], { isBuy: false, priceTicks: mid + 100n + BigInt(i), lots: 1n }),
      ),
    );
    let answered = 0;
    let killed: Promise<void> | undefined;
    let killing: () => void = () => {};
    const killStarted = new Promise<void>((resolve) => (killing = resolve));
    const outcomes = await Promise.all(
      orders.map(async (o, i) => {
        await new Promise((r) => setTimeout(r, i * 5)); // a stream of requests, not one burst
        // However fast the first are answered, some are sent as the gateway dies (in flight), and
        // some after it died: on a fast machine every answer could come before the kill.
        if (i >= 20) await killStarted;
        if (i >= 50) await killed;
        // A 503 (a shard leader whose lease lapsed on a loaded machine answers NOT_LEADER, which
        // the gateway sends on once; no leader yet is SHARD_UNAVAILABLE) is "try again", as any
        // client does: the order's hash makes the retry safe.
        const retried503 = async (res: Awaited<ReturnType<typeof post>>) => {
          for (let attempt = 0; res.status === 503 && attempt < 5; attempt++) {
            await new Promise((r) => setTimeout(r, 500));
            res = await post(survivor.url, "/v1/orders", o.body);
          }
          return res;
        };
        try {
          const res = await post(doomed.url, "/v1/orders", o.body);
          if (++answered === 10) {
            killed = cluster.kill(doomed);
            killing();
          }
          return { via: "doomed", ...(await retried503(res)) };
        } catch {
          // The gateway died with this request in flight (or before it was sent): retry at another.
          return { via: "survivor", ...(await retried503(await post(survivor.url, "/v1/orders", o.body))) };
        }
      }),
    );
    await killed;
    const retried = outcomes.filter((o) => o.via === "survivor");
    expect(retried.length, "requests that met the killed gateway").to.be.greaterThan(0);
    for (const o of outcomes) {
      expect([201, 409], JSON.stringify(o.body)).to.include(o.status);
      if (o.status === 409) expect(o.body.error.code).to.equal("DUPLICATE_ORDER");
    }
    const counts = await rows(
      "a",
      orders.map((o) => o.hash),
    );
    expect(counts.size, "orders in shard a's table").to.equal(orders.length);
    expect([...counts.values()].every((n) => n === 1)).to.equal(true);
  });

  it("caps a gateway's feed connections per address, as a keeper does", async () => {
    const url = `${cluster.gateways[1].url.replace("http", "ws")}/v1/ws`;
    const open = (): Promise<WebSocket> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.once("open", () => resolve(ws));
        ws.once("error", reject);
      });
    const closedWith = (ws: WebSocket): Promise<number> =>
      new Promise((resolve) => ws.once("close", (code) => resolve(code)));
    const held: WebSocket[] = [];
    try {
      for (let i = 0; i < 100; i++) held.push(await open()); // the keeper's maxClientsPerIp
      const extra = await open();
      // Closed at once when refused; a deadline (not a measure) so that a missing cap fails, not hangs.
      const refused = await Promise.race([
        closedWith(extra),
        new Promise<string>((r) => setTimeout(() => r("still open"), 10_000)),
      ]);
      if (refused === "still open") held.push(extra);
      expect(refused, "the 101st from one address").to.equal(1013);
      const one = held.pop() as WebSocket;
      const gone = closedWith(one);
      one.close();
      await gone;
      // A slot freed is a slot again (the gateway counts the close).
      let reopened: WebSocket | undefined;
      for (const deadline = Date.now() + 10_000; reopened === undefined && Date.now() < deadline;) {
        const ws = await open();
        const code = await Promise.race([
          closedWith(ws),
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 300)),
        ]);
        if (code === undefined) reopened = ws;
      }
      expect(reopened, "a connection after one closed").to.not.equal(undefined);
      held.push(reopened as WebSocket);
    } finally {
      for (const ws of held) ws.close();
    }
  });

  it("caps a gateway's HTTP connections per address, as a keeper does", async () => {
    // A gateway of its own: no connection of an earlier test (this process's idle keep-alives) counts.
    const port = Number(new URL((await cluster.addGateway()).url).port);
    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const socket = connect(port, "127.0.0.1", () => {
          socket.on("error", () => {}); // a write to a connection the gateway closed: seen as "closed"
          resolve(socket);
        });
        socket.once("error", reject);
      });
    /** The status line of the answer to a GET on `socket`, or "closed" if it closes first. */
    const answer = (socket: Socket): Promise<string> =>
      new Promise((resolve) => {
        socket.once("data", (data: Buffer) => resolve(data.toString().split("\r\n")[0] as string));
        socket.once("close", () => resolve("closed"));
        socket.write("GET /v1/markets HTTP/1.1\r\nHost: gateway\r\n\r\n");
      });
    const held: Socket[] = [];
    try {
      let refused = false;
      while (!refused && held.length < 200) {
        const socket = await open();
        if ((await answer(socket)) === "closed") refused = true;
        else held.push(socket);
      }
      expect(refused, "a connection beyond the cap (default api.maxHttpConnectionsPerIp)").to.equal(true);
      expect(held.length, "connections taken before the first refused").to.equal(64);
      (held.pop() as Socket).destroy();
      // A slot freed is a slot again (the gateway counts the close, soon after it).
      let reopened: string | undefined;
      while (reopened === undefined) {
        const socket = await open();
        const first = await answer(socket);
        if (first === "closed") continue;
        reopened = first;
        held.push(socket);
      }
      expect(reopened).to.match(/^HTTP\/1\.1 200/);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });

  it("re-routes to the follower once a shard leader is killed", async () => {
    const gateway = cluster.gateways[0];
    const old = await cluster.leaderOf("a");
    await cluster.kill(old);
    const mid = cluster.deployment.markets[0].initialPriceTicks;
    // Through the same gateway, until the follower has taken the lease (a couple of leases at most).
    const seen = new Set<string>();
    let accepted = false;
    for (const deadline = Date.now() + 30_000; !accepted && Date.now() < deadline;) {
      const o = await signed(traders[3], { isBuy: false, priceTicks: mid + 1000n, lots: 1n });
      const res = await post(gateway.url, "/v1/orders", o.body);
      accepted = res.status === 201;
      if (!accepted) {
        seen.add(res.body.error?.code);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(accepted, `codes while it took over: ${[...seen].join(", ")}`).to.equal(true);
    for (const code of seen) expect(["SHARD_UNAVAILABLE", "NOT_LEADER"]).to.include(code);
    const now = await cluster.leaderOf("a");
    expect(now.name).to.not.equal(old.name);
    // From now on, at once.
    const after = await signed(traders[3], { isBuy: false, priceTicks: mid + 1001n, lots: 1n });
    expect((await post(gateway.url, "/v1/orders", after.body)).status).to.equal(201);
  });

  it("answers SHARD_UNAVAILABLE with Retry-After for a market whose shard has no leader", async () => {
    // A shard registered whose keepers have not started: its market is in the directory, no lease.
    await registerShard(db, "c", [3n]);
    const gateway = cluster.gateways[0];
    const o = await signed(traders[0], { isBuy: true, priceTicks: 1000n, marketId: 3n });
    let res = await post(gateway.url, "/v1/orders", o.body);
    for (const deadline = Date.now() + 10_000; res.body.error?.code === "MARKET_NOT_SERVED" && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 100)); // until the gateway reads the directory again
      res = await post(gateway.url, "/v1/orders", o.body);
    }
    expect([res.status, res.body.error.code, res.body.error.details.shard]).to.deep.equal([
      503,
      "SHARD_UNAVAILABLE",
      "c",
    ]);
    const raw = await fetch(`${gateway.url}/v1/orders`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: o.body,
    });
    expect(raw.headers.get("retry-after")).to.equal("1");
    const ready = await fetch(`${gateway.url}/v1/ready`);
    expect(ready.status).to.equal(503);
  });
});

type Message = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A feed connection that keeps what it receives and waits for what a test expects. */
class FeedConn {
  private readonly messages: Message[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      this.messages.push(JSON.parse(data.toString()) as Message);
      for (const wake of this.waiters) wake();
    });
  }

  static async open(url: string): Promise<FeedConn> {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    return new FeedConn(ws);
  }

  send(message: Message): void {
    this.ws.send(JSON.stringify(message));
  }

  /** The first message received so far, or from now, that `match` accepts (10 s at most). */
  async next(match: (m: Message) => boolean, timeoutMs = 10_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline)
        throw new Error(`no such message; got ${JSON.stringify(this.messages).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          resolve();
        };
        this.waiters.add(wake);
        setTimeout(wake, 100);
      });
    }
  }

  close(): void {
    this.ws.close();
  }
}
