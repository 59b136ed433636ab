/**
 * The account's open orders (from the private orders channel) with cancel and cancel-all, and its
 * recent fills with their settlement: matched, then settled with the transaction hash, or skipped with
 * the reason in words.
 */
import { useState } from "preact/hooks";
import { NO_ORDERS, marketOf, type AccountFill, type AccountState, type OpenOrder } from "../account";
import type { PageConfig } from "../config";
import { formatPrice, formatSize, shortHex, timeOfDay } from "../format";
import { useAction, useValue } from "../hooks";
import { ActionMessage } from "./ActionMessage";
import { describeError, describeSkipReason } from "../messages";
import { Observable } from "../observable";
import type { Page } from "../page";

const NO_FILLS = new Observable<readonly AccountFill[]>([]);

export function AccountPanel({ page }: { page: Page }) {
  const account = useValue(page.account);
  const orders = useValue(account?.orders ?? NO_ORDERS);
  const fills = useValue(account?.fills ?? NO_FILLS);
  const [tab, setTab] = useState<"orders" | "fills">("orders");
  const [outcome, run] = useAction(describeError);
  return (
    <section class="panel account" data-testid="account">
      <div class="panel-head">
        <div class="tabs" role="tablist">
          <button role="tab" aria-selected={tab === "orders"} data-testid="tab-orders" onClick={() => setTab("orders")}>
            Open orders ({orders.length})
          </button>
          <button role="tab" aria-selected={tab === "fills"} data-testid="tab-fills" onClick={() => setTab("fills")}>
            Fills ({fills.length})
          </button>
        </div>
        {tab === "orders" && account !== undefined && orders.length > 0 && (
          <button
            class="ghost"
            data-testid="cancel-all"
            disabled={outcome.state === "busy"}
            onClick={() => run(() => account.cancelAll())}
          >
            Cancel all
          </button>
        )}
      </div>
      {account === undefined ? (
        <p class="muted">Connect a wallet to see your orders and fills.</p>
      ) : tab === "orders" ? (
        <OrdersTable config={page.config} account={account} orders={orders} busy={outcome.state === "busy"} run={run} />
      ) : (
        <FillsTable config={page.config} fills={fills} />
      )}
      <ActionMessage outcome={outcome} testId="account-message" />
    </section>
  );
}

function OrdersTable(props: {
  config: PageConfig;
  account: AccountState;
  orders: readonly OpenOrder[];
  busy: boolean;
  run: (action: () => Promise<string>) => void;
}) {
  const { config, account, orders, busy, run } = props;
  if (orders.length === 0)
    return (
      <p class="muted" data-testid="no-orders">
        No open orders.
      </p>
    );
  return (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th>Market</th>
            <th>Side</th>
            <th class="num">Price</th>
            <th class="num">Size</th>
            <th class="num">Filled</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {orders.map((o) => {
            const market = marketOf(config, o.order.marketId);
            if (market === undefined) return null;
            return (
              <tr key={o.hash} data-testid="open-order" data-hash={o.hash} data-price={o.order.priceTicks.toString()}>
                <td>{market.name}</td>
                <td class={o.order.isBuy ? "buy" : "sell"}>{o.order.isBuy ? "Buy" : "Sell"}</td>
                <td class="num">{formatPrice(market, o.order.priceTicks)}</td>
                <td class="num">{formatSize(market, o.order.lots)}</td>
                <td class="num">{formatSize(market, o.filledLots)}</td>
                <td>
                  <button
                    class="ghost small"
                    data-testid="cancel-order"
                    disabled={busy}
                    onClick={() => run(() => account.cancel(o.hash))}
                  >
                    Cancel
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function FillsTable({ config, fills }: { config: PageConfig; fills: readonly AccountFill[] }) {
  if (fills.length === 0) return <p class="muted">No fills yet.</p>;
  return (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th>Time</th>
            <th>Market</th>
            <th>Side</th>
            <th class="num">Price</th>
            <th class="num">Size</th>
            <th>Settlement</th>
          </tr>
        </thead>
        <tbody>
          {fills.map((f) => {
            const market = marketOf(config, f.marketId);
            if (market === undefined) return null;
            return (
              <tr key={f.fillId} data-testid="fill" data-fill-id={f.fillId} data-status={f.status}>
                <td>{timeOfDay(f.at)}</td>
                <td>{market.name}</td>
                <td class={f.isBuy ? "buy" : "sell"}>
                  {f.isBuy ? "Buy" : "Sell"} <span class="muted">({f.role})</span>
                </td>
                <td class="num">{formatPrice(market, f.priceTicks)}</td>
                <td class="num">{formatSize(market, f.lots)}</td>
                <td class={`settle ${f.status}`} data-testid="fill-settlement">
                  <Settlement fill={f} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function Settlement({ fill }: { fill: AccountFill }) {
  if (fill.status === "matched") return <span>Matched, settling…</span>;
  if (fill.status === "skipped") return <span>Skipped: {describeSkipReason(fill.skipReason)}</span>;
  return (
    <span>
      Settled{" "}
      {fill.txHash !== undefined && (
        <code title={fill.txHash} data-testid="fill-tx">
          {shortHex(fill.txHash)}
        </code>
      )}
    </span>
  );
}
