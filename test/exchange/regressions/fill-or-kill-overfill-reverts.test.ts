/**
 * Regression, review finding 8: an abandoned fill-or-kill run checked sizes without its own earlier
 * fills. Once a fill of the run was skipped, each later fill was checked against the stored fill
 * state alone, so a keeper overfill inside the run (fills that together exceed a maker's order) was
 * skipped with the run instead of reverted. Keeper mistakes revert everywhere: each fill of an
 * abandoned run is checked as though every earlier fill of the run that passed its own checks had
 * executed.
 *
 *   the outsider holds no base; alice's ask is for 5 lots
 *   bob's fill-or-kill bid for 9: outsider 3 (MakerBalanceTooLow), alice 3, alice 3 (6 > 5) — FillExceedsOrder
 *   bob's fill-or-kill bid for 6: outsider 3 (MakerBalanceTooLow), outsider 3 more (6 > 5)  — FillExceedsOrder
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { FILL_OR_KILL } from "../../helpers/orders";
import { deployFunded, fill, settleAs, signed } from "../support";

async function deployRun() {
  const env = await deployFunded();
  const { domain, alice, outsider } = env;
  const emptyAsk = await signed(outsider, domain, { isBuy: false, nonce: 1n, lots: 5n });
  const aliceAsk = await signed(alice, domain, { isBuy: false, nonce: 1n, lots: 5n });
  return { ...env, emptyAsk, aliceAsk };
}

describe("regression: a keeper overfill inside an abandoned fill-or-kill run reverts", function () {
  it("reverts FillExceedsOrder when two checked-only fills of the run exceed a maker's order together", async function () {
    const { exchange, keeper, domain, bob, emptyAsk, aliceAsk } = await loadFixture(deployRun);
    const bobFok = await signed(bob, domain, { isBuy: true, nonce: 1n, lots: 9n, flags: FILL_OR_KILL });
    await expect(
      settleAs(exchange, keeper, [emptyAsk, aliceAsk, bobFok], [fill(0, 2, 3n), fill(1, 2, 3n), fill(1, 2, 3n)]),
    )
      .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
      .withArgs(2n, 1n, 2n, 3n);
  });

  it("reverts FillExceedsOrder when a checked-only fill and the skipped fill before it exceed a maker's order together", async function () {
    const { exchange, keeper, domain, bob, emptyAsk } = await loadFixture(deployRun);
    const bobFok = await signed(bob, domain, { isBuy: true, nonce: 1n, lots: 6n, flags: FILL_OR_KILL });
    await expect(settleAs(exchange, keeper, [emptyAsk, bobFok], [fill(0, 1, 3n), fill(0, 1, 3n)]))
      .to.be.revertedWithCustomError(exchange, "FillExceedsOrder")
      .withArgs(1n, 0n, 2n, 3n);
  });

  it("still skips the whole run when its fills fit", async function () {
    const { exchange, keeper, domain, bob, emptyAsk, aliceAsk } = await loadFixture(deployRun);
    const bobFok = await signed(bob, domain, { isBuy: true, nonce: 1n, lots: 8n, flags: FILL_OR_KILL });
    await expect(
      settleAs(exchange, keeper, [emptyAsk, aliceAsk, bobFok], [fill(0, 2, 3n), fill(1, 2, 3n), fill(1, 2, 2n)]),
    ).not.to.emit(exchange, "Traded");
    expect(await exchange.filled(aliceAsk.order.maker, 1n)).to.equal(0n);
  });
});
