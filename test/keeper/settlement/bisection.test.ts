/**
 * Settlement on the Hardhat network when a simulation reverts with an error that names no fill
 * (`Panic(0x11)`, an overflow): the batch is bisected over its taker groups. The revert is
 * injected through `simulate` (a test double in front of the real `eth_call`), since no order
 * a trader can sign makes the Exchange revert without naming the fill; everything else — the
 * sends, the receipts, the reconciliation — is real.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { encodeErrorResult, parseAbi, RawContractError, type Hex } from "viem";
import { Outcome, type SimulateCall } from "../../../keeper/src/settlement";
import { publicClient } from "../../sdk/support";
import { mine, names, openKeeper, settlementFixture, submit, tempDb, tradedCount, type Keeper } from "./support";

/** The revert data of `Panic(0x11)`: an arithmetic overflow, which names no fill. */
const PANIC_OVERFLOW: Hex = encodeErrorResult({
  abi: parseAbi(["error Panic(uint256 code)"]),
  errorName: "Panic",
  args: [0x11n],
});

/** A simulation that reverts with `Panic(0x11)` when `reverts(fillIds)`, and asks the node otherwise. */
function simulateWith(reverts: (fillIds: readonly number[]) => boolean, calls: (readonly number[])[]) {
  return async (call: SimulateCall): Promise<void> => {
    calls.push(call.fillIds);
    if (reverts(call.fillIds)) throw new RawContractError({ data: PANIC_OVERFLOW });
    await publicClient.call({ account: call.account, to: call.to, data: call.data });
  };
}

const fillIdsOf = (keeper: Keeper, taker: Hex) => keeper.store.fillsOfOrder(taker).map((f) => f.id);

describe("keeper/settlement: bisection of a revert that names no fill", function () {
  it("sends two taker groups as separate batches when only their combination reverts", async function () {
    //   alice sells 10 @ 200,000
    //   carol buys 4 → 4 from alice ┐ settled together: Panic(0x11)
    //   dave buys 4  → 4 from alice ┘ apart: fine
    const env = await loadFixture(settlementFixture);
    const calls: (readonly number[])[] = [];
    let carolFills: number[] = [];
    let daveFills: number[] = [];
    const keeper = await openKeeper(env, tempDb(), {
      simulate: simulateWith(
        (ids) => carolFills.some((id) => ids.includes(id)) && daveFills.some((id) => ids.includes(id)),
        calls,
      ),
    });
    await submit(keeper, env, env.alice, { isBuy: false, nonce: 1n, lots: 10n });
    const carol = await submit(keeper, env, env.carol, { isBuy: true, nonce: 1n, lots: 4n });
    const dave = await submit(keeper, env, env.dave, { isBuy: true, nonce: 1n, lots: 4n });
    carolFills = fillIdsOf(keeper, carol);
    daveFills = fillIdsOf(keeper, dave);

    await keeper.settlement.tick(); // both: revert; each half passes; carol's half sent (automine)
    expect(calls).to.deep.equal([[...carolFills, ...daveFills], carolFills, daveFills, carolFills]);
    expect(keeper.sent.map((s) => s.fillIds)).to.deep.equal([carolFills]);
    expect(names(keeper.outcomes)).to.deep.equal([]); // nothing skipped, no backoff

    await mine();
    await keeper.settlement.tick(); // carol's batch confirmed; dave's sent alone
    await mine();
    await keeper.settlement.tick();

    expect(names(keeper.outcomes)).to.deep.equal([Outcome.SETTLED, Outcome.SETTLED]);
    expect(keeper.sent.map((s) => s.fillIds)).to.deep.equal([carolFills, daveFills]);
    for (const [i, s] of keeper.sent.entries()) {
      expect(keeper.outcomes[i]!.txHash).to.equal(s.txHash);
      expect(keeper.store.getBatch(s.batchId)?.txHash).to.equal(s.txHash);
      expect(s.gas > 0n && s.maxFeePerGas >= s.maxPriorityFeePerGas).to.equal(true);
    }
    expect(keeper.sent[1]!.nonce).to.equal(keeper.sent[0]!.nonce + 1n);
    for (const id of [...carolFills, ...daveFills]) expect(keeper.store.getFill(id)?.status).to.equal("settled");
    expect(await tradedCount(env)).to.equal(2);
  });

  it("skips only the taker group that reverts alone, and settles the others in the same block", async function () {
    //   alice sells 10, bob sells 10 @ 200,000
    //   carol buys 12 → 10 alice + 2 bob
    //   dave buys 3   → 3 bob              ← any batch with dave's fill: Panic(0x11)
    //   carol buys 2 more (nonce 2) → 2 bob
    const env = await loadFixture(settlementFixture);
    const calls: (readonly number[])[] = [];
    let daveFills: number[] = [];
    const keeper = await openKeeper(env, tempDb(), {
      simulate: simulateWith((ids) => daveFills.some((id) => ids.includes(id)), calls),
    });
    await submit(keeper, env, env.alice, { isBuy: false, nonce: 1n, lots: 10n });
    await submit(keeper, env, env.bob, { isBuy: false, nonce: 1n, lots: 10n });
    const carol = await submit(keeper, env, env.carol, { isBuy: true, nonce: 1n, lots: 12n });
    const dave = await submit(keeper, env, env.dave, { isBuy: true, nonce: 1n, lots: 3n });
    const carol2 = await submit(keeper, env, env.carol, { isBuy: true, nonce: 2n, lots: 2n });
    const carolFills = [...fillIdsOf(keeper, carol), ...fillIdsOf(keeper, carol2)];
    daveFills = fillIdsOf(keeper, dave);
    expect(carolFills).to.have.lengthOf(3);
    expect(daveFills).to.have.lengthOf(1);

    await keeper.settlement.tick();
    await mine();
    await keeper.settlement.tick();

    expect(names(keeper.outcomes)).to.deep.equal([Outcome.SKIPPED, Outcome.SETTLED]);
    expect(keeper.outcomes[0]!.reason).to.equal("KEEPER_SIMULATION_Panic");
    expect(keeper.outcomes[0]!.fillIds).to.deep.equal(daveFills);
    expect(keeper.store.getFill(daveFills[0]!)?.skipReason).to.equal("KEEPER_SIMULATION_Panic");
    // The batch, [carol 1, dave], [carol 1], [dave], [carol 2]; then the batch without dave.
    expect(calls).to.have.lengthOf(6);
    expect(keeper.sent).to.have.lengthOf(1);
    expect([...keeper.sent[0]!.fillIds].sort()).to.deep.equal([...carolFills].sort());
    for (const id of carolFills) expect(keeper.store.getFill(id)?.status).to.equal("settled");
    expect(await tradedCount(env)).to.equal(3);
  });

  it("backs off without sending when the simulation budget is too small to learn anything", async function () {
    const env = await loadFixture(settlementFixture);
    const calls: (readonly number[])[] = [];
    const keeper = await openKeeper(env, tempDb(), {
      maxSimulationsPerBlock: 1,
      simulate: simulateWith(() => true, calls),
    });
    await submit(keeper, env, env.alice, { isBuy: false, nonce: 1n, lots: 10n });
    await submit(keeper, env, env.carol, { isBuy: true, nonce: 1n, lots: 4n });
    await submit(keeper, env, env.dave, { isBuy: true, nonce: 1n, lots: 4n });

    await keeper.settlement.tick();
    expect(calls).to.have.lengthOf(1);
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.RETRY_NEXT_BLOCK]);
    expect(keeper.outcomes[0]!.reason).to.equal("Panic (simulation budget spent)");
    expect(keeper.sent).to.deep.equal([]);
    expect(keeper.store.pendingFills()).to.have.lengthOf(2);
  });
});
