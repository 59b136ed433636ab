/**
 * An order that would take while the settlement backlog is full is refused before its risk check:
 * the flood that fills the backlog costs no chain read per order.
 */
import { expect } from "chai";
import type { Signer } from "ethers";
import type { Address } from "viem";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { POST_ONLY, signOrder, type Order } from "@crossbook/sdk";
import type { Engine, SubmitResult } from "../../../keeper/src/engine";
import { readRiskContext } from "../../../keeper/src/risk";
import type { Store } from "../../../keeper/src/store";
import { order, publicClient } from "../../sdk/support";
import { freshStore } from "../../helpers/postgres";
import { fundedTraders, openEngine } from "../support";

const PRICE = 200_000n;
const funded = () => fundedTraders(PRICE);

describe("keeper engine: the settlement backlog refuses before the risk check", () => {
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
});
