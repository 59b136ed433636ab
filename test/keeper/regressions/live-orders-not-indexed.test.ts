/**
 * Issue 15: a shard leader's CPU an order. Every accepted order was written into four secondary
 * indexes of the orders table; the one on each account's live orders (`orders_live_by_account_created`)
 * cost about a quarter of the working copy's time an order (`npm run bench:cluster-working-copy`)
 * and served two reads only: cancel-all (`liveOrdersOf`) and the account's open-order pages. The
 * store now keeps each account's live orders in memory (`LiveOrders`) and the index is gone. What
 * must still hold: those reads show exactly the live orders, the committed reader none that is not
 * committed (nor loses one whose end is not), through a group undone and a follower's pull.
 *
 *   alice rests 1, 2, 3 ──▶ 2 cancelled in an open group (the committed reader still shows it)
 *                       ──▶ a group that fails part-way (its order 4 never shows; 1 and 3 stay)
 *   bob takes 1 whole   ──▶ 1 filled: gone; its fill skipped: 1 rests again
 */
import { expect } from "chai";
import { Store, type Hex, type Order, type PostgresDatabase } from "../../../keeper/src/store";
import { makeOrder } from "../../helpers/orders";
import { BACKENDS, freshLocation } from "../../helpers/postgres";

const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const SIG = `0x${"ab".repeat(65)}` as Hex;
const hashOf = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;

/** A resting sell of Alice's at its own price (the helpers' defaults for the rest). */
const order = (nonce: bigint, fields: Partial<Order> = {}) =>
  makeOrder({ maker: ALICE, isBuy: false, nonce, priceTicks: 100n + nonce, ...fields }) as Order;

const hashes = (orders: readonly { hash: Hex }[]) => orders.map((o) => o.hash).sort();
const openPage = (reads: Store["committed"], limit = 10, before?: string) =>
  reads.accountOrders(ALICE, { status: "open", limit, ...(before === undefined ? {} : { before }) });

for (const backend of BACKENDS)
  describe(`regression (issue 15): each account's live orders without an index (${backend})`, function () {
    this.timeout(60_000); // the run's PostgreSQL starts on first use
    let store: Store;
    let location: string;
    const rest = (n: number, at = 1000 + n) =>
      store.grouped(() =>
        store.acceptOrder({ hash: hashOf(n), order: order(BigInt(n)), signature: SIG, seq: n, rested: true, at }),
      );

    beforeEach(async () => {
      location = await freshLocation(backend);
      store = await Store.connect(location);
    });
    afterEach(async () => store.shutdown().catch(() => {}));

    it("keeps no index of the orders table on each account's live orders", () => {
      const indexes = (store.database.all("PRAGMA index_list(orders)") as { name: string }[]).map((i) => i.name);
      expect(indexes).to.not.include("orders_live_by_account_created");
    });

    it("shows an order ended in the open group to the committed reader until that group commits", async () => {
      await Promise.all([1, 2, 3].map((n) => rest(n).durable));
      const ended = store.grouped(() => store.cancelOrder(hashOf(2), "user", 2000));
      expect(hashes(store.liveOrdersOf(ALICE))).to.deep.equal([hashOf(1), hashOf(3)]);
      expect(hashes(openPage(store.committed).orders)).to.deep.equal([hashOf(1), hashOf(2), hashOf(3)]);
      await ended.durable;
      expect(hashes(openPage(store.committed).orders)).to.deep.equal([hashOf(1), hashOf(3)]);
    });

    it("pages the open orders newest first under the same cursor as every page", async () => {
      // Created at 1001, 1002, 1003, 1004 and (5) 1003 again: newest first 4, then 5 and 3 by hash.
      await Promise.all([1, 2, 3, 4, 5].map((n) => rest(n, n === 5 ? 1003 : 1000 + n).durable));
      const first = openPage(store.committed, 2);
      expect(first.orders.map((o) => o.hash)).to.deep.equal([hashOf(4), hashOf(5)]);
      expect(first.next).to.equal(`1003:${hashOf(5)}`);
      const second = openPage(store.committed, 2, first.next);
      expect(second.orders.map((o) => o.hash)).to.deep.equal([hashOf(3), hashOf(2)]);
      const third = openPage(store.committed, 2, second.next);
      expect(third.orders.map((o) => o.hash)).to.deep.equal([hashOf(1)]);
      expect(third.next).to.equal(undefined);
    });

    it("puts back what a group undone had ended, and forgets what it had added", async () => {
      await Promise.all([1, 2, 3].map((n) => rest(n).durable));
      const failing = () =>
        store.grouped(() => {
          store.cancelOrder(hashOf(1), "user", 2000);
          store.acceptOrder({ hash: hashOf(4), order: order(4n), signature: SIG, seq: 4, rested: true, at: 2000 });
          store.acceptOrder({ hash: hashOf(3), order: order(3n), signature: SIG, seq: 5, rested: true, at: 2000 }); // exists
        });
      expect(failing).to.throw();
      expect(hashes(store.liveOrdersOf(ALICE))).to.deep.equal([hashOf(1), hashOf(2), hashOf(3)]);
      expect(hashes(openPage(store.committed).orders)).to.deep.equal([hashOf(1), hashOf(2), hashOf(3)]);
    });

    it("drops a filled order and takes it back when its fill is skipped", () => {
      store.acceptOrder({ hash: hashOf(1), order: order(1n), signature: SIG, seq: 1, rested: true, at: 1000 });
      store.acceptOrder({
        hash: hashOf(2),
        order: order(2n, { maker: BOB, isBuy: true, flags: 2n }),
        signature: SIG,
        seq: 2,
        fills: [{ makerHash: hashOf(1), takerHash: hashOf(2), priceTicks: 101n, lots: 10n }],
        rested: false,
        at: 2000,
      });
      expect(store.liveOrdersOf(ALICE)).to.deep.equal([]);
      expect(openPage(store.committed).orders).to.deep.equal([]);
      store.markFillsSkipped([{ id: 1, reason: "InsufficientBalance" }], 3000);
      expect(hashes(store.liveOrdersOf(ALICE))).to.deep.equal([hashOf(1)]);
      expect(hashes(openPage(store.committed).orders)).to.deep.equal([hashOf(1)]);
    });

    it("reads them from the table again after a restart", async () => {
      await Promise.all([1, 2, 3].map((n) => rest(n).durable));
      await store.grouped(() => store.cancelOrder(hashOf(2), "user", 2000)).durable;
      await store.shutdown();
      store = await Store.connect(location);
      expect(hashes(store.liveOrdersOf(ALICE))).to.deep.equal([hashOf(1), hashOf(3)]);
      expect(hashes(openPage(store.committed).orders)).to.deep.equal([hashOf(1), hashOf(3)]);
    });

    if (backend === "postgres")
      it("shows a follower the live orders its pulls bring in, and drops those they end", async () => {
        const follower = await Store.connect(location);
        try {
          await Promise.all([1, 2].map((n) => rest(n).durable));
          const pull = () => (follower.database as PostgresDatabase).refresh();
          expect(await pull()).to.be.greaterThan(0);
          expect(hashes(follower.liveOrdersOf(ALICE))).to.deep.equal([hashOf(1), hashOf(2)]);
          await store.grouped(() => store.cancelOrder(hashOf(1), "user", 2000)).durable;
          await rest(3).durable;
          await pull();
          expect(hashes(follower.liveOrdersOf(ALICE))).to.deep.equal([hashOf(2), hashOf(3)]);
          expect(hashes(openPage(follower.committed).orders)).to.deep.equal([hashOf(2), hashOf(3)]);
          await (follower.database as PostgresDatabase).resync(); // the whole copy read again
          expect(hashes(follower.liveOrdersOf(ALICE))).to.deep.equal([hashOf(2), hashOf(3)]);
        } finally {
          await follower.shutdown();
        }
      });
  });
