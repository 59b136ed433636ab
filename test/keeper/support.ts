/**
 * What the keeper's tests share: a database file in a temporary directory (removed when the test
 * process exits), an engine over it that reads the in-process Hardhat network, and the API over
 * that engine on a free loopback port — the pieces `keeper/src/keeper.ts` assembles for real.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address } from "viem";
import type { ExchangeDomainParameters } from "@crossbook/sdk";
import { startApi, type ApiOptions, type RunningApi } from "../../keeper/src/api";
import { Engine, type EngineOptions } from "../../keeper/src/engine";
import { readRiskContext } from "../../keeper/src/risk";
import type { Store } from "../../keeper/src/store";
import { publicClient } from "../sdk/support";

const directories: string[] = [];
process.on("exit", () => {
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
});

/** The path of a keeper database in a new temporary directory (the file does not exist yet). */
export function tempDatabase(prefix = "crossbook-keeper-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  directories.push(dir);
  return join(dir, "keeper.db");
}

/** An engine over `store`, whose risk check reads the Exchange at `exchange` on the in-process network. */
export function openEngine(
  store: Store,
  chain: { exchange: Address; domain: ExchangeDomainParameters; markets?: readonly bigint[] },
  options: Partial<EngineOptions> = {},
): Promise<Engine> {
  return Engine.open({
    store,
    markets: chain.markets ?? [1n],
    domain: chain.domain,
    readRiskContext: (signed, state) => readRiskContext(publicClient, chain.exchange, signed, state),
    ...options,
  });
}

/** The keeper's API over `engine` and `store` on 127.0.0.1 (`port` 0 by default: any free port). */
export function serveApi(
  engine: Engine,
  store: Store,
  chain: { exchange: Address; domain: ExchangeDomainParameters },
  options: Partial<ApiOptions> = {},
): Promise<RunningApi> {
  return startApi({
    engine,
    store,
    domain: chain.domain,
    chain: { client: publicClient, exchange: chain.exchange },
    host: "127.0.0.1",
    port: 0,
    ...options,
  });
}
