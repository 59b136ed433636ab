/**
 * Two keeper CLIs on one PostgreSQL behind one URL (a `LeaderProxy` that follows the lease): what
 * `npm run chaos`, its short test and `npm run demo -- --ha` run. The cluster knows which process
 * leads (the one that last took over) and which waits; it kills, pauses and replaces them, measures
 * each takeover, and checks what a failover must keep:
 *
 * - every order a keeper answered as accepted is in the store (`checkAnsweredOrders`);
 * - the leader's books are the store's open orders, level by level (`checkLeaderBook`);
 * - the books of every keeper that serves reads have one digest (`compareKeeperBooks`);
 * - every fill settled exactly once and balances reconcile (scripts/lib/audit.ts, through the proxy).
 */
import pg from "pg";
import type { PrivateKeyAccount } from "viem/accounts";
import type { PublicClient } from "viem";
import type { KeeperClient } from "@crossbook/sdk";
import { allTrades, auditMarket, type AuditCheck } from "./audit";
import { keeperClient, orderEntryBack, startHaKeeper, type HaKeeper } from "./failover";
import { LeaderProxy } from "./leaderProxy";
import type { Deployment } from "./market";

export interface HaClusterOptions {
  readonly rpcUrl: string;
  /** The shared database's `postgres://` URL. */
  readonly database: string;
  readonly leaseMs?: number;
  /** More keeper flags (confirmations, batching, polling, log level). */
  readonly flags?: readonly string[];
  /** Every line a keeper prints, with its name. */
  readonly onLine?: (keeper: HaKeeper, line: string) => void;
  /** Called as an order-entry request reaches a keeper (see `LeaderProxy`). */
  readonly onOrderForwarded?: () => void;
}

export class HaCluster {
  readonly proxy: LeaderProxy;
  /** The proxy's URL: the one address clients use. */
  url = "";
  leader!: HaKeeper;
  standby!: HaKeeper;
  private leaseUrl: string | undefined;
  private lease: pg.Client | undefined;
  private watching: NodeJS.Timeout | undefined;
  private started = 0;
  private readonly all: HaKeeper[] = [];
  private readonly stopping = new Set<HaKeeper>();
  /**
   * Role changes nobody asked for, with the keeper's line: a keeper that exited, or a leader that
   * stepped down without a kill or a pause (its lease renewals starved past the margin): its
   * standby then takes over. `settleRoles` takes them and finds who leads.
   */
  readonly unasked: string[] = [];

  constructor(
    private readonly deployment: Deployment,
    private readonly options: HaClusterOptions,
  ) {
    this.proxy = new LeaderProxy({ target: () => this.leaseUrl, onOrderForwarded: options.onOrderForwarded });
  }

  /** Starts the first keeper (it leads), the second (it waits), the proxy and the lease watch. */
  async start(): Promise<void> {
    this.leader = this.spawn();
    await this.leader.listening;
    this.standby = this.spawn();
    await this.standby.process.waitFor(/role: standby/, 180_000);
    this.lease = new pg.Client({ connectionString: this.options.database });
    await this.lease.connect();
    await this.watchLease();
    this.url = await this.proxy.listen();
  }

  /** A keeper CLI on the shared database: it leads if the lease is free, else waits. */
  private spawn(): HaKeeper {
    const name = `keeper-${++this.started}`;
    let keeper: HaKeeper | undefined;
    const early: string[] = [];
    keeper = startHaKeeper(this.deployment, {
      rpcUrl: this.options.rpcUrl,
      database: this.options.database,
      name,
      leaseMs: this.options.leaseMs,
      flags: this.options.flags,
      echo: (line) => {
        if (keeper === undefined) early.push(line);
        else this.heard(keeper, line);
      },
    });
    for (const line of early) this.heard(keeper, line);
    this.all.push(keeper);
    const spawned = keeper;
    void keeper.process.exited.then((code) => {
      if (this.stopping.has(spawned)) return;
      const last = spawned.process
        .output()
        .split("\n")
        .filter((l) => /role|deposed|refused/.test(l));
      this.unasked.push(`${name} exited ${code}: ${last[last.length - 1] ?? "(no role line)"}`);
    });
    return keeper;
  }

  private heard(keeper: HaKeeper, line: string): void {
    if (/role change: stepping down/.test(line) && !this.stopping.has(keeper)) {
      const reason = /"reason":"([^"]*)"/.exec(line)?.[1] ?? line;
      this.unasked.push(`${keeper.name} stepped down unasked: ${reason}`);
    }
    this.options.onLine?.(keeper, line);
  }

  /**
   * After role changes nobody asked for (`unasked`): waits until the lease names a keeper that
   * serves (up to a minute) and makes it the leader, the other alive one the standby. Returns the
   * changes taken. A keeper that exited is replaced by a new standby.
   */
  async settleRoles(): Promise<string[]> {
    if (this.unasked.length === 0) return [];
    const taken = this.unasked.splice(0);
    const alive = () =>
      this.all.filter((k) => k.process.child.exitCode === null && k.process.child.signalCode === null);
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(100)) {
      const urls = await Promise.all(alive().map(async (k) => [k, await k.serving] as const));
      const leading = urls.find(([, url]) => url === this.leaseUrl)?.[0];
      if (leading === undefined || !(await isLeader(this.leaseUrl as string))) continue;
      this.leader = leading;
      const others = alive().filter((k) => k !== leading);
      this.standby = others[others.length - 1] ?? this.spawn();
      await this.standby.process.waitFor(/role: standby/, 180_000);
      return taken;
    }
    throw new Error(`no keeper leads a minute after: ${taken.join("; ")}`);
  }

  /** The lease's URL, read every 100 ms: where the proxy sends. */
  private async watchLease(): Promise<void> {
    const read = async () => {
      try {
        const r = await this.lease?.query<{ url: string }>("SELECT url FROM leader_lease WHERE id = 1");
        this.leaseUrl = r?.rows[0]?.url;
      } catch {
        // The database is going away (the end of a run): keep the last answer.
      }
    };
    await read();
    const loop = () => {
      this.watching = setTimeout(() => void read().then(loop), 100);
    };
    loop();
  }

  /** SIGKILL to the leader's process group; resolves with the moment it was sent. */
  killLeader(): number {
    this.stopping.add(this.leader);
    const at = Date.now();
    process.kill(-(this.leader.process.child.pid as number), "SIGKILL");
    return at;
  }

  /** SIGSTOP to the leader's process group (it will step down when resumed: `resumeAsStandby`). */
  pauseLeader(): void {
    this.stopping.add(this.leader);
    process.kill(-(this.leader.process.child.pid as number), "SIGSTOP");
  }

  /**
   * SIGCONT to a keeper paused past its lease (no longer the leader): it must step down in its own
   * process — log `role change: follower (stepped down)` and keep serving reads — and it becomes
   * the standby (the one `takeOver` started, if any, is stopped). Resolves with whether it did
   * within `timeoutMs`, and the line it printed.
   */
  async resumeAsStandby(keeper: HaKeeper, timeoutMs = 60_000): Promise<{ ok: boolean; detail: string }> {
    process.kill(-(keeper.process.child.pid as number), "SIGCONT");
    const line = await Promise.race([
      keeper.process.waitFor(/role change: follower \(stepped down\)/, timeoutMs).catch(() => undefined),
      keeper.process.exited.then((code) => `exited ${code}`),
    ]);
    const alive = keeper.process.child.exitCode === null && keeper.process.child.signalCode === null;
    if (line === undefined || !alive) return { ok: false, detail: line ?? `no step-down in ${timeoutMs / 1000} s` };
    this.stopping.delete(keeper);
    return { ok: true, detail: "stepped down, serving reads as the standby" };
  }

  /**
   * After the leader was stopped (killed or paused) at `since`: waits until the standby answers an
   * order of `probe` (a resting sell at `priceTicks`) and makes it the leader. The old leader's
   * place: after a SIGKILL (`restart`), a new keeper process started on the same database, which
   * comes up as a follower (the restart-as-follower of issue 14); after a pause, the old process
   * itself once resumed (`resumeAsStandby`). Returns the takeover time (ms) and the old leader.
   */
  async takeOver(
    since: number,
    probe: PrivateKeyAccount,
    priceTicks: bigint,
    restart = true,
  ): Promise<{ ms: number; old: HaKeeper; probeHash: `0x${string}` }> {
    const back = await orderEntryBack(this.standby, this.deployment, probe, priceTicks, since);
    this.proxy.answered.set(back.hash, { hash: back.hash, keeper: back.url, at: Date.now() });
    const old = this.leader;
    this.leader = this.standby;
    this.standby = old;
    if (restart) {
      this.standby = this.spawn();
      await this.standby.process.waitFor(/role: standby/, 180_000);
    }
    return { ms: back.ms, old, probeHash: back.hash };
  }

  /** The API URLs of the keepers alive that listen (the leader; after issue 14's followers, standbys too). */
  async keeperUrls(): Promise<string[]> {
    const alive = this.all.filter((k) => k.process.child.exitCode === null && k.process.child.signalCode === null);
    const urls = await Promise.all(
      alive.map((k) => Promise.race([k.listening, new Promise<string>((r) => setTimeout(() => r(""), 50))])),
    );
    return urls.filter((u) => u !== "");
  }

  /** The URL the lease names, once it names a listening keeper (up to a minute); else the last leader's. */
  async leaderUrl(): Promise<string> {
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const url = this.leaseUrl;
      if (url !== undefined && !url.endsWith(":0")) return url;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return this.leader.listening;
  }

  /** A read-only SDK client through the proxy. */
  client(): KeeperClient {
    return keeperClient(this.url, this.deployment);
  }

  /**
   * Every check a failover must pass, at a quiet moment: order entry held at the proxy, every
   * matched fill settled or skipped (up to `settleTimeoutMs`), then the checks; entry released.
   */
  async check(chain: PublicClient, settleTimeoutMs = 120_000): Promise<AuditCheck[]> {
    await this.proxy.hold();
    try {
      const keeper = this.client();
      const matched = await waitUntilSettled(keeper, this.deployment, settleTimeoutMs);
      const checks: AuditCheck[] = [
        {
          name: "every matched fill settled or skipped",
          ok: matched === 0,
          detail: `${matched} still matched after ${settleTimeoutMs / 1000} s`,
        },
      ];
      checks.push(...(await this.failoverChecks()));
      const audit = await auditMarket({ client: chain, deployment: this.deployment, keeper });
      checks.push(...audit.checks);
      return checks;
    } finally {
      this.proxy.release();
    }
  }

  /**
   * What a failover must keep, checked now: every answered order in the store, the leader's books
   * the store's open orders, one digest for every keeper's books. (`check` adds the chain audit.)
   */
  async failoverChecks(): Promise<AuditCheck[]> {
    const db = this.lease as pg.Client;
    const digests = await compareKeeperBooks(await this.keeperUrls());
    return [
      await checkAnsweredOrders(db, [...this.proxy.answered.keys()]),
      await checkLeaderBook(db, await this.leaderUrl(), this.deployment),
      {
        name: "the books of every keeper that serves reads have one digest",
        ok: digests.equal,
        detail:
          digests.compared.length < 2
            ? `${digests.compared.length} keeper(s) answer GET /v1/books/digest, ${digests.skipped.length} skipped: nothing to compare yet`
            : `${digests.compared.length} keepers compared${digests.equal ? "" : `: ${JSON.stringify(digests.digests)}`}`,
      },
    ];
  }

  /** Stops the proxy, the lease watch and every keeper (SIGTERM, then SIGKILL). */
  async close(): Promise<void> {
    clearTimeout(this.watching);
    this.watching = undefined;
    for (const k of this.all) this.stopping.add(k);
    await this.proxy.close();
    await this.lease?.end().catch(() => {});
    this.lease = undefined;
    await Promise.all(this.all.map((k) => k.process.stop(15_000)));
  }
}

/** Polls until no fill of the keeper is `matched`, or `timeoutMs`: how many are still matched. */
export async function waitUntilSettled(
  keeper: KeeperClient,
  deployment: Pick<Deployment, "markets">,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let matched = Infinity;
    try {
      const trades = (await Promise.all(deployment.markets.map((m) => allTrades(keeper, m.id)))).flat();
      matched = trades.filter((t) => t.status === "matched").length;
    } catch (error) {
      if (Date.now() > deadline) throw error; // no keeper answered for the whole time
    }
    if (matched === 0 || Date.now() > deadline) return matched;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Every answered order has a row in the shared store. */
export async function checkAnsweredOrders(db: pg.Client, hashes: readonly string[]): Promise<AuditCheck> {
  const wanted = hashes.map((h) => h.toLowerCase());
  const r = await db.query<{ hash: string; status: string }>(
    "SELECT hash, status FROM orders WHERE lower(hash) = ANY($1::text[])",
    [wanted],
  );
  const found = new Set(r.rows.map((row) => row.hash.toLowerCase()));
  const missing = wanted.filter((h) => !found.has(h));
  const byStatus = new Map<string, number>();
  for (const row of r.rows) byStatus.set(row.status, (byStatus.get(row.status) ?? 0) + 1);
  return {
    name: "every order answered as accepted is in the store",
    ok: missing.length === 0,
    detail:
      missing.length === 0
        ? `${wanted.length} answered: ${[...byStatus].map(([s, n]) => `${n} ${s}`).join(", ")}`
        : `${missing.length} of ${wanted.length} missing, e.g. ${missing.slice(0, 3).join(", ")}`,
  };
}

/**
 * The leader's books, level by level (`GET /v1/markets/{id}/book?depth=1000`), equal the open
 * orders of the store (remaining lots and orders per side and price): every open order answered
 * as accepted rests at the leader. Asked up to five times, 300 ms apart, in case a change (an
 * expiry) lands between the two reads.
 */
export async function checkLeaderBook(
  db: pg.Client,
  leaderUrl: string,
  deployment: Pick<Deployment, "markets">,
): Promise<AuditCheck> {
  let detail = "";
  for (let attempt = 1; attempt <= 5; attempt++) {
    const r = await db.query<{ market: string; is_buy: number; price_ticks: string; lots: string; n: string }>(
      `SELECT market, is_buy, price_ticks, SUM(lots::numeric - filled_lots::numeric)::text AS lots, COUNT(*)::text AS n
         FROM orders WHERE status IN ('open', 'partially-filled') GROUP BY market, is_buy, price_ticks`,
    );
    const store = new Set(
      r.rows
        .filter((row) => BigInt(row.lots) > 0n)
        .map(
          (row) => `${row.market}|${Number(row.is_buy) === 1 ? "bid" : "ask"}|${row.price_ticks}|${row.lots}|${row.n}`,
        ),
    );
    const book = new Set<string>();
    for (const m of deployment.markets) {
      const res = await fetch(`${leaderUrl}/v1/markets/${m.id}/book?depth=1000`);
      const body = (await res.json()) as Record<
        "bids" | "asks",
        { priceTicks: string; lots: string; orders: number }[]
      >;
      for (const side of ["bids", "asks"] as const) {
        for (const l of body[side]) book.add(`${m.id}|${side.slice(0, 3)}|${l.priceTicks}|${l.lots}|${l.orders}`);
      }
    }
    const onlyStore = [...store].filter((k) => !book.has(k));
    const onlyBook = [...book].filter((k) => !store.has(k));
    if (onlyStore.length === 0 && onlyBook.length === 0) {
      return { name: "the leader's books are the store's open orders", ok: true, detail: `${book.size} levels agree` };
    }
    detail = `store only: ${onlyStore.slice(0, 3).join(", ") || "-"}; book only: ${onlyBook.slice(0, 3).join(", ") || "-"}`;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return { name: "the leader's books are the store's open orders", ok: false, detail };
}

/**
 * The books' digests of the keepers at `urls` (`GET /v1/books/digest`), compared. A keeper that
 * answers 404 (a keeper without that route) or refuses the connection (a standby without an API)
 * is skipped, so that this compares nothing until standbys serve reads, and then everything. The
 * `digest` field of each answer is compared (the whole answer when it has none); followers catch up
 * asynchronously, so unequal digests are asked again, up to `timeoutMs`.
 */
export async function compareKeeperBooks(
  urls: readonly string[],
  timeoutMs = 10_000,
): Promise<{ equal: boolean; compared: string[]; skipped: string[]; digests: Record<string, string> }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const compared: string[] = [];
    const skipped: string[] = [];
    const digests: Record<string, string> = {};
    for (const url of urls) {
      let res: Response;
      try {
        res = await fetch(`${url}/v1/books/digest`, { signal: AbortSignal.timeout(10_000) });
      } catch (error) {
        const code = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code;
        if (code === "ECONNREFUSED") {
          skipped.push(url);
          continue;
        }
        throw error;
      }
      if (res.status === 404) {
        skipped.push(url);
        continue;
      }
      if (!res.ok) throw new Error(`GET ${url}/v1/books/digest answered ${res.status}: ${await res.text()}`);
      // `{ role, markets: [{ marketId, digest, levels, orders }] }`: the books alone are compared, not the role.
      const body = (await res.json()) as { markets?: unknown };
      digests[url] = JSON.stringify(body.markets ?? body);
      compared.push(url);
    }
    const equal = new Set(Object.values(digests)).size <= 1;
    if (equal || Date.now() > deadline) return { equal, compared, skipped, digests };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether the keeper at `url` answers `GET /v1/ready?role=leader` with 200. */
async function isLeader(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/v1/ready?role=leader`, { signal: AbortSignal.timeout(5_000) })).status === 200;
  } catch {
    return false;
  }
}
