/** The account's balances on the Exchange (and what its orders reserve) and in its wallet; deposit and withdraw. */
import { useState } from "preact/hooks";
import { tokensOf, type BalanceRow } from "../account";
import { formatTokens } from "../format";
import { useAction, useValue } from "../hooks";
import { ActionMessage } from "./ActionMessage";
import { describeError } from "../messages";
import { Observable } from "../observable";
import type { Page } from "../page";

const NO_BALANCES = new Observable<readonly BalanceRow[]>([]);

export function Balances({ page }: { page: Page }) {
  const account = useValue(page.account);
  const rows = useValue(account?.balances ?? NO_BALANCES);
  const tokens = tokensOf(page.config);
  const [tokenAddress, setTokenAddress] = useState(tokens[0].address);
  const [amount, setAmount] = useState("");
  const [outcome, run] = useAction(describeError);
  if (account === undefined) return null;
  const token = tokens.find((t) => t.address === tokenAddress) ?? tokens[0];
  const busy = outcome.state === "busy";
  const shown = (atoms: bigint | undefined, row: BalanceRow) =>
    atoms === undefined ? "…" : formatTokens(row.token, atoms);
  return (
    <section class="panel balances" data-testid="balances">
      <h2>Balances</h2>
      <table>
        <thead>
          <tr>
            <th>Token</th>
            <th class="num">Exchange</th>
            <th class="num">In orders</th>
            <th class="num">Wallet</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr
              key={row.token.address}
              data-testid="balance"
              data-token={row.token.symbol}
              data-exchange={row.exchange?.toString()}
            >
              <td>{row.token.symbol}</td>
              <td class="num">{shown(row.exchange, row)}</td>
              <td class="num">{formatTokens(row.token, row.inOrders)}</td>
              <td class="num">{shown(row.wallet, row)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="funds" onSubmit={(e) => e.preventDefault()}>
        <select
          value={tokenAddress}
          data-testid="funds-token"
          aria-label="Token"
          onChange={(e) => setTokenAddress(e.currentTarget.value as typeof tokenAddress)}
        >
          {tokens.map((t) => (
            <option key={t.address} value={t.address}>
              {t.symbol}
            </option>
          ))}
        </select>
        <input
          inputMode="decimal"
          autocomplete="off"
          placeholder="Amount"
          aria-label="Amount"
          value={amount}
          data-testid="funds-amount"
          onInput={(e) => setAmount(e.currentTarget.value)}
        />
        <button
          type="button"
          data-testid="deposit"
          disabled={busy || amount.trim() === ""}
          onClick={() => run(() => account.deposit(token, amount))}
        >
          Deposit
        </button>
        <button
          type="button"
          class="ghost"
          data-testid="withdraw"
          disabled={busy || amount.trim() === ""}
          onClick={() => run(() => account.withdraw(token, amount))}
        >
          Withdraw
        </button>
      </form>
      {busy && <p class="muted">Waiting for the transaction…</p>}
      <ActionMessage outcome={outcome} testId="funds-message" />
    </section>
  );
}
