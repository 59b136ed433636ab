/**
 * Issue 13, finding 11: gas was unpriced (a 1-lot, 1-tick fill paid no fee while the keeper paid
 * 35–58k gas) and the pending-fill queue unbounded (two accounts washing at 500 orders/s buried
 * honest fills; 100,000 pending fills cost 0.7 s per block to scan). Now each market has minimums
 * (lots, notional) in config, the backlog has a bound (orders that would take are refused with
 * SETTLEMENT_BACKLOG and Retry-After, resting orders still accepted), one account's share of it too,
 * and settlement reads a window of the backlog, never all of it.
 */
import { expect } from "chai";
import type { Hex } from "viem";
import type { Order } from "@crossbook/sdk";
import { traceSql } from "../support";
import { http, newTrader, orderOf, signedBody, startKeeper, type Keeper, type Trader } from "../api/support";
import { openKeeper, settlementFixture, tempDb } from "../settlement/support";

const hashOf = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;

describe("regression (issue 13, finding 11): fills pay for themselves, the backlog is bounded", function () {
  let k: Keeper | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  const post = async (k: Keeper, trader: Trader, fields: Partial<Order> & Pick<Order, "isBuy">) =>
    http(k.api.url, "POST", "/v1/orders", await signedBody(k, trader, orderOf(trader, fields)));

  it("refuses an order below its market's minimum lots or notional", async () => {
    k = await startKeeper({ engine: { minimums: new Map([[1n, { lots: 10n, notional: 300_000_000n }]]) } });
    const alice = await newTrader(k.env);
    const small = await post(k, alice, { isBuy: false, lots: 5n, priceTicks: 400_000n });
    expect([small.status, small.body.error?.code]).to.deep.equal([422, "ORDER_TOO_SMALL"]);
    // 10 lots × 200,000 ticks × 100 quote atoms = 200,000,000 < 300,000,000
    const cheap = await post(k, alice, { isBuy: false, lots: 10n, priceTicks: 200_000n });
    expect([cheap.status, cheap.body.error?.code]).to.deep.equal([422, "ORDER_TOO_SMALL"]);
    expect((await post(k, alice, { isBuy: false, lots: 10n, priceTicks: 400_000n })).status).to.equal(201);
  });

  it("refuses taking orders past the backlog's bound with Retry-After, and still takes resting ones", async () => {
    k = await startKeeper({ engine: { backlog: { maxPendingFills: 3, maxPendingFillsPerAccount: 100 } } });
    const [alice, bob, carol] = [await newTrader(k.env), await newTrader(k.env), await newTrader(k.env)];
    expect((await post(k, alice, { isBuy: false, lots: 10n, priceTicks: 200_000n })).status).to.equal(201);
    for (let i = 0; i < 3; i++) expect((await post(k, bob, { isBuy: true, lots: 1n })).status).to.equal(201);
    const refused = await post(k, carol, { isBuy: true, lots: 1n });
    expect([refused.status, refused.body.error?.code]).to.deep.equal([503, "SETTLEMENT_BACKLOG"]);
    expect(Number(refused.headers.get("retry-after"))).to.be.at.least(1);
    expect((await post(k, carol, { isBuy: true, lots: 1n, priceTicks: 100_000n })).status).to.equal(201);
  });

  it("refuses one account's taking orders past its share of the backlog, not the others'", async () => {
    k = await startKeeper({ engine: { backlog: { maxPendingFills: 100, maxPendingFillsPerAccount: 2 } } });
    const [alice, bob, carol] = [await newTrader(k.env), await newTrader(k.env), await newTrader(k.env)];
    expect((await post(k, alice, { isBuy: false, lots: 10n, priceTicks: 200_000n })).status).to.equal(201);
    expect((await post(k, bob, { isBuy: true, lots: 1n })).status).to.equal(201);
    expect((await post(k, bob, { isBuy: true, lots: 1n })).status).to.equal(201);
    const third = await post(k, bob, { isBuy: true, lots: 1n });
    expect([third.status, third.body.error?.code]).to.deep.equal([503, "SETTLEMENT_BACKLOG"]);
    expect((await post(k, carol, { isBuy: true, lots: 1n })).status).to.equal(201);
  });

  it("builds a batch from a window of the backlog, however long it is", async () => {
    const tracer = traceSql();
    try {
      const env = await settlementFixture();
      const path = tempDb();
      const keeper = await openKeeper(env, path, {
        // The simulation is not what this test is about: it fails as a node would, and the step ends.
        simulate: () => Promise.reject(new Error("node busy")),
      });
      const SIG = `0x${"ab".repeat(65)}` as Hex;
      const order = (n: number, isBuy: boolean, lots: bigint): Order => ({
        maker: (isBuy ? env.bob.address : env.alice.address) as `0x${string}`,
        marketId: 1n,
        isBuy,
        flags: 0n,
        maxFeeBps: 100n,
        expiry: 4_102_444_800n,
        nonce: BigInt(n),
        priceTicks: 200_000n,
        lots,
      });
      keeper.store.transaction(() => {
        keeper.store.acceptOrder({
          hash: hashOf(1),
          order: order(1, false, 5_000n),
          signature: SIG,
          seq: 0,
          rested: true,
          at: 1,
        });
        for (let i = 0; i < 2_000; i++) {
          keeper.store.acceptOrder({
            hash: hashOf(10 + i),
            order: order(10 + i, true, 1n),
            signature: SIG,
            seq: 1 + i,
            fills: [{ makerHash: hashOf(1), takerHash: hashOf(10 + i), priceTicks: 200_000n, lots: 1n }],
            rested: false,
            at: 1,
          });
        }
      });
      tracer.start();
      await keeper.settlement.tick();
      const fillRows = tracer.trace.statements.filter((s) => /\bfills\b/.test(s.sql)).reduce((n, s) => n + s.rows, 0);
      expect(fillRows).to.be.at.most(200);
      expect(tracer.unindexed(path)).to.deep.equal([]);
    } finally {
      tracer.stop();
    }
  });
});
