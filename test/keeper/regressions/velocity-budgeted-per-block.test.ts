/**
 * Issue 13, finding 12: settlement ignored the market's velocity limit: fills beyond
 * `maxLotsPerBlock` were sent, skipped on-chain (paid for), and an IOC taker lost its trade. Now
 * settlement budgets each market's lots per block as the chain does.
 *
 *   market 1: at most 10 lots a block
 *   alice sells 8, bob sells 8; carol (IOC) buys 8, dave (IOC) buys 8  →  two batches, both settle
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { IMMEDIATE_OR_CANCEL } from "@crossbook/sdk";
import { Outcome } from "../../../keeper/src/settlement";
import { advance, names, openKeeper, settlementFixture, submit, tempDb, tradedCount } from "../settlement/support";

describe("regression (issue 13, finding 12): settlement budgets the velocity limit", function () {
  it("sends at most the market's lots per block, so no IOC taker loses its fill", async function () {
    const env = await loadFixture(settlementFixture);
    await (await env.exchange.connect(env.admin).setVelocityLimit(1, 10)).wait();
    const keeper = await openKeeper(env, tempDb());
    await submit(keeper, env, env.alice, { isBuy: false, nonce: 1n, lots: 8n });
    await submit(keeper, env, env.bob, { isBuy: false, nonce: 1n, lots: 8n });
    const carol = await submit(keeper, env, env.carol, {
      isBuy: true,
      nonce: 1n,
      lots: 8n,
      flags: IMMEDIATE_OR_CANCEL,
    });
    const dave = await submit(keeper, env, env.dave, { isBuy: true, nonce: 1n, lots: 8n, flags: IMMEDIATE_OR_CANCEL });

    await keeper.settlement.tick();
    expect(keeper.sent).to.have.length(1);
    expect(keeper.sent[0].fillIds).to.have.length(1);
    await advance(keeper, 4);
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.SETTLED, Outcome.SETTLED]);
    for (const o of keeper.outcomes) expect(o.skipped).to.equal(0);
    expect(await tradedCount(env)).to.equal(2);
    for (const hash of [carol, dave]) expect(keeper.store.getOrder(hash)?.status).to.equal("filled");
  });
});
