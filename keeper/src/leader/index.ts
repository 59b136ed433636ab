/**
 * Leader election among keepers sharing one PostgreSQL: a lease row with a term.
 *
 * One row (`leader_lease`) says who leads, under which term, until when. A keeper takes the lease
 * when it is free or expired (the server's clock decides), which raises the term by one; the
 * leader renews it well before it expires; a keeper whose renewal finds another term has been
 * deposed and stops. The term is the fencing token: every commit of the leader starts with
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
  client: pg.Client,
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
export async function renew(client: pg.Client, term: number, ttlMs: number): Promise<boolean> {
  const r = await client.query(
    "UPDATE leader_lease SET expires_at = now() + $2 * interval '1 millisecond' WHERE id = 1 AND term = $1",
    [term, ttlMs],
  );
  return r.rowCount === 1;
}

/** Who holds the lease (expired or not), if anyone ever did. */
export async function currentLease(client: pg.Client): Promise<Lease | undefined> {
  const r = await client.query("SELECT * FROM leader_lease WHERE id = 1");
  return r.rows.length === 0 ? undefined : toLease(r.rows[0]);
}

export interface ElectionOptions {
  readonly client: pg.Client;
  /** This keeper's name in the lease (host and process). */
  readonly holder: string;
  readonly url: string;
  /** How long a lease lasts without renewal: the longest a dead leader holds the market. */
  readonly leaseMs: number;
  /** How often the leader renews and a standby tries (a third of the lease, say). */
  readonly intervalMs: number;
  /** While waiting: runs at each try that found the lease held (a standby keeps its copy warm here). */
  readonly onStandby?: (holder: Lease | undefined) => Promise<void>;
  readonly signal?: AbortSignal;
}

/** Waits until this keeper holds the lease: tries now, then every `intervalMs`. Returns the lease won. */
export async function waitForLease(o: ElectionOptions): Promise<Lease> {
  for (;;) {
    const won = await tryAcquire(o.client, o.holder, o.url, o.leaseMs);
    if (won !== undefined) return won;
    await o.onStandby?.(await currentLease(o.client));
    if (o.signal?.aborted) throw new Error("stopped while waiting for the lease");
    await new Promise((resolve) => setTimeout(resolve, o.intervalMs));
  }
}

/**
 * Renews `lease` every `intervalMs` until `stop()`; calls `onDeposed` once if a renewal finds another
 * term or fails for longer than the lease (the connection lost: another keeper may lead by then).
 */
export function holdLease(o: ElectionOptions, lease: Lease, onDeposed: (reason: string) => void): { stop(): void } {
  let lastRenewed = Date.now();
  let stopped = false;
  const timer = setInterval(() => {
    renew(o.client, lease.term, o.leaseMs).then(
      (held) => {
        if (stopped) return;
        if (held) lastRenewed = Date.now();
        else {
          stopped = true;
          clearInterval(timer);
          onDeposed(`the lease has a newer term than ${lease.term}`);
        }
      },
      (error: unknown) => {
        if (stopped || Date.now() - lastRenewed < o.leaseMs) return;
        stopped = true;
        clearInterval(timer);
        onDeposed(`the lease could not be renewed for ${o.leaseMs} ms: ${String(error)}`);
      },
    );
  }, o.intervalMs);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
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
