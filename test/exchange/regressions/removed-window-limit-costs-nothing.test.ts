/**
 * Regression, review finding 7: `windowLimitCount` never went down, so an account that removed its
 * window limits kept paying for the check on every fill (a cold read of its window word and the
 * arithmetic, about 2,400 gas a fill). The Exchange now counts live limits: once a removal is in
 * force, the account's fills cost what an account that never had a limit pays.
 *
 *   alice had a limit on market 1 and removed it (in force an hour later): alice sells to bob
 *   carol never had one:                                                     carol sells to dave
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse } from "ethers";
import { afterFirmness, deployFunded, fill, settleAs, signed, type Trader } from "../support";

/** Gas a transaction spent executing: gasUsed less the 21,000 base and its calldata (4 a zero byte, 16 any other). */
async function executionGas(tx: Promise<ContractTransactionResponse>) {
  const sent = await tx;
  const receipt = (await sent.wait())!;
  const data = Buffer.from(sent.data.slice(2), "hex");
  const calldata = data.reduce((sum, byte) => sum + (byte === 0 ? 4n : 16n), 0n);
  return receipt.gasUsed - 21_000n - calldata;
}

describe("regression: a removed window limit costs a fill nothing", function () {
  it("an account whose limit removal is in force pays the same gas per fill as one that never had a limit", async function () {
    const env = await loadFixture(deployFunded);
    const { exchange, keeper, domain, alice, bob, carol, dave } = env;
    await exchange.setFees(1n, 0n, 0n); // no fee recipient's balance written by one call and not the other
    await exchange.connect(alice).setWindowLimit(1n, 100n, 60n);
    await afterFirmness();
    await exchange.connect(alice).setWindowLimit(1n, 0n, 0n); // a loosening: in force after LOOSEN_DELAY
    await time.increase(await exchange.LOOSEN_DELAY());
    const [maxLots, windowSeconds] = await exchange.windowLimit(alice.address, 1n);
    expect([maxLots, windowSeconds]).to.deep.equal([0n, 0n]);

    const sell = async (maker: Trader, taker: Trader) =>
      executionGas(
        settleAs(
          exchange,
          keeper,
          [
            await signed(maker, domain, { isBuy: false, nonce: 8n }),
            await signed(taker, domain, { isBuy: true, nonce: 8n }),
          ],
          [fill(0, 1, 1n)],
        ),
      );
    const removed = await sell(alice, bob);
    const never = await sell(carol, dave);
    expect(Number(removed - never), `execution gas ${removed} against ${never}`).to.be.within(-100, 100);
  });
});
