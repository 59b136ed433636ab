/**
 * Issue 13, finding 18: `confirmations` could be up to 1,000, but reading the keeper's nonce that
 * many blocks back fails on a pruned node — and settlement then retried forever. Now settlement
 * checks at start that the node serves state `confirmations` blocks back, and refuses to start with
 * the depth it does serve.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { hexToBigInt, type Hex } from "viem";
import { publicClient } from "../../sdk/support";
import { countingClient } from "../support";
import { CONFIG, mine, openKeeper, settlementFixture, tempDb } from "../settlement/support";

describe("regression (issue 13, finding 18): confirmations are bounded by the node's state", function () {
  it("refuses to start when the node does not serve state `confirmations` blocks back", async () => {
    const env = await loadFixture(settlementFixture);
    await mine(30);
    const head = await publicClient.getBlockNumber({ cacheTime: 0 });
    // A node that keeps state for the last 5 blocks only.
    const { client } = countingClient((method, params) => {
      const tag = params[1];
      if (method === "eth_getTransactionCount" && typeof tag === "string" && tag.startsWith("0x")) {
        if (hexToBigInt(tag as Hex) < head - 5n) return Promise.reject(new Error("missing trie node"));
      }
      return undefined;
    });
    const keeper = await openKeeper(env, tempDb(), { client, config: { ...CONFIG, confirmations: 10 } });
    let error: Error | undefined;
    await keeper.settlement.start().catch((e: Error) => (error = e));
    expect(error?.message).to.match(/confirmations 10/);
    expect(error?.message).to.match(/5 blocks/);
    const fine = await openKeeper(env, tempDb(), { client, config: { ...CONFIG, confirmations: 4 } });
    await fine.settlement.start();
    await fine.settlement.stop();
  });
});
