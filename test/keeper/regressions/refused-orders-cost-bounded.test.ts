/**
 * Issue 13, finding 1: a refused order (a fresh key with no funds) was stored as a row forever and
 * cost about six uncached chain reads, and with fresh keys no per-account budget ever applied.
 * Now: nothing refused is stored (the refusal is counted), and an account the keeper has never
 * seen costs its chain reads only within the sender's budget of new accounts.
 *
 *   20 fresh unfunded keys ── valid orders ──▶ keeper   →  20 × 422, 0 rows, counted 20 times
 *   20 more from one address, budget 5       ──▶ keeper   →  5 × 422 (read), 15 × 429 (no read)
 */
import { expect } from "chai";
import Database from "libsql";
import { cachedChainFacts, countingClient, manualClock } from "../support";
import { http, newTrader, orderOf, signedBody, startKeeper, type Keeper } from "../api/support";
import { sdkFixture } from "../../sdk/support";

describe("regression (issue 13, finding 1): refused orders cost bounded memory and reads", function () {
  let k: Keeper | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  it("stores no refused order and counts each refusal once", async () => {
    k = await startKeeper();
    for (let i = 0; i < 20; i++) {
      const poor = await newTrader(k.env, 0n, 0n);
      const answer = await http(
        k.api.url,
        "POST",
        "/v1/orders",
        await signedBody(k, poor, orderOf(poor, { isBuy: true, priceTicks: 1_000n })),
      );
      expect(answer.status, JSON.stringify(answer.body)).to.equal(422);
      expect(answer.body.error.code).to.equal("INSUFFICIENT_BALANCE");
    }
    const db = new Database(k.path);
    const { n } = db.prepare("SELECT COUNT(*) AS n FROM orders").get() as { n: number };
    db.close();
    expect(n).to.equal(0);
    const metrics = (await http(k.api.url, "GET", "/metrics")).body as string;
    expect(metrics).to.match(/crossbook_orders_rejected_total\{code="INSUFFICIENT_BALANCE"\} 20\n/);
  });

  it("reads the chain for accounts it has never seen only within the sender's budget of new accounts", async () => {
    const env = await sdkFixture();
    const { client, counts } = countingClient();
    const facts = cachedChainFacts(env.addresses.exchange, client);
    const clock = manualClock();
    k = await startKeeper({
      env,
      engine: (store) => facts.engine(store),
      api: { clock: clock.now },
      limits: { perIpNewAccountsPerSecond: 5 },
    });
    const traders = [];
    // Six: the sixth is refused, and then the address is not read until Retry-After has passed
    // (regressions/floods-are-not-read), which this clock never reaches.
    for (let i = 0; i < 6; i++) traders.push(await newTrader(env, 0n, 0n));
    await facts.reads.sync();
    counts.clear();
    const statuses: number[] = [];
    for (const poor of traders) {
      const body = await signedBody(k, poor, orderOf(poor, { isBuy: true, priceTicks: 1_000n }));
      statuses.push((await http(k.api.url, "POST", "/v1/orders", body)).status);
    }
    expect(statuses).to.deep.equal([...Array(5).fill(422), 429]);
    // Five accounts' facts (code, nonce floor and the raise waiting, cancel-after, window, two
    // balances and two withdrawal requests) and the market's.
    expect(counts.get("eth_call") ?? 0).to.be.at.most(5 * 9 + 6);
  });
});
