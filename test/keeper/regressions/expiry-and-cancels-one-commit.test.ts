/**
 * Issue 13, finding 3: expiry scanned every resting order at each block and cancelled each expired
 * order in a transaction of its own (one fsync each: 1,000 orders blocked the event loop 0.7–1.9 s);
 * a soft cancel of 100 hashes did the same. Now expiry walks an index of expiry times and a sweep or
 * a cancel request is one commit.
 *
 *   2,000 orders resting far from expiry + 300 expiring at T  ──expire(T+1)──▶  300 cancelled, one commit
 *                                                                               per slice of EXPIRY_SLICE at most
 *   alice soft-cancels 100 of her orders in one request      ──────────────▶  100 cancelled, 1 commit
 */
import { expect } from "chai";
import type { Hex } from "viem";
import type { Order } from "@crossbook/sdk";
import { Engine, EXPIRY_SLICE } from "../../../keeper/src/engine";
import { traceSql } from "../support";
import { cancelBody, http, newTrader, orderOf, signedBody, startKeeper, type Keeper } from "../api/support";

const hashOf = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const SIG = `0x${"ab".repeat(65)}` as Hex;

describe("regression (issue 13, finding 3): expiry and cancels commit once", function () {
  let tracer: ReturnType<typeof traceSql>;
  let k: Keeper;

  before(async () => {
    tracer = traceSql(); // before the store opens: its statements are prepared once
    k = await startKeeper();
  });

  after(async () => {
    tracer.stop();
    await k?.close();
  });

  it("expires 300 of 2,300 resting orders reading only the expired ones, in one commit per slice at most", async () => {
    const T = 2_000_000_000n;
    const order = (n: number, expiry: bigint): Order => ({
      maker: `0x${(0x1000 + (n % 500)).toString(16).padStart(40, "0")}`,
      marketId: 1n,
      isBuy: n % 2 === 0,
      flags: 0n,
      maxFeeBps: 100n,
      expiry,
      nonce: BigInt(n),
      priceTicks: n % 2 === 0 ? 100_000n - BigInt(n % 1000) : 300_000n + BigInt(n % 1000),
      lots: 1n,
    });
    k.store.transaction(() => {
      for (let n = 0; n < 2_300; n++) {
        k.store.acceptOrder({
          hash: hashOf(n + 1),
          order: order(n, n < 300 ? T : 4_102_444_800n),
          signature: SIG,
          seq: n,
          rested: true,
          at: Date.now(),
        });
      }
    });
    const engine = await Engine.open({
      store: k.store,
      markets: [1n],
      domain: k.env.sdkDomain,
      readRiskContext: () => Promise.reject(new Error("no reads in this test")),
      // A clock that never moves: slices are cut by count only (the time budget has its own test).
      workClock: () => 0,
    });
    expect(engine.book(1n)!.size).to.equal(2_300);
    tracer.start();
    expect(await engine.expire(T + 1n)).to.equal(300);
    // The sweep yields between slices; the group commit joins slices that fall in one window.
    expect(tracer.trace.commits).to.be.within(1, Math.ceil(300 / EXPIRY_SLICE));
    expect(tracer.rows()).to.be.at.most(300 * 3);
    expect(tracer.unindexed(k.path)).to.deep.equal([]);
    expect(engine.book(1n)!.size).to.equal(2_000);
    expect(k.store.getOrder(hashOf(1))?.reason).to.equal("expired");
  });

  it("soft-cancels 100 orders of one request in one commit", async () => {
    const alice = await newTrader(k.env);
    const hashes: Hex[] = [];
    for (let i = 0; i < 100; i++) {
      const placed = await http(
        k.api.url,
        "POST",
        "/v1/orders",
        await signedBody(k, alice, orderOf(alice, { isBuy: false, priceTicks: 500_000n + BigInt(i), lots: 1n })),
      );
      expect(placed.status).to.equal(201);
      hashes.push(placed.body.hash);
    }
    const body = await cancelBody(k, alice, hashes);
    tracer.start();
    const answer = await http(k.api.url, "POST", "/v1/cancels", body);
    expect(answer.status).to.equal(200);
    expect(answer.body.results.every((r: { outcome: string }) => r.outcome === "cancelled")).to.equal(true);
    // The sweep yields between slices; the group commit joins slices that fall in one window.
    expect(tracer.trace.commits).to.be.within(1, Math.ceil(300 / EXPIRY_SLICE));
  });
});
