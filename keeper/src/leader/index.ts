/**
 * Leader election among keepers sharing one PostgreSQL: a lease row with a term.
 *
 * One row (`leader_lease`) says who leads, under which term, until when. A keeper takes the lease
 * when it is free or expired (the server's clock decides), which raises the term by one; the
 * leader renews it well before it expires (`holdLease`, on its own connection) and steps down —
 * follows, in its own process — when a renewal finds another term or could not land in time. The term is the fencing token: every commit of the leader starts with
 * `crossbook_fence(term)` (store/postgres.ts), which fails once the lease carries a newer term and
 * holds the lease row until the commit, so a keeper paused past its lease (SIGSTOP, a GC stall, a
 * lost connection) writes nothing after a new leader took over. Why a lease row and not an
 * advisory lock: keeper/README.md, "Several keepers on one PostgreSQL".
 */
import type pg from "pg";

export interface Lease {
  readonly term: number;
  readonly holder: string;
  /** The leader's API URL (what a follower names in `NOT_LEADER`). */
  readonly url: string;
  readonly since: Date;
  readonly expiresAt: Date;
}

function toLease(row: Record<string, unknown>): Lease {
  return {
    term: Number(row.term),
    holder: row.holder as string,
    url: row.url as string,
    since: row.since as Date,
    expiresAt: row.expires_at as Date,
  };
}

/**
 * Takes the lease for `holder` if nobody holds it or it has expired: the new term, or `undefined`
 * if another keeper holds it. One statement: two keepers trying at once cannot both win.
 */
export async function tryAcquire(
  client: LeaseDb,
  holder: string,
  url: string,
  ttlMs: number,
): Promise<Lease | undefined> {
  const r = await client.query(
    `INSERT INTO leader_lease (id, term, holder, url, since, expires_at)
       VALUES (1, 1, $1, $2, now(), now() + $3 * interval '1 millisecond')
     ON CONFLICT (id) DO UPDATE SET term = leader_lease.term + 1, holder = excluded.holder, url = excluded.url,
       since = excluded.since, expires_at = excluded.expires_at
       WHERE leader_lease.expires_at < now()
     RETURNING *`,
    [holder, url, ttlMs],
  );
  return r.rows.length === 0 ? undefined : toLease(r.rows[0]);
}

/** Extends the lease of `term` by `ttlMs` from now. False if the lease has another term: deposed. */
export async function renew(client: LeaseDb, term: number, ttlMs: number): Promise<boolean> {
  const r = await client.query(
    "UPDATE leader_lease SET expires_at = now() + $2 * interval '1 millisecond' WHERE id = 1 AND term = $1",
    [term, ttlMs],
  );
  return r.rowCount === 1;
}

/** Who holds the lease (expired or not), if anyone ever did. */
export async function currentLease(client: LeaseDb): Promise<Lease | undefined> {
  const r = await client.query("SELECT * FROM leader_lease WHERE id = 1");
  return r.rows.length === 0 ? undefined : toLease(r.rows[0]);
}

/** What the lease statements need of a connection (a `pg.Client`, or `LeaseConnection`). */
export interface LeaseDb {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

/**
 * The lease's own connection to PostgreSQL, apart from the store's: a renewal never waits in the
 * driver's queue behind a flush of many commits or a follower's refresh (a `pg.Client` runs one
 * query at a time). It connects on first use and again after an error; a query that takes longer
 * than `timeoutMs` fails (a hung renewal must not hold the next one).
 */
export class LeaseConnection implements LeaseDb {
  private client: Promise<pg.Client> | undefined;

  constructor(
    private readonly connect: () => pg.Client,
    private readonly timeoutMs: number,
  ) {}

  async query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    const pending = (this.client ??= this.open());
    let client: pg.Client;
    try {
      client = await pending;
    } catch (error) {
      if (this.client === pending) this.client = undefined;
      throw error;
    }
    try {
      return await client.query({ text, values, query_timeout: this.timeoutMs } as pg.QueryConfig);
    } catch (error) {
      // A server error (a constraint, a bad statement) leaves the session usable; anything else
      // (the connection lost, the query timed out) gets a new one next time.
      if ((error as { code?: unknown }).code === undefined && this.client === pending) {
        this.client = undefined;
        void client.end().catch(() => {});
      }
      throw error;
    }
  }

  private async open(): Promise<pg.Client> {
    const client = this.connect();
    client.on("error", () => {}); // a dropped connection fails the query in flight; the next one reconnects
    await client.connect();
    return client;
  }

  async end(): Promise<void> {
    const pending = this.client;
    this.client = undefined;
    await (await pending?.catch(() => undefined))?.end().catch(() => {});
  }
}

/**
 * How a keeper times the lease, from `--lease-ms`: the leader renews every eighth of the lease
 * and stops writing once a quarter of the lease is all that may be left of it; a standby tries to
 * take it every eighth and polls the shared store every quarter (the fallback to LISTEN/NOTIFY).
 * So a leader tolerates five renewals in a row lost or late — a stall of its event loop or of its
 * connection of about 1.25 s at the default 2 s — before it steps down, and steps down a half
 * second before a standby can take the lease: its last commit lands under its own term. See
 * keeper/README.md, "Lease timing".
 */
export function leaseTiming(leaseMs: number): { renewMs: number; marginMs: number; tryMs: number; pollMs: number } {
  return {
    renewMs: Math.max(25, Math.floor(leaseMs / 8)),
    marginMs: Math.floor(leaseMs / 4),
    tryMs: Math.max(25, Math.floor(leaseMs / 8)),
    pollMs: Math.max(50, Math.floor(leaseMs / 4)),
  };
}

/** The clock and timers of `holdLease` (injected in tests). `now` is monotonic milliseconds. */
export interface LeaseClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemLeaseClock: LeaseClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface HoldOptions {
  readonly db: LeaseDb;
  readonly lease: Lease;
  readonly leaseMs: number;
  /** When the statement that took the lease was sent (`clock.now()`): the lease runs from no earlier. */
  readonly acquiredAt: number;
  readonly clock?: LeaseClock;
  /** The timer fired this much later than asked (a busy event loop): worth a warning, not yet a step-down. */
  readonly onLate?: (lateMs: number) => void;
  /**
   * A renewal held the lease: how long PostgreSQL took to answer it. Long answers eat the margin as
   * surely as a late timer (the lease runs from the send of the last one answered).
   */
  readonly onRenewed?: (roundTripMs: number) => void;
  /** Once: the lease is lost (a newer term), or could lapse before the next renewal lands: step down now. */
  readonly onLost: (reason: string) => void;
}

export interface HeldLease {
  readonly term: number;
  /**
   * Milliseconds this leader may still write: until the lease could expire as this process knows
   * it (from the send of its last renewal that succeeded), less the margin. Zero or less: it must
   * not start a commit or a batch (the store's flush asks this before every round).
   */
  validFor(): number;
  stop(): void;
}

/**
 * Holds `lease`: renews it every `renewMs` on the lease's own connection, a chain of timers each
 * measuring how late it fired. The lease is known good until the send of the last renewal that
 * succeeded plus `leaseMs` (the server's `now()` is at or after that send); once less than
 * `marginMs` of that is left — renewals failing, hung, or never sent because the event loop
 * stalled — `onLost` runs and the leader steps down before any standby can take the lease, rather
 * than be fenced in the middle of a write. A renewal that finds another term: `onLost` at once.
 */
export function holdLease(o: HoldOptions): HeldLease {
  const clock = o.clock ?? systemLeaseClock;
  const { renewMs, marginMs } = leaseTiming(o.leaseMs);
  let renewedAt = o.acquiredAt;
  let inFlight = false;
  let stopped = false;
  let timer: unknown;
  const validFor = () => renewedAt + o.leaseMs - marginMs - clock.now();
  const lose = (reason: string) => {
    if (stopped) return;
    stopped = true;
    clock.clearTimeout(timer);
    o.onLost(reason);
  };
  const tick = (expectedAt: number) => {
    if (stopped) return;
    const now = clock.now();
    const late = now - expectedAt;
    if (late > renewMs) o.onLate?.(Math.round(late));
    if (validFor() <= 0) {
      lose(
        `no renewal for ${Math.round(now - renewedAt)} ms (lease ${o.leaseMs} ms; the renewal timer fired ` +
          `${Math.round(late)} ms late): stepping down before the lease can lapse`,
      );
      return;
    }
    if (!inFlight) {
      inFlight = true;
      const sentAt = now;
      renew(o.db, o.lease.term, o.leaseMs).then(
        (held) => {
          inFlight = false;
          if (stopped) return;
          if (!held) return lose(`the lease has a newer term than ${o.lease.term}`);
          renewedAt = Math.max(renewedAt, sentAt);
          o.onRenewed?.(clock.now() - sentAt);
        },
        () => {
          inFlight = false; // tried again at the next tick, until the margin is reached
        },
      );
    }
    timer = clock.setTimeout(() => tick(now + renewMs), renewMs);
  };
  const start = clock.now();
  timer = clock.setTimeout(() => tick(start + renewMs), renewMs);
  return {
    term: o.lease.term,
    validFor,
    stop() {
      stopped = true;
      clock.clearTimeout(timer);
    },
  };
}

/** What this keeper is now: what `/v1/ready`, the metrics and `NOT_LEADER` say. */
export interface RoleState {
  readonly role: "leader" | "follower";
  /** The lease's term: this keeper's own while it leads; as a follower, the leader's it last saw. */
  readonly term?: number;
  /** When this keeper took its current role. */
  readonly since: Date;
  /** The leader's API URL (the lease row's), when known. */
  readonly leader?: string;
}

/**
 * A keeper's role, as it changes: a follower learns who leads at each poll of the lease
 * (`observe`), and becomes the leader in the same process when it takes the lease (`lead`).
 */
export class KeeperRole {
  private state: RoleState;
  private readonly listeners: ((state: RoleState) => void)[] = [];

  constructor(initial: RoleState) {
    this.state = initial;
  }

  get current(): RoleState {
    return this.state;
  }

  get leading(): boolean {
    return this.state.role === "leader";
  }

  /** Runs at every change of role (not at `observe`). */
  onChange(fn: (state: RoleState) => void): void {
    this.listeners.push(fn);
  }

  /** The leader's own API URL, once it listens (no change of role). */
  announce(url: string): void {
    if (this.leading) this.state = { ...this.state, leader: url };
  }

  /** This keeper no longer leads (it stepped down or was deposed): it follows, `lease` naming the leader if known. */
  follow(lease?: Lease): void {
    this.state = {
      role: "follower",
      since: new Date(),
      ...(lease === undefined ? { term: this.state.term } : { term: lease.term, leader: lease.url }),
    };
    for (const fn of this.listeners) fn(this.state);
  }

  /** A follower's view of the lease (who leads, under which term). */
  observe(lease: Lease | undefined): void {
    if (this.leading || lease === undefined) return;
    this.state = { ...this.state, term: lease.term, leader: lease.url };
  }

  /** This keeper leads under `lease`, its API at `url`. */
  lead(lease: Lease, url: string): void {
    this.state = { role: "leader", term: lease.term, since: lease.since, leader: url };
    for (const fn of this.listeners) fn(this.state);
  }
}
