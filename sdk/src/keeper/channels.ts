/**
 * The feed's channels — a market's book, a market's trades, an account's orders and fills — on one
 * implementation of a sequenced channel: a snapshot as of `seq`, then messages numbered `seq + 1`,
 * `seq + 2`, …. A message already in the snapshot (`seq` ≤ the last) is dropped; the next one is
 * applied; a later one means a message was lost: the channel asks for a new snapshot (status
 * `resyncing`) and counts nothing until it arrives. What differs per channel is only what a
 * snapshot and a message carry, how to ask for them, and what becomes of the message that showed
 * the gap (a book delta cannot be applied over a hole; a trade or an order event still can be
 * delivered, deduplicated, since it stands on its own).
 *
 * The connection (socket, reconnects, heartbeat, login) is the feed's (./feed.ts); a channel only
 * sends requests and calls its listeners through its `ChannelHost`.
 */
import type { Account, Address } from "viem";
import type { CrossbookError } from "../errors";
import type { OrderSigner } from "../signer";
import { LocalBook, type KeeperLevelChange } from "./localBook";
import {
  Reader,
  decodeFill,
  decodeLevel,
  decodeOrderStatus,
  decodeOrderUpdate,
  decodeTrade,
  type KeeperBook,
  type KeeperFeedMessageJson,
  type KeeperFeedRequestJson,
  type KeeperFill,
  type KeeperLevel,
  type KeeperLevelChangeJson,
  type KeeperOrderStatus,
  type KeeperOrderUpdate,
  type KeeperTrade,
} from "./wire";

/** Where a subscription stands. */
export type KeeperFeedStatus =
  | { state: "connecting" }
  /** Subscribed and in sync (after a snapshot). */
  | { state: "live" }
  /** A `seq` gap was seen: a new snapshot was asked for. */
  | { state: "resyncing"; reason: string }
  /** The connection dropped (or was dropped as dead); the next attempt is in `delayMs`. */
  | { state: "disconnected"; attempt: number; delayMs: number; code?: number | undefined; reason?: string | undefined }
  /** `unsubscribe()` or `close()` was called. */
  | { state: "closed" };

/** What every subscriber may be told besides its data. */
export interface ChannelListener {
  onError?: ((error: CrossbookError) => void) | undefined;
  onStatus?: ((status: KeeperFeedStatus) => void) | undefined;
}

/** What `subscribeBook` calls. */
export interface KeeperBookHandlers extends ChannelListener {
  /** The book as of `seq`, after the snapshot and after every delta: always whole and in order. */
  onBook(book: KeeperBook, seq: bigint): void;
  /** Each trade of the market once per `(fillId, status)`: `matched`, then `settled` or `skipped`. */
  onTrade?: ((trade: KeeperTrade) => void) | undefined;
}

/** What `subscribeTrades` calls. */
export interface KeeperTradeHandlers extends ChannelListener {
  onTrade(trade: KeeperTrade): void;
}

/** The login of the private channels (`orders`, `fills`): one per connection, shared by both. */
export interface KeeperFeedLoginParameters {
  /** Signs the `FeedLogin` challenge (once per connection, for every private channel). */
  signer: OrderSigner;
  /** The account to follow; defaults to the signer's address. One account per feed. */
  account?: Address | undefined;
  /** With a wallet client: the account to sign with. */
  signingAccount?: Account | Address | undefined;
}

/** The parameters of `subscribeOrders`. */
export interface KeeperOrdersParameters extends ChannelListener, KeeperFeedLoginParameters {
  /** The account's open orders, on every (re)subscription. */
  onSnapshot?: ((orders: KeeperOrderStatus[]) => void) | undefined;
  /** Each event of one of the account's orders, once. */
  onUpdate(update: KeeperOrderUpdate): void;
}

/** The parameters of `subscribeFills`. */
export interface KeeperFillsParameters extends ChannelListener, KeeperFeedLoginParameters {
  /** Fills in the snapshot on every (re)subscription: the newest, 1 to 1,000 (default 100). */
  snapshotLimit?: number | undefined;
  /** The snapshot's fills (oldest first), on every (re)subscription. */
  onSnapshot?: ((fills: KeeperFill[]) => void) | undefined;
  /**
   * Each state of each of the account's fills once per side (`matched`, then `settled` or `skipped`),
   * the snapshot's included: after a resync, only what was not delivered yet.
   */
  onFill(fill: KeeperFill): void;
}

/** What a channel needs of the connection. */
export interface ChannelHost {
  /** Sends a request now, or drops it while disconnected (every channel subscribes again on reconnect). */
  send(request: KeeperFeedRequestJson): void;
  /** Runs a consumer callback; what it throws is rethrown outside the feed. */
  call(callback: () => void): void;
  /** A channel is in sync again: the connection is healthy (resets the reconnect backoff). */
  synced(): void;
}

/** A feed message that belongs to a channel: it has a `seq`. */
type ChannelMessage = Extract<KeeperFeedMessageJson, { seq: number }>;
/** The channel message of type `T`. */
type MessageOf<T extends ChannelMessage["type"], C extends ChannelMessage["channel"]> = Extract<
  ChannelMessage,
  { type: T; channel: C }
>;

/** One sequenced channel of the feed; see the file's comment. */
export abstract class SequencedChannel<L extends ChannelListener, Snapshot, Update> {
  readonly listeners = new Set<L>();
  private lastSeq: bigint | undefined;
  private inSync = false;

  constructor(
    protected readonly host: ChannelHost,
    /** For statuses and errors: `book 1`, `trades 1`, `orders`. */
    readonly name: string,
    /** The `type` of the channel's numbered messages after the snapshot. */
    private readonly updateType: "delta" | "trade" | "order" | "fill",
  ) {}

  /** The requests that open the channel on a connection (again after every reconnect). */
  abstract subscribeRequests(): KeeperFeedRequestJson[];
  /** The requests that close it, when its last listener leaves. */
  abstract unsubscribeRequests(): KeeperFeedRequestJson[];
  /** The requests that bring a new snapshot after a gap. */
  protected abstract resyncRequests(): KeeperFeedRequestJson[];
  protected abstract decodeSnapshot(message: Reader<ChannelMessage>): Snapshot;
  protected abstract decodeUpdate(message: Reader<ChannelMessage>): Update;
  protected abstract applySnapshot(snapshot: Snapshot, seq: bigint): void;
  protected abstract applyUpdate(update: Update, seq: bigint): void;
  /** What becomes of the update that showed a gap (it is not `applyUpdate`d). */
  protected abstract afterGap(update: Update): void;

  /** Whether the channel is in sync (a snapshot arrived and no gap since). */
  get live(): boolean {
    return this.inSync;
  }

  /** The connection opened again or dropped: nothing counts until the next snapshot. */
  reset(): void {
    this.inSync = false;
  }

  /** Takes one of the channel's messages (a snapshot or a numbered update). */
  receive(message: Reader<ChannelMessage>): void {
    const type = message.string("type");
    if (type === "snapshot") {
      const seq = message.bigint("seq");
      const snapshot = this.decodeSnapshot(message);
      this.lastSeq = seq;
      this.inSync = true;
      this.host.synced();
      this.status({ state: "live" });
      this.applySnapshot(snapshot, seq);
      return;
    }
    // Before the snapshot (after subscribing or a gap), an update is in the snapshot to come.
    if (type !== this.updateType || !this.inSync || this.lastSeq === undefined) return;
    const seq = message.bigint("seq");
    if (seq <= this.lastSeq) return; // already in the snapshot
    const update = this.decodeUpdate(message);
    if (seq === this.lastSeq + 1n) {
      this.lastSeq = seq;
      this.applyUpdate(update, seq);
      return;
    }
    this.inSync = false;
    this.status({ state: "resyncing", reason: `${this.name}: message ${seq} after ${this.lastSeq}` });
    for (const request of this.resyncRequests()) this.host.send(request);
    this.afterGap(update);
  }

  /** Tells every listener `status`. */
  status(status: KeeperFeedStatus): void {
    for (const listener of [...this.listeners]) listener.onStatus?.(status);
  }
}

/** A channel of one market (`book`, `trades`): subscribed by market id, resynced by subscribing again. */
abstract class MarketChannel<L extends ChannelListener, Snapshot, Update> extends SequencedChannel<
  L,
  Snapshot,
  Update
> {
  constructor(
    host: ChannelHost,
    private readonly channel: "book" | "trades",
    readonly marketId: bigint,
    updateType: "delta" | "trade",
  ) {
    super(host, `${channel} ${marketId}`, updateType);
  }

  subscribeRequests(): KeeperFeedRequestJson[] {
    return [{ op: "subscribe", channel: this.channel, marketId: this.marketId.toString() }];
  }

  unsubscribeRequests(): KeeperFeedRequestJson[] {
    return [{ op: "unsubscribe", channel: this.channel, marketId: this.marketId.toString() }];
  }

  protected resyncRequests(): KeeperFeedRequestJson[] {
    return [...this.unsubscribeRequests(), ...this.subscribeRequests()];
  }
}

/** A market's book, kept whole from its snapshot and deltas. */
export class BookChannel extends MarketChannel<
  KeeperBookHandlers,
  { bids: KeeperLevel[]; asks: KeeperLevel[] },
  KeeperLevelChange[]
> {
  private readonly book: LocalBook;

  constructor(host: ChannelHost, marketId: bigint) {
    super(host, "book", marketId, "delta");
    this.book = new LocalBook(marketId);
  }

  /** Adds a listener; one that joins a live channel gets the current book at once (in a microtask). */
  add(listener: KeeperBookHandlers): void {
    this.listeners.add(listener);
    if (!this.live) return;
    const view = this.book.view();
    queueMicrotask(() => this.listeners.has(listener) && this.host.call(() => listener.onBook(view, view.seq)));
  }

  protected decodeSnapshot(message: Reader<ChannelMessage>) {
    const snapshot = message.as<MessageOf<"snapshot", "book">>();
    return { bids: snapshot.array("bids", decodeLevel), asks: snapshot.array("asks", decodeLevel) };
  }

  protected decodeUpdate(message: Reader<ChannelMessage>): KeeperLevelChange[] {
    return message.as<MessageOf<"delta", "book">>().array("levels", (value, path) => ({
      side: Reader.of<KeeperLevelChangeJson>(value, path).oneOf("side", ["bid", "ask"] as const),
      ...decodeLevel(value, path),
    }));
  }

  protected applySnapshot(snapshot: { bids: KeeperLevel[]; asks: KeeperLevel[] }, seq: bigint): void {
    this.book.reset(seq, snapshot.bids, snapshot.asks);
    this.publish(seq);
  }

  protected applyUpdate(changes: KeeperLevelChange[], seq: bigint): void {
    if (this.book.apply(seq, changes) === "applied") this.publish(seq);
  }

  protected afterGap(): void {
    this.book.clear(); // no longer known to be the keeper's
  }

  private publish(seq: bigint): void {
    const view = this.book.view();
    for (const listener of [...this.listeners]) this.host.call(() => listener.onBook(view, seq));
  }
}

/** How many trade / order-update keys a channel remembers to drop repeats. */
const DEDUP_WINDOW = 10_000;

/** Remembers the last `DEDUP_WINDOW` keys. */
class RecentKeys {
  private readonly keys = new Set<string>();
  /** `true` the first time `key` is seen. */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > DEDUP_WINDOW) this.keys.delete(this.keys.values().next().value as string);
    return true;
  }
}

/** A market's trades, each once per `(fillId, status)`, across resyncs and reconnects. */
export class TradesChannel extends MarketChannel<KeeperTradeHandlers, KeeperTrade[], KeeperTrade> {
  private readonly seen = new RecentKeys();

  constructor(host: ChannelHost, marketId: bigint) {
    super(host, "trades", marketId, "trade");
  }

  protected decodeSnapshot(message: Reader<ChannelMessage>): KeeperTrade[] {
    return message.as<MessageOf<"snapshot", "trades">>().array("trades", decodeTrade);
  }

  protected decodeUpdate(message: Reader<ChannelMessage>): KeeperTrade {
    return decodeTrade(message.as<MessageOf<"trade", "trades">>().raw("trade"), "message.trade");
  }

  protected applySnapshot(trades: KeeperTrade[]): void {
    for (const trade of trades) this.deliver(trade); // the recent trades: those already seen are dropped
  }

  protected applyUpdate(trade: KeeperTrade): void {
    this.deliver(trade);
  }

  protected afterGap(trade: KeeperTrade): void {
    this.deliver(trade); // the snapshot asked for fills the hole; repeats are dropped
  }

  private deliver(trade: KeeperTrade): void {
    if (!this.seen.add(`${trade.fillId}:${trade.status}`)) return;
    for (const listener of [...this.listeners]) this.host.call(() => listener.onTrade(trade));
  }
}

/**
 * A channel of the logged-in account (`orders`, `fills`): subscribed once the connection's login is
 * accepted (the feed asks for the challenge and signs it), resynced by subscribing again.
 */
export abstract class PrivateChannel<L extends ChannelListener, Snapshot, Update> extends SequencedChannel<
  L,
  Snapshot,
  Update
> {
  constructor(
    host: ChannelHost,
    private readonly channel: "orders" | "fills",
    updateType: "order" | "fill",
  ) {
    super(host, channel, updateType);
  }

  /** Sent once the connection is logged in. */
  subscribeRequests(): KeeperFeedRequestJson[] {
    return [{ op: "subscribe", channel: this.channel }];
  }

  unsubscribeRequests(): KeeperFeedRequestJson[] {
    return [{ op: "unsubscribe", channel: this.channel }];
  }

  protected resyncRequests(): KeeperFeedRequestJson[] {
    return this.subscribeRequests(); // still logged in: a new snapshot follows
  }
}

/** An account's orders: the open ones on every (re)subscription, then each event once. */
export class OrdersChannel extends PrivateChannel<KeeperOrdersParameters, KeeperOrderStatus[], KeeperOrderUpdate> {
  private readonly seen = new RecentKeys();

  constructor(host: ChannelHost) {
    super(host, "orders", "order");
  }

  protected decodeSnapshot(message: Reader<ChannelMessage>): KeeperOrderStatus[] {
    return message.as<MessageOf<"snapshot", "orders">>().array("orders", decodeOrderStatus);
  }

  protected decodeUpdate(message: Reader<ChannelMessage>): KeeperOrderUpdate {
    return decodeOrderUpdate(message.as<MessageOf<"order", "orders">>().raw("update"), "message.update");
  }

  protected applySnapshot(orders: KeeperOrderStatus[]): void {
    for (const listener of [...this.listeners]) {
      if (listener.onSnapshot !== undefined) this.host.call(() => listener.onSnapshot!(orders));
    }
  }

  protected applyUpdate(update: KeeperOrderUpdate): void {
    this.deliver(update);
  }

  protected afterGap(update: KeeperOrderUpdate): void {
    this.deliver(update); // an event stands on its own; the snapshot asked for shows the open orders
  }

  private deliver(update: KeeperOrderUpdate): void {
    const key = [update.hash, update.event, update.filledLots, update.fillId ?? "", update.txHash ?? ""].join(":");
    if (!this.seen.add(key)) return;
    for (const listener of [...this.listeners]) this.host.call(() => listener.onUpdate(update));
  }
}

/** An account's fills: the newest on every (re)subscription, then each state of each fill once. */
export class FillsChannel extends PrivateChannel<KeeperFillsParameters, KeeperFill[], KeeperFill> {
  private readonly seen = new RecentKeys();

  constructor(
    host: ChannelHost,
    private readonly snapshotLimit: number | undefined,
  ) {
    super(host, "fills", "fill");
  }

  override subscribeRequests(): KeeperFeedRequestJson[] {
    return [
      { op: "subscribe", channel: "fills", ...(this.snapshotLimit === undefined ? {} : { limit: this.snapshotLimit }) },
    ];
  }

  protected decodeSnapshot(message: Reader<ChannelMessage>): KeeperFill[] {
    return message.as<MessageOf<"snapshot", "fills">>().array("fills", decodeFill);
  }

  protected decodeUpdate(message: Reader<ChannelMessage>): KeeperFill {
    return decodeFill(message.as<MessageOf<"fill", "fills">>().raw("fill"), "message.fill");
  }

  protected applySnapshot(fills: KeeperFill[]): void {
    for (const listener of [...this.listeners]) {
      if (listener.onSnapshot !== undefined) this.host.call(() => listener.onSnapshot!(fills));
    }
    for (const fill of fills) this.deliver(fill); // those already delivered are dropped
  }

  protected applyUpdate(fill: KeeperFill): void {
    this.deliver(fill);
  }

  protected afterGap(fill: KeeperFill): void {
    this.deliver(fill); // a fill's state stands on its own; the snapshot asked for fills the hole
  }

  private deliver(fill: KeeperFill): void {
    if (!this.seen.add(`${fill.fillId}:${fill.side}:${fill.status}`)) return;
    for (const listener of [...this.listeners]) this.host.call(() => listener.onFill(fill));
  }
}
