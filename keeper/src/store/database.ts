import { closeSync, fsync, fsyncSync, openSync } from "node:fs";
import { performance } from "node:perf_hooks";
import Database from "libsql";
import { LogCheckpointer, RESTART_LOG_FRAMES, type CheckpointerOptions } from "./checkpointer";
import { MIGRATIONS, type Migration } from "./migrations";

/** The store's errors. `code` is stable; every one means the caller asked for something impossible. */
export type StoreErrorCode =
  | "ORDER_EXISTS"
  | "ORDER_NOT_FOUND"
  | "FILL_NOT_FOUND"
  | "FILL_NOT_PENDING"
  | "FILL_NOT_SENT"
  | "FILL_EXCEEDS_ORDER"
  | "BATCH_NOT_FOUND"
  | "BATCH_NOT_SENT"
  | "BATCH_EMPTY"
  | "SCHEMA_TOO_NEW"
  | "STORE_CLOSED"
  | "NESTED_GROUP"
  /** A follower's working copy refused a write: only the leader writes the shared database. */
  | "READ_ONLY"
  /** The shared database refused a write: another keeper leads now (its term is newer), or the connection failed. */
  | "STORE_FAILED";

export class StoreError extends Error {
  override readonly name = "StoreError";
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type Db = InstanceType<typeof Database>;
type Statement = Database.Statement<unknown[]>;
export type Row = Record<string, unknown>;

/**
 * The one write that only ever raises a stored number (`meta`'s `key`, `value`): a group commit to
 * PostgreSQL sends one per key, the highest, however many its commits made (./postgres).
 */
export const RAISE_META_SQL = `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value
         WHERE CAST(excluded.value AS BIGINT) > CAST(meta.value AS BIGINT)`;

/**
 * Waiters of a commit resumed in one turn of the event loop: the rest wait for the next turn
 * (`setImmediate`), in order. A group of a busy keeper holds hundreds of orders, and each waiter
 * resumed runs its caller's continuation (the answer, its reply, its feed updates) in the same
 * microtask drain: resumed all at once they held the loop for 100 ms and more, every timer and
 * request waiting behind them.
 */
export const RESUME_SLICE = 16;

function resumeInSlices(waiters: readonly { resolve(): void }[], from = 0): void {
  const end = Math.min(from + RESUME_SLICE, waiters.length);
  for (let i = from; i < end; i++) waiters[i].resolve();
  if (end < waiters.length) setImmediate(() => resumeInSlices(waiters, end));
}

/**
 * Applies the migrations the database has not seen, in order, each in its own transaction with
 * its `schema_version` row. Running it again does nothing. Returns the versions it applied.
 */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): number[] {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL) STRICT");
  const current = (db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as Row).v as number | null;
  const latest = latestVersion(migrations);
  if ((current ?? 0) > latest) throw schemaTooNew(current ?? 0, latest);
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= (current ?? 0)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_version (version, name) VALUES (?, ?)").run(m.version, m.name);
    }).immediate();
    applied.push(m.version);
  }
  return applied;
}

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.length === 0 ? 0 : migrations[migrations.length - 1].version;
}

export function schemaTooNew(current: number, latest: number): StoreError {
  return new StoreError(
    "SCHEMA_TOO_NEW",
    `the database is at schema version ${current}; this keeper knows up to ${latest}`,
  );
}

/** Reads over one connection, each statement prepared once (preparing is a large share of a small query's cost). */
export class Reader {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly connection: () => Db) {}

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.connection().prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  get(sql: string, ...params: unknown[]): Row | undefined {
    return this.statement(sql).get(...params) as Row | undefined;
  }

  all(sql: string, ...params: unknown[]): Row[] {
    return this.statement(sql).all(...params) as Row[];
  }

  /** A write through the cached statement; returns the rows it changed. */
  protected write(sql: string, params: readonly unknown[]): number {
    return Number(this.statement(sql).run(...params).changes);
  }
}

/** What a group commit holds: who waits for it, and what runs right after it commits. */
export interface Group {
  readonly waiters: { resolve(): void; reject(error: Error): void }[];
  readonly afterCommit: (() => void)[];
}

/**
 * How a child process checkpoints the log (`SqliteDatabase.open`'s `checkpoints`; `LogCheckpointer`);
 * `restartFrames`: the log's length past which the writer starts it again (`RESTART_LOG_FRAMES`).
 */
export type ChildCheckpoints = Omit<CheckpointerOptions, "onLost" | "onReport"> & { readonly restartFrames?: number };

/** An fsync that calls back when the file is on disk (`node:fs`'s, on libuv's thread pool, by default). */
export type LogFsync = (fd: number, done: (error: Error | null) => void) => void;

/**
 * The fsync of a durable SQLite file's write-ahead log, off the event loop. The connection runs with
 * `synchronous=NORMAL` (a COMMIT appends to the log and does not wait for the disk) and this makes
 * each group commit durable afterwards: a group committed waits for the next fsync of the log — one
 * at a time, each covering every commit before it — and only then runs its `afterCommit` hooks and
 * resumes its waiters, in commit order. Nothing is acknowledged or published before it is on disk,
 * as with `synchronous=FULL`; but the event loop no longer stops for the disk on every group: a
 * COMMIT's fsync took 4 ms at the median and 20–44 ms at the 99th percentile on a loaded 2-core
 * machine, and a busy keeper commits a group every fsync (`holdsGroup`). A `transaction` still
 * returns durable (`syncNow`, on the main thread), and with it every group before it.
 */
class LogSync {
  private fd: number | undefined;
  /** Committed to the log, not yet in an fsync. */
  private waiting: Group[] = [];
  /** In the fsync under way (undefined: none is). */
  private inFsync: Group[] | undefined;
  private failure: Error | undefined;
  private closed = false;

  constructor(
    private readonly logPath: string,
    private readonly fsyncLog: LogFsync,
    /** Runs the groups' hooks and resumes their waiters, in order. */
    private readonly durable: (groups: readonly Group[]) => void,
    /** Runs after each fsync off the event loop, done or failed: the group held for it commits. */
    private readonly afterFsync: () => void = () => {},
    /** Told how long each fsync that succeeded took, in seconds, from the ask to its callback. */
    private readonly fsyncTook: (seconds: number) => void = () => {},
  ) {}

  /** A group just committed to the log: durable after the next fsync. */
  committed(group: Group): void {
    if (this.failure !== undefined) return this.fail([group], this.failure);
    this.waiting.push(group);
    this.start();
  }

  /** Whether an fsync off the event loop is under way. */
  get syncing(): boolean {
    return this.inFsync !== undefined;
  }

  /** Whether a committed group is not yet on disk. */
  get pending(): boolean {
    return this.waiting.length > 0 || (this.inFsync?.length ?? 0) > 0;
  }

  /** Resolves when every group committed so far is durable. */
  idle(): Promise<void> {
    if (!this.pending) return this.failure === undefined ? Promise.resolve() : Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.committed({ waiters: [{ resolve, reject }], afterCommit: [] }));
  }

  /**
   * Runs `hook` right after the hooks of the last group committed so far, once it is on disk (never
   * if that fsync fails); at once when every group is on disk already.
   */
  afterLast(hook: () => void): void {
    if (this.failure !== undefined) return;
    const last = this.waiting.at(-1) ?? this.inFsync?.at(-1);
    if (last === undefined) hook();
    else last.afterCommit.push(hook);
  }

  /** Fsyncs the log now, on the calling thread: every group committed so far is durable, in order. */
  syncNow(): void {
    if (this.closed) return;
    fsyncSync(this.fdOf());
    const groups = [...(this.inFsync ?? []), ...this.waiting];
    this.waiting = [];
    if (this.inFsync !== undefined) this.inFsync = []; // the fsync under way finds them done
    this.durable(groups);
  }

  /** Makes what is committed durable and lets go of the log's file. */
  close(): void {
    if (this.closed) return;
    if (this.pending) this.syncNow();
    this.closed = true;
    if (this.fd !== undefined) closeSync(this.fd);
  }

  private start(): void {
    if (this.inFsync !== undefined || this.waiting.length === 0 || this.closed) return;
    this.inFsync = this.waiting;
    this.waiting = [];
    const asked = performance.now();
    this.fsyncLog(this.fdOf(), (error) => {
      const groups = this.inFsync ?? [];
      this.inFsync = undefined;
      if (error !== null) {
        // The disk failed: nothing after this point can be promised durable (store errors are fatal).
        this.failure = error;
        this.fail([...groups, ...this.waiting], error);
        this.waiting = [];
        this.afterFsync(); // the held group's commit fails at once, and tells its callers
        return;
      }
      this.fsyncTook((performance.now() - asked) / 1000);
      this.durable(groups);
      this.afterFsync();
      this.start();
    });
  }

  private fail(groups: readonly Group[], error: Error): void {
    for (const g of groups) for (const w of g.waiters) w.reject(error);
  }

  private fdOf(): number {
    // The log exists once the connection has committed in WAL mode; it keeps its inode while open.
    this.fd ??= openSync(this.logPath, "r");
    return this.fd;
  }
}

/**
 * The store's database layer: one connection that writes (and reads its own writes), prepared
 * statements, migrations, transactions and group commit, and a second read-only connection for
 * what is committed. The store's domain operations (orders, fills, batches) run on top of it and
 * know nothing of the backend. This class is SQLite's layer (libsql: WAL): a `transaction` is
 * durable when it returns; a group commit once its `durable` resolves (the log's fsync runs off
 * the event loop: `LogSync`). `PostgresDatabase` (postgres.ts) keeps the same synchronous
 * interface over a local working copy and makes each commit durable in PostgreSQL afterwards:
 * `durable()` resolves when every commit so far is. See keeper/README.md, "Store".
 */
export class SqliteDatabase extends Reader {
  readonly kind: "sqlite" | "postgres" = "sqlite";
  private closed = false;
  private group: Group | undefined;
  /** Whether a transaction body is running: a nested `transaction` joins it. */
  private inBody = false;
  private committedReader: { db: Db; reads: Reader } | undefined;
  /** The child process that checkpoints the log, when the writer does not (`open`'s `checkpoints`). */
  private childCheckpoints: LogCheckpointer | undefined;
  /** The child reported a log past its bound while a transaction was open: restarted after its COMMIT. */
  private restartDue = false;
  /**
   * Told how long each fsync of the log off the event loop took (seconds, from the ask to its
   * callback on the event loop, which a busy loop delays): what a group commit waits for the disk.
   */
  onLogFsync: ((seconds: number) => void) | undefined;
  /** Runs after a rollback: the store counts its in-memory figures again. */
  onRollback: () => void = () => {};
  /** Runs after each local COMMIT of the writer's transaction (a group's or a `transaction`'s). */
  onCommitted: () => void = () => {};
  /** Runs when the writer's transaction was rolled back (before `onRollback`). */
  onUndone: () => void = () => {};
  /**
   * Runs after order rows were written from elsewhere, each in the same local transaction, committed
   * (a PostgreSQL follower's pull; `replaced`: the whole table was read again).
   */
  onOrdersLoaded: (rows: readonly Row[], replaced: boolean) => void = () => {};
  /** A durable file's log fsync, off the event loop (absent: each commit is as durable as the file is). */
  private logSync: LogSync | undefined;
  /** Statements `run` has completed: whether a group's body wrote anything before it threw. */
  private writes = 0;
  /** Whether the open group's turn is over (it stays open only while `holdsGroup` says so). */
  private turnOver = false;
  /** Raises held back to the open group's commit (`raise`): the highest value per `meta` key. */
  private raises = new Map<string, bigint>();

  protected constructor(
    private readonly handle: Db,
    /** The file: the read-only connection opens it too. */
    readonly path: string,
  ) {
    super(() => this.db);
  }

  /**
   * Opens (creating if needed) the database file and brings its schema up to date. `fsyncLog`: how
   * the log is fsynced after a group commit (`node:fs`'s `fsync`, off the event loop, by default).
   */
  static open(path: string, options: { fsyncLog?: LogFsync; checkpoints?: ChildCheckpoints } = {}): SqliteDatabase {
    const db = new SqliteDatabase(SqliteDatabase.openFile(path, true), path);
    db.logSync = new LogSync(
      `${path}-wal`,
      options.fsyncLog ?? fsync,
      (groups) => db.committedLocally(groups),
      () => db.commitHeldGroup(),
      (seconds) => db.onLogFsync?.(seconds),
    );
    if (options.checkpoints !== undefined) db.checkpointInChild(options.checkpoints);
    return db;
  }

  /**
   * Hands the log's checkpoints to a child process (`LogCheckpointer`): the writer never checkpoints
   * inside a COMMIT while the child runs, and takes them back if it is lost.
   */
  private checkpointInChild(options: ChildCheckpoints): void {
    const autocheckpoint = (pages: number) => {
      if (!this.closed) this.handle.exec(`PRAGMA wal_autocheckpoint = ${pages}`);
    };
    const writersOwn = Number(this.pragma("wal_autocheckpoint"));
    autocheckpoint(0);
    const restartFrames = options.restartFrames ?? RESTART_LOG_FRAMES;
    this.childCheckpoints = LogCheckpointer.start(this.path, {
      ...options,
      onLost: () => autocheckpoint(writersOwn),
      // Between transactions only: now, or right after the open group's COMMIT.
      onReport: (report) => {
        if (report.log <= restartFrames || this.closed) return;
        if (this.group !== undefined || this.inBody) this.restartDue = true;
        else this.restartLog();
      },
    });
  }

  /**
   * Starts the log again from its beginning (a RESTART checkpoint: it copies what the child has
   * not yet). A failure leaves the log as it is: nothing is lost, the next report tries again.
   */
  private restartLog(): void {
    this.restartDue = false;
    try {
      this.handle.exec("PRAGMA wal_checkpoint(RESTART)");
    } catch {
      // As said.
    }
  }

  protected static openFile(path: string, durable: boolean): Db {
    const db = new Database(path);
    // WAL: readers never block the writer, and a commit is one append to the log.
    db.exec("PRAGMA journal_mode = WAL");
    // NORMAL, and the log fsynced by `LogSync` before anything is acknowledged: a committed state
    // change that anyone was told of survives a power cut or an OS crash, not only a killed process
    // — this file is what prevents a fill from being sent twice — as with FULL, but the event loop
    // does not wait for the disk on each group commit. (SQLite still syncs the log before, and the
    // file after, each checkpoint.) A working copy of a PostgreSQL store is not the durable record: OFF.
    db.exec(`PRAGMA synchronous = ${durable ? "NORMAL" : "OFF"}`);
    db.exec("PRAGMA foreign_keys = ON");
    db.exec("PRAGMA busy_timeout = 5000");
    migrate(db);
    return db;
  }

  /** The open database. (libsql aborts the process on a closed handle, so a late caller gets an error instead.) */
  protected get db(): Db {
    if (this.closed) throw new StoreError("STORE_CLOSED", "the store is closed");
    return this.handle;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** A write statement (INSERT, UPDATE): the rows it changed. */
  run(sql: string, ...params: unknown[]): number {
    const changes = this.write(sql, params);
    this.writes++;
    return changes;
  }

  /**
   * Raises the number stored under `meta`'s `key` to `value`, never lowering it (`RAISE_META_SQL`).
   * Inside a group's body the raise waits for the group's commit, which writes the highest value of
   * each key once, just before its COMMIT (a burst of orders raises its market's sequence once, not
   * once an order); anywhere else it is written now. A held-back raise outlives the body that asked
   * for it if that body alone is undone: the stored value only ever means "at least", so a higher
   * one is harmless.
   */
  raise(key: string, value: bigint): void {
    if (this.group === undefined) {
      this.run(RAISE_META_SQL, key, value.toString());
      return;
    }
    const held = this.raises.get(key);
    if (held === undefined || value > held) this.raises.set(key, value);
  }

  /** The value the open group's commit will raise `key` to, if a body asked for a raise. */
  raisedAtCommit(key: string): bigint | undefined {
    return this.raises.get(key);
  }

  /**
   * What is committed, through a second, read-only connection (WAL: it never blocks the writer and
   * sees no write before its commit).
   */
  committed(): Reader {
    if (this.closed) throw new StoreError("STORE_CLOSED", "the store is closed");
    if (this.committedReader === undefined) {
      const db = new Database(this.path);
      db.exec("PRAGMA query_only = ON");
      db.exec("PRAGMA busy_timeout = 5000");
      const reads = new Reader(() => {
        if (this.closed) throw new StoreError("STORE_CLOSED", "the store is closed");
        return db;
      });
      this.committedReader = { db, reads };
    }
    return this.committedReader.reads;
  }

  /** Commits the open group and closes the connections. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.commitGroup();
    this.logSync?.close();
    if (this.childCheckpoints !== undefined) {
      void this.childCheckpoints.stop();
      // The last checkpoint, here: the child may not be gone yet, and the connection that closes
      // last would make it (waiting, within the busy timeout, for the child's lock to go with it).
      // Everything is durable already: if it cannot run, the log stays and the next open reads it.
      try {
        this.handle.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch {
        // As said: nothing is lost.
      }
    }
    this.closed = true;
    this.committedReader?.db.close();
    this.handle.close();
  }

  /** The child process that checkpoints the log, if `open` was given `checkpoints` (tests, diagnostics). */
  get checkpointer(): LogCheckpointer | undefined {
    return this.childCheckpoints;
  }

  /** The value of a PRAGMA, for checks and diagnostics. */
  pragma(name: "journal_mode" | "synchronous" | "foreign_keys" | "wal_autocheckpoint"): unknown {
    return (this.get(`PRAGMA ${name}`) as Row)[name];
  }

  schemaVersion(): number {
    return ((this.get("SELECT MAX(version) AS v FROM schema_version") as Row).v as number | null) ?? 0;
  }

  /** Waits for what is in flight and closes what the layer holds open (SQLite: the checkpoints' child, if any). */
  async shutdown(): Promise<void> {
    await this.childCheckpoints?.exited;
  }

  /** Resolves when every commit so far is durable (SQLite: once the log's fsync under way, if any, is done). */
  durable(): Promise<void> {
    return this.logSync?.idle() ?? Promise.resolve();
  }

  /**
   * Runs `hook` once every commit made so far is durable, right after those commits' own
   * `afterCommit` hooks and before any later commit's; at once when all of them are durable
   * already; never if one of them fails. It writes nothing and commits no open group (what an open
   * group holds is not committed: the committed reader does not see it).
   */
  afterDurable(hook: () => void): void {
    if (this.logSync === undefined) hook();
    else this.logSync.afterLast(hook);
  }

  /**
   * Runs `fn` in one IMMEDIATE transaction, rolled back if it throws. Inside another `transaction`
   * or `grouped` body, `fn` joins it (libsql has no nested transactions). An open group commit is
   * committed first. `afterCommit` runs once the transaction is durable, after the hooks of every
   * commit before it: here (SQLite) before this returns; on PostgreSQL once the flush that carries
   * it has landed. A `transaction` with `afterCommit` cannot join another body (its commit is not
   * its own): `NESTED_GROUP`.
   */
  transaction<T>(fn: () => T, afterCommit?: () => void): T {
    if (this.inBody) {
      if (afterCommit !== undefined) {
        throw new StoreError("NESTED_GROUP", "a transaction with afterCommit cannot run inside another body");
      }
      return fn();
    }
    this.commitGroup();
    this.inBody = true;
    try {
      const result = this.db.transaction(fn).immediate();
      this.onCommitted();
      // Durable when it returns (a batch is recorded so before it is broadcast), and so is every
      // group before it, whose hooks and waiters run first, in order.
      this.logSync?.syncNow();
      this.committedLocally(afterCommit === undefined ? [] : [{ waiters: [], afterCommit: [afterCommit] }]);
      return result;
    } catch (error) {
      this.rolledBack();
      throw error;
    } finally {
      this.inBody = false;
    }
  }

  /**
   * Group commit: runs `fn` inside the transaction of the current group, opening one if none is
   * open, and returns its result at once with `durable`, which resolves when the group is durable
   * and rejects if its commit fails. A group has no time window: it commits at the end of the turn
   * of the event loop that opened it, unless `holdsGroup` keeps it open (while the layer makes
   * earlier groups durable: a SQLite file's log fsync, a PostgreSQL flush), in which case it commits
   * as soon as that is done, with every write of that time (it could not be durable sooner). A
   * `transaction` commits it at once. Its orders wait for the disk or the shared database, not a
   * timer. If `fn` throws before any of its writes completed (its first write failed: SQLite undoes
   * a failed statement by itself), the group goes on as if `fn` had not run. If it throws after a
   * write, the whole group is undone and every caller of it is told (its `durable` rejects): `fn`
   * takes no savepoint of its own, which would cost two statements a call for a case that only a
   * broken store reaches (the engine stops on any such throw).
   * `afterCommit` runs right after the group is durable, in the order the writes were made, before
   * any waiter resumes. `group` identifies the group (every call joining it gets the same object).
   */
  grouped<T>(fn: () => T, afterCommit?: () => void): { result: T; durable: Promise<void>; group: object } {
    if (this.inBody) throw new StoreError("NESTED_GROUP", "grouped() cannot run inside a transaction body");
    const db = this.db;
    if (this.group === undefined) {
      db.exec("BEGIN IMMEDIATE");
      const opened: Group = { waiters: [], afterCommit: [] };
      this.group = opened;
      this.turnOver = false;
      setImmediate(() => {
        if (this.group !== opened) return; // committed already
        if (this.holdsGroup())
          this.turnOver = true; // committed by `commitHeldGroup`
        else this.commitQuietly();
      });
    }
    const group = this.group;
    const writesBefore = this.writes;
    this.inBody = true;
    let result: T;
    try {
      result = fn();
    } catch (error) {
      if (this.writes === writesBefore)
        this.onRollback(); // nothing of `fn` to undo: figures counted again
      else this.undoGroup(group, error instanceof Error ? error : new Error(String(error)));
      throw error;
    } finally {
      this.inBody = false;
    }
    if (afterCommit !== undefined) group.afterCommit.push(afterCommit);
    const durable = new Promise<void>((resolve, reject) => group.waiters.push({ resolve, reject }));
    return { result, durable, group };
  }

  /**
   * Commits the open group if its turn is over and `holdsGroup` kept it open: the layer calls
   * this once it no longer holds it.
   */
  protected commitHeldGroup(): void {
    if (this.group !== undefined && this.turnOver) this.commitQuietly();
  }

  /**
   * Whether the open group, its turn over, stays open for more writes until `commitHeldGroup`:
   * SQLite, while the log's fsync of earlier groups is under way (it commits right after it). See
   * also `PostgresDatabase`.
   */
  protected holdsGroup(): boolean {
    return this.logSync?.syncing === true;
  }

  private commitQuietly(): void {
    try {
      this.commitGroup();
    } catch {
      // Every waiter of the group has the error: the caller decides (the engine stops).
    }
  }

  /** Commits the open group (if any); its hooks run and its waiters resume once it is durable. */
  commitGroup(): void {
    const group = this.group;
    if (group === undefined || this.closed) return;
    this.group = undefined;
    try {
      for (const [key, value] of this.raises) this.run(RAISE_META_SQL, key, value.toString());
      this.raises.clear();
      this.handle.exec("COMMIT");
      this.onCommitted();
    } catch (error) {
      try {
        this.handle.exec("ROLLBACK");
      } catch {
        // The commit failure may have ended the transaction already.
      }
      this.rolledBack();
      const failure = error instanceof Error ? error : new Error(String(error));
      for (const w of group.waiters) w.reject(failure);
      throw failure;
    }
    if (this.restartDue) this.restartLog();
    if (this.logSync !== undefined) this.logSync.committed(group);
    else this.committedLocally([group]);
  }

  /** Rolls the open group back after a body failed part-way: no write of it stays, every caller is told. */
  private undoGroup(group: Group, cause: Error): void {
    this.group = undefined;
    try {
      this.handle.exec("ROLLBACK");
    } catch {
      // The failure may have ended the transaction already.
    }
    this.rolledBack();
    const failure = new StoreError(
      "STORE_FAILED",
      `a write of this group commit failed, and the group was undone: ${cause.message}`,
    );
    for (const w of group.waiters) w.reject(failure);
  }

  // Hooks of a layer that makes commits durable elsewhere (PostgreSQL). SQLite's commit is durable.

  /** A local commit: its groups are durable (SQLite) or will be once the shared database has it. */
  protected committedLocally(groups: readonly Group[]): void {
    for (const g of groups) for (const hook of g.afterCommit) hook();
    resumeInSlices(groups.flatMap((g) => g.waiters));
  }

  /** The open transaction was undone. */
  protected rolledBack(): void {
    this.raises.clear();
    this.onUndone();
    if (!this.closed) this.onRollback();
  }
}
