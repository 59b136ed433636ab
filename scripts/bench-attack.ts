/**
 * `npm run bench:attack`: what strangers with HTTP access can do to honest traders. A benchmark,
 * not a test: it prints what it measured, side by side, and exits 1 only if something is broken
 * (`BENCH_ATTACK_STRICT=1`: also when a target is missed).
 *
 * Set-up (all torn down at the end, or on any failure or signal): a Hardhat node on a free loopback
 * port (a block a second), the local market deployed on it (scripts/deploy.ts), traders funded, and
 * per run a keeper process (the CLI, as an operator runs it) on a fresh database, with a minimum
 * notional on market 1. Then two kinds of run, each `BENCH_ATTACK_ROUNDS` times, alternating:
 *
 * - quiet: honest traders alone (scripts/bench-attack/agents.ts, "honest"): 4 market makers quoting
 *   post-only and replacing their quotes each second, 4 takers sending an IOC order each second;
 * - attack: the same honest traders, and at the same time, from other addresses (another process):
 *   (a) valid orders from fresh, unfunded keys at full speed; (b) wash trades between two funded
 *   accounts at `BENCH_ATTACK_WASH` orders/s; (c) 10,000 orders that expire in one block (placed
 *   before the window, expiring in its middle); (d) feed connections and logins from one address
 *   up to (and past) its cap; (e) soft cancels with bad signatures at full speed; (f) an honest
 *   maker's signed cancel-all (signed with a clock four minutes ahead), replayed.
 *
 * Measured over each run's window (`BENCH_ATTACK_SECONDS`): the honest orders' latency (submit to
 * answer, p50 and p99); the honest fills' match-to-settlement latency (the taker's answer to the
 * keeper's settled trade, p50 and p99) and the share of them settled once the window is drained;
 * the keeper's event-loop delay (p99 and max, from its own `/metrics`: `crossbook_event_loop_delay_seconds`,
 * since the previous scrape, which is the window's start). The database is measured after the
 * keeper's clean stop (its WAL checkpointed): its size and order rows against the orders accepted.
 * Per round it also prints where the honest orders' time went (the keeper's `Server-Timing` stages,
 * the time before the keeper read each request and after it answered, new connections), the
 * keeper's own stage histogram by account known or not, and the host's TCP accept-queue counters.
 * The table shows medians over the rounds; below it, each kind's honest p99 pooled over every
 * round's orders (a round's p99 rests on a handful of orders: lengthen the window with
 * BENCH_ATTACK_SECONDS or add rounds to judge a change), and pooled over the orders sent 2 s or
 * more into the window (`WARM_AFTER_MS`): without each trader's first orders, which wait for the
 * fresh keeper's first chain reads of its account and set the quiet run's p99. Targets (issue
 * 13): honest p99 order latency at most 2× the quiet run's, every honest fill settled, database
 * growth bounded by the accepted orders, event-loop delay p99 ≤ 50 ms.
 *
 * Options (environment): BENCH_ATTACK_ROUNDS (default 3), BENCH_ATTACK_SECONDS (default 30),
 * BENCH_ATTACK_WASH (wash orders per second, default 500), BENCH_ATTACK_ATTACKS (letters, default
 * abcdef), BENCH_ATTACK_EXPIRING (default 10000), BENCH_ATTACK_RUNS (default quiet,attack),
 * BENCH_ATTACK_CPU_PROF (a directory: each keeper writes a CPU profile there; summarise it with
 * scripts/bench-api/profile-summary.ts), BENCH_ATTACK_STAGES (a directory: each run writes every
 * honest order's stages there as JSON, `honest-<kind>-<time>.json`), BENCH_ATTACK_STRICT=1,
 * BENCH_ATTACK_CPUS and BENCH_ATTACK_ATTACKER_NICE (below).
 *
 * Cores (`BENCH_ATTACK_CPUS`, default `split`): the keeper runs on the upper half of the machine's
 * cores, and this process, the Hardhat node and the traders' and attackers' processes on the lower
 * half (scripts/lib/cpus.ts; on 2 cores, one each), in both kinds of run. Attackers on other
 * machines reach the keeper only over the network; on one machine sharing its cores, their own CPU
 * (signing 500 orders a second, opening connections) takes the keeper's, which is not an attack
 * over HTTP. The node and the honest traders share their cores with the attackers, so a slower
 * node and the traders' own waits still count against the keeper. `shared` runs every process on
 * every core. `BENCH_ATTACK_ATTACKER_NICE` (0 ..= 19, default 0) lowers the attackers' process to
 * that niceness (scripts/lib/cpus.ts, `yieldCpu`): the node and the honest traders then go first on
 * the cores they share with it, as if the attackers' CPU were on other machines too.
 * `BENCH_ATTACK_NODE_LOG=0` stops the Hardhat node from logging (and decoding) each JSON-RPC call,
 * as a production node does not.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "libsql";
import type { Hex } from "viem";
import { generatePrivateKey } from "viem/accounts";
import { DEFAULT_FUNDING, fundTraders, median, percentile, rpc } from "./lib/bench";
import { readDeployment, type Deployment } from "./lib/market";
import { checkNiceness, holdSelfTo, splitCpus, type CpuSplit } from "./lib/cpus";
import { manage, runHardhatScript, startHardhatNode, startLocalKeeper } from "./lib/processes";
import type { AgentInit, AgentReply, AgentRequest, AttackResult, HonestResult } from "./bench-attack/agents";

const ROOT = resolve(__dirname, "..");
const env = process.env;
const ROUNDS = whole("BENCH_ATTACK_ROUNDS", 3);
const SECONDS = whole("BENCH_ATTACK_SECONDS", 30);
const WASH = whole("BENCH_ATTACK_WASH", 500);
const EXPIRING = whole("BENCH_ATTACK_EXPIRING", 10_000);
const ATTACKS = env.BENCH_ATTACK_ATTACKS?.trim() || "abcdef";
const STRICT = env.BENCH_ATTACK_STRICT === "1";
const KINDS = (env.BENCH_ATTACK_RUNS?.trim() || "quiet,attack").split(",") as ("quiet" | "attack")[];
const CPU_PROF = env.BENCH_ATTACK_CPU_PROF?.trim() || undefined;
const STAGES_DIR = env.BENCH_ATTACK_STAGES?.trim() || undefined;
const CPUS = cpuPlacement(env.BENCH_ATTACK_CPUS?.trim() || "split");
const ATTACKER_NICE = niceness(env.BENCH_ATTACK_ATTACKER_NICE?.trim() || "0");
/** `BENCH_ATTACK_NODE_LOG=0`: the node does not log each call (scripts/lib/processes.ts, `quiet`). */
const NODE_QUIET = env.BENCH_ATTACK_NODE_LOG?.trim() === "0";
/** 1 USDC: a 1-lot WETH order at 2,000 USDC/WETH is worth 2 USDC (lot 0.001 WETH). */
const MIN_NOTIONAL = 1_000_000n;
const TARGETS = { p99Ratio: 2, eventLoopP99Ms: 50 };
/**
 * Orders sent this far into the window are "warm": every honest trader has sent its first orders
 * by then (the last starts 0.7 s in), and those wait for the keeper's first chain reads of its
 * account, which the fresh keeper of every run makes at the window's start.
 */
const WARM_AFTER_MS = 2_000;

function whole(name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`bench:attack: ${name} must be a whole number, got ${raw}`);
  return n;
}

function cpuPlacement(raw: string): CpuSplit | undefined {
  if (raw === "shared") return undefined;
  if (raw !== "split") throw new Error(`bench:attack: BENCH_ATTACK_CPUS must be split or shared, got ${raw}`);
  return splitCpus();
}

function niceness(raw: string): number {
  try {
    return checkNiceness(Number(raw));
  } catch {
    throw new Error(`bench:attack: BENCH_ATTACK_ATTACKER_NICE must be a whole number from 0 to 19, got ${raw}`);
  }
}

/** "core 1", "cores 2-3": a `taskset -c` list in words. */
function cores(list: string): string {
  return `${/[-,]/.test(list) ? "cores" : "core"} ${list}`;
}

function placement(): string {
  const where =
    CPUS === undefined
      ? `every process on any of ${availableParallelism()} cores`
      : `the keeper on ${cores(CPUS.tested)}; the node, traders and attackers on ${cores(CPUS.others)}`;
  return ATTACKER_NICE === 0 ? where : `${where}; the attackers at niceness ${ATTACKER_NICE}`;
}

let tmp: string | undefined;
process.on("exit", () => {
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

const started = Date.now();
const say = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);
const load = () => loadavg()[0].toFixed(1);

/** A forked agent (scripts/bench-attack/agents.ts) in `role`, asked one thing at a time. */
function startAgent(role: "honest" | "attacker") {
  const niceness = role === "attacker" ? ATTACKER_NICE : 0;
  const child: ChildProcess = fork(join(ROOT, "scripts/bench-attack/agents.ts"), [role, String(niceness)], {
    cwd: ROOT,
    detached: true,
    execArgv: ["-r", "ts-node/register/transpile-only"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  manage(`agent (${role})`, child);
  let waiting: { ok: (r: AgentReply) => void; ko: (e: Error) => void } | undefined;
  child.on("message", (m: AgentReply) => {
    const w = waiting;
    waiting = undefined;
    if (m.op === "failed") w?.ko(new Error(`agent (${role}): ${m.message}`));
    else w?.ok(m);
  });
  child.on("exit", (code) => waiting?.ko(new Error(`agent (${role}) exited ${code}`)));
  return {
    ask: <K extends AgentReply["op"]>(request: AgentRequest): Promise<Extract<AgentReply, { op: K }>> =>
      new Promise((ok, ko) => {
        waiting = { ok: ok as (r: AgentReply) => void, ko };
        child.send(request);
      }),
    exit: () => child.send({ op: "exit" } satisfies AgentRequest),
  };
}

/** The keeper's metrics, as name{labels} → value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+|NaN)$/.exec(line);
    if (m !== null) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

const sumOf = (metrics: Map<string, number>, prefix: string) =>
  [...metrics.entries()].filter(([k]) => k.startsWith(prefix)).reduce((s, [, v]) => s + v, 0);

/**
 * What a labelled pair of counters (a count and its seconds) grew by over the window, one line per
 * label set, the most seconds first: `cause/method ×count seconds`.
 */
function grown(before: Map<string, number>, after: Map<string, number>, count: string, seconds: string): string[] {
  const rows: { labels: string; n: number; s: number }[] = [];
  for (const [key, value] of after) {
    if (!key.startsWith(`${count}{`)) continue;
    const labels = key.slice(count.length);
    const n = value - (before.get(key) ?? 0);
    if (n <= 0) continue;
    const s = (after.get(`${seconds}${labels}`) ?? 0) - (before.get(`${seconds}${labels}`) ?? 0);
    rows.push({ labels, n, s });
  }
  rows.sort((a, b) => b.s - a.s);
  return rows.map(
    (r) => `${r.labels.replace(/^\{|\}$/g, "").replace(/[a-z]+="([^"]*)"/g, "$1")} ×${r.n} ${r.s.toFixed(2)} s`,
  );
}

/**
 * A quantile of what a histogram's series with `labels` (`name="value"`, as exported) observed over the window, as the upper bound
 * (ms) of the bucket it falls in; NaN when it observed nothing.
 */
function bucketQuantile(
  before: Map<string, number>,
  after: Map<string, number>,
  name: string,
  labels: string,
  q: number,
): number {
  const buckets: { le: number; n: number }[] = [];
  for (const [key, value] of after) {
    if (!key.startsWith(`${name}_bucket{`) || !key.includes(labels)) continue;
    const le = /le="([^"]+)"/.exec(key)?.[1] ?? "+Inf";
    buckets.push({ le: le === "+Inf" ? Infinity : Number(le), n: value - (before.get(key) ?? 0) });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets[buckets.length - 1]?.n ?? 0;
  if (total === 0) return NaN;
  return (buckets.find((b) => b.n >= q * total)?.le ?? Infinity) * 1000;
}

/**
 * The host's TCP counters of connections refused for a full accept queue (`ListenOverflows`,
 * `ListenDrops`) and SYNs sent again (`TCPSynRetrans`: a client waits a second before each), from
 * /proc/net/netstat; none where it is absent. Host-wide: every process's connections count.
 */
function tcpCounters(): Record<string, number> {
  const wanted = ["ListenOverflows", "ListenDrops", "TCPSynRetrans"];
  try {
    const lines = readFileSync("/proc/net/netstat", "utf8").split("\n");
    const i = lines.findIndex((l) => l.startsWith("TcpExt:"));
    const names = (lines[i] ?? "").split(/\s+/);
    const values = (lines[i + 1] ?? "").split(/\s+/);
    return Object.fromEntries(wanted.map((w) => [w, Number(values[names.indexOf(w)] ?? NaN)]));
  } catch {
    return {};
  }
}

/** The keeper's stages of an order (keeper/src/api/orderTiming.ts), and `total`. */
const HTTP_STAGES = ["body", "intake", "prepare", "engine", "reply", "write", "total"];

/**
 * The honest orders' stages (each order's `Server-Timing`, with `client` and `outside`): p50/p99 of
 * each, then the mean of each over the slowest 1 % of orders by client latency (5 at least).
 */
function stagesSummary(orders: readonly Record<string, number>[]): string {
  if (orders.length === 0) return "no Server-Timing answers";
  const names = [
    ...["body", "intake", "prepare", "engine", "reply", "total"],
    ...["queue", "check", "commit"], // parts of engine
    // The client's latency less total; its own send and read; by the wall clock, the time until the
    // keeper read the request (on a new connection: until its accept, and from it) and after it
    // sent the answer.
    ...["outside", "send", "read", "toKeeper", "beforeAccept", "accept", "fromKeeper"],
    ...["newSocket", "sinceStart", "client"],
  ];
  const of = (list: readonly Record<string, number>[], name: string) => list.map((o) => o[name] ?? 0);
  const quantiles = names
    .map((n) => `${n} ${percentile(of(orders, n), 50).toFixed(0)}/${percentile(of(orders, n), 99).toFixed(0)}`)
    .join(", ");
  const slowest = [...orders].sort((a, b) => (b.client ?? 0) - (a.client ?? 0));
  const tail = slowest.slice(0, Math.max(5, Math.ceil(orders.length / 100)));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const tailMeans = names.map((n) => `${n} ${mean(of(tail, n)).toFixed(0)}`).join(", ");
  // Orders that opened a connection (the window's first, while the attack opens its own) apart.
  const opened = orders.filter((o) => o.newSocket === 1);
  const kept = orders.filter((o) => o.newSocket !== 1);
  const p99 = (list: readonly Record<string, number>[], name = "client") => percentile(of(list, name), 99).toFixed(0);
  const p50 = (list: readonly Record<string, number>[], name: string) => percentile(of(list, name), 50).toFixed(0);
  const split = ["beforeAccept", "accept"].map((n) => `${n} p50/p99 ${p50(opened, n)}/${p99(opened, n)}`).join(", ");
  return (
    `p50/p99 ms (${orders.length} orders): ${quantiles}; the slowest ${tail.length}, mean ms: ${tailMeans}; ` +
    `client p99 of the ${opened.length} that opened a connection ${p99(opened)} ms (${split} ms), ` +
    `of the other ${kept.length} ${p99(kept)} ms`
  );
}

function dbBytes(path: string): number {
  let total = 0;
  for (const file of [path, `${path}-wal`]) {
    try {
      total += statSync(file).size;
    } catch {
      // not there (yet)
    }
  }
  return total;
}

interface Run {
  kind: "quiet" | "attack";
  /** Every honest order's latency (ms), for the p99 pooled over rounds. */
  orderLatencies: number[];
  /** Those of the orders sent `WARM_AFTER_MS` or more into the window. */
  warmLatencies: number[];
  orderP50: number;
  orderP99: number;
  /** The honest orders' stages by the keeper's `Server-Timing`: p50/p99 each, and where the slowest spent theirs. */
  honestStages: string;
  /** Every `POST /v1/orders`'s stages by the keeper's own histogram, by account known or not: bucket bounds, ms. */
  httpStages: string;
  /** The fsyncs of the keeper's log over the window: how many, and p50/p99 by its histogram (bucket bounds, ms). */
  logFsyncs: string;
  settleP50: number;
  settleP99: number;
  honestFills: number;
  honestSettled: number;
  /** The database file after a clean stop (WAL checkpointed), for the whole run. */
  dbKb: number;
  acceptedInWindow: number;
  storedOrders: number;
  acceptedTotal: number;
  eventLoopP99: number;
  eventLoopMax: number;
  /** The node's answer time to a cheap `eth_call` (paused()), probed every 200 ms through the window. */
  nodeP50: number;
  nodeP99: number;
  honestRefused: Record<string, number>;
  /** The keeper's node calls over the window by method and cause, and its orders' waits on the node by fact (`grown`). */
  nodeCalls: string[];
  /** The host's TCP counters over the window (SYNs dropped for a full accept queue, and retransmitted). */
  tcp: string;
  factWaits: string[];
  /** Orders' risk reads (waits for chain facts) over the window, by account the keeper knows or not: bucket bounds, ms. */
  riskRead: string;
  /** Honest fills not settled after the drain, by their last status. */
  honestUnsettled: Record<string, number>;
  attacks: AttackResult;
  expiringPlaced: number;
  load: string;
}

/** Times a cheap `eth_call` to the node every `everyMs` until `stop` resolves: the node's own latency. */
async function probeNode(nodeUrl: string, exchange: Hex, stop: Promise<unknown>, everyMs = 200): Promise<number[]> {
  const times: number[] = [];
  let done = false;
  void stop.finally(() => (done = true));
  while (!done) {
    const start = performance.now();
    await rpc(nodeUrl, "eth_call", [{ to: exchange, data: "0x5c975abb" }, "latest"]).catch(() => undefined);
    times.push(performance.now() - start);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return times;
}

async function chainTime(nodeUrl: string): Promise<bigint> {
  const block = (await rpc(nodeUrl, "eth_getBlockByNumber", ["latest", false])) as { timestamp: Hex };
  return BigInt(block.timestamp);
}

/** Waits until every honest fill is settled or skipped (or `timeoutMs`), reading the public trades. */
async function drain(url: string, fills: HonestResult["fills"], timeoutMs = 120_000) {
  const wanted = new Map(fills.map((f) => [f.fillId, f.answeredAt]));
  const oldest = Math.min(...wanted.keys());
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = new Map<number, { status: string; at: number }>();
    let before: number | undefined;
    for (;;) {
      const page = (await (
        await fetch(`${url}/v1/markets/1/trades?limit=1000${before === undefined ? "" : `&before=${before}`}`)
      ).json()) as { trades: { fillId: number; status: string; at: number }[] };
      for (const t of page.trades) if (wanted.has(t.fillId)) seen.set(t.fillId, t);
      const last = page.trades[page.trades.length - 1];
      if (last === undefined || last.fillId <= oldest || page.trades.length < 1000) break;
      before = last.fillId;
    }
    const open = [...wanted.keys()].filter((id) => (seen.get(id)?.status ?? "matched") === "matched");
    if (open.length === 0 || Date.now() > deadline) return seen;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function runOnce(kind: "quiet" | "attack", nodeUrl: string, deployment: Deployment, keys: Keys): Promise<Run> {
  const dir = mkdtempSync(join(tmp as string, `${kind}-`));
  const database = join(dir, "keeper.db");
  const keeper = await startLocalKeeper(deployment, {
    rpcUrl: nodeUrl,
    database,
    flags: [
      ...["--confirmations", "1", "--batch-max-wait-ms", "250", "--poll-interval-ms", "250"],
      ...["--log-level", "warn", "--min-notional", `${deployment.markets[0].id}:${MIN_NOTIONAL}`],
    ],
    name: `keeper (${kind})`,
    cpus: CPUS?.tested,
    nodeArgs:
      CPU_PROF === undefined
        ? []
        : [
            "--cpu-prof",
            "--cpu-prof-dir",
            resolve(CPU_PROF),
            "--cpu-prof-name",
            `keeper-${kind}-${Date.now()}.cpuprofile`,
          ],
  });
  const market = deployment.markets[0];
  const chainNow = await chainTime(nodeUrl);
  const base: Omit<AgentInit, "nonceBase"> = {
    op: "init",
    url: keeper.url,
    domain: { chainId: deployment.chainId, verifyingContract: deployment.exchange },
    marketId: market.id.toString(),
    midTicks: market.initialPriceTicks.toString(),
    lots: "1",
    expiry: (chainNow + 86_400n).toString(),
    makers: keys.makers,
    takers: keys.takers,
    wash: keys.wash,
    expiring: keys.expiring,
  };
  const nonceBase = BigInt(Date.now()) * 1_000_000n;
  const honest = startAgent("honest");
  const attacker = kind === "attack" ? startAgent("attacker") : undefined;
  try {
    await honest.ask({ ...base, nonceBase: nonceBase.toString() });
    await attacker?.ask({ ...base, nonceBase: (nonceBase + 500_000n).toString() });
    let expiringPlaced = 0;
    if (attacker !== undefined && ATTACKS.includes("c")) {
      // They must expire inside the window: placed with an expiry a while ahead, then the window
      // starts so that the expiry falls in its middle.
      const expiry = (await chainTime(nodeUrl)) + 40n + BigInt(SECONDS);
      const placed = await attacker.ask<"placed">({ op: "expiring", count: EXPIRING, expiry: expiry.toString() });
      expiringPlaced = placed.accepted;
      say(`  (c) ${placed.accepted} of ${EXPIRING} expiring orders rest (${JSON.stringify(placed.answers)})`);
      const wait = Number(expiry - (await chainTime(nodeUrl))) - SECONDS / 2;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait * 1000));
      else say(`  (c) placing took long: the expiry is ${-wait} s before the window's middle`);
    }
    // Each maker's cancel-all signed with a clock four minutes ahead, used once now (both runs);
    // attacker (f) replays the first one through the window.
    const captured = await honest.ask<"captured">({ op: "capture" });
    for (const body of captured.bodies) {
      await fetch(`${keeper.url}/v1/cancels/all`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    }
    const before = await scrape(keeper.url); // resets the event-loop histogram
    const tcpBefore = tcpCounters();
    const window = Promise.all([
      honest.ask<"honest">({ op: "run", seconds: SECONDS }),
      attacker?.ask<"attack">({
        op: "run",
        seconds: SECONDS,
        attacks: ATTACKS,
        washPerSecond: WASH,
        replay: captured.bodies[0],
      }),
    ]);
    const [[honestReply, attackReply], nodeTimes] = await Promise.all([
      window,
      probeNode(nodeUrl, deployment.exchange, window),
    ]);
    const after = await scrape(keeper.url);
    const tcpAfter = tcpCounters();
    const result = honestReply.result;
    if (STAGES_DIR !== undefined) {
      // Every honest order's stages, as the summary below reads them: to find what the slowest waited on.
      const file = join(STAGES_DIR, `honest-${kind}-${Date.now()}.json`);
      writeFileSync(file, JSON.stringify(result.orderStages));
      say(`  every honest order's stages: ${file}`);
    }
    const settledTrades = await drain(keeper.url, result.fills);
    const settle = result.fills.flatMap((f) => {
      const t = settledTrades.get(f.fillId);
      return t?.status === "settled" ? [(t.at - f.answeredAt) / 1000] : [];
    });
    // The honest fills not settled once drained, by the state they ended in (or "unseen").
    const unsettled: Record<string, number> = {};
    for (const f of result.fills) {
      const status = settledTrades.get(f.fillId)?.status ?? "unseen";
      if (status !== "settled") unsettled[status] = (unsettled[status] ?? 0) + 1;
    }
    const acceptedTotal = sumOf(after, "crossbook_orders_accepted_total");
    await keeper.process.stop(15_000); // a clean stop checkpoints the WAL into the file
    const bytes1 = dbBytes(database);
    const db = new Database(database);
    const { n } = db.prepare("SELECT COUNT(*) AS n FROM orders").get() as { n: number };
    db.close();
    return {
      kind,
      orderLatencies: result.orderLatencies,
      warmLatencies: result.orderLatencies.filter((_, i) => (result.orderSentAt[i] ?? 0) >= WARM_AFTER_MS),
      honestStages:
        `${stagesSummary(result.orderStages)}; the honest client's event loop p99 ` +
        `${result.eventLoopP99.toFixed(0)} ms, max ${result.eventLoopMax.toFixed(0)} ms`,
      logFsyncs: (() => {
        const name = "crossbook_store_log_fsync_seconds";
        const n = sumOf(after, `${name}_count`) - sumOf(before, `${name}_count`);
        const q = (p: number) => bucketQuantile(before, after, name, "", p);
        return `${n}, p50 ≤ ${q(0.5)} ms, p99 ≤ ${q(0.99)} ms`;
      })(),
      httpStages: ["known", "unknown"]
        .map((account) => {
          const q = (stage: string, p: number) =>
            bucketQuantile(
              before,
              after,
              "crossbook_order_http_stage_seconds",
              `stage="${stage}",account="${account}"`,
              p,
            );
          return `${account}: ${HTTP_STAGES.map((st) => `${st} ${q(st, 0.5)}/${q(st, 0.99)}`).join(", ")}`;
        })
        .join(" | "),
      orderP50: percentile(result.orderLatencies, 50),
      orderP99: percentile(result.orderLatencies, 99),
      settleP50: percentile(settle, 50),
      settleP99: percentile(settle, 99),
      honestFills: result.fills.length,
      honestSettled: settle.length,
      dbKb: bytes1 / 1024,
      acceptedInWindow: acceptedTotal - sumOf(before, "crossbook_orders_accepted_total"),
      storedOrders: n,
      acceptedTotal,
      eventLoopP99: (after.get('crossbook_event_loop_delay_seconds{quantile="0.99"}') ?? NaN) * 1000,
      eventLoopMax: (after.get('crossbook_event_loop_delay_seconds{quantile="max"}') ?? NaN) * 1000,
      nodeP50: percentile(nodeTimes, 50),
      nodeP99: percentile(nodeTimes, 99),
      nodeCalls: grown(before, after, "crossbook_rpc_calls_total", "crossbook_rpc_call_seconds_total"),
      tcp: Object.entries(tcpAfter)
        .map(([name, n]) => `${name} +${n - (tcpBefore[name] ?? 0)}`)
        .join(", "),
      factWaits: grown(before, after, "crossbook_chain_fact_waits_total", "crossbook_chain_fact_wait_seconds_total"),
      riskRead: ["known", "unknown"]
        .map((account) => {
          const q = (p: number, name = "crossbook_order_risk_read_seconds", label = `account="${account}"`) =>
            bucketQuantile(before, after, name, label, p);
          const stage = (name: string) =>
            `${name} p50 ≤ ${q(0.5, "crossbook_order_stage_seconds", `stage="${name}",account="${account}"`)} ms, ` +
            `p99 ≤ ${q(0.99, "crossbook_order_stage_seconds", `stage="${name}",account="${account}"`)} ms`;
          return `${account}: risk read p50 ≤ ${q(0.5)} ms, p99 ≤ ${q(0.99)} ms; ${stage("queue")}; ${stage("commit")}`;
        })
        .join(" | "),
      honestRefused: result.refused,
      honestUnsettled: unsettled,
      attacks: attackReply?.result ?? {},
      expiringPlaced,
      load: load(),
    };
  } finally {
    honest.exit();
    attacker?.exit();
    if (keeper.process.child.exitCode === null) await keeper.process.stop(15_000);
  }
}

interface Keys {
  makers: Hex[];
  takers: Hex[];
  wash: Hex[];
  expiring: Hex[];
}

async function main(): Promise<number> {
  tmp = mkdtempSync(join(tmpdir(), "bench-attack-"));
  say(
    `load average ${load()}; ${ROUNDS} rounds × ${SECONDS} s, attacks ${ATTACKS}, wash ${WASH}/s, ${EXPIRING} expiring; ` +
      placement(),
  );
  // Before any child starts: the node and the traders' and attackers' processes inherit it.
  if (CPUS !== undefined) holdSelfTo(CPUS.others);
  const { url: nodeUrl } = await startHardhatNode({ quiet: NODE_QUIET });
  const deploymentPath = join(tmp, "deployment.json");
  await runHardhatScript("scripts/deploy.ts", nodeUrl, { CROSSBOOK_DEPLOYMENTS_PATH: deploymentPath });
  const deployment = readDeployment(deploymentPath);
  const make = (n: number) => Array.from({ length: n }, () => generatePrivateKey());
  const keys: Keys = { makers: make(4), takers: make(4), wash: make(2), expiring: make(Math.ceil(EXPIRING / 1000)) };
  await fundTraders(
    nodeUrl,
    deployment,
    [...keys.makers, ...keys.takers, ...keys.wash, ...keys.expiring],
    DEFAULT_FUNDING,
  );
  say(`node ${nodeUrl}, Exchange ${deployment.exchange}, traders funded`);

  const runs: Run[] = [];
  let problems = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const kind of KINDS) {
      const r = await runOnce(kind, nodeUrl, deployment, keys);
      runs.push(r);
      say(
        `round ${round} ${kind.padEnd(6)} load ${r.load}: orders p50 ${r.orderP50.toFixed(1)} ms p99 ${r.orderP99.toFixed(1)} ms; ` +
          `fills ${r.honestSettled}/${r.honestFills} settled, p50 ${r.settleP50.toFixed(2)} s p99 ${r.settleP99.toFixed(2)} s; ` +
          `db ${r.dbKb.toFixed(0)} KiB, ${r.storedOrders} order rows for ${r.acceptedTotal} accepted (${r.acceptedInWindow} in the window); ` +
          `event loop p99 ${r.eventLoopP99.toFixed(1)} ms max ${r.eventLoopMax.toFixed(1)} ms; ` +
          `node eth_call p50 ${r.nodeP50.toFixed(1)} ms p99 ${r.nodeP99.toFixed(1)} ms`,
      );
      if (Object.keys(r.honestRefused).length > 0) say(`  honest refusals: ${JSON.stringify(r.honestRefused)}`);
      say(`  node calls (method, cause): ${r.nodeCalls.slice(0, 16).join("; ") || "none"}`);
      say(`  waits on the node (fact, why): ${r.factWaits.slice(0, 16).join("; ") || "none"}`);
      say(`  orders' risk read and waits, by account: ${r.riskRead}`);
      say(`  honest orders' stages (Server-Timing): ${r.honestStages}`);
      say(`  host TCP over the window: ${r.tcp || "not readable"}`);
      say(`  every order's stages (keeper histogram, p50/p99 ≤ ms), by account: ${r.httpStages}`);
      say(`  the keeper's log fsyncs (from the ask to its callback, by its histogram): ${r.logFsyncs}`);
      if (Object.keys(r.honestUnsettled).length > 0)
        say(`  honest fills not settled: ${JSON.stringify(r.honestUnsettled)}`);
      for (const [name, answers] of Object.entries(r.attacks)) say(`  ${name}: ${JSON.stringify(answers)}`);
      if (r.storedOrders > r.acceptedTotal) {
        problems++;
        say(`  PROBLEM: the database holds ${r.storedOrders} orders for ${r.acceptedTotal} accepted`);
      }
    }
  }

  const of = (kind: Run["kind"], f: (r: Run) => number) => median(runs.filter((r) => r.kind === kind).map(f));
  const cell = (kind: Run["kind"], f: (r: Run) => number, digits: number) =>
    KINDS.includes(kind) ? of(kind, f).toFixed(digits) : "—";
  const rows: [string, (r: Run) => number, number][] = [
    ["honest order latency p50 (ms)", (r) => r.orderP50, 1],
    ["honest order latency p99 (ms)", (r) => r.orderP99, 1],
    ["honest fill match→settlement p50 (s)", (r) => r.settleP50, 2],
    ["honest fill match→settlement p99 (s)", (r) => r.settleP99, 2],
    ["honest fills settled (%)", (r) => (100 * r.honestSettled) / Math.max(1, r.honestFills), 1],
    ["orders accepted (whole run)", (r) => r.acceptedTotal, 0],
    ["order rows in the database / orders accepted", (r) => r.storedOrders / Math.max(1, r.acceptedTotal), 3],
    ["database size after the run (KiB)", (r) => r.dbKb, 0],
    ["database bytes per accepted order", (r) => (r.dbKb * 1024) / Math.max(1, r.acceptedTotal), 0],
    ["keeper event-loop delay p99 (ms)", (r) => r.eventLoopP99, 1],
    ["keeper event-loop delay max (ms)", (r) => r.eventLoopMax, 1],
    ["node eth_call latency p50 (ms)", (r) => r.nodeP50, 1],
    ["node eth_call latency p99 (ms)", (r) => r.nodeP99, 1],
  ];
  console.log(
    `\nbench:attack — medians of ${ROUNDS} rounds, ${SECONDS} s windows; load average at the end ${load()} ` +
      `(${placement()}; the machine may be shared with other work)\n`,
  );
  console.log("| measure | quiet | attack |");
  console.log("|---|---:|---:|");
  for (const [name, f, digits] of rows) {
    console.log(`| ${name} | ${cell("quiet", f, digits)} | ${cell("attack", f, digits)} |`);
  }
  // A round's p99 rests on a handful of orders: the p99 over every round's honest orders together.
  for (const kind of KINDS) {
    const mine = runs.filter((r) => r.kind === kind);
    const pooled = mine.flatMap((r) => r.orderLatencies);
    const warm = mine.flatMap((r) => r.warmLatencies);
    console.log(
      `honest order latency, ${kind}: pooled over ${mine.length} rounds (${pooled.length} orders) ` +
        `p50 ${percentile(pooled, 50).toFixed(1)} ms, p99 ${percentile(pooled, 99).toFixed(1)} ms; ` +
        `per round p99 ${mine.map((r) => r.orderP99.toFixed(0)).join(", ")} ms; ` +
        `sent ${WARM_AFTER_MS / 1000} s or more into the window (${warm.length} orders): p99 ${percentile(warm, 99).toFixed(1)} ms`,
    );
  }
  const both = KINDS.includes("quiet") && KINDS.includes("attack");
  const verdicts: [string, boolean | undefined][] = [
    [
      "honest p99 order latency ≤ 2× quiet",
      both ? of("attack", (r) => r.orderP99) <= TARGETS.p99Ratio * of("quiet", (r) => r.orderP99) : undefined,
    ],
    ["every honest fill settled", runs.every((r) => r.honestSettled === r.honestFills)],
    ["database holds accepted orders only", runs.every((r) => r.storedOrders <= r.acceptedTotal)],
    [
      "event-loop delay p99 ≤ 50 ms (attack)",
      KINDS.includes("attack") ? of("attack", (r) => r.eventLoopP99) <= TARGETS.eventLoopP99Ms : undefined,
    ],
  ];
  console.log("");
  for (const [name, ok] of verdicts) {
    console.log(`target: ${name} — ${ok === undefined ? "not measured" : ok ? "MET" : "MISSED"}`);
  }
  if (STRICT) problems += verdicts.filter(([, ok]) => ok === false).length;
  say(`done${problems > 0 ? ` with ${problems} problem(s)` : ""}`);
  return problems > 0 ? 1 : 0;
}

main()
  .then((code) => process.exit(code)) // processes.ts stops every child on exit
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
