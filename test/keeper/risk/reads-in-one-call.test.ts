/**
 * A node spends about as long on an `eth_call` as on the view inside it, so the keeper's contract
 * reads of one job go out several to a call (viem's deployless multicall; keeper.ts,
 * `chainClients`). An account's first order, in a market the keeper already knows, reads the
 * maker's facts (nonce floors, cancel-after, window, both balances and withdrawal requests) in one
 * round: one `eth_call`, where each fact was a call of its own. Counted with the keeper's
 * `crossbook_rpc_calls_total`.
 */
import { expect } from "chai";
import { runKeeperInProcess } from "../support";
import { http, newTrader, placeAsk, type Trader } from "../api/support";
import { sdkFixture } from "../../sdk/support";

/** The `eth_call`s of `cause` in a scrape of `/metrics`, by method label. */
function ethCallsOf(metrics: string, cause: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const line of metrics.split("\n")) {
    const m = /^crossbook_rpc_calls_total\{method="(eth_call[^"]*)",cause="([^"]+)"\} (\d+)/.exec(line);
    if (m !== null && m[2] === cause) calls.set(m[1] as string, Number(m[3]));
  }
  return calls;
}

const total = (calls: Map<string, number>) => [...calls.values()].reduce((a, b) => a + b, 0);

describe("keeper risk: an account's first order reads its facts in one eth_call", function () {
  this.timeout(120_000);

  it("asks the node one eth_call for a new maker's facts in a market it knows", async () => {
    const env = await sdkFixture();
    // Both deposit before the keeper starts. No block is mined between the two scrapes below, so
    // a recheck of Alice's order would answer from the block's memo: the order's calls are Bob's.
    const [alice, bob] = [await newTrader(env), await newTrader(env)];
    // Without reading ahead the facts of accounts that deposited (read-ahead-of-first-orders.test.ts:
    // then a first order asks nothing), so that the order's own risk read is what is counted.
    const running = await runKeeperInProcess(env, { flags: ["--read-ahead-accounts", "0"] });
    try {
      const place = (trader: Trader, priceTicks: bigint) => placeAsk(running.url, env, trader, priceTicks);
      const scrape = async () => (await http(running.url, "GET", "/metrics")).body as string;
      // The keeper's first order reads the market too; the second maker's, only its own facts.
      await place(alice, 300_000n);
      const before = ethCallsOf(await scrape(), "order");
      await place(bob, 300_001n);
      const after = ethCallsOf(await scrape(), "order");
      const asked = total(after) - total(before);
      expect(asked, `eth_calls for bob's first order: ${JSON.stringify([...after])}`).to.equal(1);
      expect((after.get("eth_call:multicall") ?? 0) - (before.get("eth_call:multicall") ?? 0)).to.equal(1);
    } finally {
      await running.close();
    }
  });
});
