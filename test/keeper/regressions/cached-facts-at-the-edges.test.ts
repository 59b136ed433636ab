/**
 * Issue 13, finding 19 (found by a client author): cached chain facts hurt traders at the edges.
 *
 * 1. An order under a nonce its maker cancelled on-chain in the current block was accepted and
 *    rested; an IOC taker that matched it lost everything when the chain skipped the fill. Now a
 *    fill the pre-send check shows skipped is never sent: its taker is matched again first.
 *
 *      alice sells 5 @ 200,000, bob sells 5 @ 200,100; alice cancels her nonce on-chain (in force
 *      after the firmness delay, which passes before the keeper syncs again)
 *      carol (IOC) buys 5 @ 200,100 → matched with alice → not sent; matched again with bob → settled
 *
 *    (Within the firmness delay the chain settles the match with alice instead: see
 *    test/keeper/settlement/settlement.test.ts.)
 *
 * 2. A trader resubmitting as soon as its deposit's receipt arrived was refused
 *    INSUFFICIENT_BALANCE (2 of 3 tries) from the cached balance. Now a refusal that rests on a
 *    cached chain fact is confirmed by a fresh read before it is given.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Address } from "viem";
import { IMMEDIATE_OR_CANCEL, signOrder } from "@crossbook/sdk";
import { Store } from "../../../keeper/src/store";
import { Settlement } from "../../../keeper/src/settlement";
import { TICK_SIZE } from "../../helpers/fixture";
import { fund, order, publicClient, sdkFixture } from "../../sdk/support";
import { cachedChainFacts, openEngine } from "../support";
import { CONFIG, mine, settlementFixture, tempDb, tradedCount } from "../settlement/support";

/** An engine over a fresh store whose chain facts are cached per block, as the keeper's are. */
async function cachedEngine(env: {
  addresses: { exchange: `0x${string}` };
  sdkDomain: { chainId: number; verifyingContract: `0x${string}` };
}) {
  const store = Store.open(tempDb());
  const facts = cachedChainFacts(env.addresses.exchange);
  const engine = await openEngine(
    store,
    { exchange: env.addresses.exchange, domain: env.sdkDomain },
    facts.engine(store),
  );
  return { store, facts, engine };
}

describe("regression (issue 13, finding 19): cached chain facts at the edges", function () {
  it("never sends a fill the pre-send check shows skipped, and matches its IOC taker again", async () => {
    const env = await loadFixture(settlementFixture);
    const { store, facts, engine } = await cachedEngine(env);
    const outcomes: string[] = [];
    const settlement = new Settlement({
      engine,
      store,
      client: publicClient,
      account: env.keeperAccount,
      exchange: env.addresses.exchange,
      config: CONFIG,
      reads: facts.reads,
      watchBlocks: () => () => {},
      onOutcome: (o) => outcomes.push(o.outcome),
    });
    await facts.reads.sync();
    const submit = async (signer: typeof env.alice, fields: Parameters<typeof order>[0]) => {
      const o = order(fields);
      const r = await engine.submit({
        order: o,
        signature: await signOrder({ signer, order: o, domain: env.sdkDomain }),
      });
      if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
      return r;
    };
    const ask = await submit(env.alice, {
      maker: env.alice.address as Address,
      isBuy: false,
      nonce: 1n,
      lots: 5n,
      priceTicks: 200_000n,
    });
    await submit(env.bob, {
      maker: env.bob.address as Address,
      isBuy: false,
      nonce: 1n,
      lots: 5n,
      priceTicks: 200_100n,
    });
    await (await env.exchange.connect(env.alice).cancel([1n])).wait(); // the keeper has not synced since
    // In force once the firmness delay has passed (before it, a fill matched now settles: issue 12).
    await time.increase(await env.exchange.firmnessDelay());
    const ioc = await submit(env.carol, {
      maker: env.carol.address as Address,
      isBuy: true,
      nonce: 1n,
      lots: 5n,
      priceTicks: 200_100n,
      flags: IMMEDIATE_OR_CANCEL,
    });
    expect(ioc.trades.map((t) => t.makerHash)).to.deep.equal([ask.hash]);

    await settlement.tick();
    for (let i = 0; i < 3; i++) {
      await mine();
      await settlement.tick();
    }
    expect(outcomes.filter((o) => o === "settled")).to.have.length(1);
    expect(await tradedCount(env)).to.equal(1);
    const skipped = await env.exchange.queryFilter(env.exchange.filters.FillSkipped(), 0, "latest");
    expect(skipped).to.deep.equal([]);
    expect(store.getOrder(ioc.hash)).to.include({ status: "filled", filledLots: 5n });
    expect(store.getOrder(ask.hash)).to.include({ status: "cancelled" });
    const [settledFill] = store.fillsOfOrder(ioc.hash).filter((f) => f.status === "settled");
    expect(settledFill.priceTicks).to.equal(200_100n);
    store.close();
  });

  it("accepts an order resubmitted as soon as the deposit that pays for it is mined", async () => {
    const env = await loadFixture(sdkFixture);
    const { store, facts, engine } = await cachedEngine(env);
    await facts.reads.sync();
    const o = order({ maker: env.dave.address as Address, isBuy: true, nonce: 3n, lots: 2n, priceTicks: 200_000n });
    const signed = { order: o, signature: await signOrder({ signer: env.dave, order: o, domain: env.sdkDomain }) };
    expect(await engine.submit(signed)).to.include({ ok: false, code: "INSUFFICIENT_BALANCE" });
    await fund(env.exchange, env.quote, env.dave, 10n * 200_000n * TICK_SIZE); // mined; the keeper has not synced
    expect(await engine.submit(signed)).to.include({ ok: true });
    store.close();
  });
});
