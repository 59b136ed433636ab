/**
 * The keeper's WebSocket feed (keeper/API.md, "WebSocket feed") kept whole for the consumer:
 *
 * - **Books.** Each subscribed market's book is kept locally from its snapshot and deltas; every
 *   delta's `seq` must be the last + 1. On a gap the channel is resubscribed and rebuilt from the
 *   new snapshot; `onBook` is called only with a book that is exactly the keeper's as of `seq`.
 * - **Reconnects.** A dropped connection (or one the keeper closes, e.g. `4008` slow consumer) is
 *   reopened with exponential backoff, every channel is subscribed again, and each book restarts
 *   from the new snapshot. Trades and order updates are deduplicated across the seam (a trade by
 *   `(fillId, status)`), and the snapshots that follow fill in what happened while disconnected.
 * - **Private orders channel.** challenge → sign `FeedLogin` → login → subscribe, again after every
 *   reconnect (so the signer is asked once per connection).
 * - `close()` stops everything: the socket is closed and no timer is left behind.
 *
 * The WebSocket is the global one (browsers, Node 22+) unless a constructor is passed (`ws` in Node 20).
 */
import type { Account, Address, Hex } from "viem";
import type { ExchangeDomainParameters } from "../eip712";
import { CrossbookError, KeeperApiError, KeeperRequestError } from "../errors";
import type { OrderSigner } from "../signer";
import { LocalBook, type KeeperLevelChange } from "./localBook";
import { signKeeperMessage, signerAddress } from "./signKeeperMessage";
import {
  Reader,
  decodeLevel,
  decodeOrderStatus,
  decodeOrderUpdate,
  decodeTrade,
  type KeeperBook,
  type KeeperOrderStatus,
  type KeeperOrderUpdate,
  type KeeperTrade,
} from "./wire";

/** The part of a WebSocket (the browser's, Node's or `ws`'s) the feed uses. */
interface SocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor: the global `WebSocket`, or `ws`'s `WebSocket` in Node 20. */
export type WebSocketConstructor = new (url: string) => object;

/** The parameters of `createKeeperFeed`. */
export interface CreateKeeperFeedParameters {
  /** The feed's URL, e.g. `ws://127.0.0.1:8080/v1/ws`. */
  wsUrl: string;
  /** Defaults to the global `WebSocket`. */
  WebSocket?: WebSocketConstructor | undefined;
  /** The Exchange the keeper serves: needed only for `subscribeOrders` (the login is signed for it). */
  domain?: ExchangeDomainParameters | undefined;
  /** Reconnect backoff: the first delay (default 250 ms), doubled per failed attempt up to `maxDelayMs` (default 10 s). */
  reconnect?: { initialDelayMs?: number | undefined; maxDelayMs?: number | undefined } | undefined;
  /** How long a connection may take to open before it is abandoned and retried. Default 10 000 ms. */
  connectTimeoutMs?: number | undefined;
  /** Errors that concern no one subscription (also given to every subscription's `onError`). */
  onError?: ((error: CrossbookError) => void) | undefined;
}

/** Where a subscription stands. */
export type KeeperFeedStatus =
  | { state: "connecting" }
  /** Subscribed and in sync (after a snapshot). */
  | { state: "live" }
  /** A `seq` gap was seen: resubscribed, waiting for the new snapshot. */
  | { state: "resyncing"; reason: string }
  /** The connection dropped; the next attempt is in `delayMs`. */
  | { state: "disconnected"; attempt: number; delayMs: number; code?: number | undefined; reason?: string | undefined }
  /** `unsubscribe()` or `close()` was called. */
  | { state: "closed" };

/** What `subscribeBook` calls. */
export interface KeeperBookHandlers {
  /** The book as of `seq`, after the snapshot and after every delta: always whole and in order. */
  onBook(book: KeeperBook, seq: bigint): void;
  /** Each trade of the market once per `(fillId, status)`: `matched`, then `settled` or `skipped`. */
  onTrade?: ((trade: KeeperTrade) => void) | undefined;
  onError?: ((error: CrossbookError) => void) | undefined;
  onStatus?: ((status: KeeperFeedStatus) => void) | undefined;
}

/** What `subscribeTrades` calls. */
export interface KeeperTradeHandlers {
  onTrade(trade: KeeperTrade): void;
  onError?: ((error: CrossbookError) => void) | undefined;
  onStatus?: ((status: KeeperFeedStatus) => void) | undefined;
}

/** The parameters of `subscribeOrders`. */
export interface KeeperOrdersParameters {
  /** Signs the `FeedLogin` challenge (once per connection). */
  signer: OrderSigner;
  /** The account whose orders to follow; defaults to the signer's address. */
  account?: Address | undefined;
  /** With a wallet client: the account to sign with. */
  signingAccount?: Account | Address | undefined;
  /** The account's open orders, on every (re)subscription. */
  onSnapshot?: ((orders: KeeperOrderStatus[]) => void) | undefined;
  /** Each event of one of the account's orders, once. */
  onUpdate(update: KeeperOrderUpdate): void;
  onError?: ((error: CrossbookError) => void) | undefined;
  onStatus?: ((status: KeeperFeedStatus) => void) | undefined;
}

/** A subscription; `unsubscribe()` stops its callbacks (and the channel, when it was the last). */
export interface KeeperSubscription {
  unsubscribe(): void;
}

/** A connection to the keeper's feed. */
export interface KeeperFeed {
  /**
   * Follows a market's book (and, with `onTrade`, its trades).
   *
   * @example
   * import { createKeeperFeed } from "@crossbook/sdk";
   * const feed = createKeeperFeed({ wsUrl: "ws://127.0.0.1:8080/v1/ws" });
   * const subscription = feed.subscribeBook(1n, {
   *   onBook: (book, seq) => console.log(seq, book.bids[0], book.asks[0]),
   *   onTrade: (trade) => console.log(trade.status, trade.lots, "@", trade.priceTicks),
   * });
   * // later: subscription.unsubscribe(); feed.close();
   */
  subscribeBook(marketId: bigint, handlers: KeeperBookHandlers): KeeperSubscription;
  /**
   * Follows a market's trades only.
   *
   * @example
   * import { createKeeperFeed } from "@crossbook/sdk";
   * const feed = createKeeperFeed({ wsUrl: "ws://127.0.0.1:8080/v1/ws" });
   * feed.subscribeTrades(1n, { onTrade: (trade) => console.log(trade.fillId, trade.status) });
   */
  subscribeTrades(marketId: bigint, handlers: KeeperTradeHandlers): KeeperSubscription;
  /**
   * Follows one account's orders through the private channel (needs `domain` in `createKeeperFeed`).
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperFeed } from "@crossbook/sdk";
   * const feed = createKeeperFeed({
   *   wsUrl: "ws://127.0.0.1:8080/v1/ws",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const signer = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
   * feed.subscribeOrders({ signer, onUpdate: (u) => console.log(u.hash, u.event, u.filledLots) });
   */
  subscribeOrders(parameters: KeeperOrdersParameters): KeeperSubscription;
  /**
   * Closes the connection and stops every subscription and timer.
   *
   * @example
   * import { createKeeperFeed } from "@crossbook/sdk";
   * const feed = createKeeperFeed({ wsUrl: "ws://127.0.0.1:8080/v1/ws" });
   * feed.close();
   */
  close(): void;
}

/** How many trade / order-update keys each channel remembers to drop duplicates. */
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

interface Listener {
  onError?: ((error: CrossbookError) => void) | undefined;
  onStatus?: ((status: KeeperFeedStatus) => void) | undefined;
}

interface BookChannel {
  marketId: bigint;
  book: LocalBook;
  /** `waiting` for a snapshot (after subscribing or a gap), or `live`. */
  state: "waiting" | "live";
  listeners: Set<KeeperBookHandlers>;
}

interface SequencedChannel<L> {
  lastSeq: bigint | undefined;
  state: "waiting" | "live";
  seen: RecentKeys;
  listeners: Set<L>;
}

interface TradeChannel extends SequencedChannel<{ onTrade(trade: KeeperTrade): void } & Listener> {
  marketId: bigint;
}

interface OrdersChannel extends SequencedChannel<KeeperOrdersParameters> {
  account: Address;
  signer: OrderSigner;
  signingAccount: Account | Address | undefined;
}

/**
 * Opens (lazily, at the first subscription) a connection to a keeper's feed.
 *
 * @example
 * import WebSocket from "ws"; // Node 20; browsers and Node 22 have a global WebSocket
 * import { createKeeperFeed } from "@crossbook/sdk";
 * const feed = createKeeperFeed({ wsUrl: "ws://127.0.0.1:8080/v1/ws", WebSocket });
 * feed.subscribeBook(1n, { onBook: (book) => console.log(book.bids.length, book.asks.length) });
 */
export function createKeeperFeed(parameters: CreateKeeperFeedParameters): KeeperFeed {
  return new Feed(parameters);
}

class Feed implements KeeperFeed {
  private readonly Socket: new (url: string) => SocketLike;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly connectTimeoutMs: number;
  private socket: SocketLike | undefined;
  private open = false;
  private closed = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly books = new Map<bigint, BookChannel>();
  private readonly trades = new Map<bigint, TradeChannel>();
  private orders: OrdersChannel | undefined;

  constructor(private readonly parameters: CreateKeeperFeedParameters) {
    if (!/^wss?:\/\//.test(parameters.wsUrl)) {
      throw new KeeperRequestError(`The feed URL must start with ws:// or wss://, got "${parameters.wsUrl}"`, {
        code: "KEEPER_INVALID_ARGUMENT",
        details: { wsUrl: parameters.wsUrl },
      });
    }
    const Socket = parameters.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (typeof Socket !== "function") {
      throw new KeeperRequestError(
        "No global WebSocket in this runtime: pass `WebSocket` to createKeeperFeed (e.g. the `ws` package's)",
        { code: "KEEPER_INVALID_ARGUMENT" },
      );
    }
    this.Socket = Socket as unknown as new (url: string) => SocketLike;
    this.initialDelayMs = parameters.reconnect?.initialDelayMs ?? 250;
    this.maxDelayMs = parameters.reconnect?.maxDelayMs ?? 10_000;
    this.connectTimeoutMs = parameters.connectTimeoutMs ?? 10_000;
  }

  subscribeBook(marketId: bigint, handlers: KeeperBookHandlers): KeeperSubscription {
    this.assertOpenForBusiness();
    let channel = this.books.get(marketId);
    if (channel === undefined) {
      channel = { marketId, book: new LocalBook(marketId), state: "waiting", listeners: new Set() };
      this.books.set(marketId, channel);
      this.send({ op: "subscribe", channel: "book", marketId: marketId.toString() });
    } else if (channel.state === "live") {
      const view = channel.book.view();
      queueMicrotask(() => channel!.listeners.has(handlers) && this.call(() => handlers.onBook(view, view.seq)));
    }
    channel.listeners.add(handlers);
    const trades =
      handlers.onTrade === undefined
        ? undefined
        : this.subscribeTrades(marketId, { onTrade: handlers.onTrade, onError: handlers.onError });
    this.ensureConnected(handlers);
    return {
      unsubscribe: () => {
        trades?.unsubscribe();
        const current = this.books.get(marketId);
        if (current === undefined || !current.listeners.delete(handlers)) return;
        handlers.onStatus?.({ state: "closed" });
        if (current.listeners.size === 0) {
          this.books.delete(marketId);
          this.send({ op: "unsubscribe", channel: "book", marketId: marketId.toString() });
        }
      },
    };
  }

  subscribeTrades(marketId: bigint, handlers: KeeperTradeHandlers): KeeperSubscription {
    this.assertOpenForBusiness();
    let channel = this.trades.get(marketId);
    if (channel === undefined) {
      channel = { marketId, lastSeq: undefined, state: "waiting", seen: new RecentKeys(), listeners: new Set() };
      this.trades.set(marketId, channel);
      this.send({ op: "subscribe", channel: "trades", marketId: marketId.toString() });
    }
    const listener = { ...handlers };
    channel.listeners.add(listener);
    this.ensureConnected(listener);
    return {
      unsubscribe: () => {
        const current = this.trades.get(marketId);
        if (current === undefined || !current.listeners.delete(listener)) return;
        listener.onStatus?.({ state: "closed" });
        if (current.listeners.size === 0) {
          this.trades.delete(marketId);
          this.send({ op: "unsubscribe", channel: "trades", marketId: marketId.toString() });
        }
      },
    };
  }

  subscribeOrders(parameters: KeeperOrdersParameters): KeeperSubscription {
    this.assertOpenForBusiness();
    if (this.parameters.domain === undefined) {
      throw new KeeperRequestError(
        "subscribeOrders needs the Exchange's `domain` in createKeeperFeed (to sign the login)",
        {
          code: "KEEPER_INVALID_ARGUMENT",
        },
      );
    }
    const listener = { ...parameters };
    void (async () => {
      try {
        const account = parameters.account ?? (await signerAddress(parameters.signer, parameters.signingAccount));
        if (this.closed) return;
        if (this.orders !== undefined && this.orders.account.toLowerCase() !== account.toLowerCase()) {
          throw new KeeperRequestError(
            `This feed already follows the orders of ${this.orders.account}: one account per connection (open another feed)`,
            { code: "KEEPER_INVALID_ARGUMENT", details: { account } },
          );
        }
        if (this.orders === undefined) {
          this.orders = {
            account,
            signer: parameters.signer,
            signingAccount: parameters.signingAccount,
            lastSeq: undefined,
            state: "waiting",
            seen: new RecentKeys(),
            listeners: new Set(),
          };
          if (this.open) this.send({ op: "challenge" });
        }
        this.orders.listeners.add(listener);
        this.ensureConnected(listener);
      } catch (error) {
        this.report([listener], asCrossbookError(error));
      }
    })();
    return {
      unsubscribe: () => {
        if (this.orders === undefined || !this.orders.listeners.delete(listener)) return;
        listener.onStatus?.({ state: "closed" });
        // The keeper has no "unsubscribe orders": the channel stays quiet until the connection closes.
        if (this.orders.listeners.size === 0) this.orders = undefined;
      },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.connectTimer);
    this.reconnectTimer = this.connectTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    this.open = false;
    if (socket !== undefined) closeQuietly(socket);
    for (const listener of this.allListeners()) listener.onStatus?.({ state: "closed" });
    this.books.clear();
    this.trades.clear();
    this.orders = undefined;
  }

  private assertOpenForBusiness(): void {
    if (this.closed) {
      throw new KeeperRequestError("This feed is closed: create another one", { code: "KEEPER_INVALID_ARGUMENT" });
    }
  }

  private ensureConnected(listener: Listener): void {
    if (this.socket === undefined && this.reconnectTimer === undefined) this.connect();
    else if (!this.open) listener.onStatus?.({ state: "connecting" });
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (this.closed) return;
    for (const listener of this.allListeners()) listener.onStatus?.({ state: "connecting" });
    let socket: SocketLike;
    try {
      socket = new this.Socket(this.parameters.wsUrl);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const failure = new KeeperRequestError(`Could not open the feed: ${reason}`, {
        code: "KEEPER_UNREACHABLE",
        cause: error,
      });
      this.report(this.allListeners(), failure);
      this.scheduleReconnect(undefined, reason);
      return;
    }
    this.socket = socket;
    this.connectTimer = setTimeout(() => {
      this.connectTimer = undefined;
      if (this.socket !== socket || this.open) return;
      this.socket = undefined;
      closeQuietly(socket);
      this.scheduleReconnect(undefined, `not open after ${this.connectTimeoutMs} ms`);
    }, this.connectTimeoutMs);
    socket.onopen = () => {
      if (this.socket !== socket) return;
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
      this.open = true;
      for (const channel of this.books.values()) {
        channel.state = "waiting";
        this.send({ op: "subscribe", channel: "book", marketId: channel.marketId.toString() });
      }
      for (const channel of this.trades.values()) {
        channel.state = "waiting";
        this.send({ op: "subscribe", channel: "trades", marketId: channel.marketId.toString() });
      }
      if (this.orders !== undefined) {
        this.orders.state = "waiting";
        this.send({ op: "challenge" });
      }
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      this.receive(event.data);
    };
    socket.onerror = () => {
      // The close event that follows says what happened; nothing to do here.
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
      this.socket = undefined;
      this.open = false;
      this.scheduleReconnect(event.code, event.reason);
    };
  }

  private scheduleReconnect(code: number | undefined, reason: string | undefined): void {
    if (this.closed) return;
    for (const channel of this.books.values()) channel.state = "waiting";
    for (const channel of this.trades.values()) channel.state = "waiting";
    if (this.orders !== undefined) this.orders.state = "waiting";
    const delayMs = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    for (const listener of this.allListeners()) {
      listener.onStatus?.({ state: "disconnected", attempt: this.attempt, delayMs, code, reason });
    }
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }

  private send(message: Record<string, unknown>): void {
    if (!this.open || this.socket === undefined) return; // sent again on (re)connect
    try {
      this.socket.send(JSON.stringify(message));
    } catch {
      // The socket is closing: its close event schedules the reconnect that resends this.
    }
  }

  private receive(data: unknown): void {
    let message: Reader;
    try {
      const text = typeof data === "string" ? data : new TextDecoder().decode(data as ArrayBuffer);
      message = Reader.of(JSON.parse(text), "message");
    } catch (error) {
      this.report(this.allListeners(), badMessage(error));
      return;
    }
    try {
      this.dispatch(message);
    } catch (error) {
      this.report(this.allListeners(), asCrossbookError(error));
    }
  }

  private dispatch(message: Reader): void {
    const type = message.string("type");
    const channel = message.has("channel") ? message.string("channel") : undefined;
    if (type === "error") {
      const code = message.string("code");
      const error = new KeeperApiError(message.optionalString("message") ?? `The feed refused: ${code}`, {
        code,
        status: undefined,
      });
      const orderListeners = this.orders === undefined ? [] : [...this.orders.listeners];
      this.report(code === "BAD_LOGIN" || code === "NOT_LOGGED_IN" ? orderListeners : this.allListeners(), error);
      if (this.parameters.onError !== undefined) this.parameters.onError(error);
      return;
    }
    if (type === "challenge") return this.login(message.hex("challenge"));
    if (type === "login") return this.send({ op: "subscribe", channel: "orders" });
    if (type === "subscribed" || type === "unsubscribed") return;
    if (channel === "book") return this.onBookMessage(type, message);
    if (channel === "trades") return this.onTradesMessage(type, message);
    if (channel === "orders") return this.onOrdersMessage(type, message);
  }

  private onBookMessage(type: string, message: Reader): void {
    const channel = this.books.get(message.bigint("marketId"));
    if (channel === undefined) return; // unsubscribed meanwhile
    const seq = message.bigint("seq");
    if (type === "snapshot") {
      channel.book.reset(seq, message.array("bids", decodeLevel), message.array("asks", decodeLevel));
      channel.state = "live";
      this.attempt = 0;
      const view = channel.book.view();
      for (const listener of [...channel.listeners]) {
        listener.onStatus?.({ state: "live" });
        this.call(() => listener.onBook(view, seq));
      }
      return;
    }
    if (type !== "delta" || channel.state !== "live") return; // deltas before the snapshot are in it
    const changes = message.array("levels", (value, path): KeeperLevelChange => {
      const level = decodeLevel(value, path);
      return { side: Reader.of(value, path).oneOf("side", ["bid", "ask"] as const), ...level };
    });
    const outcome = channel.book.apply(seq, changes);
    if (outcome === "applied") {
      const view = channel.book.view();
      for (const listener of [...channel.listeners]) this.call(() => listener.onBook(view, seq));
    } else if (outcome === "gap") {
      const reason = `book ${channel.marketId}: delta ${seq} after ${channel.book.lastSeq}`;
      channel.state = "waiting";
      channel.book.clear();
      for (const listener of channel.listeners) listener.onStatus?.({ state: "resyncing", reason });
      this.send({ op: "unsubscribe", channel: "book", marketId: channel.marketId.toString() });
      this.send({ op: "subscribe", channel: "book", marketId: channel.marketId.toString() });
    }
  }

  private onTradesMessage(type: string, message: Reader): void {
    const channel = this.trades.get(message.bigint("marketId"));
    if (channel === undefined) return;
    const seq = message.bigint("seq");
    if (type === "snapshot") {
      channel.lastSeq = seq;
      channel.state = "live";
      this.attempt = 0;
      for (const listener of channel.listeners) listener.onStatus?.({ state: "live" });
      for (const trade of message.array("trades", decodeTrade)) this.deliverTrade(channel, trade);
      return;
    }
    if (type !== "trade" || channel.state !== "live" || channel.lastSeq === undefined) return;
    if (seq <= channel.lastSeq) return;
    const trade = decodeTrade(message.raw("trade"), "message.trade");
    if (seq !== channel.lastSeq + 1n) {
      // A lost message: resubscribe (the snapshot of recent trades fills the hole; duplicates are dropped).
      channel.state = "waiting";
      const reason = `trades ${channel.marketId}: message ${seq} after ${channel.lastSeq}`;
      for (const listener of channel.listeners) listener.onStatus?.({ state: "resyncing", reason });
      this.send({ op: "unsubscribe", channel: "trades", marketId: channel.marketId.toString() });
      this.send({ op: "subscribe", channel: "trades", marketId: channel.marketId.toString() });
    } else {
      channel.lastSeq = seq;
    }
    this.deliverTrade(channel, trade);
  }

  private deliverTrade(channel: TradeChannel, trade: KeeperTrade): void {
    if (!channel.seen.add(`${trade.fillId}:${trade.status}`)) return;
    for (const listener of [...channel.listeners]) this.call(() => listener.onTrade(trade));
  }

  private onOrdersMessage(type: string, message: Reader): void {
    const channel = this.orders;
    if (channel === undefined) return;
    const seq = message.bigint("seq");
    if (type === "snapshot") {
      channel.lastSeq = seq;
      channel.state = "live";
      this.attempt = 0;
      const orders = message.array("orders", decodeOrderStatus);
      for (const listener of [...channel.listeners]) {
        listener.onStatus?.({ state: "live" });
        if (listener.onSnapshot !== undefined) this.call(() => listener.onSnapshot!(orders));
      }
      return;
    }
    if (type !== "order" || channel.state !== "live" || channel.lastSeq === undefined) return;
    if (seq <= channel.lastSeq) return;
    const update = decodeOrderUpdate(message.raw("update"), "message.update");
    if (seq !== channel.lastSeq + 1n) {
      channel.state = "waiting";
      const reason = `orders: message ${seq} after ${channel.lastSeq}`;
      for (const listener of channel.listeners) listener.onStatus?.({ state: "resyncing", reason });
      this.send({ op: "subscribe", channel: "orders" }); // a new snapshot of the open orders follows
    } else {
      channel.lastSeq = seq;
    }
    const key = [update.hash, update.event, update.filledLots, update.fillId ?? "", update.txHash ?? ""].join(":");
    if (!channel.seen.add(key)) return;
    for (const listener of [...channel.listeners]) this.call(() => listener.onUpdate(update));
  }

  private login(challenge: Hex): void {
    const channel = this.orders;
    const socket = this.socket;
    if (channel === undefined || this.parameters.domain === undefined) return;
    const domain = this.parameters.domain;
    void (async () => {
      try {
        const signature = await signKeeperMessage({
          signer: channel.signer,
          domain,
          primaryType: "FeedLogin",
          message: { account: channel.account, challenge },
          account: channel.signingAccount,
        });
        if (this.socket !== socket || this.orders !== channel) return; // reconnected meanwhile: a new challenge follows
        this.send({ op: "login", account: channel.account, signature });
      } catch (error) {
        this.report([...channel.listeners], asCrossbookError(error));
      }
    })();
  }

  private allListeners(): Listener[] {
    const listeners: Listener[] = [];
    for (const channel of this.books.values()) listeners.push(...channel.listeners);
    for (const channel of this.trades.values()) listeners.push(...channel.listeners);
    if (this.orders !== undefined) listeners.push(...this.orders.listeners);
    return listeners;
  }

  private report(listeners: Iterable<Listener>, error: CrossbookError): void {
    for (const listener of new Set(listeners)) listener.onError?.(error);
  }

  /**
   * Runs a consumer callback. What it throws does not break the feed (the other listeners and the
   * book go on): it is rethrown outside the feed, as an uncaught error of the consumer's own.
   */
  private call(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

function closeQuietly(socket: SocketLike): void {
  socket.onopen = socket.onmessage = socket.onclose = null;
  socket.onerror = () => {};
  try {
    socket.close(1000, "closed by the client");
  } catch {
    // already closed or never opened
  }
}

function badMessage(error: unknown): CrossbookError {
  return new KeeperRequestError("The feed sent a message that is not JSON", {
    code: "KEEPER_BAD_RESPONSE",
    cause: error,
  });
}

function asCrossbookError(error: unknown): CrossbookError {
  if (error instanceof CrossbookError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new KeeperRequestError(`The feed failed: ${reason}`, { code: "KEEPER_BAD_RESPONSE", cause: error });
}
