/**
 * `crossbook-keeper shard`'s configuration: the real command (a child process) for the exit codes
 * and messages an operator sees, and `shardConfig` against a real PostgreSQL for what it records.
 * And `crossbook-keeper gateway`'s command line: its help, and what it refuses before starting.
 */
import { spawn } from "node:child_process";
import { expect } from "chai";
import { shardConfig, ShardConfigError } from "../../../keeper/src/cluster/shard";
import { readShards, registerShard } from "../../../keeper/src/cluster/registry";
import { loadConfig, type KeeperConfig } from "../../../keeper/src/config";
import { pgClient } from "../../../keeper/src/store";
import { freshDatabase } from "../../helpers/postgres";
import { tempDatabase } from "../support";

const ENV = {
  CROSSBOOK_RPC_URL: "http://127.0.0.1:1",
  CROSSBOOK_CHAIN_ID: "31337",
  CROSSBOOK_EXCHANGE: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
  CROSSBOOK_KEEPER_KEY: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
};

/** Runs `crossbook-keeper …args`: its exit code and what it wrote to stderr. */
function keeperCommand(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "keeper/src/cli.ts", ...args], {
      env: { ...process.env, ...ENV, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function configOf(argv: readonly string[]): KeeperConfig {
  const loaded = loadConfig({ argv: [...argv], env: ENV, readFile: () => "{}" });
  if (!loaded.ok) throw new Error(loaded.problems.join("; "));
  return loaded.config;
}

describe("crossbook-keeper shard: its configuration", function () {
  this.timeout(600_000); // each case starts keeper processes: slow on a loaded machine
  let url: string;

  before(async () => {
    url = await freshDatabase();
  });

  it("exits 2 on a SQLite path, a bad name, a market another shard owns; 2 for --shard-name without `shard`", async () => {
    const sqlite = await keeperCommand(["shard", "--shard-name", "a", "--markets", "1", "--database", tempDatabase()]);
    expect(sqlite.code, sqlite.stderr).to.equal(2);
    expect(sqlite.stderr).to.match(/shard a: --database must be a postgres:\/\/ URL .*not the SQLite file/);

    const badName = await keeperCommand(["shard", "--shard-name", "A-1", "--markets", "1", "--database", url]);
    expect(badName.code, badName.stderr).to.equal(2);
    expect(badName.stderr).to.include('got "A-1" from flag --shard-name; expected a shard name');

    const unnamed = await keeperCommand(["shard", "--markets", "1", "--database", url]);
    expect(unnamed.code, unnamed.stderr).to.equal(2);
    expect(unnamed.stderr).to.include("a shard needs its name: --shard-name");

    const admin = pgClient(url);
    await admin.connect();
    try {
      await registerShard(admin, "b", [2n]);
    } finally {
      await admin.end();
    }
    const owned = await keeperCommand(["shard", "--shard-name", "a", "--markets", "1,2", "--database", url]);
    expect(owned.code, owned.stderr).to.equal(2);
    expect(owned.stderr).to.include("shard a: market 2 already belongs to shard b");

    const plain = await keeperCommand(["--shard-name", "a", "--markets", "1", "--database", url]);
    expect(plain.code, plain.stderr).to.equal(2);
    expect(plain.stderr).to.include("--shard-name is for `crossbook-keeper shard`");
  });

  it("registers the shard's markets and points the keeper at the shard's schema", async () => {
    const config = await shardConfig(configOf(["--shard-name", "c", "--markets", "3,4", "--database", url]));
    expect(new URL(config.databasePath).searchParams.get("options")).to.equal("-c search_path=shard_c");
    expect(config.markets).to.deep.equal([3n, 4n]);
    const admin = pgClient(url);
    await admin.connect();
    try {
      expect((await readShards(admin)).find((s) => s.name === "c")).to.deep.equal({ name: "c", markets: [3n, 4n] });
    } finally {
      await admin.end();
    }
    const error = await shardConfig(configOf(["--shard-name", "d", "--markets", "4", "--database", url])).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ShardConfigError);
    expect(error).to.deep.include({ exitCode: 2, message: "shard d: market 4 already belongs to shard c" });
  });

  it("exits 2 when its keeper key already settles for another shard", async () => {
    // Shard c (above) registered with this key; shard e on a free market must not reuse it.
    const sameKey = await keeperCommand(["shard", "--shard-name", "e", "--markets", "5", "--database", url]);
    expect(sameKey.code, sameKey.stderr).to.equal(2);
    expect(sameKey.stderr).to.include(
      "shard e: keeper key 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 already settles for shard c: each shard needs a key of its own",
    );
  });
});

describe("crossbook-keeper gateway: its command line", function () {
  this.timeout(600_000); // each case starts keeper processes: slow on a loaded machine

  it("prints its settings on --help, and exits 2 naming a flag it does not take, a SQLite path and a missing secret", async () => {
    const help = await keeperCommand(["gateway", "--help"]);
    expect(help.code).to.equal(0);
    for (const line of ["--database", "--rpc-url", "--api-port", "CROSSBOOK_CLUSTER_SECRET"]) {
      expect(help.stdout).to.include(line);
    }
    const wrong = await keeperCommand(["gateway", "--markets", "1", "--database", tempDatabase()], {
      CROSSBOOK_CLUSTER_SECRET: "",
    });
    expect(wrong.code).to.equal(2);
    expect(wrong.stderr).to.include("--markets: not a gateway flag");
    expect(wrong.stderr).to.include("databasePath: expected a postgres:// URL");
    expect(wrong.stderr).to.include("CROSSBOOK_CLUSTER_SECRET (environment only): required");
  });

  it("exits 1 with one line when PostgreSQL cannot be reached", async () => {
    const down = await keeperCommand(["gateway", "--database", "postgres://crossbook:x@127.0.0.1:1/none"], {
      CROSSBOOK_CLUSTER_SECRET: "a-cluster-secret-of-16+",
    });
    expect(down.code).to.equal(1);
    expect(down.stderr).to.match(/^crossbook-keeper gateway: cannot start: /);
  });
});
