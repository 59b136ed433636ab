import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "libsql";
import {
  MIGRATIONS,
  Store,
  StoreError,
  migrate,
  type Hex,
  type Order,
  type PostgresDatabase,
} from "../../../keeper/src/store";
import { BACKENDS, freshDatabase } from "../../helpers/postgres";

const MAX_UINT64 = (1n << 64n) - 1n;
const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const SIG = `0x${"ab".repeat(65)}` as Hex;

const hashOf = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const txOf = (n: number) => `0x${"f".repeat(56)}${n.toString(16).padStart(8, "0")}` as Hex;

function order(overrides: Partial<Order> = {}): Order {
  return {
    maker: ALICE,
    marketId: 1n,
    isBuy: false,
    flags: 0n,
    maxFeeBps: 10n,
    expiry: 4_102_444_800n,
    nonce: 1n,
    priceTicks: 100n,
    lots: 10n,
    ...overrides,
  };
}

function expectStoreError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(StoreError);
    expect((e as StoreError).code).to.equal(code);
    return;
  }
  expect.fail(`expected StoreError ${code}`);
}

for (const backend of BACKENDS)
  describe(`keeper store (${backend})`, function () {
    this.timeout(60_000); // the run's PostgreSQL starts on first use
    let dir: string;
    let path: string;
    let location: string;
    let store: Store;
    /** A test of the SQLite file itself (its pragmas, migrations, the file after a crash). */
    const itSqlite = (title: string, fn: (this: Mocha.Context) => unknown) => {
      if (backend === "sqlite") it(title, fn as Mocha.Func);
    };

    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), "crossbook-store-"));
      path = join(dir, "keeper.db");
      location = backend === "sqlite" ? path : await freshDatabase();
      store = await Store.connect(location);
    });

    afterEach(async () => {
      await store.shutdown().catch(() => {}); // (or already closed by the test)
      rmSync(dir, { recursive: true, force: true });
    });

    /** A resting sell of Alice (maker), hash 1, 10 lots at 100. */
    function restMaker(o: Partial<Order> = {}, hash = hashOf(1), seq = 0): Hex {
      store.acceptOrder({ hash, order: order(o), signature: SIG, seq, rested: true, at: 1000 });
      return hash;
    }

    /** Bob buys `lots` against the maker: hash 2. */
    function takeMaker(lots: bigint, o: Partial<Order> = {}, hash = hashOf(2), seq = 1, rested = false): Hex {
      store.acceptOrder({
        hash,
        order: order({ maker: BOB, isBuy: true, lots, flags: 2n, ...o }),
        signature: SIG,
        seq,
        fills: [{ makerHash: hashOf(1), takerHash: hash, priceTicks: 100n, lots }],
        rested,
        at: 2000,
      });
      return hash;
    }

    const batch = (n: number, fees = 10n) => ({
      txHash: txOf(n),
      rawTx: `0x02${n}` as Hex,
      nonce: 7n,
      maxFeePerGas: fees * 10n,
      maxPriorityFeePerGas: fees,
    });

    describe("reads for the API", () => {
      it("pages back through a market's fills, newest first", () => {
        restMaker({ lots: 10n });
        for (let i = 0; i < 5; i++) {
          store.acceptOrder({
            hash: hashOf(10 + i),
            order: order({ maker: BOB, isBuy: true, lots: 1n, nonce: BigInt(10 + i), flags: 2n }),
            signature: SIG,
            seq: 1 + i,
            fills: [{ makerHash: hashOf(1), takerHash: hashOf(10 + i), priceTicks: 100n, lots: 1n }],
            rested: false,
            at: 2000 + i,
          });
        }
        const first = store.recentFills(1n, 2);
        const second = store.recentFills(1n, 2, first[1].id);
        const third = store.recentFills(1n, 2, second[1].id);
        const ids = [...first, ...second, ...third].map((f) => f.id);
        expect(ids).to.have.length(5);
        expect(ids).to.deep.equal([...ids].sort((a, b) => b - a));
        expect(new Set(ids).size).to.equal(5);
        expect(store.recentFills(2n, 10)).to.deep.equal([]);
      });
    });

    if (backend === "sqlite")
      describe("opening and migrations", () => {
        it("creates the schema on an empty file, in WAL mode with synchronous=NORMAL (the log fsynced apart) and foreign keys", () => {
          expect(store.schemaVersion()).to.equal(MIGRATIONS.length);
          expect(store.pragma("journal_mode")).to.equal("wal");
          // NORMAL: a COMMIT does not wait for the disk; the store fsyncs the log before it tells
          // anyone (test/keeper/store/group.test.ts).
          expect(store.pragma("synchronous")).to.equal(1);
          expect(store.pragma("foreign_keys")).to.equal(1);
        });

        it("reopens an up-to-date file without applying anything, and migrate is idempotent", () => {
          restMaker();
          store.close();
          const db = new Database(path);
          expect(migrate(db)).to.deep.equal([]);
          expect(migrate(db)).to.deep.equal([]);
          expect((db.prepare("SELECT COUNT(*) AS n FROM schema_version").get() as { n: number }).n).to.equal(
            MIGRATIONS.length,
          );
          db.close();
          store = Store.open(path);
          expect(store.getOrder(hashOf(1))?.status).to.equal("open");
        });

        it("applies only the new migrations, in order, each with its version row", () => {
          const db = new Database(join(dir, "m.db"));
          const extra = [
            ...MIGRATIONS,
            { version: MIGRATIONS.length + 1, name: "extra", sql: "CREATE TABLE extra (x TEXT) STRICT" },
          ];
          expect(migrate(db)).to.deep.equal(MIGRATIONS.map((m) => m.version));
          expect(migrate(db, extra)).to.deep.equal([MIGRATIONS.length + 1]);
          expect(migrate(db, extra)).to.deep.equal([]);
          expect(
            db
              .prepare("SELECT version, name FROM schema_version ORDER BY version")
              .all()
              .map((r) => (r as { name: string }).name),
          ).to.deep.equal(extra.map((m) => m.name));
          db.close();
        });

        it("rolls back a migration that fails midway, leaving its version unapplied", () => {
          const db = new Database(join(dir, "m.db"));
          const broken = [
            ...MIGRATIONS,
            { version: 99, name: "broken", sql: "CREATE TABLE half (x TEXT); CREATE TABLE half (y TEXT);" },
          ];
          expect(() => migrate(db, broken)).to.throw();
          expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).to.equal(undefined);
          expect((db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as { v: number }).v).to.equal(
            MIGRATIONS.length,
          );
          db.close();
        });

        it("brings a version-3 file to version 4: refusals dropped, settled lots and fill accounts filled in", () => {
          store.close();
          const file = join(dir, "v3.db");
          const db = new Database(file);
          migrate(db, MIGRATIONS.slice(0, 3));
          const insertOrder = db.prepare(
            `INSERT INTO orders (hash, market, account, is_buy, flags, max_fee_bps, expiry, nonce, price_ticks, lots,
           signature, status, reason, filled_lots, seq, created_at, updated_at)
         VALUES (?, '1', ?, ?, '0', '10', '4102444800', ?, '100', '10', ?, ?, ?, ?, ?, 1, 1)`,
          );
          insertOrder.run(hashOf(1), ALICE, 0, "1", SIG, "partially-filled", null, "6", 0);
          insertOrder.run(hashOf(2), BOB, 1, "1", SIG, "filled", null, "6", 1);
          insertOrder.run(hashOf(3), BOB, 1, "2", SIG, "rejected", "INSUFFICIENT_BALANCE", "0", null);
          db.prepare(
            `INSERT INTO batches (tx_hash, nonce, max_fee_per_gas, max_priority_fee_per_gas, status, created_at, updated_at)
           VALUES (?, '1', '1', '1', 'sent', 1, 1)`,
          ).run(txOf(1));
          const insertFill = db.prepare(
            `INSERT INTO fills (batch_id, market, maker_hash, taker_hash, lots, price_ticks, status, created_at, updated_at)
           VALUES (1, '1', ?, ?, ?, '100', ?, 1, 1)`,
          );
          insertFill.run(hashOf(1), hashOf(2), "4", "settled");
          insertFill.run(hashOf(1), hashOf(2), "2", "sent");
          db.close();
          store = Store.open(file);
          expect(store.schemaVersion()).to.equal(MIGRATIONS.length);
          expect(store.getOrder(hashOf(3))).to.equal(undefined);
          expect(store.getOrder(hashOf(1))).to.deep.include({ settledLots: 4n, filledLots: 6n });
          expect(store.getOrder(hashOf(2))?.settledLots).to.equal(4n);
          expect(store.openFillsOf(BOB).map((o) => [o.hash, o.lots])).to.deep.equal([[hashOf(2), 2n]]);
          expect(store.openFillsOf(ALICE).map((o) => [o.hash, o.lots])).to.deep.equal([[hashOf(1), 2n]]);
        });

        it("refuses a database written by a newer keeper", () => {
          store.close();
          const db = new Database(path);
          db.prepare("INSERT INTO schema_version (version, name) VALUES (999, 'future')").run();
          db.close();
          expectStoreError(() => Store.open(path), "SCHEMA_TOO_NEW");
        });
      });

    describe("orders", () => {
      it("accepts an order at its seq and keeps every field", () => {
        restMaker({ flags: 1n, nonce: 42n }, hashOf(1), 5);
        expect(store.getOrder(hashOf(1))).to.deep.equal({
          hash: hashOf(1),
          order: order({ flags: 1n, nonce: 42n }),
          signature: SIG,
          status: "open",
          filledLots: 0n,
          remainingLots: 10n,
          settledLots: 0n,
          seq: 5,
          createdAt: 1000,
          updatedAt: 1000,
        });
        expect(store.nextSeq(1n)).to.equal(6);
        expect(store.nextSeq(2n)).to.equal(0);
      });

      it("refuses an order hash it already holds", () => {
        restMaker();
        expectStoreError(() => restMaker(), "ORDER_EXISTS");
      });

      it("records a taker's fills with it: makers' lots, statuses and pending fills, in one call", () => {
        restMaker();
        takeMaker(4n, { flags: 0n }, hashOf(2), 1, true);
        expect(store.getOrder(hashOf(1))).to.deep.include({
          status: "partially-filled",
          filledLots: 4n,
          remainingLots: 6n,
          updatedAt: 2000,
        });
        expect(store.getOrder(hashOf(2))).to.deep.include({ status: "filled", filledLots: 4n, remainingLots: 0n });
        expect(store.pendingFills()).to.deep.equal([
          {
            id: 1,
            market: 1n,
            makerHash: hashOf(1),
            takerHash: hashOf(2),
            priceTicks: 100n,
            lots: 4n,
            status: "pending",
            createdAt: 2000,
            updatedAt: 2000,
          },
        ]);
      });

      it("cancels the unfilled remainder of an order that did not rest (IOC), with reason not-rested", () => {
        restMaker({ lots: 3n });
        takeMaker(3n, { lots: 5n });
        store.acceptOrder({
          hash: hashOf(3),
          order: order({ isBuy: true, flags: 2n }),
          signature: SIG,
          seq: 2,
          rested: false,
          at: 3000,
        });
        expect(store.getOrder(hashOf(1))).to.deep.include({ status: "filled", filledLots: 3n });
        expect(store.getOrder(hashOf(2))).to.deep.include({
          status: "cancelled",
          reason: "not-rested",
          filledLots: 3n,
          remainingLots: 2n,
        });
        expect(store.getOrder(hashOf(3))).to.deep.include({
          status: "cancelled",
          reason: "not-rested",
          filledLots: 0n,
        });
      });

      it("marks the self-trade cancellations of an accepted order", () => {
        restMaker();
        store.acceptOrder({
          hash: hashOf(2),
          order: order({ isBuy: true, priceTicks: 200n }),
          signature: SIG,
          seq: 1,
          selfTradeCancelled: [hashOf(1)],
          rested: true,
          at: 5,
        });
        expect(store.getOrder(hashOf(1))).to.deep.include({ status: "cancelled", reason: "self-trade", updatedAt: 5 });
        expect(store.openOrders(1n).map((o) => o.hash)).to.deep.equal([hashOf(2)]);
      });

      it("pages an account's orders newest first, open ones or all, through an index", () => {
        for (let i = 0; i < 7; i++) {
          store.acceptOrder({
            hash: hashOf(10 + i),
            order: order({ nonce: BigInt(10 + i) }),
            signature: SIG,
            seq: i,
            rested: true,
            at: 100 + i,
          });
        }
        store.cancelOrder(hashOf(15), "user", 200);
        const all: Hex[] = [];
        let before: string | undefined;
        for (;;) {
          const page = store.accountOrders(ALICE, { status: "all", limit: 3, before });
          all.push(...page.orders.map((o) => o.hash));
          if (page.next === undefined) break;
          before = page.next;
        }
        expect(all).to.deep.equal([16, 15, 14, 13, 12, 11, 10].map(hashOf));
        const open = store.accountOrders(ALICE, { status: "open", limit: 10 });
        expect(open.orders.map((o) => o.hash)).to.deep.equal([16, 14, 13, 12, 11, 10].map(hashOf));
        expect(open.next).to.equal(undefined);
        expect(store.accountOrders(BOB, { status: "all", limit: 10 }).orders).to.deep.equal([]);
        expect(store.knowsAccount(ALICE)).to.equal(true);
        expect(store.knowsAccount(BOB)).to.equal(false);
      });

      it("shows a group's writes to its committed reader only once the group commits", async () => {
        const { durable } = store.grouped(() => restMaker());
        expect(store.getOrder(hashOf(1))?.status).to.equal("open"); // the writer sees its own write
        expect(store.committed.getOrder(hashOf(1))).to.equal(undefined);
        await durable;
        expect(store.committed.getOrder(hashOf(1))?.status).to.equal("open");
      });

      it("keeps every order and the highest next seq of a group of many, after a reopen too", async () => {
        // Out of seq order, so that the highest raise is not the last one (PostgreSQL's flush sends one).
        const seqs = [0, 2, 5, 1, 4, 3];
        let last: Promise<void> | undefined;
        for (const [i, seq] of seqs.entries()) {
          const hash = hashOf(10 + i);
          last = store.grouped(() => restMaker({ nonce: BigInt(10 + i) }, hash, seq)).durable;
        }
        await last;
        await store.shutdown();
        store = await Store.connect(location);
        for (const [i, seq] of seqs.entries()) {
          expect(store.getOrder(hashOf(10 + i))?.seq, `order ${i}`).to.equal(seq);
        }
        expect(store.nextSeq(1n)).to.equal(6);
      });

      itSqlite(
        "runs a group's afterCommit hooks in order, right after its commit, and never after a failed one",
        async () => {
          const seen: string[] = [];
          const first = store.grouped(
            () => restMaker(),
            () => seen.push(`a:${store.committed.orderStatus(hashOf(1))}`),
          );
          store.grouped(
            () => restMaker({ nonce: 2n }, hashOf(3), 1),
            () => seen.push("b"),
          );
          expect(seen).to.deep.equal([]);
          await first.durable;
          expect(seen).to.deep.equal(["a:open", "b"]);
          const handle = (store.database as unknown as { handle: { exec(sql: string): unknown } }).handle;
          const exec = handle.exec.bind(handle);
          handle.exec = (sql: string) => {
            if (/^COMMIT/.test(sql)) throw new Error("disk I/O error");
            return exec(sql);
          };
          const failed = store.grouped(
            () => restMaker({ nonce: 3n }, hashOf(4), 2),
            () => seen.push("c"),
          );
          await failed.durable.then(
            () => expect.fail("the commit should have failed"),
            (e: Error) => expect(e.message).to.equal("disk I/O error"),
          );
          handle.exec = exec;
          expect(seen).to.deep.equal(["a:open", "b"]);
          expect(store.getOrder(hashOf(4))).to.equal(undefined);
        },
      );
      it("cancels a resting order once, and says so", () => {
        restMaker();
        expect(store.cancelOrder(hashOf(1), "user", 9)).to.equal(true);
        expect(store.cancelOrder(hashOf(1), "user", 10)).to.equal(false);
        expect(store.getOrder(hashOf(1))).to.deep.include({ status: "cancelled", reason: "user", updatedAt: 9 });
        expectStoreError(() => store.cancelOrder(hashOf(8), "user", 9), "ORDER_NOT_FOUND");
      });

      if (backend === "postgres")
        it("sends PostgreSQL no write that changed nothing in the working copy (a cancel of an order not resting)", async () => {
          restMaker();
          store.cancelOrder(hashOf(1), "user", 9);
          await store.durable();
          const db = store.database as PostgresDatabase;
          const sent: string[] = [];
          const query = db.pg.query.bind(db.pg) as (text: string) => Promise<unknown>;
          (db.pg as unknown as { query: (text: string) => Promise<unknown> }).query = (text: string) => {
            sent.push(text);
            return query(text);
          };
          try {
            expect(store.cancelOrder(hashOf(1), "again", 10)).to.equal(false);
            expect(store.cancelIfResting(hashOf(1), "again", 10)).to.equal(false);
            await store.durable();
            expect(sent).to.deep.equal([]);
            restMaker({ nonce: 2n }, hashOf(3));
            expect(store.cancelIfResting(hashOf(3), "expired", 11)).to.equal(true);
            await store.durable();
            expect(sent).to.have.length(1);
            expect(sent[0]).to.include("INSERT INTO orders").and.include("'expired'").and.not.include("'again'");
          } finally {
            (db.pg as unknown as { query: typeof query }).query = query;
          }
          await store.shutdown();
          store = await Store.connect(location); // what PostgreSQL holds, read again
          expect(store.getOrder(hashOf(1))).to.deep.include({ status: "cancelled", reason: "user", updatedAt: 9 });
          expect(store.getOrder(hashOf(3))).to.deep.include({ status: "cancelled", reason: "expired", updatedAt: 11 });
        });

      it("lists a market's resting orders in seq order, with their remaining lots, for the book's rebuild", () => {
        restMaker({}, hashOf(1), 3);
        restMaker({ priceTicks: 101n, nonce: 2n }, hashOf(5), 1);
        restMaker({ marketId: 2n, nonce: 3n }, hashOf(6), 0);
        restMaker({ nonce: 4n }, hashOf(7), 2);
        takeMaker(4n, {}, hashOf(2), 4);
        store.cancelOrder(hashOf(7), "user", 5);
        const open = store.openOrders(1n);
        expect(open.map((o) => [o.hash, o.seq, o.remainingLots])).to.deep.equal([
          [hashOf(5), 1, 10n],
          [hashOf(1), 3, 6n],
        ]);
        expect(store.openOrders(2n).map((o) => o.hash)).to.deep.equal([hashOf(6)]);
        expect(store.nextSeq(1n)).to.equal(5);
        expect(store.ordersOf(BOB).map((o) => o.hash)).to.deep.equal([hashOf(2)]);
      });

      it("records fills made outside acceptOrder, and refuses a fill larger than what is left", () => {
        restMaker();
        store.acceptOrder({
          hash: hashOf(2),
          order: order({ maker: BOB, isBuy: true, priceTicks: 90n }),
          signature: SIG,
          seq: 1,
          rested: true,
          at: 1,
        });
        expect(
          store.recordFills([{ makerHash: hashOf(1), takerHash: hashOf(2), priceTicks: 100n, lots: 10n }], 2),
        ).to.deep.equal([1]);
        expect(store.getOrder(hashOf(1))!.status).to.equal("filled");
        expectStoreError(
          () => store.recordFills([{ makerHash: hashOf(1), takerHash: hashOf(2), priceTicks: 100n, lots: 1n }], 3),
          "FILL_EXCEEDS_ORDER",
        );
      });
    });

    describe("fills and batches", () => {
      beforeEach(() => {
        restMaker({ lots: 100n });
        takeMaker(10n, {}, hashOf(2), 1);
        takeMaker(20n, { nonce: 2n }, hashOf(3), 2);
        takeMaker(30n, { nonce: 3n }, hashOf(4), 3);
      });

      it("pages an account's fills from its side, with the mined batch and the fill a retry repeats, after a reopen too", async () => {
        const id = store.markBatchSent(batch(1), [1, 2], 10);
        store.markBatchMined(id, 500n, 11);
        store.reconcile({ settled: [1], skipped: [{ id: 2, reason: "VelocityLimitReached" }], at: 12 });
        store.recordFills(
          [{ makerHash: hashOf(1), takerHash: hashOf(3), priceTicks: 100n, lots: 20n, retries: 2 }],
          13,
        );
        await store.shutdown();
        store = await Store.connect(location); // PostgreSQL: the working copy rebuilt from the server
        const alice = store.accountFills(ALICE, 10);
        expect(alice.map((f) => [f.fill.id, f.side, f.fill.status, f.fill.retries])).to.deep.equal([
          [4, "maker", "pending", 2],
          [3, "maker", "pending", undefined],
          [2, "maker", "skipped", undefined],
          [1, "maker", "settled", undefined],
        ]);
        expect(alice[3]).to.deep.include({ orderHash: hashOf(1), txHash: txOf(1), blockNumber: 500n });
        expect(alice[3].order).to.deep.equal({ isBuy: false, nonce: 1n });
        expect(alice[0]).to.not.have.property("txHash");
        const bob = store.accountFills(BOB, 2);
        expect(bob.map((f) => [f.fill.id, f.side, f.orderHash])).to.deep.equal([
          [4, "taker", hashOf(3)],
          [3, "taker", hashOf(4)],
        ]);
        expect(bob[0].order).to.deep.equal({ isBuy: true, nonce: 2n });
        expect(store.accountFills(BOB, 10, 3).map((f) => f.fill.id)).to.deep.equal([2, 1]);
      });

      it("sends pending fills in a batch: they leave the pending list at once", () => {
        const id = store.markBatchSent(batch(1), [1, 2], 10);
        expect(store.pendingFills().map((f) => f.id)).to.deep.equal([3]);
        expect(store.pendingFills(1).map((f) => f.id)).to.deep.equal([3]);
        expect(store.getFill(1)).to.deep.include({ status: "sent", batchId: id, updatedAt: 10 });
        expect(store.getBatch(id)).to.deep.equal({
          id,
          ...batch(1),
          status: "sent",
          fillIds: [1, 2],
          createdAt: 10,
          updatedAt: 10,
        });
        expect(store.pendingBatches().map((b) => b.id)).to.deep.equal([id]);
      });

      it("never sends a fill twice: a fill in a sent batch cannot join another, and nothing of that batch is written", () => {
        store.markBatchSent(batch(1), [1], 10);
        expectStoreError(() => store.markBatchSent(batch(2), [2, 1], 11), "FILL_NOT_PENDING");
        expect(store.getFill(2)!.status).to.equal("pending");
        expect(store.pendingBatches()).to.have.length(1);
        expect(store.fillsOfBatch(1).map((f) => f.id)).to.deep.equal([1]);
        expectStoreError(() => store.markBatchSent(batch(3), [], 11), "BATCH_EMPTY");
        expectStoreError(() => store.markBatchSent(batch(3), [99], 11), "FILL_NOT_FOUND");
      });

      it("settles the fills of a mined batch and records the last reconciled block with them", () => {
        const id = store.markBatchSent(batch(1), [1, 2], 10);
        store.markBatchMined(id, 500n, 11);
        expect(store.getBatch(id)).to.deep.include({ status: "mined", blockNumber: 500n });
        expect(store.pendingBatches()).to.deep.equal([]);
        store.reconcile({
          settled: [1],
          skipped: [{ id: 2, reason: "MakerCancelled" }],
          lastReconciledBlock: 500n,
          at: 12,
        });
        expect(store.getFill(1)!.status).to.equal("settled");
        expect(store.getFill(2)).to.deep.include({ status: "skipped", skipReason: "MakerCancelled", batchId: id });
        expect(store.lastReconciledBlock()).to.equal(500n);
      });

      it("gives a skipped fill's lots back to both orders; the IOC taker the chain saw is over, the maker rests again", () => {
        store.markBatchSent(batch(1), [1], 19);
        store.markFillsSkipped([{ id: 1, reason: "InsufficientBalance" }], 20);
        expect(store.getOrder(hashOf(1))).to.deep.include({
          status: "partially-filled",
          filledLots: 50n,
          remainingLots: 50n,
        });
        expect(store.getOrder(hashOf(2))).to.deep.include({
          status: "cancelled",
          reason: "not-rested",
          filledLots: 0n,
        });
        store.markBatchSent({ ...batch(2), txHash: txOf(2) }, [2, 3], 20);
        store.markFillsSkipped(
          [
            { id: 2, reason: "x" },
            { id: 3, reason: "x" },
          ],
          21,
        );
        expect(store.getOrder(hashOf(1))).to.deep.include({ status: "open", filledLots: 0n });
        expect(store.openOrders(1n).map((o) => o.hash)).to.deep.equal([hashOf(1)]);
        expectStoreError(() => store.markFillsSkipped([{ id: 1, reason: "again" }], 22), "FILL_NOT_SENT");
      });

      it("keeps an IOC taker alive when its fill is skipped before any transaction carried it", () => {
        expect(store.pendingFillCount()).to.equal(3);
        store.markFillsSkipped([{ id: 1, reason: "MakerCancelled" }], 20);
        expect(store.pendingFillCount()).to.equal(2);
        expect(store.getOrder(hashOf(2))).to.deep.include({ status: "open", filledLots: 0n, remainingLots: 10n });
        // Matched again: a new placement of the same order, its remainder dropped (it is an IOC).
        const ids = store.rematch({
          hash: hashOf(2),
          seq: 9,
          fills: [{ makerHash: hashOf(1), takerHash: hashOf(2), priceTicks: 100n, lots: 4n }],
          rested: false,
          at: 21,
        });
        expect(store.getFill(ids[0])).to.deep.include({ status: "pending", lots: 4n, takerHash: hashOf(2) });
        expect(store.getOrder(hashOf(2))).to.deep.include({
          status: "cancelled",
          reason: "not-rested",
          filledLots: 4n,
        });
        expect(store.pendingFillCount()).to.equal(3);
        expect(store.nextSeq(1n)).to.equal(10);
      });

      it("counts settled lots on both orders, and an account's share of the backlog", () => {
        expect(store.pendingFillsTakenBy(BOB)).to.equal(3);
        const id = store.markBatchSent(batch(1), [1, 2], 10);
        expect(store.pendingFillsTakenBy(BOB)).to.equal(1);
        expect(store.openFillsOf(BOB).map((o) => [o.hash, o.lots])).to.deep.equal([
          [hashOf(2), 10n],
          [hashOf(3), 20n],
          [hashOf(4), 30n],
        ]);
        store.markBatchMined(id, 5n, 11);
        store.reconcile({ settled: [1, 2], at: 12 });
        expect(store.getOrder(hashOf(1))?.settledLots).to.equal(30n);
        expect(store.getOrder(hashOf(3))?.settledLots).to.equal(20n);
        expect(store.openFillsOf(ALICE).map((o) => [o.hash, o.lots])).to.deep.equal([[hashOf(1), 30n]]);
      });

      it("keeps each account's open fill lots and share of the backlog in memory as the committed rows say, through a rollback", () => {
        const same = () => {
          for (const account of [ALICE, BOB] as const) {
            const memory = store.openFillsOf(account).map((o) => [o.hash, o.lots]);
            const rows = store.committed.openFillsOf(account).map((o) => [o.hash, o.lots]);
            expect(memory).to.have.deep.members(rows);
            expect(store.pendingFillsTakenBy(account)).to.equal(store.committed.pendingFillsTakenBy(account));
          }
        };
        same();
        const reverted = store.markBatchSent(batch(1), [1, 3], 9);
        same();
        store.markBatchReverted(reverted, 4n, 9);
        same();
        expect(store.pendingFillsTakenBy(BOB)).to.equal(3);
        const id = store.markBatchSent({ ...batch(2), txHash: txOf(2) }, [1, 2], 10);
        store.markBatchMined(id, 5n, 11);
        store.reconcile({ settled: [1], skipped: [{ id: 2, reason: "MakerCancelled" }], at: 12 });
        same();
        expect(() =>
          store.transaction(() => {
            store.markFillsSkipped([{ id: 3, reason: "x" }], 13);
            throw new Error("crash in the middle");
          }),
        ).to.throw("crash in the middle");
        expect(store.openFillsOf(BOB).map((o) => [o.hash, o.lots])).to.deep.equal([[hashOf(4), 30n]]);
        same();
      });

      it("pages an order's fills newest first", () => {
        expect(store.orderFills(hashOf(1), 2).map((f) => f.id)).to.deep.equal([3, 2]);
        expect(store.orderFills(hashOf(1), 2, 2).map((f) => f.id)).to.deep.equal([1]);
        expect(store.orderFills(hashOf(3), 10).map((f) => f.id)).to.deep.equal([2]);
      });

      it("lists an order's fills, as maker or taker, and a batch's fills", () => {
        expect(store.fillsOfOrder(hashOf(1)).map((f) => f.id)).to.deep.equal([1, 2, 3]);
        expect(store.fillsOfOrder(hashOf(3)).map((f) => f.id)).to.deep.equal([2]);
        const id = store.markBatchSent(batch(1), [3, 1], 10);
        expect(store.fillsOfBatch(id).map((f) => f.id)).to.deep.equal([1, 3]);
        expect(store.getFill(99)).to.equal(undefined);
        expect(store.getBatch(99)).to.equal(undefined);
      });

      it("settles only sent fills", () => {
        expectStoreError(() => store.markFillsSettled([1], 1), "FILL_NOT_SENT");
        store.markBatchSent(batch(1), [1], 10);
        store.markFillsSettled([1], 11);
        expect(store.getFill(1)!.status).to.equal("settled");
        expectStoreError(() => store.markFillsSettled([1], 12), "FILL_NOT_SENT");
      });

      it("moves the fills to a replacement, and keeps both transactions pending until one is mined", () => {
        const first = store.markBatchSent(batch(1, 10n), [1, 2], 10);
        const second = store.markBatchReplaced(first, batch(2, 12n), 20);
        expect(store.getBatch(first)).to.deep.include({ status: "replaced", fillIds: [] });
        expect(store.getBatch(second)).to.deep.include({
          status: "sent",
          replaces: first,
          fillIds: [1, 2],
          maxPriorityFeePerGas: 12n,
        });
        expect(store.pendingBatches().map((b) => [b.id, b.status])).to.deep.equal([
          [first, "replaced"],
          [second, "sent"],
        ]);
        expectStoreError(() => store.markBatchReplaced(first, batch(3), 21), "BATCH_NOT_SENT");
        // The first transaction is the one that was mined after all.
        store.markBatchMined(first, 600n, 30);
        expect(store.getBatch(first)).to.deep.include({ status: "mined", blockNumber: 600n, fillIds: [1, 2] });
        expect(store.getBatch(second)).to.deep.include({ status: "replaced", fillIds: [] });
        expect(store.pendingBatches()).to.deep.equal([]);
      });

      it("returns the fills of a dropped batch, and of its replacements, to pending", () => {
        const first = store.markBatchSent(batch(1), [1, 2], 10);
        const second = store.markBatchReplaced(first, batch(2, 12n), 20);
        store.markBatchDropped(second, 30);
        expect(store.getBatch(first)!.status).to.equal("dropped");
        expect(store.getBatch(second)!.status).to.equal("dropped");
        expect(store.pendingFills().map((f) => [f.id, f.batchId])).to.deep.equal([
          [1, undefined],
          [2, undefined],
          [3, undefined],
        ]);
        expect(store.pendingBatches()).to.deep.equal([]);
        store.markBatchSent({ ...batch(3), nonce: 7n }, [1, 2, 3], 40); // the nonce is free again
      });

      it("returns the fills of a reverted batch to pending", () => {
        const id = store.markBatchSent(batch(1), [1], 10);
        store.markBatchReverted(id, 700n, 11);
        expect(store.getBatch(id)).to.deep.include({ status: "reverted", blockNumber: 700n });
        expect(store.getFill(1)).to.deep.include({ status: "pending" });
        expect(store.getFill(1)!.batchId).to.equal(undefined);
        expectStoreError(() => store.markBatchMined(id, 1n, 12), "BATCH_NOT_SENT");
        expectStoreError(() => store.markBatchMined(99, 1n, 12), "BATCH_NOT_FOUND");
      });

      it("keeps the last reconciled block", () => {
        expect(store.lastReconciledBlock()).to.equal(undefined);
        store.setLastReconciledBlock(MAX_UINT64);
        expect(store.lastReconciledBlock()).to.equal(MAX_UINT64);
      });
    });

    describe("atomicity and durability", () => {
      it("writes nothing of an operation that fails midway", () => {
        restMaker({ lots: 5n });
        // The second fill exceeds the maker: the first fill, the taker and the seq must not remain.
        expectStoreError(
          () =>
            store.acceptOrder({
              hash: hashOf(2),
              order: order({ maker: BOB, isBuy: true, lots: 8n }),
              signature: SIG,
              seq: 1,
              fills: [
                { makerHash: hashOf(1), takerHash: hashOf(2), priceTicks: 100n, lots: 4n },
                { makerHash: hashOf(1), takerHash: hashOf(2), priceTicks: 100n, lots: 4n },
              ],
              rested: true,
              at: 2,
            }),
          "FILL_EXCEEDS_ORDER",
        );
        expect(store.getOrder(hashOf(2))).to.equal(undefined);
        expect(store.getOrder(hashOf(1))).to.deep.include({ status: "open", filledLots: 0n });
        expect(store.pendingFills()).to.deep.equal([]);
        expect(store.nextSeq(1n)).to.equal(1);
      });

      it("rolls back a caller's transaction that throws after several operations", () => {
        restMaker();
        expect(() =>
          store.transaction(() => {
            store.cancelOrder(hashOf(1), "user", 5);
            store.setLastReconciledBlock(10n);
            throw new Error("crash in the middle");
          }),
        ).to.throw("crash in the middle");
        expect(store.getOrder(hashOf(1))!.status).to.equal("open");
        expect(store.lastReconciledBlock()).to.equal(undefined);
      });

      it("commits the operations a caller groups into one transaction together", () => {
        restMaker();
        store.transaction(() => {
          store.cancelOrder(hashOf(1), "user", 5);
          store.setLastReconciledBlock(10n);
        });
        expect(store.getOrder(hashOf(1))!.status).to.equal("cancelled");
        expect(store.lastReconciledBlock()).to.equal(10n);
      });

      it("round-trips uint64 and larger values exactly", async () => {
        const big = order({
          marketId: 4_294_967_295n,
          priceTicks: MAX_UINT64,
          lots: MAX_UINT64,
          nonce: MAX_UINT64,
          expiry: (1n << 40n) - 1n,
          maxFeeBps: 65_535n,
          flags: 0n,
        });
        store.acceptOrder({
          hash: hashOf(1),
          order: big,
          signature: SIG,
          seq: Number.MAX_SAFE_INTEGER - 1,
          rested: true,
          at: 1,
        });
        store.acceptOrder({
          hash: hashOf(2),
          order: { ...big, maker: BOB, isBuy: true },
          signature: SIG,
          seq: Number.MAX_SAFE_INTEGER - 1,
          fills: [{ makerHash: hashOf(1), takerHash: hashOf(2), priceTicks: MAX_UINT64, lots: MAX_UINT64 - 1n }],
          rested: true,
          at: 2,
        });
        const id = store.markBatchSent(
          { txHash: txOf(1), nonce: MAX_UINT64, maxFeePerGas: (1n << 256n) - 1n, maxPriorityFeePerGas: MAX_UINT64 },
          [1],
          3,
        );
        store.markBatchMined(id, MAX_UINT64, 4);
        await store.shutdown();
        store = await Store.connect(location);
        expect(store.getOrder(hashOf(1))!.order).to.deep.equal(big);
        expect(store.getOrder(hashOf(1))).to.deep.include({
          filledLots: MAX_UINT64 - 1n,
          remainingLots: 1n,
          seq: Number.MAX_SAFE_INTEGER - 1,
        });
        expect(store.getFill(1)).to.deep.include({
          priceTicks: MAX_UINT64,
          lots: MAX_UINT64 - 1n,
          market: 4_294_967_295n,
        });
        expect(store.getBatch(id)).to.deep.include({
          nonce: MAX_UINT64,
          maxFeePerGas: (1n << 256n) - 1n,
          maxPriorityFeePerGas: MAX_UINT64,
          blockNumber: MAX_UINT64,
        });
        expect(store.nextSeq(4_294_967_295n)).to.equal(Number.MAX_SAFE_INTEGER);
      });

      itSqlite("keeps what was committed when the handle is dropped without closing", () => {
        restMaker();
        takeMaker(3n);
        store.markBatchSent(batch(1), [1], 10);
        // No close(): a second connection, as a restarted keeper would open, reads the committed state.
        const restarted = Store.open(path);
        expect(restarted.openOrders(1n).map((o) => [o.hash, o.remainingLots])).to.deep.equal([[hashOf(1), 7n]]);
        expect(restarted.pendingBatches().map((b) => [b.txHash, b.fillIds])).to.deep.equal([[txOf(1), [1]]]);
        expect(restarted.pendingFills()).to.deep.equal([]);
        restarted.close();
      });

      itSqlite("keeps every commit of a process killed with SIGKILL", function () {
        this.timeout(60_000);
        store.close();
        const script = `
        const { Store } = require("./keeper/src/store");
        const s = Store.open(${JSON.stringify(path)});
        const o = { maker: "${ALICE}", marketId: 1n, isBuy: false, flags: 0n, maxFeeBps: 10n, expiry: 1n, nonce: 1n, priceTicks: 100n, lots: 10n };
        s.acceptOrder({ hash: "${hashOf(1)}", order: o, signature: "${SIG}", seq: 0, rested: true, at: 1 });
        s.acceptOrder({ hash: "${hashOf(2)}", order: { ...o, maker: "${BOB}", isBuy: true, flags: 2n }, signature: "${SIG}", seq: 1,
          fills: [{ makerHash: "${hashOf(1)}", takerHash: "${hashOf(2)}", priceTicks: 100n, lots: 4n }], rested: false, at: 2 });
        s.markBatchSent({ txHash: "${txOf(1)}", rawTx: "0x02aa", nonce: 0n, maxFeePerGas: 2n, maxPriorityFeePerGas: 1n }, [1], 3);
        process.kill(process.pid, "SIGKILL");
      `;
        const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
          cwd: join(__dirname, "../../.."),
          encoding: "utf8",
        });
        expect(r.signal, r.stderr).to.equal("SIGKILL");
        expect(existsSync(`${path}-wal`)).to.equal(true); // not checkpointed: the commits are only in the log
        store = Store.open(path);
        expect(store.openOrders(1n).map((o) => [o.hash, o.remainingLots])).to.deep.equal([[hashOf(1), 6n]]);
        expect(store.getOrder(hashOf(2))).to.deep.include({
          status: "cancelled",
          reason: "not-rested",
          filledLots: 4n,
        });
        expect(store.pendingBatches().map((b) => [b.txHash, b.rawTx, b.fillIds])).to.deep.equal([
          [txOf(1), "0x02aa", [1]],
        ]);
        expect(store.nextSeq(1n)).to.equal(2);
      });
    });
  });
