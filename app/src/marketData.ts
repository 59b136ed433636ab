/**
 * The public side of the page: the selected market's book and every market's trades, kept from the
 * keeper's feed (the SDK's `createKeeperFeed`: snapshot then deltas in sequence, resubscribed after a
 * gap and after a reconnect — so the page keeps working across a keeper restart). The feed's trade
 * snapshot holds the last 100 trades; the chart's longer history is read once over HTTP.
 */
import type {
  CrossbookError,
  KeeperBook,
  KeeperClient,
  KeeperFeed,
  KeeperFeedStatus,
  KeeperSubscription,
  KeeperTrade,
} from "@crossbook/sdk";
import type { PageConfig, PageMarket } from "./config";
import { Observable } from "./observable";

/** How many trades of each market the page keeps (the tape, the chart, the account's fills). */
export const TRADES_KEPT = 1_000;

export class MarketData {
  /** The market the book, tape, chart and ticket show. */
  readonly selected: Observable<PageMarket>;
  /** Its book as of the feed's last message; `undefined` until the first snapshot (and again after a switch). */
  readonly book = new Observable<KeeperBook | undefined>(undefined);
  /** Where the book's subscription stands: `live`, `connecting`, `disconnected` (reconnecting), `resyncing`. */
  readonly status = new Observable<KeeperFeedStatus>({ state: "connecting" });
  private readonly tapes = new Map<bigint, Observable<readonly KeeperTrade[]>>();
  private readonly tradeListeners = new Set<(trade: KeeperTrade) => void>();
  private bookSubscription: KeeperSubscription | undefined;

  constructor(
    readonly config: PageConfig,
    private readonly feed: KeeperFeed,
    keeper: KeeperClient,
    private readonly onError: (error: CrossbookError) => void,
  ) {
    this.selected = new Observable(config.markets[0]);
    this.follow(config.markets[0]); // the book first: it is what the person waits for
    for (const market of config.markets) {
      this.tapes.set(market.id, new Observable<readonly KeeperTrade[]>([]));
      feed.subscribeTrades(market.id, { onTrade: (trade) => this.receive([trade]), onError });
    }
    for (const market of config.markets) {
      keeper.getTrades(market.id, { limit: TRADES_KEPT }).then(
        (trades) => this.receive(trades.reverse()),
        (error: CrossbookError) => onError(error),
      );
    }
  }

  /** Shows another market. */
  select(market: PageMarket): void {
    if (market === this.selected.get()) return;
    this.selected.set(market);
    this.follow(market);
  }

  /** A market's trades, newest first (each once, with its latest status). */
  tape(marketId: bigint): Observable<readonly KeeperTrade[]> {
    const tape = this.tapes.get(marketId);
    if (tape === undefined) throw new Error(`market ${marketId} is not in the page's configuration`);
    return tape;
  }

  /** Every trade of every market as it arrives (and each later status of it); returns the unsubscribe function. */
  onTrade(listener: (trade: KeeperTrade) => void): () => void {
    this.tradeListeners.add(listener);
    return () => this.tradeListeners.delete(listener);
  }

  /** Every trade kept so far, of every market. */
  trades(): KeeperTrade[] {
    return [...this.tapes.values()].flatMap((tape) => tape.get());
  }

  private follow(market: PageMarket): void {
    this.bookSubscription?.unsubscribe();
    this.book.set(undefined);
    this.status.set({ state: "connecting" });
    this.bookSubscription = this.feed.subscribeBook(market.id, {
      onBook: (book) => {
        if (this.selected.get() === market) this.book.set(book);
      },
      onStatus: (status) => {
        if (this.selected.get() === market && status.state !== "closed") this.status.set(status);
      },
      onError: this.onError,
    });
  }

  /** Trades of one market, oldest first. */
  private receive(trades: readonly KeeperTrade[]): void {
    const tape = trades.length === 0 ? undefined : this.tapes.get(trades[0].marketId);
    if (tape === undefined) return;
    tape.update((kept) => trades.reduce(withTrade, kept));
    for (const trade of trades) for (const listener of [...this.tradeListeners]) listener(trade);
  }
}

/** `trades` (newest first by fill id) with `trade` added, or put in place of the same fill's earlier status. */
export function withTrade(trades: readonly KeeperTrade[], trade: KeeperTrade): readonly KeeperTrade[] {
  const at = trades.findIndex((t) => t.fillId <= trade.fillId);
  if (at >= 0 && trades[at].fillId === trade.fillId) {
    // A later status of a fill we have (matched → settled/skipped); never go back to an earlier one.
    if (trades[at].status !== "matched" && trade.status === "matched") return trades;
    const next = trades.slice();
    next[at] = trade;
    return next;
  }
  const next = at < 0 ? [...trades, trade] : [...trades.slice(0, at), trade, ...trades.slice(at)];
  return next.length > TRADES_KEPT ? next.slice(0, TRADES_KEPT) : next;
}
