/**
 * Issue 13, finding 17: a store error while finishing a batch was taken for an RPC failure
 * (`retry-next-block`), leaving its fills `sent` until a restart. Store errors are now fatal in
 * settlement as in order entry: settlement stops and says so (`fatal`), and the keeper exits.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Outcome } from "../../../keeper/src/settlement";
import { advance, matchAliceWithBob, names, openKeeper, settlementFixture, tempDb } from "../settlement/support";

describe("regression (issue 13, finding 17): store errors are fatal in settlement", function () {
  it("stops settlement on a store error while finishing a batch", async () => {
    const env = await loadFixture(settlementFixture);
    const keeper = await openKeeper(env, tempDb());
    const fatal: Error[] = [];
    keeper.settlement.on("fatal", (e) => fatal.push(e));
    await matchAliceWithBob(keeper, env);
    await keeper.settlement.tick(); // sent and mined
    keeper.store.markBatchMined = () => {
      throw new Error("disk I/O error");
    };
    await advance(keeper);
    expect(fatal.map((e) => e.message)).to.deep.equal(["disk I/O error"]);
    expect(names(keeper.outcomes)).to.not.include(Outcome.RETRY_NEXT_BLOCK);
    expect(keeper.settlement.running).to.equal(false);
  });
});
