/**
 * An order that waits behind its account's earlier orders has its chain facts read meanwhile
 * (`EngineOptions.readAhead`, `readAheadOf`): by its turn they are in the block's memo, instead of
 * being asked only then. The node is held, so nothing here depends on how fast it answers.
 *
 *   alice: order 1 (market 1) ── check waits on the held node ──▶ …
 *          order 2 (market 2) ── queued behind order 1; its market's facts are asked now
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Address, Hex } from "viem";
import { POST_ONLY, signOrder, type Order } from "@crossbook/sdk";
import { CachedChainReads, keeperReadAhead, readAheadOf, readRiskContextFrom } from "../../../keeper/src/risk";
import { Store } from "../../../keeper/src/store";
import { LOT_SIZE, MAKER_FEE_BPS, TAKER_FEE_BPS, TICK_SIZE } from "../../helpers/fixture";
import { order, transport } from "../../sdk/support";
import { pending } from "../risk/support";
import { countingClient, fundedTraders, openEngine } from "../support";
import { tempDb } from "../settlement/support";

/** The funded traders, and a second market of the same tokens. */
async function twoMarkets() {
  const env = await fundedTraders();
  await env.exchange.listMarket(env.base, env.quote, LOT_SIZE, TICK_SIZE, MAKER_FEE_BPS, TAKER_FEE_BPS); // market 2
  return env;
}

/** A node client (`countingClient`: its calls recorded) whose `eth_call`s wait while held. */
function heldNode() {
  let gate: Promise<void> | undefined;
  let open = () => {};
  const node = countingClient((method, params) =>
    method === "eth_call" && gate !== undefined
      ? gate.then(() => transport({}).request({ method, params } as never))
      : undefined,
  );
  return {
    ...node,
    hold: () => (gate = new Promise<void>((resolve) => (open = resolve))),
    release: () => {
      gate = undefined;
      open();
    },
  };
}

describe("keeper engine: an order's facts are read while it waits behind its account's", () => {
  for (const readAhead of [true, false]) {
    it(
      readAhead
        ? "asks the node for a queued order's market facts before the order ahead of it is checked"
        : "without the read ahead, asks for them only at its turn",
      async () => {
        const env = await loadFixture(twoMarkets);
        const exchange = env.addresses.exchange;
        const node = heldNode();
        const store = Store.open(tempDb());
        const reads = new CachedChainReads(node.client, exchange, {
          startBlock: 0n,
          nonceSeen: (maker, nonce) => store.hasNonce(maker, nonce),
        });
        await reads.sync();
        const engine = await openEngine(
          store,
          { exchange, domain: env.sdkDomain, markets: [1n, 2n] },
          {
            readRiskContext: (signed, state) => readRiskContextFrom(reads, exchange, signed, state),
            ...(readAhead ? { readAhead: (o: Order) => readAheadOf(reads, o) } : {}),
          },
        );
        const alice = env.alice.address as Address;
        const prepare = async (fields: Partial<Order> & Pick<Order, "nonce">) => {
          const o = order({ maker: alice, isBuy: false, flags: POST_ONLY, ...fields });
          const prepared = await engine.prepare({
            order: o,
            signature: await signOrder({ signer: env.alice, order: o, domain: env.sdkDomain }),
          });
          if (!prepared.ok) throw new Error(prepared.message);
          return prepared;
        };
        const first = await prepare({ nonce: 1n });
        const second = await prepare({ nonce: 2n, marketId: 2n });
        const market2 = env.exchange.interface.encodeFunctionData("market", [2]);
        const askedForMarket2 = () =>
          node.calls.some(
            (c) => c.method === "eth_call" && (c.params[0] as { data?: Hex }).data?.startsWith(market2) === true,
          );

        node.hold();
        const placedFirst = engine.place(first);
        const placedSecond = engine.place(second);
        expect(await pending(placedFirst), "the first order's check waits on the held node").to.equal(true);
        expect(askedForMarket2(), "market 2 asked while the first order is checked").to.equal(readAhead);

        node.release();
        expect((await placedFirst).ok).to.equal(true);
        expect((await placedSecond).ok).to.equal(true);
        expect(askedForMarket2()).to.equal(true);
      },
    );
  }
});

describe("keeper risk: what the keeper reads ahead", () => {
  it("reads ahead a known account's facts only, and tells none of them as an order's wait", async () => {
    const env = await loadFixture(fundedTraders);
    const exchange = env.addresses.exchange;
    const node = heldNode();
    const waits: string[] = [];
    const reads = new CachedChainReads(node.client, exchange, {
      startBlock: 0n,
      nonceSeen: () => false,
      onWait: (fact) => waits.push(fact),
    });
    await reads.sync();
    node.hold();
    const known = env.alice.address as Address;
    const stranger = env.bob.address as Address;
    const readAhead = keeperReadAhead(reads, reads, (account) => account === known);
    const calls = () => node.calls.filter((c) => c.method === "eth_call").length;

    readAhead(order({ maker: stranger, isBuy: true, nonce: 1n }));
    expect(calls(), "nothing read ahead for a stranger").to.equal(0);
    readAhead(order({ maker: known, isBuy: true, nonce: 1n }));
    const asked = calls();
    expect(asked, "a known account's facts are asked").to.be.greaterThan(0);
    readAhead(order({ maker: known, isBuy: false, nonce: 2n }));
    expect(calls(), "each fact once a block, however many orders").to.equal(asked);
    // The order's own ask of a fact under way is a wait; the read ahead's were not.
    const own = reads.minNonce(known);
    node.release();
    await own;
    await new Promise((resolve) => setImmediate(resolve));
    expect(waits).to.deep.equal(["minNonce"]);
  });
});
