/** The market selector, the last price, the spread and where the feed stands. */
import type { KeeperFeedStatus } from "@crossbook/sdk";
import { formatPrice } from "../format";
import { useValue } from "../hooks";
import type { Page } from "../page";

export function MarketBar({ page }: { page: Page }) {
  const { market } = page;
  const selected = useValue(market.selected);
  const book = useValue(market.book);
  const tape = useValue(market.tape(selected.id));
  const status = useValue(market.status);
  const last = tape.find((t) => t.status !== "skipped");
  const bid = book?.bids[0];
  const ask = book?.asks[0];
  const spread = bid !== undefined && ask !== undefined ? ask.priceTicks - bid.priceTicks : undefined;
  const spreadBps =
    spread !== undefined && bid !== undefined && bid.priceTicks > 0n
      ? (Number((spread * 1_000_000n) / bid.priceTicks) / 100).toFixed(1)
      : undefined;
  return (
    <div class="market-bar">
      <div class="markets" role="tablist" aria-label="Market">
        {page.config.markets.map((m) => (
          <button
            key={m.id.toString()}
            role="tab"
            aria-selected={m === selected}
            class={m === selected ? "market selected" : "market"}
            data-testid={`market-${m.id}`}
            onClick={() => market.select(m)}
          >
            {m.name}
          </button>
        ))}
      </div>
      <dl class="stats">
        <div>
          <dt>Last</dt>
          <dd data-testid="last-price" class={last === undefined ? "" : last.makerIsBuy ? "sell" : "buy"}>
            {last === undefined ? "–" : formatPrice(selected, last.priceTicks)}
          </dd>
        </div>
        <div>
          <dt>Spread</dt>
          <dd data-testid="spread">
            {spread === undefined ? "–" : `${formatPrice(selected, spread)} (${spreadBps} bps)`}
          </dd>
        </div>
      </dl>
      <FeedPill status={status} />
    </div>
  );
}

function FeedPill({ status }: { status: KeeperFeedStatus }) {
  const text =
    status.state === "live"
      ? "Live"
      : status.state === "disconnected"
        ? `Reconnecting (attempt ${status.attempt})…`
        : status.state === "resyncing"
          ? "Resyncing…"
          : "Connecting…";
  return (
    <span class={`pill ${status.state}`} data-testid="feed-status" data-state={status.state} role="status">
      {text}
    </span>
  );
}
