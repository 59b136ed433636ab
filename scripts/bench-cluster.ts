/**
 * `npm run bench:cluster`: what the gateway/shard split costs and buys on this machine, in one run
 * (issue 15). A benchmark, not a test: it prints what it measured and exits 1 only if something is
 * broken (`BENCH_CLUSTER_STRICT=1`: also when a target is missed).
 *
 * Set-up (scripts/lib/cluster.ts; all torn down at the end or on any failure or signal): an
 * embedded PostgreSQL, a Hardhat node with the local market, two shards (market 1 and market 2,
 * a leader each; `BENCH_CLUSTER_FOLLOWERS=1` adds a follower to each), two gateways, and beside
 * them the single-process keeper (`crossbook-keeper`, SQLite) on the same node. Traders are funded
 * fresh; the load generator (scripts/bench-api/loadgen.ts, its own process) sends post-only orders
 * over both markets that all rest, so this measures order entry, not settlement; after each step
 * every account's orders are cancelled (`POST /v1/cancels/all`, fanned out by a gateway) and the
 * bench checks that exactly the accepted ones were.
 *
 * Each round runs three steps in turn, the order rotating from round to round so that the
 * machine's load falls on all alike, each a closed loop with `BENCH_CLUSTER_CONCURRENCY` requests
 * in flight for `BENCH_CLUSTER_SECONDS`:
 *
 * - `single`: every order to the single process;
 * - `1 gateway`: every order to gateway 1, which routes each to its market's shard leader;
 * - `2 gateways`: orders to gateway 1 and 2 in turn.
 *
 * Per step it reads every process's CPU time (user + system, from /proc/<pid>/stat) before and
 * after, so that per-order CPU = CPU used / orders accepted, per kind of process: the single
 * keeper, the gateways, the shard leaders, and PostgreSQL's server processes (the shards' store;
 * the single keeper's SQLite is inside its own figure). `BENCH_CLUSTER_CPU_PROF=<dir>` also writes
 * a V8 CPU profile of each keeper and gateway process there, to see where the time goes
 * (`scripts/bench-api/profile-summary.ts`); the per-order figures come from /proc, which counts
 * every thread and no sampling gap.
 *
 * Per step it also reads the shard leaders' node calls (`crossbook_rpc_calls_total` from their
 * `/metrics`, by cause and method) before and after, and prints them per 1,000 orders accepted over
 * the cluster's steps: whether a shard's order path reads the chain per order, or only per block.
 *
 * In the same run, before the processes start, it times native signature recovery in this process
 * (the gateway's `recoverOrderSigner`, libsecp256k1): the unit the shard target is given in.
 *
 * Targets (issue 15): the cluster with two gateways accepts at least as many orders a second as the
 * single process; a shard leader spends no more CPU per order than one native signature recovery.
 *
 * Options (environment): BENCH_CLUSTER_ROUNDS (default 3), BENCH_CLUSTER_SECONDS (default 4),
 * BENCH_CLUSTER_CONCURRENCY (default 64), BENCH_CLUSTER_ACCOUNTS (default 100),
 * BENCH_CLUSTER_FOLLOWERS (0 or 1, default 0), BENCH_CLUSTER_CPU_PROF, BENCH_CLUSTER_STRICT=1,
 * BENCH_CLUSTER_SETUPS (a comma-separated subset of `single`, `1gateway`, `2gateways`; default all
 * three): only those steps run, warm-up included, so that a CPU profile shows one setup's work (the
 * single keeper still starts, idle); a target whose setups did not both run is not judged.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { envWhole, fmtWhole as fmt, fundTraders, loadAverage, median, rpc } from "./lib/bench";
import { cpuOf, postgresPids } from "./lib/cpu";
import { ONE_SHARD_PER_LOCAL_MARKET, startCluster, type LocalCluster } from "./lib/cluster";
import { startLocalKeeper, stopAll, type ManagedProcess } from "./lib/processes";
import { nativeRecoveryMicros } from "./lib/recovery";
import type { StepResult } from "./bench-api/loadgen";
import { cancelAll, startLoadgen, type Loadgen } from "./bench-api/parent";

const env = process.env;
const ROUNDS = envWhole("BENCH_CLUSTER_ROUNDS", 3);
const SECONDS = envWhole("BENCH_CLUSTER_SECONDS", 4);
const CONCURRENCY = envWhole("BENCH_CLUSTER_CONCURRENCY", 64);
const ACCOUNTS = envWhole("BENCH_CLUSTER_ACCOUNTS", 100);
const FOLLOWERS = env.BENCH_CLUSTER_FOLLOWERS === "1";
const CPU_PROF = env.BENCH_CLUSTER_CPU_PROF?.trim() || undefined;
const STRICT = env.BENCH_CLUSTER_STRICT === "1";
/** Bids and asks up to this many ticks from the feed price: well inside the band, and they never cross. */
const SPREAD = 2000;
const RECOVERIES = 2000;

// ─── One step ─────────────────────────────────────────────────────────────────────────────────

type Setup = "single" | "1 gateway" | "2 gateways";
const ALL_SETUPS: readonly Setup[] = ["single", "1 gateway", "2 gateways"];
const SETUPS = setupsOf(env.BENCH_CLUSTER_SETUPS);

/** `BENCH_CLUSTER_SETUPS`: the setups named (`1gateway` or `1 gateway`), in the usual order; all when unset. */
function setupsOf(raw: string | undefined): readonly Setup[] {
  if (raw === undefined || raw.trim() === "") return ALL_SETUPS;
  const names = raw.split(",").map((n) => n.trim().replace(/\s+/g, ""));
  for (const n of names) {
    if (!ALL_SETUPS.some((s) => s.replace(" ", "") === n)) {
      throw new Error(`bench:cluster: BENCH_CLUSTER_SETUPS names ${n}; it takes single, 1gateway, 2gateways`);
    }
  }
  return ALL_SETUPS.filter((s) => names.includes(s.replace(" ", "")));
}

interface Step {
  readonly setup: Setup;
  readonly result: StepResult;
  readonly acceptedPerSecond: number;
  /** CPU seconds used during the step, by kind of process. */
  readonly cpu: Record<"single" | "gateways" | "shards" | "postgres", number>;
  /** The shard leaders' node calls during the step, by `cause method`. */
  readonly shardRpc: ReadonlyMap<string, number>;
}

/** The keepers' node calls so far, summed over `urls`, by `cause method` (`crossbook_rpc_calls_total`). */
async function rpcCallsOf(urls: readonly string[]): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const m of text.matchAll(/^crossbook_rpc_calls_total\{([^}]*)\} (\S+)$/gm)) {
      const label = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(m[1])?.[1] ?? "?";
      const key = `${label("cause")} ${label("method")}`;
      calls.set(key, (calls.get(key) ?? 0) + Number(m[2]));
    }
  }
  return calls;
}

interface Processes {
  readonly single: ManagedProcess;
  readonly singleUrl: string;
  readonly cluster: LocalCluster;
}

async function runStep(loadgen: Loadgen, p: Processes, setup: Setup, keys: readonly Hex[]): Promise<Step> {
  const gatewayUrls = p.cluster.gateways.map((g) => g.url);
  const urls = setup === "single" ? [p.singleUrl] : setup === "1 gateway" ? gatewayUrls.slice(0, 1) : gatewayUrls;
  const leaders = await Promise.all(["a", "b"].map((s) => p.cluster.leaderOf(s)));
  const pids = {
    single: [p.single.child.pid as number],
    gateways: p.cluster.gateways.slice(0, setup === "2 gateways" ? 2 : 1).map((g) => g.process.child.pid as number),
    shards: leaders.map((l) => l.process.child.pid as number),
    postgres: postgresPids(p.cluster.postgres.dir),
  };
  const before = {
    single: cpuOf(pids.single),
    gateways: cpuOf(pids.gateways),
    shards: cpuOf(pids.shards),
    postgres: cpuOf(pids.postgres),
  };
  const rpcBefore = await rpcCallsOf(leaders.map((l) => l.url));
  const reply = await loadgen.ask({
    op: "step",
    urls,
    seconds: SECONDS,
    concurrency: CONCURRENCY,
    maxOrders: SECONDS * 10_000,
    drainMs: 60_000,
  });
  if (reply.op !== "result") throw new Error("bench:cluster: the load generator answered no result");
  const cpu = {
    single: cpuOf(pids.single) - before.single,
    gateways: cpuOf(pids.gateways) - before.gateways,
    shards: cpuOf(pids.shards) - before.shards,
    postgres: cpuOf(pids.postgres) - before.postgres,
  };
  const shardRpc = await rpcCallsOf(leaders.map((l) => l.url));
  for (const [key, n] of rpcBefore) shardRpc.set(key, (shardRpc.get(key) ?? 0) - n);
  const cancelled = await cancelAll(urls[0], p.cluster.deployment, keys);
  if (cancelled !== reply.result.accepted) {
    throw new Error(
      `bench:cluster: ${setup}: ${reply.result.accepted} orders accepted but ${cancelled} cancelled afterwards`,
    );
  }
  return {
    setup,
    result: reply.result,
    acceptedPerSecond: reply.result.accepted / reply.result.elapsedSeconds,
    cpu,
    shardRpc,
  };
}

// ─── Main ─────────────────────────────────────────────────────────────────────────────────────

const us = (seconds: number, orders: number) => (orders === 0 ? NaN : (seconds * 1e6) / orders);

async function main(): Promise<number> {
  const started = Date.now();
  const say = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  const dir = mkdtempSync(join(tmpdir(), "bench-cluster-"));
  const loadBefore = loadAverage();
  say(
    `load average ${loadBefore}; ${ROUNDS} rounds × ${SETUPS.length} setups (${SETUPS.join(", ")}) × ${SECONDS} s, ${CONCURRENCY} in flight, ${ACCOUNTS} accounts`,
  );
  let cluster: LocalCluster | undefined;
  let loadgen: Loadgen | undefined;
  try {
    cluster = await startCluster({
      dir,
      shards: ONE_SHARD_PER_LOCAL_MARKET,
      gateways: 2,
      followers: FOLLOWERS,
      // The load generator and the cancel-all after each step stand for many traders, from one address.
      gatewayFlags: ["--max-http-connections-per-ip", "10000"],
      cpuProfileDir: CPU_PROF === undefined ? undefined : resolve(CPU_PROF),
      // A process's errors (log level 50 and up) are shown: an answer INTERNAL names its cause there.
      echo: (name, line) => {
        if (/"level":(5|6)\d/.test(line) || /"level":40.*lease/.test(line)) console.error(`${name}: ${line}`);
      },
    });
    const { deployment, node } = cluster;
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.exchange };
    const recoverUs = await nativeRecoveryMicros(domain, RECOVERIES);
    say(`native signature recovery in this process: ${recoverUs.toFixed(1)} µs (median of 5 passes of ${RECOVERIES})`);
    const single = await startLocalKeeper(deployment, {
      rpcUrl: node.url,
      database: join(dir, "single.db"),
      // The load generator and the cancel-all after each step stand for many traders, from one address.
      flags: ["--log-level", "warn", "--max-http-connections-per-ip", "10000"],
      name: "single keeper",
      nodeArgs:
        CPU_PROF === undefined
          ? []
          : ["--cpu-prof", "--cpu-prof-dir", resolve(CPU_PROF), "--cpu-prof-name", "single.cpuprofile"],
    });
    say(`cluster: gateways ${cluster.gateways.map((g) => g.url).join(", ")}; single keeper ${single.url}`);

    await rpc(node.url, "evm_setIntervalMining", [0]); // blocks only with transactions: the read cache stays warm
    const keys = Array.from({ length: ACCOUNTS }, () => generatePrivateKey());
    await fundTraders(node.url, deployment, keys);
    say(`${ACCOUNTS} traders funded and deposited`);
    const latest = (await rpc(node.url, "eth_getBlockByNumber", ["latest", false])) as { timestamp: Hex };
    loadgen = startLoadgen();
    const ready = await loadgen.ask({
      op: "init",
      url: single.url,
      domain,
      keys,
      markets: deployment.markets.map((m) => ({
        marketId: m.id.toString(),
        midTicks: m.initialPriceTicks.toString(),
        spreadTicks: SPREAD,
      })),
      expiry: (BigInt(latest.timestamp) + 86_400n).toString(),
      maxLots: 5,
      maxSockets: Math.max(CONCURRENCY, 256),
    });
    if (ready.op !== "ready") throw new Error("bench:cluster: the load generator did not initialise");

    const processes: Processes = { single: single.process, singleUrl: single.url, cluster };
    // Warm-up, not counted: every account's first order fills each keeper's per-block read cache.
    for (const setup of SETUPS) await runStep(loadgen, processes, setup, keys);
    const steps: Step[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < SETUPS.length; k++) {
        const setup = SETUPS[(k + round) % SETUPS.length];
        const step = await runStep(loadgen, processes, setup, keys);
        steps.push(step);
        const n = step.result.accepted;
        say(
          `round ${round + 1} ${setup.padEnd(10)}: ${n} accepted (${fmt(step.acceptedPerSecond)}/s), p50 ${step.result.p50.toFixed(1)} ms, ` +
            `p99 ${step.result.p99.toFixed(1)} ms; CPU µs/order: single ${fmt(us(step.cpu.single, n))}, ` +
            `gateways ${fmt(us(step.cpu.gateways, n))}, shards ${fmt(us(step.cpu.shards, n))}, postgres ${fmt(us(step.cpu.postgres, n))}` +
            (Object.keys(step.result.rejected).length > 0 ? `; rejected ${JSON.stringify(step.result.rejected)}` : "") +
            (Object.keys(step.result.errors).length > 0 ? `; errors ${JSON.stringify(step.result.errors)}` : ""),
        );
      }
    }
    report(steps, recoverUs, loadBefore);
    const two = median(steps.filter((s) => s.setup === "2 gateways").map((s) => s.acceptedPerSecond));
    const one = median(steps.filter((s) => s.setup === "single").map((s) => s.acceptedPerSecond));
    const shardUs = median(steps.filter((s) => s.setup !== "single").map((s) => us(s.cpu.shards, s.result.accepted)));
    const met = !(two < one) && !(shardUs > recoverUs); // a setup that did not run (NaN) misses nothing
    return STRICT && !met ? 1 : 0;
  } finally {
    await loadgen?.ask({ op: "exit" }).catch(() => undefined);
    await cluster?.stop();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(steps: readonly Step[], recoverUs: number, loadBefore: string): void {
  const rows: string[][] = [
    ["setup", "accepted/s", "p50 ms", "p99 ms", "single µs", "gateway µs", "shard µs", "postgres µs", "total µs"],
  ];
  for (const setup of SETUPS) {
    const mine = steps.filter((s) => s.setup === setup);
    const per = (kind: keyof Step["cpu"]) => median(mine.map((s) => us(s.cpu[kind], s.result.accepted)));
    const cells = {
      single: per("single"),
      gateways: per("gateways"),
      shards: per("shards"),
      postgres: per("postgres"),
    };
    const total = setup === "single" ? cells.single : cells.gateways + cells.shards + cells.postgres;
    rows.push([
      setup,
      fmt(median(mine.map((s) => s.acceptedPerSecond))),
      median(mine.map((s) => s.result.p50)).toFixed(1),
      median(mine.map((s) => s.result.p99)).toFixed(1),
      setup === "single" ? fmt(cells.single) : "-",
      setup === "single" ? "-" : fmt(cells.gateways),
      setup === "single" ? "-" : fmt(cells.shards),
      setup === "single" ? "-" : fmt(cells.postgres),
      fmt(total),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  console.log(`\nbench:cluster — medians of ${ROUNDS} rounds, ${SECONDS} s closed loops, ${CONCURRENCY} in flight`);
  for (const r of rows)
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "));
  const single = median(steps.filter((s) => s.setup === "single").map((s) => s.acceptedPerSecond));
  const two = median(steps.filter((s) => s.setup === "2 gateways").map((s) => s.acceptedPerSecond));
  const shardUs = median(steps.filter((s) => s.setup !== "single").map((s) => us(s.cpu.shards, s.result.accepted)));
  const clusterSteps = steps.filter((s) => s.setup !== "single");
  const clusterOrders = clusterSteps.reduce((sum, s) => sum + s.result.accepted, 0);
  const rpcTotals = new Map<string, number>();
  for (const s of clusterSteps) for (const [key, n] of s.shardRpc) rpcTotals.set(key, (rpcTotals.get(key) ?? 0) + n);
  const rpcRows = [...rpcTotals].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  if (clusterOrders > 0) {
    console.log(`shard leaders' node calls per 1,000 orders accepted (${fmt(clusterOrders)} orders; cause method):`);
    for (const [key, n] of rpcRows) console.log(`  ${((1000 * n) / clusterOrders).toFixed(1).padStart(8)}  ${key}`);
    if (rpcRows.length === 0) console.log("  none");
  }
  const met = (ok: boolean) => (ok ? "MET" : "MISSED");
  const ran = (setup: Setup) => SETUPS.includes(setup);
  console.log(
    `native signature recovery: ${recoverUs.toFixed(1)} µs\n` +
      (ran("single") && ran("2 gateways")
        ? `target: 2 gateways ≥ single process: ${fmt(two)} vs ${fmt(single)} orders/s (${(two / single).toFixed(2)}×) — ${met(two >= single)}\n`
        : "") +
      (ran("1 gateway") || ran("2 gateways")
        ? `target: shard CPU per order ≤ one native recovery: ${shardUs.toFixed(1)} vs ${recoverUs.toFixed(1)} µs (${(shardUs / recoverUs).toFixed(1)} recoveries) — ${met(shardUs <= recoverUs)}\n`
        : "") +
      `load average (1/5/15 min): before ${loadBefore}, after ${loadAverage()}`,
  );
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench:cluster: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
