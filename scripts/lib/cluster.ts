/**
 * A whole keeper cluster as real processes on this machine: an embedded PostgreSQL, a Hardhat node
 * with the local market deployed, N shards (each a leader and a follower, with its own keeper key
 * holding KEEPER_ROLE, its tables in its own schema, its markets in the directory) and M gateways
 * in front (keeper/README.md, "Gateways"). What the cluster tests run, and what `demo --cluster`
 * and `bench:cluster` build on.
 *
 *   const cluster = await startCluster({ dir, shards: [{ name: "a", markets: [1n] }, { name: "b", markets: [2n] }], gateways: 2 });
 *   cluster.gateways[0].url … await cluster.kill(cluster.leaderOf("a")) … await cluster.stop();
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { createPublicClient, createWalletClient, defineChain, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { exchangeAbi } from "@crossbook/sdk";
import { readShards, registerShard } from "../../keeper/src/cluster/registry";
import { KEEPER_ACCOUNT_INDEX, localAccountKey } from "./accounts";
import { startHaKeeper } from "./failover";
import type { Deployment } from "./market";
import { startEmbeddedPostgres, stopEmbeddedPostgres, postgresUrl, type LocalPostgres } from "./postgres";
import { spawnManaged, startLocalMarket, type LocalNode, type ManagedProcess } from "./processes";

/** The local market's two markets, one shard each: shard `a` runs market 1, shard `b` market 2. */
export const ONE_SHARD_PER_LOCAL_MARKET: ClusterOptions["shards"] = [
  { name: "a", markets: [1n] },
  { name: "b", markets: [2n] },
];

export interface ClusterOptions {
  /** Where the deployment file goes. */
  readonly dir: string;
  /** Each shard's name and markets (every market of the deployment should be in one). */
  readonly shards: readonly { readonly name: string; readonly markets: readonly bigint[] }[];
  readonly gateways: number;
  /** Local traders funded (node accounts 2..). Default 4. */
  readonly traders?: number;
  /** Each shard's lease. Default 2,000 ms. */
  readonly leaseMs?: number;
  /** More flags for every shard keeper. */
  readonly shardFlags?: readonly string[];
  /** More flags for every gateway. */
  readonly gatewayFlags?: readonly string[];
  /** Every line a process prints, with its name. */
  readonly echo?: (name: string, line: string) => void;
  /** A follower for each shard's leader (default true). */
  readonly followers?: boolean;
  /** A directory: every shard keeper and gateway writes a V8 CPU profile there when it stops. */
  readonly cpuProfileDir?: string;
  /** More flags for node itself in every shard keeper (e.g. `--perf-basic-prof` for Linux `perf`). */
  readonly shardNodeArgs?: readonly string[];
}

/** One process of the cluster. */
export interface ClusterProcess {
  readonly name: string;
  readonly kind: "shard" | "gateway";
  /** The shard a keeper serves. */
  readonly shard?: string;
  readonly process: ManagedProcess;
  /** Its API's URL once it serves. */
  readonly url: string;
}

export interface LocalCluster {
  readonly postgres: LocalPostgres;
  readonly node: LocalNode;
  readonly deployment: Deployment;
  /** The shared database (the directory's; each shard's schema under it). */
  readonly database: string;
  /** The cluster secret every shard and gateway was started with. */
  readonly secret: string;
  readonly gateways: ClusterProcess[];
  /** Every shard keeper started, leaders and followers, in start order. */
  readonly keepers: ClusterProcess[];
  /** The keeper process that leads `shard` now (by its lease's URL); waits up to `timeoutMs` for one. */
  leaderOf(shard: string, timeoutMs?: number): Promise<ClusterProcess>;
  /** The directory as a gateway reads it. */
  directory(): ReturnType<typeof readShards>;
  /** SIGKILL to one process (a crash); resolves once it has exited. */
  kill(p: ClusterProcess): Promise<void>;
  /** Starts one more gateway. */
  addGateway(): Promise<ClusterProcess>;
  /** Stops every process (SIGTERM, then SIGKILL), then PostgreSQL. */
  stop(): Promise<void>;
}

/** The node account that signs settlement for shard `i`: the local keeper for the first, then 19, 18, … */
function shardKeeperIndex(i: number): number {
  return i === 0 ? KEEPER_ACCOUNT_INDEX : 20 - i;
}

/** Starts the whole cluster; resolves once every shard has a leader and a standby, and every gateway listens. */
export async function startCluster(options: ClusterOptions): Promise<LocalCluster> {
  const postgres = await startEmbeddedPostgres();
  const database = postgresUrl(postgres.port);
  const secret = randomBytes(24).toString("hex");
  const { node, deployment } = await startLocalMarket(options.dir, options.traders ?? 4);
  const admin = new pg.Client({ connectionString: database });
  await admin.connect();
  const echo = (name: string) => (line: string) => options.echo?.(name, line);
  const gateways: ClusterProcess[] = [];
  const keepers: ClusterProcess[] = [];

  await grantKeeperRoles(node.url, deployment, options.shards.length);
  for (const shard of options.shards) await registerShard(admin, shard.name, shard.markets);

  let started = 0;
  const profiled = (name: string) =>
    options.cpuProfileDir === undefined
      ? []
      : ["--cpu-prof", "--cpu-prof-dir", options.cpuProfileDir, "--cpu-prof-name", `${name}.cpuprofile`];
  const startShardKeeper = (shard: string, index: number) => {
    const name = `shard-${shard}-${++started}`;
    const markets = options.shards.find((s) => s.name === shard)?.markets ?? [];
    return startHaKeeper(deployment, {
      rpcUrl: node.url,
      database,
      command: ["shard", "--shard-name", shard],
      nodeArgs: [...profiled(name), ...(options.shardNodeArgs ?? [])],
      name,
      leaseMs: options.leaseMs ?? 2000,
      flags: ["--markets", markets.join(","), ...(options.shardFlags ?? [])],
      echo: echo(name),
      env: {
        CROSSBOOK_KEEPER_KEY: localAccountKey(shardKeeperIndex(index)),
        CROSSBOOK_CLUSTER_SECRET: secret,
      },
    });
  };
  // Each shard's leader first (it takes the free lease), then its follower; the shards in parallel.
  await Promise.all(
    options.shards.map(async (s, i) => {
      const leader = startShardKeeper(s.name, i);
      keepers.push({
        name: leader.name,
        kind: "shard",
        shard: s.name,
        process: leader.process,
        url: await leader.listening,
      });
      if (options.followers === false) return;
      const follower = startShardKeeper(s.name, i);
      await follower.process.waitFor(/role: standby/, 180_000);
      keepers.push({
        name: follower.name,
        kind: "shard",
        shard: s.name,
        process: follower.process,
        url: await follower.serving,
      });
    }),
  );

  let gatewaysStarted = 0;
  const addGateway = async (): Promise<ClusterProcess> => {
    const name = `gateway-${++gatewaysStarted}`;
    const proc = spawnManaged(
      name,
      process.execPath,
      [
        ...["-r", "ts-node/register/transpile-only", ...profiled(name), join("keeper", "src", "cli.ts"), "gateway"],
        ...["--database", database, "--rpc-url", node.url, "--chain-id", String(deployment.chainId)],
        ...["--exchange", deployment.exchange, "--api-port", "0", "--lease-ms", String(options.leaseMs ?? 2000)],
        ...(options.gatewayFlags ?? []),
      ],
      { env: { CROSSBOOK_CLUSTER_SECRET: secret }, echo: echo(name) },
    );
    const line = await proc.waitFor(/gateway listening on /, 120_000);
    const gateway = { name, kind: "gateway" as const, process: proc, url: /listening on (\S+)/.exec(line)?.[1] ?? "" };
    gateways.push(gateway);
    return gateway;
  };
  await Promise.all(Array.from({ length: options.gateways }, () => addGateway()));

  const alive = (p: ClusterProcess) => p.process.child.exitCode === null && p.process.child.signalCode === null;
  return {
    postgres,
    node,
    deployment,
    database,
    secret,
    gateways,
    keepers,
    directory: () => readShards(admin),
    async leaderOf(shard, timeoutMs = 60_000) {
      for (const deadline = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 100))) {
        const url = (await readShards(admin)).find((s) => s.name === shard)?.leaderUrl;
        const leader = keepers.find((k) => k.shard === shard && k.url === url && alive(k));
        if (leader !== undefined) return leader;
        if (Date.now() > deadline) throw new Error(`shard ${shard} has no leader after ${timeoutMs} ms`);
      }
    },
    async kill(p) {
      await p.process.kill();
    },
    addGateway,
    async stop() {
      await Promise.all([...gateways, ...keepers].map((p) => p.process.stop(10_000)));
      await admin.end().catch(() => {});
      await node.process.stop(10_000);
      await stopEmbeddedPostgres(postgres);
    },
  };
}

/** KEEPER_ROLE for every shard's own keeper account (the first shard's, the deployment's keeper, has it). */
async function grantKeeperRoles(rpcUrl: string, deployment: Deployment, shards: number): Promise<void> {
  const chain = defineChain({
    id: deployment.chainId,
    name: "local",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const wallet = createWalletClient({
    account: privateKeyToAccount(localAccountKey(0)),
    chain,
    transport: http(rpcUrl),
  });
  const reader = createPublicClient({ chain, transport: http(rpcUrl) });
  const role = await reader.readContract({
    address: deployment.exchange,
    abi: exchangeAbi,
    functionName: "KEEPER_ROLE",
  });
  for (let i = 1; i < shards; i++) {
    const keeper = privateKeyToAccount(localAccountKey(shardKeeperIndex(i))).address;
    const hash = await wallet.writeContract({
      address: deployment.exchange,
      abi: exchangeAbi,
      functionName: "grantRole",
      args: [role, keeper],
    });
    await reader.waitForTransactionReceipt({ hash });
  }
}
