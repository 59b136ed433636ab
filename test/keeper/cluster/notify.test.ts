/**
 * Each schema's leader notifies its own channel: a follower of shard a (which LISTENs on its store's
 * `channel`, keeper.ts `followLeader`) is not woken by shard b's commits, nor by a single keeper's.
 */
import { expect } from "chai";
import type pg from "pg";
import { ensureShardSchema, shardDatabaseUrl } from "../../../keeper/src/cluster/registry";
import { pgClient, PostgresDatabase, Store } from "../../../keeper/src/store";
import { freshDatabase } from "../../helpers/postgres";

describe("cluster: one LISTEN/NOTIFY channel per schema", function () {
  this.timeout(60_000);

  it("wakes shard a's followers on shard a's commits only", async () => {
    const url = await freshDatabase();
    const admin = pgClient(url);
    await admin.connect();
    for (const name of ["a", "b"]) await ensureShardSchema(admin, name);
    await admin.end();
    const [a, b, single] = await Promise.all([
      Store.connect(shardDatabaseUrl(url, "a")),
      Store.connect(shardDatabaseUrl(url, "b")),
      Store.connect(url),
    ]);
    const channelOf = (s: Store) => (s.database as PostgresDatabase).channel;
    expect([channelOf(a), channelOf(b), channelOf(single)]).to.deep.equal([
      '"crossbook_changes_shard_a"',
      '"crossbook_changes_shard_b"',
      '"crossbook_changes"',
    ]);
    const listener = pgClient(shardDatabaseUrl(url, "a"));
    await listener.connect();
    const heard: string[] = [];
    listener.on("notification", (n: pg.Notification) => heard.push(n.channel));
    await listener.query(`LISTEN ${channelOf(a)}`);
    try {
      // Commits of shard b and of the single keeper, then one of shard a (each durable in PostgreSQL).
      for (const [i, store] of [b, single, b, a].entries()) {
        store.setLastReconciledBlock(BigInt(i + 1));
        await store.durable();
      }
      // Notifications arrive in commit order on a session: once a's is heard, b's would have been.
      for (let waited = 0; !heard.includes("crossbook_changes_shard_a") && waited < 10_000; waited += 20) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(heard).to.deep.equal(["crossbook_changes_shard_a"]);
    } finally {
      await listener.end();
      for (const s of [a, b, single]) await s.shutdown();
    }
  });
});
