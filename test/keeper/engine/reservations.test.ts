/**
 * The engine's reservation totals (`ReservationLedger`, kept as the books and the store change)
 * against the full recomputation (every open order of the maker walked, `reservedByOpenOrders`):
 * a random sequence of places, IOCs, cancels, batches with cancels and amends, expiries, fills
 * settled and skipped, and restarts, every risk check comparing the two.
 */
import { expect } from "chai";
import type { Signer } from "ethers";
import type { Address, Hex } from "viem";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { IMMEDIATE_OR_CANCEL, POST_ONLY, signOrder, type Order, type SignedOrder } from "@crossbook/sdk";
import type { Engine } from "../../../keeper/src/engine";
import { ReservationLedger } from "../../../keeper/src/engine/reserved";
import { readRiskContext, reservedByOpenOrders, type KeeperRiskState, type OpenOrders } from "../../../keeper/src/risk";
import { Store } from "../../../keeper/src/store";
import { LOT_SIZE, TICK_SIZE } from "../../helpers/fixture";
import { order, publicClient } from "../../sdk/support";
import { freshStore } from "../../helpers/postgres";
import { fundedTraders, openEngine } from "../support";

const PRICE = 200_000n;

const funded = () => fundedTraders(PRICE);

/** A small deterministic generator (mulberry32): the same sequence every run. */
function random(seed: number) {
  let a = seed;
  const next = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)],
  };
}

describe("keeper engine: reservation totals equal the full recomputation", function () {
  this.timeout(300_000);
  let store: Store;
  let env: Awaited<ReturnType<typeof funded>>;
  let nonce = 0n;
  let now = Date.now();
  /** Every risk read: the totals' answer and the recomputation's. */
  let compared: { totals: unknown; full: unknown; nonce: [boolean, boolean]; entries: number }[] = [];

  async function open(): Promise<Engine> {
    return openEngine(
      store,
      { exchange: env.addresses.exchange, domain: env.sdkDomain },
      {
        clock: () => now,
        readRiskContext: async (signed: SignedOrder, state: KeeperRiskState) => {
          const context = await readRiskContext(publicClient, env.addresses.exchange, signed, state);
          const open = state.openOrders as OpenOrders;
          expect(Array.isArray(state.openOrders), "the engine passes its totals, not a list").to.equal(false);
          const market = context.market;
          if (market !== undefined) {
            const list = open.orders();
            compared.push({
              totals: context.reservedByOpenOrders,
              full: reservedByOpenOrders(list, () => market, market),
              nonce: [context.nonceInUse, list.some((o) => o.order.nonce === signed.order.nonce)],
              entries: list.length,
            });
          }
          return context;
        },
      },
    );
  }

  beforeEach(async () => {
    env = await loadFixture(funded);
    store = (await freshStore("sqlite")).store;
    compared = [];
  });

  afterEach(() => store.shutdown());

  it("over 160 random operations on three accounts", async () => {
    const rng = random(13);
    let engine = await open();
    const traders: Signer[] = [env.alice, env.bob, env.carol];
    const mine = new Map<Signer, Hex[]>(traders.map((t) => [t, []]));
    let batchNonce = 1_000n;
    const nowSeconds = () => BigInt(Math.floor(now / 1000));

    async function signed(signer: Signer, fields: Partial<Order> & Pick<Order, "isBuy">): Promise<SignedOrder> {
      const n = fields.nonce ?? ++nonce;
      const o = order({ maker: (await signer.getAddress()) as Address, ...fields, nonce: n });
      return { order: o, signature: await signOrder({ signer, order: o, domain: env.sdkDomain }) };
    }
    function fields(): Partial<Order> & Pick<Order, "isBuy"> {
      const isBuy = rng.next() < 0.5;
      const flags = rng.pick([0n, 0n, POST_ONLY, IMMEDIATE_OR_CANCEL]);
      return {
        isBuy,
        flags,
        // Around the same price so that orders cross; an odd price makes the fee round down.
        priceTicks: PRICE + BigInt(rng.int(7) - 3) * 37n,
        lots: BigInt(1 + rng.int(9)),
        // A few expire within the run.
        expiry: rng.next() < 0.15 ? nowSeconds() + BigInt(1 + rng.int(20)) : 4_102_444_800n,
        maxFeeBps: 100n,
      };
    }

    const kinds = { place: 0, cancel: 0, batch: 0, expire: 0, settle: 0, skip: 0, restart: 0 };
    for (let step = 0; step < 160; step++) {
      now += 1_000;
      const signer = rng.pick(traders);
      const roll = rng.next();
      if (roll < 0.45) {
        const r = await engine.submit(await signed(signer, fields()));
        if (r.ok) mine.get(signer)!.push(r.hash);
        kinds.place++;
      } else if (roll < 0.55) {
        const hashes = mine.get(signer)!;
        if (hashes.length > 0) await engine.cancelOrders([rng.pick(hashes)]);
        kinds.cancel++;
      } else if (roll < 0.7) {
        // A batch: cancel one, amend one (its nonce reused by nobody), place one.
        const hashes = mine.get(signer)!;
        const account = (await signer.getAddress()) as Address;
        const actions = [];
        if (hashes.length > 0) actions.push({ kind: "cancel" as const, target: { hash: rng.pick(hashes) } });
        if (hashes.length > 1) {
          const prepared = await engine.prepare(await signed(signer, { ...fields(), nonce: ++batchNonce }));
          actions.push({ kind: "amend" as const, target: { hash: rng.pick(hashes) }, prepared });
        }
        actions.push({ kind: "place" as const, prepared: await engine.prepare(await signed(signer, fields())) });
        for (const outcome of await engine.batch(account, actions)) {
          if (outcome.kind !== "cancel" && outcome.result.ok) mine.get(signer)!.push(outcome.result.hash);
        }
        kinds.batch++;
      } else if (roll < 0.78) {
        await engine.expire(nowSeconds() + 10n);
        kinds.expire++;
      } else if (roll < 0.88) {
        // Some pending fills sent and settled.
        const fills = store.pendingFills().slice(0, 1 + rng.int(4));
        if (fills.length > 0) {
          store.markBatchSent(
            {
              txHash: `0x${step.toString(16).padStart(64, "0")}`,
              nonce: BigInt(step),
              maxFeePerGas: 1n,
              maxPriorityFeePerGas: 1n,
            },
            fills.map((f) => f.id),
            now,
          );
          engine.reconcile({ fills: fills.map((f) => ({ id: f.id, settled: true })), blockNumber: BigInt(step) });
        }
        kinds.settle++;
      } else if (roll < 0.95) {
        // One pending fill skipped: its lots go back (the maker rests again, or is pulled).
        const [fill] = store.pendingFills();
        if (fill !== undefined) {
          const reason = rng.pick(["MakerCancelled", "TakerBalanceTooLow", "PriceBand"]);
          engine.reconcile({ fills: [{ id: fill.id, settled: false, reason }], neverSent: rng.next() < 0.5 });
        }
        kinds.skip++;
      } else {
        // A restart, or a leader stepping down and taking over again: the books and the totals
        // rebuilt from the store.
        if (rng.next() < 0.5) {
          engine.stop();
          await store.durable();
          engine = await open();
        } else {
          engine.demote();
          engine.refollow();
          engine.promote();
        }
        kinds.restart++;
      }
    }
    // A last check of each account, with the books as the run left them.
    for (const signer of traders)
      await engine.submit(await signed(signer, { ...fields(), flags: POST_ONLY, lots: 1n }));

    expect(
      Object.values(kinds).every((n) => n > 0),
      JSON.stringify(kinds),
    ).to.equal(true);
    expect(compared.length).to.be.greaterThan(100);
    expect(
      compared.some((c) => c.entries >= 5),
      "some accounts had several orders open",
    ).to.equal(true);
    expect(
      compared.some((c) => (c.full as { base: bigint }).base > 0n && (c.full as { quote: bigint }).quote > 0n),
    ).to.equal(true);
    for (const [i, c] of compared.entries()) {
      expect(c.totals, `risk read ${i}`).to.deep.equal(c.full);
      expect(c.nonce[0], `risk read ${i}: nonce in use`).to.equal(c.nonce[1]);
    }
  });
});

describe("ReservationLedger (pure)", () => {
  const maker = "0x00000000000000000000000000000000000000aa" as Address;
  const market = {
    base: "0x00000000000000000000000000000000000000b0" as Address,
    quote: "0x00000000000000000000000000000000000000c0" as Address,
    lotSize: LOT_SIZE,
    tickSize: TICK_SIZE,
    makerFeeBps: 10n,
    takerFeeBps: 30n,
  };

  it("computes the totals again when a market's fees change, and only then", () => {
    const lots = new Map<Hex, bigint>();
    const orders = new Map<Hex, Order>();
    const ledger = new ReservationLedger({
      restingLots: (hash) => lots.get(hash) ?? 0n,
      openLots: () => 0n,
      orderOf: (hash) => orders.get(hash),
      reserving: () => [...orders].map(([hash, o]) => ({ hash, order: o })),
    });
    const hashes = [1, 2, 3].map((i) => `0x${i.toString(16).padStart(64, "0")}` as Hex);
    hashes.forEach((h, i) => {
      // Prices whose fee rounds down differently per order and in sum.
      orders.set(h, order({ maker, isBuy: true, nonce: BigInt(i), priceTicks: 333n + BigInt(i), lots: 7n }));
      lots.set(h, 7n);
    });
    const full = (m: typeof market) =>
      reservedByOpenOrders(
        hashes.map((h) => ({ order: orders.get(h)!, lots: lots.get(h)! })),
        () => m,
        m,
      );
    const view = () => ledger.openOrders(maker, () => []);
    expect(view().reserved(() => market, market)).to.deep.equal(full(market));
    // A fill of 3 lots settles elsewhere: one order changes, told by `touch`.
    lots.set(hashes[1], 4n);
    ledger.touch(hashes[1]);
    expect(view().reserved(() => market, market)).to.deep.equal(full(market));
    // The fees change: the totals follow the market read, not the parameters they were kept with.
    const dearer = { ...market, makerFeeBps: 17n, takerFeeBps: 41n };
    expect(full(dearer)).to.not.deep.equal(full(market));
    expect(view().reserved(() => dearer, dearer)).to.deep.equal(full(dearer));
    // Leaving: the resting part of an order a batch cancels first is not counted.
    const leaving = ledger.openOrders(maker, () => [], new Set([hashes[0]]));
    const rest = reservedByOpenOrders(
      hashes.slice(1).map((h) => ({ order: orders.get(h)!, lots: lots.get(h)! })),
      () => dearer,
      dearer,
    );
    expect(leaving.reserved(() => dearer, dearer)).to.deep.equal(rest);
    expect(leaving.nonceInUse(0n)).to.equal(false);
    expect(leaving.nonceInUse(1n)).to.equal(true);
  });

  it("finds a cancelled order it holds an entry of without asking for its row (the store's read of a cancel-all's orders)", () => {
    const lots = new Map<Hex, bigint>();
    const orders = new Map<Hex, Order>();
    const asked: Hex[] = [];
    const ledger = new ReservationLedger({
      restingLots: (hash) => lots.get(hash) ?? 0n,
      openLots: () => 0n,
      orderOf: (hash) => {
        asked.push(hash);
        return orders.get(hash);
      },
      reserving: () => [...orders].map(([hash, o]) => ({ hash, order: o })),
    });
    const hashes = [1, 2].map((i) => `0x${i.toString(16).padStart(64, "0")}` as Hex);
    hashes.forEach((h, i) => {
      orders.set(h, order({ maker, isBuy: true, nonce: BigInt(i), priceTicks: 500n, lots: 3n }));
      lots.set(h, 3n);
    });
    const view = () => ledger.openOrders(maker, () => []);
    const before = view().reserved(() => market, market); // built from `reserving`
    expect(before.quote > 0n).to.equal(true);
    // Both cancelled in their book: touched without their order, no longer resting.
    for (const h of hashes) {
      lots.delete(h);
      ledger.touch(h);
    }
    expect(view().reserved(() => market, market)).to.deep.equal({ base: 0n, quote: 0n });
    expect(asked).to.deep.equal([]);
    // An order it never held is still asked for.
    const other = `0x${"3".padStart(64, "0")}` as Hex;
    orders.set(other, order({ maker, isBuy: true, nonce: 9n, priceTicks: 500n, lots: 1n }));
    lots.set(other, 1n);
    ledger.touch(other);
    expect(view().reserved(() => market, market).quote > 0n).to.equal(true);
    expect(asked).to.deep.equal([other]);
  });
});
