/**
 * What an open order holds of its maker's balance: pure, exact `bigint` arithmetic with the
 * Exchange's fee rounding (the SDK's `fillAmounts`).
 */
import type { Address } from "viem";
import { FILL_OR_KILL, IMMEDIATE_OR_CANCEL, POST_ONLY, fillAmounts, type Order } from "@crossbook/sdk";
import type { OpenOrders, Reservation, ReservationMarket, ReservingOrder } from "./types";

/**
 * The highest fee, in basis points, the order can be charged in `market`: a POST_ONLY order only
 * ever makes (maker fee), an IOC or FOK order only ever takes (taker fee) — the book never rests
 * either — and a plain order can do both (the larger of the two).
 */
export function feeBpsOf(order: Pick<Order, "flags">, market: Pick<ReservationMarket, "makerFeeBps" | "takerFeeBps">) {
  if ((order.flags & POST_ONLY) !== 0n) return market.makerFeeBps;
  if ((order.flags & (IMMEDIATE_OR_CANCEL | FILL_OR_KILL)) !== 0n) return market.takerFeeBps;
  return market.makerFeeBps > market.takerFeeBps ? market.makerFeeBps : market.takerFeeBps;
}

/**
 * The most `lots` of `order` can debit from its maker: a sell gives `lots * lotSize` base atoms; a
 * buy pays `quote + fee` at its limit price with `feeBpsOf` the order. Fills at a better price pay
 * less, and the Exchange rounds each fill's fee down, so the sum over any split of `lots` into fills
 * is at most this (`floor(a) + floor(b) <= floor(a + b)`).
 */
export function orderReservation(
  order: Pick<Order, "isBuy" | "flags" | "priceTicks">,
  lots: bigint,
  market: ReservationMarket,
): { token: Address; atoms: bigint } {
  if (!order.isBuy) return { token: market.base, atoms: lots * market.lotSize };
  const { quoteAtoms, feeAtoms } = fillAmounts({
    lots,
    priceTicks: order.priceTicks,
    market,
    feeBps: feeBpsOf(order, market),
  });
  return { token: market.quote, atoms: quoteAtoms + feeAtoms };
}

/**
 * What `orders` (the maker's other open orders in the keeper, in any market) reserve of `tokens`:
 * each order's `orderReservation` is added to `base` or `quote` when its token is that token (a
 * buy in another market with the same quote token counts; a sell of this market's quote token as
 * another market's base counts too). `marketOf` gives each order's market; an order whose market
 * it does not know throws, since leaving it out would over-state what the maker has free.
 */
export function reservedByOpenOrders(
  orders: readonly ReservingOrder[],
  marketOf: (marketId: bigint) => ReservationMarket | undefined,
  tokens: { base: Address; quote: Address },
): Reservation {
  const reserved: Reservation = { base: 0n, quote: 0n };
  // Addresses compared case-insensitively, as `isAddressEqual` does, without its validation per order.
  const base = tokens.base.toLowerCase();
  const quote = tokens.quote.toLowerCase();
  for (const { order, lots } of orders) {
    if (lots <= 0n) continue;
    const market = marketOf(order.marketId);
    if (market === undefined) throw new Error(`reservedByOpenOrders: market ${order.marketId} is unknown`);
    const { token, atoms } = orderReservation(order, lots, market);
    const t = token.toLowerCase();
    if (t === base) reserved.base += atoms;
    if (t === quote) reserved.quote += atoms;
  }
  return reserved;
}

/** `OpenOrders` over a list: each question walks it (O(the orders)). */
export function listedOpenOrders(orders: readonly ReservingOrder[]): OpenOrders {
  return {
    marketIds: () => new Set(orders.map((o) => o.order.marketId)),
    reserved: (marketOf, tokens) => reservedByOpenOrders(orders, marketOf, tokens),
    nonceInUse: (nonce) => orders.some((o) => o.order.nonce === nonce),
    orders: () => orders,
  };
}
