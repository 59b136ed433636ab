/**
 * The order book ladder: the best asks above the best bids, each level's size and the running total,
 * with a bar as deep as the total. The account's own levels are marked; a click puts the price in the
 * ticket. The first render of a book sets the performance mark `crossbook:first-book` (bench:app).
 */
import type { KeeperLevel } from "@crossbook/sdk";
import { useEffect } from "preact/hooks";
import { NO_ORDERS } from "../account";
import type { PageMarket } from "../config";
import { formatPrice, formatSize } from "../format";
import { useValue } from "../hooks";
import type { Page } from "../page";

/** Levels shown on each side. */
const LEVELS = 12;
export const FIRST_BOOK_MARK = "crossbook:first-book";

export function BookLadder({ page }: { page: Page }) {
  const market = useValue(page.market.selected);
  const book = useValue(page.market.book);
  const status = useValue(page.market.status);
  const account = useValue(page.account);
  const orders = useValue(account?.orders ?? NO_ORDERS);
  useEffect(() => {
    if (book !== undefined && performance.getEntriesByName(FIRST_BOOK_MARK).length === 0) {
      performance.mark(FIRST_BOOK_MARK);
    }
  }, [book]);

  const asks = (book?.asks ?? []).slice(0, LEVELS);
  const bids = (book?.bids ?? []).slice(0, LEVELS);
  const totals = (levels: KeeperLevel[]) => {
    let sum = 0n;
    return levels.map((l) => (sum += l.lots));
  };
  const askTotals = totals(asks);
  const bidTotals = totals(bids);
  const deepest = [askTotals.at(-1) ?? 0n, bidTotals.at(-1) ?? 0n].reduce((a, b) => (a > b ? a : b), 1n);
  const mine = (isBuy: boolean) =>
    new Set(
      orders.filter((o) => o.order.isBuy === isBuy && o.order.marketId === market.id).map((o) => o.order.priceTicks),
    );
  const myBids = mine(true);
  const myAsks = mine(false);
  const pick = (priceTicks: bigint) => page.pickedPrice.set({ priceTicks });
  const row = (level: KeeperLevel, total: bigint, side: "bid" | "ask", marked: boolean) => (
    <button
      key={`${side}${level.priceTicks}`}
      class={`level ${side}${marked ? " mine" : ""}`}
      data-testid={`${side}-level`}
      data-price={level.priceTicks.toString()}
      data-lots={level.lots.toString()}
      title={`${level.orders} order${level.orders === 1 ? "" : "s"}${marked ? ", yours among them" : ""}`}
      onClick={() => pick(level.priceTicks)}
    >
      <span class="depth" style={{ width: `${Number((total * 1000n) / deepest) / 10}%` }} />
      <span class="price">{formatPrice(market, level.priceTicks)}</span>
      <span class="size">{formatSize(market, level.lots)}</span>
      <span class="total">{formatSize(market, total)}</span>
    </button>
  );

  return (
    <section
      class={status.state === "live" ? "panel book" : "panel book stale"}
      data-testid="book"
      data-state={book === undefined ? "loading" : "live"}
      title={status.state === "live" ? undefined : "The feed is reconnecting: this is the book as last seen"}
    >
      <h2>Order book</h2>
      <div class="ladder-head">
        <span>Price ({market.quote.symbol})</span>
        <span>Size ({market.base.symbol})</span>
        <span>Total</span>
      </div>
      <div class="ladder">
        <div class="asks">
          {asks
            .map((l, i) => ({ l, total: askTotals[i] }))
            .reverse()
            .map(({ l, total }) => row(l, total, "ask", myAsks.has(l.priceTicks)))}
        </div>
        <Mid market={market} bid={bids[0]} ask={asks[0]} loading={book === undefined} />
        <div class="bids">{bids.map((l, i) => row(l, bidTotals[i], "bid", myBids.has(l.priceTicks)))}</div>
      </div>
    </section>
  );
}

function Mid({
  market,
  bid,
  ask,
  loading,
}: {
  market: PageMarket;
  bid?: KeeperLevel;
  ask?: KeeperLevel;
  loading: boolean;
}) {
  if (loading) return <div class="mid muted">Loading the book…</div>;
  if (bid === undefined && ask === undefined)
    return (
      <div class="mid muted" data-testid="book-empty">
        No orders yet
      </div>
    );
  const spread = bid !== undefined && ask !== undefined ? formatPrice(market, ask.priceTicks - bid.priceTicks) : "–";
  return <div class="mid">Spread {spread}</div>;
}
