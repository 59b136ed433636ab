/**
 * The keeper counted its node calls by cause with an `AsyncLocalStorage` (`withRpcCause`), which on
 * Node 20 turns on promise hooks for the whole process: every promise of every order paid for it.
 * Each job now calls through its own client (`causedTransports`). The keeper as assembled labels its
 * calls as before — an order's risk read `order`, the block's sync `sync`, the reads ahead of a new
 * block `read-ahead`, settlement `settlement`, the rest `other` — and never enters an
 * `AsyncLocalStorage` on the way.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { expect } from "chai";
import hre from "hardhat";
import { runKeeperInProcess } from "../support";
import { http, newTrader, orderOf, signedBody, type Keeper } from "../api/support";
import { sdkFixture } from "../../sdk/support";

/** `crossbook_rpc_calls_total`'s count for `method` and `cause` in a scrape (0: no such series). */
function callsOf(metrics: string, method: string, cause: string): number {
  const line = metrics
    .split("\n")
    .find((l) => l.startsWith(`crossbook_rpc_calls_total{method="${method}",cause="${cause}"}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("regression: node calls are counted by cause without an AsyncLocalStorage", function () {
  it("labels an order's reads, the sync, the reads ahead and settlement, and enters no AsyncLocalStorage", async () => {
    const env = await sdkFixture();
    const proto = AsyncLocalStorage.prototype as unknown as Record<
      "run" | "enterWith",
      (...args: unknown[]) => unknown
    >;
    const saved = { run: proto.run, enterWith: proto.enterWith };
    let entered = 0;
    proto.run = function (this: unknown, ...args: unknown[]) {
      entered += 1;
      return saved.run.apply(this, args);
    };
    proto.enterWith = function (this: unknown, ...args: unknown[]) {
      entered += 1;
      return saved.enterWith.apply(this, args);
    };
    // Alice deposits once the keeper runs: without this flag her facts could be read ahead at her
    // deposit's block (`read-ahead`), before her order asks for them (`order`).
    const running = await runKeeperInProcess(env, { flags: ["--read-ahead-accounts", "0"] }).catch((error: unknown) => {
      Object.assign(proto, saved);
      throw error;
    });
    try {
      const k = { env, api: { url: running.url } } as unknown as Keeper;
      const alice = await newTrader(env);
      const placed = await http(
        running.url,
        "POST",
        "/v1/orders",
        await signedBody(k, alice, orderOf(alice, { isBuy: false, priceTicks: 300_000n })),
      );
      expect(placed.status, JSON.stringify(placed.body)).to.equal(201);
      // A new block: the market's facts (steady from the first ask) are read again ahead of the orders.
      await hre.network.provider.send("evm_mine", []);
      let metrics = "";
      for (let i = 0; i < 100; i++) {
        metrics = (await http(running.url, "GET", "/metrics")).body as string;
        if (callsOf(metrics, "eth_call:multicall", "read-ahead") > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Contract reads go out several to an `eth_call` (keeper.ts, `chainClients`).
      expect(callsOf(metrics, "eth_call:multicall", "order"), "the order's reads").to.be.greaterThan(0);
      expect(callsOf(metrics, "eth_getLogs", "sync"), "the block's events").to.be.greaterThan(0);
      expect(callsOf(metrics, "eth_call:multicall", "read-ahead"), "the market read ahead").to.be.greaterThan(0);
      expect(callsOf(metrics, "eth_getBalance", "settlement"), "settlement's keeper balance").to.be.greaterThan(0);
      expect(callsOf(metrics, "eth_chainId", "other"), "the checks at start").to.be.greaterThan(0);
      expect(callsOf(metrics, "eth_getLogs", "order")).to.equal(0);
      expect(callsOf(metrics, "eth_call:multicall", "sync")).to.equal(0);
      expect(entered, "AsyncLocalStorage runs").to.equal(0);
    } finally {
      Object.assign(proto, saved);
      await running.close();
    }
  });
});
