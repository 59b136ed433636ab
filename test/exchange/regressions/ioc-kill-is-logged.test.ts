/**
 * Regression, review finding 6: every change of an order's state is visible in the log.
 *
 * An IMMEDIATE_OR_CANCEL order killed at the end of a `settle` call emitted no event, so an indexer
 * could not rebuild `filled(maker, nonce)` from logs. `settle` now emits `OrderCancelled(maker,
 * nonce, effectiveAt)` for each order it kills, with the block's time (in force at once), and none
 * for an order that was already dead.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { IMMEDIATE_OR_CANCEL, MAX_UINT64, SkipReason } from "../../helpers/orders";
import { deployFunded, fill, settleAs, signed } from "../support";

/** The `OrderCancelled` events of a transaction, as [maker, nonce, effectiveAt], and its block's time. */
async function cancelsOf(
  exchange: Awaited<ReturnType<typeof deployFunded>>["exchange"],
  tx: Promise<{ hash: string }>,
) {
  const receipt = (await ethers.provider.getTransactionReceipt((await tx).hash))!;
  const block = (await ethers.provider.getBlock(receipt.blockNumber))!;
  const cancels = receipt.logs
    .map((log) => exchange.interface.parseLog(log))
    .filter((e) => e?.name === "OrderCancelled")
    .map((e) => [e!.args[0], e!.args[1], e!.args[2]]);
  return { cancels, time: BigInt(block.timestamp) };
}

describe("regression: settle logs every IOC order it kills", function () {
  it("emits OrderCancelled for a partly filled IOC taker and a fully filled IOC maker, after their Traded", async function () {
    const { exchange, keeper, domain, alice, bob } = await loadFixture(deployFunded);
    const ask = await signed(alice, domain, { isBuy: false, nonce: 1n, lots: 2n, flags: IMMEDIATE_OR_CANCEL });
    const bid = await signed(bob, domain, { isBuy: true, nonce: 7n, lots: 5n, flags: IMMEDIATE_OR_CANCEL });
    const tx = settleAs(exchange, keeper, [ask, bid], [fill(0, 1, 2n)]);
    const { cancels, time } = await cancelsOf(exchange, tx);
    expect(cancels).to.deep.equal([
      [alice.address, 1n, time],
      [bob.address, 7n, time],
    ]);
    const names = (await (await tx).wait())!.logs.map((log) => exchange.interface.parseLog(log)?.name);
    expect(names).to.deep.equal(["Traded", "OrderCancelled", "OrderCancelled"]);
    expect(await exchange.filled(alice.address, 1n)).to.equal(MAX_UINT64);
    expect(await exchange.filled(bob.address, 7n)).to.equal(MAX_UINT64);
  });

  it("emits OrderCancelled for an IOC order whose only fill was skipped, and nothing for one already dead", async function () {
    const { exchange, keeper, domain, alice, bob } = await loadFixture(deployFunded);
    const ask = await signed(alice, domain, { isBuy: false, nonce: 1n, maxFeeBps: 0n, flags: IMMEDIATE_OR_CANCEL });
    const bid = await signed(bob, domain, { isBuy: true, nonce: 1n });
    const first = await cancelsOf(exchange, settleAs(exchange, keeper, [ask, bid], [fill(0, 1, 1n)]));
    expect(first.cancels).to.deep.equal([[alice.address, 1n, first.time]]);
    // Sent again, the dead IOC order skips and is not killed a second time.
    const tx = settleAs(exchange, keeper, [ask, bid], [fill(0, 1, 1n)]);
    await expect(tx).to.emit(exchange, "FillSkipped").withArgs(0n, SkipReason.MakerCancelled);
    expect((await cancelsOf(exchange, tx)).cancels).to.deep.equal([]);
  });
});
