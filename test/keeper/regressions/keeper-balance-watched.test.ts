/**
 * Issue 13, finding 15: running out of ETH stalled settlement silently. Now the keeper watches its
 * balance: a metric, a warning below a threshold, and readiness.
 */
import { expect } from "chai";
import { sdkFixture } from "../../sdk/support";
import { runKeeperInProcess } from "../support";
import { http } from "../api/support";

describe("regression (issue 13, finding 15): the keeper's ETH balance is watched", function () {
  it("exports the balance and is not ready below the threshold", async () => {
    const env = await sdkFixture();
    const running = await runKeeperInProcess(env, {
      balanceWei: 10n ** 16n, // 0.01 ETH
      flags: ["--min-keeper-balance", (10n ** 17n).toString()], // 0.1 ETH
    });
    try {
      const metrics = (await http(running.url, "GET", "/metrics")).body as string;
      expect(metrics).to.match(/crossbook_keeper_balance_wei 10000000000000000\n/);
      const ready = await http(running.url, "GET", "/v1/ready");
      expect(ready.status).to.equal(503);
      expect(ready.body.error.details.missing.join(" ")).to.match(
        new RegExp(`keeper balance.*${running.keeperAddress}`),
      );
    } finally {
      await running.close();
    }
  });
});
