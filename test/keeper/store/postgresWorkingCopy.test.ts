import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { expect } from "chai";
import { Store, type Hex, type Order, type PostgresDatabase } from "../../../keeper/src/store";
import { pgClient } from "../../../keeper/src/store/postgres";
import { makeOrder } from "../../helpers/orders";
import { freshDatabase, holdNextQuery } from "../../helpers/postgres";

const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const SIG = `0x${"ab".repeat(65)}` as Hex;
/** This process's read system calls so far (`read`, `pread64` …: Linux's /proc/self/io). */
const readCalls = () => Number(/^syscr: (\d+)$/m.exec(readFileSync("/proc/self/io", "utf8"))?.[1]);
const hashOf = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;

/** A resting sell of ALICE's at its own price (the helpers' defaults for the rest). */
const order = (nonce: bigint) => makeOrder({ maker: ALICE, isBuy: false, nonce, priceTicks: 100n + nonce }) as Order;

describe("keeper store: PostgreSQL's working copy", function () {
  this.timeout(60_000); // the run's PostgreSQL starts on first use
  let store: Store;
  let url: string;

  beforeEach(async () => {
    url = await freshDatabase();
    store = await Store.connect(url);
  });
  afterEach(async () => store.shutdown().catch(() => {}));

  const accept = (n: number) =>
    store.grouped(() =>
      store.acceptOrder({ hash: hashOf(n), order: order(BigInt(n)), signature: SIG, seq: n, rested: true, at: n }),
    );
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it("keeps its rollback journal in memory, not a write-ahead log", () => {
    expect(store.pragma("journal_mode")).to.equal("memory");
  });

  it("shows none of a group larger than its page cache to the committed reader, and never locks that reader out", async () => {
    // The reader opens (its first read) while the group is open: it reads the file as it is then.
    // A cache of a few pages: a group of this size would spill to the file before its commit.
    store.database.get("PRAGMA cache_size = 8");
    let durable: Promise<void> | undefined;
    for (let i = 1; i <= 2000; i++) {
      durable = store.grouped(() =>
        store.acceptOrder({ hash: hashOf(i), order: order(BigInt(i)), signature: SIG, seq: i, rested: true, at: 1000 }),
      ).durable;
    }
    expect(store.getOrder(hashOf(2000))?.status).to.equal("open"); // the writer sees its own group
    expect(store.committed.getOrder(hashOf(1))).to.equal(undefined);
    expect(store.committed.getOrder(hashOf(2000))).to.equal(undefined);
    await durable;
    expect(store.committed.getOrder(hashOf(1))?.status).to.equal("open");
    expect(store.committed.accountOrders(ALICE, { status: "open", limit: 5000 }).orders).to.have.length(2000);
  });

  it("runs afterDurable once PostgreSQL has every commit before it, after their hooks, in no round of its own; never after a refused flush", async () => {
    const seen: string[] = [];
    const accept = (n: number) =>
      store.grouped(
        () =>
          store.acceptOrder({ hash: hashOf(n), order: order(BigInt(n)), signature: SIG, seq: n, rested: true, at: n }),
        () => seen.push(`group ${n}`),
      );
    store.afterDurable(() => seen.push("idle")); // nothing in flight: at once
    expect(seen).to.deep.equal(["idle"]);

    let sent = 0;
    const pg = (store.database as PostgresDatabase).pg;
    const query = pg.query.bind(pg) as (...args: unknown[]) => Promise<unknown>;
    (pg as unknown as { query: unknown }).query = (...args: unknown[]) => (sent++, query(...args));
    let held = holdNextQuery(store.database as PostgresDatabase);
    accept(1);
    store.commitGroup();
    await new Promise<void>((resolve) => setImmediate(resolve)); // its flush is in flight, held
    store.afterDurable(() => seen.push("after 1"));
    const second = accept(2);
    store.afterDurable(() => seen.push("after 1, not the open group"));
    store.commitGroup(); // queued behind the flush in flight
    store.afterDurable(() => seen.push("after 2"));
    expect(seen).to.deep.equal(["idle"]);
    held.release();
    await second.durable;
    expect(seen).to.deep.equal(["idle", "group 1", "after 1", "after 1, not the open group", "group 2", "after 2"]);
    expect(sent).to.equal(2); // the two rounds: the marks sent nothing

    held = holdNextQuery(store.database as PostgresDatabase);
    const third = accept(3);
    store.commitGroup();
    store.afterDurable(() => seen.push("after a refused flush"));
    held.refuse(new Error("the connection was lost"));
    await third.durable.catch(() => undefined);
    store.afterDurable(() => seen.push("once the layer has failed"));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(seen).to.have.length(6);
  });

  it("keeps its pages in memory: orders inserted among 12,000 others read nothing from its file", async function () {
    if (!existsSync("/proc/self/io")) this.skip(); // the count of read calls is Linux's
    // Hashes in no order, as orders' are: each insert lands on any page of the primary key's index.
    const scattered = (n: number) => `0x${createHash("sha256").update(String(n)).digest("hex")}` as Hex;
    const accept = (n: number) =>
      store.grouped(() =>
        store.acceptOrder({ hash: scattered(n), order: order(BigInt(n)), signature: SIG, seq: n, rested: true, at: n }),
      ).durable;
    let durable: Promise<void> = Promise.resolve();
    for (let n = 1; n <= 12_000; n++) durable = accept(n); // some 9 MB of rows and indexes, more than SQLite's default cache (2 MB)
    await durable;
    const before = readCalls();
    for (let n = 12_001; n <= 12_500; n++) durable = accept(n);
    const reads = readCalls() - before;
    await durable;
    expect(store.getOrder(scattered(12_500))?.status).to.equal("open");
    // No page is read back from the file (with SQLite's default cache, some 250 of them were).
    expect(reads).to.be.below(10);
  });

  it("commits a group locally at the end of its turn and sends it at once when no flush is in flight", async () => {
    const client = (store.database as PostgresDatabase).pg;
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    const sent: string[] = [];
    (client as unknown as { query: unknown }).query = (...args: unknown[]) => {
      sent.push(String(args[0]));
      return query(...args);
    };
    const first = accept(1);
    await turn(); // no timer: the group that opened in the last turn committed locally at its end …
    expect(store.committed.getOrder(hashOf(1))?.status).to.equal("open");
    expect(sent.filter((text) => text.includes("INSERT INTO orders"))).to.have.length(1); // … and went out
    await first.durable;
  });

  it("keeps a group open while the flush before it is in flight, so that the orders of that time share one local commit", async () => {
    // Another session holds the orders table: the first flush's insert waits for it.
    const blocker = pgClient(url);
    await blocker.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query("LOCK TABLE orders IN SHARE MODE");
      const first = accept(1);
      await turn(); // the first group committed locally; its flush waits for the lock
      const second = accept(2);
      // Its turn is over while the flush is in flight: it stays open, even past a timer.
      await turn();
      await new Promise<void>((resolve) => setTimeout(resolve, 20));
      const third = accept(3);
      expect(third.group).to.equal(second.group);
      expect(second.group).to.not.equal(first.group);
      expect(store.committed.getOrder(hashOf(2))).to.equal(undefined); // not committed locally yet
      await blocker.query("COMMIT");
      await Promise.all([first.durable, second.durable, third.durable]);
      const stored = await blocker.query("SELECT COUNT(*)::int AS n FROM orders");
      expect(stored.rows[0].n).to.equal(3);
      expect(store.committed.getOrder(hashOf(3))?.status).to.equal("open");
    } finally {
      await blocker.end();
    }
  });
});
