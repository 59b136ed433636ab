/**
 * `crossbook-keeper`: the keeper command (`npm run keeper -- --help`). Reads the configuration
 * from flags, environment and an optional file, prints every problem at once and exits 2 on a bad
 * one, 1 if the keeper cannot start or dies; stops cleanly (API closed, settlement idle, database
 * closed) on SIGINT or SIGTERM, with exit code 0.
 */
import { readFileSync } from "node:fs";
import { loadConfig, SETTINGS, type KeeperConfig } from "./config";
import { createLogger } from "./log";
// The keeper, the shard and the gateway (the SDK, viem, the API, the store: seconds of loading) are
// imported only once the configuration is good: a bad one is answered at once.

/** The `--help` text, generated from the settings table so that it cannot drift from it. */
export function helpText(): string {
  const lines = [
    "crossbook-keeper — accepts signed orders, matches them, settles the matches on-chain in batches.",
    "",
    "Usage: npm run keeper -- [--config keeper.json] [--flag value ...]",
    "       npm run keeper -- shard --shard-name a --markets 1,2 --database postgres://... [--flag value ...]",
    "         (one shard of a cluster: its own keeper key, its tables in PostgreSQL schema shard_<name>)",
    "       npm run keeper -- gateway --database postgres://... --rpc-url ... --chain-id ... --exchange ... (see gateway --help)",
    "",
    "Every setting comes from a flag, an environment variable or the JSON file (flag > env > file > default).",
    "The keeper key comes only from the environment: CROSSBOOK_KEEPER_KEY, or a keystore file with",
    "CROSSBOOK_KEYSTORE_PASSWORD. See keeper/README.md for what each setting does.",
    "",
  ];
  for (const s of SETTINGS) {
    const flag = s.flag === undefined ? "(environment only)" : `--${s.flag}`;
    const fallback = s.default === undefined ? "" : `  [default ${String(s.default)}]`;
    lines.push(`  ${flag.padEnd(30)} ${s.env.padEnd(36)} ${s.path}${fallback}`);
  }
  lines.push("  --config <path>                CROSSBOOK_CONFIG                     the JSON config file", "");
  return lines.join("\n");
}

/** `crossbook-keeper shard …`: the keeper of one shard (keeper/src/cluster/shard.ts). */
async function forShard(config: KeeperConfig): Promise<KeeperConfig | number> {
  const { shardConfig, ShardConfigError } = await import("./cluster/shard");
  try {
    return await shardConfig(config);
  } catch (error) {
    if (!(error instanceof ShardConfigError)) throw error;
    process.stderr.write(`crossbook-keeper shard: ${error.message}\n`);
    return error.exitCode;
  }
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "gateway") return (await import("./cluster/gateway")).gatewayMain(argv.slice(1));
  if (argv[0] === "shard") return run(argv.slice(1), forShard);
  return run(argv);
}

async function run(
  argv: string[],
  prepare?: (config: KeeperConfig) => Promise<KeeperConfig | number>,
): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(helpText());
    return 0;
  }
  const loaded = loadConfig({ argv, env: process.env, readFile: (p) => readFileSync(p, "utf8") });
  if (!loaded.ok) {
    process.stderr.write(`crossbook-keeper: the configuration has ${loaded.problems.length} problem(s):\n`);
    for (const problem of loaded.problems) process.stderr.write(`  ${problem}\n`);
    process.stderr.write("Run with --help for every setting.\n");
    return 2;
  }
  if (prepare === undefined && loaded.config.shardName !== undefined) {
    process.stderr.write("crossbook-keeper: --shard-name is for `crossbook-keeper shard`\n");
    return 2;
  }
  const config = prepare === undefined ? loaded.config : await prepare(loaded.config);
  if (typeof config === "number") return config;
  const log = createLogger({ level: config.logLevel });
  const { KeeperStartError, runKeeper } = await import("./keeper");
  let keeper;
  try {
    keeper = await runKeeper(config, log);
  } catch (error) {
    const message = error instanceof KeeperStartError ? error.message : String((error as Error).stack ?? error);
    process.stderr.write(`crossbook-keeper: cannot start: ${message}\n`);
    return 1;
  }
  // "listening" once this keeper leads (takes order entry); a follower serves reads at once.
  const listening = () =>
    process.stdout.write(`crossbook-keeper listening on ${keeper.api.url} (keeper ${keeper.account.address})\n`);
  const followingLine = () =>
    process.stdout.write(
      `crossbook-keeper following on ${keeper.api.url} (reads and the feed; order entry at the leader)\n`,
    );
  if (keeper.role.leading) listening();
  else followingLine();
  // A follower that takes the lease leads; a leader that steps down follows (in the same process).
  keeper.role.onChange((state) => (state.role === "leader" ? listening() : followingLine()));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void keeper.stop(0));
  const code = await keeper.done;
  log.flush();
  return code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      // Let stdout and pino's asynchronous destination drain, then exit even if a socket lingers.
      setTimeout(() => process.exit(code), 100).unref();
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`crossbook-keeper: ${String((error as Error).stack ?? error)}\n`);
      process.exit(1);
    },
  );
}
