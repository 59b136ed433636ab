/**
 * `crossbook-keeper shard --shard-name a --markets 1,2 [every keeper flag]`: a keeper that runs
 * one shard of the cluster. Its tables live in PostgreSQL schema `shard_<name>` (it connects with
 * `shardDatabaseUrl`), it records its markets in `crossbook_cluster.shards` (refused when another
 * shard owns one of them), and what an account reserves in it is covered by the account's claim
 * in `crossbook_cluster.claims` (`ShardClaims`). Several processes of one shard elect one leader
 * among themselves, as several keepers on one PostgreSQL do. See keeper/README.md, "Shards".
 */
import type { KeeperConfig } from "../config";
import { isPostgresUrl, pgClient } from "../store";
import { MarketOwnedError, registerShard, shardDatabaseUrl } from "./registry";

/** Why the shard cannot start: the message, and the exit code (2: the configuration; 1: the database). */
export class ShardConfigError extends Error {
  override readonly name = "ShardConfigError";
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
  ) {
    super(message);
  }
}

/**
 * The keeper configuration of shard `config.shardName`, once it is registered: the database URL
 * rewritten to the shard's schema. Throws `ShardConfigError` without a name, on a SQLite path, when
 * a market belongs to another shard or its keeper key settles for another shard (exit 2), or when PostgreSQL cannot be reached (exit 1).
 */
export async function shardConfig(config: KeeperConfig): Promise<KeeperConfig> {
  const name = config.shardName;
  if (name === undefined) {
    throw new ShardConfigError("a shard needs its name: --shard-name (or CROSSBOOK_SHARD_NAME)", 2);
  }
  if (!isPostgresUrl(config.databasePath)) {
    throw new ShardConfigError(
      `shard ${name}: --database must be a postgres:// URL (shards share one PostgreSQL), not the SQLite file ${config.databasePath}`,
      2,
    );
  }
  let keeper: string;
  try {
    const { keeperAccount } = await import("../keeper"); // loaded only once the shard's flags are good
    keeper = (await keeperAccount(config)).address;
  } catch (error) {
    throw new ShardConfigError(`shard ${name}: ${(error as Error).message}`, 2);
  }
  const client = pgClient(config.databasePath);
  try {
    await client.connect();
    await registerShard(client, name, config.markets, keeper);
  } catch (error) {
    if (error instanceof MarketOwnedError) throw new ShardConfigError(`shard ${name}: ${error.message}`, 2);
    throw new ShardConfigError(`shard ${name}: cannot register in PostgreSQL: ${(error as Error).message}`, 1);
  } finally {
    await client.end().catch(() => {});
  }
  return { ...config, databasePath: shardDatabaseUrl(config.databasePath, name) };
}
