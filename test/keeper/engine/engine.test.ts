/**
 * The engine against the in-process Hardhat network and a real SQLite file: orders through the
 * risk check, the book and the store; what it publishes; soft cancels; rebuilding after a restart;
 * and its answers to fills the chain skipped.
 */
import { expect } from "chai";
import type { Signer } from "ethers";
import type { Address, Hex } from "viem";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { IMMEDIATE_OR_CANCEL, POST_ONLY, signOrder, type Order } from "@crossbook/sdk";
import type { Engine, EngineEvents, SubmitResult } from "../../../keeper/src/engine";
import { Store } from "../../../keeper/src/store";
import { TICK_SIZE } from "../../helpers/fixture";
import { fund, order } from "../../sdk/support";
import { BACKENDS, freshStore } from "../../helpers/postgres";
import { fundedTraders, openEngine } from "../support";

const PRICE = 200_000n;

const funded = () => fundedTraders(PRICE);

for (const backend of BACKENDS)
  describe(`keeper engine (${backend})`, function () {
    this.timeout(60_000); // the run's PostgreSQL starts on first use
    let store: Store;
    let engine: Engine;
    let env: Awaited<ReturnType<typeof funded>>;
    let events: { [K in keyof EngineEvents]: EngineEvents[K][0][] };
    let nonce = 0n;
    /** The engine's clock (it stamps records): moved by hand, never the wall clock's. */
    let now = Date.now();

    async function open(): Promise<Engine> {
      const e = await openEngine(
        store,
        { exchange: env.addresses.exchange, domain: env.sdkDomain },
        { clock: () => now },
      );
      events = { book: [], trade: [], order: [] };
      e.on("book", (u) => events.book.push(u));
      e.on("trade", (u) => events.trade.push(u));
      e.on("order", (u) => events.order.push(u));
      return e;
    }

    beforeEach(async () => {
      env = await loadFixture(funded);
      store = (await freshStore(backend)).store;
      engine = await open();
    });

    afterEach(() => store.shutdown());

    async function submit(signer: Signer, fields: Partial<Order> & Pick<Order, "isBuy">): Promise<SubmitResult> {
      const o = order({ maker: (await signer.getAddress()) as Address, nonce: ++nonce, ...fields });
      const signature = await signOrder({ signer, order: o, domain: env.sdkDomain });
      return engine.submit({ order: o, signature });
    }

    function accepted(r: SubmitResult): Extract<SubmitResult, { ok: true }> {
      if (!r.ok) throw new Error(`expected the order to be accepted, got ${r.code}: ${r.message}`);
      return r;
    }

    it("rests a maker, matches a taker at the maker's price, and commits both with the fill", async () => {
      const ask = accepted(await submit(env.alice, { isBuy: false, priceTicks: PRICE, lots: 10n }));
      expect(ask.status).to.equal("open");
      expect(engine.book(1n)!.depth().asks).to.deep.equal([{ priceTicks: PRICE, lots: 10n, orders: 1 }]);

      const bid = accepted(await submit(env.bob, { isBuy: true, priceTicks: PRICE + 50n, lots: 4n }));
      expect(bid.status).to.equal("filled");
      expect(bid.trades).to.have.length(1);
      expect(bid.trades[0]).to.include({ makerHash: ask.hash, takerHash: bid.hash, priceTicks: PRICE, lots: 4n });
      expect(store.getOrder(ask.hash)).to.include({ status: "partially-filled", remainingLots: 6n });
      expect(store.pendingFills().map((f) => f.lots)).to.deep.equal([4n]);
      expect(engine.book(1n)!.depth().asks).to.deep.equal([{ priceTicks: PRICE, lots: 6n, orders: 1 }]);

      expect(events.trade.map((t) => t.status)).to.deep.equal(["matched"]);
      const last = events.book.at(-1)!;
      expect(last.levels).to.deep.equal([{ isBuy: false, priceTicks: PRICE, lots: 6n, orders: 1 }]);
      const updates = events.order.map((u) => [u.hash, u.event]);
      expect(updates).to.deep.include([ask.hash, "partially-filled"]);
      expect(updates).to.deep.include([bid.hash, "filled"]);
    });

    it("gives every order update a fill caused the fill's id: each maker's, and the taker's one per fill", async () => {
      //   alice asks 3 @ PRICE, carol asks 2 @ PRICE+1; bob's IOC bid for 8 @ PRICE+1 takes both, 3 not rested
      const first = accepted(await submit(env.alice, { isBuy: false, priceTicks: PRICE, lots: 3n }));
      const second = accepted(await submit(env.carol, { isBuy: false, priceTicks: PRICE + 1n, lots: 2n }));
      events.order.length = 0;
      const bid = accepted(
        await submit(env.bob, { isBuy: true, priceTicks: PRICE + 1n, lots: 8n, flags: IMMEDIATE_OR_CANCEL }),
      );
      const [t1, t2] = bid.trades;
      expect([t1.makerHash, t2.makerHash]).to.deep.equal([first.hash, second.hash]);
      const updates = events.order.map((u) => [u.hash, u.event, u.fillId]);
      expect(updates).to.deep.equal([
        [bid.hash, "accepted", undefined],
        [first.hash, "filled", t1.fillId],
        [second.hash, "filled", t2.fillId],
        [bid.hash, "partially-filled", t1.fillId],
        [bid.hash, "partially-filled", t2.fillId],
        [bid.hash, "cancelled", undefined],
      ]);
      // Each update a fill caused names a trade that the trades channel published with that id.
      const published = new Set(events.trade.map((t) => t.fillId));
      for (const u of events.order.filter((u) => u.event === "filled" || u.event === "partially-filled")) {
        expect(published.has(u.fillId!), `${u.event} ${u.hash}`).to.equal(true);
      }
    });

    it("refuses with the risk check's code, stores nothing, and remembers the refusal a while", async () => {
      const r = await submit(env.dave, { isBuy: true, priceTicks: PRICE, lots: 10n }); // Dave has no funds
      expect(r).to.include({ ok: false, code: "INSUFFICIENT_BALANCE" });
      expect(store.getOrder(r.hash!)).to.equal(undefined);
      expect(engine.recentRefusal(r.hash!)).to.include({ code: "INSUFFICIENT_BALANCE" });
      expect(events.order.map((u) => [u.event, u.reason])).to.deep.equal([["rejected", "INSUFFICIENT_BALANCE"]]);
    });

    it("forgets refusals past their bound and their age", async () => {
      let now = 1_000_000;
      const small = await openEngine(
        store,
        { exchange: env.addresses.exchange, domain: env.sdkDomain },
        { refusals: { max: 2, ttlMs: 60_000 }, clock: () => now },
      );
      const refused: Hex[] = [];
      for (let i = 0; i < 3; i++) {
        const o = order({
          maker: env.dave.address as Address,
          nonce: 500n + BigInt(i),
          isBuy: true,
          priceTicks: PRICE,
        });
        const r = await small.submit({
          order: o,
          signature: await signOrder({ signer: env.dave, order: o, domain: env.sdkDomain }),
        });
        refused.push(r.hash!);
      }
      expect(refused.map((h) => small.recentRefusal(h) !== undefined)).to.deep.equal([false, true, true]);
      now += 61_000;
      expect(small.recentRefusal(refused[2])).to.equal(undefined);
    });

    it("takes a refused order again once its maker can pay for it", async () => {
      const o = order({ maker: env.dave.address as Address, nonce: 5n, isBuy: true, priceTicks: PRICE, lots: 2n });
      const signature = await signOrder({ signer: env.dave, order: o, domain: env.sdkDomain });
      expect(await engine.submit({ order: o, signature })).to.include({ ok: false, code: "INSUFFICIENT_BALANCE" });
      await fund(env.exchange, env.quote, env.dave, 10n * PRICE * TICK_SIZE);
      const again = accepted(await engine.submit({ order: o, signature }));
      expect(store.getOrder(again.hash)).to.include({ status: "open", remainingLots: 2n });
      expect(await engine.submit({ order: o, signature })).to.include({ ok: false, code: "DUPLICATE_ORDER" });
    });

    it("caps the resting orders of one account", async () => {
      const small = await openEngine(
        store,
        { exchange: env.addresses.exchange, domain: env.sdkDomain },
        { maxOpenOrdersPerAccount: 2 },
      );
      const place = async (n: bigint) => {
        const o = order({ maker: env.alice.address as Address, nonce: 900n + n, isBuy: false, priceTicks: PRICE + n });
        return small.submit({
          order: o,
          signature: await signOrder({ signer: env.alice, order: o, domain: env.sdkDomain }),
        });
      };
      accepted(await place(1n));
      accepted(await place(2n));
      expect(await place(3n)).to.include({ ok: false, code: "TOO_MANY_OPEN_ORDERS" });
    });

    it("refuses a duplicate, a market it does not serve, and a post-only order that would cross", async () => {
      const o = order({ maker: env.alice.address as Address, nonce: 77n, isBuy: false });
      const signature = await signOrder({ signer: env.alice, order: o, domain: env.sdkDomain });
      accepted(await engine.submit({ order: o, signature }));
      expect(await engine.submit({ order: o, signature })).to.include({ ok: false, code: "DUPLICATE_ORDER" });
      expect(await submit(env.bob, { isBuy: true, marketId: 9n })).to.include({ ok: false, code: "MARKET_NOT_SERVED" });
      expect(await submit(env.bob, { isBuy: true, flags: POST_ONLY, priceTicks: PRICE })).to.include({
        ok: false,
        code: "POST_ONLY_WOULD_CROSS",
      });
    });

    it("refuses lots or a price above 2^53-1, which the book cannot hold exactly, as INVALID_ORDER", async () => {
      const tooLarge = 2n ** 53n;
      const lots = await submit(env.bob, { isBuy: true, lots: tooLarge });
      expect(lots).to.include({ ok: false, code: "INVALID_ORDER" });
      expect(!lots.ok && lots.message).to.equal(
        `lots ${tooLarge}: the keeper takes lots and priceTicks up to ${tooLarge - 1n} (2^53-1)`,
      );
      const both = await submit(env.bob, { isBuy: false, lots: tooLarge, priceTicks: 2n ** 64n - 1n });
      expect(!both.ok && both.message).to.match(/^lots 9007199254740992 and priceTicks 18446744073709551615: /);
      expect(engine.book(1n)?.size).to.equal(0); // the market of `order()`
    });

    it("reserves the account's open orders: a second order beyond the balance is refused", async () => {
      // Carol holds 1,000 lots of base: two asks of 600 need 1,200.
      accepted(await submit(env.carol, { isBuy: false, priceTicks: PRICE * 2n, lots: 600n }));
      const second = await submit(env.carol, { isBuy: false, priceTicks: PRICE * 2n, lots: 600n });
      expect(second).to.include({ ok: false, code: "INSUFFICIENT_BALANCE" });
    });

    it("checks one account's orders one at a time, so concurrent orders cannot overdraw its reservation", async () => {
      const results = await Promise.all(
        [1, 2, 3].map(() => submit(env.carol, { isBuy: false, priceTicks: PRICE * 2n, lots: 400n })),
      );
      expect(results.filter((r) => r.ok)).to.have.length(2);
      expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.code)).to.deep.equal(["INSUFFICIENT_BALANCE"]);
    });

    it("soft-cancels an order of its maker only, and cancel-all spares orders accepted after it was issued", async () => {
      const a = accepted(await submit(env.alice, { isBuy: false, priceTicks: PRICE, lots: 5n }));
      expect(engine.cancel(a.hash, { account: env.bob.address as Address })).to.equal("not-owner");
      expect(engine.cancel(a.hash, { account: env.alice.address as Address })).to.equal("cancelled");
      expect(engine.cancel(a.hash)).to.equal("not-open");
      expect(engine.cancel(("0x" + "11".repeat(32)) as Hex)).to.equal("not-found");
      expect(engine.book(1n)!.size).to.equal(0);

      const b = accepted(await submit(env.alice, { isBuy: false, priceTicks: PRICE, lots: 5n }));
      const issuedAt = store.getOrder(b.hash)!.createdAt;
      // A later order: its createdAt is after issuedAt, whatever the wall clock did meanwhile.
      now = issuedAt + 1;
      const c = accepted(await submit(env.alice, { isBuy: false, priceTicks: PRICE + 1n, lots: 5n }));
      expect(await engine.cancelAll(env.alice.address as Address, { createdUpTo: issuedAt })).to.deep.equal([b.hash]);
      expect(store.getOrder(c.hash)!.status).to.equal("open");
    });

    it("drops an IOC remainder and never rests it", async () => {
      accepted(await submit(env.alice, { isBuy: false, priceTicks: PRICE, lots: 3n }));
      const ioc = accepted(
        await submit(env.bob, { isBuy: true, priceTicks: PRICE, lots: 5n, flags: IMMEDIATE_OR_CANCEL }),
      );
      expect(ioc).to.include({ status: "cancelled", filledLots: 3n, remainingLots: 2n });
      expect(engine.book(1n)!.size).to.equal(0);
    });

    it("rebuilds the same book from the store after a restart, at the same time priority", async () => {
      const first = accepted(await submit(env.alice, { isBuy: false, priceTicks: PRICE, lots: 5n }));
      accepted(await submit(env.bob, { isBuy: false, priceTicks: PRICE, lots: 7n }));
      accepted(await submit(env.carol, { isBuy: true, priceTicks: PRICE - 10n, lots: 2n }));
      accepted(await submit(env.carol, { isBuy: true, priceTicks: PRICE, lots: 2n })); // takes 2 of Alice's
      const before = engine.book(1n)!.restingOrders();

      const restarted = await open();
      expect(restarted.book(1n)!.restingOrders()).to.deep.equal(before);
      expect(restarted.book(1n)!.queue(false, PRICE)[0]).to.include({ id: first.hash, lots: 3n });
    });

    describe("answers to skipped fills", () => {
      async function matched() {
        const ask = accepted(await submit(env.alice, { isBuy: false, priceTicks: PRICE, lots: 10n }));
        const bid = accepted(await submit(env.bob, { isBuy: true, priceTicks: PRICE, lots: 15n }));
        const [fill] = store.pendingFills();
        return { ask, bid, fill };
      }

      it("MakerCancelled pulls the maker and gives the taker its lots back in the book", async () => {
        const { ask, bid, fill } = await matched();
        engine.reconcile({
          fills: [{ id: fill.id, settled: false, reason: "MakerCancelled" }],
          txHash: ("0x" + "ab".repeat(32)) as Hex,
          blockNumber: 10n,
        });
        expect(store.getOrder(ask.hash)).to.include({ status: "cancelled", reason: "skipped-MakerCancelled" });
        expect(store.getOrder(bid.hash)).to.include({ status: "open", remainingLots: 15n });
        expect(engine.book(1n)!.depth()).to.deep.equal({
          bids: [{ priceTicks: PRICE, lots: 15n, orders: 1 }],
          asks: [],
        });
        await store.durable(); // published once durable (PostgreSQL: once the flush has landed)
        expect(events.trade.at(-1)).to.include({ status: "skipped", skipReason: "MakerCancelled", fillId: fill.id });
      });

      it("TakerBalanceTooLow pulls every order of the taker's account", async () => {
        const { ask, bid, fill } = await matched();
        const other = accepted(await submit(env.bob, { isBuy: true, priceTicks: PRICE - 100n, lots: 1n }));
        engine.reconcile({
          fills: [{ id: fill.id, settled: false, reason: "TakerBalanceTooLow" }],
          txHash: ("0x" + "ab".repeat(32)) as Hex,
          blockNumber: 10n,
        });
        expect(store.getOrder(bid.hash)!.status).to.equal("cancelled");
        expect(store.getOrder(other.hash)!.status).to.equal("cancelled");
        expect(store.getOrder(ask.hash)).to.include({ status: "open", remainingLots: 10n });
        expect(engine.book(1n)!.depth()).to.deep.equal({
          bids: [],
          asks: [{ priceTicks: PRICE, lots: 10n, orders: 1 }],
        });
      });

      it("gives a maker back exactly what the store says when one batch skips two of its fills", async () => {
        const ask = accepted(await submit(env.alice, { isBuy: false, priceTicks: PRICE, lots: 10n }));
        accepted(await submit(env.bob, { isBuy: true, priceTicks: PRICE, lots: 4n }));
        accepted(await submit(env.carol, { isBuy: true, priceTicks: PRICE, lots: 6n }));
        expect(engine.book(1n)!.size).to.equal(0); // the maker has left the book
        const [first, second] = store.pendingFills();
        engine.reconcile({
          fills: [
            { id: first.id, settled: false, reason: "TakerCancelled" },
            { id: second.id, settled: false, reason: "TakerCancelled" },
          ],
          txHash: ("0x" + "ab".repeat(32)) as Hex,
          blockNumber: 10n,
        });
        expect(store.getOrder(ask.hash)).to.include({ status: "open", remainingLots: 10n });
        expect(engine.book(1n)!.depth().asks).to.deep.equal([{ priceTicks: PRICE, lots: 10n, orders: 1 }]);
        // And the book can be traded against as the store expects (a mismatch would stop the engine).
        const taker = accepted(await submit(env.bob, { isBuy: true, priceTicks: PRICE, lots: 10n }));
        expect(taker.status).to.equal("filled");
        expect(engine.running).to.equal(true);
      });

      it("matches an IOC taker again when its fill never reached the chain, after pulling the maker at fault", async () => {
        //   alice sells 4 @ P, carol sells 4 @ P+1; bob (IOC) buys 4 @ P+1 → matched with alice;
        //   before sending, alice's nonce turns out cancelled → bob matched with carol instead.
        const alice = accepted(await submit(env.alice, { isBuy: false, priceTicks: PRICE, lots: 4n }));
        const carol = accepted(await submit(env.carol, { isBuy: false, priceTicks: PRICE + 1n, lots: 4n }));
        const bob = accepted(
          await submit(env.bob, { isBuy: true, priceTicks: PRICE + 1n, lots: 4n, flags: IMMEDIATE_OR_CANCEL }),
        );
        const [first] = store.pendingFills();
        expect(first.makerHash).to.equal(alice.hash);
        engine.reconcile({ fills: [{ id: first.id, settled: false, reason: "MakerCancelled" }], neverSent: true });
        expect(store.getOrder(alice.hash)).to.include({ status: "cancelled", reason: "skipped-MakerCancelled" });
        expect(store.getOrder(bob.hash)).to.include({ status: "filled", filledLots: 4n });
        expect(store.pendingFills().map((f) => [f.makerHash, f.takerHash, f.lots])).to.deep.equal([
          [carol.hash, bob.hash, 4n],
        ]);
        expect(engine.book(1n)!.size).to.equal(0);
      });

      it("VelocityLimitReached matches the same lots again for a later block", async () => {
        const { fill } = await matched();
        const book = engine.book(1n)!.depth();
        engine.reconcile({
          fills: [{ id: fill.id, settled: false, reason: "VelocityLimitReached" }],
          txHash: ("0x" + "ab".repeat(32)) as Hex,
          blockNumber: 10n,
        });
        const pending = store.pendingFills();
        expect(pending).to.have.length(1);
        expect(pending[0]).to.include({ makerHash: fill.makerHash, takerHash: fill.takerHash, lots: 10n });
        expect(pending[0].id).to.not.equal(fill.id);
        expect(pending[0].retries).to.equal(fill.id);
        expect(engine.book(1n)!.depth()).to.deep.equal(book);
        // Published as a new match that names the fill it retries (what the fills channel shows),
        // once durable.
        await store.durable();
        expect(events.trade.slice(-2).map((t) => [t.fillId, t.status, t.retries])).to.deep.equal([
          [fill.id, "skipped", undefined],
          [pending[0].id, "matched", fill.id],
        ]);
      });
    });
  });
