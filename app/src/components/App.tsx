/**
 * The trading page: a header (market, last price, spread, feed, wallet), then the book and its depth,
 * the price chart and the account's orders and fills, and the ticket, balances and trades. On a phone
 * the same panels stack in one column.
 */
import type { Page } from "../page";
import { AccountPanel } from "./AccountPanel";
import { Balances } from "./Balances";
import { BookLadder } from "./BookLadder";
import { DepthChart } from "./DepthChart";
import { MarketBar } from "./MarketBar";
import { Notices } from "./Notices";
import { OrderTicket } from "./OrderTicket";
import { PriceChart } from "./PriceChart";
import { TradesTape } from "./TradesTape";
import { WalletControls } from "./WalletControls";

export function App({ page }: { page: Page }) {
  return (
    <div class="layout">
      <header class="top">
        <span class="brand">Crossbook</span>
        <MarketBar page={page} />
        <WalletControls page={page} />
      </header>
      <main class="grid">
        <div class="area-book">
          <BookLadder page={page} />
          <DepthChart page={page} />
        </div>
        <div class="area-center">
          <PriceChart page={page} />
          <AccountPanel page={page} />
        </div>
        <div class="area-side">
          <OrderTicket page={page} />
          <Balances page={page} />
          <TradesTape page={page} />
        </div>
      </main>
      <Notices page={page} />
    </div>
  );
}

/** What the page shows when it cannot start (no configuration, say). */
export function Failure({ text }: { text: string }) {
  return (
    <div class="failure" role="alert" data-testid="failure">
      <h1>Crossbook</h1>
      <p>{text}</p>
    </div>
  );
}
