/**
 * PostgreSQL's database layer. The store's operations are synchronous (the engine matches, writes
 * and publishes without yielding, so that no other order slips in between) and PostgreSQL through
 * `pg` is asynchronous, so this layer keeps the store's state in a local working copy (SQLite,
 * not fsynced: it is rebuilt from PostgreSQL at every start) and sends every local commit to
 * PostgreSQL as one transaction, in commit order, one round trip per flush however many commits
 * it holds (group commit). A commit is durable when `durable()` resolves: the engine answers an
 * order only then (as it does with SQLite's group commit), settlement broadcasts a batch only
 * then. A flush that fails — the connection lost, the fence refused an old term, the lease about
 * to lapse (`leaseValidFor`) — fails the layer: every later write throws `STORE_FAILED` and the
 * keeper steps down, `resync` making the working copy what PostgreSQL holds (or it stops, and a
 * restart rebuilds the copy). See keeper/README.md, "PostgreSQL".
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import {
  RAISE_META_SQL,
  SqliteDatabase,
  StoreError,
  latestVersion,
  schemaTooNew,
  type Db,
  type Group,
  type Row,
} from "./database";
import { POSTGRES_MIGRATIONS, type Migration } from "./migrations";

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

export interface PostgresOptions {
  /** Where the working copy goes (a fresh temporary directory by default, removed at shutdown). */
  readonly workDir?: string;
}

/** The tables the working copy mirrors, parents first (foreign keys), with their keys. */
const TABLES = [
  { name: "orders", key: "hash" },
  { name: "batches", key: "id" },
  { name: "fills", key: "id" },
  { name: "meta", key: "key" },
] as const;

/** BIGINT as a JS number (ids and millisecond timestamps fit; on-chain quantities are TEXT). */
const TYPES = {
  getTypeParser: (oid: number, format?: "text" | "binary") =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as "text"),
};

/** A client of the shared database with BIGINT as numbers. */
export function pgClient(url: string): pg.Client {
  return new pg.Client({ connectionString: url, types: TYPES as pg.CustomTypesConfig });
}

/** Applies PostgreSQL's migrations the database has not seen, under a lock (keepers may start together). */
export async function migratePostgres(
  client: pg.Client,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
): Promise<number[]> {
  const applied: number[] = [];
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(7246873)"); // "cb" migrations: held until COMMIT
    await client.query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL)");
    const current = ((await client.query("SELECT MAX(version) AS v FROM schema_version")).rows[0].v as number) ?? 0;
    const latest = latestVersion(migrations);
    if (current > latest) throw schemaTooNew(current, latest);
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await client.query("INSERT INTO schema_version (version, name) VALUES ($1, $2)", [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
  return applied;
}

/**
 * What a follower's refresh brought in: the orders and fills it changed, each with what the working
 * copy held of it before (absent: new). The engine turns them into book, order and trade updates.
 */
export interface Pulled {
  readonly orders: readonly { readonly hash: string; readonly before?: Row }[];
  readonly fills: readonly { readonly id: number; readonly before?: Row }[];
}

/** One write of a local commit, to be replayed in PostgreSQL. */
export interface Write {
  readonly sql: string;
  readonly params: readonly unknown[];
}

export class PostgresDatabase extends SqliteDatabase {
  override readonly kind = "postgres";
  /** The writes of the open local transaction, in order. */
  private log: Write[] = [];
  /** Committed locally, not yet sent. */
  private queued: { writes: Write[]; groups: Group[] }[] = [];
  /** The groups of the round in flight (their hooks run once it lands), while one is. */
  private sending: Group[] | undefined;
  private flushing: Promise<void> | undefined;
  private failure: Error | undefined;
  /** The highest change revision the working copy holds. */
  private revision: number;
  /** The term every flush is fenced with (set by the leader election); none: unfenced (a single keeper). */
  term: number | undefined;
  /**
   * How many milliseconds this keeper may still write under its lease (`HeldLease.validFor`): asked
   * before every flush, which is refused (a failure, as a fenced one) when nothing is left. Absent:
   * no lease (a single keeper).
   */
  leaseValidFor: (() => number) | undefined;
  /** Runs after the failure of a flush (once): the keeper stops. */
  onFailure: (error: Error) => void = () => {};
  /**
   * A follower's working copy is read-only: every write throws `READ_ONLY` (the leader writes;
   * this copy only follows it). Cleared when the keeper takes the lease.
   */
  readOnly = false;

  private constructor(
    handle: Db,
    path: string,
    private readonly client: pg.Client,
    private readonly workDir: string | undefined,
    revision: number,
    /**
     * The LISTEN/NOTIFY channel of this store's schema, as an SQL identifier: `crossbook_changes`
     * in `public`, `crossbook_changes_<schema>` in any other (a shard's), so that the followers of
     * one schema wake only on its own leader's commits.
     */
    readonly channel: string,
  ) {
    super(handle, path);
    this.revision = revision;
  }

  /**
   * Connects, brings PostgreSQL's schema up to date, and loads every row into a new working copy
   * (in one consistent snapshot): what a restart of the keeper reads.
   */
  static async connect(url: string, options: PostgresOptions = {}): Promise<PostgresDatabase> {
    const client = pgClient(url);
    await client.connect();
    const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), "crossbook-pg-copy-"));
    try {
      await migratePostgres(client);
      const path = unlockedFile(join(workDir, "working-copy.db"));
      const local = SqliteDatabase.openFile(path, false);
      keepJournalInMemory(local);
      keepPagesInMemory(local);
      const { top: revision } = await load(client, local, 0);
      const schema = (await client.query("SELECT current_schema() AS s")).rows[0].s as string;
      const channel = client.escapeIdentifier(
        schema === "public" ? "crossbook_changes" : `crossbook_changes_${schema}`,
      );
      const own = options.workDir === undefined ? workDir : undefined;
      return new PostgresDatabase(local, path, client, own, revision, channel);
    } catch (error) {
      await client.end().catch(() => {});
      if (options.workDir === undefined) rmSync(workDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The connection to PostgreSQL (the leader election shares it: one session per keeper). */
  get pg(): pg.Client {
    return this.client;
  }

  override run(sql: string, ...params: unknown[]): number {
    if (this.failure !== undefined) throw failed(this.failure);
    if (this.readOnly) {
      throw new StoreError(
        "READ_ONLY",
        "this keeper follows the leader: its working copy of the shared database is read-only (a write reached it)",
      );
    }
    const changes = super.run(sql, ...params);
    // A row write that changed nothing in the working copy changes nothing in PostgreSQL either
    // (the copy is PostgreSQL's rows plus the writes queued before this one): it is not sent.
    if (changes > 0 || !ROW_WRITE.test(sql)) this.log.push({ sql, params });
    return changes;
  }

  /**
   * Runs `hook` once PostgreSQL has every commit made so far, right after those commits' hooks (it
   * joins the last of them: no round of its own); at once when nothing is queued or in flight;
   * never if a flush fails.
   */
  override afterDurable(hook: () => void): void {
    if (this.failure !== undefined) return;
    const marker: Group = { waiters: [], afterCommit: [hook] };
    const last = this.queued.at(-1);
    if (last !== undefined) last.groups.push(marker);
    else if (this.sending !== undefined) this.sending.push(marker);
    else hook();
  }

  override durable(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(failed(this.failure));
    return this.flushing ?? Promise.resolve();
  }

  /**
   * Pulls what another keeper committed since the working copy's revision (a follower's refresh:
   * LISTEN/NOTIFY says when, a timer makes sure). Returns the rows applied. Never on a leader.
   */
  async refresh(onPulled?: (pulled: Pulled) => void): Promise<number> {
    const before = this.revision;
    const pulled = await load(this.client, this.db, this.revision, onPulled !== undefined);
    this.revision = pulled.top;
    if (this.revision !== before) {
      this.onOrdersLoaded(pulled.orderRows, false);
      this.onRollback(); // the store counts its figures again
      // In the same synchronous step as the local commit: nothing reads the copy in between.
      onPulled?.(pulled);
    }
    return this.revision - before;
  }

  /**
   * A leader that stepped down (or was deposed) becomes a follower: the open group is committed
   * locally, the flush in flight finishes or fails, and then the working copy is made exactly what
   * PostgreSQL holds — every row read again in one snapshot, the commits PostgreSQL refused
   * dropped — read-only and unfenced, the layer's failure (if any) cleared. Throws if PostgreSQL
   * cannot be read (the keeper then stops: a restart rebuilds the copy).
   */
  async resync(): Promise<void> {
    try {
      this.commitGroup();
    } catch {
      // a local commit that failed undid itself
    }
    for (let flushing = this.flushing; flushing !== undefined; flushing = this.flushing) {
      await flushing.catch(() => {});
      if (this.flushing === flushing) this.flushing = undefined; // ended: nothing clears it twice
    }
    this.readOnly = true;
    this.term = undefined;
    this.leaseValidFor = undefined;
    this.log = [];
    const { top, orderRows } = await load(this.client, this.db, 0, false, true);
    this.failure = undefined;
    this.revision = top;
    this.onOrdersLoaded(orderRows, true);
    this.onRollback(); // the store counts its figures again
  }

  override async shutdown(): Promise<void> {
    await this.flushing?.catch(() => {});
    await this.client.end().catch(() => {});
    if (this.workDir !== undefined) rmSync(this.workDir, { recursive: true, force: true });
  }

  protected override committedLocally(groups: readonly Group[]): void {
    const writes = this.log;
    this.log = [];
    if (writes.length === 0 && groups.every((g) => g.waiters.length === 0 && g.afterCommit.length === 0)) return;
    if (writes.length === 0 && this.flushing === undefined && this.failure === undefined) {
      // Nothing to send, and every commit before is in PostgreSQL already: its hooks and waiters go now.
      super.committedLocally(groups);
      return;
    }
    this.queued.push({ writes, groups: [...groups] });
    if (this.flushing === undefined) {
      const flushing = this.flush();
      // A failed flush is told to its waiters, to `durable()`'s callers and to `onFailure` (the
      // keeper steps down): the promise itself must never end the process as an unhandled
      // rejection when no one awaits it (a flush of writes with no waiter, refused at a step-down).
      flushing.catch(() => {});
      this.flushing = flushing;
    }
  }

  protected override rolledBack(): void {
    this.log = [];
    super.rolledBack();
  }

  /** Sends what is queued, one PostgreSQL transaction per round, until nothing is. */
  private async flush(): Promise<void> {
    // Never synchronously: `flushing` is assigned from this call's promise after it returns, so a
    // round that fails at once (the layer failed, no lease left) must not clear it before that.
    await Promise.resolve();
    while (this.queued.length > 0) {
      const round = this.queued;
      this.queued = [];
      const groups = round.flatMap((r) => r.groups);
      this.sending = groups;
      try {
        if (this.failure !== undefined) throw failed(this.failure);
        if (this.leaseValidFor !== undefined && this.leaseValidFor() <= 0) {
          throw new Error(
            `the lease of term ${this.term} could lapse: this keeper stepped down; the commit was not sent`,
          );
        }
        await this.send(round.flatMap((r) => r.writes));
      } catch (error) {
        const cause = error instanceof Error ? error : new Error(String(error));
        if (this.failure === undefined) {
          this.failure = cause;
          this.onFailure(cause);
        }
        this.sending = undefined;
        for (const g of groups) for (const w of g.waiters) w.reject(failed(cause));
        for (const r of this.queued) for (const g of r.groups) for (const w of g.waiters) w.reject(failed(cause));
        this.queued = [];
        this.flushing = undefined;
        this.commitHeldGroup(); // its flush fails at once, and tells its callers
        throw failed(cause);
      }
      this.sending = undefined;
      super.committedLocally(groups);
      // The group that waited for this round goes in the next one.
      this.commitHeldGroup();
    }
    this.flushing = undefined;
  }

  /**
   * A group commits locally at the end of the turn of the event loop that opened it (the base
   * class's default: no window), unless a flush is in flight: then it stays open until that flush
   * is done. Its commit could not be sent before then anyway, and the orders that arrive meanwhile
   * join it instead of a group of their own. So a quiet keeper's order waits for one round trip
   * to PostgreSQL, not a timer, and a busy one makes one local commit a flush: fewer, larger local
   * commits, whose indexes and COMMIT cost less an order (each touched page written once a commit).
   */
  protected override holdsGroup(): boolean {
    return this.flushing !== undefined && this.failure === undefined;
  }

  /** One transaction: the fence (if a term is set), the writes, a notification for the followers. */
  private async send(writes: readonly Write[]): Promise<void> {
    const text = [
      "BEGIN",
      ...(this.term === undefined ? [] : [`SELECT crossbook_fence(${this.term})`]),
      ...coalesce(this.client, writes),
      `NOTIFY ${this.channel}`,
      "COMMIT",
    ].join(";\n");
    try {
      // One round trip: a simple-protocol query of many statements (values inlined as literals).
      await this.client.query(text);
    } catch (error) {
      await this.client.query("ROLLBACK").catch(() => {});
      throw error;
    }
  }
}

/**
 * The working copy needs no crash safety (every start builds it again from PostgreSQL), so its
 * rollback journal stays in memory instead of SQLite's write-ahead log: a local commit writes the
 * changed pages to the file once, where WAL appends them to the log and keeps its index. The
 * committed reader (a second connection) still sees only what is committed: in rollback-journal
 * mode it reads the file, which a transaction does not touch before its commit as long as no page
 * spills from the cache early — `cache_spill = OFF`.
 */
function keepJournalInMemory(local: Db): void {
  local.exec("PRAGMA journal_mode = MEMORY");
  local.exec("PRAGMA cache_spill = OFF");
}

/**
 * The most of the working copy's pages its writer keeps in memory: 128 MiB (some 180,000 orders
 * with their indexes). An order's insert lands on any page of the primary key's index (hashes come
 * in no order); with SQLite's default cache (2 MB) a shard at saturation read 3.4 pages an order
 * back from the file (`pread64`, some 10 µs of its CPU an order, measured with `perf` in
 * `bench:shard`). Pages are held as they are read or written, so a smaller copy costs no more.
 */
export const WORKING_COPY_CACHE_KIB = 131_072;

function keepPagesInMemory(local: Db): void {
  local.exec(`PRAGMA cache_size = -${WORKING_COPY_CACHE_KIB}`);
}

/**
 * The working copy's file as a URI for SQLite's `unix-none` VFS: no file locks. Only this process
 * opens the file (a temporary directory of its own), and its two connections — the writer and the
 * committed reader — run on one thread, each statement to its end (no read is ever open across a
 * commit), so the locks guarded nothing; they cost a system call or two on every read outside a
 * transaction, which in rollback-journal mode doubled the cost of such a read (about 10 µs more,
 * measured). What they still guarded against — the reader seeing pages a transaction wrote before
 * its commit — `cache_spill = OFF` rules out (`keepJournalInMemory`).
 */
function unlockedFile(path: string): string {
  return `file:${path.split("/").map(encodeURIComponent).join("/")}?vfs=unix-none`;
}

/** An INSERT, UPDATE or DELETE, whose count of changed rows is its own (SQLite keeps the last one's for other statements). */
const ROW_WRITE = /^\s*(INSERT|UPDATE|DELETE)\b/i;

function failed(cause: Error): StoreError {
  return new StoreError("STORE_FAILED", `the shared database refused a commit: ${cause.message}`);
}

/** A plain `INSERT … VALUES (…)` of one row (no `ON CONFLICT`, no `RETURNING`): rows of the same one can go in one statement. */
const SINGLE_ROW_INSERT = /^\s*INSERT INTO \w+\s*\([^?()]*\)\s*VALUES\s*\((?:[^()';]|'[^']*'|\([^()]*\))*\)\s*$/i;

/**
 * A flush's writes as fewer statements, with the same outcome (PostgreSQL parses, plans and fires
 * its trigger per statement, so that is most of its cost an order):
 *
 * - the raises of one `meta` key (`RAISE_META_SQL`: the value only ever grows) become one, the
 *   highest, at the end of the transaction, when no other write of the flush touches `meta`;
 * - consecutive single-row inserts of the same statement become one multi-row insert (each row
 *   still its own trigger call, in the same order; one failing fails the transaction either way).
 */
export function coalesce(client: pg.Client, writes: readonly Write[]): string[] {
  const raises = writes.filter((w) => w.sql === RAISE_META_SQL);
  const otherMeta = writes.some((w) => w.sql !== RAISE_META_SQL && /\bmeta\b/i.test(w.sql));
  const highest = new Map<string, Write>();
  if (raises.length > 1 && !otherMeta) {
    for (const w of raises) {
      const [key, value] = w.params as [string, string];
      const best = highest.get(key);
      if (best === undefined || BigInt(value) > BigInt(best.params[1] as string)) highest.set(key, w);
    }
  }
  const kept = highest.size === 0 ? writes : writes.filter((w) => w.sql !== RAISE_META_SQL);
  const statements: string[] = [];
  for (let i = 0; i < kept.length;) {
    const w = kept[i];
    let j = i + 1;
    while (j < kept.length && kept[j].sql === w.sql) j++;
    if (j - i === 1 || !SINGLE_ROW_INSERT.test(w.sql)) {
      statements.push(inline(client, w));
      i++;
      continue;
    }
    const at = w.sql.search(/VALUES\s*\(/i) + "VALUES".length; // the columns hold no parameter
    const rows = kept.slice(i, j).map((row) => inline(client, row).slice(at).trim());
    statements.push(`${w.sql.slice(0, at)} ${rows.join(",\n")}`);
    i = j;
  }
  for (const w of highest.values()) statements.push(inline(client, w));
  return statements;
}

/**
 * The statement with its parameters as SQL literals (`?`, or `?N` for the Nth). The store's writes
 * pass strings, numbers, bigints and nulls only; a string gets the driver's `escapeLiteral`, or
 * what that returns for it without the character-by-character copy when it holds no quote and no
 * backslash (hashes, addresses, decimal strings: nearly every value a flush sends).
 */
function inline(client: pg.Client, w: Write): string {
  const { parts, slots } = templateOf(w.sql);
  let text = parts[0];
  for (let i = 0; i < slots.length; i++) text += literal(client, w.params[slots[i]]) + parts[i + 1];
  return text;
}

function literal(client: pg.Client, v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "number" || typeof v === "bigint") return v.toString();
  if (typeof v === "boolean") return v ? "1" : "0";
  const s = String(v);
  return QUOTE_OR_BACKSLASH.test(s) ? client.escapeLiteral(s) : `'${s}'`;
}

const QUOTE_OR_BACKSLASH = /['\\]/;

/** A statement cut at its parameters: `parts[0]`, parameter `slots[0]`, `parts[1]`, … the last part. */
interface Template {
  readonly parts: readonly string[];
  readonly slots: readonly number[];
}

/** The store's statements, each cut once (a few dozen texts; any beyond the bound are cut every time). */
const templates = new Map<string, Template>();
const MAX_TEMPLATES = 256;

function templateOf(sql: string): Template {
  const known = templates.get(sql);
  if (known !== undefined) return known;
  const parts: string[] = [];
  const slots: number[] = [];
  let next = 0;
  let end = 0;
  for (const m of sql.matchAll(/\?(\d+)?/g)) {
    parts.push(sql.slice(end, m.index));
    slots.push(m[1] === undefined ? next++ : Number(m[1]) - 1);
    end = (m.index as number) + m[0].length;
  }
  parts.push(sql.slice(end));
  const template = { parts, slots };
  if (templates.size < MAX_TEMPLATES) templates.set(sql, template);
  return template;
}

/**
 * Copies every row changed after `revision` from PostgreSQL into the working copy, in one snapshot
 * and one local transaction, and returns the highest revision copied and the order rows copied.
 */
async function load(
  client: pg.Client,
  local: Db,
  revision: number,
  changes = false,
  replace = false,
): Promise<Pulled & { top: number; orderRows: readonly Row[] }> {
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  const tables: { name: string; key: string; rows: Row[] }[] = [];
  try {
    for (const t of TABLES) {
      const r = await client.query(`SELECT * FROM ${t.name} WHERE rev > $1 ORDER BY rev`, [revision]);
      tables.push({ ...t, rows: r.rows as Row[] });
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
  let top = revision;
  const orders: { hash: string; before?: Row }[] = [];
  const fills: { id: number; before?: Row }[] = [];
  local
    .transaction(() => {
      // Everything again (`replace`): what the copy holds and PostgreSQL does not goes, children first.
      if (replace) for (const t of [...TABLES].reverse()) local.exec(`DELETE FROM ${t.name}`);
      for (const t of tables) {
        if (t.rows.length === 0) continue;
        const columns = (local.prepare(`PRAGMA table_info(${t.name})`).all() as Row[]).map((c) => c.name as string);
        const upsert = local.prepare(
          `INSERT INTO ${t.name} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})
         ON CONFLICT (${t.key}) DO UPDATE SET ${columns.map((c) => `${c} = excluded.${c}`).join(", ")}`,
        );
        // Parents before children within a table too (a replacement batch names the one it replaces).
        const rows = t.name === "batches" ? [...t.rows].sort((a, b) => (a.id as number) - (b.id as number)) : t.rows;
        const previous = local.prepare(`SELECT * FROM ${t.name} WHERE ${t.key} = ?`);
        for (const row of rows) {
          if (changes && t.name === "orders") {
            orders.push({ hash: row.hash as string, before: previous.get(row.hash) as Row | undefined });
          } else if (changes && t.name === "fills") {
            fills.push({ id: row.id as number, before: previous.get(row.id) as Row | undefined });
          }
          upsert.run(...columns.map((c) => row[c] ?? null));
          top = Math.max(top, row.rev as number);
        }
      }
    })
    .immediate();
  return { top, orders, fills, orderRows: tables.find((t) => t.name === "orders")?.rows ?? [] };
}
