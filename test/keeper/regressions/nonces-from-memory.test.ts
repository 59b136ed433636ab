/**
 * Issue 15: a shard leader's CPU an order. Two reads of the working copy ran for every new order:
 * the risk read's `filled` asked whether the keeper ever held the order's nonce (`hasNonce`), and
 * the engine's duplicate check read the order's status by its hash. The store now keeps each
 * account's highest nonce held in memory (`HighestNonces`) and answers both without a read when
 * the order's nonce is above it, as a trader's next order's is. What must hold: memory answers
 * what the table says, whatever happened to the orders, for the writer's view and a follower's.
 *
 *   alice rests 1, 2, 5 ──▶ 1 cancelled, 2 expired (nonces 3, 4 never held: asked of the table)
 *   bob takes 5 whole   ──▶ 5 filled; its fill skipped: 5 rests again
 *   alice 9, then 2^64 - 1 (a nonce whose decimal text sorts below "9")
 *   a group that fails part-way (its order, nonce 20, never stored) ─▶ restart ─▶ follower's pulls
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { Store, type Hex, type Order, type OrderStatus, type PostgresDatabase } from "../../../keeper/src/store";
import { makeOrder } from "../../helpers/orders";
import { BACKENDS, freshLocation } from "../../helpers/postgres";

const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const CAROL = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const MAX_UINT64 = (1n << 64n) - 1n;
const SIG = `0x${"ab".repeat(65)}` as Hex;
/** A hash per (maker as spelled, nonce): stands for the order's EIP-712 hash, which covers both. */
const hashOf = (maker: string, nonce: bigint) =>
  `0x${createHash("sha256").update(`${maker}:${nonce}`).digest("hex")}` as Hex;

/** A resting sell at its own price (the helpers' defaults for the rest). */
const order = (maker: string, nonce: bigint, fields: Partial<Order> = {}) =>
  makeOrder({ maker, isBuy: false, nonce, priceTicks: 100n + (nonce % 1000n), ...fields }) as Order;

/** The nonces every check asks about: around every nonce used here, and far above. */
const ASKED = [0n, 1n, 2n, 3n, 4n, 5n, 6n, 8n, 9n, 10n, 19n, 20n, 21n, 1n << 63n, MAX_UINT64 - 1n, MAX_UINT64];

/** What the table says, through the writer's connection (the store's own reads, memory aside). */
function tableSays(store: Store, account: string, nonce: bigint) {
  const held =
    store.database.get("SELECT 1 FROM orders WHERE account = ? AND nonce = ? LIMIT 1", account, nonce.toString()) !==
    undefined;
  const row = store.database.get("SELECT status FROM orders WHERE hash = ?", hashOf(account, nonce)) as
    { status: OrderStatus } | undefined;
  const known = store.database.get("SELECT 1 FROM orders WHERE account = ? LIMIT 1", account) !== undefined;
  return { held, status: row?.status, known };
}

/** Memory's answers agree with the table's, for every account and nonce asked. */
function expectAgreement(store: Store): void {
  for (const account of [ALICE, BOB, CAROL, ALICE.toLowerCase()])
    for (const nonce of ASKED) {
      const memory = {
        held: store.hasNonce(account as Order["maker"], nonce),
        status: store.orderStatusOf(hashOf(account, nonce), { maker: account as Order["maker"], nonce }),
        known: store.knowsAccount(account as Order["maker"]),
      };
      expect(memory, `${account} nonce ${nonce}`).to.deep.equal(tableSays(store, account, nonce));
    }
}

/** Counts the reads of the writer's connection while `fn` runs. */
function readsDuring(store: Store, fn: () => void): number {
  const db = store.database;
  const get = db.get.bind(db);
  let reads = 0;
  db.get = (...args: Parameters<typeof get>) => {
    reads++;
    return get(...args);
  };
  try {
    fn();
  } finally {
    db.get = get;
  }
  return reads;
}

for (const backend of BACKENDS)
  describe(`regression (issue 15): nonces and duplicates answered from memory (${backend})`, function () {
    this.timeout(60_000); // the run's PostgreSQL starts on first use
    let store: Store;
    let location: string;
    const rest = (maker: string, nonce: bigint, seq: number) =>
      store.acceptOrder({
        hash: hashOf(maker, nonce),
        order: order(maker, nonce),
        signature: SIG,
        seq,
        rested: true,
        at: 1000 + seq,
      });

    beforeEach(async () => {
      location = await freshLocation(backend);
      store = await Store.connect(location);
    });
    afterEach(async () => store.shutdown().catch(() => {}));

    it("answers a new order's nonce and duplicate check with no read once the account is known", () => {
      rest(ALICE, 1n, 1);
      expect(store.hasNonce(ALICE, 1n)).to.equal(true); // the account's first question reads its highest
      const fresh = order(ALICE, 2n);
      const reads = readsDuring(store, () => {
        expect(store.hasNonce(ALICE, 2n)).to.equal(false);
        expect(store.orderStatusOf(hashOf(ALICE, 2n), fresh)).to.equal(undefined);
        expect(store.knowsAccount(ALICE)).to.equal(true);
        rest(ALICE, 2n, 2); // raises the highest: the next order is answered from memory too
        expect(store.hasNonce(ALICE, 3n)).to.equal(false);
      });
      expect(reads).to.equal(0);
      // At or below the highest, the table answers.
      expect(
        readsDuring(store, () => expect(store.orderStatusOf(hashOf(ALICE, 2n), order(ALICE, 2n))).to.equal("open")),
      ).to.equal(1);
    });

    it("agrees with the table through cancels, expiries, fills, skipped fills and nonces past 2^63", () => {
      expectAgreement(store); // nothing held
      rest(ALICE, 1n, 1);
      rest(ALICE, 2n, 2);
      rest(ALICE, 5n, 3);
      expectAgreement(store);
      store.cancelOrder(hashOf(ALICE, 1n), "user", 2000);
      store.cancelIfResting(hashOf(ALICE, 2n), "expired", 2001);
      expectAgreement(store);
      store.acceptOrder({
        hash: hashOf(BOB, 1n),
        order: order(BOB, 1n, { isBuy: true, flags: 2n }),
        signature: SIG,
        seq: 4,
        fills: [{ makerHash: hashOf(ALICE, 5n), takerHash: hashOf(BOB, 1n), priceTicks: 105n, lots: 10n }],
        rested: false,
        at: 3000,
      });
      expectAgreement(store);
      store.markFillsSkipped([{ id: 1, reason: "InsufficientBalance" }], 3001);
      expectAgreement(store);
      rest(ALICE, 9n, 5);
      rest(ALICE, MAX_UINT64, 6); // "18446744073709551615" < "9" as text
      expectAgreement(store);
    });

    it("agrees with the table after a group undone, and after a restart", async () => {
      rest(ALICE, 9n, 1);
      rest(ALICE, MAX_UINT64 - 1n, 2);
      expectAgreement(store);
      const failing = () =>
        store.grouped(() => {
          rest(ALICE, MAX_UINT64, 3);
          rest(CAROL, 20n, 4);
          rest(ALICE, 9n, 5); // exists: the whole group is undone
        });
      expect(failing).to.throw();
      expectAgreement(store);
      await store.grouped(() => rest(BOB, 20n, 6)).durable;
      await store.shutdown();
      store = await Store.connect(location);
      expectAgreement(store);
    });

    if (backend === "postgres")
      it("agrees with the table on a follower, through its pulls and a copy read again", async () => {
        const follower = await Store.connect(location);
        try {
          await store.grouped(() => rest(ALICE, 1n, 1)).durable;
          const pull = () => (follower.database as PostgresDatabase).refresh();
          await pull();
          expectAgreement(follower); // every account read once: what the pulls bring must raise it
          await store.grouped(() => {
            rest(ALICE, 5n, 2);
            rest(BOB, MAX_UINT64, 3);
          }).durable;
          await pull();
          expectAgreement(follower);
          await store.grouped(() => rest(ALICE, 9n, 4)).durable;
          await (follower.database as PostgresDatabase).resync(); // the whole copy read again
          expectAgreement(follower);
        } finally {
          await follower.shutdown();
        }
      });
  });
