/**
 * The account's balances on the Exchange (and what its orders reserve) and in its wallet; deposit, and
 * withdraw in two steps: request a withdrawal, then withdraw once the Exchange's firmness delay has
 * passed (each standing request shows its amount and a countdown to when it can leave).
 */
import { useState } from "preact/hooks";
import { tokensOf, type AccountState, type BalanceRow, type WithdrawalRequest } from "../account";
import type { TokenInfo } from "../config";
import { formatTokens } from "../format";
import { useAction, useTicker, useValue } from "../hooks";
import { ActionMessage } from "./ActionMessage";
import { describeError } from "../messages";
import { Observable } from "../observable";
import type { Page } from "../page";

const NO_BALANCES = new Observable<readonly BalanceRow[]>([]);
const NO_DELAY = new Observable<bigint | undefined>(undefined);

export function Balances({ page }: { page: Page }) {
  const account = useValue(page.account);
  const rows = useValue(account?.balances ?? NO_BALANCES);
  const delay = useValue(account?.firmnessDelay ?? NO_DELAY);
  const tokens = tokensOf(page.config);
  const [tokenAddress, setTokenAddress] = useState(tokens[0].address);
  const [amount, setAmount] = useState("");
  const [outcome, run] = useAction(describeError);
  if (account === undefined) return null;
  const token = tokens.find((t) => t.address === tokenAddress) ?? tokens[0];
  const busy = outcome.state === "busy";
  const shown = (atoms: bigint | undefined, row: BalanceRow) =>
    atoms === undefined ? "…" : formatTokens(row.token, atoms);
  const requests = rows.flatMap((row) => (row.withdrawal === undefined ? [] : [{ ...row, request: row.withdrawal }]));
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
          data-testid="request-withdrawal"
          disabled={busy || amount.trim() === ""}
          onClick={() => run(() => account.requestWithdrawal(token, amount))}
        >
          Request withdrawal
        </button>
      </form>
      {requests.length > 0 && (
        <ul class="withdrawals" data-testid="withdrawal-requests">
          {requests.map((row) => (
            <WithdrawalLine
              key={row.token.address}
              account={account}
              token={row.token}
              request={row.request}
              busy={busy}
              run={run}
            />
          ))}
        </ul>
      )}
      <p class="muted hint" data-testid="withdrawal-rule">
        Withdrawing takes two steps: request it, then withdraw{" "}
        {delay === undefined
          ? "after the Exchange's firmness delay"
          : `${delay} s later (the Exchange's firmness delay)`}
        ; trades matched before then still settle. A new request in a token replaces the last: for no more, it keeps its
        time; for more, the wait starts again.
      </p>
      {busy && <p class="muted">Waiting for the transaction…</p>}
      <ActionMessage outcome={outcome} testId="funds-message" />
    </section>
  );
}

/** One standing request: its amount, a countdown to when it can leave, Withdraw (enabled from then) and Cancel. */
function WithdrawalLine(props: {
  account: AccountState;
  token: TokenInfo;
  request: WithdrawalRequest;
  busy: boolean;
  run: (action: () => Promise<string>) => void;
}) {
  const { account, token, request, busy, run } = props;
  const available = account.clock.reached(request.effectiveAt);
  useTicker(!available, 1_000);
  return (
    <li
      class={`withdrawal ${available ? "available" : "waiting"}`}
      data-testid="withdrawal-request"
      data-token={token.symbol}
      data-amount={request.amount.toString()}
      data-effective-at={request.effectiveAt.toString()}
      data-state={available ? "available" : "waiting"}
    >
      <span>
        Withdrawal of{" "}
        <b>
          {formatTokens(token, request.amount, token.decimals)} {token.symbol}
        </b>{" "}
        requested:{" "}
        <span data-testid="withdrawal-countdown">
          {available ? "available now" : `available ${account.when(request.effectiveAt)}`}
        </span>
      </span>
      <span class="actions">
        <button
          type="button"
          data-testid="withdraw"
          disabled={busy || !available}
          title={available ? undefined : "Available once the firmness delay has passed"}
          onClick={() => run(() => account.withdrawRequested(token))}
        >
          Withdraw
        </button>
        <button
          type="button"
          class="ghost"
          data-testid="cancel-withdrawal"
          disabled={busy}
          onClick={() => run(() => account.cancelWithdrawal(token))}
        >
          Cancel request
        </button>
      </span>
    </li>
  );
}
