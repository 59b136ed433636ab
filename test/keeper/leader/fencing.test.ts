/**
 * Two keepers on one PostgreSQL: the lease elects one, its term fences its commits. A keeper whose
 * lease a newer term took over (paused past its lease, its connection slow) commits nothing more:
 * its next commit fails with STORE_FAILED, and every write after it too; the new leader's copy
 * holds every commit of the old term that was answered, and nothing after. A follower's working
 * copy is read-only: a write to it throws READ_ONLY.
 */
import { expect } from "chai";
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

  const pgOf = (s: Store) => s.database as PostgresDatabase;
  const rest = (s: Store, n: number) =>
    s.grouped(() =>
      s.acceptOrder({ hash: hashOf(n), order: order(BigInt(n)), signature: SIG, seq: n, rested: true, at: n }),
    );
  /** The lease expires now (the server's clock is the lease's: no waiting in the test). */
  const expire = (s: Store) => pgOf(s).pg.query("UPDATE leader_lease SET expires_at = now() - interval '1 second'");

  beforeEach(async () => {
    const url = await freshDatabase();
    a = await Store.connect(url);
    b = await Store.connect(url);
  });

  afterEach(async () => {
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
