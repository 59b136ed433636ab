import { expect } from "chai";
import { loadConfig, type LoadConfigParameters, type KeeperConfig } from "../../../keeper/src/config";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const EXCHANGE = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const EXCHANGE_CHECKSUMMED = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

/** The smallest valid environment. */
const baseEnv = {
  CROSSBOOK_RPC_URL: "http://127.0.0.1:8545",
  CROSSBOOK_CHAIN_ID: "31337",
  CROSSBOOK_EXCHANGE: EXCHANGE,
  CROSSBOOK_KEEPER_KEY: KEY,
  CROSSBOOK_MARKETS: "1",
};

function noFile(path: string): string {
  throw new Error(`ENOENT: no such file, open '${path}'`);
}

function load(p: Partial<LoadConfigParameters>) {
  return loadConfig({ argv: [], env: {}, readFile: noFile, ...p });
}

function config(p: Partial<LoadConfigParameters>): KeeperConfig {
  const r = load(p);
  if (!r.ok) throw new Error(`expected a config, got problems:\n${r.problems.join("\n")}`);
  return r.config;
}

function problems(p: Partial<LoadConfigParameters>): readonly string[] {
  const r = load(p);
  if (r.ok) throw new Error("expected problems, got a config");
  return r.problems;
}

describe("keeper config", () => {
  describe("valid configurations", () => {
    it("loads from the environment alone, with every default", () => {
      expect(config({ env: baseEnv })).to.deep.equal({
        rpcUrl: "http://127.0.0.1:8545",
        chainId: 31337,
        exchange: EXCHANGE_CHECKSUMMED,
        key: { kind: "env", privateKey: KEY },
        databasePath: "./crossbook-keeper.db",
        leaseMs: 2000,
        markets: [1n],
        claimHeadroomPercent: 50,
        batch: { maxFills: 50, maxGas: 10_000_000n, maxWaitMs: 2000 },
        fees: { maxFeePerGas: 200_000_000_000n, maxPriorityFeePerGas: 2_000_000_000n, replacementBumpPercent: 15 },
        confirmations: 2,
        settlement: {
          replaceAfterBlocks: 3,
          gasHeadroomPercent: 25,
          maxPendingFills: 10_000,
          maxPendingFillsPerAccount: 1_000,
          dropAfterBlocks: 12,
          minKeeperBalance: 50_000_000_000_000_000n,
          horizonSeconds: 10,
          takerCooldownSeconds: 300,
        },
        api: {
          host: "127.0.0.1",
          port: 8080,
          trustProxy: [],
          sessionTtlSeconds: 3600,
          perAccountPerSecond: 500,
          maxBatchActions: 20,
          maxHttpConnectionsPerIp: 64,
          acceptors: 16,
          feedFlushGapMs: 5,
        },
        minimums: new Map(),
        maxStaleBlocks: 3,
        startBlock: 0n,
        pollIntervalMs: 1000,
        maxOpenOrdersPerAccount: 1000,
        maxStrangerReads: 4,
        readAheadAccounts: 256,
        logLevel: "info",
      });
    });

    it("loads every setting from a JSON file named by --config, numbers or decimal strings", () => {
      const file = {
        rpcUrl: "https://rpc.example.org",
        chainId: 8453,
        exchange: EXCHANGE,
        keystorePath: "/secrets/keeper.json",
        databasePath: "/var/lib/keeper.db",
        leaseMs: "5000",
        markets: [3, "1"],
        claimHeadroomPercent: "20",
        batch: { maxFills: 10, maxGas: "30000000", maxWaitMs: 500 },
        fees: { maxFeePerGas: "100000000000", maxPriorityFeePerGas: 1000000000, replacementBumpPercent: 25 },
        confirmations: 5,
        settlement: {
          replaceAfterBlocks: 6,
          gasHeadroomPercent: "40",
          maxPendingFills: 500,
          maxPendingFillsPerAccount: "20",
          dropAfterBlocks: 30,
          minKeeperBalance: "1000000000000000000",
          horizonSeconds: 20,
          takerCooldownSeconds: "0",
        },
        api: {
          host: "0.0.0.0",
          port: 9000,
          trustProxy: ["10.0.0.0/8", "::1"],
          sessionTtlSeconds: 600,
          perAccountPerSecond: 500,
          maxBatchActions: 20,
          maxHttpConnectionsPerIp: 64,
          acceptors: "4",
          feedFlushGapMs: "20",
        },
        minimums: { lots: { "1": 10 }, notional: { "3": "1000000" } },
        maxStaleBlocks: 5,
        startBlock: "1234",
        pollIntervalMs: 250,
        maxOpenOrdersPerAccount: 50,
        maxStrangerReads: "16",
        readAheadAccounts: "32",
        logLevel: "debug",
      };
      const c = config({
        argv: ["--config", "keeper.json"],
        env: { CROSSBOOK_KEYSTORE_PASSWORD: "hunter2" },
        readFile: (p) => (p === "keeper.json" ? JSON.stringify(file) : noFile(p)),
      });
      expect(c).to.deep.equal({
        rpcUrl: "https://rpc.example.org",
        chainId: 8453,
        exchange: EXCHANGE_CHECKSUMMED,
        key: { kind: "keystore", path: "/secrets/keeper.json", password: "hunter2" },
        databasePath: "/var/lib/keeper.db",
        leaseMs: 5000,
        markets: [1n, 3n],
        claimHeadroomPercent: 20,
        batch: { maxFills: 10, maxGas: 30_000_000n, maxWaitMs: 500 },
        fees: { maxFeePerGas: 100_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, replacementBumpPercent: 25 },
        confirmations: 5,
        settlement: {
          replaceAfterBlocks: 6,
          gasHeadroomPercent: 40,
          maxPendingFills: 500,
          maxPendingFillsPerAccount: 20,
          dropAfterBlocks: 30,
          minKeeperBalance: 10n ** 18n,
          horizonSeconds: 20,
          takerCooldownSeconds: 0,
        },
        api: {
          host: "0.0.0.0",
          port: 9000,
          trustProxy: ["10.0.0.0/8", "::1"],
          sessionTtlSeconds: 600,
          perAccountPerSecond: 500,
          maxBatchActions: 20,
          maxHttpConnectionsPerIp: 64,
          acceptors: 4,
          feedFlushGapMs: 20,
        },
        minimums: new Map([
          [1n, { lots: 10n, notional: 0n }],
          [3n, { lots: 0n, notional: 1_000_000n }],
        ]),
        maxStaleBlocks: 5,
        startBlock: 1234n,
        pollIntervalMs: 250,
        maxOpenOrdersPerAccount: 50,
        maxStrangerReads: 16,
        readAheadAccounts: 32,
        logLevel: "debug",
      });
    });

    it("finds the file through CROSSBOOK_CONFIG too", () => {
      const c = config({
        env: { CROSSBOOK_CONFIG: "k.json", CROSSBOOK_KEEPER_KEY: KEY },
        readFile: () => JSON.stringify({ rpcUrl: "ws://node:8546", chainId: 1, exchange: EXCHANGE, markets: [2] }),
      });
      expect(c.rpcUrl).to.equal("ws://node:8546");
      expect(c.markets).to.deep.equal([2n]);
    });

    it("takes every flag, in both --name value and --name=value forms", () => {
      const c = config({
        env: { CROSSBOOK_KEEPER_KEY: KEY },
        argv: [
          "--rpc-url=http://localhost:8545",
          "--chain-id",
          "31337",
          "--exchange",
          EXCHANGE,
          "--database",
          "/tmp/k.db",
          "--markets",
          "2, 1",
          "--batch-max-fills",
          "7",
          "--batch-max-gas",
          "5000000",
          "--batch-max-wait-ms",
          "0",
          "--max-fee-per-gas",
          "50000000000",
          "--max-priority-fee-per-gas",
          "1",
          "--fee-bump-percent",
          "10",
          "--confirmations",
          "0",
          "--replace-after-blocks=10",
          "--gas-headroom-percent",
          "0",
          "--claim-headroom-percent",
          "0",
          "--api-host",
          "localhost",
          "--api-port",
          "3000",
          "--api-trust-proxy",
          "127.0.0.1, 192.168.0.0/16",
          "--session-ttl-seconds",
          "120",
          "--per-account-per-second",
          "50",
          "--max-batch-actions=10",
          "--max-http-connections-per-ip",
          "1000",
          "--api-acceptors=2",
          "--feed-flush-gap-ms=0",
          "--min-lots",
          "1:5,2:10",
          "--min-notional=2:7000",
          "--max-pending-fills",
          "100",
          "--max-pending-fills-per-account",
          "10",
          "--drop-after-blocks",
          "6",
          "--min-keeper-balance",
          "0",
          "--settlement-horizon-seconds=5",
          "--taker-cooldown-seconds",
          "60",
          "--max-stale-blocks",
          "4",
          "--max-stranger-reads",
          "0",
          "--read-ahead-accounts",
          "0",
        ],
      });
      expect(c).to.deep.include({
        chainId: 31337,
        databasePath: "/tmp/k.db",
        markets: [1n, 2n],
        confirmations: 0,
        claimHeadroomPercent: 0,
        maxStrangerReads: 0,
        readAheadAccounts: 0,
      });
      expect(c.batch).to.deep.equal({ maxFills: 7, maxGas: 5_000_000n, maxWaitMs: 0 });
      expect(c.fees).to.deep.equal({
        maxFeePerGas: 50_000_000_000n,
        maxPriorityFeePerGas: 1n,
        replacementBumpPercent: 10,
      });
      expect(c.api).to.deep.equal({
        host: "localhost",
        port: 3000,
        trustProxy: ["127.0.0.1", "192.168.0.0/16"],
        sessionTtlSeconds: 120,
        perAccountPerSecond: 50,
        maxBatchActions: 10,
        maxHttpConnectionsPerIp: 1000,
        acceptors: 2,
        feedFlushGapMs: 0,
      });
      expect(c.settlement).to.deep.equal({
        replaceAfterBlocks: 10,
        gasHeadroomPercent: 0,
        maxPendingFills: 100,
        maxPendingFillsPerAccount: 10,
        dropAfterBlocks: 6,
        minKeeperBalance: 0n,
        horizonSeconds: 5,
        takerCooldownSeconds: 60,
      });
      expect(c.minimums).to.deep.equal(
        new Map([
          [1n, { lots: 5n, notional: 0n }],
          [2n, { lots: 10n, notional: 7000n }],
        ]),
      );
      expect(c.maxStaleBlocks).to.equal(4);
    });

    it("refuses a minimum for a market it does not serve, a bad proxy and a bad minimum", () => {
      const ps = problems({
        env: baseEnv,
        argv: ["--min-lots", "9:5", "--api-trust-proxy", "not-an-ip", "--min-notional", "1:x"],
      });
      expect(ps).to.have.length(3);
      expect(ps.join("\n")).to.match(/api\.trustProxy: got "not-an-ip"/);
      expect(ps.join("\n")).to.match(/minimums\.notional: got "1:x"/);
      expect(ps.join("\n")).to.match(/minimums\.lots: names market 9, which is not in markets/);
    });

    it("takes the settlement settings from the environment", () => {
      const c = config({
        env: {
          ...baseEnv,
          CROSSBOOK_REPLACE_AFTER_BLOCKS: "1",
          CROSSBOOK_GAS_HEADROOM_PERCENT: "400",
          CROSSBOOK_CLAIM_HEADROOM_PERCENT: "100",
        },
      });
      expect(c.settlement).to.deep.include({ replaceAfterBlocks: 1, gasHeadroomPercent: 400 });
      expect(c.claimHeadroomPercent).to.equal(100);
    });

    it("ranks flags over environment over file over defaults", () => {
      const file = {
        rpcUrl: "http://file:1",
        chainId: 1,
        exchange: EXCHANGE,
        markets: [1],
        confirmations: 9,
        api: { port: 1111 },
      };
      const c = config({
        argv: ["--config", "f.json", "--chain-id", "3"],
        env: { CROSSBOOK_KEEPER_KEY: KEY, CROSSBOOK_CHAIN_ID: "2", CROSSBOOK_RPC_URL: "http://env:1" },
        readFile: () => JSON.stringify(file),
      });
      expect(c.chainId).to.equal(3); // flag > env > file
      expect(c.rpcUrl).to.equal("http://env:1"); // env > file
      expect(c.confirmations).to.equal(9); // file > default
      expect(c.api).to.deep.include({ host: "127.0.0.1", port: 1111 }); // default fills the rest of a group
      expect(c.batch.maxFills).to.equal(50); // default
    });

    it("ignores empty environment variables and the file's nulls", () => {
      const c = config({
        argv: ["--config", "f.json"],
        env: { ...baseEnv, CROSSBOOK_CONFIRMATIONS: "", CROSSBOOK_API_PORT: "  " },
        readFile: () => JSON.stringify({ confirmations: null }),
      });
      expect(c.confirmations).to.equal(2);
      expect(c.api.port).to.equal(8080);
    });
  });

  describe("the keeper key", () => {
    it("refuses a flag that carries the key, and does not repeat the key", () => {
      const ps = problems({ env: baseEnv, argv: ["--keeper-key", KEY] });
      expect(ps).to.have.length(1);
      expect(ps[0]).to.match(/^flag --keeper-key: refused; the keeper key is never taken from a flag/);
      expect(ps[0]).to.include("CROSSBOOK_KEEPER_KEY");
      expect(ps.join("\n")).not.to.include(KEY.slice(2));
    });

    it("refuses the other spellings of a secret flag, with = or without a value", () => {
      for (const flag of [`--private-key=${KEY}`, "--key", "--keystore-password=pw", "--PASSWORD", "--mnemonic"]) {
        const ps = problems({ env: baseEnv, argv: [flag] });
        expect(ps, flag).to.have.length(1);
        expect(ps[0], flag).to.match(/^flag --[a-z-]+: refused; the keeper key is never taken from a flag/);
      }
    });

    it("refuses the key and the keystore password in the config file", () => {
      const ps = problems({
        env: baseEnv,
        argv: ["--config=f.json"],
        readFile: () => JSON.stringify({ keeperKey: KEY, keystorePassword: "pw" }),
      });
      expect(ps).to.deep.equal([
        "keeperKey: refused in the config file; the keeper key and keystore password come only from the environment (CROSSBOOK_KEEPER_KEY, CROSSBOOK_KEYSTORE_PASSWORD)",
        "keystorePassword: refused in the config file; the keeper key and keystore password come only from the environment (CROSSBOOK_KEEPER_KEY, CROSSBOOK_KEYSTORE_PASSWORD)",
      ]);
    });

    it("takes a keystore path from a flag, with its password from the environment", () => {
      const { CROSSBOOK_KEEPER_KEY: _, ...env } = baseEnv;
      const c = config({ env: { ...env, CROSSBOOK_KEYSTORE_PASSWORD: "pw" }, argv: ["--keystore-path", "/k.json"] });
      expect(c.key).to.deep.equal({ kind: "keystore", path: "/k.json", password: "pw" });
    });

    it("asks for a key when there is none", () => {
      const { CROSSBOOK_KEEPER_KEY: _, ...env } = baseEnv;
      const ps = problems({ env });
      expect(ps).to.have.length(1);
      expect(ps[0]).to.match(/^keeperKey: is missing; expected env CROSSBOOK_KEEPER_KEY .* or a keystore file/);
    });

    it("refuses both a key and a keystore", () => {
      const ps = problems({
        env: { ...baseEnv, CROSSBOOK_KEYSTORE_PATH: "/k.json", CROSSBOOK_KEYSTORE_PASSWORD: "pw" },
      });
      expect(ps).to.deep.equal([
        "keeperKey: is given twice: both CROSSBOOK_KEEPER_KEY and a keystore path are set; expected exactly one of them",
      ]);
    });

    it("asks for the keystore's password", () => {
      const { CROSSBOOK_KEEPER_KEY: _, ...env } = baseEnv;
      const ps = problems({ env: { ...env, CROSSBOOK_KEYSTORE_PATH: "/k.json" } });
      expect(ps).to.deep.equal([
        "keystorePassword: is missing; a keystore needs its password in env CROSSBOOK_KEYSTORE_PASSWORD",
      ]);
    });

    it("rejects a malformed key without showing it", () => {
      const ps = problems({ env: { ...baseEnv, CROSSBOOK_KEEPER_KEY: "0xdeadbeef" } });
      expect(ps).to.deep.equal([
        "keeperKey: got a value (hidden) from env CROSSBOOK_KEEPER_KEY; expected a private key, 0x followed by 64 hex digits, not zero",
      ]);
    });
  });

  describe("problems", () => {
    it("lists every missing required setting with where to set it", () => {
      const ps = problems({ env: { CROSSBOOK_KEEPER_KEY: KEY } });
      expect(ps).to.deep.equal([
        'rpcUrl: is missing; set it with env CROSSBOOK_RPC_URL, flag --rpc-url or file key "rpcUrl"',
        'chainId: is missing; set it with env CROSSBOOK_CHAIN_ID, flag --chain-id or file key "chainId"',
        'exchange: is missing; set it with env CROSSBOOK_EXCHANGE, flag --exchange or file key "exchange"',
        'markets: is missing; set it with env CROSSBOOK_MARKETS, flag --markets or file key "markets"',
      ]);
    });

    it("reports every bad value at once, each with its path, value, source and what is expected", () => {
      const ps = problems({
        env: {
          ...baseEnv,
          CROSSBOOK_RPC_URL: "ftp://x",
          CROSSBOOK_CHAIN_ID: "0",
          CROSSBOOK_EXCHANGE: "0x1234",
          CROSSBOOK_MARKETS: "1,1",
          CROSSBOOK_BATCH_MAX_FILLS: "abc",
          CROSSBOOK_BATCH_MAX_GAS: "100",
          CROSSBOOK_BATCH_MAX_WAIT_MS: "-1",
        },
        argv: [
          "--max-fee-per-gas=1.5",
          "--max-priority-fee-per-gas=0",
          "--fee-bump-percent=5",
          "--confirmations=1e3",
          "--replace-after-blocks=0",
          "--gas-headroom-percent=401",
          "--claim-headroom-percent=101",
          "--api-host=",
          "--api-port=70000",
          "--api-acceptors=0",
          "--feed-flush-gap-ms=1001",
          "--read-ahead-accounts=4097",
          "--database= ",
        ],
      });
      expect(ps).to.deep.equal([
        'rpcUrl: got "ftp://x" from env CROSSBOOK_RPC_URL; expected an http(s) or ws(s) URL, like http://127.0.0.1:8545',
        'chainId: got "0" from env CROSSBOOK_CHAIN_ID; expected a chain id from 1 to 9007199254740991',
        'exchange: got "0x1234" from env CROSSBOOK_EXCHANGE; expected a 20-byte hex address, 0x followed by 40 hex digits',
        'databasePath: got " " from flag --database; expected a non-empty string',
        'markets: got "1,1" from env CROSSBOOK_MARKETS; expected a non-empty list of distinct market ids from 1 to 4294967295 (in env and flags: comma-separated, like 1,2)',
        'claimHeadroomPercent: got "101" from flag --claim-headroom-percent; expected a percent from 0 to 100',
        'batch.maxFills: got "abc" from env CROSSBOOK_BATCH_MAX_FILLS; expected an integer from 1 to 1000',
        'batch.maxGas: got "100" from env CROSSBOOK_BATCH_MAX_GAS; expected an amount of gas from 21000 to 1000000000',
        'batch.maxWaitMs: got "-1" from env CROSSBOOK_BATCH_MAX_WAIT_MS; expected a number of milliseconds from 0 to 3600000',
        'fees.maxFeePerGas: got "1.5" from flag --max-fee-per-gas; expected an amount of wei (a whole number) from 1 to 115792089237316195423570985008687907853269984665640564039457584007913129639935',
        'fees.maxPriorityFeePerGas: got "0" from flag --max-priority-fee-per-gas; expected an amount of wei (a whole number) from 1 to 115792089237316195423570985008687907853269984665640564039457584007913129639935',
        'fees.replacementBumpPercent: got "5" from flag --fee-bump-percent; expected a percent from 10 to 1000',
        'confirmations: got "1e3" from flag --confirmations; expected a number of blocks from 0 to 1000',
        'settlement.replaceAfterBlocks: got "0" from flag --replace-after-blocks; expected a number of blocks from 1 to 1000',
        'settlement.gasHeadroomPercent: got "401" from flag --gas-headroom-percent; expected a percent from 0 to 400',
        'api.host: got "" from flag --api-host; expected a non-empty string',
        'api.port: got "70000" from flag --api-port; expected a TCP port (0: any free one) from 0 to 65535',
        'api.acceptors: got "0" from flag --api-acceptors; expected a number of accepting handles (at most 64) from 1 to 64',
        'api.feedFlushGapMs: got "1001" from flag --feed-flush-gap-ms; expected a number of milliseconds (at most 1,000) from 0 to 1000',
        'readAheadAccounts: got "4097" from flag --read-ahead-accounts; expected a number of accounts (0: none) from 0 to 4096',
      ]);
    });

    it("reports a priority fee cap above the max fee cap", () => {
      const ps = problems({
        env: { ...baseEnv, CROSSBOOK_MAX_FEE_PER_GAS: "10", CROSSBOOK_MAX_PRIORITY_FEE_PER_GAS: "11" },
      });
      expect(ps).to.deep.equal([
        "fees.maxPriorityFeePerGas: is 11 wei, above fees.maxFeePerGas (10 wei); expected at most the max fee",
      ]);
    });

    it("reports wrong JSON types in the file, naming the file", () => {
      const ps = problems({
        env: { CROSSBOOK_KEEPER_KEY: KEY, CROSSBOOK_CONFIG: "k.json" },
        readFile: () =>
          JSON.stringify({ rpcUrl: 5, chainId: 1.5, exchange: EXCHANGE, markets: [], batch: { maxFills: true } }),
      });
      expect(ps).to.deep.equal([
        "rpcUrl: got 5 from file k.json; expected an http(s) or ws(s) URL, like http://127.0.0.1:8545",
        "chainId: got 1.5 from file k.json; expected a chain id from 1 to 9007199254740991",
        "markets: got [] from file k.json; expected a non-empty list of distinct market ids from 1 to 4294967295 (in env and flags: comma-separated, like 1,2)",
        "batch.maxFills: got true from file k.json; expected an integer from 1 to 1000",
      ]);
    });

    it("reports unknown keys and misplaced groups in the file", () => {
      const ps = problems({
        env: baseEnv,
        argv: ["--config", "k.json"],
        readFile: () => JSON.stringify({ rpc: "x", batch: 5, api: { port: 1, tls: true } }),
      });
      expect(ps).to.have.length(3);
      expect(ps[0]).to.match(/^rpc: unknown key in file k\.json; expected one of rpcUrl, chainId, /);
      expect(ps[1]).to.equal(
        "batch: is a number; expected an object with batch.maxFills, batch.maxGas, batch.maxWaitMs",
      );
      expect(ps[2]).to.match(/^api\.tls: unknown key in file k\.json; expected one of /);
    });

    it("reports a file that cannot be read, is not JSON, or is not an object", () => {
      expect(problems({ env: baseEnv, argv: ["--config", "missing.json"] })).to.deep.equal([
        "config file missing.json: cannot be read (ENOENT: no such file, open 'missing.json'); expected a readable JSON object",
      ]);
      const notJson = problems({ env: baseEnv, argv: ["--config", "k.json"], readFile: () => "{ rpcUrl: " });
      expect(notJson).to.have.length(1);
      expect(notJson[0]).to.match(/^config file k\.json: is not valid JSON \(.*\); expected a readable JSON object$/);
      expect(problems({ env: baseEnv, argv: ["--config", "k.json"], readFile: () => "[1]" })).to.deep.equal([
        "config file k.json: is an array; expected a JSON object",
      ]);
    });

    it("reports unknown flags, flags without a value and stray arguments", () => {
      const ps = problems({ env: baseEnv, argv: ["--rpc", "x", "stray", "--markets"] });
      expect(ps[0]).to.match(/^flag --rpc: unknown; expected one of --config, --rpc-url, /);
      expect(ps.slice(1)).to.deep.equal([
        'argument "stray": unexpected; expected flags of the form --name value or --name=value',
        "flag --markets: has no value; expected --markets <value> or --markets=<value>",
      ]);
    });
  });
});
