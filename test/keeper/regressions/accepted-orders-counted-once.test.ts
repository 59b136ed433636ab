/**
 * Issue 13, finding 10: the accepted-orders counter was incremented twice, by the route and by the
 * engine's event (five orders read as ten). One owner now: the keeper as assembled counts each
 * accepted order once, and each refusal once.
 */
import { expect } from "chai";
import { runKeeperInProcess } from "../support";
import { http, newTrader, orderOf, signedBody, type Keeper } from "../api/support";
import { sdkFixture } from "../../sdk/support";

describe("regression (issue 13, finding 10): one owner per counter", function () {
  it("counts five accepted orders as five and one refusal as one", async () => {
    const env = await sdkFixture();
    const running = await runKeeperInProcess(env);
    try {
      const k = { env, api: { url: running.url } } as unknown as Keeper;
      const alice = await newTrader(env);
      for (let i = 0; i < 5; i++) {
        const placed = await http(
          running.url,
          "POST",
          "/v1/orders",
          await signedBody(k, alice, orderOf(alice, { isBuy: false, priceTicks: 300_000n + BigInt(i) })),
        );
        expect(placed.status, JSON.stringify(placed.body)).to.equal(201);
      }
      const poor = await newTrader(env, 0n, 0n);
      await http(
        running.url,
        "POST",
        "/v1/orders",
        await signedBody(k, poor, orderOf(poor, { isBuy: true, priceTicks: 1_000n })),
      );
      const metrics = (await http(running.url, "GET", "/metrics")).body as string;
      expect(metrics).to.match(/crossbook_orders_accepted_total\{market="1"\} 5\n/);
      expect(metrics).to.match(/crossbook_orders_rejected_total\{code="INSUFFICIENT_BALANCE"\} 1\n/);
    } finally {
      await running.close();
    }
  });
});
