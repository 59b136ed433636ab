import { expect } from "chai";
import { Store, type Hex, type Order } from "../../../keeper/src/store";
import { makeOrder } from "../../helpers/orders";
import { freshDatabase } from "../../helpers/postgres";

const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const SIG = `0x${"ab".repeat(65)}` as Hex;
const hashOf = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;

/** A resting sell of ALICE's at its own price (the helpers' defaults for the rest). */
const order = (nonce: bigint) => makeOrder({ maker: ALICE, isBuy: false, nonce, priceTicks: 100n + nonce }) as Order;

describe("keeper store: PostgreSQL's working copy", function () {
  this.timeout(60_000); // the run's PostgreSQL starts on first use
  let store: Store;

  beforeEach(async () => {
    store = await Store.connect(await freshDatabase());
  });
  afterEach(async () => store.shutdown().catch(() => {}));

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
});
