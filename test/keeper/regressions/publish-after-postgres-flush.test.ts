/**
 * Issue 13, finding 9, on PostgreSQL: a state change the engine writes in one standalone transaction
 * (settlement's reconciliation of a mined batch, a leader's rebuild) was published as soon as the
 * working copy had committed it, before the flush that carries it to PostgreSQL. A keeper that
 * crashed or was deposed inside that window had told the feed about a skip, a cancelled culprit or
 * a settled trade that the shared database never recorded. Now those events wait for the flush, and
 * are dropped if it fails, as a group commit's always were.
 *
 *   alice's ask rests, bob's bid takes 4 lots; PostgreSQL's next flush is held
 *     → reconcile(skip the fill, MakerCancelled): nothing published; the flush lands → published, in order
 *     → the same with the flush refused: never published
 */
import { expect } from "chai";
import type { Signer } from "ethers";
import type { Address, Hex } from "viem";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { signOrder, type Order } from "@crossbook/sdk";
import type { Engine, EngineEvents } from "../../../keeper/src/engine";
import type { PostgresDatabase, Store } from "../../../keeper/src/store";
import { order } from "../../sdk/support";
import { BACKENDS, freshStore, holdNextQuery, type HeldQuery } from "../../helpers/postgres";
import { fundedTraders, openEngine } from "../support";

const PRICE = 200_000n;
const funded = () => fundedTraders(PRICE);

for (const backend of BACKENDS)
  describe(`regression (issue 13, finding 9): a reconciliation is published once it is durable (${backend})`, function () {
    this.timeout(60_000); // the run's PostgreSQL starts on first use
    let store: Store;
    let engine: Engine;
    let env: Awaited<ReturnType<typeof funded>>;
    let published: string[];
    let nonce = 0n;
    /** The flush a test holds (released after it, whatever it found, so that the store can shut down). */
    let held: HeldQuery | undefined;

    beforeEach(async () => {
      env = await loadFixture(funded);
      store = (await freshStore(backend)).store;
      engine = await openEngine(store, { exchange: env.addresses.exchange, domain: env.sdkDomain });
      published = [];
      engine.on("trade", (t: EngineEvents["trade"][0]) => published.push(`trade ${t.fillId} ${t.status}`));
      engine.on("order", (o: EngineEvents["order"][0]) => published.push(`order ${o.hash} ${o.event} ${o.status}`));
    });
    afterEach(async () => {
      held?.release();
      held = undefined;
      await store.shutdown().catch(() => undefined);
    });

    async function submit(signer: Signer, fields: Partial<Order> & Pick<Order, "isBuy">): Promise<Hex> {
      const o = order({ maker: (await signer.getAddress()) as Address, nonce: ++nonce, ...fields });
      const signature = await signOrder({ signer, order: o, domain: env.sdkDomain });
      const result = await engine.submit({ order: o, signature });
      if (!result.ok) throw new Error(`expected the order to be accepted, got ${result.code}`);
      return result.hash;
    }

    async function matched() {
      const ask = await submit(env.alice, { isBuy: false, priceTicks: PRICE, lots: 10n });
      const bid = await submit(env.bob, { isBuy: true, priceTicks: PRICE, lots: 4n });
      const [fill] = store.pendingFills();
      await store.durable();
      published = [];
      return { ask, bid, fill };
    }

    const skipIt = (fillId: number) =>
      engine.reconcile({
        fills: [{ id: fillId, settled: false, reason: "MakerCancelled" }],
        txHash: ("0x" + "ab".repeat(32)) as Hex,
        blockNumber: 10n,
      });

    it("publishes the skip and the pulled culprit only after the commit is durable", async () => {
      const { ask, bid, fill } = await matched();
      held = backend === "postgres" ? holdNextQuery(store.database as PostgresDatabase) : undefined;
      skipIt(fill.id);
      // As on SQLite, where the transaction is on disk when `reconcile` returns.
      const expected = [
        `trade ${fill.id} skipped`,
        `order ${ask} cancelled cancelled`,
        `order ${ask} skipped cancelled`,
        `order ${bid} accepted open`,
        `order ${bid} skipped open`,
      ];
      if (held !== undefined) {
        // Committed in the working copy, not yet in PostgreSQL: nothing told.
        expect(store.getOrder(ask)).to.include({ status: "cancelled" });
        await new Promise((resolve) => setImmediate(resolve));
        expect(published).to.deep.equal([]);
        held.release();
        await store.durable();
      }
      expect(published).to.deep.equal(expected);
    });

    if (backend === "postgres")
      it("never publishes a reconciliation whose flush PostgreSQL refused", async () => {
        const { fill } = await matched();
        held = holdNextQuery(store.database as PostgresDatabase);
        skipIt(fill.id);
        held.refuse(new Error("the connection was lost"));
        await store.durable().then(
          () => expect.fail("the flush should have failed"),
          () => undefined,
        );
        await new Promise((resolve) => setImmediate(resolve));
        expect(published).to.deep.equal([]);
      });
  });
