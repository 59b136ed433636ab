import type { Address } from "viem";
import { SqliteDatabase, StoreError, type ChildCheckpoints, type LogFsync, type Reader, type Row } from "./database";
import { LiveOrders, type LiveRow } from "./liveOrders";
import { HighestNonces } from "./nonces";
import { PostgresDatabase, isPostgresUrl, type PostgresOptions } from "./postgres";
import type {
  AccountFill,
  AcceptOrderParameters,
  AccountOrdersParameters,
  BatchStatus,
  FillStatus,
  Hex,
  NewBatch,
  NewFill,
  Order,
  OrderPage,
  OrderStatus,
  ReconcileParameters,
  RematchParameters,
  SkippedFill,
  StoredBatch,
  StoredFill,
  StoredOrder,
} from "./types";

/** IMMEDIATE_OR_CANCEL | FILL_OR_KILL: an order with either never rests. */
const NEVER_RESTS = 2n | 4n;
const LAST_RECONCILED_BLOCK = "lastReconciledBlock";
const nextSeqKey = (market: bigint) => `nextSeq:${market}`;

/** The rows of an order or fill, as the store keeps them. */
const LIVE = "status IN ('open', 'partially-filled')";
/** Cancels a resting order (`reason`, `updated_at`, `hash`); changes no row when it is not resting. */
const CANCEL_LIVE_SQL = `UPDATE orders SET status = 'cancelled', reason = ?, updated_at = ? WHERE hash = ? AND ${LIVE}`;
/** Every live order's hash and account. */
const LIVE_ROWS_SQL = `SELECT hash, account FROM orders WHERE ${LIVE}`;
/** One order's row if it is live. */
const LIVE_ORDER_SQL = `SELECT * FROM orders WHERE hash = ? AND ${LIVE}`;
/** The account's highest nonce (stored as decimal text: the longest, then the largest text). */
const HIGHEST_NONCE_SQL = "SELECT nonce FROM orders WHERE account = ? ORDER BY length(nonce) DESC, nonce DESC LIMIT 1";
/** A cursor before every order: `(created_at, hash) < (MAX, "")` holds for all of them. */
const FIRST_PAGE = { at: Number.MAX_SAFE_INTEGER, hash: "" };

/**
 * The store's reads, over one connection. `Store` is the writer's (it sees its own writes, the group
 * being filled included); `Store.committed` is a second, read-only connection that sees only what is
 * committed — what the API and the feed show. Every read is one indexed query that costs O(rows
 * returned): pages, never whole tables.
 */
export abstract class StoreReads {
  protected constructor(private readonly reader: () => Reader) {}

  /** Hashes among which are all of `account`'s live orders (`LiveOrders`: the table has no index for them). */
  protected abstract liveHashesOf(account: Address): readonly Hex[];

  /** The reads' connection. */
  protected get q(): Reader {
    return this.reader();
  }

  /** The status of the order with this hash, if it is stored. */
  orderStatus(hash: Hex): OrderStatus | undefined {
    const row = this.q.get("SELECT status FROM orders WHERE hash = ?", hash) as Row | undefined;
    return row?.status as OrderStatus | undefined;
  }

  getOrder(hash: Hex): StoredOrder | undefined {
    const row = this.q.get("SELECT * FROM orders WHERE hash = ?", hash) as Row | undefined;
    return row && toOrder(row);
  }

  /** The market's resting orders (open or partially filled) in `seq` order: the book's rebuild. */
  openOrders(market: bigint): StoredOrder[] {
    return (
      this.q.all(`SELECT * FROM orders WHERE market = ? AND ${LIVE} ORDER BY seq`, market.toString()) as Row[]
    ).map(toOrder);
  }

  /**
   * A page of the account's orders, newest first: all of them through the index on (account,
   * created_at, hash), O(limit) whatever the account's history; `status` `open` (resting ones only)
   * from the account's live orders (`LiveOrders`), O(its resting orders: the engine caps them).
   */
  accountOrders(account: Address, p: AccountOrdersParameters): OrderPage {
    const after = p.before === undefined ? FIRST_PAGE : parseCursor(p.before);
    const orders =
      p.status === "open"
        ? this.liveOrdersOf(account)
            .filter((o) => o.createdAt < after.at || (o.createdAt === after.at && o.hash < after.hash))
            .sort((a, b) => b.createdAt - a.createdAt || (a.hash < b.hash ? 1 : a.hash > b.hash ? -1 : 0))
            .slice(0, p.limit)
        : (
            this.q.all(
              "SELECT * FROM orders WHERE account = ?1 AND (created_at, hash) < (?2, ?3) " +
                "ORDER BY created_at DESC, hash DESC LIMIT ?4",
              account,
              after.at,
              after.hash,
              p.limit,
            ) as Row[]
          ).map(toOrder);
    const last = orders[orders.length - 1];
    return orders.length === p.limit && last !== undefined
      ? { orders, next: `${last.createdAt}:${last.hash}` }
      : { orders };
  }

  /** The account's resting orders (open or partially filled), in every market: bounded by the engine's cap per account. */
  liveOrdersOf(account: Address): StoredOrder[] {
    const orders: StoredOrder[] = [];
    for (const hash of this.liveHashesOf(account)) {
      const row = this.q.get(LIVE_ORDER_SQL, hash) as Row | undefined;
      if (row !== undefined && row.account === account) orders.push(toOrder(row));
    }
    return orders;
  }

  /**
   * The account's orders with fills that are pending or sent, each with those fills' lots: the
   * part of its reservation the book does not show. O(its open fills), through partial indexes.
   * (`Store` answers from memory; this is the committed view's answer.)
   */
  openFillsOf(account: Address): OpenFillLots[] {
    return [...groupOpenFills(this.openFillRows(account)).values()];
  }

  /** Rows of open fills with their order: of one account's orders, or of every account's. */
  protected openFillRows(account?: Address): Row[] {
    if (account === undefined) {
      return this.q.all(
        `SELECT f.maker_hash AS order_hash, f.maker_account AS order_account, f.lots AS fill_lots, o.*
           FROM fills f JOIN orders o ON o.hash = f.maker_hash WHERE f.status IN ('pending', 'sent')
         UNION ALL
         SELECT f.taker_hash, f.taker_account, f.lots, o.*
           FROM fills f JOIN orders o ON o.hash = f.taker_hash WHERE f.status IN ('pending', 'sent')`,
      ) as Row[];
    }
    return this.q.all(
      `SELECT f.maker_hash AS order_hash, f.maker_account AS order_account, f.lots AS fill_lots, o.*
         FROM fills f JOIN orders o ON o.hash = f.maker_hash
         WHERE f.status IN ('pending', 'sent') AND f.maker_account = ?1
       UNION ALL
       SELECT f.taker_hash, f.taker_account, f.lots, o.*
         FROM fills f JOIN orders o ON o.hash = f.taker_hash
         WHERE f.status IN ('pending', 'sent') AND f.taker_account = ?1`,
      account,
    ) as Row[];
  }

  /** Pending fills taken by `account` (its share of the settlement backlog). O(that share). */
  pendingFillsTakenBy(account: Address): number {
    const row = this.q.get(
      "SELECT COUNT(*) AS n FROM fills WHERE status IN ('pending', 'sent') AND taker_account = ? AND status = 'pending'",
      account,
    ) as Row;
    return row.n as number;
  }

  /** Whether the keeper has ever accepted an order of `account` under `nonce`. */
  hasNonce(account: Address, nonce: bigint): boolean {
    return (
      this.q.get("SELECT 1 FROM orders WHERE account = ? AND nonce = ? LIMIT 1", account, nonce.toString()) !==
      undefined
    );
  }

  /**
   * The account's most recent order under `nonce` (its client order id): the newest, when an amend
   * kept the nonce of the order it replaced. Through the index on (account, nonce).
   */
  orderByNonce(account: Address, nonce: bigint): StoredOrder | undefined {
    const row = this.q.get(
      "SELECT * FROM orders WHERE account = ? AND nonce = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
      account,
      nonce.toString(),
    ) as Row | undefined;
    return row && toOrder(row);
  }

  /** Whether the keeper has ever accepted an order of `account`. */
  knowsAccount(account: Address): boolean {
    return this.q.get("SELECT 1 FROM orders WHERE account = ? LIMIT 1", account) !== undefined;
  }

  /** The largest fill id (0 before the first fill). */
  lastFillId(): number {
    return ((this.q.get("SELECT MAX(id) AS n FROM fills") as Row).n as number | null) ?? 0;
  }

  /** The market's most recent fills (any status), newest first; with `beforeId`, those before that fill. */
  recentFills(market: bigint, limit: number, beforeId?: number): StoredFill[] {
    return (
      this.q.all(
        "SELECT * FROM fills WHERE market = ? AND id < ? ORDER BY id DESC LIMIT ?",
        market.toString(),
        beforeId ?? Number.MAX_SAFE_INTEGER,
        limit,
      ) as Row[]
    ).map(toFill);
  }

  /**
   * A page of the account's fills, as maker or taker, newest first (ids below `beforeId`), each with
   * its side, the account's order and its batch's transaction: through the indexes on
   * (maker_account, id) and (taker_account, id), O(limit) whatever the account's history.
   */
  accountFills(account: Address, limit: number, beforeId = Number.MAX_SAFE_INTEGER): AccountFill[] {
    const page = (side: "maker" | "taker") =>
      (
        this.q.all(
          `SELECT f.*, o.is_buy AS order_is_buy, o.nonce AS order_nonce, b.tx_hash AS batch_tx_hash,
             b.block_number AS batch_block FROM fills f
             JOIN orders o ON o.hash = f.${side}_hash LEFT JOIN batches b ON b.id = f.batch_id
           WHERE f.${side}_account = ? AND f.id < ? ORDER BY f.id DESC LIMIT ?`,
          account,
          beforeId,
          limit,
        ) as Row[]
      ).map((r): AccountFill => {
        const fill = toFill(r);
        return {
          fill,
          side,
          order: { isBuy: r.order_is_buy === 1, nonce: BigInt(r.order_nonce as string) },
          orderHash: side === "maker" ? fill.makerHash : fill.takerHash,
          ...(r.batch_tx_hash === null ? {} : { txHash: r.batch_tx_hash as Hex }),
          ...(r.batch_block === null ? {} : { blockNumber: BigInt(r.batch_block as string) }),
        };
      });
    return [...page("maker"), ...page("taker")].sort((a, b) => b.fill.id - a.fill.id).slice(0, limit);
  }

  /** One more than the largest `seq` ever given in the market: `new OrderBook({ nextSeq })`. */
  nextSeq(market: bigint): number {
    const v = this.getMeta(nextSeqKey(market));
    return v === undefined ? 0 : Number(v);
  }

  getFill(id: number): StoredFill | undefined {
    const row = this.q.get("SELECT * FROM fills WHERE id = ?", id) as Row | undefined;
    return row && toFill(row);
  }

  /** Fills waiting for a batch, oldest first, at most `limit` (-1: all). A fill in a `sent` batch is never among them. */
  pendingFills(limit = -1): StoredFill[] {
    return (this.q.all("SELECT * FROM fills WHERE status = 'pending' ORDER BY id LIMIT ?", limit) as Row[]).map(toFill);
  }

  /**
   * The oldest pending fills taken by anyone but `account` (so that one account that floods the
   * backlog does not hide everyone else's fills from a batch). Walks the pending fills in id order
   * past `account`'s, which its share of the backlog bounds.
   */
  pendingFillsNotTakenBy(account: Address, limit: number): StoredFill[] {
    return (
      this.q.all(
        "SELECT * FROM fills WHERE status = 'pending' AND taker_account IS NOT ? ORDER BY id LIMIT ?",
        account,
        limit,
      ) as Row[]
    ).map(toFill);
  }

  /** The pending fills of one taker order, oldest first (a fill-or-kill run goes whole into a batch). */
  pendingFillsOfTaker(takerHash: Hex): StoredFill[] {
    return (
      this.q.all("SELECT * FROM fills WHERE taker_hash = ? AND status = 'pending' ORDER BY id", takerHash) as Row[]
    ).map(toFill);
  }

  fillsOfBatch(batchId: number): StoredFill[] {
    return (this.q.all("SELECT * FROM fills WHERE batch_id = ? ORDER BY id", batchId) as Row[]).map(toFill);
  }

  /** Every fill of an order, oldest first. For an order's own small set (a taker's); pages: `orderFills`. */
  fillsOfOrder(hash: Hex): StoredFill[] {
    return (
      this.q.all(
        "SELECT * FROM fills WHERE maker_hash = ?1 UNION ALL SELECT * FROM fills WHERE taker_hash = ?1 ORDER BY id",
        hash,
      ) as Row[]
    ).map(toFill);
  }

  /** A page of an order's fills, newest first: at most `limit`, with ids below `beforeId`. */
  orderFills(hash: Hex, limit: number, beforeId = Number.MAX_SAFE_INTEGER): StoredFill[] {
    const asMaker = this.q.all(
      "SELECT * FROM fills WHERE maker_hash = ? AND id < ? ORDER BY id DESC LIMIT ?",
      hash,
      beforeId,
      limit,
    ) as Row[];
    const asTaker = this.q.all(
      "SELECT * FROM fills WHERE taker_hash = ? AND id < ? ORDER BY id DESC LIMIT ?",
      hash,
      beforeId,
      limit,
    ) as Row[];
    return [...asMaker, ...asTaker]
      .map(toFill)
      .sort((a, b) => b.id - a.id)
      .slice(0, limit);
  }

  getBatch(id: number): StoredBatch | undefined {
    const row = this.q.get("SELECT * FROM batches WHERE id = ?", id) as Row | undefined;
    return row && this.toBatch(row);
  }

  /**
   * Batches whose fate is not known: `sent`, and the `replaced` ones before them (any transaction
   * of a nonce may be the one mined), oldest first. What settlement checks on restart.
   */
  pendingBatches(): StoredBatch[] {
    // Sorted here: a handful of rows, read through the partial index of unfinished batches.
    return (this.q.all("SELECT * FROM batches WHERE status IN ('sent', 'replaced')") as Row[])
      .sort((a, b) => (a.id as number) - (b.id as number))
      .filter((r) => r.status === "sent" || this.chainOf(r.id as number).some((b) => b.status === "sent"))
      .map((r) => this.toBatch(r));
  }

  lastReconciledBlock(): bigint | undefined {
    const v = this.getMeta(LAST_RECONCILED_BLOCK);
    return v === undefined ? undefined : BigInt(v);
  }

  protected getMeta(key: string): string | undefined {
    const row = this.q.get("SELECT value FROM meta WHERE key = ?", key) as Row | undefined;
    return row?.value as string | undefined;
  }

  /** The batches linked by `replaces` to `id` (same nonce), still `sent` or `replaced`, `id` included. */
  protected chainOf(id: number): { id: number; status: BatchStatus }[] {
    return this.q.all(
      `WITH RECURSIVE
           back (id) AS (SELECT ? UNION SELECT b.replaces FROM batches b JOIN back ON b.id = back.id WHERE b.replaces IS NOT NULL),
           root (id) AS (SELECT MIN(id) FROM back),
           fwd (id) AS (SELECT id FROM root UNION SELECT b.id FROM batches b JOIN fwd ON b.replaces = fwd.id)
         SELECT b.id AS id, b.status AS status FROM batches b JOIN fwd ON b.id = fwd.id
         WHERE b.status IN ('sent', 'replaced') ORDER BY b.id`,
      id,
    ) as { id: number; status: BatchStatus }[];
  }

  private toBatch(r: Row): StoredBatch {
    const id = r.id as number;
    const fillIds = (this.q.all("SELECT id FROM fills WHERE batch_id = ? ORDER BY id", id) as Row[]).map(
      (f) => f.id as number,
    );
    return {
      id,
      txHash: r.tx_hash as Hex,
      ...(r.raw_tx === null ? {} : { rawTx: r.raw_tx as Hex }),
      nonce: BigInt(r.nonce as string),
      maxFeePerGas: BigInt(r.max_fee_per_gas as string),
      maxPriorityFeePerGas: BigInt(r.max_priority_fee_per_gas as string),
      status: r.status as BatchStatus,
      ...(r.block_number === null ? {} : { blockNumber: BigInt(r.block_number as string) }),
      ...(r.replaces === null ? {} : { replaces: r.replaces as number }),
      fillIds,
      createdAt: r.created_at as number,
      updatedAt: r.updated_at as number,
    };
  }
}

/**
 * The keeper's durable memory: one SQLite file (WAL, its log fsynced before anything is acknowledged). Every method that changes
 * state is one transaction: it happens completely or not at all. See keeper/README.md, "Store".
 */
export class Store extends StoreReads {
  /** Fills pending (uncommitted group writes included), kept in step with every write: the backlog's size. */
  private pending = 0;
  /**
   * The lots of open (pending or sent) fills, by order, and each account's orders among them,
   * kept in step with every write like `pending`: the risk check reads an account's reservation
   * on every order, and a busy account has hundreds of open fills.
   */
  private openByOrder = new Map<Hex, OpenFillLots>();
  private openByAccount = new Map<Address, Set<Hex>>();
  /**
   * Told of every change of an order's open fill lots (`hash`, its order), and of a recount
   * (`undefined`: every order's may have changed): the engine's reservation totals follow them.
   */
  onOpenLots: ((hash: Hex | undefined, order?: Order) => void) | undefined;
  /** Pending fills by taker account: each account's share of the backlog, asked for every order that would take. */
  private pendingTaken = new Map<Address, number>();
  /** The next fill and batch ids (given by the store, not the database, so that every backend writes the same rows). */
  private nextFillId = 1;
  private nextBatchId = 1;
  private committedReads: StoreReads | undefined;
  /** Each account's resting orders (the writer's view, a superset of the committed one). */
  private readonly live: LiveOrders;
  /** Each account's highest nonce held (the writer's view): `hasNonce`, `orderStatusOf` and `knowsAccount` without a read. */
  private readonly nonces = new HighestNonces((account) => {
    const row = this.q.get(HIGHEST_NONCE_SQL, account) as Row | undefined;
    return row === undefined ? -1n : BigInt(row.nonce as string);
  });

  protected constructor(protected readonly db: SqliteDatabase) {
    super(() => db);
    this.live = new LiveOrders(() => ({
      writer: this.q.all(LIVE_ROWS_SQL) as unknown as LiveRow[],
      committed: this.db.committed().all(LIVE_ROWS_SQL) as unknown as LiveRow[],
    }));
    db.onRollback = () => this.recount();
    db.onCommitted = () => this.live.committed();
    db.onUndone = () => {
      this.live.invalidate();
      this.nonces.forget();
    };
    db.onOrdersLoaded = (rows, replaced) => {
      if (replaced) {
        this.live.invalidate();
        this.nonces.forget();
        return;
      }
      this.live.loaded(
        rows.map((r) => ({ hash: r.hash as Hex, account: r.account as Address, live: isLiveStatus(r.status) })),
      );
      for (const r of rows) this.nonces.stored(r.account as Address, BigInt(String(r.nonce)));
    };
    this.recount();
  }

  protected override liveHashesOf(account: Address): readonly Hex[] {
    return this.live.of(account);
  }

  /**
   * Opens (creating if needed) the SQLite database file and brings its schema up to date.
   * `fsyncLog`: how the log is fsynced after a group commit (off the event loop by default).
   */
  static open(path: string, options: { fsyncLog?: LogFsync; checkpoints?: ChildCheckpoints } = {}): Store {
    return new Store(SqliteDatabase.open(path, options));
  }

  /**
   * Opens the store at `location`: a `postgres://` (or `postgresql://`) URL, or a SQLite file path.
   * `options` are PostgreSQL's (see `PostgresDatabase.connect`), and `checkpoints` a SQLite file's
   * (its log's checkpoints in a child process: `SqliteDatabase.open`).
   */
  static async connect(
    location: string,
    options: PostgresOptions & { checkpoints?: ChildCheckpoints } = {},
  ): Promise<Store> {
    if (!isPostgresUrl(location)) return Store.open(location, { checkpoints: options.checkpoints });
    return new Store(await PostgresDatabase.connect(location, options));
  }

  /** The database layer under the store: `sqlite` or `postgres`. */
  get backend(): "sqlite" | "postgres" {
    return this.db.kind;
  }

  /** The database layer, for the leader election (PostgreSQL) and diagnostics. */
  get database(): SqliteDatabase {
    return this.db;
  }

  /**
   * What is committed, through a second, read-only connection (WAL: it never blocks the writer and
   * sees no write before its commit). What the API and the feed read, so that they never show a
   * match the keeper could still lose.
   */
  get committed(): StoreReads {
    const reader = this.db.committed();
    this.committedReads ??= new ReaderReads(
      () => reader,
      (account) => this.live.of(account),
    );
    return this.committedReads;
  }

  /**
   * `StoreReads.hasNonce`, with no read when `nonce` is above the account's highest held (from
   * memory: `HighestNonces`), as a trader's next order's usually is.
   */
  override hasNonce(account: Address, nonce: bigint): boolean {
    return !this.nonces.above(account, nonce) && super.hasNonce(account, nonce);
  }

  /** `StoreReads.knowsAccount`, from memory after the account's first question (`HighestNonces`). */
  override knowsAccount(account: Address): boolean {
    return !this.nonces.above(account, 0n);
  }

  /**
   * `orderStatus` of the order with this hash, whose maker and nonce are `order`'s: undefined with no
   * read when the keeper never held a nonce that high of the maker (every stored order's row holds
   * the maker and nonce its hash was made of). The engine's duplicate check.
   */
  orderStatusOf(hash: Hex, order: Pick<Order, "maker" | "nonce">): OrderStatus | undefined {
    return this.nonces.above(order.maker, order.nonce) ? undefined : this.orderStatus(hash);
  }

  /** `StoreReads.nextSeq`, with the raise the open group will make at its commit. */
  override nextSeq(market: bigint): number {
    const stored = super.nextSeq(market);
    const held = this.db.raisedAtCommit(nextSeqKey(market));
    return held !== undefined && Number(held) > stored ? Number(held) : stored;
  }

  /** Closes the database. Idempotent; every later call throws `STORE_CLOSED`. */
  close(): void {
    this.db.close();
  }

  /** Closes the database and waits until every commit is durable (PostgreSQL: its connections closed). */
  async shutdown(): Promise<void> {
    this.db.close();
    await this.db.shutdown();
  }

  /** Resolves when every commit so far is durable (SQLite: at once; PostgreSQL: once the server has it). */
  durable(): Promise<void> {
    return this.db.durable();
  }

  /**
   * Runs `hook` once every commit made so far is durable, right after their own `afterCommit`
   * hooks; at once when they are; never if one fails. Writes nothing (`SqliteDatabase.afterDurable`).
   */
  afterDurable(hook: () => void): void {
    this.db.afterDurable(hook);
  }

  /** The value of a PRAGMA, for checks and diagnostics. */
  pragma(name: "journal_mode" | "synchronous" | "foreign_keys" | "wal_autocheckpoint"): unknown {
    return this.db.pragma(name);
  }

  schemaVersion(): number {
    return this.db.schemaVersion();
  }

  /** Fills waiting for a batch: the settlement backlog (uncommitted group writes included). O(1). */
  pendingFillCount(): number {
    return this.pending;
  }

  /** `StoreReads.pendingFillsTakenBy`, from memory (uncommitted group writes included). O(1). */
  override pendingFillsTakenBy(account: Address): number {
    return this.pendingTaken.get(account) ?? 0;
  }

  /** `StoreReads.openFillsOf`, from memory (uncommitted group writes included): O(the account's open orders). */
  override openFillsOf(account: Address): OpenFillLots[] {
    const hashes = this.openByAccount.get(account);
    if (hashes === undefined) return [];
    return [...hashes].map((h) => this.openByOrder.get(h) as OpenFillLots);
  }

  /** The lots of the order's open (pending or sent) fills, from memory (uncommitted group writes included). O(1). */
  openLotsOf(hash: Hex): bigint {
    return this.openByOrder.get(hash)?.lots ?? 0n;
  }

  /** Every order with open fills, with their lots (from memory). */
  openFills(): IterableIterator<OpenFillLots> {
    return this.openByOrder.values();
  }

  /**
   * Runs `fn` in one transaction: committed when it returns (SQLite: on disk; PostgreSQL: on its
   * way, `durable()` resolves when the server has it), rolled back if it throws. Inside another
   * `transaction` or `grouped` body, `fn` joins it, so that a caller can group several operations
   * into one state change. An open group commit is committed first. `afterCommit` runs once it is
   * durable, after the hooks of every commit before it (SQLite: before this returns; PostgreSQL:
   * once the flush carrying it has landed; never if that flush fails).
   */
  transaction<T>(fn: () => T, afterCommit?: () => void): T {
    return this.db.transaction(fn, afterCommit);
  }

  /**
   * Group commit: runs `fn` (which calls store operations) inside the transaction of the current
   * group, opening one if none is open, and returns its result at once with `durable`, a promise
   * that resolves when the group is durable and rejects if that commit fails. If `fn` throws, only
   * its own writes are undone. One commit then covers every order of a burst: a caller that answers
   * a client only after `durable` promises exactly what `transaction` does.
   *
   * `afterCommit` runs right after the group is durable, in the order the writes were made, before
   * any waiter resumes: what a caller publishes there is never ahead of the database.
   */
  grouped<T>(fn: () => T, afterCommit?: () => void): { result: T; durable: Promise<void>; group: object } {
    return this.db.grouped(fn, afterCommit);
  }

  /** Commits the open group (if any). */
  commitGroup(): void {
    this.db.commitGroup();
  }

  // ---------------------------------------------------------------- orders

  /**
   * Records an order the book accepted, with everything its `place` did, in one transaction: the
   * order (open at `seq`), its fills as taker (pending; makers' filled lots raised), the self-trade
   * cancellations, a dropped IOC/FOK remainder, and the market's next `seq`. Returns the fill ids.
   */
  acceptOrder(p: AcceptOrderParameters): number[] {
    return this.transaction(() => {
      this.insertOrder(p.hash, p.order, p.signature, p.seq, p.at);
      return this.applyPlacement(p, p.order); // the row just inserted: no need to read it back
    });
  }

  /**
   * A stored order placed in the book again after its lots came back from fills that never reached
   * the chain (its taker matched anew): its new `seq` if it rests, its new fills as taker, the
   * self-trade cancellations, and a dropped remainder for an IOC/FOK. Returns the fill ids.
   */
  rematch(p: RematchParameters): number[] {
    return this.transaction(() => {
      this.requireOrder(p.hash);
      if (p.rested) this.db.run("UPDATE orders SET seq = ?, updated_at = ? WHERE hash = ?", p.seq, p.at, p.hash);
      return this.applyPlacement(p);
    });
  }

  /**
   * Inserts pending fills and raises the filled lots (and status) of both of their orders,
   * atomically. For matches made outside `acceptOrder` (an order placed again). Returns the ids.
   */
  recordFills(fills: readonly NewFill[], at: number): number[] {
    return this.transaction(() => this.insertFills(fills, at));
  }

  /** Cancels a resting order. Returns false (and changes nothing) if it was not resting. */
  cancelOrder(hash: Hex, reason: string, at: number): boolean {
    return this.transaction(() => this.cancelLive(hash, reason, at));
  }

  /**
   * Cancels an order if it rests, in one write and no read (a sweep of thousands): false, and
   * nothing changed, when it is not resting or not stored.
   */
  cancelIfResting(hash: Hex, reason: string, at: number): boolean {
    return this.transaction(() => {
      const cancelled = this.db.run(CANCEL_LIVE_SQL, reason, at, hash) > 0;
      if (cancelled) this.live.end(hash);
      return cancelled;
    });
  }

  /** All of the account's orders, oldest first: for tests and tools (the API reads `accountOrders` pages). */
  ordersOf(account: Address): StoredOrder[] {
    return (this.q.all("SELECT * FROM orders WHERE account = ? ORDER BY created_at, hash", account) as Row[]).map(
      toOrder,
    );
  }

  // ----------------------------------------------------------------- fills

  /** Settled fills: the chain executed them. The fills must be `sent`. */
  markFillsSettled(ids: readonly number[], at: number): void {
    this.reconcile({ settled: ids, at });
  }

  /** Skipped fills: the lots go back to both orders. The fills must be `pending` or `sent`. */
  markFillsSkipped(skipped: readonly SkippedFill[], at: number): void {
    this.reconcile({ skipped, at });
  }

  /**
   * What the events of a block range said, with the last reconciled block, in one transaction:
   * settled fills (both orders' settled lots raised), skipped fills (their lots given back to their
   * orders), and the block. A skipped fill that was never sent (still `pending`: the keeper's own
   * skip) does not end an IOC or FOK taker: the chain never saw it, and the engine matches it again.
   */
  reconcile(p: ReconcileParameters): void {
    this.transaction(() => {
      for (const id of p.settled ?? []) {
        const f = this.requireFill(id);
        if (f.status !== "sent")
          throw new StoreError("FILL_NOT_SENT", `fill ${id} is ${f.status}; only a sent fill settles`);
        this.db.run("UPDATE fills SET status = 'settled', updated_at = ? WHERE id = ?", p.at, id);
        this.addSettled(f.makerHash, f.lots, p.at);
        this.addSettled(f.takerHash, f.lots, p.at);
        this.closeOpen(f.makerHash, f.lots);
        this.closeOpen(f.takerHash, f.lots);
      }
      for (const s of p.skipped ?? []) this.skipFill(s.id, s.reason, p.at);
      if (p.lastReconciledBlock !== undefined) this.setMeta(LAST_RECONCILED_BLOCK, p.lastReconciledBlock.toString());
    });
  }

  // --------------------------------------------------------------- batches

  /**
   * Records a signed settlement transaction and moves its fills from `pending` to `sent`, in one
   * transaction. Write it before broadcasting: after a crash, the batch is found `sent` and its
   * fate is looked up; its fills are never batched again until then. Returns the batch id.
   */
  markBatchSent(batch: NewBatch, fillIds: readonly number[], at: number): number {
    return this.transaction(() => {
      if (fillIds.length === 0) throw new StoreError("BATCH_EMPTY", "a batch needs at least one fill");
      const id = this.insertBatch(batch, undefined, at);
      for (const fillId of fillIds) {
        const f = this.requireFill(fillId);
        if (f.status !== "pending") {
          throw new StoreError(
            "FILL_NOT_PENDING",
            `fill ${fillId} is ${f.status}${f.batchId ? ` in batch ${f.batchId}` : ""}; only a pending fill can be sent`,
          );
        }
        this.db.run("UPDATE fills SET status = 'sent', batch_id = ?, updated_at = ? WHERE id = ?", id, at, fillId);
        this.pending--;
        this.addTaken(this.takerOf(f), -1);
      }
      return id;
    });
  }

  /**
   * A replacement (same nonce, higher fees) of a `sent` batch: the old one becomes `replaced`,
   * its fills move to the new one, which is `sent`. Returns the new batch id.
   */
  markBatchReplaced(oldId: number, replacement: NewBatch, at: number): number {
    return this.transaction(() => {
      this.requireBatchStatus(oldId, ["sent"]);
      const id = this.insertBatch(replacement, oldId, at);
      this.setBatchStatus(oldId, "replaced", undefined, at);
      this.db.run("UPDATE fills SET batch_id = ?, updated_at = ? WHERE batch_id = ?", id, at, oldId);
      return id;
    });
  }

  /**
   * The transaction of `batchId` — this batch or one it replaced — was mined and succeeded. The
   * other transactions of the same nonce become `replaced`; the fills move to this batch and stay
   * `sent` until `reconcile` reads their `Traded` / `FillSkipped` events.
   */
  markBatchMined(batchId: number, blockNumber: bigint, at: number): void {
    this.transaction(() => this.finishBatch(batchId, "mined", blockNumber, at));
  }

  /** The batch's transaction was mined and reverted: nothing happened on-chain; its fills are pending again. */
  markBatchReverted(batchId: number, blockNumber: bigint, at: number): void {
    this.transaction(() => {
      this.finishBatch(batchId, "reverted", blockNumber, at);
      this.releaseFills(batchId, at);
    });
  }

  /** No transaction of the batch's nonce chain will be mined (nonce used otherwise, or never broadcast): its fills are pending again. */
  markBatchDropped(batchId: number, at: number): void {
    this.transaction(() => {
      const chain = this.chainOf(batchId);
      for (const b of chain) this.setBatchStatus(b.id, "dropped", undefined, at);
      for (const b of chain) this.releaseFills(b.id, at);
    });
  }

  // ------------------------------------------------------------------ meta

  setLastReconciledBlock(block: bigint): void {
    this.transaction(() => this.setMeta(LAST_RECONCILED_BLOCK, block.toString()));
  }

  // -------------------------------------------------------------- internals

  private countPending(): number {
    return (this.q.get("SELECT COUNT(*) AS n FROM fills WHERE status = 'pending'") as Row).n as number;
  }

  /** After a rollback the running counts may be off: count again (rare: a failed write stops the engine). */
  private recount(): void {
    if (this.db.isClosed) return;
    this.nextFillId = this.lastFillId() + 1;
    this.nextBatchId = (((this.q.get("SELECT MAX(id) AS n FROM batches") as Row).n as number | null) ?? 0) + 1;
    this.pending = this.countPending();
    this.openByOrder = groupOpenFills(this.openFillRows());
    this.openByAccount = new Map();
    for (const [hash, o] of this.openByOrder) this.accountSet(o.account).add(hash);
    this.pendingTaken = new Map();
    const rows = this.q.all(
      "SELECT taker_account, COUNT(*) AS n FROM fills WHERE status = 'pending' GROUP BY taker_account",
    ) as Row[];
    for (const row of rows) this.pendingTaken.set(row.taker_account as Address, row.n as number);
    this.onOpenLots?.(undefined);
  }

  /** The accounts with fills pending or sent (from memory). */
  accountsWithOpenFills(): Address[] {
    return [...this.openByAccount.keys()];
  }

  /** One more (or, negative, fewer) pending fill taken by `account`. */
  private addTaken(account: Address, n: number): void {
    const total = (this.pendingTaken.get(account) ?? 0) + n;
    if (total > 0) this.pendingTaken.set(account, total);
    else this.pendingTaken.delete(account);
  }

  /** The account that took `fill` (its taker order is open while the fill is). */
  private takerOf(fill: StoredFill): Address {
    return this.openByOrder.get(fill.takerHash)?.account ?? this.requireOrder(fill.takerHash).order.maker;
  }

  private accountSet(account: Address): Set<Hex> {
    let set = this.openByAccount.get(account);
    if (set === undefined) {
      set = new Set();
      this.openByAccount.set(account, set);
    }
    return set;
  }

  /** `lots` more (or, negative, fewer) open fill lots on the order. */
  private addOpen(hash: Hex, account: Address, order: Order, lots: bigint): void {
    const entry = this.openByOrder.get(hash);
    const total = (entry?.lots ?? 0n) + lots;
    this.onOpenLots?.(hash, order);
    if (total > 0n) {
      this.openByOrder.set(hash, { hash, account, order, lots: total });
      this.accountSet(account).add(hash);
      return;
    }
    this.openByOrder.delete(hash);
    const set = this.openByAccount.get(account);
    set?.delete(hash);
    if (set?.size === 0) this.openByAccount.delete(account);
  }

  /** Takes `lots` off an open order (a fill settled or skipped). */
  private closeOpen(hash: Hex, lots: bigint): void {
    const entry = this.openByOrder.get(hash);
    if (entry !== undefined) this.addOpen(hash, entry.account, entry.order, -lots);
  }

  private setMeta(key: string, value: string): void {
    this.db.run(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }

  private bumpNextSeq(market: bigint, next: number): void {
    // Raised, never lowered; in a group commit once, at its commit, for all of its orders.
    this.db.raise(nextSeqKey(market), BigInt(next));
  }

  /**
   * What one `book.place` did to an order already inserted: its fills, the self-trade cancels, its
   * remainder. `inserted`: the order, when the caller has just inserted it (unfilled), so that it
   * is not read back.
   */
  private applyPlacement(p: RematchParameters, inserted?: Order): number[] {
    const marketId = inserted?.marketId ?? this.requireOrder(p.hash).order.marketId;
    this.bumpNextSeq(marketId, p.seq + 1);
    for (const hash of p.selfTradeCancelled ?? []) this.cancelLive(hash, "self-trade", p.at);
    const fills = p.fills ?? [];
    const ids = this.insertFills(fills, p.at);
    if (!p.rested) {
      // A new order's fills are all its own as taker: its remainder is known without a read.
      const remaining =
        inserted !== undefined && fills.every((f) => f.takerHash === p.hash)
          ? inserted.lots - fills.reduce((sum, f) => sum + f.lots, 0n)
          : this.requireOrder(p.hash).remainingLots;
      if (remaining > 0n) this.setStatus(p.hash, "cancelled", "not-rested", p.at);
    }
    return ids;
  }

  private insertOrder(hash: Hex, o: Order, signature: Hex, seq: number, at: number): void {
    try {
      this.db.run(
        `INSERT INTO orders (hash, market, account, is_buy, flags, max_fee_bps, expiry, nonce, price_ticks, lots,
           signature, status, reason, filled_lots, seq, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', NULL, '0', ?, ?, ?)`,

        hash,
        o.marketId.toString(),
        o.maker,
        o.isBuy ? 1 : 0,
        o.flags.toString(),
        o.maxFeeBps.toString(),
        o.expiry.toString(),
        o.nonce.toString(),
        o.priceTicks.toString(),
        o.lots.toString(),
        signature,
        seq,
        at,
        at,
      );
      this.live.add(hash, o.maker);
      this.nonces.stored(o.maker, o.nonce);
    } catch (error) {
      // The primary key refuses a second copy; the failed statement alone is undone.
      if (/UNIQUE constraint failed: orders\.hash/i.test(String((error as Error).message))) {
        throw new StoreError("ORDER_EXISTS", `order ${hash} is already stored`);
      }
      throw error;
    }
  }

  private requireOrder(hash: Hex): StoredOrder {
    const o = this.getOrder(hash);
    if (o === undefined) throw new StoreError("ORDER_NOT_FOUND", `no order ${hash}`);
    return o;
  }

  private requireFill(id: number): StoredFill {
    const f = this.getFill(id);
    if (f === undefined) throw new StoreError("FILL_NOT_FOUND", `no fill ${id}`);
    return f;
  }

  private setStatus(hash: Hex, status: OrderStatus, reason: string | undefined, at: number): void {
    this.db.run(
      "UPDATE orders SET status = ?, reason = ?, updated_at = ? WHERE hash = ?",
      status,
      reason ?? null,
      at,
      hash,
    );
    if (isLiveStatus(status)) this.live.add(hash, this.requireOrder(hash).order.maker);
    else this.live.end(hash);
  }

  private cancelLive(hash: Hex, reason: string, at: number): boolean {
    const o = this.requireOrder(hash);
    if (o.status !== "open" && o.status !== "partially-filled") return false;
    this.setStatus(hash, "cancelled", reason, at);
    return true;
  }

  /**
   * Adds `delta` (negative: gives back) to an order's filled lots and sets the status it implies.
   * Lots given back to an IOC or FOK order end it (`cancelled`, `not-rested`) when the chain has seen
   * it (`chainSaw`): the chain treats an IOC used in a call as spent.
   */
  private addFilled(hash: Hex, delta: bigint, at: number, chainSaw = true): void {
    const o = this.requireOrder(hash);
    const filled = o.filledLots + delta;
    if (filled > o.order.lots || filled < 0n) {
      throw new StoreError(
        "FILL_EXCEEDS_ORDER",
        `order ${hash} has ${o.remainingLots} lots left; cannot fill ${delta}`,
      );
    }
    let status = o.status;
    let reason = o.reason;
    if (status === "open" || status === "partially-filled" || status === "filled") {
      status = filled === 0n ? "open" : filled < o.order.lots ? "partially-filled" : "filled";
      if (status !== "filled" && delta < 0n && chainSaw && (o.order.flags & NEVER_RESTS) !== 0n) {
        status = "cancelled";
        reason = "not-rested";
      }
    }
    this.db.run(
      "UPDATE orders SET filled_lots = ?, status = ?, reason = ?, updated_at = ? WHERE hash = ?",
      filled.toString(),
      status,
      reason ?? null,
      at,
      hash,
    );
    if (isLiveStatus(status)) this.live.add(hash, o.order.maker);
    else this.live.end(hash);
  }

  private addSettled(hash: Hex, lots: bigint, at: number): void {
    const o = this.requireOrder(hash);
    this.db.run(
      "UPDATE orders SET settled_lots = ?, updated_at = ? WHERE hash = ?",
      (o.settledLots + lots).toString(),
      at,
      hash,
    );
  }

  private insertFills(fills: readonly NewFill[], at: number): number[] {
    const ids: number[] = [];
    for (const f of fills) {
      const maker = this.requireOrder(f.makerHash);
      const taker = this.requireOrder(f.takerHash);
      this.addFilled(f.makerHash, f.lots, at);
      this.addFilled(f.takerHash, f.lots, at);
      const id = this.nextFillId++;
      this.db.run(
        `INSERT INTO fills (id, market, maker_hash, taker_hash, maker_account, taker_account, lots, price_ticks, status,
           retries, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
        id,

        maker.order.marketId.toString(),
        f.makerHash,
        f.takerHash,
        maker.order.maker,
        taker.order.maker,
        f.lots.toString(),
        f.priceTicks.toString(),
        f.retries ?? null,
        at,
        at,
      );
      ids.push(id);
      this.pending++;
      this.addTaken(taker.order.maker, 1);
      this.addOpen(f.makerHash, maker.order.maker, maker.order, f.lots);
      this.addOpen(f.takerHash, taker.order.maker, taker.order, f.lots);
    }
    return ids;
  }

  private skipFill(id: number, reason: string, at: number): void {
    const f = this.requireFill(id);
    if (f.status !== "pending" && f.status !== "sent") {
      throw new StoreError("FILL_NOT_SENT", `fill ${id} is ${f.status}; only a pending or sent fill can be skipped`);
    }
    this.db.run("UPDATE fills SET status = 'skipped', skip_reason = ?, updated_at = ? WHERE id = ?", reason, at, id);
    const chainSaw = f.status === "sent";
    if (!chainSaw) {
      this.pending--;
      this.addTaken(this.takerOf(f), -1);
    }
    this.closeOpen(f.makerHash, f.lots);
    this.closeOpen(f.takerHash, f.lots);
    this.addFilled(f.makerHash, -f.lots, at, chainSaw);
    this.addFilled(f.takerHash, -f.lots, at, chainSaw);
  }

  private insertBatch(b: NewBatch, replaces: number | undefined, at: number): number {
    const id = this.nextBatchId++;
    this.db.run(
      `INSERT INTO batches (id, tx_hash, raw_tx, nonce, max_fee_per_gas, max_priority_fee_per_gas, status, replaces, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'sent', ?, ?, ?)`,
      id,

      b.txHash,
      b.rawTx ?? null,
      b.nonce.toString(),
      b.maxFeePerGas.toString(),
      b.maxPriorityFeePerGas.toString(),
      replaces ?? null,
      at,
      at,
    );
    return id;
  }

  private requireBatchStatus(id: number, allowed: BatchStatus[]): StoredBatch {
    const b = this.getBatch(id);
    if (b === undefined) throw new StoreError("BATCH_NOT_FOUND", `no batch ${id}`);
    if (!allowed.includes(b.status))
      throw new StoreError("BATCH_NOT_SENT", `batch ${id} is ${b.status}; expected ${allowed.join(" or ")}`);
    return b;
  }

  private setBatchStatus(id: number, status: BatchStatus, blockNumber: bigint | undefined, at: number): void {
    this.db.run(
      "UPDATE batches SET status = ?, block_number = COALESCE(?, block_number), updated_at = ? WHERE id = ?",
      status,
      blockNumber?.toString() ?? null,
      at,
      id,
    );
  }

  private finishBatch(batchId: number, status: "mined" | "reverted", blockNumber: bigint, at: number): void {
    this.requireBatchStatus(batchId, ["sent", "replaced"]);
    for (const b of this.chainOf(batchId)) {
      if (b.id === batchId) continue;
      this.setBatchStatus(b.id, "replaced", undefined, at);
      this.db.run("UPDATE fills SET batch_id = ?, updated_at = ? WHERE batch_id = ?", batchId, at, b.id);
    }
    this.setBatchStatus(batchId, status, blockNumber, at);
  }

  private releaseFills(batchId: number, at: number): void {
    const takers = this.q.all(
      "SELECT taker_account FROM fills WHERE batch_id = ? AND status = 'sent'",
      batchId,
    ) as Row[];
    for (const row of takers) this.addTaken(row.taker_account as Address, 1);
    const changes = this.db.run(
      "UPDATE fills SET status = 'pending', batch_id = NULL, updated_at = ? WHERE batch_id = ? AND status = 'sent'",
      at,
      batchId,
    );
    this.pending += changes;
  }
}

/** The reads of the committed state, on the read-only connection. */
class ReaderReads extends StoreReads {
  constructor(
    reader: () => Reader,
    /** The writer's live orders: a superset of the committed ones. */
    private readonly liveOf: (account: Address) => readonly Hex[],
  ) {
    super(reader);
  }

  protected override liveHashesOf(account: Address): readonly Hex[] {
    return this.liveOf(account);
  }
}

/** Whether an order with this status rests (`LIVE` in SQL). */
function isLiveStatus(status: unknown): boolean {
  return status === "open" || status === "partially-filled";
}

/** An order with open (pending or sent) fills, and those fills' lots. */
export interface OpenFillLots {
  readonly hash: Hex;
  readonly account: Address;
  readonly order: Order;
  readonly lots: bigint;
}

/** Open fill rows (`openFillRows`) summed by order. */
function groupOpenFills(rows: readonly Row[]): Map<Hex, OpenFillLots> {
  const byHash = new Map<Hex, OpenFillLots>();
  for (const row of rows) {
    const hash = row.order_hash as Hex;
    const entry = byHash.get(hash);
    const lots = (entry?.lots ?? 0n) + BigInt(row.fill_lots as string);
    byHash.set(hash, { hash, account: row.order_account as Address, order: entry?.order ?? toOrder(row).order, lots });
  }
  return byHash;
}

function parseCursor(cursor: string): { at: number; hash: string } {
  const [at, hash] = cursor.split(":");
  return { at: Number(at), hash: hash ?? "" };
}

function toOrder(r: Row): StoredOrder {
  const order: Order = {
    maker: r.account as Address,
    marketId: BigInt(r.market as string),
    isBuy: r.is_buy === 1,
    flags: BigInt(r.flags as string),
    maxFeeBps: BigInt(r.max_fee_bps as string),
    expiry: BigInt(r.expiry as string),
    nonce: BigInt(r.nonce as string),
    priceTicks: BigInt(r.price_ticks as string),
    lots: BigInt(r.lots as string),
  };
  const filledLots = BigInt(r.filled_lots as string);
  return {
    hash: r.hash as Hex,
    order,
    signature: r.signature as Hex,
    status: r.status as OrderStatus,
    ...(r.reason === null ? {} : { reason: r.reason as string }),
    filledLots,
    remainingLots: order.lots - filledLots,
    settledLots: BigInt(r.settled_lots as string),
    ...(r.seq === null ? {} : { seq: r.seq as number }),
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}

function toFill(r: Row): StoredFill {
  return {
    id: r.id as number,
    market: BigInt(r.market as string),
    makerHash: r.maker_hash as Hex,
    takerHash: r.taker_hash as Hex,
    priceTicks: BigInt(r.price_ticks as string),
    lots: BigInt(r.lots as string),
    status: r.status as FillStatus,
    ...(r.batch_id === null ? {} : { batchId: r.batch_id as number }),
    ...(r.skip_reason === null ? {} : { skipReason: r.skip_reason as string }),
    ...(r.retries === null || r.retries === undefined ? {} : { retries: r.retries as number }),
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}
