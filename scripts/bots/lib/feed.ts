/**
 * What a bot follows on the keeper's WebSocket feed (the SDK's `createKeeperFeed`) instead of
 * polling the HTTP API: its market's best bid and ask, from the book channel, and its own orders'
 * fills and ends, from the private orders channel. The SDK keeps both in sync across gaps and
 * reconnects (and drops a dead connection with its heartbeat); after every (re)subscription the
 * orders channel's snapshot tells which orders are still open, and only then does a bot ask the
 * HTTP API about an order (one whose end it may have missed while disconnected).
 */
import WebSocket from "ws";
import type { Hex } from "viem";
import {
  createKeeperFeed,
  type KeeperBook,
  type KeeperClient,
  type KeeperFeed,
  type KeeperOrderStatus,
  type KeeperOrderUpdate,
} from "@crossbook/sdk";
import { bestOf, classifyError, type BotConnection } from "./context";
import type { BestPrices, Side } from "./quoting";

/** What a bot knows of one of its orders. */
export interface OwnOrder {
  side: Side;
  priceTicks: bigint;
  /** Cumulative, as the keeper last reported it. */
  filledLots: bigint;
  /** 0 once the order is no longer open (filled, cancelled, expired, rejected). */
  remainingLots: bigint;
}

/** How many orders that are done `OwnOrders` keeps (for late fill reports) before forgetting the oldest. */
const KEEP_DONE = 2_000;
/** How many reports of orders not yet tracked it keeps (a report can beat the HTTP answer that names the order). */
const KEEP_EARLY = 1_000;

/**
 * A bot's orders, kept from the private channel's reports: each report carries the order's
 * cumulative fill, so a fill is counted once, whatever arrives twice or late.
 */
export class OwnOrders<T extends OwnOrder> {
  private readonly orders = new Map<Hex, T>();
  private readonly early = new Map<Hex, KeeperOrderUpdate>();
  /** Orders held for open that a (re)subscription's snapshot no longer lists: their end is to be read. */
  private readonly unaccounted = new Set<Hex>();

  /** `onFill` is called with each new fill of a tracked order (lots since the last report). */
  constructor(private readonly onFill: (hash: Hex, order: T, lots: bigint) => void) {}

  /** Starts following an order (its `filledLots` so far are not news); applies a report that came first. */
  track(hash: Hex, order: T): void {
    this.orders.set(hash, order);
    const early = this.early.get(hash);
    if (early === undefined) return;
    this.early.delete(hash);
    this.update(early);
  }

  get(hash: Hex): T | undefined {
    return this.orders.get(hash);
  }

  /** The open ones. */
  open(): [Hex, T][] {
    return [...this.orders].filter(([, o]) => o.remainingLots > 0n);
  }

  /** A report of the orders channel. */
  update(update: KeeperOrderUpdate): void {
    if (!this.orders.has(update.hash)) {
      this.early.set(update.hash, update);
      if (this.early.size > KEEP_EARLY) this.early.delete(this.early.keys().next().value as Hex);
      return;
    }
    const open = update.status === "open" || update.status === "partially-filled";
    this.observe(update.hash, update.filledLots, open ? update.remainingLots : 0n);
  }

  /** Records an order's cumulative fill and what remains; counts what is new. */
  observe(hash: Hex, filledLots: bigint, remainingLots: bigint): void {
    const order = this.orders.get(hash);
    if (order === undefined) return;
    order.remainingLots = remainingLots;
    if (filledLots > order.filledLots) {
      const lots = filledLots - order.filledLots;
      order.filledLots = filledLots;
      this.onFill(hash, order, lots);
    }
    if (remainingLots === 0n) this.forgetOldDone();
  }

  /**
   * The orders channel's snapshot (the account's open orders, after every (re)subscription): updates
   * the open ones, and notes those held for open that are not (they ended while the feed was away).
   */
  snapshot(open: readonly KeeperOrderStatus[], marketId: bigint): void {
    const openNow = new Set<Hex>();
    for (const o of open) {
      if (o.order.marketId !== marketId) continue;
      openNow.add(o.hash);
      this.observe(o.hash, o.filledLots, o.remainingLots);
    }
    for (const [hash] of this.open()) if (!openNow.has(hash)) this.unaccounted.add(hash);
  }

  /**
   * Reads, once, over HTTP, the end of `hashes` — by default of the orders the feed lost track of —
   * and counts any fill the feed did not report.
   */
  async readEnds(keeper: KeeperClient, hashes: readonly Hex[] = [...this.unaccounted]): Promise<void> {
    for (const hash of hashes) {
      try {
        const final = await keeper.getOrder(hash);
        const open = final.status === "open" || final.status === "partially-filled";
        this.observe(hash, final.filledLots, open ? final.remainingLots : 0n);
      } catch (error) {
        if (classifyError(error).code !== "ORDER_NOT_FOUND") throw error;
        this.observe(hash, 0n, 0n);
      }
      this.unaccounted.delete(hash);
    }
  }

  private forgetOldDone(): void {
    if (this.orders.size <= KEEP_DONE * 2) return;
    for (const [hash, order] of this.orders) {
      if (this.orders.size <= KEEP_DONE) break;
      if (order.remainingLots === 0n) this.orders.delete(hash);
    }
  }
}

/** A bot's subscriptions on the keeper's feed: its market's book and its own orders. */
export class BotFeed {
  private readonly feed: KeeperFeed;
  private book: KeeperBook | undefined;
  private bookLive = false;
  private ordersLive = false;
  private waiters: (() => void)[] = [];

  constructor(
    connection: BotConnection,
    handlers: {
      /** Each report of one of the account's orders in this market. */
      onOrder(update: KeeperOrderUpdate): void;
      /** The account's open orders, after every (re)subscription. */
      onOpenOrders(open: KeeperOrderStatus[]): void;
      /** Feed trouble, for the bot's log. */
      onProblem(message: string): void;
    },
  ) {
    const { market } = connection;
    this.feed = createKeeperFeed({ wsUrl: connection.keeperWsUrl, WebSocket, domain: connection.domain });
    this.feed.subscribeBook(market.id, {
      onBook: (book) => {
        this.book = book;
        this.wake();
      },
      onStatus: (status) => {
        this.bookLive = status.state === "live";
        if (status.state === "disconnected") handlers.onProblem(`feed disconnected (${status.reason ?? "closed"})`);
        this.wake();
      },
      onError: (error) => handlers.onProblem(`feed: ${error.message}`),
    });
    this.feed.subscribeOrders({
      signer: connection.account,
      onSnapshot: (open) => handlers.onOpenOrders(open),
      onUpdate: (update) => {
        if (update.marketId === market.id) handlers.onOrder(update);
      },
      onStatus: (status) => {
        this.ordersLive = status.state === "live";
        this.wake();
      },
      onError: (error) => handlers.onProblem(`feed (orders): ${error.message}`),
    });
  }

  /** The market's best bid and ask as the feed last showed them; undefined while the book is not in sync. */
  get best(): BestPrices | undefined {
    if (!this.bookLive || this.book === undefined) return undefined;
    return bestOf(this.book);
  }

  /** Resolves once the book and the orders channel are both in sync; rejects after `timeoutMs`. */
  async synced(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(this.bookLive && this.ordersLive && this.book !== undefined)) {
      if (Date.now() > deadline) throw new Error(`The keeper's feed did not sync within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.feed.close();
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Follows `connection`'s market and `orders` on the keeper's feed; resolves once both are in sync. */
export async function followOnFeed<T extends OwnOrder>(
  connection: BotConnection,
  orders: OwnOrders<T>,
  log: (line: string) => void,
): Promise<BotFeed> {
  const feed = new BotFeed(connection, {
    onOrder: (update) => orders.update(update),
    onOpenOrders: (open) => orders.snapshot(open, connection.market.id),
    onProblem: log,
  });
  try {
    await feed.synced();
  } catch (error) {
    feed.close();
    throw error;
  }
  return feed;
}
