/**
 * A deposed leader becomes a follower in its own process (issue 14): two keepers on one PostgreSQL
 * in this process; the lease is moved to another term under the leader (what a SIGSTOP past the
 * lease, or a lost connection, amounts to). An order sent to it at that moment is not answered
 * 201 and is in no store; the keeper does not stop: it steps down, reads its copy again from
 * PostgreSQL, answers order entry with NOT_LEADER, serves the same books as the other keeper, and
 * follows whoever takes the lease next.
 */
import { expect } from "chai";
import pg from "pg";
import { runKeeperInProcess } from "../support";
import { http, newTrader, orderOf, signedBody, type Keeper } from "../api/support";
import { sdkFixture } from "../../sdk/support";
import { freshDatabase } from "../../helpers/postgres";
import { until, type Running } from "./support";

describe("keeper step-down: a deposed leader follows in the same process", function () {
  this.timeout(240_000);
  let a: Running | undefined;
  let b: Running | undefined;
  let admin: pg.Client | undefined;

  after(async () => {
    await a?.close().catch(() => {});
    await b?.close().catch(() => {});
    await admin?.end().catch(() => {});
  });

  it("steps down when its term is taken, refuses the order in flight, resyncs, follows, and can lead again", async () => {
    const env = await sdkFixture();
    const database = await freshDatabase();
    const flags = ["--lease-ms", "1000"];
    a = await runKeeperInProcess(env, { database, flags });
    b = await runKeeperInProcess(env, { database, flags, key: a.key });
    expect(a.keeper.role.current.role).to.equal("leader");
    let aStopped = false;
    void a.keeper.done.then(() => (aStopped = true));
    const k = (url: string) => ({ env, api: { url } }) as unknown as Keeper;
    const alice = await newTrader(env);
    const bob = await newTrader(env);

    const ask = orderOf(alice, { isBuy: false, priceTicks: 210_000n, lots: 10n });
    const placed = await http(a.url, "POST", "/v1/orders", await signedBody(k(a.url), alice, ask));
    expect(placed.status, JSON.stringify(placed.body)).to.equal(201);

    // The lease moves to a newer term under a (held by nobody that serves: expiring in an hour).
    admin = new pg.Client({ connectionString: database });
    await admin.connect();
    const bid = await signedBody(k(a.url), bob, orderOf(bob, { isBuy: true, priceTicks: 200_000n, lots: 3n }));
    await admin.query(
      "UPDATE leader_lease SET term = term + 1, holder = 'elsewhere', url = 'http://elsewhere', expires_at = now() + interval '1 hour'",
    );
    // An order at that moment: fenced at its commit or refused at the door, never 201.
    const inFlight = await http(a.url, "POST", "/v1/orders", bid);
    expect(inFlight.status, JSON.stringify(inFlight.body)).to.not.equal(201);
    const stored = await admin.query("SELECT count(*)::int AS n FROM orders WHERE account = $1", [bob.address]);
    expect(stored.rows[0].n).to.equal(0);

    // a follows, in the same process, on the same URL.
    await until(
      "a steps down",
      () => http(a!.url, "GET", "/v1/ready"),
      (r) => r.body.role === "follower",
    );
    expect(aStopped).to.equal(false);
    expect(a.keeper.role.current).to.deep.include({ role: "follower" });
    const refused = await http(
      a.url,
      "POST",
      "/v1/orders",
      await signedBody(k(a.url), bob, orderOf(bob, { isBuy: true, priceTicks: 200_000n, lots: 2n })),
    );
    expect([refused.status, refused.body.error.code]).to.deep.equal([503, "NOT_LEADER"]);
    const asLeader = await http(a.url, "GET", "/v1/ready?role=leader");
    expect([asLeader.status, asLeader.body.error.code]).to.deep.equal([503, "NOT_LEADER"]);
    // Its books are the store's (alice's ask, not bob's refused bid), and b's.
    const book = await http(a.url, "GET", "/v1/markets/1/book");
    expect(book.body.bids).to.deep.equal([]);
    expect(book.body.asks[0]).to.deep.include({ priceTicks: "210000", lots: "10", orders: 1 });
    const digestB = (await http(b.url, "GET", "/v1/books/digest")).body;
    const digestA = (await http(a.url, "GET", "/v1/books/digest")).body;
    expect(digestA.markets).to.deep.equal(digestB.markets);
    const metrics = (await http(a.url, "GET", "/metrics")).body as string;
    expect(metrics).to.match(/crossbook_keeper_is_leader 0\n/);
    expect(metrics).to.match(/crossbook_keeper_role_changes_total\{role="follower"\} 1\n/);

    // The lease expires: one of the two takes it (term 3), the other follows it.
    await admin.query("UPDATE leader_lease SET expires_at = now() - interval '1 second'");
    const urls = [a.url, b.url];
    const leading = await until(
      "a keeper leads again",
      async () => Promise.all(urls.map((u) => http(u, "GET", "/v1/ready?role=leader"))),
      (rs) => rs.some((r) => r.status === 200),
    );
    const leader = urls[leading.findIndex((r) => r.status === 200)];
    const other = urls.find((u) => u !== leader) as string;
    const ready = await http(leader, "GET", "/v1/ready");
    expect(ready.body).to.deep.include({ role: "leader", term: 3, leader });
    const take = orderOf(bob, { isBuy: true, priceTicks: 210_000n, lots: 4n });
    const taken = await http(leader, "POST", "/v1/orders", await signedBody(k(leader), bob, take));
    expect(taken.status, JSON.stringify(taken.body)).to.equal(201);
    await until(
      "the other keeper's book follows the new leader",
      () => http(other, "GET", "/v1/markets/1/book"),
      (r) => r.body.asks?.[0]?.lots === "6",
    );
    const after = (await http(leader, "GET", "/v1/books/digest")).body;
    await until(
      "both keepers hold the same books",
      () => http(other, "GET", "/v1/books/digest"),
      (r) => JSON.stringify(r.body.markets) === JSON.stringify(after.markets),
    );
    expect(aStopped).to.equal(false);
  });
});
