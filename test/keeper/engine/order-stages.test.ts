/**
 * The engine tells how long an accepted order waited behind its account's earlier orders (`queue`),
 * for its checks (`check`, the risk read among them) and for its group commit (`commit`), by its clock: the keeper's metrics of where an order's time
 * goes beside its risk read.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Address } from "viem";
import { POST_ONLY, signOrder } from "@crossbook/sdk";
import { Store } from "../../../keeper/src/store";
import { LOT_SIZE } from "../../helpers/fixture";
import { fund, order, sdkFixture } from "../../sdk/support";
import { openEngine } from "../support";
import { tempDb } from "../settlement/support";

describe("keeper engine: order stages", () => {
  it("tells the queue, check and commit waits of an accepted order", async () => {
    const env = await loadFixture(sdkFixture);
    await fund(env.exchange, env.base, env.alice, 100n * LOT_SIZE);
    let now = 0;
    const stages: [string, Address, number][] = [];
    const engine = await openEngine(
      Store.open(tempDb()),
      { exchange: env.addresses.exchange, domain: env.sdkDomain },
      { clock: () => (now += 5), onOrderStage: (stage, maker, ms) => stages.push([stage, maker, ms]) },
    );
    const alice = env.alice.address as Address;
    const o = order({ maker: alice, isBuy: false, nonce: 1n, flags: POST_ONLY });
    const answer = await engine.submit({
      order: o,
      signature: await signOrder({ signer: env.alice, order: o, domain: env.sdkDomain }),
    });
    expect(answer.ok).to.equal(true);
    expect(stages.map(([stage, maker]) => [stage, maker])).to.deep.equal([
      ["queue", alice],
      ["check", alice],
      ["commit", alice],
    ]);
    for (const [, , ms] of stages) expect(ms).to.be.greaterThan(0);
  });
});
