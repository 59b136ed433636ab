/**
 * Issue 13, finding 13: a stuck batch could never be replaced once its priority fee sat at the cap
 * (a replacement must raise both fees), and the keeper only logged it. Now a replacement raises
 * both fees within the caps; when no valid replacement exists, settlement says so with a named
 * outcome (`replacement-capped`) that names the setting to raise, and reports it in its health.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Outcome } from "../../../keeper/src/settlement";
import { hre } from "../../sdk/support";
import {
  CONFIG,
  GWEI,
  matchAliceWithBob,
  mine,
  names,
  openKeeper,
  setAutomine,
  settlementFixture,
  tempDb,
} from "../settlement/support";

describe("regression (issue 13, finding 13): a batch stuck at the fee caps is reported", function () {
  afterEach(async () => setAutomine(true));

  async function stuck(maxPriorityFeePerGas: bigint) {
    const env = await loadFixture(settlementFixture);
    const keeper = await openKeeper(env, tempDb(), {
      config: { ...CONFIG, fees: { ...CONFIG.fees, maxPriorityFeePerGas } },
    });
    await matchAliceWithBob(keeper, env);
    await setAutomine(false);
    await keeper.settlement.tick();
    const [sent] = keeper.store.pendingBatches();
    for (let i = 0; i < 3; i++) {
      await hre.network.provider.send("hardhat_setNextBlockBaseFeePerGas", [`0x${(100n * GWEI).toString(16)}`]);
      await mine();
      await keeper.settlement.tick();
    }
    return { keeper, sent: sent! };
  }

  it("raises both fees by the bump when the caps allow", async () => {
    const { keeper, sent } = await stuck(2n * GWEI);
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.REPLACED]);
    const replaced = keeper.outcomes[0]!;
    expect(replaced.maxFeePerGas! >= (sent.maxFeePerGas * 115n) / 100n).to.equal(true);
    expect(replaced.maxPriorityFeePerGas! >= (sent.maxPriorityFeePerGas * 115n) / 100n).to.equal(true);
  });

  it("names the outcome and the setting when the priority fee is at its cap", async () => {
    const { keeper, sent } = await stuck(1n * GWEI);
    expect(sent.maxPriorityFeePerGas).to.equal(1n * GWEI);
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.REPLACEMENT_CAPPED]);
    expect(keeper.outcomes[0]!.reason).to.match(/fees\.maxPriorityFeePerGas/);
    expect(keeper.settlement.health().stuck).to.match(/fees\.maxPriorityFeePerGas/);
    // Said once, not at every block.
    await mine();
    await keeper.settlement.tick();
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.REPLACEMENT_CAPPED]);
  });
});
