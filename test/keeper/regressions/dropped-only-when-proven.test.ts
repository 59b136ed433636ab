/**
 * Issue 13, finding 16: a batch was declared dropped because one receipt lookup failed; behind a
 * load-balanced RPC whose index lags, the keeper could then send settled fills again. Now a batch is
 * dropped only when its nonce is proven used by another transaction (found in the block that used
 * it), or after its receipt has been absent for `dropAfterBlocks` blocks past it.
 *
 *   batch sent and mined; the node's receipt index lags: no receipt for 3 blocks
 *     → not dropped (the block that used the nonce holds our transaction); then settled once
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Hex } from "viem";
import { Outcome } from "../../../keeper/src/settlement";
import { countingClient } from "../support";
import {
  advance,
  matchAliceWithBob,
  mine,
  names,
  openKeeper,
  setAutomine,
  settlementFixture,
  tempDb,
  tradedCount,
} from "../settlement/support";

describe("regression (issue 13, finding 16): dropped only when proven", function () {
  afterEach(async () => setAutomine(true));

  it("waits out a lagging receipt index instead of sending settled fills again", async () => {
    const env = await loadFixture(settlementFixture);
    const hidden = new Set<string>();
    const { client } = countingClient((method, params) =>
      method === "eth_getTransactionReceipt" && hidden.has(String(params[0]).toLowerCase())
        ? Promise.resolve(null)
        : undefined,
    );
    const keeper = await openKeeper(env, tempDb(), { client });
    await matchAliceWithBob(keeper, env);
    await setAutomine(false);
    await keeper.settlement.tick();
    const [sent] = keeper.store.pendingBatches();
    hidden.add(sent!.txHash.toLowerCase() as Hex);
    await mine(); // mined; the receipt is not served
    await advance(keeper, 3);
    expect(names(keeper.outcomes)).to.not.include(Outcome.DROPPED);
    expect(keeper.store.getBatch(sent!.id)?.status).to.equal("sent");
    hidden.clear();
    await advance(keeper, 2);
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.SETTLED]);
    expect(await tradedCount(env)).to.equal(1);
  });

  it("drops after the receipt has been absent for dropAfterBlocks blocks", async () => {
    const env = await loadFixture(settlementFixture);
    const hidden = new Set<string>();
    const { client } = countingClient((method, params) => {
      if (method === "eth_getTransactionReceipt" && hidden.has(String(params[0]).toLowerCase()))
        return Promise.resolve(null);
      // The node cannot show the block's transactions either: nothing proves what used the nonce.
      if (method === "eth_getBlockByNumber" && params[1] === true) return Promise.reject(new Error("header not found"));
      return undefined;
    });
    const keeper = await openKeeper(env, tempDb(), { client, dropAfterBlocks: 4 });
    await matchAliceWithBob(keeper, env);
    await setAutomine(false);
    await keeper.settlement.tick();
    const [sent] = keeper.store.pendingBatches();
    hidden.add(sent!.txHash.toLowerCase());
    await mine();
    await advance(keeper, 3);
    expect(names(keeper.outcomes)).to.not.include(Outcome.DROPPED);
    await advance(keeper, 3);
    expect(names(keeper.outcomes)).to.include(Outcome.DROPPED);
  });
});
