/**
 * The WebSocket market-data feed (keeper/API.md, "WebSocket feed"): per-market book snapshots and
 * deltas, per-market trades, and each logged-in account's own order updates and fills (./fills.ts).
 *
 * What it promises:
 * - Sequence numbers count every message of a channel from 1 since start, whether anyone listens
 *   or not: a book delta is numbered and sent in the same synchronous call as the engine's `book`
 *   event, and a snapshot is read from the engine's book in one synchronous step with the number
 *   of the last delta it includes. So snapshot + every later delta = the book, exactly.
 * - Memory per client is bounded: a connection whose unsent data passes `slowConsumerBytes` is
 *   closed with 4008 and forgotten at once (its socket is destroyed if the close does not finish).
 * - Only what is committed is published: the engine emits its events after each commit, and the
 *   book snapshots come from the book as published (`PublishedBook`), not from the engine's own
 *   book, which moves at matching; the other snapshots read the store's committed state.
 * - A client's bad message gets an `error` message; the connection stays open. Subscriptions, the
 *   client's message rate, connections per client address and logins per address are capped.
 */
import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import type { OrderBook } from "../book";
import type { Address, Hex } from "viem";
import type { Engine, OrderUpdate, TradeUpdate, BookUpdate } from "../engine";
import { silentLogger, type Logger } from "../log";
import type { Store } from "../store";
import type { Metrics } from "../metrics";
import type { ExchangeDomainParameters, KeeperErrorCode, ReadClient } from "@crossbook/sdk";
import type { KeeperBookJson, KeeperFeedMessageJson, KeeperTradeJson } from "@crossbook/sdk/keeper-wire";
import { FillStream, fillsKey } from "./fills";
import { PublishedBook } from "./levels";
import { clientKey, RateLimiter } from "./rateLimit";
import type { FeedOrderHandler } from "./feedOrders";
import { feedMessage, feedOrderEnvelope, issuesOf, type FeedMessage } from "./schemas";
import type { Sessions } from "./sessions";
import { vouchedFeedMessage, type TrustSigner } from "./gatewayChannel";
import { verifyKeeperMessage } from "./signatures";
import { levelChangeJson, levelJson, orderStatusJson, orderUpdateJson, storedTrade, tradeJson } from "./wire";

export interface FeedLimits {
  /** Unsent bytes after which a connection is closed with 4008. */
  readonly slowConsumerBytes: number;
  /** How often the server pings; a client that has not answered the previous ping is dropped. */
  readonly pingIntervalMs: number;
  readonly maxSubscriptions: number;
  /** Messages a client may send per second (burst: the same number). */
  readonly messagesPerSecond: number;
  readonly maxClients: number;
  /** Connections from one client address (an IPv6 client: its /64). */
  readonly maxClientsPerIp: number;
  /** Login challenges (feed and HTTP sessions) per second from one client address (burst: the same). */
  readonly perIpLoginsPerSecond: number;
  readonly challengeTtlMs: number;
  /** How long a closing connection may take before its socket is destroyed. */
  readonly closeGraceMs: number;
  /** Trades in a trades snapshot. */
  readonly tradesSnapshot: number;
  /**
   * The shortest time between two writes to a connection's socket: messages published sooner wait
   * for the next write, in one (`cork`). 0: every synchronous run's messages leave at its end. A
   * keeper's setting `api.feedFlushGapMs` (default 5).
   */
  readonly flushGapMs: number;
}

export const DEFAULT_FEED_LIMITS: FeedLimits = {
  slowConsumerBytes: 4 * 1024 * 1024,
  pingIntervalMs: 15_000,
  maxSubscriptions: 64,
  messagesPerSecond: 100,
  maxClients: 10_000,
  maxClientsPerIp: 100,
  perIpLoginsPerSecond: 5,
  challengeTtlMs: 60_000,
  closeGraceMs: 10_000,
  tradesSnapshot: 100,
  flushGapMs: 5,
};

export const SLOW_CONSUMER_CLOSE = 4008;

/** Open orders in the orders channel's snapshot: the newest this many (the engine's cap per account is 1,000 by default). */
const ORDERS_SNAPSHOT = 1000;

export interface FeedOptions {
  readonly engine: Engine;
  readonly store: Store;
  readonly domain: ExchangeDomainParameters;
  readonly client: ReadClient;
  readonly limits?: Partial<FeedLimits>;
  readonly log?: Logger;
  readonly metrics?: Metrics;
  readonly clock?: () => number;
  /** Where a `login` with a session token is checked. */
  readonly sessions: Sessions;
  /** The per-address login budget, shared with the HTTP sessions. */
  readonly logins: RateLimiter;
  /** Order entry after login (`./feedOrders`): absent, order-entry messages are refused as unknown. */
  readonly orders?: FeedOrderHandler;
}

interface Client {
  readonly id: number;
  readonly ws: WebSocket;
  readonly ip: string;
  /** The client's address as its budgets key it (`clientKey`). */
  readonly key: string;
  readonly subscriptions: Set<string>;
  /**
   * Its orders channel, subscribed and waiting for its snapshot (`subscribeOrders`): the number of
   * the latest subscription; the channel's messages are not sent to it until the snapshot is.
   */
  ordersSnapshotDue?: number;
  account?: Address;
  challenge?: { value: Hex; expires: number };
  alive: boolean;
  /** A gateway's relayed connection: believes the signers it adds to order entry. */
  readonly trustSigner?: TrustSigner;
  tokens: number;
  tokensAt: number;
  closed: boolean;
}

/** The feed's error codes: in the SDK's list of keeper codes, as the compiler checks. */
type FeedErrorCode = Extract<
  | "BAD_JSON"
  | "BAD_REQUEST"
  | "MARKET_NOT_SERVED"
  | "NOT_LOGGED_IN"
  | "BAD_LOGIN"
  | "RATE_LIMITED"
  | "CHAIN_UNAVAILABLE",
  KeeperErrorCode
>;

/** The close code of a connection refused for too many clients, in all or from its address ("try again later"). */
export const TRY_AGAIN_LATER = 1013;

export class Feed {
  private readonly engine: Engine;
  private readonly store: Store;
  private readonly domain: ExchangeDomainParameters;
  private readonly chain: ReadClient;
  private readonly limits: FeedLimits;
  private readonly log: Logger;
  private readonly metrics?: Metrics;
  private readonly clock: () => number;
  private readonly clients = new Set<Client>();
  private readonly perIp = new Map<string, number>();
  private readonly published = new Map<bigint, PublishedBook>();
  private readonly sessions: Sessions;
  private readonly logins: RateLimiter;
  private readonly orders?: FeedOrderHandler;
  private closing = false;
  /** Channel key (`book:1`, `trades:1`, `orders:0x…`) → its subscribers. */
  private readonly channels = new Map<string, Set<Client>>();
  private readonly seqs = new Map<string, number>();
  /** Each market channel's last snapshot, with the number of the channel's message it follows (`snapshotText`). */
  private readonly snapshots = new Map<string, { seq: number; text: string }>();
  /**
   * Each market's latest trades as its channel has told them (`RecentTrades`): its snapshot is made
   * from them, not read from the store. A market has one from its first trades snapshot on.
   */
  private readonly recentTrades = new Map<bigint, RecentTrades>();
  private readonly pinger: NodeJS.Timeout;
  private nextId = 1;
  /** Orders snapshots asked for so far (each one's number: `Client.ordersSnapshotDue`). */
  private ordersSnapshots = 0;
  /** Clients whose socket is corked until the next write (`cork`). */
  private readonly corked = new Map<Client, Duplex>();
  /** When the publications were last written (`uncorkAll`), by `clock`. */
  private uncorkedAt = -Infinity;
  /** The next write, when it waits for `flushGapMs` to pass. */
  private uncorkTimer: NodeJS.Timeout | undefined;
  /** Whether the publications' next write is scheduled (`uncorkAll`). */
  private writeDue = false;
  /** Clients answered in this run: written at its end (`uncorkReplied`). */
  private readonly replied = new Set<Client>();
  private readonly onBook = (u: BookUpdate) => this.publishBook(u);
  private readonly onTrade = (t: TradeUpdate) => this.publishTrade(t);
  private readonly onOrder = (u: OrderUpdate) => this.publishOrder(u);
  /** The private fills channel; its `page` serves `GET /v1/accounts/{address}/fills`. */
  readonly fills: FillStream<Client>;

  constructor(options: FeedOptions) {
    this.engine = options.engine;
    this.store = options.store;
    this.domain = options.domain;
    this.chain = options.client;
    this.limits = { ...DEFAULT_FEED_LIMITS, ...options.limits };
    this.log = options.log ?? silentLogger;
    this.metrics = options.metrics;
    this.clock = options.clock ?? Date.now;
    this.sessions = options.sessions;
    this.logins = options.logins;
    this.orders = options.orders;
    // At construction nothing is uncommitted (the engine was just opened from the store).
    for (const marketId of this.engine.markets) {
      this.published.set(marketId, new PublishedBook((this.engine.book(marketId) as OrderBook).depth()));
    }
    this.engine.on("book", this.onBook);
    this.engine.on("trade", this.onTrade);
    this.engine.on("order", this.onOrder);
    this.fills = new FillStream<Client>({
      engine: this.engine,
      store: this.store,
      chain: this.chain,
      exchange: this.domain.verifyingContract,
      clock: this.clock,
      host: {
        subscribers: (key) => this.channels.get(key),
        subscribe: (c, key) => this.subscribe(c, key),
        nextSeq: (key) => this.nextSeq(key),
        seq: (key) => this.seqs.get(key) ?? 0,
        send: (c, text) => this.publish(c, text),
        sendJson: (c, message) => this.sendJson(c, message),
        unavailable: (c, message) => this.error(c, "CHAIN_UNAVAILABLE", message),
      },
    });
    this.pinger = setInterval(() => this.pingAll(), this.limits.pingIntervalMs);
    this.pinger.unref();
  }

  /** Open connections. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** The number of the book channel's last message in `marketId` (0 before the first). */
  bookSeq(marketId: bigint): number {
    return this.seqs.get(`book:${marketId}`) ?? 0;
  }

  /** The book as published, as of `bookSeq` (synchronous: no delta can slip between the two). */
  bookSnapshot(marketId: bigint, depth = Infinity): KeeperBookJson | undefined {
    const book = this.published.get(marketId);
    if (book === undefined) return undefined;
    const d = book.depth(depth);
    return {
      marketId: marketId.toString(),
      seq: this.bookSeq(marketId),
      bids: d.bids.map(levelJson),
      asks: d.asks.map(levelJson),
    };
  }

  /**
   * Takes a new WebSocket connection. `trustSigner`: the connection is one a gateway relays (cluster
   * secret checked), whose order entry carries the signers the gateway recovered (./gatewayChannel).
   */
  attach(ws: WebSocket, ip: string, trustSigner?: TrustSigner): void {
    if (this.clients.size >= this.limits.maxClients) {
      ws.close(TRY_AGAIN_LATER, "too many feed clients; try again later");
      return;
    }
    const key = clientKey(ip);
    const fromThere = this.perIp.get(key) ?? 0;
    if (fromThere >= this.limits.maxClientsPerIp) {
      ws.close(TRY_AGAIN_LATER, "too many feed connections from this address; try again later");
      return;
    }
    this.perIp.set(key, fromThere + 1);
    const now = this.clock();
    const client: Client = {
      id: this.nextId++,
      ws,
      ip,
      key,
      subscriptions: new Set(),
      alive: true,
      trustSigner,
      tokens: this.limits.messagesPerSecond,
      tokensAt: now,
      closed: false,
    };
    this.clients.add(client);
    this.metrics?.setFeedClients(this.clients.size);
    ws.on("message", (data, isBinary) => this.receive(client, data, isBinary));
    ws.on("pong", () => {
      client.alive = true;
    });
    ws.on("close", () => this.forget(client));
    ws.on("error", (error) => {
      this.log.debug({ client: client.id, ip, err: error.message }, "feed connection error");
      this.forget(client);
    });
    this.log.debug({ client: client.id, ip }, "feed client connected");
  }

  /** Stops listening to the engine and closes every connection (1001, going away). */
  close(): void {
    this.closing = true;
    clearInterval(this.pinger);
    this.uncorkAll(); // what was published leaves before the closing frames
    this.engine.off("book", this.onBook);
    this.engine.off("trade", this.onTrade);
    this.engine.off("order", this.onOrder);
    this.fills.close();
    for (const c of [...this.clients]) {
      c.ws.close(1001, "keeper shutting down");
      this.forget(c);
    }
  }

  // ------------------------------------------------------------------ publishing

  private nextSeq(channel: string): number {
    const seq = (this.seqs.get(channel) ?? 0) + 1;
    this.seqs.set(channel, seq);
    return seq;
  }

  private publishBook(u: BookUpdate): void {
    const published = this.published.get(u.marketId);
    for (const change of u.levels) published?.apply(change);
    const channel = `book:${u.marketId}`;
    const seq = this.nextSeq(channel);
    const subscribers = this.channels.get(channel);
    if (subscribers === undefined || subscribers.size === 0) return;
    const text = JSON.stringify({
      type: "delta",
      channel: "book",
      marketId: u.marketId.toString(),
      seq,
      levels: u.levels.map(levelChangeJson),
    } satisfies KeeperFeedMessageJson);
    for (const c of subscribers) this.publish(c, text);
  }

  private publishTrade(t: TradeUpdate): void {
    const channel = `trades:${t.marketId}`;
    const seq = this.nextSeq(channel);
    const recent = this.recentTrades.get(t.marketId);
    const subscribers = this.channels.get(channel);
    if (recent === undefined && (subscribers === undefined || subscribers.size === 0)) return;
    const trade = tradeJson(t);
    recent?.told(trade);
    if (subscribers === undefined || subscribers.size === 0) return;
    const text = JSON.stringify({
      type: "trade",
      channel: "trades",
      marketId: t.marketId.toString(),
      seq,
      trade,
    } satisfies KeeperFeedMessageJson);
    for (const c of subscribers) this.publish(c, text);
  }

  private publishOrder(u: OrderUpdate): void {
    const channel = `orders:${u.account.toLowerCase()}`;
    // Counted only while someone listens: one entry per account ever seen would grow without bound
    // (a new subscriber starts from a snapshot carrying the count as it stands).
    const subscribers = this.channels.get(channel);
    if (subscribers === undefined || subscribers.size === 0) return;
    const seq = this.nextSeq(channel);
    const text = JSON.stringify({
      type: "order",
      channel: "orders",
      account: u.account,
      seq,
      update: orderUpdateJson(u),
    } satisfies KeeperFeedMessageJson);
    // A subscriber waiting for its snapshot gets this message in it (it was read after the commit).
    for (const c of subscribers) if (c.ordersSnapshotDue === undefined) this.publish(c, text);
  }

  /** A channel's message to a subscriber: it leaves with the connection's next write (`cork`). */
  private publish(c: Client, text: string): void {
    this.send(c, text, false);
  }

  /**
   * Sends, unless the client has fallen too far behind: then it is closed with 4008. `reply`: an
   * answer to the client's own message within its budget, written at the end of this run with
   * whatever the connection holds (at most a write per message the budget lets in); else a
   * publication or an error, which waits for the next write (`cork`).
   */
  private send(c: Client, text: string, reply = true): void {
    if (c.closed || c.ws.readyState !== c.ws.OPEN) return;
    this.cork(c, reply);
    c.ws.send(text);
    if (c.ws.bufferedAmount > this.limits.slowConsumerBytes) {
      this.log.warn({ client: c.id, buffered: c.ws.bufferedAmount }, "slow feed consumer: closing");
      this.drop(c, SLOW_CONSUMER_CLOSE, "slow consumer");
    }
  }

  /**
   * Holds the client's messages in its socket (`cork`) until the next write, when they leave in
   * one: a burst published to many connections costs one system call per connection, not one per
   * message and connection. Publications are written at the end of this synchronous run (a
   * microtask: before any answer that the run's commit lets go) if the last such write was
   * `flushGapMs` ago or more, else once that much time has passed since it. A busy keeper commits a
   * group every fsync of its log (a few ms), and each group's hooks publish its trades and deltas:
   * without the gap each group cost every connection a write (`writev` was the keeper's largest
   * cost under attack; keeper/README.md, "Under attack", fourteenth pass). A reply (`reply`: a
   * snapshot, a login, an order entry's answer) is written at the end of this run, and what the
   * connection held goes with it. The frames, their order and the slow-consumer check (corked bytes
   * are buffered bytes) are unchanged.
   */
  private cork(c: Client, reply: boolean): void {
    if (!this.corked.has(c)) {
      const socket = (c.ws as unknown as { _socket?: Duplex })._socket;
      if (socket === undefined || socket.destroyed) return;
      socket.cork();
      this.corked.set(c, socket);
    }
    if (reply) {
      this.replied.add(c);
      if (this.replied.size === 1) queueMicrotask(this.uncorkReplied);
      return;
    }
    if (this.writeDue) return;
    this.writeDue = true;
    const wait = this.uncorkedAt + this.limits.flushGapMs - this.clock();
    if (wait <= 0) queueMicrotask(this.uncorkAll);
    else this.uncorkTimer = setTimeout(this.uncorkAll, wait);
  }

  /** Writes every held connection (the publications' write). */
  private readonly uncorkAll = (): void => {
    if (this.uncorkTimer !== undefined) clearTimeout(this.uncorkTimer);
    this.uncorkTimer = undefined;
    this.writeDue = false;
    this.uncorkedAt = this.clock();
    for (const socket of this.corked.values()) socket.uncork();
    this.corked.clear();
    this.replied.clear();
  };

  /** Writes the connections answered in this run (and what they held). */
  private readonly uncorkReplied = (): void => {
    for (const c of this.replied) {
      this.corked.get(c)?.uncork();
      this.corked.delete(c);
    }
    this.replied.clear();
  };

  private sendJson(c: Client, message: KeeperFeedMessageJson): void {
    this.send(c, JSON.stringify(message));
  }

  /**
   * An error waits for the next write, as a publication does: a client that floods the feed with
   * messages past its budget is told for each one, and must not get a write for each.
   */
  private error(c: Client, code: FeedErrorCode, message: string): void {
    this.send(c, JSON.stringify({ type: "error", code, message } satisfies KeeperFeedMessageJson), false);
  }

  // ------------------------------------------------------------------ client messages

  private receive(c: Client, data: unknown, isBinary: boolean): void {
    if (c.closed) return;
    if (!this.takeToken(c)) {
      this.error(c, "RATE_LIMITED", `at most ${this.limits.messagesPerSecond} messages a second`);
      return;
    }
    let json: unknown;
    try {
      const text = Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.concat(data as Buffer[]).toString("utf8");
      if (isBinary && Buffer.byteLength(text) === 0) throw new Error("empty");
      json = JSON.parse(text);
      if (c.trustSigner !== undefined) json = vouchedFeedMessage(json, c.trustSigner);
    } catch {
      this.error(c, "BAD_JSON", "a message must be one JSON object");
      return;
    }
    const entry = this.orders === undefined ? undefined : feedOrderEnvelope.safeParse(json);
    if (entry?.success === true) return this.orders?.receive(c, entry.data, (m) => this.sendJson(c, m));
    const parsed = feedMessage.safeParse(json);
    if (!parsed.success) {
      const first = issuesOf(parsed.error)[0];
      this.error(
        c,
        "BAD_REQUEST",
        `bad message: ${first ? `${first.path || "(root)"}: ${first.message}` : "bad input"}`,
      );
      return;
    }
    try {
      this.handle(c, parsed.data);
    } catch (error) {
      // A bug must not take the keeper down with it: the client is told, the bug is logged.
      this.log.error({ client: c.id, err: String(error) }, "feed message failed");
      this.error(c, "BAD_REQUEST", "the message could not be handled");
    }
  }

  private takeToken(c: Client): boolean {
    const now = this.clock();
    const rate = this.limits.messagesPerSecond;
    c.tokens = Math.min(rate, c.tokens + ((now - c.tokensAt) / 1000) * rate);
    c.tokensAt = now;
    if (c.tokens < 1) return false;
    c.tokens -= 1;
    return true;
  }

  private handle(c: Client, m: FeedMessage): void {
    switch (m.op) {
      case "challenge": {
        const wait = this.logins.take(c.key);
        if (wait > 0) {
          this.error(c, "RATE_LIMITED", `too many logins from this address; try again in ${wait} s`);
          return;
        }
        const value = `0x${randomBytes(32).toString("hex")}` as Hex;
        c.challenge = { value, expires: this.clock() + this.limits.challengeTtlMs };
        this.sendJson(c, { type: "challenge", challenge: value });
        return;
      }
      case "login":
        if ("token" in m) this.loginWithToken(c, m.token);
        else void this.login(c, m.account, m.signature);
        return;
      case "subscribe":
        if (m.channel === "orders") return this.subscribeOrders(c);
        if (m.channel === "fills") {
          if (this.loggedInFor(c)) void this.fills.subscribe(c, m.limit);
          return;
        }
        return this.subscribeMarket(c, m.channel, m.marketId);
      case "unsubscribe": {
        const key =
          m.channel === "orders"
            ? this.ordersKey(c)
            : m.channel === "fills"
              ? c.account && fillsKey(c.account)
              : `${m.channel}:${m.marketId}`;
        if (key !== undefined) this.unsubscribe(c, key);
        this.sendJson(
          c,
          m.channel === "orders" || m.channel === "fills"
            ? { type: "unsubscribed", channel: m.channel }
            : { type: "unsubscribed", channel: m.channel, marketId: m.marketId.toString() },
        );
        return;
      }
    }
  }

  private subscribeMarket(c: Client, channel: "book" | "trades", marketId: bigint): void {
    if (this.engine.book(marketId) === undefined) {
      this.error(c, "MARKET_NOT_SERVED", `market ${marketId} is not served by this keeper`);
      return;
    }
    const key = `${channel}:${marketId}`;
    if (!this.subscribe(c, key)) return;
    this.sendJson(c, { type: "subscribed", channel, marketId: marketId.toString() });
    this.send(
      c,
      this.snapshotText(key, (seq) => {
        if (channel === "book") return { type: "snapshot", channel: "book", ...this.bookSnapshot(marketId)! };
        return {
          type: "snapshot",
          channel: "trades",
          marketId: marketId.toString(),
          seq,
          trades: this.tradesOf(marketId),
        };
      }),
    );
  }

  /**
   * A market channel's snapshot as sent, made once per message of the channel: what the channel
   * shows changes only with a message (each numbered), so every subscriber between two messages
   * gets the same text — a hundred connections subscribing at once cost one read and one
   * serialisation, not a hundred (each trades snapshot reads two orders per trade).
   */
  private snapshotText(key: string, make: (seq: number) => KeeperFeedMessageJson): string {
    const seq = this.seqs.get(key) ?? 0;
    const cached = this.snapshots.get(key);
    if (cached !== undefined && cached.seq === seq) return cached.text;
    const text = JSON.stringify(make(seq));
    this.snapshots.set(key, { seq, text });
    return text;
  }

  /**
   * A market's latest trades, oldest first, as its channel has told them. The first time, they are
   * read from the store (published fills only, as the channel tells them); from then on each trade
   * message keeps them, so a snapshot reads nothing: under a wash trader's flow the channel moves
   * with every fill, and a hundred subscribers each read two orders per trade of the snapshot.
   */
  private tradesOf(marketId: bigint): KeeperTradeJson[] {
    let recent = this.recentTrades.get(marketId);
    if (recent === undefined) {
      const committed = this.store.committed;
      const fills = committed.recentFills(marketId, this.limits.tradesSnapshot, this.engine.publishedFillsBefore());
      recent = new RecentTrades(
        this.limits.tradesSnapshot,
        fills.reverse().map((f) => tradeJson(storedTrade(committed, f))),
      );
      this.recentTrades.set(marketId, recent);
    }
    return recent.list();
  }

  /** Whether the client is logged in; if not, it is told so. */
  private loggedInFor(c: Client): c is Client & { account: Address } {
    if (c.account !== undefined) return true;
    this.error(c, "NOT_LOGGED_IN", "log in first: challenge, then login with a signed FeedLogin");
    return false;
  }

  private subscribeOrders(c: Client): void {
    if (!this.loggedInFor(c)) return;
    const key = this.ordersKey(c) as string;
    if (!this.subscribe(c, key)) return;
    this.sendJson(c, { type: "subscribed", channel: "orders" });
    this.sendOrdersSnapshot(c, c.account, key);
  }

  /**
   * The orders channel's snapshot: the account's newest open orders (one indexed page: an account
   * has at most the keeper's cap of them), read now from the store's committed state — which may
   * hold commits not yet durable, whose messages are not yet out — and sent once the engine has
   * published every one of them (`Engine.afterPublished`), numbered with the channel's `seq` then.
   * Until it goes, the channel's messages are held back from this client (the snapshot has them).
   */
  private sendOrdersSnapshot(c: Client & { account: Address }, account: Address, key: string): void {
    const orders = this.store.committed
      .accountOrders(account, { status: "open", limit: ORDERS_SNAPSHOT })
      .orders.map((o) => orderStatusJson(o));
    const due = (c.ordersSnapshotDue = ++this.ordersSnapshots);
    this.engine.afterPublished((undone) => {
      if (c.ordersSnapshotDue !== due || c.closed || !c.subscriptions.has(key)) return;
      // A step-down undid commits the read may hold: read again, from the shared database's state.
      if (undone) return this.sendOrdersSnapshot(c, account, key);
      c.ordersSnapshotDue = undefined;
      this.sendJson(c, { type: "snapshot", channel: "orders", account, seq: this.seqs.get(key) ?? 0, orders });
    });
  }

  private async login(c: Client, account: Address, signature: Hex): Promise<void> {
    const challenge = c.challenge;
    c.challenge = undefined; // one login per challenge, good or bad
    if (challenge === undefined || challenge.expires < this.clock()) {
      this.error(c, "BAD_LOGIN", "ask for a challenge first (it is good for one login within 60 s)");
      return;
    }
    let ok: boolean;
    try {
      ok = await verifyKeeperMessage(
        this.chain,
        this.domain,
        account,
        { primaryType: "FeedLogin", message: { account, challenge: challenge.value } },
        signature,
      );
    } catch (error) {
      this.log.warn({ client: c.id, err: String(error) }, "feed login: the chain could not be read");
      ok = false;
    }
    if (c.closed) return;
    if (!ok) {
      this.error(c, "BAD_LOGIN", "the signature is not the account's FeedLogin over the challenge");
      return;
    }
    this.loggedIn(c, account);
  }

  /** A login with a session token (`POST /v1/sessions`): no signature to check again. */
  private loginWithToken(c: Client, token: string): void {
    const account = this.sessions.verify(token);
    if (account === undefined) {
      this.error(c, "BAD_LOGIN", "the session token is not valid (or has expired): log in again");
      return;
    }
    this.loggedIn(c, account);
  }

  private loggedIn(c: Client, account: Address): void {
    const previous = this.ordersKey(c);
    if (previous !== undefined && previous !== `orders:${account.toLowerCase()}`) {
      this.unsubscribe(c, previous);
      this.unsubscribe(c, fillsKey(c.account as Address));
    }
    c.account = account;
    this.sendJson(c, { type: "login", account });
  }

  private ordersKey(c: Client): string | undefined {
    return c.account === undefined ? undefined : `orders:${c.account.toLowerCase()}`;
  }

  /** Adds a subscription (idempotent); false, with an error sent, past the cap. */
  private subscribe(c: Client, key: string): boolean {
    if (!c.subscriptions.has(key) && c.subscriptions.size >= this.limits.maxSubscriptions) {
      this.error(c, "BAD_REQUEST", `at most ${this.limits.maxSubscriptions} subscriptions per connection`);
      return false;
    }
    c.subscriptions.add(key);
    let set = this.channels.get(key);
    if (set === undefined) this.channels.set(key, (set = new Set()));
    set.add(c);
    return true;
  }

  private unsubscribe(c: Client, key: string): void {
    c.subscriptions.delete(key);
    if (key.startsWith("orders:")) c.ordersSnapshotDue = undefined;
    const set = this.channels.get(key);
    set?.delete(c);
    if (set?.size === 0) {
      this.channels.delete(key);
      if (key.startsWith("orders:") || key.startsWith("fills:")) this.seqs.delete(key);
    }
  }

  // ------------------------------------------------------------------ connection life

  private pingAll(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        this.log.debug({ client: c.id }, "feed client did not answer a ping: dropped");
        c.ws.terminate();
        this.forget(c);
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        this.forget(c);
      }
    }
  }

  /** Closes with `code` and forgets the client now; destroys the socket if closing takes too long. */
  private drop(c: Client, code: number, reason: string): void {
    this.forget(c);
    c.ws.close(code, reason);
    setTimeout(() => c.ws.terminate(), this.limits.closeGraceMs).unref();
  }

  private forget(c: Client): void {
    if (c.closed) return;
    c.closed = true;
    const fromThere = (this.perIp.get(c.key) ?? 1) - 1;
    if (fromThere <= 0) this.perIp.delete(c.key);
    else this.perIp.set(c.key, fromThere);
    for (const key of [...c.subscriptions]) this.unsubscribe(c, key);
    this.clients.delete(c);
    this.metrics?.setFeedClients(this.clients.size);
    this.orders?.closed(c, this.closing);
  }
}

/**
 * A market's latest trades, at most `size`, oldest first (by fill id), kept as the trades channel
 * tells them: a new fill goes in its place (the oldest leaves), a later message about a fill kept
 * (its settlement, its skip) replaces it where it stands, and one about a fill older than every fill
 * kept, when `size` are kept, changes nothing.
 */
export class RecentTrades {
  private readonly byFill = new Map<number, KeeperTradeJson>();
  private newest = 0;

  constructor(
    private readonly size: number,
    oldestFirst: readonly KeeperTradeJson[],
  ) {
    for (const trade of oldestFirst) this.told(trade);
  }

  told(trade: KeeperTradeJson): void {
    if (this.byFill.has(trade.fillId)) {
      this.byFill.set(trade.fillId, trade); // in place: a Map keeps a key's first position
      return;
    }
    if (trade.fillId > this.newest) {
      this.newest = trade.fillId; // the usual case: fills are told in the order of their ids
      this.byFill.set(trade.fillId, trade);
    } else {
      const oldest = this.byFill.keys().next().value;
      if (this.byFill.size >= this.size && oldest !== undefined && trade.fillId < oldest) return;
      // Told out of order: put it in its place.
      const sorted = [...this.byFill.values(), trade].sort((a, b) => a.fillId - b.fillId);
      this.byFill.clear();
      for (const t of sorted) this.byFill.set(t.fillId, t);
    }
    if (this.byFill.size > this.size) this.byFill.delete(this.byFill.keys().next().value as number);
  }

  /** Oldest first. */
  list(): KeeperTradeJson[] {
    return [...this.byFill.values()];
  }
}
