/** The depth chart: cumulative size on each side of the book against price (bids left, asks right). */
import { cumulative, type DepthPoint } from "../depth";
import { formatPrice, formatSize } from "../format";
import { useValue } from "../hooks";
import type { Page } from "../page";

/** Levels drawn on each side. */
const LEVELS = 50;
const WIDTH = 400;
const HEIGHT = 150;

export function DepthChart({ page }: { page: Page }) {
  const market = useValue(page.market.selected);
  const book = useValue(page.market.book);
  const bids = cumulative((book?.bids ?? []).slice(0, LEVELS));
  const asks = cumulative((book?.asks ?? []).slice(0, LEVELS));
  const prices = [...bids, ...asks].map((p) => p.priceTicks);
  if (prices.length === 0) {
    return (
      <section class="panel depth-chart" data-testid="depth-chart">
        <h2>Depth</h2>
        <p class="muted">No orders yet</p>
      </section>
    );
  }
  const low = prices.reduce((a, b) => (a < b ? a : b));
  const high = prices.reduce((a, b) => (a > b ? a : b));
  const deepest = [bids.at(-1)?.cumulativeLots ?? 0n, asks.at(-1)?.cumulativeLots ?? 0n].reduce((a, b) =>
    a > b ? a : b,
  );
  // Geometry only: numbers are fine for pixels.
  const span = Number(high - low) || 1;
  const x = (priceTicks: bigint) => (Number(priceTicks - low) / span) * WIDTH;
  const y = (lots: bigint) => HEIGHT - (Number(lots) / Number(deepest || 1n)) * (HEIGHT - 10);
  const path = (points: DepthPoint[], edge: number) => {
    if (points.length === 0) return "";
    let d = `M${x(points[0].priceTicks)},${HEIGHT} V${y(points[0].cumulativeLots)}`;
    for (const p of points.slice(1)) d += ` H${x(p.priceTicks)} V${y(p.cumulativeLots)}`;
    return `${d} H${edge} V${HEIGHT} Z`;
  };
  return (
    <section class="panel depth-chart" data-testid="depth-chart">
      <h2>Depth</h2>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" role="img" aria-label="Depth chart">
        <path class="bid-area" d={path(bids, 0)} />
        <path class="ask-area" d={path(asks, WIDTH)} />
      </svg>
      <div class="axis">
        <span>{formatPrice(market, low)}</span>
        <span>
          {formatSize(market, deepest)} {market.base.symbol}
        </span>
        <span>{formatPrice(market, high)}</span>
      </div>
    </section>
  );
}
