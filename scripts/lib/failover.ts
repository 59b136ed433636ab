/**
 * Two (or more) keeper CLIs on one PostgreSQL, as real processes: what the failover test, `npm run
 * bench:failover` and the HA demo share. A keeper started here either leads (it prints
 * `crossbook-keeper listening on …`) or waits as a standby (it logs `role: standby`) until the
 * lease is free; `orderEntryBack` measures how long after a kill order entry answers again.
 */
import { join } from "node:path";
import type { PrivateKeyAccount } from "viem/accounts";
import { createKeeperClient, signOrder, type KeeperClient, type Order } from "@crossbook/sdk";
import { KEEPER_ACCOUNT_INDEX, localAccountKey } from "./accounts";
import type { Deployment } from "./market";
import { spawnManaged, type ManagedProcess } from "./processes";

export interface HaKeeper {
  readonly name: string;
  readonly process: ManagedProcess;
  /** Resolves with the API's URL once this keeper leads and listens. */
  readonly listening: Promise<string>;
  /** Resolves with the API's URL once it serves, as the leader or as a follower (reads and the feed). */
  readonly serving: Promise<string>;
}

/** Starts a keeper CLI on `database` (a `postgres://` URL) with the local keeper key; it leads or waits. */
export function startHaKeeper(
  deployment: Pick<Deployment, "chainId" | "exchange" | "markets" | "deployBlock">,
  options: {
    rpcUrl: string;
    database: string;
    name: string;
    leaseMs?: number;
    flags?: readonly string[];
    /** Sees every line the keeper prints, as it prints it. */
    echo?: (line: string) => void;
    /** More environment (a shard's own keeper key, the cluster secret). */
    env?: NodeJS.ProcessEnv;
    /** A subcommand and its own flags before the keeper's (`shard --shard-name a`). */
    command?: readonly string[];
    /** Flags for node itself (`--cpu-prof`, …). */
    nodeArgs?: readonly string[];
  },
): HaKeeper {
  const flags = [
    ...["--rpc-url", options.rpcUrl, "--chain-id", String(deployment.chainId), "--exchange", deployment.exchange],
    ...["--markets", deployment.markets.map((m) => m.id).join(","), "--start-block", String(deployment.deployBlock)],
    ...["--database", options.database, "--api-port", "0", "--lease-ms", String(options.leaseMs ?? 2000)],
    ...(options.flags ?? []),
  ];
  const proc = spawnManaged(
    options.name,
    process.execPath,
    [
      ...["-r", "ts-node/register/transpile-only", ...(options.nodeArgs ?? []), join("keeper", "src", "cli.ts")],
      ...(options.command ?? []),
      ...flags,
    ],
    { env: { CROSSBOOK_KEEPER_KEY: localAccountKey(KEEPER_ACCOUNT_INDEX), ...options.env }, echo: options.echo },
  );
  const listening = proc
    .waitFor(/crossbook-keeper listening on /, 3_600_000)
    .then((line) => /listening on (\S+)/.exec(line)?.[1] ?? "");
  listening.catch(() => {}); // a standby killed before it leads never listens
  const serving = proc
    .waitFor(/crossbook-keeper (listening|following) on /, 3_600_000)
    .then((line) => / on (\S+)/.exec(line)?.[1] ?? "");
  serving.catch(() => {});
  return { name: options.name, process: proc, listening, serving };
}

let nonce = BigInt(Date.now()) * 1000n;

/** An order of `trader` in the first market with a fresh nonce (5 lots, an hour to live, unless `fields` say). */
export function localOrder(
  deployment: Pick<Deployment, "markets">,
  trader: PrivateKeyAccount,
  fields: Partial<Order> & Pick<Order, "isBuy" | "priceTicks">,
): Order {
  return {
    maker: trader.address,
    marketId: deployment.markets[0].id,
    flags: 0n,
    maxFeeBps: 10n,
    expiry: BigInt(Math.floor(Date.now() / 1000) + 3600),
    nonce: nonce++,
    lots: 5n,
    ...fields,
  };
}

/** Signs and submits an order of `trader` in the first market (5 lots, an hour to live, unless `fields` say). */
export async function submitOrder(
  keeper: KeeperClient,
  deployment: Pick<Deployment, "chainId" | "exchange" | "markets">,
  trader: PrivateKeyAccount,
  fields: Partial<Order> & Pick<Order, "isBuy" | "priceTicks">,
) {
  const order = localOrder(deployment, trader, fields);
  const domain = { chainId: deployment.chainId, verifyingContract: deployment.exchange };
  return keeper.submitOrder({ order, signature: await signOrder({ signer: trader, order, domain }) });
}

export function keeperClient(url: string, deployment: Pick<Deployment, "chainId" | "exchange">): KeeperClient {
  return createKeeperClient({ url, domain: { chainId: deployment.chainId, verifyingContract: deployment.exchange } });
}

/**
 * After the leader was killed at `killedAt` (ms): waits for `standby` to lead, then submits an
 * order until one is answered. Returns the time from the kill to that answer, and the new URL.
 */
export async function orderEntryBack(
  standby: HaKeeper,
  deployment: Pick<Deployment, "chainId" | "exchange" | "markets">,
  trader: PrivateKeyAccount,
  priceTicks: bigint,
  killedAt: number,
): Promise<{ ms: number; url: string; hash: `0x${string}` }> {
  const url = await standby.listening;
  const keeper = keeperClient(url, deployment);
  for (;;) {
    try {
      const placed = await submitOrder(keeper, deployment, trader, { isBuy: false, priceTicks });
      return { ms: Date.now() - killedAt, url, hash: placed.hash };
    } catch (error) {
      const code = standby.process.child.exitCode;
      if (code !== null) {
        // Why it went is in its own lines: the caller's failure shows them, not just the refused connection.
        const last = standby.process.output().trim().split("\n").slice(-15).join("\n  ");
        throw new Error(`${standby.name} exited (${code}) before it answered an order; its last lines:\n  ${last}`, {
          cause: error,
        });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
