/**
 * The order ticket: buy or sell, limit / post-only / immediate-or-cancel, price and size as decimals.
 * Both are checked as they are typed against the market's tick and lot (the SDK's exact conversions,
 * whose refusals name the nearest valid values); the keeper's answer, or its refusal in words, shows below.
 */
import { fillAmounts, formatPriceTicks, parseLots, parsePriceTicks } from "@crossbook/sdk";
import { useEffect, useState } from "preact/hooks";
import type { OrderType } from "../account";
import { formatPrice, formatSize, formatTokens } from "../format";
import { useAction, useValue } from "../hooks";
import { ActionMessage } from "./ActionMessage";
import { describeError } from "../messages";
import type { Page } from "../page";

const TYPES: { type: OrderType; label: string; hint: string }[] = [
  { type: "limit", label: "Limit", hint: "Trades what crosses now; the rest rests on the book." },
  { type: "post-only", label: "Post-only", hint: "Only rests on the book; refused if it would trade at once." },
  { type: "ioc", label: "IOC", hint: "Immediate-or-cancel: trades what crosses now; the rest is cancelled." },
];

/** The value of `parse()`, or the sentence of what it threw (an empty field is neither). */
function check<T>(text: string, parse: () => T): { value?: T; problem?: string } {
  if (text.trim() === "") return {};
  try {
    return { value: parse() };
  } catch (error) {
    return { problem: describeError(error) };
  }
}

export function OrderTicket({ page }: { page: Page }) {
  const market = useValue(page.market.selected);
  const account = useValue(page.account);
  const picked = useValue(page.pickedPrice);
  const [isBuy, setIsBuy] = useState(true);
  const [type, setType] = useState<OrderType>("limit");
  const [price, setPrice] = useState("");
  const [size, setSize] = useState("");
  const [outcome, run] = useAction(describeError);

  useEffect(() => {
    setPrice("");
    setSize("");
  }, [market]);
  useEffect(() => {
    if (picked !== undefined) setPrice(formatPriceTicks({ priceTicks: picked.priceTicks, market }));
  }, [picked]);

  const priceTicks = check(price, () => parsePriceTicks({ price: price.trim(), market }));
  const lots = check(size, () => parseLots({ amount: size.trim(), market }));
  const valid = priceTicks.value !== undefined && lots.value !== undefined;
  const fee = market.makerFeeBps > market.takerFeeBps ? market.makerFeeBps : market.takerFeeBps;
  const amounts = valid
    ? fillAmounts({ lots: lots.value!, priceTicks: priceTicks.value!, market, feeBps: fee })
    : undefined;
  const busy = outcome.state === "busy";
  const submit = (event: Event) => {
    event.preventDefault();
    if (account === undefined || !valid || busy) return;
    run(() => account.place({ market, isBuy, type, price, size }));
  };

  return (
    <section class="panel ticket" data-testid="ticket">
      <h2>Place an order</h2>
      <form onSubmit={submit}>
        <div class="sides" role="group" aria-label="Side">
          <button
            type="button"
            class={isBuy ? "buy on" : "buy"}
            aria-pressed={isBuy}
            data-testid="side-buy"
            onClick={() => setIsBuy(true)}
          >
            Buy
          </button>
          <button
            type="button"
            class={isBuy ? "sell" : "sell on"}
            aria-pressed={!isBuy}
            data-testid="side-sell"
            onClick={() => setIsBuy(false)}
          >
            Sell
          </button>
        </div>
        <div class="segmented types" role="group" aria-label="Order type">
          {TYPES.map((t) => (
            <button
              type="button"
              key={t.type}
              title={t.hint}
              aria-pressed={type === t.type}
              data-testid={`type-${t.type}`}
              onClick={() => setType(t.type)}
            >
              {t.label}
            </button>
          ))}
        </div>
        <DecimalField
          label={`Price (${market.quote.symbol})`}
          placeholder={`step ${formatPrice(market, 1n)}`}
          value={price}
          testId="ticket-price"
          problem={priceTicks.problem}
          onInput={setPrice}
        />
        <DecimalField
          label={`Size (${market.base.symbol})`}
          placeholder={`lot ${formatSize(market, 1n)}`}
          value={size}
          testId="ticket-size"
          problem={lots.problem}
          onInput={setSize}
        />
        <p class="total muted">
          {amounts === undefined
            ? TYPES.find((t) => t.type === type)?.hint
            : `Total ${formatTokens(market.quote, amounts.quoteAtoms, market.quoteDecimals)} ${market.quote.symbol}` +
              ` (fee at most ${formatTokens(market.quote, amounts.feeAtoms, market.quoteDecimals)})`}
        </p>
        <button
          type="submit"
          class={isBuy ? "submit buy" : "submit sell"}
          disabled={account === undefined || !valid || busy}
          data-testid="ticket-submit"
        >
          {account === undefined
            ? "Connect a wallet to trade"
            : busy
              ? "Placing…"
              : `${isBuy ? "Buy" : "Sell"} ${market.base.symbol}`}
        </button>
      </form>
      <ActionMessage outcome={outcome} testId="ticket-message" />
    </section>
  );
}

/** A decimal input with its label, and below it what is wrong with the value, if anything. */
function DecimalField(props: {
  label: string;
  placeholder: string;
  value: string;
  testId: string;
  problem: string | undefined;
  onInput: (value: string) => void;
}) {
  return (
    <>
      <label>
        <span>{props.label}</span>
        <input
          inputMode="decimal"
          autocomplete="off"
          placeholder={props.placeholder}
          value={props.value}
          data-testid={props.testId}
          aria-invalid={props.problem !== undefined}
          onInput={(e) => props.onInput(e.currentTarget.value)}
        />
      </label>
      {props.problem !== undefined && (
        <p class="invalid" data-testid="ticket-invalid">
          {props.problem}
        </p>
      )}
    </>
  );
}
