/**
 * Reservations across shards, with real keepers on one PostgreSQL (in this process, each shard with
 * its own keeper key) and the in-process chain: one account sending orders to two shards at once
 * never has more reserved over both than its balance, each order accepted or refused
 * INSUFFICIENT_BALANCE; claims come down once orders leave; a claim left too high by a leader that
 * stopped is recomputed from the books by the shard's next leader.
 */
import { expect } from "chai";
import pg from "pg";
import type { Address, Hex } from "viem";
import { MAX_RAISES_A_ROUND, ShardClaims } from "../../../keeper/src/cluster/claims";
import { registerShard, shardDatabaseUrl } from "../../../keeper/src/cluster/registry";
import { LeaseConnection, tryAcquire } from "../../../keeper/src/leader";
import { silentLogger } from "../../../keeper/src/log";
import { orderReservation } from "../../../keeper/src/risk";
import { pgClient, Store, type PostgresDatabase } from "../../../keeper/src/store";
import { cancelBody, http, newTrader, orderOf, signedBody, type Keeper, type Trader } from "../api/support";
import { sdkFixture, type SdkEnv } from "../../sdk/support";
import { LOT_SIZE, MAKER_FEE_BPS, TAKER_FEE_BPS, TICK_SIZE } from "../../helpers/fixture";
import { freshDatabase } from "../../helpers/postgres";
import { runKeeperInProcess } from "../support";
import { until, type Running } from "../leader/support";

/** What one of the test's orders reserves: a resting buy of 10 lots at 200,000 ticks, its taker fee included. */
const market = { lotSize: LOT_SIZE, tickSize: TICK_SIZE, makerFeeBps: MAKER_FEE_BPS, takerFeeBps: TAKER_FEE_BPS };
const NEED = orderReservation({ isBuy: true, flags: 0n, priceTicks: 200_000n }, 10n, {
  ...market,
  base: "0x0000000000000000000000000000000000000001",
  quote: "0x0000000000000000000000000000000000000002",
}).atoms;

describe("cluster: one account's reservations over two shards (no headroom)", function () {
  this.timeout(300_000);
  const running: Running[] = [];
  let env: SdkEnv;
  let url: string;
  let admin: pg.Client;
  let trader: Trader;
  let a1: Running;
  let a2: Running;
  let b: Running;
  const k = (r: Running) => ({ env, api: { url: r.url } }) as unknown as Keeper;
  const claims = async () =>
    Object.fromEntries(
      (
        await admin.query(
          "SELECT shard, amount::text AS amount FROM crossbook_cluster.claims WHERE account = $1 ORDER BY shard",
          [trader.address.toLowerCase()],
        )
      ).rows.map((r: { shard: string; amount: string }) => [r.shard, BigInt(r.amount)]),
    ) as Record<string, bigint>;
  const place = async (shard: Running, marketId: bigint) =>
    http(
      shard.url,
      "POST",
      "/v1/orders",
      await signedBody(k(shard), trader, orderOf(trader, { isBuy: true, marketId })),
    );

  before(async () => {
    env = await sdkFixture();
    await env.exchange.listMarket(env.base, env.quote, LOT_SIZE, TICK_SIZE, MAKER_FEE_BPS, TAKER_FEE_BPS); // market 2
    url = await freshDatabase();
    admin = pgClient(url);
    await admin.connect();
    await registerShard(admin, "a", [1n]);
    await registerShard(admin, "b", [2n]);
    // Shard a's lease is long: its follower's polling fallback (a quarter lease) stays out of the way.
    const shard = (name: string, marketId: string, key?: Hex) =>
      runKeeperInProcess(env, {
        database: shardDatabaseUrl(url, name),
        flags: [
          ...["--markets", marketId, "--shard-name", name, "--lease-ms", name === "a" ? "40000" : "10000"],
          ...["--claim-headroom-percent", "0"], // exactly what each order needs: the claims below are exact
        ],
        ...(key === undefined ? {} : { key }),
      }).then((r) => (running.push(r), r));
    a1 = await shard("a", "1");
    a2 = await shard("a", "1", a1.key); // shard a's warm follower
    b = await shard("b", "2"); // its own keeper key
    expect([a1, a2, b].map((r) => r.keeper.role.current.role)).to.deep.equal(["leader", "follower", "leader"]);
    // Quote for 5 of the orders and a half: never 6.
    trader = await newTrader(env, 0n, 5n * NEED + NEED / 2n);
  });

  after(async () => {
    for (const r of running.reverse()) await r.close().catch(() => {});
    await admin?.end();
  });

  it("never reserves more than the balance over both shards, however the orders race", async () => {
    const accepted: { shard: "a" | "b"; hash: Hex }[] = [];
    for (let round = 0; round < 8; round++) {
      const answers = await Promise.all([place(a1, 1n), place(b, 2n)]);
      answers.forEach((r, i) => {
        if (r.status === 201) accepted.push({ shard: i === 0 ? "a" : "b", hash: r.body.hash as Hex });
        else expect([r.status, r.body.error.code], JSON.stringify(r.body)).to.deep.equal([422, "INSUFFICIENT_BALANCE"]);
      });
    }
    // Exactly as many as the balance pays for (claims are raised to what is needed, never more).
    expect(accepted).to.have.length(5);
    expect(accepted.filter((o) => o.shard === "a").length).to.be.within(1, 4);
    const held = await claims();
    const count = (s: string) => BigInt(accepted.filter((o) => o.shard === s).length);
    expect(held).to.deep.equal({ a: count("a") * NEED, b: count("b") * NEED });
    const refused = await place(a1, 1n);
    expect(refused.body.error.message).to.match(/claimed by other shards for its orders there/);

    // Shard a's orders cancelled: its claim comes down (lazily), and shard b may use the room.
    const hashes = accepted.filter((o) => o.shard === "a").map((o) => o.hash);
    const cancelled = await http(a1.url, "POST", "/v1/cancels", await cancelBody(k(a1), trader, hashes));
    expect(cancelled.status, JSON.stringify(cancelled.body)).to.equal(200);
    await until("shard a's claim is lowered", claims, (c) => c.a === undefined);
    for (let i = 0n; i < count("a"); i++) expect((await place(b, 2n)).status).to.equal(201);
    expect(await claims()).to.deep.equal({ b: 5n * NEED });
  });

  it("wakes shard a's follower on shard a's commits, never on shard b's", async () => {
    const seller = await newTrader(env);
    const db = a2.keeper.store.database as PostgresDatabase;
    let refreshes = 0;
    const refresh = db.refresh.bind(db);
    db.refresh = (onPulled) => {
      refreshes++;
      return refresh(onPulled);
    };
    try {
      await new Promise((r) => setTimeout(r, 200)); // a refresh in progress, if any, ends
      refreshes = 0;
      for (let i = 0; i < 20; i++) {
        const ask = orderOf(seller, { isBuy: false, marketId: 2n, priceTicks: 300_000n, lots: 1n });
        const r = await http(b.url, "POST", "/v1/orders", await signedBody(k(b), seller, ask));
        expect(r.status, JSON.stringify(r.body)).to.equal(201);
      }
      expect(refreshes).to.be.at.most(1); // its 10 s polling fallback, at most; never one per commit of b
      const ask = orderOf(seller, { isBuy: false, marketId: 1n, priceTicks: 300_000n, lots: 1n });
      expect((await http(a1.url, "POST", "/v1/orders", await signedBody(k(a1), seller, ask))).status).to.equal(201);
      await until(
        "shard a's follower is woken",
        async () => refreshes,
        (n) => n >= 1,
        5_000,
      );
    } finally {
      db.refresh = refresh;
    }
  });

  it("a claim left too high by a leader that stopped is recomputed by the shard's next leader", async () => {
    // Two of shard b's orders cancelled; one order taken in shard a.
    const bHashes = (await admin.query("SELECT hash FROM shard_b.orders WHERE status = 'open' LIMIT 2")).rows.map(
      (r: { hash: string }) => r.hash as Hex,
    );
    const freed = await http(b.url, "POST", "/v1/cancels", await cancelBody(k(b), trader, bHashes));
    expect(freed.status, JSON.stringify(freed.body)).to.equal(200);
    await until("shard b's claim is lowered", claims, (c) => c.b === 3n * NEED);
    expect((await place(a1, 1n)).status).to.equal(201);
    expect(await claims()).to.deep.equal({ a: NEED, b: 3n * NEED });

    // What a leader that died between a raise and its order's commit leaves: a claim above its books.
    await admin.query("UPDATE crossbook_cluster.claims SET amount = amount + $1 WHERE shard = 'a'", [NEED.toString()]);
    const beforeTakeover = await place(b, 2n);
    expect(beforeTakeover.body.error?.code, JSON.stringify(beforeTakeover.body)).to.equal("INSUFFICIENT_BALANCE");

    await a1.keeper.stop(); // its lease goes; its follower takes over and recomputes shard a's claims
    await until(
      "shard a's follower leads",
      async () => a2.keeper.role.current.role,
      (r) => r === "leader",
    );
    // Taken over as it was, then lowered to what shard a's books reserve once the hold is over.
    await until("shard a's claim is recomputed", claims, (c) => c.a === NEED);
    expect(await claims()).to.deep.equal({ a: NEED, b: 3n * NEED });
    expect((await place(b, 2n)).status).to.equal(201);
  });
});

describe("cluster: one account's reservations over two shards, with claims' headroom (the default)", function () {
  this.timeout(300_000);
  const running: Running[] = [];
  let env: SdkEnv;
  let admin: pg.Client;
  let trader: Trader;
  const shards: Record<"a" | "b", Running> = {} as Record<"a" | "b", Running>;
  const k = (r: Running) => ({ env, api: { url: r.url } }) as unknown as Keeper;
  const BALANCE = 5n * NEED + NEED / 2n;

  before(async () => {
    env = await sdkFixture();
    await env.exchange.listMarket(env.base, env.quote, LOT_SIZE, TICK_SIZE, MAKER_FEE_BPS, TAKER_FEE_BPS); // market 2
    const url = await freshDatabase();
    admin = pgClient(url);
    await admin.connect();
    for (const [name, marketId] of [
      ["a", "1"],
      ["b", "2"],
    ] as const) {
      await registerShard(admin, name, [BigInt(marketId)]);
      shards[name] = await runKeeperInProcess(env, {
        database: shardDatabaseUrl(url, name),
        flags: ["--markets", marketId, "--shard-name", name, "--lease-ms", "10000"],
      });
      running.push(shards[name]);
    }
    trader = await newTrader(env, 0n, BALANCE);
  });

  after(async () => {
    for (const r of running.reverse()) await r.close().catch(() => {});
    await admin?.end();
  });

  it("never claims more than the balance over both shards, however the orders race; the headroom comes back down", async () => {
    const claimed = async () =>
      new Map(
        (
          await admin.query("SELECT shard, amount::text AS amount FROM crossbook_cluster.claims WHERE account = $1", [
            trader.address.toLowerCase(),
          ])
        ).rows.map((r: { shard: string; amount: string }) => [r.shard, BigInt(r.amount)]),
      );
    const place = async (shard: "a" | "b") =>
      http(
        shards[shard].url,
        "POST",
        "/v1/orders",
        await signedBody(k(shards[shard]), trader, orderOf(trader, { isBuy: true, marketId: shard === "a" ? 1n : 2n })),
      );
    const accepted = { a: 0n, b: 0n };
    for (let round = 0; round < 8; round++) {
      const answers = await Promise.all([place("a"), place("b")]);
      answers.forEach((r, i) => {
        if (r.status === 201) accepted[i === 0 ? "a" : "b"]++;
        else expect([r.status, r.body.error.code], JSON.stringify(r.body)).to.deep.equal([422, "INSUFFICIENT_BALANCE"]);
      });
      const held = await claimed();
      const total = [...held.values()].reduce((sum, v) => sum + v, 0n);
      expect(total <= BALANCE, `round ${round}: claims ${total} over the balance ${BALANCE}`).to.equal(true);
      expect(held.get("a") ?? 0n).to.be.at.least(accepted.a * NEED);
      expect(held.get("b") ?? 0n).to.be.at.least(accepted.b * NEED);
    }
    expect(accepted.a + accepted.b).to.be.within(1n, 5n);
    // Each claim comes down to what its shard reserves after the hold; then the rest of the balance
    // can be used, in either shard: 5 orders in all.
    await until(
      "the headroom is lowered",
      claimed,
      (c) => (c.get("a") ?? 0n) === accepted.a * NEED && (c.get("b") ?? 0n) === accepted.b * NEED,
    );
    for (let i = accepted.a + accepted.b; i < 5n; i++) expect((await place("a")).status).to.equal(201);
    const refused = await place("b");
    expect(refused.body.error?.code, JSON.stringify(refused.body)).to.equal("INSUFFICIENT_BALANCE");
  });
});

describe("cluster: a shard's claims (ShardClaims) on a real PostgreSQL", function () {
  this.timeout(60_000);
  const ACCOUNT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Address;
  const TOKEN = "0x00000000000000000000000000000000000000aA" as Address;

  /** Shard `name` registered in a fresh database, leading, its claims with `headroomPercent` on the test's clock. */
  const setUp = async (headroomPercent?: number) => {
    const url = await freshDatabase();
    const admin = pgClient(url);
    await admin.connect();
    const opened: { end(): Promise<unknown> }[] = [admin];
    const clock = { now: 0 };
    const shard = async (name: string) => {
      await registerShard(admin, name, [name === "a" ? 1n : 2n]);
      const shardUrl = shardDatabaseUrl(url, name);
      const store = await Store.connect(shardUrl);
      const lease = new LeaseConnection(() => pgClient(shardUrl), 5_000);
      const won = await tryAcquire(lease, name, "http://127.0.0.1:1", 600_000);
      const claims = await ShardClaims.open(() => pgClient(shardUrl), name, silentLogger, {
        holdMs: 1_000,
        clock: () => clock.now,
        ...(headroomPercent === undefined ? {} : { headroomPercent }),
      });
      opened.push(claims, lease, { end: () => store.shutdown() });
      await claims.reset(won!.term, new Map());
      return claims;
    };
    const close = async () => {
      for (const o of opened.reverse()) await o.end().catch(() => {});
    };
    return { admin, clock, shard, close };
  };
  const reserves = (amount: bigint) => () => new Map([[TOKEN.toLowerCase(), amount]]);
  const rowsOf = async (admin: pg.Client) =>
    (await admin.query("SELECT shard, amount::text AS amount FROM crossbook_cluster.claims ORDER BY shard")).rows;

  it("raises within the balance less the other shards' claims, lowers after the hold, and is fenced by the term", async () => {
    const { admin, clock, shard, close } = await setUp(); // no headroom: exactly what is needed
    try {
      const [a, b] = [await shard("a"), await shard("b")];
      expect(await a.cover(ACCOUNT, TOKEN, 100n, 1_000n)).to.deep.equal({ ok: true });
      expect(await a.cover(ACCOUNT, TOKEN, 60n, 1_000n)).to.deep.equal({ ok: true });
      expect(a.raises).to.equal(1); // within the claim: no round trip
      expect(await b.cover(ACCOUNT, TOKEN, 950n, 1_000n)).to.deep.equal({ ok: false, free: 900n });
      expect(await b.cover(ACCOUNT, TOKEN, 900n, 1_000n)).to.deep.equal({ ok: true });

      // Shard a now reserves 40: its claim stays at 100 for the hold, never while the account is busy.
      expect(await a.lower(reserves(100n))).to.equal(0);
      clock.now = 500;
      expect(await a.lower(reserves(40n))).to.equal(0);
      clock.now = 1_600;
      expect(await a.lower(() => undefined)).to.equal(0);
      expect(await a.lower(reserves(40n))).to.equal(1);
      expect(a.claimOf(ACCOUNT, TOKEN)).to.equal(40n);
      expect(await b.cover(ACCOUNT, TOKEN, 960n, 1_000n)).to.deep.equal({ ok: true });
      expect(await rowsOf(admin)).to.deep.equal([
        { shard: "a", amount: "40" },
        { shard: "b", amount: "960" },
      ]);

      // Shard a's lease moves to a newer term: its raises are refused by the fence.
      await admin.query("UPDATE shard_a.leader_lease SET term = term + 1");
      const fenced = await Promise.resolve(a.cover(ACCOUNT, TOKEN, 41n, 10_000n)).catch((e: unknown) => e);
      expect(String(fenced)).to.match(/crossbook fenced/);
    } finally {
      await close();
    }
  });

  it("with headroom: raises geometrically, another shard is refused what it holds until the lowering after the hold", async () => {
    const { admin, clock, shard, close } = await setUp(50);
    try {
      const [a, b] = [await shard("a"), await shard("b")];
      // 100 needed, and half of the 900 then still free: 550.
      expect(await a.cover(ACCOUNT, TOKEN, 100n, 1_000n)).to.deep.equal({ ok: true });
      expect(a.claimOf(ACCOUNT, TOKEN)).to.equal(550n);
      expect(await a.cover(ACCOUNT, TOKEN, 300n, 1_000n)).to.deep.equal({ ok: true });
      expect(await a.cover(ACCOUNT, TOKEN, 550n, 1_000n)).to.deep.equal({ ok: true });
      expect(a.raises).to.equal(1); // the second and third orders fit in the headroom: no round trip
      expect(await a.cover(ACCOUNT, TOKEN, 600n, 1_000n)).to.deep.equal({ ok: true });
      expect([a.raises, a.claimOf(ACCOUNT, TOKEN)]).to.deep.equal([2, 800n]); // 600 + 400 / 2

      // Shard b needs 300: 200 is free, the rest is shard a's headroom. Refused until a lowers.
      expect(await b.cover(ACCOUNT, TOKEN, 300n, 1_000n)).to.deep.equal({ ok: false, free: 200n });
      clock.now = 900; // within the hold of the raise: the headroom stays
      expect(await a.lower(reserves(100n))).to.equal(0);
      expect(await b.cover(ACCOUNT, TOKEN, 300n, 1_000n)).to.deep.equal({ ok: false, free: 200n });
      clock.now = 1_100; // the hold is over: down to what shard a reserved over it
      expect(await a.lower(reserves(100n))).to.equal(1);
      expect(a.claimOf(ACCOUNT, TOKEN)).to.equal(100n);
      expect(await b.cover(ACCOUNT, TOKEN, 300n, 1_000n)).to.deep.equal({ ok: true });
      expect(await rowsOf(admin)).to.deep.equal([
        { shard: "a", amount: "100" },
        { shard: "b", amount: "600" }, // 300 + (1,000 - 100 - 300) / 2
      ]);
    } finally {
      await close();
    }
  });
  it("sends the raises asked while one is in flight together in the next round trip, each answered as if alone", async () => {
    const { admin, shard, close } = await setUp(); // no headroom: exactly what is needed
    try {
      const [a, b] = [await shard("a"), await shard("b")];
      const accounts = [1, 2, 3, 4, 5].map((n) => `0x${n.toString(16).padStart(40, "0")}` as Address);
      expect(await b.cover(accounts[2], TOKEN, 700n, 1_000n)).to.deep.equal({ ok: true });
      const covers = [
        a.cover(ACCOUNT, TOKEN, 100n, 1_000n), // goes alone; the rest wait for it
        ...accounts.map((account) => a.cover(account, TOKEN, 400n, 1_000n)),
      ];
      const answers = await Promise.all(covers);
      expect(a.raises).to.equal(2);
      // Shard b holds 700 of accounts[2]'s 1,000: only 300 is free for shard a.
      expect(answers).to.deep.equal([
        { ok: true },
        { ok: true },
        { ok: true },
        { ok: false, free: 300n },
        { ok: true },
        { ok: true },
      ]);
      expect(accounts.map((account) => a.claimOf(account, TOKEN))).to.deep.equal([400n, 400n, 0n, 400n, 400n]);
      const held = await admin.query(
        "SELECT COUNT(*)::int AS n, SUM(amount)::text AS total FROM crossbook_cluster.claims WHERE shard = 'a'",
      );
      expect(held.rows[0]).to.deep.equal({ n: 5, total: "1700" });
    } finally {
      await close();
    }
  });

  it("refuses every raise of a batch sent under a lapsed term, and writes none of them", async () => {
    const { admin, shard, close } = await setUp();
    try {
      const a = await shard("a");
      // A deposed leader (its lease moved to a newer term) that still asks: one raise alone, then
      // five that waited for it and go together through raise_claims.
      await admin.query("UPDATE shard_a.leader_lease SET term = term + 1");
      const accounts = [1, 2, 3, 4, 5].map((n) => `0x${(n + 600).toString(16).padStart(40, "0")}` as Address);
      const outcomes = await Promise.all(
        [ACCOUNT, ...accounts].map((account) =>
          Promise.resolve(a.cover(account, TOKEN, 10n, 1_000n)).then(
            () => "covered",
            (e: unknown) => String(e),
          ),
        ),
      );
      expect(a.raises).to.equal(2);
      for (const outcome of outcomes) expect(outcome).to.match(/crossbook fenced/);
      expect(await rowsOf(admin)).to.deep.equal([]);
      expect([ACCOUNT, ...accounts].map((account) => a.claimOf(account, TOKEN))).to.deep.equal([
        0n,
        0n,
        0n,
        0n,
        0n,
        0n,
      ]);
    } finally {
      await close();
    }
  });

  it("carries at most MAX_RAISES_A_ROUND raises a round trip and the rest in the next", async () => {
    const { admin, shard, close } = await setUp();
    try {
      const a = await shard("a");
      const waiting = MAX_RAISES_A_ROUND + 43;
      const accounts = Array.from(
        { length: waiting },
        (_, n) => `0x${(n + 100).toString(16).padStart(40, "0")}` as Address,
      );
      const answers = await Promise.all([
        a.cover(ACCOUNT, TOKEN, 10n, 1_000n), // goes alone; the rest wait for it
        ...accounts.map((account) => a.cover(account, TOKEN, 10n, 1_000n)),
      ]);
      expect(answers.every((c) => c.ok)).to.equal(true);
      expect(a.raises).to.equal(3); // 1, then MAX_RAISES_A_ROUND, then 43
      const held = await admin.query("SELECT COUNT(*)::int AS n FROM crossbook_cluster.claims WHERE shard = 'a'");
      expect(held.rows[0].n).to.equal(waiting + 1);
    } finally {
      await close();
    }
  });

  it("never deadlocks two shards raising the same accounts together in opposite orders", async () => {
    const { shard, close } = await setUp();
    try {
      const [a, b] = [await shard("a"), await shard("b")];
      const accounts = Array.from({ length: 40 }, (_, n) => `0x${(n + 16).toString(16).padStart(40, "0")}` as Address);
      for (let round = 1n; round <= 5n; round++) {
        // Each shard's first raise goes alone; the other 40 go together, in the order asked.
        const batch = (claims: ShardClaims, order: readonly Address[]) => [
          claims.cover(ACCOUNT, TOKEN, round * 10n, 1_000_000n),
          ...order.map((account) => claims.cover(account, TOKEN, round * 10n, 1_000_000n)),
        ];
        const answers = await Promise.all([...batch(a, accounts), ...batch(b, [...accounts].reverse())]);
        expect(answers.every((c) => c.ok)).to.equal(true);
      }
      expect([a.raises, b.raises]).to.deep.equal([10, 10]);
    } finally {
      await close();
    }
  });
});
