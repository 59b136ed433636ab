/**
 * The store's group commit: orders of one burst share one commit (one fsync, off the event loop),
 * each caller learns when its write is durable, a failing write undoes only itself (a call that
 * fails after writing undoes its whole group), a market's sequence is raised once a group, and a
 * standalone transaction (a batch about to be broadcast) commits the group before it runs.
 */
import { expect } from "chai";
import { fsyncSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "libsql";
import { RESUME_SLICE } from "../../../keeper/src/store/database";
import { Store, StoreError, type Hex, type Order } from "../../../keeper/src/store";
import { Metrics } from "../../../keeper/src/metrics";
import { traceSql } from "../support";

const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const SIG = `0x${"ab".repeat(65)}` as Hex;
const hashOf = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;

function order(nonce: bigint): Order {
  return {
    maker: ALICE,
    marketId: 1n,
    isBuy: false,
    flags: 0n,
    maxFeeBps: 10n,
    expiry: 4_102_444_800n,
    nonce,
    priceTicks: 100n,
    lots: 10n,
  };
}

describe("keeper store: group commit", () => {
  let dir: string;
  let path: string;
  let store: Store;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "crossbook-group-"));
    path = join(dir, "keeper.db");
    store = Store.open(path);
  });

  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What another connection (another process, after a crash) would read: committed rows only. */
  function committedOrders(): number {
    const other = new Database(path);
    try {
      return (other.prepare("SELECT COUNT(*) AS n FROM orders").get() as { n: number }).n;
    } finally {
      other.close();
    }
  }

  /** A `meta` value as another connection reads it: committed only. */
  function committedMeta(key: string): string | undefined {
    const other = new Database(path);
    try {
      return (other.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined)?.value;
    } finally {
      other.close();
    }
  }

  function accept(n: number) {
    return store.grouped(() =>
      store.acceptOrder({ hash: hashOf(n), order: order(BigInt(n)), signature: SIG, seq: n, rested: true, at: n }),
    );
  }

  it("runs a transaction's afterCommit once it is committed, after the group before it, and never inside another body", () => {
    const seen: string[] = [];
    store.grouped(
      () => store.acceptOrder({ hash: hashOf(1), order: order(1n), signature: SIG, seq: 0, rested: true, at: 1 }),
      () => seen.push("group"),
    );
    store.transaction(
      () => store.acceptOrder({ hash: hashOf(2), order: order(2n), signature: SIG, seq: 1, rested: true, at: 2 }),
      () => seen.push(`transaction, ${committedOrders()} rows committed`),
    );
    expect(seen).to.deep.equal(["group", "transaction, 2 rows committed"]);
    // Inside another body its commit would not be its own: refused, the body undone.
    expect(() =>
      store.transaction(() => {
        store.acceptOrder({ hash: hashOf(3), order: order(3n), signature: SIG, seq: 2, rested: true, at: 3 });
        store.transaction(
          () => undefined,
          () => seen.push("nested"),
        );
      }),
    )
      .to.throw(StoreError)
      .with.property("code", "NESTED_GROUP");
    expect([seen.length, store.getOrder(hashOf(3))]).to.deep.equal([2, undefined]);
  });

  it("commits a burst of writes once, a moment later, and tells each caller when it is durable", async () => {
    const writes = [1, 2, 3].map(accept);
    expect(store.getOrder(hashOf(2))?.status).to.equal("open"); // visible to the keeper at once
    expect(committedOrders()).to.equal(0); // not yet on disk for anyone else
    await Promise.all(writes.map((w) => w.durable));
    expect(committedOrders()).to.equal(3);
  });

  it("undoes only the write that throws", async () => {
    const first = accept(1);
    expect(() => accept(1)).to.throw(StoreError); // the same order again: ORDER_EXISTS
    const third = accept(3);
    await Promise.all([first.durable, third.durable]);
    expect(committedOrders()).to.equal(2);
    expect(store.nextSeq(1n)).to.equal(4);
  });

  it("undoes the whole group when a write fails after another of the same call, and tells every caller of it", async () => {
    const first = accept(1);
    const failing = () =>
      store.grouped(() => {
        store.acceptOrder({ hash: hashOf(2), order: order(2n), signature: SIG, seq: 2, rested: true, at: 2 });
        store.acceptOrder({ hash: hashOf(1), order: order(1n), signature: SIG, seq: 3, rested: true, at: 3 }); // ORDER_EXISTS
      });
    expect(failing).to.throw(StoreError);
    expect(await states([first.durable])).to.deep.equal(["failed"]);
    expect(store.getOrder(hashOf(1))).to.equal(undefined);
    expect(store.getOrder(hashOf(2))).to.equal(undefined);
    const next = accept(4); // a new group
    await next.durable;
    expect(committedOrders()).to.equal(1);
    expect(store.nextSeq(1n)).to.equal(5);
  });

  it("raises a market's next sequence number once a group, at its commit, to the highest its orders asked for", async () => {
    const tracer = traceSql();
    try {
      store.close();
      store = Store.open(path); // its statements prepared under the tracer
      tracer.start();
      const writes = [3, 1, 2].map(accept);
      expect(store.nextSeq(1n)).to.equal(4); // the held raise, before the commit
      await Promise.all(writes.map((w) => w.durable));
      tracer.trace.recording = false;
      const raises = tracer.trace.statements.filter((t) => /^INSERT INTO meta/.test(t.sql));
      expect(raises).to.have.length(1);
      expect(tracer.trace.savepoints).to.equal(0);
      expect(tracer.trace.commits).to.equal(1);
      expect(store.nextSeq(1n)).to.equal(4);
      expect(committedMeta("nextSeq:1")).to.equal("4");
    } finally {
      tracer.stop();
    }
  });

  it("commits the group before a standalone transaction, so that what it writes is durable when it returns", async () => {
    const grouped = accept(1);
    let durable = false;
    void grouped.durable.then(() => (durable = true));
    store.cancelOrder(hashOf(1), "soft-cancel", 5);
    expect(committedOrders()).to.equal(1);
    await Promise.resolve();
    expect(durable).to.equal(true);
  });

  /** Reopens the store with an fsync of the log that this test runs by hand (`fsyncs[i](error?)`). */
  function heldFsyncs(): ((error?: Error) => void)[] {
    const fsyncs: ((error?: Error) => void)[] = [];
    store.close();
    store = Store.open(path, { fsyncLog: (_fd, done) => void fsyncs.push((error) => done(error ?? null)) });
    return fsyncs;
  }

  /** Whether each promise has settled, and how, after the microtasks and one turn of the event loop. */
  async function states(promises: Promise<unknown>[]): Promise<string[]> {
    const out = promises.map(() => "waiting");
    promises.forEach((p, i) =>
      p.then(
        () => (out[i] = "durable"),
        () => (out[i] = "failed"),
      ),
    );
    await new Promise<void>((resolve) => setImmediate(resolve));
    return out;
  }

  it("tells a group's callers it is durable only once the log's fsync, off the event loop, is done: one fsync at a time", async () => {
    const fsyncs = heldFsyncs();
    const seen: string[] = [];
    const a = store.grouped(
      () => store.acceptOrder({ hash: hashOf(1), order: order(1n), signature: SIG, seq: 1, rested: true, at: 1 }),
      () => seen.push("a"),
    );
    store.commitGroup(); // committed to the log, which is being fsynced
    expect(committedOrders()).to.equal(1);
    const b = accept(2);
    store.commitGroup();
    const c = accept(3);
    store.commitGroup();
    expect(fsyncs).to.have.length(1); // b and c wait for the next one
    expect(await states([a.durable, b.durable, c.durable])).to.deep.equal(["waiting", "waiting", "waiting"]);
    expect(seen).to.deep.equal([]); // nothing published before it is durable
    fsyncs[0]();
    expect(seen).to.deep.equal(["a"]);
    expect(fsyncs).to.have.length(2);
    expect(await states([a.durable, b.durable, c.durable])).to.deep.equal(["durable", "waiting", "waiting"]);
    fsyncs[1]();
    expect(await states([b.durable, c.durable])).to.deep.equal(["durable", "durable"]);
    await store.durable();
  });

  it("tells the metrics each fsync of the log that succeeded, once it is done", async () => {
    const fsyncs = heldFsyncs();
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.watch(undefined as never, store); // no engine: only the store's figures have values
    const fsyncCount = async () =>
      Number(/^crossbook_store_log_fsync_seconds_count (\d+)$/m.exec((await metrics.text()).body)?.[1]);
    const a = accept(1);
    store.commitGroup();
    expect(fsyncs).to.have.length(1);
    expect(await fsyncCount()).to.equal(0); // asked, not done
    fsyncs[0]();
    await a.durable;
    expect(await fsyncCount()).to.equal(1);
    const b = accept(2);
    store.commitGroup();
    fsyncs[1](new Error("EIO"));
    await b.durable.catch(() => undefined);
    expect(await fsyncCount()).to.equal(1); // a failed fsync says nothing of the disk's speed
  });

  it("commits a group at the end of its turn of the event loop, or, while an fsync is under way, right after it, with every write of that time", async () => {
    const fsyncs = heldFsyncs();
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    const a = accept(1);
    await turn(); // no timer: committed at the end of the turn that opened it, and fsynced
    expect([committedOrders(), fsyncs.length]).to.deep.equal([1, 1]);
    const b = accept(2);
    // Held open while a's fsync runs: it could not be durable before that fsync is done. A timer
    // later than the 8 ms window groups once had (timers fire in the order they are due) finds it open.
    await new Promise<void>((resolve) => setTimeout(resolve, 32));
    const c = accept(3); // joins b's group
    expect([committedOrders(), fsyncs.length]).to.deep.equal([1, 1]);
    expect(await states([a.durable, b.durable, c.durable])).to.deep.equal(["waiting", "waiting", "waiting"]);
    fsyncs[0](); // a is durable; b and c commit together at once, and their fsync starts
    expect([committedOrders(), fsyncs.length]).to.deep.equal([3, 2]);
    expect(await states([a.durable, b.durable, c.durable])).to.deep.equal(["durable", "waiting", "waiting"]);
    fsyncs[1]();
    expect(await states([b.durable, c.durable])).to.deep.equal(["durable", "durable"]);
    // The fsync failed: the held group's commit fails at once and tells its callers.
    accept(4);
    await turn();
    const d = accept(5);
    fsyncs[2](new Error("EIO: i/o error, fsync"));
    expect(await states([d.durable])).to.deep.equal(["failed"]);
  });

  it("makes every group before a standalone transaction durable when it returns, and fails every group after a failed fsync", async () => {
    const fsyncs = heldFsyncs();
    const a = accept(1);
    store.commitGroup();
    store.cancelOrder(hashOf(1), "soft-cancel", 5); // a transaction: fsynced on the spot
    expect(await states([a.durable])).to.deep.equal(["durable"]);
    fsyncs[0](); // the fsync under way finds nothing left to do
    const b = accept(2);
    store.commitGroup();
    fsyncs[1](new Error("EIO: i/o error, fsync"));
    const c = accept(3);
    store.commitGroup();
    expect(await states([b.durable, c.durable])).to.deep.equal(["failed", "failed"]);
  });

  it("runs afterDurable once every commit before it is on disk, after their hooks, without committing the open group; never after a failed fsync", async () => {
    const fsyncs = heldFsyncs();
    const seen: string[] = [];
    store.afterDurable(() => seen.push("idle")); // nothing committed waits: at once
    expect(seen).to.deep.equal(["idle"]);
    store.grouped(
      () => store.acceptOrder({ hash: hashOf(1), order: order(1n), signature: SIG, seq: 1, rested: true, at: 1 }),
      () => seen.push("a"),
    );
    store.commitGroup(); // in the fsync under way
    store.afterDurable(() => seen.push("after a"));
    const b = store.grouped(
      () => store.acceptOrder({ hash: hashOf(2), order: order(2n), signature: SIG, seq: 2, rested: true, at: 2 }),
      () => seen.push("b"),
    );
    store.afterDurable(() => seen.push("after a, not b")); // b's group is open: not committed, not waited for
    expect(committedOrders()).to.equal(1); // and still open
    store.commitGroup();
    store.afterDurable(() => seen.push("after b"));
    expect(seen).to.deep.equal(["idle"]);
    fsyncs[0]();
    expect(seen).to.deep.equal(["idle", "a", "after a", "after a, not b"]);
    fsyncs[1]();
    expect(seen).to.deep.equal(["idle", "a", "after a", "after a, not b", "b", "after b"]);
    await b.durable;

    accept(3);
    store.commitGroup();
    store.afterDurable(() => seen.push("after a failed fsync"));
    fsyncs[2](new Error("EIO: i/o error, fsync"));
    store.afterDurable(() => seen.push("once the log has failed"));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(seen).to.have.length(6);
  });

  it("resumes the callers of a big group a slice per turn of the event loop, in order", async () => {
    // The log's fsync done at once, as it is called: this test is about the turns after it.
    store.close();
    store = Store.open(path, {
      fsyncLog: (fd, done) => {
        fsyncSync(fd);
        done(null);
      },
    });
    const n = 2 * RESUME_SLICE + 5;
    const resumed: number[] = [];
    const writes = Array.from({ length: n }, (_, i) => accept(i + 1));
    writes.forEach((w, i) => void w.durable.then(() => resumed.push(i + 1)));
    store.commitGroup();
    expect(committedOrders()).to.equal(n);
    // The first slice resumes at once (its microtasks); each later one after a turn (`setImmediate`).
    await Promise.resolve();
    expect(resumed).to.have.length(RESUME_SLICE);
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    await turn();
    expect(resumed.length).to.be.lessThan(n);
    await turn();
    await turn();
    expect(resumed).to.deep.equal(Array.from({ length: n }, (_, i) => i + 1));
  });

  it("commits an open group on close, and a later crash loses nothing that was acknowledged", async () => {
    const w = accept(7);
    store.close();
    await w.durable;
    expect(committedOrders()).to.equal(1);
    store = Store.open(path);
    expect(store.getOrder(hashOf(7))?.status).to.equal("open");
  });
});
