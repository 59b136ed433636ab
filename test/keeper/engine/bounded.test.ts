/**
 * Work the engine bounds under a flood: an order that would take while the settlement backlog is
 * full is refused before its risk check (no chain read per order of the flood), and a state change
 * with many events (a settled batch) emits them a slice per turn of the event loop.
 */
import { expect } from "chai";
import type { Signer } from "ethers";
import type { Address } from "viem";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { POST_ONLY, signOrder, type Order } from "@crossbook/sdk";
import { PUBLISH_SLICE, type Engine, type SubmitResult, type TradeUpdate } from "../../../keeper/src/engine";
import { readRiskContext } from "../../../keeper/src/risk";
import type { Store } from "../../../keeper/src/store";
import { order, publicClient } from "../../sdk/support";
import { freshStore } from "../../helpers/postgres";
import { fundedTraders, openEngine } from "../support";

const PRICE = 200_000n;
const funded = () => fundedTraders(PRICE);

describe("keeper engine: work bounded under a flood", () => {
  let store: Store;
  let engine: Engine;
  let env: Awaited<ReturnType<typeof funded>>;
  let reads = 0;
  let nonce = 0n;

  beforeEach(async () => {
    env = await loadFixture(funded);
    store = (await freshStore("sqlite")).store;
    reads = 0;
    engine = await openEngine(
      store,
      { exchange: env.addresses.exchange, domain: env.sdkDomain },
      {
        backlog: { maxPendingFills: 1, maxPendingFillsPerAccount: 100 },
        maxOpenOrdersPerAccount: 1000,
        readRiskContext: (signed, state) => {
          reads++;
          return readRiskContext(publicClient, env.addresses.exchange, signed, state);
        },
      },
    );
  });

  afterEach(() => store.shutdown());

  async function submit(signer: Signer, fields: Partial<Order> & Pick<Order, "isBuy">): Promise<SubmitResult> {
    const o = order({ maker: (await signer.getAddress()) as Address, nonce: ++nonce, ...fields });
    return engine.submit({ order: o, signature: await signOrder({ signer, order: o, domain: env.sdkDomain }) });
  }

  it("answers SETTLEMENT_BACKLOG with no chain read, and still reads and takes a resting order", async () => {
    expect(await submit(env.alice, { isBuy: false, priceTicks: PRICE, lots: 10n })).to.include({ ok: true });
    expect(await submit(env.bob, { isBuy: true, priceTicks: PRICE, lots: 1n })).to.include({ ok: true });
    expect(store.pendingFillCount()).to.equal(1);
    expect(reads).to.equal(2);

    const taking = await submit(env.bob, { isBuy: true, priceTicks: PRICE, lots: 1n });
    expect(taking).to.include({ ok: false, code: "SETTLEMENT_BACKLOG" });
    expect(reads, "no risk read for an order refused by the backlog").to.equal(2);

    const resting = await submit(env.bob, { isBuy: true, priceTicks: PRICE - 10n, lots: 1n, flags: POST_ONLY });
    expect(resting).to.include({ ok: true });
    expect(reads).to.equal(3);
  });

  it("emits the events of a settled batch a slice per turn, in order", async () => {
    // Resting asks of one lot each, taken one by one (the backlog's bound is 1: settle as we go).
    const n = PUBLISH_SLICE + 8;
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      expect(await submit(env.alice, { isBuy: false, priceTicks: PRICE, lots: 1n, flags: POST_ONLY })).to.include({
        ok: true,
      });
      expect(await submit(env.bob, { isBuy: true, priceTicks: PRICE, lots: 1n })).to.include({ ok: true });
      const [fill] = store.pendingFills();
      store.markBatchSent(
        {
          txHash: `0x${(i + 1).toString(16).padStart(64, "0")}`,
          nonce: BigInt(i),
          maxFeePerGas: 1n,
          maxPriorityFeePerGas: 1n,
        },
        [fill.id],
        0,
      );
      ids.push(fill.id);
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
    const settled: number[] = [];
    let events = 0;
    engine.on("trade", (t: TradeUpdate) => t.status === "settled" && settled.push(t.fillId));
    engine.on("order", () => events++);
    engine.reconcile({ fills: ids.map((id) => ({ id, settled: true })), blockNumber: 10n });
    // n trades and 2n order updates were committed: one slice is out, the rest wait their turns.
    expect(settled.length + events).to.equal(PUBLISH_SLICE);
    const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
    await turn();
    expect(settled.length + events).to.equal(2 * PUBLISH_SLICE);
    for (let i = 0; i < 3 * n; i++) await turn();
    expect(settled).to.deep.equal(ids);
    expect(events).to.equal(2 * n);
  });
});
