/** The trades tape: the market's latest trades, colored by the side that took, with their settlement. */
import { formatPrice, formatSize, timeOfDay } from "../format";
import { useValue } from "../hooks";
import { describeSkipReason } from "../messages";
import type { Page } from "../page";

/** Rows shown. */
const ROWS = 30;

export function TradesTape({ page }: { page: Page }) {
  const market = useValue(page.market.selected);
  const tape = useValue(page.market.tape(market.id));
  return (
    <section class="panel tape" data-testid="tape">
      <h2>Trades</h2>
      {tape.length === 0 ? (
        <p class="muted">No trades yet</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Time</th>
              <th class="num">Price</th>
              <th class="num">Size</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tape.slice(0, ROWS).map((t) => (
              <tr
                key={t.fillId}
                data-testid="tape-row"
                data-fill-id={t.fillId}
                data-status={t.status}
                class={t.makerIsBuy ? "sell" : "buy"}
              >
                <td>{timeOfDay(t.at)}</td>
                <td class="num price">{formatPrice(market, t.priceTicks)}</td>
                <td class="num">{formatSize(market, t.lots)}</td>
                <td
                  class={`settle ${t.status}`}
                  title={
                    t.status === "settled"
                      ? `settled in ${t.txHash ?? "?"}`
                      : t.status === "skipped"
                        ? `skipped: ${describeSkipReason(t.skipReason)}`
                        : "matched, settling"
                  }
                >
                  {t.status === "settled" ? "✓" : t.status === "skipped" ? "✕" : "•"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
