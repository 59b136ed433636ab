/**
 * One keeper process, assembled: config in, then the store, the cached chain reads, the engine
 * (books rebuilt from the store), settlement (batches found in the store resolved first), the
 * API and feed, metrics, and a block watcher that moves the reads to each new block, checks again
 * the resting orders of the accounts its events named (`Engine.recheck`) and expires resting orders. `runKeeper` returns once everything listens; `stop()` takes it down in the
 * reverse order and closes the database file. See keeper/README.md, "Running the keeper".
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { performance } from "node:perf_hooks";
import {
  createPublicClient,
  defineChain,
  http,
  isAddressEqual,
  webSocket,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { exchangeAbi, type ExchangeDomainParameters, type Market, type Order } from "@crossbook/sdk";
import { startApi, type RunningApi } from "./api";
import { CLUSTER_SECRET_ENV, type TrustSigner } from "./api/gatewayChannel";
import { ShardClaims } from "./cluster/claims";
import type { KeeperConfig } from "./config";
import { Engine } from "./engine";
import type { Logger } from "./log";
import { Metrics } from "./metrics";
import { causedTransports, type RpcCall, type RpcCause } from "./metrics/rpc";
import {
  CachedChainReads,
  isPending,
  keeperReadAhead,
  readAheadOfAccount,
  readRiskContextFrom,
  StrangerReadBudget,
  UncreditedAccountError,
} from "./risk";
import { CausedReads } from "./risk/causedReads";
import {
  currentLease,
  holdLease,
  KeeperRole,
  LeaseConnection,
  leaseTiming,
  systemLeaseClock,
  tryAcquire,
  type HeldLease,
  type LeaseDb,
  type Lease,
} from "./leader";
import { readiness } from "./readiness";
import { Settlement, SettlementStartError, type SettlementOutcome } from "./settlement";
import { nativeAvailable, recoverOrderSigner, sigcheckReady } from "./sigcheck";
import { SignerMemo } from "./sigcheck/signerMemo";
import { PostgresDatabase, pgClient, Store } from "./store";

/** A keeper that could not start: one message, for the operator. */
export class KeeperStartError extends Error {
  override readonly name = "KeeperStartError";
}

export interface RunningKeeper {
  readonly api: RunningApi;
  readonly engine: Engine;
  readonly store: Store;
  /** Settlement (a new one each time this keeper takes the lease; idle while it follows). */
  readonly settlement: Settlement;
  /** The cached chain facts (per block) the risk check and settlement read. */
  readonly reads: CachedChainReads;
  readonly account: LocalAccount;
  /** Leader or follower (PostgreSQL with several keepers; SQLite: always the leader), since when, who leads. */
  readonly role: KeeperRole;
  /** Resolves when the keeper has stopped (by `stop` or a fatal error), with the exit code. */
  readonly done: Promise<number>;
  stop(code?: number): Promise<void>;
}

/** The keeper's signing account: from the environment's private key, or decrypted from a keystore. */
export async function keeperAccount(config: Pick<KeeperConfig, "key">): Promise<LocalAccount> {
  if (config.key.kind === "env") return privateKeyToAccount(config.key.privateKey);
  let json: string;
  try {
    json = readFileSync(config.key.path, "utf8");
  } catch (error) {
    throw new KeeperStartError(`keystore ${config.key.path} cannot be read: ${(error as Error).message}`);
  }
  // ethers decrypts the standard (web3 secret storage) keystore; viem has no keystore support.
  const { Wallet } = await import("ethers");
  try {
    const wallet = await Wallet.fromEncryptedJson(json, config.key.password);
    return privateKeyToAccount(wallet.privateKey as `0x${string}`);
  } catch (error) {
    throw new KeeperStartError(`keystore ${config.key.path} cannot be decrypted: ${(error as Error).message}`);
  }
}

/**
 * The keeper's node clients, one per cause of its calls (`metrics/rpc.ts`: each counts its calls
 * under its cause), over one transport.
 */
function chainClients(config: KeeperConfig, observe: (call: RpcCall) => void): (cause: RpcCause) => PublicClient {
  const chain = defineChain({
    id: config.chainId,
    name: `chain ${config.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  });
  // Concurrent reads (the risk check's, per order) go out as one JSON-RPC batch, and the contract
  // reads of one cause among them as one `eth_call` (`CONTRACT_READS_BATCH`): an account's first
  // risk read is one call, not eight. No transport retries: a revert would be retried as if it were
  // a network error; the keeper retries per block.
  const transport = /^wss?:/.test(config.rpcUrl)
    ? webSocket(config.rpcUrl, { retryCount: 0 })
    : http(config.rpcUrl, { batch: { wait: 0 }, retryCount: 0 });
  const transports = causedTransports(transport, observe);
  const clients = new Map<RpcCause, PublicClient>();
  return (cause) => {
    let client = clients.get(cause);
    if (client === undefined) {
      client = createPublicClient({
        chain,
        transport: transports(cause),
        pollingInterval: config.pollIntervalMs,
        batch: CONTRACT_READS_BATCH,
      }) as PublicClient;
      clients.set(cause, client);
    }
    return client;
  };
}

/**
 * How the keeper's clients batch their contract reads: those a job makes at once go out as one
 * `eth_call` (viem's multicall, deployless: no Multicall3 contract needed on the chain), since a
 * node spends about as long on a call as on the view inside it. A call with anything besides its
 * target and data (a gas cap: contract-wallet checks; settlement's simulations) goes alone, so its
 * cap holds. A read that reverts fails alone, with its own error.
 */
export const CONTRACT_READS_BATCH = { multicall: { deployless: true } } as const;

/** Checks that the RPC serves the configured chain, the Exchange exists, and the keeper may settle. */
async function checkChain(client: PublicClient, config: KeeperConfig, keeper: Address): Promise<void> {
  let chainId: number;
  try {
    chainId = await client.getChainId();
  } catch (error) {
    throw new KeeperStartError(`the node at ${config.rpcUrl} does not answer: ${(error as Error).message}`);
  }
  if (chainId !== config.chainId) {
    throw new KeeperStartError(`the node at ${config.rpcUrl} serves chain ${chainId}, not chainId ${config.chainId}`);
  }
  const code = await client.getCode({ address: config.exchange });
  if (code === undefined || code === "0x") {
    throw new KeeperStartError(`no contract at exchange ${config.exchange} on chain ${chainId}: deploy first`);
  }
  const role = await client.readContract({ address: config.exchange, abi: exchangeAbi, functionName: "KEEPER_ROLE" });
  const allowed = await client.readContract({
    address: config.exchange,
    abi: exchangeAbi,
    functionName: "hasRole",
    args: [role, keeper],
  });
  if (!allowed) {
    throw new KeeperStartError(
      `the keeper account ${keeper} does not hold KEEPER_ROLE on ${config.exchange}: the admin grants it with grantRole`,
    );
  }
}

/**
 * The block watcher's step: the cached facts moved to the chain's head (with the events since the
 * last sync); the resting orders of every account a trader's on-chain action named (cancel, floor
 * raise, withdrawal request, deposit, cancel-after, window limit), and of every account whose
 * cancel-after deadline came within the settlement horizon, checked again and pulled when they
 * can no longer fill (`Engine.recheck`; an account that could not be read is named again next
 * block); expired orders cancelled. Throws when the sync fails.
 */
export async function followBlock(
  reads: CachedChainReads,
  engine: Engine,
): Promise<{ pulled: number; expired: number }> {
  await reads.sync();
  const now = await reads.timestamp();
  // A deadline within the horizon: the risk check's own test (`now + horizon > deadline`).
  const near = reads.takeDeadlinesBefore(now + BigInt(engine.horizonSeconds));
  const accounts = [...new Set([...reads.takeTouched(), ...near])];
  const { pulled, unread } = await engine.recheck(accounts);
  reads.touch(unread);
  const expired = await engine.expire(now);
  return { pulled, expired };
}

/** Starts a keeper from a validated config. Throws `KeeperStartError` with one clear message. */
export async function runKeeper(config: KeeperConfig, log: Logger): Promise<RunningKeeper> {
  const account = await keeperAccount(config);
  const metrics = new Metrics();
  const clientOf = chainClients(config, (call) => metrics.rpcCall(call));
  /** The API's signature checks and logins, the block watch, the checks at start: `other`. */
  const client = clientOf("other");
  await checkChain(client, config, account.address);
  const domain = { chainId: config.chainId, verifyingContract: config.exchange };

  await sigcheckReady();
  if (!nativeAvailable) log.warn({}, "native secp256k1 did not load: signature recovery falls back to pure JS");
  let store: Store;
  try {
    // A SQLite file's checkpoints run in a child process, off the event loop (store/checkpointer.ts).
    store = await Store.connect(config.databasePath, { checkpoints: { log } });
  } catch (error) {
    throw new KeeperStartError(
      `the database ${redactUrl(config.databasePath)} cannot be opened: ${(error as Error).message}`,
    );
  }
  // PostgreSQL: several keepers share the database and one leads. This one leads at once if the
  // lease is free; otherwise it follows (serving reads and the feed) until it takes the lease.
  const db = store.database instanceof PostgresDatabase ? store.database : undefined;
  // The lease has its own connection: a renewal never queues behind the store's flushes or refreshes.
  const leaseDb =
    db === undefined ? undefined : new LeaseConnection(() => pgClient(config.databasePath), config.leaseMs);
  // A shard's claims on its accounts' balances, on their own connection (see cluster/claims.ts).
  const claims =
    db === undefined || config.shardName === undefined
      ? undefined
      : await ShardClaims.open(() => pgClient(config.databasePath), config.shardName, log, {
          // More than a shard's cached balance may lag the chain: a block's poll and its reads, several times.
          holdMs: Math.max(2000, 5 * config.pollIntervalMs),
          headroomPercent: config.claimHeadroomPercent,
        });
  const election = electionOptions(config);
  const acquiredAt = systemLeaseClock.now();
  const won =
    leaseDb === undefined ? undefined : await tryAcquire(leaseDb, election.holder, election.url, election.leaseMs);
  if (db !== undefined && won !== undefined) {
    await db.refresh(); // what the previous leader committed up to its last commit
    db.term = won.term;
    log.info({ term: won.term, since: won.since }, "role change: leader");
  }
  if (db !== undefined && won === undefined) db.readOnly = true;
  const role = new KeeperRole(
    won !== undefined
      ? { role: "leader", term: won.term, since: won.since }
      : { role: db === undefined ? "leader" : "follower", since: new Date() },
  );
  let stepDown: (reason: string) => void = () => {};
  /** Holds `lease` (renewing it on its own connection) and fences the store's flushes with it. */
  const hold = (lease: Lease, at: number): HeldLease => {
    const held = holdLease({
      db: leaseDb as LeaseDb,
      lease,
      leaseMs: config.leaseMs,
      acquiredAt: at,
      onLate: (lateMs) => log.warn({ lateMs, term: lease.term }, "lease renewal timer fired late (busy event loop)"),
      onRenewed: (roundTripMs) => {
        metrics.leaseRenewed(roundTripMs / 1000);
        if (roundTripMs > leaseTiming(config.leaseMs).renewMs)
          log.warn(
            { roundTripMs: Math.round(roundTripMs), term: lease.term },
            "lease renewal answered late (PostgreSQL)",
          );
      },
      onLost: (reason) => stepDown(reason),
    });
    if (db !== undefined) db.leaseValidFor = () => held.validFor();
    return held;
  };
  let held = won !== undefined ? hold(won, acquiredAt) : undefined;
  metrics.watchRole(role);
  // The engine's precheck and the risk check recover the same signature one after the other: the
  // second asks this memo. A shard behind gateways is told the signer (the gateway recovered it):
  // `vouch` seeds the memo.
  const signers = new SignerMemo();
  const recoverSigner = (order: Order, signature: Hex, d: ExchangeDomainParameters) => {
    const known = signers.get(order, signature, d);
    if (known !== undefined) return known;
    metrics.orderSigner("recovered");
    return signers.remember(order, signature, d, recoverOrderSigner(order, signature, d));
  };
  const reads = new CachedChainReads(client, config.exchange, {
    startBlock: config.startBlock,
    nonceSeen: (maker, nonce) => store.hasNonce(maker, nonce),
    recoverSigner,
    onWait: (fact, why, seconds) => metrics.chainFactWait(fact, why, seconds),
    clients: clientOf,
    maxAccountsAhead: config.readAheadAccounts,
  });
  /** The risk reads of orders (and of rechecks, which read through the same `readRiskContext`). */
  const orderReads = new CausedReads(reads, "order");
  await reads.syncHalving();
  /** Whether an account has code, from the cached reads (the engine's and the API's signature checks). */
  const hasCode = async (account: Address, cause: RpcCause = "other") => {
    const code = await reads.code(account, cause);
    return code !== undefined && code !== "0x";
  };
  /**
   * The engine once open: the risk reads ask it whether it knows an order's maker (metrics, and the
   * budget of node work for strangers).
   */
  let engineOpened: Engine | undefined;
  /** The API once started: told an order's engine stages for its timing (`Server-Timing`). */
  let runningApi: RunningApi | undefined;
  const strangers = new StrangerReadBudget(config.maxStrangerReads);
  /** Known: an order of the account was accepted, or it deposited (no fresh key of an attacker's). */
  const isKnown = (account: Address) => (engineOpened?.knows(account) ?? false) || reads.hasDeposited(account);
  const engine = await Engine.open({
    store,
    markets: config.markets,
    domain,
    readRiskContext: async (signed, state) => {
      const known = isKnown(signed.order.maker);
      const start = performance.now();
      try {
        // A stranger no event can have given a balance is refused without a read (nor the budget).
        if (!known && (await reads.neverCredited(signed.order.maker))) {
          throw new UncreditedAccountError(signed.order.maker);
        }
        return await strangers.run(known, () => readRiskContextFrom(orderReads, config.exchange, signed, state));
      } finally {
        metrics.orderRiskRead(known, (performance.now() - start) / 1000);
      }
    },
    log,
    maxOpenOrdersPerAccount: config.maxOpenOrdersPerAccount,
    recoverSigner,
    // A contract wallet's code is read once a block (cached); its ERC-1271 answer is the risk check's.
    hasCode: (account) => hasCode(account, "order"),
    freshen: (account) => reads.refresh(account),
    readAhead: keeperReadAhead(reads, orderReads, isKnown),
    onOrderStage: (stage, maker, ms, hash) => {
      if (stage !== "check") metrics.orderStage(stage, isKnown(maker), ms / 1000); // the risk read has its own
      runningApi?.orderStage(hash, stage, ms);
    },
    minimums: config.minimums,
    horizonSeconds: config.settlement.horizonSeconds,
    takerCooldownSeconds: config.settlement.takerCooldownSeconds,
    backlog: {
      maxPendingFills: config.settlement.maxPendingFills,
      maxPendingFillsPerAccount: config.settlement.maxPendingFillsPerAccount,
      // A batch a block: the backlog over the batch size, in blocks of the node's pace (a second at least).
      retryAfterSeconds: (pending) =>
        Math.max(1, Math.ceil(pending / config.batch.maxFills) * Math.ceil(config.pollIntervalMs / 1000)),
    },
    following: role.current.role === "follower",
    ...(claims === undefined ? {} : { claims }),
  });
  engineOpened = engine;
  metrics.watch(engine, store);
  /** The reads ahead of orders not sent yet: a fact not in the memo is read through this cause's client. */
  const readsAhead = new CausedReads(reads, "read-ahead");
  /**
   * Reads ahead, into the memo, the facts an order of each account will ask for, in every market
   * of the engine that trades the account's `token` (every market when none is given), so that its
   * first order asks the node nothing (keeper/README.md, "Cached chain reads"): the latest
   * `config.readAheadAccounts` accounts, as leader only, while the cache is sound. An account's
   * facts go out in one `eth_call` with other accounts' (`CONTRACT_READS_BATCH`), and are kept
   * `READ_AHEAD_BLOCKS` though no order asks for them (`CachedChainReads.ahead`).
   */
  const readAheadOfAccounts = (
    why: "deposit" | "open-orders",
    accounts: readonly { readonly account: Address; readonly token?: Address }[],
  ) => {
    if (config.readAheadAccounts === 0 || engine.following || reads.health().failing) return;
    for (const { account, token } of accounts.slice(-config.readAheadAccounts)) {
      for (const marketId of engine.markets) {
        const readIn = (market: Market | undefined) => {
          if (market === undefined) return;
          const tradesToken = token === undefined || [market.base, market.quote].some((t) => isAddressEqual(t, token));
          if (!tradesToken) return;
          metrics.accountReadAhead(why);
          reads.ahead(account, () => readAheadOfAccount(readsAhead, account, marketId));
        };
        const market = readsAhead.market(marketId);
        if (isPending(market)) market.then(readIn, () => undefined);
        else readIn(market);
      }
    }
  };
  /** A term's start: its makers' next quotes, and the deposits read meanwhile (`readAheadOfAccounts`). */
  const readAheadAtTermStart = () => {
    readAheadOfAccounts(
      "open-orders",
      [...engine.reservingAccounts()].map((account) => ({ account })),
    );
    readAheadOfAccounts("deposit", reads.takeDeposits());
  };
  /** A new leader's claims: what its books and unsettled fills reserve, whatever the last leader left. */
  const resetClaims = async (term: number) => {
    if (claims === undefined) return;
    const marketOf = await shardMarkets(reads, config.markets);
    const reservations = new Map<Address, Map<string, bigint>>();
    for (const account of engine.reservingAccounts()) reservations.set(account, engine.reservedBy(account, marketOf));
    await claims.reset(term, reservations);
  };
  if (won !== undefined) await resetClaims(won.term);
  let lowering = false;
  /** Claims lowered to what the shard reserves, every second (an account with an order in flight waits). */
  const lowerTimer =
    claims === undefined
      ? undefined
      : setInterval(() => {
          if (lowering || !role.leading || claims.term === undefined) return;
          lowering = true;
          void shardMarkets(reads, config.markets)
            .then((marketOf) => claims.lower((a) => (engine.isBusy(a) ? undefined : engine.reservedBy(a, marketOf))))
            .catch((error: unknown) => log.warn({ err: String(error) }, "claims: lowering failed; trying again"))
            .finally(() => (lowering = false));
        }, 1000).unref();

  /** Settlement for one term of leading (settlement stops for good after a failed write: a new one next time). */
  const newSettlement = (): Settlement => {
    const created = new Settlement({
      engine,
      store,
      client: clientOf("settlement"),
      account,
      exchange: config.exchange,
      config,
      reads: new CausedReads(reads, "settlement"),
      replaceAfterBlocks: config.settlement.replaceAfterBlocks,
      gasHeadroomPercent: config.settlement.gasHeadroomPercent,
      dropAfterBlocks: config.settlement.dropAfterBlocks,
      minKeeperBalance: config.settlement.minKeeperBalance,
      log,
      onOutcome: (o) => countOutcome(metrics, o),
      onSent: () => metrics.batchOutcome("sent"),
    });
    created.on("fatal", (error) => {
      if (!role.leading) {
        // A write refused because this keeper stepped down: the new leader settles from the store.
        log.warn({ err: error.message }, "settlement stopped: this keeper no longer leads");
        return;
      }
      log.error({ err: error.message }, "fatal settlement error: stopping (restart rebuilds from the database)");
      void stop(1);
    });
    return created;
  };
  let settlement = newSettlement();
  metrics.watchHealth(() => ({
    keeperBalanceWei: settlement.health().balance,
    settlementStuck: settlement.health().stuck !== undefined,
    chainFactsBehindBlocks: reads.health().behindBlocks,
  }));
  let lastBlockAt = Date.now();
  const unwatch = client.watchBlockNumber({
    poll: true,
    emitMissed: false,
    pollingInterval: config.pollIntervalMs,
    onBlockNumber: (block) => {
      lastBlockAt = Date.now();
      reads.observeHead(block);
      // A follower keeps its chain facts current and leaves every write (rechecks, expiries) to the
      // leader; what the chain named in the meantime is rechecked at its first block as leader.
      const step = engine.following
        ? reads.sync().then(() => ({ pulled: 0, expired: 0 }))
        : followBlock(reads, engine).then((followed) => {
            readAheadOfAccounts("deposit", reads.takeDeposits());
            return followed;
          });
      void step
        .then(({ pulled, expired }) => {
          if (pulled > 0) log.info({ pulled }, "orders pulled after on-chain actions");
          if (expired > 0) log.info({ expired }, "expired orders cancelled");
        })
        .catch((error: unknown) => {
          metrics.rpcError("sync");
          log.warn({ err: String(error) }, "chain read failed; retrying at the next block");
        });
    },
    onError: (error) => {
      metrics.rpcError("eth_blockNumber");
      log.warn({ err: error.message }, "block watch failed");
    },
  });
  if (role.leading) {
    try {
      await settlement.start();
    } catch (error) {
      unwatch();
      held?.stop();
      if (lowerTimer !== undefined) clearInterval(lowerTimer);
      await claims?.end();
      await store.shutdown();
      if (error instanceof SettlementStartError) throw new KeeperStartError(error.message);
      throw error;
    }
    readAheadAtTermStart(); // before the API listens: a first order joins these reads
  }

  const api = (runningApi = await startApi({
    engine,
    store,
    domain,
    chain: { client, exchange: config.exchange, hasCode },
    host: config.api.host,
    port: config.api.port,
    log,
    metrics,
    trustProxy: config.api.trustProxy,
    acceptors: config.api.acceptors,
    knownAccount: isKnown,
    sessionTtlMs: config.api.sessionTtlSeconds * 1000,
    limits: {
      perAccountPerSecond: config.api.perAccountPerSecond,
      maxBatchActions: config.api.maxBatchActions,
      maxHttpConnectionsPerIp: config.api.maxHttpConnectionsPerIp,
      flushGapMs: config.api.feedFlushGapMs,
    },
    role,
    ...clusterOptions(process.env, (order, signature, signer) => {
      metrics.orderSigner("gateway");
      signers.vouch(order, signature, domain, signer);
    }),
    isReady: () =>
      readiness({
        engineRunning: engine.running,
        lastBlockAt,
        now: Date.now(),
        maxBlockAgeMs: 30_000,
        chainFacts: reads.health(),
        maxStaleBlocks: config.maxStaleBlocks,
        settlement: settlement.health(),
      }),
  }));
  role.announce(api.url);
  log.info(
    {
      url: api.url,
      role: role.current.role,
      exchange: config.exchange,
      chainId: config.chainId,
      markets: config.markets,
      keeper: account.address,
    },
    "keeper started",
  );

  if (leaseDb !== undefined && won !== undefined) await announceUrl(leaseDb, won.term, api.url);

  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  let stopping: Promise<void> | undefined;
  let steppingDown: Promise<void> | undefined;
  let following: { stop(): void; done: Promise<void> } | undefined;
  const stop = (code = 0): Promise<void> => {
    stopping ??= (async () => {
      log.info({ code }, "keeper stopping");
      if (lowerTimer !== undefined) clearInterval(lowerTimer);
      if (claims !== undefined) claims.term = undefined;
      held?.stop();
      following?.stop();
      engine.stop();
      await steppingDown;
      unwatch();
      await api.close().catch((e: unknown) => log.error({ err: String(e) }, "api close failed"));
      await settlement.stop().catch((e: unknown) => log.error({ err: String(e) }, "settlement stop failed"));
      await following?.done;
      // A leader that stops cleanly hands the lease over now rather than at its expiry (a deposed
      // one's term no longer matches: nothing changes).
      if (leaseDb !== undefined && held !== undefined && db?.term !== undefined) {
        await store.durable().catch(() => {});
        await releaseLease(leaseDb, db.term).catch(() => {});
      }
      await leaseDb?.end();
      await claims?.end();
      await store.shutdown();
      log.info({ code }, "keeper stopped");
      resolveDone(code);
    })();
    return stopping;
  };
  engine.on("fatal", (error) => {
    log.error({ err: error.message }, "fatal engine error: stopping (restart rebuilds from the database)");
    void stop(1);
  });

  if (db !== undefined && leaseDb !== undefined) {
    /** The lease is this keeper's: it leads from now, in this process, its API on the same URL. */
    const promote = async (lease: Lease, at: number): Promise<void> => {
      held = hold(lease, at); // renewals start at once, on their own connection
      await db.refresh((pulled) => engine.follow(pulled)); // the previous leader's last commits
      db.term = lease.term;
      db.readOnly = false;
      engine.promote(); // books rebuilt as a restart rebuilds them
      await resetClaims(lease.term); // a shard's claims: what the books reserve, from now on
      await settlement.start(); // every batch whose fate is unknown, resolved as a restart does
      readAheadAtTermStart();
      role.lead(lease, api.url); // order entry from now on
      log.info({ term: lease.term, since: lease.since, url: api.url }, "role change: leader");
    };
    const follow = (firstTryAfterMs: number) =>
      followLeader({
        db,
        leaseDb,
        election: { ...election, url: api.url },
        firstTryAfterMs,
        role,
        engine,
        log,
        promote,
        failed: (error) => {
          log.error({ err: String(error) }, "following the leader failed: stopping (restart follows again)");
          void stop(1);
        },
      });
    /**
     * Leader → follower in this process (the lease lost, or it could lapse before a renewal lands,
     * or the shared database refused a commit): order entry answers NOT_LEADER and the engine
     * starts no state change at once; settlement stops after its step in progress; the last
     * commits land or are refused; the lease is handed over if it is still this term's; the working
     * copy is read again from PostgreSQL and the books rebuilt from it; then it follows, and tries
     * the lease again only after a whole lease (the standby goes first). If PostgreSQL cannot be
     * read, it stops (a restart follows).
     */
    stepDown = (reason) => {
      if (stopping !== undefined || steppingDown !== undefined) return;
      if (!role.leading) {
        // Lost while taking over (between winning the lease and leading): nothing to hand back.
        if (held !== undefined) {
          log.error({ reason }, "the lease was lost while taking over: stopping (restart follows)");
          void stop(1);
        }
        return;
      }
      const term = db.term;
      log.error({ reason, term }, "role change: stepping down, no longer the leader: following from now");
      held?.stop();
      held = undefined;
      if (claims !== undefined) claims.term = undefined;
      engine.demote();
      role.follow();
      steppingDown = (async () => {
        await settlement.stop().catch((e: unknown) => log.error({ err: String(e) }, "settlement stop failed"));
        await db.resync();
        if (term !== undefined) await releaseLease(leaseDb, term).catch(() => {});
        engine.refollow();
        settlement = newSettlement();
        if (stopping !== undefined) return;
        following = follow(config.leaseMs);
        log.info({ term }, "role change: follower (stepped down), serving reads");
      })()
        .catch((error: unknown) => {
          log.error({ err: String(error) }, "stepping down failed: stopping (restart follows)");
          void stop(1);
        })
        .finally(() => (steppingDown = undefined));
    };
    db.onFailure = (error) => stepDown(`the shared database refused a commit: ${error.message}`);
    if (!role.leading) following = follow(0);
  }
  return {
    api,
    engine,
    store,
    get settlement() {
      return settlement;
    },
    reads,
    account,
    role,
    done,
    stop,
  };
}

/** The parameters of a shard's markets, as the risk check reads them (cached per block). */
async function shardMarkets(
  reads: CachedChainReads,
  ids: readonly bigint[],
): Promise<(id: bigint) => Market | undefined> {
  const markets = await Promise.all(ids.map((id) => reads.market(id)));
  return (id) => markets[ids.indexOf(id)];
}

/**
 * With `CROSSBOOK_CLUSTER_SECRET` set (a shard behind gateways): the gateways' channel, sessions
 * MACed with the secret, and the signers the gateways recovered believed. Without: nothing changes.
 */
function clusterOptions(
  env: NodeJS.ProcessEnv,
  trustSigner: TrustSigner,
): { clusterSecret?: string; trustSigner?: TrustSigner } {
  const secret = env[CLUSTER_SECRET_ENV];
  return secret === undefined || secret === "" ? {} : { clusterSecret: secret, trustSigner };
}

/** How this keeper takes part in the election: its name in the lease, its URL, the lease's length. */
interface Election {
  readonly holder: string;
  readonly url: string;
  readonly leaseMs: number;
}

function electionOptions(config: KeeperConfig): Election {
  return {
    holder: `${hostname()}:${process.pid}`,
    url: `http://${config.api.host}:${config.api.port}`,
    leaseMs: config.leaseMs,
  };
}

/** The API's URL, once it listens: what followers name in `NOT_LEADER` and clients follow. */
async function announceUrl(db: LeaseDb, term: number, url: string): Promise<void> {
  await db.query("UPDATE leader_lease SET url = $1 WHERE id = 1 AND term = $2", [url, term]);
}

/** Ends the lease of `term` now (a clean stop or a step-down): a follower takes over at its next try. */
async function releaseLease(db: LeaseDb, term: number): Promise<void> {
  await db.query("UPDATE leader_lease SET expires_at = now() WHERE id = 1 AND term = $1", [term]);
}

/**
 * A follower's two loops. The store's: LISTEN on its schema's channel (`PostgresDatabase.channel`:
 * every leader commit in the schema notifies it) and refresh the working copy at each notification, or every quarter lease at the latest (the
 * polling fallback, should a notification be lost); the engine's books follow each refresh
 * (`Engine.follow`) and the feed publishes what changed. The lease's, on its own connection: every
 * eighth of a lease (after `firstTryAfterMs`), try to take the lease and learn who leads; once it
 * holds it, the store's loop ends after its refresh in progress and `promote` runs.
 */
function followLeader(o: {
  db: PostgresDatabase;
  leaseDb: LeaseDb;
  election: Election;
  firstTryAfterMs: number;
  role: KeeperRole;
  engine: Engine;
  log: Logger;
  promote: (lease: Lease, acquiredAt: number) => Promise<void>;
  failed: (error: unknown) => void;
}): { stop(): void; done: Promise<void> } {
  const { tryMs, pollMs } = leaseTiming(o.election.leaseMs);
  const pgc = o.db.pg;
  let stopped = false;
  let leading = false;
  let dirty = false;
  let wake = () => {};
  let nap: NodeJS.Timeout | undefined;
  let napEnd = () => {};
  const onNotify = () => {
    dirty = true;
    wake();
  };
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).then(() => {
      wake = () => {};
    });
  pgc.on("notification", onNotify);
  const refreshing = (async () => {
    await pgc.query(`LISTEN ${o.db.channel}`);
    while (!stopped && !leading) {
      dirty = false;
      await o.db.refresh((pulled) => o.engine.follow(pulled));
      if (dirty || stopped || leading) continue;
      await pause(pollMs);
    }
    pgc.off("notification", onNotify);
    if (!stopped) await pgc.query(`UNLISTEN ${o.db.channel}`);
  })();
  const electing = (async () => {
    let announced = false;
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        napEnd = resolve;
        nap = setTimeout(resolve, ms);
      });
    if (o.firstTryAfterMs > 0) await sleep(o.firstTryAfterMs);
    while (!stopped) {
      const at = systemLeaseClock.now();
      const won = await tryAcquire(o.leaseDb, o.election.holder, o.election.url, o.election.leaseMs).catch(
        (error: unknown) => {
          o.log.warn({ err: String(error) }, "lease: the try failed; trying again");
          return undefined;
        },
      );
      if (stopped) return;
      if (won !== undefined) {
        leading = true;
        wake();
        await refreshing; // its refresh in progress ends first: one at a time on the store's session
        await o.promote(won, at);
        return;
      }
      const lease = await currentLease(o.leaseDb).catch(() => undefined);
      o.role.observe(lease);
      if (!announced && lease !== undefined) {
        o.log.info(
          { leader: lease.holder, url: lease.url, term: lease.term },
          "role: standby (follower): serving reads, waiting for the lease",
        );
        announced = true;
      }
      await sleep(tryMs);
    }
  })();
  const done = Promise.all([refreshing, electing]).then(
    () => undefined,
    (error: unknown) => {
      if (!stopped) o.failed(error);
    },
  );
  return {
    stop() {
      stopped = true;
      pgc.off("notification", onNotify);
      wake();
      if (nap !== undefined) clearTimeout(nap);
      napEnd();
    },
    done,
  };
}

/** A database location fit for a message: a URL's password hidden. */
export function redactUrl(location: string): string {
  return location.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@]*@/i, "$1:***@");
}

function countOutcome(metrics: Metrics, o: SettlementOutcome): void {
  switch (o.outcome) {
    case "settled":
      metrics.batchOutcome("settled");
      if (o.gasPerFill !== undefined) metrics.gasPerFill(o.gasPerFill);
      for (const ms of o.latenciesMs ?? []) metrics.settlementLatency(ms);
      break;
    case "skipped": // the keeper's own skip of fills its simulation blamed: one batch attempt
      metrics.batchOutcome("skipped");
      break;
    case "reverted":
    case "replaced":
    case "replacement-capped":
    case "dropped":
      metrics.batchOutcome(o.outcome);
      break;
    default:
      break;
  }
}
