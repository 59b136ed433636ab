/**
 * The keeper's WebSocket feed (keeper/API.md, "WebSocket feed") kept whole for the consumer:
 *
 * - **Channels.** A market's book, a market's trades and an account's orders are sequenced channels
 *   (./channels.ts, one implementation for the three): a snapshot, then messages numbered one by
 *   one; on a gap the channel asks for a new snapshot. `onBook` is called only with a book that is
 *   exactly the keeper's as of `seq`; trades and order events are delivered once each.
 * - **Reconnects.** A dropped connection (or one the keeper closes, e.g. `4008` slow consumer) is
 *   reopened with exponential backoff, every channel is subscribed again and starts from its new
 *   snapshot; trades and order updates are deduplicated across the seam.
 * - **Heartbeat.** A connection that has been silent for `heartbeat.intervalMs` is probed with a
 *   request the keeper always answers; if nothing at all arrives within `heartbeat.timeoutMs` after
 *   it, the connection is taken for dead (a half-open TCP connection, a frozen keeper) and dropped
 *   and reopened at once, without waiting for the server or the operating system to notice.
 * - **Private channels** (`orders`, `fills`): one login per connection, shared by both — challenge →
 *   sign `FeedLogin` → login → subscribe each, again after every reconnect (so the signer is asked
 *   once per connection however many private channels are open).
 * - `close()` stops everything: the socket is closed and no timer is left behind.
 *
 * The WebSocket is the global one (browsers, Node 22+) unless a constructor is passed (`ws` in Node 20).
 */
import type { ExchangeDomainParameters } from "../eip712";
import { CrossbookError, KeeperApiError, KeeperRequestError } from "../errors";
import {
  BookChannel,
  FillsChannel,
  OrdersChannel,
  TradesChannel,
  type ChannelHost,
  type ChannelListener,
  type KeeperBookHandlers,
  type KeeperFillsParameters,
  type KeeperFeedLoginParameters,
  type KeeperOrdersParameters,
  type PrivateChannel,
  type KeeperTradeHandlers,
  type SequencedChannel,
} from "./channels";
import { FeedOrderEntry, type KeeperFeedOrderEntry, type KeeperFeedOrderEntryParameters } from "./feedOrderEntry";
import { signKeeperMessage, signerAddress } from "./signKeeperMessage";
import {
  Reader,
  type KeeperFeedMessageJson,
  type KeeperFeedOrderRequestJson,
  type KeeperFeedRequestJson,
} from "./wire";

export type {
  KeeperBookHandlers,
  KeeperFeedStatus,
  KeeperFillsParameters,
  KeeperOrdersParameters,
  KeeperTradeHandlers,
} from "./channels";

/** The part of a WebSocket (the browser's, Node's or `ws`'s) the feed uses. */
/** The part of a WebSocket (the browser's, Node's or `ws`'s) the feed uses. */
interface SocketLike {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** `ws`'s: destroys the connection without a closing handshake (a dead peer would never answer one). */
  terminate?: (() => void) | undefined;
}

/** A WebSocket constructor: the global `WebSocket`, or `ws`'s `WebSocket` in Node 20. */
export type WebSocketConstructor = new (url: string) => object;

/** The time the feed keeps: `Date.now` and the global timers, or a test's own. */
export interface KeeperFeedClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: KeeperFeedClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

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
  /**
   * The client's heartbeat: after `intervalMs` (default 15 000) without any message the keeper is
   * probed, and a connection that then stays silent for `timeoutMs` (default 10 000) is dropped and
   * reopened. A dead connection is so noticed at most `intervalMs + timeoutMs` after its last
   * message. `false` turns it off (the connection then lives until the socket reports it closed).
   */
  heartbeat?: { intervalMs?: number | undefined; timeoutMs?: number | undefined } | false | undefined;
  /** Errors that concern no one subscription (also given to every subscription's `onError`). */
  onError?: ((error: CrossbookError) => void) | undefined;
  /** The clock and timers (tests pass their own); defaults to `Date.now` and the global timers. */
  clock?: KeeperFeedClock | undefined;
}

/**
 * The request the heartbeat probes with. The keeper's protocol has no ping message a browser can
 * send (WebSocket ping frames are the server's, and browsers do not expose them), so the probe is a
 * request the keeper answers at once and that changes nothing: unsubscribing from the trades of
 * market 0, which no keeper serves (markets are numbered from 1), so that no connection is ever
 * subscribed to it. The keeper answers `unsubscribed`; any message at all counts as a sign of life.
 */
const PROBE: KeeperFeedRequestJson = { op: "unsubscribe", channel: "trades", marketId: "0" };

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
   * Order entry on this connection (keeper/API.md, "Order entry on the feed"): logs in as the
   * account (through its private orders channel, which `onUpdate` follows) and sends place, cancel,
   * amend, batch and the dead-man switch's requests on the socket, each answered under its id. A
   * request made before the login is done is sent once it is; one unanswered when the connection
   * closes rejects with `KEEPER_UNREACHABLE`, one unanswered after `timeoutMs` with `KEEPER_TIMEOUT`.
   * Needs `domain` in `createKeeperFeed`; one account per connection.
   *
   * @example
   * import WebSocket from "ws";
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperFeed } from "@crossbook/sdk";
   * const domain = { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" } as const;
   * const feed = createKeeperFeed({ wsUrl: "ws://127.0.0.1:8080/v1/ws", WebSocket, domain });
   * const signer = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
   * const entry = await feed.orderEntry({ signer, onUpdate: (u) => console.log(u.event, u.hash) });
   * await entry.cancelOnDisconnect(true);
   * await entry.scheduleCancel(BigInt(Date.now() + 10_000)); // renew every few seconds
   */
  orderEntry(
    parameters: KeeperFeedOrderEntryParameters & Partial<Pick<KeeperOrdersParameters, "onUpdate" | "onError">>,
  ): Promise<KeeperFeedOrderEntry>;
  /**
   * Follows one account's fills through the private `fills` channel: each fill once per side the
   * account has in it (`matched`), then its settlement (`settled` with `txHash` and `blockNumber`, or
   * `skipped`). Shares the connection's login with `subscribeOrders` (one signature per connection;
   * one account per feed). Needs `domain` in `createKeeperFeed`.
   *
   * @example
   * import { privateKeyToAccount } from "viem/accounts";
   * import { createKeeperFeed } from "@crossbook/sdk";
   * const feed = createKeeperFeed({
   *   wsUrl: "ws://127.0.0.1:8080/v1/ws",
   *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
   * });
   * const signer = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
   * feed.subscribeFills({ signer, onFill: (f) => console.log(f.fillId, f.side, f.lots, f.fee, f.status) });
   */
  subscribeFills(parameters: KeeperFillsParameters): KeeperSubscription;
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

class Feed implements KeeperFeed, ChannelHost {
  private readonly Socket: new (url: string) => SocketLike;
  private readonly clock: KeeperFeedClock;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly connectTimeoutMs: number;
  private readonly heartbeat: { intervalMs: number; timeoutMs: number } | undefined;
  private socket: SocketLike | undefined;
  private open = false;
  private closed = false;
  private attempt = 0;
  private reconnectTimer: unknown;
  private connectTimer: unknown;
  private heartbeatTimer: unknown;
  /**
   * A `challenge` asked for and not yet answered, and the timer of the next ask after the keeper
   * refused one for its per-address login budget (many clients behind one address log in at once).
   */
  private challengeAsked = false;
  private challengeAttempt = 0;
  private challengeTimer: unknown;
  /** When the last message arrived (the clock's milliseconds), and when a probe went out unanswered. */
  private lastHeardAt = 0;
  private probeSentAt: number | undefined;
  private readonly books = new Map<bigint, BookChannel>();
  private readonly trades = new Map<bigint, TradesChannel>();
  private orders: OrdersChannel | undefined;
  private entry: FeedOrderEntry | undefined;
  /** The account the open connection is logged in as. */
  private loggedInAs: string | undefined;
  private fills: FillsChannel | undefined;
  /** Who the private channels log in as (set by the first of them), and how far this connection's login is. */
  private login: { account: `0x${string}`; parameters: KeeperFeedLoginParameters } | undefined;
  private loginState: "none" | "asking" | "in" = "none";

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
    this.clock = parameters.clock ?? systemClock;
    this.initialDelayMs = parameters.reconnect?.initialDelayMs ?? 250;
    this.maxDelayMs = parameters.reconnect?.maxDelayMs ?? 10_000;
    this.connectTimeoutMs = parameters.connectTimeoutMs ?? 10_000;
    const heartbeat = parameters.heartbeat;
    this.heartbeat =
      heartbeat === false
        ? undefined
        : { intervalMs: heartbeat?.intervalMs ?? 15_000, timeoutMs: heartbeat?.timeoutMs ?? 10_000 };
  }

  subscribeBook(marketId: bigint, handlers: KeeperBookHandlers): KeeperSubscription {
    this.assertOpenForBusiness();
    const channel = this.channelOf(this.books, marketId, () => new BookChannel(this, marketId));
    channel.add(handlers);
    const trades =
      handlers.onTrade === undefined
        ? undefined
        : this.subscribeTrades(marketId, { onTrade: handlers.onTrade, onError: handlers.onError });
    this.ensureConnected(handlers);
    return {
      unsubscribe: () => {
        trades?.unsubscribe();
        this.leave(this.books, marketId, handlers);
      },
    };
  }

  subscribeTrades(marketId: bigint, handlers: KeeperTradeHandlers): KeeperSubscription {
    this.assertOpenForBusiness();
    const channel = this.channelOf(this.trades, marketId, () => new TradesChannel(this, marketId));
    const listener = { ...handlers };
    channel.listeners.add(listener);
    this.ensureConnected(listener);
    return { unsubscribe: () => this.leave(this.trades, marketId, listener) };
  }

  subscribeOrders(parameters: KeeperOrdersParameters): KeeperSubscription {
    return this.subscribePrivate("orders", parameters, () => (this.orders ??= new OrdersChannel(this)));
  }

  subscribeFills(parameters: KeeperFillsParameters): KeeperSubscription {
    return this.subscribePrivate(
      "fills",
      parameters,
      () => (this.fills ??= new FillsChannel(this, parameters.snapshotLimit)),
    );
  }

  /** Logs the connection in (once, shared) and subscribes the private channel `name`. */
  private subscribePrivate<L extends ChannelListener & KeeperFeedLoginParameters>(
    name: "orders" | "fills",
    parameters: L,
    channelOf: () => PrivateChannel<L, unknown, unknown>,
  ): KeeperSubscription {
    this.assertOpenForBusiness();
    if (this.parameters.domain === undefined) {
      throw new KeeperRequestError(
        `subscribe${name === "orders" ? "Orders" : "Fills"} needs the Exchange's \`domain\` in createKeeperFeed (to sign the login)`,
        { code: "KEEPER_INVALID_ARGUMENT" },
      );
    }
    const listener = { ...parameters };
    let joined: PrivateChannel<L, unknown, unknown> | undefined;
    void (async () => {
      try {
        const account = parameters.account ?? (await signerAddress(parameters.signer, parameters.signingAccount));
        if (this.closed) return;
        if (this.login !== undefined && this.login.account.toLowerCase() !== account.toLowerCase()) {
          throw new KeeperRequestError(
            `This feed is logged in as ${this.login.account}: one account per connection (open another feed)`,
            { code: "KEEPER_INVALID_ARGUMENT", details: { account } },
          );
        }
        this.login ??= { account, parameters };
        const isNew = (name === "orders" ? this.orders : this.fills) === undefined;
        const channel = channelOf();
        channel.listeners.add(listener);
        joined = channel;
        if (isNew) this.openPrivate(channel);
        this.ensureConnected(listener);
      } catch (error) {
        this.report([listener], asCrossbookError(error));
      }
    })();
    return {
      unsubscribe: () => {
        const channel = joined;
        if (channel === undefined || !channel.listeners.delete(listener)) return;
        listener.onStatus?.({ state: "closed" });
        if (channel.listeners.size > 0) return;
        const left: unknown = channel;
        if (left === this.orders) this.orders = undefined;
        if (left === this.fills) this.fills = undefined;
        this.sendAll(channel.unsubscribeRequests());
        if (this.privateChannels().length === 0) this.login = undefined; // another account may log in next
      },
    };
  }

  async orderEntry(
    parameters: KeeperFeedOrderEntryParameters & Partial<Pick<KeeperOrdersParameters, "onUpdate" | "onError">>,
  ): Promise<KeeperFeedOrderEntry> {
    this.assertOpenForBusiness();
    const domain = this.parameters.domain;
    if (domain === undefined) {
      throw new KeeperRequestError("orderEntry needs the Exchange's `domain` in createKeeperFeed (to sign the login)", {
        code: "KEEPER_INVALID_ARGUMENT",
      });
    }
    const account = parameters.account ?? (await signerAddress(parameters.signer, parameters.signingAccount));
    if (this.entry !== undefined) {
      if (this.entry.account.toLowerCase() === account.toLowerCase()) return this.entry;
      throw new KeeperRequestError(`This feed already enters orders for ${this.entry.account}: open another feed`, {
        code: "KEEPER_INVALID_ARGUMENT",
        details: { account },
      });
    }
    const host = {
      ready: () => this.open && this.loggedInAs === account.toLowerCase(),
      send: (request: KeeperFeedOrderRequestJson) => this.send(request),
      now: () => this.clock.now(),
      setTimeout: (callback: () => void, ms: number) => this.clock.setTimeout(callback, ms),
      clearTimeout: (handle: unknown) => this.clock.clearTimeout(handle),
    };
    this.entry = new FeedOrderEntry(host, domain, account, parameters);
    // The login rides on the private orders channel (challenge, FeedLogin, login, subscribe).
    this.subscribeOrders({ ...parameters, account, onUpdate: parameters.onUpdate ?? (() => {}) });
    return this.entry;
  }

  /** Subscribes a new private channel: at once if logged in, else after the login it asks for. */
  private openPrivate(channel: PrivateChannel<ChannelListener, unknown, unknown>): void {
    if (this.loginState === "in") return this.sendAll(channel.subscribeRequests());
    this.askLogin();
  }

  private askLogin(): void {
    if (this.loginState !== "none" || !this.open) return;
    this.loginState = "asking";
    this.send({ op: "challenge" });
  }

  private privateChannels(): PrivateChannel<ChannelListener, unknown, unknown>[] {
    return [
      ...(this.orders === undefined ? [] : [this.orders]),
      ...(this.fills === undefined ? [] : [this.fills]),
    ] as PrivateChannel<ChannelListener, unknown, unknown>[];
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.entry?.disconnected("the feed was closed");
    this.entry = undefined;
    this.clearTimers();
    const socket = this.socket;
    this.socket = undefined;
    this.open = false;
    if (socket !== undefined) closeQuietly(socket);
    for (const listener of this.allListeners()) listener.onStatus?.({ state: "closed" });
    this.books.clear();
    this.trades.clear();
    this.orders = undefined;
    this.fills = undefined;
    this.login = undefined;
  }

  // ── ChannelHost: what the channels use ──

  send(request: KeeperFeedRequestJson | KeeperFeedOrderRequestJson): void {
    if (!this.open || this.socket === undefined) return; // sent again on (re)connect
    if (request.op === "challenge") this.challengeAsked = true;
    try {
      this.socket.send(JSON.stringify(request));
    } catch {
      // The socket is closing: its close event schedules the reconnect that resends this.
    }
  }

  synced(): void {
    this.attempt = 0;
  }

  /**
   * Runs a consumer callback. What it throws does not break the feed (the other listeners and the
   * book go on): it is rethrown outside the feed, as an uncaught error of the consumer's own.
   */
  call(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  // ── Channels ──

  /** The channel of `marketId` in `channels`, created (and subscribed, when connected) if new. */
  private channelOf<C extends SequencedChannel<ChannelListener, unknown, unknown>>(
    channels: Map<bigint, C>,
    marketId: bigint,
    create: () => C,
  ): C {
    let channel = channels.get(marketId);
    if (channel === undefined) {
      channel = create();
      channels.set(marketId, channel);
      this.sendAll(channel.subscribeRequests());
    }
    return channel;
  }

  /** Removes `listener`; the channel is unsubscribed when it was the last. */
  private leave<L extends ChannelListener>(
    channels: Map<bigint, SequencedChannel<L, unknown, unknown>>,
    marketId: bigint,
    listener: L,
  ): void {
    const channel = channels.get(marketId);
    if (channel === undefined || !channel.listeners.delete(listener)) return;
    listener.onStatus?.({ state: "closed" });
    if (channel.listeners.size > 0) return;
    channels.delete(marketId);
    this.sendAll(channel.unsubscribeRequests());
  }

  private channels(): SequencedChannel<ChannelListener, unknown, unknown>[] {
    return [...this.books.values(), ...this.trades.values(), ...this.privateChannels()];
  }

  private sendAll(requests: readonly KeeperFeedRequestJson[]): void {
    for (const request of requests) this.send(request);
  }

  // ── The connection ──

  private assertOpenForBusiness(): void {
    if (this.closed) {
      throw new KeeperRequestError("This feed is closed: create another one", { code: "KEEPER_INVALID_ARGUMENT" });
    }
  }

  private ensureConnected(listener: ChannelListener): void {
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
    this.connectTimer = this.clock.setTimeout(() => {
      this.connectTimer = undefined;
      if (this.socket !== socket || this.open) return;
      this.drop(socket, `not open after ${this.connectTimeoutMs} ms`);
    }, this.connectTimeoutMs);
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.clock.clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
      this.open = true;
      this.heard();
      this.armHeartbeat(this.heartbeat?.intervalMs);
      this.loginState = "none";
      const privates = new Set<SequencedChannel<ChannelListener, unknown, unknown>>(this.privateChannels());
      for (const channel of this.channels()) {
        channel.reset();
        if (!privates.has(channel)) this.sendAll(channel.subscribeRequests());
      }
      if (privates.size > 0) this.askLogin();
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      this.heard();
      this.receive(event.data);
    };
    socket.onerror = () => {
      // The close event that follows says what happened; nothing to do here.
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.open = false;
      this.scheduleReconnect(event.code, event.reason);
    };
  }

  /** Gives up on `socket` (dead, or never opened) and reconnects. */
  private drop(socket: SocketLike, reason: string): void {
    this.socket = undefined;
    this.open = false;
    closeQuietly(socket, true);
    this.scheduleReconnect(undefined, reason);
  }

  private scheduleReconnect(code: number | undefined, reason: string | undefined): void {
    this.clearTimers();
    if (this.closed) return;
    for (const channel of this.channels()) channel.reset();
    this.loggedInAs = undefined;
    this.entry?.disconnected(reason ?? `closed with ${code}`);
    const delayMs = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    for (const listener of this.allListeners()) {
      listener.onStatus?.({ state: "disconnected", attempt: this.attempt, delayMs, code, reason });
    }
    this.reconnectTimer = this.clock.setTimeout(() => this.connect(), delayMs);
  }

  private clearTimers(): void {
    for (const timer of [this.reconnectTimer, this.connectTimer, this.heartbeatTimer, this.challengeTimer]) {
      if (timer !== undefined) this.clock.clearTimeout(timer);
    }
    this.reconnectTimer = this.connectTimer = this.heartbeatTimer = this.challengeTimer = undefined;
    this.challengeAsked = false;
    this.loginState = "none";
  }

  // ── The heartbeat ──

  /** A message arrived: the connection is alive. (No timer is touched per message.) */
  private heard(): void {
    this.lastHeardAt = this.clock.now();
    this.probeSentAt = undefined;
  }

  private armHeartbeat(ms: number | undefined): void {
    if (ms === undefined) return;
    this.heartbeatTimer = this.clock.setTimeout(() => this.checkHeartbeat(), ms);
  }

  private checkHeartbeat(): void {
    this.heartbeatTimer = undefined;
    const socket = this.socket;
    if (this.heartbeat === undefined || socket === undefined || !this.open) return;
    const { intervalMs, timeoutMs } = this.heartbeat;
    const now = this.clock.now();
    if (this.probeSentAt !== undefined) {
      // Nothing since the probe (a message would have cleared it).
      const waited = now - this.probeSentAt;
      if (waited >= timeoutMs) return this.drop(socket, `no message from the keeper for ${now - this.lastHeardAt} ms`);
      return this.armHeartbeat(timeoutMs - waited);
    }
    const silentMs = now - this.lastHeardAt;
    if (silentMs < intervalMs) return this.armHeartbeat(intervalMs - silentMs);
    this.probeSentAt = now;
    this.send(PROBE);
    this.armHeartbeat(timeoutMs);
  }

  // ── Messages ──

  private receive(data: unknown): void {
    let message: Reader<KeeperFeedMessageJson>;
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

  private dispatch(message: Reader<KeeperFeedMessageJson>): void {
    const type = message.string("type");
    if (type === "error") {
      const error = message.as<Extract<KeeperFeedMessageJson, { type: "error" }>>();
      const code = error.string("code");
      const refusal = new KeeperApiError(error.optionalString("message") ?? `The feed refused: ${code}`, {
        code,
        status: undefined,
      });
      const privateListeners = this.privateChannels().flatMap((channel) => [...channel.listeners]);
      if (code === "RATE_LIMITED" && this.challengeAsked) return this.askChallengeLater();
      if (code === "BAD_LOGIN") this.loginState = "none";
      this.report(code === "BAD_LOGIN" || code === "NOT_LOGGED_IN" ? privateListeners : this.allListeners(), refusal);
      if (this.parameters.onError !== undefined) this.parameters.onError(refusal);
      return;
    }
    if (type === "challenge") {
      this.challengeAsked = false;
      this.challengeAttempt = 0;
      return this.signLogin(message.as<Extract<KeeperFeedMessageJson, { type: "challenge" }>>().hex("challenge"));
    }
    if (type === "login") {
      this.loginState = "in";
      this.loggedInAs = message.as<Extract<KeeperFeedMessageJson, { type: "login" }>>().string("account").toLowerCase();
      for (const channel of this.privateChannels()) this.sendAll(channel.subscribeRequests());
      return this.entry?.loggedIn();
    }
    if (type === "result") {
      const result = message.as<Extract<KeeperFeedMessageJson, { type: "result" }>>();
      const retryAfterSeconds = result.has("retryAfterSeconds") ? result.number("retryAfterSeconds") : undefined;
      return this.entry?.receive({
        id: result.string("id"),
        status: result.number("status"),
        body: result.raw("body"),
        retryAfterSeconds,
      });
    }
    if (type === "subscribed" || type === "unsubscribed") return;
    const channelMessage = message.as<Extract<KeeperFeedMessageJson, { seq: number }>>();
    const channel = channelMessage.string("channel");
    if (channel === "orders") return this.orders?.receive(channelMessage);
    if (channel === "fills") return this.fills?.receive(channelMessage);
    const channels = channel === "book" ? this.books : channel === "trades" ? this.trades : undefined;
    const marketId = channels === undefined ? undefined : channelMessage.as<{ marketId: string }>().bigint("marketId");
    if (marketId !== undefined) channels!.get(marketId)?.receive(channelMessage); // none: unsubscribed meanwhile
  }

  /**
   * The keeper refused the challenge for its per-address login budget: ask again after a delay that
   * doubles (0.5 s, 1 s, … up to the reconnect's maximum), on the same connection.
   */
  private askChallengeLater(): void {
    this.challengeAsked = false;
    const delayMs = Math.min(this.maxDelayMs, 500 * 2 ** Math.min(this.challengeAttempt, 30));
    this.challengeAttempt += 1;
    const socket = this.socket;
    this.challengeTimer = this.clock.setTimeout(() => {
      this.challengeTimer = undefined;
      if (this.socket === socket && this.privateChannels().length > 0) this.send({ op: "challenge" });
    }, delayMs);
  }

  private signLogin(challenge: `0x${string}`): void {
    const login = this.login;
    const socket = this.socket;
    if (login === undefined || this.parameters.domain === undefined) return;
    const domain = this.parameters.domain;
    void (async () => {
      try {
        const signature = await signKeeperMessage({
          signer: login.parameters.signer,
          domain,
          primaryType: "FeedLogin",
          message: { account: login.account, challenge },
          account: login.parameters.signingAccount,
        });
        if (this.socket !== socket || this.login !== login) return; // reconnected meanwhile: a new challenge follows
        this.send({ op: "login", account: login.account, signature });
      } catch (error) {
        this.loginState = "none";
        this.report(
          this.privateChannels().flatMap((channel) => [...channel.listeners]),
          asCrossbookError(error),
        );
      }
    })();
  }

  private allListeners(): ChannelListener[] {
    return this.channels().flatMap((channel) => [...channel.listeners]);
  }

  private report(listeners: Iterable<ChannelListener>, error: CrossbookError): void {
    for (const listener of new Set(listeners)) listener.onError?.(error);
  }
}

/** Closes `socket` without hearing from it again; `dead`: without a closing handshake where `ws` allows. */
function closeQuietly(socket: SocketLike, dead = false): void {
  socket.onopen = socket.onmessage = socket.onclose = null;
  socket.onerror = () => {};
  try {
    if (dead && typeof socket.terminate === "function") socket.terminate();
    else socket.close(1000, "closed by the client");
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
