/**
 * An account's first order used to wait for the node: its facts (nonce floors, cancel-after,
 * window, balances, withdrawal requests, code) were read when it arrived. Under attack the node
 * answered such a read in 60–280 ms, and a market maker's other quotes waited behind it (issue 13,
 * bench:attack: the slowest honest orders were the makers' first quotes). Now the keeper reads
 * them ahead: for the latest depositors at each block and when it starts (or takes over) to lead,
 * and for the accounts with open orders when a term starts (keeper.ts, `readAheadOfAccounts`).
 * Counted with the keeper's `crossbook_rpc_calls_total`: the first orders ask the node nothing.
 * With `--read-ahead-accounts 0` they ask (risk/reads-in-one-call.test.ts: one call).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { runKeeperInProcess, tempDatabase } from "../support";
import { http, newTrader, placeAsk, type Trader } from "../api/support";
import { sdkFixture } from "../../sdk/support";

/** The node calls of the order path (`cause="order"`) in a scrape of `/metrics`, all methods. */
function orderCalls(metrics: string): number {
  let calls = 0;
  for (const line of metrics.split("\n")) {
    const m = /^crossbook_rpc_calls_total\{method="[^"]+",cause="order"\} (\d+)/.exec(line);
    if (m !== null) calls += Number(m[1]);
  }
  return calls;
}

/** `crossbook_accounts_read_ahead_total` for `why` in a scrape. */
function readAhead(metrics: string, why: "deposit" | "open-orders"): number {
  const m = new RegExp(`^crossbook_accounts_read_ahead_total\\{why="${why}"\\} (\\d+)`, "m").exec(metrics);
  return m === null ? 0 : Number(m[1]);
}

describe("keeper risk: a first order finds its account's facts read ahead", function () {
  this.timeout(120_000);

  async function started(
    env: Awaited<ReturnType<typeof sdkFixture>>,
    options: Parameters<typeof runKeeperInProcess>[1] = {},
  ) {
    const running = await runKeeperInProcess(env, options);
    const scrape = async () => (await http(running.url, "GET", "/metrics")).body as string;
    const place = (trader: Trader, priceTicks: bigint) => placeAsk(running.url, env, trader, priceTicks);
    /** Waits until the keeper has read ahead `count` accounts for `why` (a deadline, not a measure). */
    const readAheadReaches = async (why: "deposit" | "open-orders", count: number) => {
      for (const deadline = Date.now() + 30_000; ; await new Promise((r) => setTimeout(r, 50))) {
        const seen = readAhead(await scrape(), why);
        if (seen >= count) return seen;
        if (Date.now() > deadline) throw new Error(`read ahead ${seen} accounts for ${why}, not ${count}`);
      }
    };
    return { running, scrape, place, readAheadReaches };
  }

  it("reads ahead the accounts that deposited before it started: their first orders ask the node nothing", async () => {
    const env = await sdkFixture();
    const [alice, bob] = [await newTrader(env), await newTrader(env)];
    const { running, scrape, place } = await started(env);
    try {
      const before = await scrape();
      // Each of them deposited both tokens: an account is read ahead once per deposit of a token.
      expect(readAhead(before, "deposit")).to.be.at.least(4);
      await place(alice, 300_000n);
      await place(bob, 300_001n);
      expect(orderCalls(await scrape()) - orderCalls(before), "node calls of the two first orders").to.equal(0);
    } finally {
      await running.close();
    }
  });

  it("reads ahead an account that deposits while it runs, at the deposit's block", async () => {
    const env = await sdkFixture();
    const alice = await newTrader(env);
    const { running, scrape, place, readAheadReaches } = await started(env);
    try {
      const deposits = readAhead(await scrape(), "deposit");
      const carol = await newTrader(env); // two deposits (base, quote), a block each
      await readAheadReaches("deposit", deposits + 2);
      const before = await scrape();
      await place(carol, 300_000n);
      expect(orderCalls(await scrape()) - orderCalls(before), "node calls of carol's first order").to.equal(0);
      await place(alice, 300_001n);
    } finally {
      await running.close();
    }
  });

  it("reads ahead the accounts with open orders when a keeper starts on a store that has them", async () => {
    const env = await sdkFixture();
    const alice = await newTrader(env);
    const database = tempDatabase("crossbook-read-ahead-");
    const first = await started(env, { database });
    try {
      await first.place(alice, 300_000n);
    } finally {
      await first.running.close();
    }
    // From a start block past alice's deposits: no event names her, so only her open order can.
    const startBlock = (await ethers.provider.getBlockNumber()) + 1;
    const again = await started(env, { database, flags: ["--start-block", String(startBlock)] });
    try {
      const metrics = await again.scrape();
      expect([readAhead(metrics, "open-orders"), readAhead(metrics, "deposit")]).to.deep.equal([1, 0]);
      const before = await again.scrape();
      await again.place(alice, 300_001n);
      expect(orderCalls(await again.scrape()) - orderCalls(before), "node calls of alice's next order").to.equal(0);
    } finally {
      await again.running.close();
    }
  });
});
