/**
 * Two keepers on one PostgreSQL: the lease elects one, its term fences its commits. A keeper whose
 * lease a newer term took over (paused past its lease, its connection slow) commits nothing more:
 * its next commit fails with STORE_FAILED, and every write after it too; the new leader's copy
 * holds every commit of the old term that was answered, and nothing after. A follower's working
 * copy is read-only: a write to it throws READ_ONLY.
 */
import { expect } from "chai";
import pg from "pg";
import { PostgresDatabase, Store, StoreError, type Hex, type Order } from "../../../keeper/src/store";
import { currentLease, renew, tryAcquire } from "../../../keeper/src/leader";
import { freshDatabase } from "../../helpers/postgres";

const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const SIG = `0x${"ab".repeat(65)}` as Hex;
const hashOf = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const order = (nonce: bigint): Order => ({
  maker: ALICE,
  marketId: 1n,
  isBuy: false,
  flags: 0n,
  maxFeeBps: 10n,
  expiry: 4_102_444_800n,
  nonce,
  priceTicks: 100n,
  lots: 10n,
});

describe("keeper leader lease and fencing (PostgreSQL)", function () {
  this.timeout(60_000);
  let a: Store;
  let b: Store;
  let url: string;
  const clients: pg.Client[] = [];

  const pgOf = (s: Store) => s.database as PostgresDatabase;
  const rest = (s: Store, n: number) =>
    s.grouped(() =>
      s.acceptOrder({ hash: hashOf(n), order: order(BigInt(n)), signature: SIG, seq: n, rested: true, at: n }),
    );
  /** The lease expires now (the server's clock is the lease's: no waiting in the test). */
  const expire = (s: Store) => pgOf(s).pg.query("UPDATE leader_lease SET expires_at = now() - interval '1 second'");

  beforeEach(async () => {
    url = await freshDatabase();
    a = await Store.connect(url);
    b = await Store.connect(url);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.end().catch(() => {});
    await a.shutdown().catch(() => {});
    await b.shutdown().catch(() => {});
  });

  it("gives the lease to one keeper at a time, a new term only once it expired", async () => {
    const first = await tryAcquire(pgOf(a).pg, "a", "http://a", 10_000);
    expect(first?.term).to.equal(1);
    expect(await tryAcquire(pgOf(b).pg, "b", "http://b", 10_000)).to.equal(undefined);
    expect(await renew(pgOf(a).pg, 1, 10_000)).to.equal(true);
    await expire(a);
    const second = await tryAcquire(pgOf(b).pg, "b", "http://b", 10_000);
    expect(second).to.deep.include({ term: 2, holder: "b", url: "http://b" });
    expect(await renew(pgOf(a).pg, 1, 10_000)).to.equal(false); // a learns it was deposed
    expect((await currentLease(pgOf(a).pg))?.url).to.equal("http://b");
  });

  it("refuses every commit of a deposed leader once a newer term holds the lease", async () => {
    const leaseA = await tryAcquire(pgOf(a).pg, "a", "http://a", 10_000);
    pgOf(a).term = leaseA!.term;
    await rest(a, 1).durable; // answered under term 1

    await expire(a); // a is paused past its lease…
    const leaseB = await tryAcquire(pgOf(b).pg, "b", "http://b", 10_000);
    await pgOf(b).refresh(); // …b takes over and recovers from what is committed
    pgOf(b).term = leaseB!.term;
    expect(b.getOrder(hashOf(1))?.status).to.equal("open");

    // a resumes and writes as if it still led: the fence refuses the commit.
    const late = rest(a, 2);
    const error = await late.durable.then(
      () => expect.fail("a deposed leader's commit went through"),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(StoreError);
    expect((error as StoreError).code).to.equal("STORE_FAILED");
    expect((error as StoreError).message).to.match(/fenced: term 1/);
    // Every later write fails at once; a's durable() says so too.
    expect(() => a.cancelOrder(hashOf(1), "late", 3)).to.throw(StoreError, /shared database refused/);
    await a.durable().then(
      () => expect.fail("durable() resolved on a failed layer"),
      () => {},
    );

    // b commits under term 2; nothing of a's late writes reached the shared database.
    await rest(b, 3).durable;
    const rows = await pgOf(b).pg.query("SELECT hash, status FROM orders ORDER BY hash");
    expect(rows.rows).to.deep.equal([
      { hash: hashOf(1), status: "open" },
      { hash: hashOf(3), status: "open" },
    ]);
  });

  it("makes a deposed leader's copy what the shared database holds again (resync): refused commits gone, read-only", async () => {
    const leaseA = await tryAcquire(pgOf(a).pg, "a", "http://a", 10_000);
    pgOf(a).term = leaseA!.term;
    await rest(a, 1).durable;
    await expire(a);
    await tryAcquire(pgOf(b).pg, "b", "http://b", 10_000);
    await rest(a, 2).durable.catch(() => {}); // fenced: only in a's copy
    expect(a.getOrder(hashOf(2))?.status).to.equal("open");
    await rest(b, 3).durable; // b leads (unfenced here: term not set)

    await pgOf(a).resync();
    expect(a.openOrders(1n).map((o) => o.hash)).to.deep.equal([hashOf(1), hashOf(3)]);
    expect(a.getOrder(hashOf(2))).to.equal(undefined);
    expect(a.nextSeq(1n)).to.equal(4);
    expect(pgOf(a).term).to.equal(undefined);
    expect(() => rest(a, 4)).to.throw(StoreError, /read-only/);
    await a.durable(); // the failure is cleared: the copy follows again
    await rest(b, 5).durable;
    expect(await pgOf(a).refresh()).to.be.greaterThan(0);
    expect(a.openOrders(1n).map((o) => o.hash)).to.deep.equal([hashOf(1), hashOf(3), hashOf(5)]);
  });

  /** A connection of its own, and its backend's pid. */
  async function connection(): Promise<{ client: pg.Client; pid: number }> {
    const client = new pg.Client({ connectionString: url });
    clients.push(client);
    await client.connect();
    return { client, pid: (await client.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number };
  }

  /** A leader's flush caught between its fence and its COMMIT: what \`PostgresDatabase\` sends first. */
  async function flushInFlight(term: number): Promise<pg.Client> {
    const { client } = await connection();
    await client.query("BEGIN");
    await client.query(`SELECT crossbook_fence(${term})`);
    return client;
  }

  /**
   * Whichever comes first: \`statement\` answers, or its backend (\`pid\`) waits for a lock. Asked of
   * PostgreSQL (pg_stat_activity), not timed: a wait shows however slow the machine.
   */
  async function answeredOrWaits<T>(statement: Promise<T>, pid: number): Promise<{ answered: T } | "waits for a lock"> {
    let answered: { answered: T } | undefined;
    const settled = statement.then((value) => (answered = { answered: value }));
    settled.catch(() => {});
    for (;;) {
      if (answered !== undefined) return answered;
      const activity = await pgOf(b).pg.query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", [pid]);
      if (answered !== undefined) return answered;
      if (activity.rows[0]?.wait_event_type === "Lock") return "waits for a lock";
      await Promise.race([settled, new Promise((r) => setTimeout(r, 20))]);
    }
  }

  it("renews the lease while a flush of its term is in flight: a renewal never waits for the fence", async () => {
    // bench:shard saw a leader step down at a thousand cancel-alls: its renewal waited behind flush
    // after flush, each holding the lease row FOR SHARE, until the lease was nearly gone.
    const lease = (await tryAcquire(pgOf(a).pg, "a", "http://a", 10_000))!;
    const flush = await flushInFlight(lease.term);
    const renewer = await connection();
    const outcome = await answeredOrWaits(renew(renewer.client, lease.term, 10_000), renewer.pid);
    await flush.query("COMMIT");
    expect(outcome).to.deep.equal({ answered: true });
  });

  it("still makes a takeover wait for a flush of the old term in flight, and fences the old term after it", async () => {
    const lease = (await tryAcquire(pgOf(a).pg, "a", "http://a", 10_000))!;
    await expire(a); // a is paused past its lease, with a flush already past its fence
    const flush = await flushInFlight(lease.term);
    await flush.query("INSERT INTO meta (key, value) VALUES ('late', 'a')");
    const standby = await connection();
    const takeover = tryAcquire(standby.client, "b", "http://b", 10_000);
    expect(await answeredOrWaits(takeover, standby.pid)).to.equal("waits for a lock");
    await flush.query("COMMIT"); // the commit in flight lands under term 1…
    expect((await takeover)?.term).to.equal(lease.term + 1); // …and only then does term 2 begin
    const meta = await pgOf(b).pg.query("SELECT value FROM meta WHERE key = 'late'");
    expect(meta.rows).to.deep.equal([{ value: "a" }]);
    const next = (await connection()).client;
    await next.query("BEGIN");
    const fenced = await next.query(`SELECT crossbook_fence(${lease.term})`).then(
      () => "passed",
      (e: { code?: string }) => e.code,
    );
    expect(fenced).to.equal("CB001");
  });

  /** Keeper a leads under a lease, commits order 1, then has no lease left to write under. */
  async function leadThenLetTheLeaseLapse(): Promise<void> {
    const leaseA = await tryAcquire(pgOf(a).pg, "a", "http://a", 10_000);
    pgOf(a).term = leaseA!.term;
    let left = 1_000;
    pgOf(a).leaseValidFor = () => left;
    await rest(a, 1).durable;
    left = 0;
  }

  it("refuses a flush once the lease could lapse (leaseValidFor), before sending it", async () => {
    await leadThenLetTheLeaseLapse();
    const error = await rest(a, 2).durable.then(
      () => expect.fail("a flush went out with no lease left"),
      (e: unknown) => e,
    );
    expect((error as StoreError).code).to.equal("STORE_FAILED");
    expect((error as StoreError).message).to.match(/could lapse: this keeper stepped down/);
    const rows = await pgOf(b).pg.query("SELECT hash FROM orders ORDER BY hash");
    expect(rows.rows).to.deep.equal([{ hash: hashOf(1) }]);
    // The step-down's resync ends (the refused flush is over), and the copy follows again.
    expect(() => rest(a, 3)).to.throw(StoreError, /shared database refused/);
    await pgOf(a).resync();
    expect(a.openOrders(1n).map((o) => o.hash)).to.deep.equal([hashOf(1)]);
    await a.durable();
  });

  it("leaves no unhandled rejection when a flush nobody awaits is refused at a step-down", async () => {
    await leadThenLetTheLeaseLapse();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      a.cancelOrder(hashOf(1), "user", 2); // a write in a transaction: no waiter awaits its flush
      await new Promise((r) => setTimeout(r, 100)); // a deadline for the rejection to surface, not a measure
      expect(unhandled, "rejections nobody handled (they end a keeper process)").to.deep.equal([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
    await pgOf(a).resync();
    expect(a.getOrder(hashOf(1))?.status).to.equal("open");
  });

  it("refuses every write to a follower's read-only working copy, loudly, and leaves the copy as it was", async () => {
    await rest(a, 1).durable;
    await pgOf(b).refresh();
    pgOf(b).readOnly = true;
    expect(() => rest(b, 2)).to.throw(StoreError, /read-only/);
    const thrown = (() => {
      try {
        b.cancelOrder(hashOf(1), "late", 3);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(thrown).to.be.instanceOf(StoreError);
    expect((thrown as StoreError).code).to.equal("READ_ONLY");
    expect(b.getOrder(hashOf(1))?.status).to.equal("open");
    expect(b.getOrder(hashOf(2))).to.equal(undefined);
    // What the leader commits still reaches it.
    await rest(a, 3).durable;
    await pgOf(b).refresh();
    expect(b.openOrders(1n).map((o) => o.hash)).to.deep.equal([hashOf(1), hashOf(3)]);
  });

  it("keeps a follower's copy warm: what the leader commits reaches it at the next refresh", async () => {
    await rest(a, 1).durable;
    await rest(a, 2).durable;
    expect(b.getOrder(hashOf(1))).to.equal(undefined);
    expect(await pgOf(b).refresh()).to.be.greaterThan(0);
    expect(b.openOrders(1n).map((o) => o.hash)).to.deep.equal([hashOf(1), hashOf(2)]);
    expect(b.nextSeq(1n)).to.equal(3);
  });
});
