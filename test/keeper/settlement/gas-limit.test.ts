/**
 * The gas limit a batch is signed with, on the Hardhat network: the batch's gas model (plus the
 * headroom), proven enough by simulating `settle` under it — no `eth_estimateGas` (a search of many
 * executions, 1.2–1.4 s each on a saturated node). A model too small for the batch fails that
 * simulation for want of gas, and the batch is simulated again and estimated as before.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { PublicClient } from "viem";
import { Outcome } from "../../../keeper/src/settlement";
import { publicClient } from "../../sdk/support";
import { advance, names, openKeeper, settlementFixture, submit, tempDb, tradedCount } from "./support";

/** The test network's client, counting its `eth_estimateGas` calls. */
function countingEstimates(): { client: PublicClient; estimates: () => number } {
  let estimates = 0;
  const client = new Proxy(publicClient, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property !== "estimateGas" || typeof value !== "function") return value;
      return (...args: unknown[]) => {
        estimates++;
        return (value as (...a: unknown[]) => unknown)(...args);
      };
    },
  });
  return { client, estimates: () => estimates };
}

describe("keeper/settlement: the gas limit of a batch", function () {
  it("signs the gas model's limit (plus the headroom) once the simulation passes under it: no eth_estimateGas", async function () {
    const env = await loadFixture(settlementFixture);
    const { client, estimates } = countingEstimates();
    const keeper = await openKeeper(env, tempDb(), { client, gasHeadroomPercent: 25 });
    await submit(keeper, env, env.alice, { isBuy: false, nonce: 1n, lots: 10n });
    await submit(keeper, env, env.bob, { isBuy: false, nonce: 1n, lots: 5n, priceTicks: 200_100n });
    await submit(keeper, env, env.carol, { isBuy: true, nonce: 1n, lots: 12n, priceTicks: 200_100n });

    await keeper.settlement.tick(); // simulated, sent, mined (automine)
    await advance(keeper);

    expect(names(keeper.outcomes)).to.deep.equal([Outcome.SETTLED]);
    expect(estimates()).to.equal(0);
    // Two fills under the default model (80,000 + 100,000 a fill), plus 25 %.
    expect(keeper.sent.map((b) => b.gas)).to.deep.equal([350_000n]);
    expect(keeper.outcomes[0]!.gasUsed! < 350_000n).to.equal(true);
    expect(await tradedCount(env)).to.equal(2);
  });

  it("falls back to eth_estimateGas when the model's limit is too small for the batch, and settles", async function () {
    const env = await loadFixture(settlementFixture);
    const { client, estimates } = countingEstimates();
    const keeper = await openKeeper(env, tempDb(), {
      client,
      gasHeadroomPercent: 25,
      gasModel: { base: 50_000n, perFill: 1_000n }, // 63,750 gas with the headroom: above the intrinsic cost, below the fill's
    });
    await submit(keeper, env, env.alice, { isBuy: false, nonce: 1n, lots: 10n });
    await submit(keeper, env, env.bob, { isBuy: true, nonce: 1n, lots: 4n, priceTicks: 200_000n });

    await keeper.settlement.tick();
    await advance(keeper);

    expect(names(keeper.outcomes)).to.deep.equal([Outcome.SETTLED]);
    expect(estimates()).to.equal(1);
    expect(keeper.sent[0]!.gas > 63_750n).to.equal(true);
    expect(await tradedCount(env)).to.equal(1);
  });
});
