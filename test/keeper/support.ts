/**
 * What the keeper's tests share: a database file in a temporary directory (removed when the test
 * process exits), an engine over it that reads the in-process Hardhat network, and the API over
 * that engine on a free loopback port — the pieces `keeper/src/keeper.ts` assembles for real.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "libsql";
import { createPublicClient, custom, type Address, type Hex, type PublicClient } from "viem";
import type { ExchangeDomainParameters, ReadClient } from "@crossbook/sdk";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { startApi, type ApiOptions, type RunningApi } from "../../keeper/src/api";
import { loadConfig } from "../../keeper/src/config";
import { CONTRACT_READS_BATCH, runKeeper } from "../../keeper/src/keeper";
import { silentLogger } from "../../keeper/src/log";
import { Engine, type EngineOptions } from "../../keeper/src/engine";
import { CachedChainReads, readRiskContext, readRiskContextFrom } from "../../keeper/src/risk";
import type { Store } from "../../keeper/src/store";
import { LOT_SIZE, TICK_SIZE } from "../helpers/fixture";
import { fund, hardhat, hre, publicClient, sdkFixture, transport } from "../sdk/support";

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

/**
 * The SDK fixture with alice, bob and carol funded in the Exchange: 1,000 lots of base each, and
 * quote for 2,000 lots at `priceTicks`. (A fixture for `loadFixture`: pass it, do not call it.)
 */
export async function fundedTraders(priceTicks = 200_000n) {
  const env = await sdkFixture();
  for (const trader of [env.alice, env.bob, env.carol]) {
    await fund(env.exchange, env.base, trader, 1_000n * LOT_SIZE);
    await fund(env.exchange, env.quote, trader, 1_000n * priceTicks * TICK_SIZE * 2n);
  }
  return env;
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

/** A clock the test moves by hand: what rate limits, sessions and cancel windows read instead of the wall clock. */
export function manualClock(start = Date.now()) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

/** One statement a traced store ran: its SQL and how many rows it handed back. */
export interface TracedStatement {
  readonly sql: string;
  readonly rows: number;
}

/**
 * Records, while `recording`, every SQL statement run through libsql in this process with the rows
 * it returned, and every commit (a transaction or a group commit) and savepoint taken. Install before opening the store
 * (statements are prepared once and cached), `stop()` after the test.
 */
export function traceSql() {
  const trace = { recording: false, statements: [] as TracedStatement[], commits: 0, savepoints: 0 };
  const probe = new Database(":memory:");
  const statementProto = Object.getPrototypeOf(probe.prepare("SELECT 1")) as Record<string, unknown>;
  const databaseProto = Object.getPrototypeOf(probe) as Record<string, unknown>;
  probe.close();
  const saved = {
    prepare: databaseProto.prepare,
    exec: databaseProto.exec,
    transaction: databaseProto.transaction,
    all: statementProto.all,
    get: statementProto.get,
    run: statementProto.run,
  } as Record<string, (...args: unknown[]) => unknown>;
  databaseProto.prepare = function (this: unknown, sql: string) {
    const statement = saved.prepare.call(this, sql) as { sql?: string };
    statement.sql = sql;
    return statement;
  };
  databaseProto.exec = function (this: unknown, sql: string) {
    if (trace.recording && /^\s*COMMIT/i.test(sql)) trace.commits++;
    return saved.exec.call(this, sql);
  };
  databaseProto.transaction = function (this: unknown, fn: (...a: unknown[]) => unknown) {
    const wrapped = saved.transaction.call(this, fn) as Record<string, (...a: unknown[]) => unknown>;
    const count =
      (run: (...a: unknown[]) => unknown) =>
      (...args: unknown[]) => {
        const result = run(...args);
        if (trace.recording) trace.commits++;
        return result;
      };
    return Object.assign(count(wrapped as unknown as (...a: unknown[]) => unknown), {
      immediate: count(wrapped.immediate),
      deferred: count(wrapped.deferred),
      exclusive: count(wrapped.exclusive),
    });
  };
  const record = (name: "all" | "get" | "run") =>
    function (this: { sql?: string }, ...args: unknown[]) {
      const result = saved[name].apply(this, args);
      if (trace.recording && this.sql !== undefined && /^\s*SAVEPOINT/i.test(this.sql)) trace.savepoints++;
      if (trace.recording && this.sql !== undefined && !/^\s*(SAVEPOINT|RELEASE|ROLLBACK)/i.test(this.sql)) {
        const rows =
          name === "all" ? (result as unknown[]).length : name === "get" ? (result === undefined ? 0 : 1) : 0;
        trace.statements.push({ sql: this.sql, rows });
      }
      return result;
    };
  statementProto.all = record("all");
  statementProto.get = record("get");
  statementProto.run = record("run");
  return {
    trace,
    /** Starts recording from zero. */
    start() {
      trace.statements = [];
      trace.commits = 0;
      trace.savepoints = 0;
      trace.recording = true;
    },
    /** Rows handed back by every statement recorded. */
    rows(): number {
      return trace.statements.reduce((sum, s) => sum + s.rows, 0);
    },
    /** The statements recorded whose query plan scans a table without an index, or sorts in a temporary tree. */
    unindexed(path: string): string[] {
      const db = new Database(path);
      try {
        const bad = new Set<string>();
        for (const { sql } of trace.statements) {
          if (!/^\s*(SELECT|WITH|UPDATE|DELETE)/i.test(sql)) continue;
          const plan = (saved.all.call(saved.prepare.call(db, `EXPLAIN QUERY PLAN ${sql}`), []) as { detail: string }[])
            .map((r) => r.detail)
            .join("; ");
          if (/\bSCAN (orders|fills|batches)\b(?! USING)|TEMP B-TREE/.test(plan)) bad.add(`${sql}  →  ${plan}`);
        }
        return [...bad];
      } finally {
        db.close();
      }
    },
    stop() {
      trace.recording = false;
      Object.assign(databaseProto, { prepare: saved.prepare, exec: saved.exec, transaction: saved.transaction });
      Object.assign(statementProto, { all: saved.all, get: saved.get, run: saved.run });
    },
  };
}

/**
 * The in-process Hardhat network served as JSON-RPC over HTTP on a free loopback port (single and
 * batched requests), so that the keeper's own assembly (`runKeeper`, which takes an RPC URL) runs in
 * the test process against the test's chain.
 */
export async function serveChain(): Promise<{ url: string; close(): Promise<void> }> {
  const answer = async (call: { id?: unknown; method: string; params?: unknown[] }) => {
    try {
      const result = await hre.network.provider.request({ method: call.method, params: call.params ?? [] });
      return { jsonrpc: "2.0", id: call.id ?? null, result };
    } catch (error) {
      const e = error as { code?: number; message?: string; data?: unknown };
      return {
        jsonrpc: "2.0",
        id: call.id ?? null,
        error: { code: e.code ?? -32603, message: e.message ?? String(error), data: e.data },
      };
    }
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Parameters<typeof answer>[0] | [];
        const out = Array.isArray(body) ? await Promise.all(body.map(answer)) : await answer(body);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(out, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v)));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A viem client on the in-process network that counts its JSON-RPC calls by method, and lets a test
 * answer (or fail) some of them itself: `intercept(method, params)` returning `undefined` passes the
 * call to the node.
 */
export function countingClient(
  intercept: (method: string, params: unknown[]) => Promise<unknown> | undefined = () => undefined,
  /** How it batches contract reads: the keeper's `CONTRACT_READS_BATCH` to call as the keeper does. */
  batch?: typeof CONTRACT_READS_BATCH,
) {
  const counts = new Map<string, number>();
  const calls: { method: string; params: unknown[] }[] = [];
  const client = createPublicClient({
    chain: hardhat,
    pollingInterval: 10,
    ...(batch === undefined ? {} : { batch }),
    transport: custom(
      {
        async request(args: { method: string; params?: unknown }) {
          const params = (args.params ?? []) as unknown[];
          counts.set(args.method, (counts.get(args.method) ?? 0) + 1);
          calls.push({ method: args.method, params });
          const answer = intercept(args.method, params);
          if (answer !== undefined) return answer;
          return transport({}).request(args as never);
        },
      },
      { retryCount: 0 },
    ),
  }) as PublicClient;
  return { client, counts, calls };
}

/**
 * The keeper's own chain reads (`CachedChainReads`: a memo per block, `OrderCancelled` events) for an
 * engine over `store`, as `keeper.ts` wires them. Pass `engine` to `startKeeper` / `openEngine`.
 */
export function cachedChainFacts(exchange: Address, client: ReadClient = publicClient) {
  const holder: { reads?: CachedChainReads } = {};
  return {
    get reads(): CachedChainReads {
      return holder.reads as CachedChainReads;
    },
    engine(store: Store): Partial<EngineOptions> {
      const reads = new CachedChainReads(client, exchange, {
        startBlock: 0n,
        nonceSeen: (maker, nonce) => store.hasNonce(maker, nonce),
      });
      holder.reads = reads;
      return {
        readRiskContext: (signed, state) => readRiskContextFrom(reads, exchange, signed, state),
        freshen: (account) => reads.refresh(account),
      };
    },
  };
}

/**
 * The keeper's own assembly (`runKeeper`: config, store, reads, engine, settlement, API, metrics,
 * block watcher) in this process, against the in-process network served by `serveChain`, with a
 * fresh keeper key holding KEEPER_ROLE and `balanceWei` of ETH. `flags` add to or override the
 * defaults (confirmations 0, polling every 50 ms, logs silent).
 */
export async function runKeeperInProcess(
  env: {
    exchange: {
      grantRole(role: string, to: string): Promise<{ wait(): Promise<unknown> }>;
      KEEPER_ROLE(): Promise<string>;
    };
    addresses: { exchange: Address };
  },
  options: {
    flags?: readonly string[];
    balanceWei?: bigint;
    /** The keeper key (several keepers on one database share one): a new one, funded and granted, by default. */
    key?: Hex;
    /** The store: a new SQLite file by default (a `postgres://` URL for several keepers). */
    database?: string;
  } = {},
) {
  const chain = await serveChain();
  const key = options.key ?? generatePrivateKey();
  const keeperAddress = privateKeyToAccount(key).address;
  if (options.key === undefined) {
    await hre.network.provider.send("hardhat_setBalance", [
      keeperAddress,
      `0x${(options.balanceWei ?? 10n ** 19n).toString(16)}`,
    ]);
    await (await env.exchange.grantRole(await env.exchange.KEEPER_ROLE(), keeperAddress)).wait();
  }
  const loaded = loadConfig({
    argv: [
      ...["--rpc-url", chain.url, "--chain-id", "31337", "--exchange", env.addresses.exchange, "--markets", "1"],
      ...["--database", options.database ?? tempDatabase("crossbook-runkeeper-"), "--api-port", "0"],
      ...["--confirmations", "0"],
      ...["--poll-interval-ms", "50", "--log-level", "silent"],
      ...(options.flags ?? []),
    ],
    env: { CROSSBOOK_KEEPER_KEY: key },
    readFile: () => {
      throw new Error("no config file");
    },
  });
  if (!loaded.ok) throw new Error(`config: ${loaded.problems.join("; ")}`);
  const keeper = await runKeeper(loaded.config, silentLogger);
  return {
    keeper,
    url: keeper.api.url,
    keeperAddress,
    key,
    async close() {
      await keeper.stop();
      await chain.close();
    },
  };
}
