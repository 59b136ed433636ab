/**
 * The chaos run of issue 14 (`npm run chaos`, and its short version in test/e2e/chaos.test.ts):
 *
 *   hardhat node ◀── settle ── keeper-1 (leads) ─┐
 *        ▲                     keeper-2 (waits) ─┴── embedded PostgreSQL (one database, the lease)
 *        │                          ▲
 *        └── bots (8: market makers and takers, through the SDK) ── LeaderProxy (follows the lease)
 *
 * N times, at a seeded random moment, the leader is killed with SIGKILL — while orders arrive, as
 * soon as it logs `batch sent` (between a batch's broadcast and its receipt), or a few ms after an
 * order reached it (inside its intake: validation, the group commit) — and once in the run it is
 * paused with SIGSTOP past its lease instead, then resumed: it must step down in its own process and
 * become the standby. Each time the standby takes over (the takeover time is from the kill to the
 * first order it accepted); a killed leader is replaced by a new keeper process, which starts as a
 * follower (the restart-as-follower); and then, order entry held at the proxy: every order
 * answered as accepted is in the store, the leader's books are the store's open orders, the books
 * of every keeper that serves reads have one digest, every matched fill settles, every fill settled
 * exactly once on-chain, balances reconcile (scripts/lib/audit.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { setMaxListeners } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, http, type PublicClient } from "viem";
import { seededRandom } from "../bots";
import { startBots, TRADER_COUNT } from "../demo/bots";
import { localTraders } from "./accounts";
import type { AuditCheck } from "./audit";
import { HaCluster } from "./haCluster";
import { createDatabase, startEmbeddedPostgres, stopEmbeddedPostgres, type LocalPostgres } from "./postgres";
import { startLocalMarket, stopAll } from "./processes";

export type KillKind = "while orders arrive" | "after a batch was sent" | "with an order in flight" | "SIGSTOP";
const SIGKILL_KINDS: readonly KillKind[] = ["while orders arrive", "after a batch was sent", "with an order in flight"];

export interface ChaosOptions {
  readonly kills: number;
  readonly seed: number;
  /** The keepers' `--lease-ms` [2000]. */
  readonly leaseMs?: number;
  /** Trading before each kill: a seeded random time in this range, ms [[3000, 10000]]. */
  readonly tradeMs?: readonly [number, number];
  /** One of the kills is a SIGSTOP past the lease instead (when there are at least two) [true]. */
  readonly pause?: boolean;
  /** Progress lines. */
  readonly say?: (line: string) => void;
}

export interface ChaosKill {
  readonly index: number;
  readonly kind: KillKind;
  /** From the kill (or the pause) to the first order the new leader accepted. */
  readonly takeoverMs: number;
  readonly from: string;
  readonly to: string;
  /** Order-entry requests whose answer the kill cut off (their clients saw an error, not 201). */
  readonly cutOff: number;
}

export interface ChaosReport {
  readonly kills: ChaosKill[];
  /** Every check after every kill and at the end; `name` says which round. */
  readonly checks: AuditCheck[];
  /** Orders answered as accepted over the run. */
  readonly answered: number;
  readonly botErrors: number;
  /** Takeovers nobody asked for (a leader that stepped down or exited without a kill), each with its reason. */
  readonly unasked: string[];
}

const KEEPER_FLAGS = ["--confirmations", "1", "--batch-max-wait-ms", "500", "--poll-interval-ms", "250"];
/** Orders accepted before the first kill. */
const WARM_ORDERS = 30;
/** A batch is sent within seconds while the bots trade; past this, the kill happens anyway. */
const BATCH_WAIT_MS = 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** p-quantile (nearest rank) of ascending `sorted`. */
export function quantile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p + 0.5))];
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const say = options.say ?? (() => {});
  const random = seededRandom(options.seed);
  const [tradeMin, tradeMax] = options.tradeMs ?? [3_000, 10_000];
  const pauseAt = options.pause !== false && options.kills >= 2 ? 1 + Math.floor(random() * (options.kills - 1)) : -1;
  const dir = mkdtempSync(join(tmpdir(), "crossbook-chaos-"));
  let server: LocalPostgres | undefined;
  let cluster: HaCluster | undefined;
  const stopBots = new AbortController();
  setMaxListeners(100, stopBots.signal);
  try {
    server = await startEmbeddedPostgres();
    const { node, deployment } = await startLocalMarket(dir, TRADER_COUNT + 1);
    const chain = createPublicClient({ transport: http(node.url, { retryCount: 0 }) }) as PublicClient;
    await chain.request({ method: "evm_setAutomine" as never, params: [false] as never });
    await chain.request({ method: "evm_setIntervalMining" as never, params: [1_000] as never });
    const database = await createDatabase(server.port, "crossbook_chaos");

    /** What kills the leader on a cue: a log line of its, or an order reaching it. */
    let armed: { cue: "batch" | "order"; fire: () => void } | undefined;
    const ha = new HaCluster(deployment, {
      rpcUrl: node.url,
      database,
      leaseMs: options.leaseMs,
      flags: KEEPER_FLAGS,
      onLine: (keeper, line) => {
        if (armed?.cue === "batch" && keeper === ha.leader && line.includes('"msg":"batch sent"')) armed.fire();
      },
      onOrderForwarded: () => {
        if (armed?.cue === "order") armed.fire();
      },
    });
    cluster = ha;
    await ha.start();
    say(`chaos: ${ha.leader.name} leads, ${ha.standby.name} waits; clients use ${ha.url}; seed ${options.seed}`);

    let botErrors = 0;
    const bots = startBots({
      deployment,
      keeperUrls: [ha.url],
      rpcUrl: node.url,
      seed: options.seed,
      signal: stopBots.signal,
      onEvent: (_bot, event) => {
        if (event.type === "error") botErrors++;
      },
    });
    const botsStarted = Date.now();
    const ticker = setInterval(() => {
      say(
        `chaos: ${((Date.now() - botsStarted) / 1000).toFixed(0)} s | ${ha.proxy.answered.size} orders accepted | ` +
          `${botErrors} bot errors | ${ha.leader.name} leads`,
      );
    }, 10_000);
    const probe = localTraders(TRADER_COUNT + 1)[TRADER_COUNT];
    const probeTicks = (deployment.markets[0].initialPriceTicks * 105n) / 100n; // far above every bot's price
    const checks: AuditCheck[] = [];
    const kills: ChaosKill[] = [];
    const unasked: string[] = [];
    const record = (round: string, results: readonly AuditCheck[]) => {
      for (const c of results) checks.push({ ...c, name: `${round}: ${c.name}` });
      const failed = results.filter((c) => !c.ok);
      say(`chaos: ${round}: ${results.length - failed.length}/${results.length} checks pass`);
      for (const c of failed) say(`  ✘ ${c.name} — ${c.detail}`);
    };

    try {
      // The bots take a while to start (on-chain limits, first quotes): the first kill waits for trading.
      for (const deadline = Date.now() + 180_000; ha.proxy.answered.size < WARM_ORDERS && Date.now() < deadline;) {
        await sleep(500);
      }
      for (let i = 0; i < options.kills; i++) {
        // A takeover without a kill (a leader stepped down as its renewals starved): counted, the
        // roles found again from the lease, and the run goes on (the checks of the next kill cover it).
        for (const change of await ha.settleRoles()) {
          unasked.push(change);
          say(`chaos: a takeover nobody asked for: ${change}; ${ha.leader.name} leads`);
        }
        const kind: KillKind = i === pauseAt ? "SIGSTOP" : SIGKILL_KINDS[Math.floor(random() * SIGKILL_KINDS.length)];
        const tradeFor = tradeMin + random() * (tradeMax - tradeMin);
        const orderDelayMs = random() * 8;
        await sleep(tradeFor);
        const cutOffBefore = ha.proxy.lostInFlight;
        const from = ha.leader;
        let stoppedAt: number;
        if (kind === "SIGSTOP") {
          ha.pauseLeader();
          stoppedAt = Date.now();
        } else if (kind === "while orders arrive") {
          stoppedAt = ha.killLeader();
        } else {
          stoppedAt = await new Promise<number>((resolve) => {
            const fire = () => {
              armed = undefined;
              if (kind === "after a batch was sent") resolve(ha.killLeader());
              else setTimeout(() => resolve(ha.killLeader()), orderDelayMs);
            };
            armed = { cue: kind === "after a batch was sent" ? "batch" : "order", fire };
            setTimeout(() => armed?.fire === fire && fire(), BATCH_WAIT_MS);
          });
        }
        const { ms, old } = await ha.takeOver(stoppedAt, probe, probeTicks + BigInt(i), kind !== "SIGSTOP");
        let deposed: AuditCheck | undefined;
        if (kind === "SIGSTOP") {
          const resumed = await ha.resumeAsStandby(old);
          deposed = {
            name: "the keeper paused past its lease, resumed, steps down and follows in its own process",
            ok: resumed.ok,
            detail: resumed.detail,
          };
        } else {
          await old.process.exited;
        }
        const kill: ChaosKill = {
          index: i + 1,
          kind,
          takeoverMs: ms,
          from: from.name,
          to: ha.leader.name,
          cutOff: ha.proxy.lostInFlight - cutOffBefore,
        };
        kills.push(kill);
        say(
          `chaos: kill ${i + 1}/${options.kills} (${kind}): ${kill.from} → ${kill.to}, order entry back after ` +
            `${ms} ms; ${kill.cutOff} answers cut off; ${ha.standby.name} waits`,
        );
        record(`after kill ${i + 1}`, [...(deposed === undefined ? [] : [deposed]), ...(await ha.check(chain))]);
      }
    } finally {
      clearInterval(ticker);
      stopBots.abort();
      await Promise.allSettled(bots.map((b) => b.done));
    }
    unasked.push(...(await ha.settleRoles()));
    record("at the end", await ha.check(chain));
    return { kills, checks, answered: ha.proxy.answered.size, botErrors, unasked };
  } finally {
    stopBots.abort();
    await cluster?.close();
    await stopAll();
    if (server !== undefined) await stopEmbeddedPostgres(server);
    rmSync(dir, { recursive: true, force: true });
  }
}
