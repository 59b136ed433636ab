/**
 * The keeper's Prometheus metrics, on a registry of its own (never prom-client's global one, so
 * that two keepers in one process — tests — do not share counters). The API counts orders and HTTP
 * requests, the feed its clients, settlement calls `batchOutcome`, `gasPerFill`,
 * `settlementLatency` and `rpcError`; book depth and pending fills are read at scrape time from
 * the engine and store that `watch` is given. Names and labels: keeper/README.md, "Metrics".
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Engine } from "../engine";
import type { KeeperRole } from "../leader";
import type { Store } from "../store";
import type { RpcCall } from "./rpc";

/** What a settlement batch came to. */
export type BatchOutcome = "sent" | "settled" | "skipped" | "reverted" | "replaced" | "replacement-capped" | "dropped";

/** Health figures read at scrape time (`watchHealth`). */
export interface HealthFigures {
  /** The keeper account's ETH balance, in wei (undefined: not read yet). */
  readonly keeperBalanceWei?: bigint;
  /** Whether a batch is stuck at the fee caps. */
  readonly settlementStuck: boolean;
  /** How many blocks the cached chain facts are behind the chain. */
  readonly chainFactsBehindBlocks: bigint;
}

/** Seconds, for how long an order waited at one stage (risk read, queue, commit): 1 ms to 5 s. */
const ORDER_WAIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class Metrics {
  readonly registry = new Registry();
  private readonly ordersAccepted: Counter<"market">;
  private readonly ordersRejected: Counter<"code">;
  private readonly orderSigners: Counter<"source">;
  private readonly bookLevels: Gauge<"market" | "side">;
  private readonly bookLots: Gauge<"market" | "side">;
  private readonly batches: Counter<"outcome">;
  private readonly gasPerFillHistogram: Histogram;
  private readonly settlementLatencyHistogram: Histogram;
  private readonly rpcErrors: Counter<"method">;
  private readonly rpcCalls: Counter<"method" | "cause">;
  private readonly rpcSeconds: Counter<"method" | "cause">;
  private readonly factWaits: Counter<"fact" | "why">;
  private readonly factWaitSeconds: Counter<"fact" | "why">;
  private readonly accountsReadAhead: Counter<"why">;
  private readonly riskReadSeconds: Histogram<"account">;
  private readonly orderStageSeconds: Histogram<"stage" | "account">;
  private readonly logFsyncSeconds: Histogram;
  private readonly orderHttpStageSeconds: Histogram<"stage" | "account">;
  private readonly feedClients: Gauge;
  private readonly httpDuration: Histogram<"method" | "route" | "status">;
  private engine?: Engine;
  private store?: Store;
  private health?: () => HealthFigures;
  private role?: KeeperRole;
  private readonly roleChanges: Counter<"role">;
  private readonly leaseRenewalSeconds: Histogram;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: "crossbook_" });
    this.ordersAccepted = new Counter({
      name: "crossbook_orders_accepted_total",
      help: "Orders the keeper accepted, by market",
      labelNames: ["market"],
      registers,
    });
    this.ordersRejected = new Counter({
      name: "crossbook_orders_rejected_total",
      help: "Orders the keeper refused, by error code (schema errors included)",
      labelNames: ["code"],
      registers,
    });
    this.orderSigners = new Counter({
      name: "crossbook_order_signers_total",
      help: "Order signatures whose signer this keeper learnt, by source: recovered here, or a gateway's",
      labelNames: ["source"],
      registers,
    });
    const self = this;
    this.bookLevels = new Gauge({
      name: "crossbook_book_levels",
      help: "Price levels in the book, by market and side",
      labelNames: ["market", "side"],
      registers,
      collect() {
        self.collectDepth();
      },
    });
    this.bookLots = new Gauge({
      name: "crossbook_book_lots",
      help: "Lots resting in the book, by market and side",
      labelNames: ["market", "side"],
      registers,
    });
    new Gauge({
      name: "crossbook_fills_pending",
      help: "Matched fills not yet in a settlement batch",
      registers,
      collect() {
        if (self.store !== undefined) this.set(self.store.pendingFillCount());
      },
    });
    new Gauge({
      name: "crossbook_store_log_frames",
      help: "The SQLite log's frames (4 KiB pages) at its last checkpoint, and how many of them were copied into the database file then (a SQLite file's keeper only)",
      labelNames: ["frames"],
      registers,
      collect() {
        const report = self.store?.database.checkpointer?.lastReport;
        if (report === undefined) return;
        this.set({ frames: "log" }, report.log);
        this.set({ frames: "checkpointed" }, report.checkpointed);
      },
    });
    // The event loop's delays since the previous scrape, sampled every 10 ms: what a stall of the
    // keeper's one thread shows as (a long synchronous write, a flood of work).
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    new Gauge({
      name: "crossbook_event_loop_delay_seconds",
      help: "The event loop's delay since the previous scrape: p50, p99 and max (sampled every 10 ms)",
      labelNames: ["quantile"],
      registers,
      collect() {
        if (loop.count > 0) {
          this.set({ quantile: "0.5" }, loop.percentile(50) / 1e9);
          this.set({ quantile: "0.99" }, loop.percentile(99) / 1e9);
          this.set({ quantile: "max" }, loop.max / 1e9);
        }
        loop.reset();
      },
    });
    new Gauge({
      name: "crossbook_keeper_is_leader",
      help: "1 while this keeper leads (matches and settles), 0 while it follows",
      registers,
      collect() {
        if (self.role !== undefined) this.set(self.role.leading ? 1 : 0);
      },
    });
    new Gauge({
      name: "crossbook_keeper_term",
      help: "The leader lease's term: this keeper's own while it leads, the leader's it last saw while it follows",
      registers,
      collect() {
        const term = self.role?.current.term;
        if (term !== undefined) this.set(term);
      },
    });
    this.leaseRenewalSeconds = new Histogram({
      name: "crossbook_lease_renewal_seconds",
      help: "How long PostgreSQL took to answer each renewal of the leader's lease (its margin is a quarter lease)",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2],
      registers,
    });
    this.roleChanges = new Counter({
      name: "crossbook_keeper_role_changes_total",
      help: "Changes of role in this process, by the role taken (a follower taking the lease: leader)",
      labelNames: ["role"],
      registers,
    });
    new Gauge({
      name: "crossbook_keeper_balance_wei",
      help: "The keeper account's ETH balance (wei), read by settlement each block",
      registers,
      collect() {
        const balance = self.health?.().keeperBalanceWei;
        if (balance !== undefined) this.set(Number(balance));
      },
    });
    new Gauge({
      name: "crossbook_settlement_stuck",
      help: "1 while a batch cannot be replaced within the fee caps (see the replacement-capped outcome)",
      registers,
      collect() {
        if (self.health !== undefined) this.set(self.health().settlementStuck ? 1 : 0);
      },
    });
    new Gauge({
      name: "crossbook_chain_facts_behind_blocks",
      help: "How many blocks the keeper's cached chain facts are behind the chain",
      registers,
      collect() {
        if (self.health !== undefined) this.set(Number(self.health().chainFactsBehindBlocks));
      },
    });
    this.batches = new Counter({
      name: "crossbook_batches_total",
      help: "Settlement batches by outcome (sent, settled, skipped, reverted, replaced, replacement-capped, dropped)",
      labelNames: ["outcome"],
      registers,
    });
    this.gasPerFillHistogram = new Histogram({
      name: "crossbook_gas_per_fill",
      help: "Gas used by a mined settlement batch divided by its fills",
      buckets: [10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 80_000, 100_000, 150_000, 250_000],
      registers,
    });
    this.settlementLatencyHistogram = new Histogram({
      name: "crossbook_order_to_settlement_seconds",
      help: "From a fill's match to its settlement on-chain",
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
      registers,
    });
    this.rpcErrors = new Counter({
      name: "crossbook_rpc_errors_total",
      help: "Failed JSON-RPC calls, by method",
      labelNames: ["method"],
      registers,
    });
    this.rpcCalls = new Counter({
      name: "crossbook_rpc_calls_total",
      help: "JSON-RPC calls to the node, by method (eth_call by function) and cause (the job that made it)",
      labelNames: ["method", "cause"],
      registers,
    });
    this.rpcSeconds = new Counter({
      name: "crossbook_rpc_call_seconds_total",
      help: "Seconds from request to answer of the JSON-RPC calls to the node, by method and cause",
      labelNames: ["method", "cause"],
      registers,
    });
    this.factWaits = new Counter({
      name: "crossbook_chain_fact_waits_total",
      help: "Cached chain facts an order or check had to wait on the node for, by fact and why (new, moved-by-event, moved-by-fill, uncached)",
      labelNames: ["fact", "why"],
      registers,
    });
    this.factWaitSeconds = new Counter({
      name: "crossbook_chain_fact_wait_seconds_total",
      help: "Seconds orders and checks waited on the node for cached chain facts, by fact and why",
      labelNames: ["fact", "why"],
      registers,
    });
    this.accountsReadAhead = new Counter({
      name: "crossbook_accounts_read_ahead_total",
      help: "An account's facts read ahead in a market, before an order it had not sent yet, by why (deposit, open-orders)",
      labelNames: ["why"],
      registers,
    });
    this.riskReadSeconds = new Histogram({
      name: "crossbook_order_risk_read_seconds",
      help: "How long an order's risk check waited for its chain facts, by account: known (the keeper accepted an order of it, or saw it deposit) or unknown",
      labelNames: ["account"],
      buckets: ORDER_WAIT_BUCKETS,
      registers,
    });
    this.orderStageSeconds = new Histogram({
      name: "crossbook_order_stage_seconds",
      help: "How long an order waited behind its account's earlier orders (queue) and for its group commit (commit), by account: known or unknown",
      labelNames: ["stage", "account"],
      buckets: ORDER_WAIT_BUCKETS,
      registers,
    });
    this.logFsyncSeconds = new Histogram({
      name: "crossbook_store_log_fsync_seconds",
      help: "How long each fsync of the SQLite log took, off the event loop, from the ask to its callback on the loop: what a group commit waits for the disk (SQLite only)",
      buckets: ORDER_WAIT_BUCKETS,
      registers,
    });
    this.orderHttpStageSeconds = new Histogram({
      name: "crossbook_order_http_stage_seconds",
      help: "Where a POST /v1/orders spent its time from the request's arrival to its answer's last write, by stage (body, intake, prepare, engine, reply, write, total) and account: known (the keeper accepted an order of it, or saw it deposit) or unknown",
      labelNames: ["stage", "account"],
      buckets: ORDER_WAIT_BUCKETS,
      registers,
    });
    this.feedClients = new Gauge({
      name: "crossbook_feed_clients",
      help: "Open WebSocket feed connections",
      registers,
    });
    this.httpDuration = new Histogram({
      name: "crossbook_http_request_duration_seconds",
      help: "HTTP request duration, by method, route pattern and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  }

  /** Reads book depth (per market and side) and pending fills from these at scrape time. */
  watch(engine: Engine, store: Store): void {
    this.engine = engine;
    this.store = store;
    store.database.onLogFsync = (seconds) => this.logFsyncSeconds.observe(seconds);
  }

  /** A renewal of the leader's lease answered, after `seconds`. */
  leaseRenewed(seconds: number): void {
    this.leaseRenewalSeconds.observe(seconds);
  }

  /** The keeper's role, read at scrape time; each change of it is counted. */
  watchRole(role: KeeperRole): void {
    this.role = role;
    role.onChange((state) => this.roleChanges.inc({ role: state.role }));
  }

  /** Reads the keeper's balance, a stuck batch and the chain facts' lag from `figures` at scrape time. */
  watchHealth(figures: () => HealthFigures): void {
    this.health = figures;
  }

  orderAccepted(marketId: bigint): void {
    this.ordersAccepted.inc({ market: marketId.toString() });
  }

  /** An order's signer learnt: recovered by this keeper, or told by a gateway that recovered it. */
  orderSigner(source: "recovered" | "gateway"): void {
    this.orderSigners.inc({ source });
  }

  orderRejected(code: string): void {
    this.ordersRejected.inc({ code });
  }

  batchOutcome(outcome: BatchOutcome, count = 1): void {
    this.batches.inc({ outcome }, count);
  }

  gasPerFill(gas: number | bigint): void {
    this.gasPerFillHistogram.observe(Number(gas));
  }

  /** Milliseconds from match to settlement. */
  settlementLatency(ms: number): void {
    this.settlementLatencyHistogram.observe(ms / 1000);
  }

  rpcError(method: string): void {
    this.rpcErrors.inc({ method });
  }

  /** A node call answered or failed (`causedTransports`). */
  rpcCall(call: RpcCall): void {
    const labels = { method: call.method, cause: call.cause };
    this.rpcCalls.inc(labels);
    this.rpcSeconds.inc(labels, call.seconds);
  }

  /** An order or check waited `seconds` on the node for a chain fact (`CachedChainReadsOptions.onWait`). */
  chainFactWait(fact: string, why: string, seconds: number): void {
    this.factWaits.inc({ fact, why });
    this.factWaitSeconds.inc({ fact, why }, seconds);
  }

  /** An account's facts read ahead in a market, of its next order (keeper.ts, `readAheadOfAccounts`). */
  accountReadAhead(why: "deposit" | "open-orders"): void {
    this.accountsReadAhead.inc({ why });
  }

  /** An order's risk read took `seconds`; `known`: the keeper accepted an order of its maker, or saw it deposit. */
  orderRiskRead(known: boolean, seconds: number): void {
    this.riskReadSeconds.observe({ account: known ? "known" : "unknown" }, seconds);
  }

  /** An order waited `seconds` in `stage` (`EngineOptions.onOrderStage`). */
  orderStage(stage: "queue" | "check" | "commit", known: boolean, seconds: number): void {
    this.orderStageSeconds.observe({ stage, account: known ? "known" : "unknown" }, seconds);
  }

  /** A `POST /v1/orders` spent `seconds` in `stage` (keeper/src/api/orderTiming.ts); `known` undefined: its maker was not read. */
  orderHttpStage(stage: string, known: boolean | undefined, seconds: number): void {
    this.orderHttpStageSeconds.observe({ stage, account: known === true ? "known" : "unknown" }, seconds);
  }

  setFeedClients(n: number): void {
    this.feedClients.set(n);
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  /** The Prometheus text exposition. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private collectDepth(): void {
    const engine = this.engine;
    if (engine === undefined) return;
    for (const marketId of engine.markets) {
      const depth = engine.book(marketId)?.depth();
      if (depth === undefined) continue;
      for (const [side, levels] of [
        ["bid", depth.bids],
        ["ask", depth.asks],
      ] as const) {
        const labels = { market: marketId.toString(), side };
        this.bookLevels.set(labels, levels.length);
        this.bookLots.set(labels, Number(levels.reduce((sum, l) => sum + l.lots, 0n)));
      }
    }
  }
}
