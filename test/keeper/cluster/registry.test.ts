import { expect } from "chai";
import pg from "pg";
import {
  MarketOwnedError,
  readShards,
  registerShard,
  shardDatabaseUrl,
  ensureShardSchema,
} from "../../../keeper/src/cluster/registry";
import { LeaseConnection, tryAcquire } from "../../../keeper/src/leader";
import { pgClient, Store } from "../../../keeper/src/store";
import { freshDatabase } from "../../helpers/postgres";

describe("cluster directory: shards in their own schemas of one PostgreSQL", function () {
  this.timeout(60_000);
  let url: string;
  let admin: pg.Client;

  before(async () => {
    url = await freshDatabase();
    admin = pgClient(url);
    await admin.connect();
  });
  after(async () => admin?.end());

  it("keeps each shard's tables and lease apart, and names each shard's leader", async () => {
    for (const name of ["a", "b"]) await ensureShardSchema(admin, name);
    const stores = await Promise.all(["a", "b"].map((n) => Store.connect(shardDatabaseUrl(url, n))));
    try {
      const tables = await admin.query(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'orders' ORDER BY table_schema",
      );
      expect(tables.rows.map((r) => r.table_schema)).to.deep.equal(["shard_a", "shard_b"]);

      await registerShard(admin, "a", [1n, 2n]);
      await registerShard(admin, "b", [3n]);
      expect(await readShards(admin)).to.deep.equal([
        { name: "a", markets: [1n, 2n] },
        { name: "b", markets: [3n] },
      ]);

      const leaseA = new LeaseConnection(() => pgClient(shardDatabaseUrl(url, "a")), 2_000);
      try {
        const won = await tryAcquire(leaseA, "keeper-a", "http://127.0.0.1:1001", 60_000);
        expect(won?.term).to.equal(1);
        // Shard b's lease is its own: taking a's leaves b leaderless.
        const shards = await readShards(admin);
        expect(shards[0]).to.deep.include({ name: "a", leaderUrl: "http://127.0.0.1:1001", term: 1 });
        expect(shards[1]).to.not.have.property("leaderUrl");
      } finally {
        await leaseA.end();
      }
    } finally {
      for (const s of stores) await s.shutdown();
    }
  });

  it("refuses a market that another shard already owns, changing nothing", async () => {
    await registerShard(admin, "c", [7n]);
    await registerShard(admin, "c", [7n, 8n]); // a shard may change its own markets
    const error = await registerShard(admin, "d", [9n, 8n]).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(MarketOwnedError);
    expect((error as Error).message).to.equal("market 8 already belongs to shard c");
    const names = (await readShards(admin)).map((s) => s.name);
    expect(names).to.include("c").and.not.include("d");
  });

  it("refuses a keeper key that settles for another shard; a shard's own processes share its key", async () => {
    const key = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    await registerShard(admin, "e", [11n], key);
    await registerShard(admin, "e", [11n], key.toLowerCase()); // the shard's follower, the same key
    const error = await registerShard(admin, "f", [12n], key).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(MarketOwnedError);
    expect((error as Error).message).to.equal(
      `keeper key ${key} already settles for shard e: each shard needs a key of its own (its own nonces)`,
    );
    expect((await readShards(admin)).map((s) => s.name)).to.not.include("f");
    await registerShard(admin, "f", [12n], "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
  });

  it("refuses a shard name that is not a safe schema name", async () => {
    expect(() => shardDatabaseUrl(url, "a; DROP TABLE orders")).to.throw(/shard name/);
  });
});
