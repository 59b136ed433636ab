/**
 * Numbers as the page shows them. Prices and sizes come from the SDK's exact conversions
 * (`formatPriceTicks`, `formatLots`: no floating point) and are only padded and grouped here;
 * token balances are cut (never rounded up) to a few decimals for display.
 */
import { formatAmount, formatLots, formatPriceTicks } from "@crossbook/sdk";
import type { PageMarket, TokenInfo } from "./config";

const places = new WeakMap<PageMarket, { price: number; size: number }>();

function decimalsOf(text: string): number {
  const dot = text.indexOf(".");
  return dot < 0 ? 0 : text.length - dot - 1;
}

/** How many decimals a market's prices (one tick) and sizes (one lot) have. */
export function marketPlaces(market: PageMarket): { price: number; size: number } {
  let known = places.get(market);
  if (known === undefined) {
    known = {
      price: decimalsOf(formatPriceTicks({ priceTicks: 1n, market })),
      size: decimalsOf(formatLots({ lots: 1n, market })),
    };
    places.set(market, known);
  }
  return known;
}

/** `"1234.5"` → `"1,234.50"` with at least `decimals` places (padded; the input is exact, nothing is cut). */
export function grouped(text: string, decimals: number): string {
  const [whole, fraction = ""] = text.split(".");
  const digits = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const shown = fraction.padEnd(decimals, "0");
  return shown === "" ? digits : `${digits}.${shown}`;
}

/** A price in ticks, in quote tokens per base token: `2,000.50`. */
export function formatPrice(market: PageMarket, priceTicks: bigint): string {
  return grouped(formatPriceTicks({ priceTicks, market }), marketPlaces(market).price);
}

/** A size in lots, in base tokens: `0.250`. */
export function formatSize(market: PageMarket, lots: bigint): string {
  return grouped(formatLots({ lots, market }), marketPlaces(market).size);
}

/** A token amount in atoms, cut to `maxDecimals` places for display: `1,999.5`. */
export function formatTokens(token: TokenInfo, atoms: bigint, maxDecimals = 4): string {
  const text = formatAmount({ atoms, decimals: token.decimals });
  const [whole, fraction = ""] = text.split(".");
  const cut = fraction.slice(0, maxDecimals).replace(/0+$/, "");
  return grouped(cut === "" ? whole : `${whole}.${cut}`, 0);
}

/** `0x1234…cdef`. */
export function shortHex(hex: string): string {
  return hex.length <= 12 ? hex : `${hex.slice(0, 6)}…${hex.slice(-4)}`;
}

/** A wait in milliseconds, rounded up to whole seconds: `27 s`, `4:05`. */
export function formatDuration(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/**
 * Unix milliseconds as the local time of day, `14:03:27`. Written out by hand rather than with
 * `toLocaleTimeString`, which throws on a browser whose locale ICU does not know (`en-US@posix`).
 */
export function timeOfDay(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

/**
 * The browser's language if `Intl` knows it, else `en-US`: a browser started with a POSIX locale
 * reports `en-US@posix`, on which every `Intl` formatter throws.
 */
export function safeLocale(): string {
  try {
    return Intl.DateTimeFormat.supportedLocalesOf([navigator.language])[0] ?? "en-US";
  } catch {
    return "en-US";
  }
}
