/**
 * The cluster's directory, in the shared PostgreSQL: which shards exist, which markets each owns,
 * and where each shard's leader listens. Gateways read it to route; shards write their own row.
 *
 * - A shard named `a` keeps every table of its own (orders, fills, batches, its `leader_lease`) in
 *   the PostgreSQL schema `shard_a`: its keepers connect with `search_path` set to that schema
 *   (`shardDatabaseUrl`), so the single-keeper store, migrations and election run unchanged, one
 *   copy per shard, and no shard can read or fence another's rows by accident.
 * - `crossbook_cluster.shards` holds one row per shard: its name, its markets and the address of
 *   its keeper key. A market belongs to at most one shard, and a keeper key to at most one shard
 *   (`registerShard` refuses a second owner of either: two shards sending from one address would
 *   race for its nonces and replace each other's settlement transactions).
 * - A shard's leader is its lease row (`shard_<name>.leader_lease`): a gateway routes to the URL of
 *   a lease that has not expired, and asks again when that URL refuses (`NOT_LEADER`) or is gone.
 */
import type pg from "pg";

/** A shard's name: lower-case letters, digits and `_`, 1–32 characters (it becomes a schema name). */
export const SHARD_NAME = /^[a-z0-9_]{1,32}$/;

export function checkShardName(name: string): string {
  if (!SHARD_NAME.test(name)) {
    throw new Error(`shard name ${JSON.stringify(name)}: expected 1-32 of a-z, 0-9 and _`);
  }
  return name;
}

/** The PostgreSQL schema that holds shard `name`'s tables. */
export function shardSchema(name: string): string {
  return `shard_${checkShardName(name)}`;
}

/** `url` with `search_path` set to shard `name`'s schema: what the shard's keepers connect with. */
export function shardDatabaseUrl(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set("options", `-c search_path=${shardSchema(name)}`);
  return parsed.toString();
}

/** Creates the directory and shard `name`'s schema if they are missing (idempotent, safe to race). */
export async function ensureShardSchema(client: pg.Client, name: string): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(7246874)"); // "cb" cluster directory: until COMMIT
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${shardSchema(name)}`);
    await client.query("CREATE SCHEMA IF NOT EXISTS crossbook_cluster");
    await client.query(
      `CREATE TABLE IF NOT EXISTS crossbook_cluster.shards (
         name        TEXT PRIMARY KEY,
         markets     TEXT[] NOT NULL,
         updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
       )`,
    );
    await client.query("ALTER TABLE crossbook_cluster.shards ADD COLUMN IF NOT EXISTS keeper TEXT");
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** Thrown when a market, or the keeper key, is already another shard's. */
export class MarketOwnedError extends Error {
  override readonly name = "MarketOwnedError";
}

/**
 * Records that shard `name` owns `markets` (replacing what it owned before) and settles with the
 * keeper key of address `keeper` (when given). Refuses, changing nothing, when another shard owns
 * one of the markets (two shards matching one market would each keep a book of it) or settles
 * with the same key (the two would race for its nonces).
 */
export async function registerShard(
  client: pg.Client,
  name: string,
  markets: readonly bigint[],
  keeper?: string,
): Promise<void> {
  await ensureShardSchema(client, name);
  const ids = markets.map(String);
  await client.query("BEGIN");
  try {
    await client.query("LOCK TABLE crossbook_cluster.shards IN SHARE ROW EXCLUSIVE MODE");
    const clash = await client.query(
      "SELECT name, markets FROM crossbook_cluster.shards WHERE name <> $1 AND markets && $2::text[]",
      [name, ids],
    );
    if (clash.rows.length > 0) {
      const owner = clash.rows[0] as { name: string; markets: string[] };
      const both = ids.filter((m) => owner.markets.includes(m));
      throw new MarketOwnedError(`market ${both.join(", ")} already belongs to shard ${owner.name}`);
    }
    const account = keeper?.toLowerCase() ?? null;
    if (account !== null) {
      const sameKey = await client.query("SELECT name FROM crossbook_cluster.shards WHERE name <> $1 AND keeper = $2", [
        name,
        account,
      ]);
      if (sameKey.rows.length > 0) {
        const other = (sameKey.rows[0] as { name: string }).name;
        throw new MarketOwnedError(
          `keeper key ${keeper} already settles for shard ${other}: each shard needs a key of its own (its own nonces)`,
        );
      }
    }
    await client.query(
      `INSERT INTO crossbook_cluster.shards (name, markets, keeper) VALUES ($1, $2::text[], $3)
       ON CONFLICT (name) DO UPDATE SET markets = excluded.markets, keeper = COALESCE(excluded.keeper, shards.keeper), updated_at = now()`,
      [name, ids, account],
    );
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** A shard as a gateway sees it: its markets, and its leader's URL while its lease holds. */
export interface ShardEntry {
  readonly name: string;
  readonly markets: readonly bigint[];
  /** The leader's API URL; absent while no lease holds (an election in progress). */
  readonly leaderUrl?: string;
  readonly term?: number;
}

/** Every registered shard with its current leader (one query per shard; a gateway caches the answer). */
export async function readShards(client: pg.Client): Promise<ShardEntry[]> {
  const exists = await client.query("SELECT to_regclass('crossbook_cluster.shards') AS t");
  if (exists.rows[0].t === null) return [];
  const rows = (await client.query("SELECT name, markets FROM crossbook_cluster.shards ORDER BY name")).rows as {
    name: string;
    markets: string[];
  }[];
  const entries: ShardEntry[] = [];
  for (const row of rows) {
    const schema = shardSchema(row.name);
    const lease = await client
      .query(`SELECT l.url, l.term FROM ${schema}.leader_lease l WHERE l.id = 1 AND l.expires_at > now()`)
      .catch((error: { code?: string }) => {
        if (error.code === "42P01") return { rows: [] }; // the shard registered, its first keeper not yet migrated
        throw error;
      });
    const leader = lease.rows[0] as { url: string; term: string | number } | undefined;
    entries.push({
      name: row.name,
      markets: row.markets.map((m) => BigInt(m)),
      ...(leader === undefined ? {} : { leaderUrl: leader.url, term: Number(leader.term) }),
    });
  }
  return entries;
}
