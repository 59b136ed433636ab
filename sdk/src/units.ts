import { UnitsError, type UnitsErrorCode } from "./errors";
import { MAX_UINT64, type MarketUnits } from "./types";

/*
 * Exact conversion between decimal strings and the Exchange's integers. Strings in, bigint out;
 * never a float, and never a rounding: a value that does not convert exactly is an error that says
 * why, and for a size off the lot or a price off the tick, which valid values are nearest.
 *
 *   base atoms  = lots * lotSize
 *   quote atoms = lots * priceTicks * tickSize
 *   price       = quote per one whole base token = priceTicks * tickSize * 10^baseDecimals / (lotSize * 10^quoteDecimals)
 */

const MAX_UINT256 = (1n << 256n) - 1n;
const MAX_DECIMALS = 255;

/** A decimal string parsed: `value / 10^scale`, with `scale` as small as it can be (no trailing zeros). */
interface Decimal {
  negative: boolean;
  value: bigint;
  scale: number;
}

const DECIMAL = /^(-)?(\d*)(?:\.(\d*))?$/;

function fail(code: UnitsErrorCode, message: string, details: Record<string, unknown>): never {
  throw new UnitsError(message, { code, details });
}

function parseDecimal(input: unknown, what: string): Decimal {
  if (typeof input !== "string") {
    const hint = typeof input === "number" ? " (a float cannot hold every decimal exactly)" : "";
    fail("UNITS_INVALID_FORMAT", `The ${what} must be a decimal string like "0.25", got ${typeof input}${hint}`, {
      input,
    });
  }
  const match = DECIMAL.exec(input);
  const whole = match?.[2] ?? "";
  const fraction = (match?.[3] ?? "").replace(/0+$/, "");
  if (match === null || (whole === "" && (match[3] ?? "") === "")) {
    fail(
      "UNITS_INVALID_FORMAT",
      `The ${what} must be a decimal string of digits with at most one ".", like "1834.5", got ${JSON.stringify(input)}`,
      { input },
    );
  }
  return { negative: match[1] === "-", value: BigInt(whole + fraction || "0"), scale: fraction.length };
}

function pow10(exponent: number): bigint {
  return 10n ** BigInt(exponent);
}

/** `value / 10^decimals` as the shortest decimal string ("0.25", "1834.5", "3"). */
function formatScaled(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const unit = pow10(decimals);
  const whole = (magnitude / unit).toString();
  const fraction = decimals === 0 ? "" : (magnitude % unit).toString().padStart(decimals, "0").replace(/0+$/, "");
  return (negative ? "-" : "") + whole + (fraction === "" ? "" : `.${fraction}`);
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/**
 * The decimals needed to write `numerator / denominator` exactly, or `undefined` when its decimal
 * expansion does not end (the reduced denominator has a prime factor other than 2 and 5).
 */
function terminatingDecimals(numerator: bigint, denominator: bigint): number | undefined {
  let rest = denominator / gcd(numerator, denominator);
  let twos = 0;
  let fives = 0;
  while (rest % 2n === 0n) {
    rest /= 2n;
    twos++;
  }
  while (rest % 5n === 0n) {
    rest /= 5n;
    fives++;
  }
  return rest === 1n ? Math.max(twos, fives) : undefined;
}

/** `numerator / denominator` as an exact decimal string, or `undefined` when it has none. */
function formatFraction(numerator: bigint, denominator: bigint): string | undefined {
  const decimals = terminatingDecimals(numerator, denominator);
  if (decimals === undefined) return undefined;
  return formatScaled((numerator * pow10(decimals)) / denominator, decimals);
}

function checkDecimals(decimals: unknown, what: string): number {
  if (typeof decimals !== "number" || !Number.isInteger(decimals) || decimals < 0 || decimals > MAX_DECIMALS) {
    fail("UNITS_INVALID_MARKET", `${what} must be an integer from 0 to ${MAX_DECIMALS}, got ${String(decimals)}`, {
      [what]: decimals,
    });
  }
  return decimals;
}

function checkMarket(market: MarketUnits): MarketUnits {
  if (typeof market !== "object" || market === null) {
    fail("UNITS_INVALID_MARKET", "A market ({ baseDecimals, quoteDecimals, lotSize, tickSize }) is required", {});
  }
  checkDecimals(market.baseDecimals, "baseDecimals");
  checkDecimals(market.quoteDecimals, "quoteDecimals");
  for (const field of ["lotSize", "tickSize"] as const) {
    const value = market[field];
    if (typeof value !== "bigint" || value <= 0n) {
      fail("UNITS_INVALID_MARKET", `The market's ${field} must be a positive bigint, got ${String(value)}`, {
        [field]: value,
      });
    }
  }
  return market;
}

/** Rejects a negative or zero decimal. */
function checkSign(decimal: Decimal, input: string, what: string): void {
  if (decimal.value === 0n) fail("UNITS_ZERO", `The ${what} must not be zero, got ${JSON.stringify(input)}`, { input });
  if (decimal.negative) {
    fail("UNITS_NEGATIVE", `The ${what} must not be negative, got ${JSON.stringify(input)}`, { input });
  }
}

// ─── Token amounts ────────────────────────────────────────────────────────────────────────────

/** The parameters of `parseAmount`. */
export interface ParseAmountParameters {
  /** A positive decimal string, in whole tokens: `"100.5"`. */
  amount: string;
  /** The token's decimals (its ERC-20 `decimals()`). */
  decimals: number;
}

/** Atoms of the token. */
export type ParseAmountReturnType = bigint;

/**
 * Converts a token amount from a decimal string into atoms, exactly: `"100.5"` USDC (6 decimals) is
 * `100500000n`. Unlike viem's `parseUnits`, an amount with more decimals than the token has is an
 * error (`UNITS_TOO_MANY_DECIMALS`), never rounded; so are zero, a negative amount, anything but
 * digits with one ".", and more than fits in a uint256.
 *
 * @example
 * import { parseAmount } from "@crossbook/sdk";
 * parseAmount({ amount: "100.5", decimals: 6 }); // 100500000n
 */
export function parseAmount(parameters: ParseAmountParameters): ParseAmountReturnType {
  const { amount } = parameters;
  const decimals = checkDecimals(parameters.decimals, "decimals");
  const decimal = parseDecimal(amount, "amount");
  checkSign(decimal, amount, "amount");
  if (decimal.scale > decimals) {
    fail("UNITS_TOO_MANY_DECIMALS", `The amount ${amount} has ${decimal.scale} decimals; the token has ${decimals}`, {
      input: amount,
      decimals: decimal.scale,
      maxDecimals: decimals,
    });
  }
  const atoms = decimal.value * pow10(decimals - decimal.scale);
  if (atoms > MAX_UINT256)
    fail("UNITS_OVERFLOW", `The amount ${amount} does not fit in a uint256 of atoms`, { input: amount });
  return atoms;
}

/** The parameters of `formatAmount`. */
export interface FormatAmountParameters {
  /** Atoms of the token. */
  atoms: bigint;
  /** The token's decimals. */
  decimals: number;
}

/** A decimal string in whole tokens, with no trailing zeros. */
export type FormatAmountReturnType = string;

/**
 * Writes atoms of a token as a decimal string in whole tokens, exactly and as short as possible.
 *
 * @example
 * import { formatAmount } from "@crossbook/sdk";
 * formatAmount({ atoms: 100500000n, decimals: 6 }); // "100.5"
 */
export function formatAmount(parameters: FormatAmountParameters): FormatAmountReturnType {
  const decimals = checkDecimals(parameters.decimals, "decimals");
  if (typeof parameters.atoms !== "bigint") {
    fail("UNITS_INVALID_FORMAT", `atoms must be a bigint, got ${typeof parameters.atoms}`, { atoms: parameters.atoms });
  }
  return formatScaled(parameters.atoms, decimals);
}

// ─── Sizes: lots ──────────────────────────────────────────────────────────────────────────────

/** The parameters of `parseLots`. */
export interface ParseLotsParameters {
  /** A positive decimal string, in whole base tokens: `"0.25"` ETH. */
  amount: string;
  /** The market's lot size and token decimals. */
  market: MarketUnits;
}

/** An order size in lots (`uint64`). */
export type ParseLotsReturnType = bigint;

/**
 * Converts an order size from a decimal string of base tokens into lots, exactly: `"0.25"` ETH
 * (18 decimals) in a market of 0.01-ETH lots is `25n`. Throws a `UnitsError` for a malformed,
 * zero or negative size (`UNITS_INVALID_FORMAT`, `UNITS_ZERO`, `UNITS_NEGATIVE`), more decimals than
 * the base token has (`UNITS_TOO_MANY_DECIMALS`), a size that is not a whole number of lots
 * (`UNITS_OFF_LOT`, with the nearest valid sizes in `details`), or more lots than a uint64 holds
 * (`UNITS_OVERFLOW`).
 *
 * @example
 * import { parseLots } from "@crossbook/sdk";
 * const market = { baseDecimals: 18, quoteDecimals: 6, lotSize: 10n ** 16n, tickSize: 100n };
 * parseLots({ amount: "0.25", market }); // 25n
 */
export function parseLots(parameters: ParseLotsParameters): ParseLotsReturnType {
  const { amount } = parameters;
  const market = checkMarket(parameters.market);
  const decimal = parseDecimal(amount, "size");
  checkSign(decimal, amount, "size");
  if (decimal.scale > market.baseDecimals) {
    fail(
      "UNITS_TOO_MANY_DECIMALS",
      `The size ${amount} has ${decimal.scale} decimals; the base token has ${market.baseDecimals}`,
      { input: amount, decimals: decimal.scale, maxDecimals: market.baseDecimals },
    );
  }
  const atoms = decimal.value * pow10(market.baseDecimals - decimal.scale);
  if (atoms % market.lotSize !== 0n) {
    const below = atoms / market.lotSize;
    const lot = formatScaled(market.lotSize, market.baseDecimals);
    const nearestBelow = below === 0n ? undefined : formatScaled(below * market.lotSize, market.baseDecimals);
    const nearestAbove = formatScaled((below + 1n) * market.lotSize, market.baseDecimals);
    fail(
      "UNITS_OFF_LOT",
      `The size ${amount} is not a whole number of lots of ${lot}; the nearest sizes are ` +
        (nearestBelow === undefined ? nearestAbove : `${nearestBelow} and ${nearestAbove}`),
      { input: amount, lot, nearestBelow, nearestAbove },
    );
  }
  const lots = atoms / market.lotSize;
  if (lots > MAX_UINT64) {
    fail("UNITS_OVERFLOW", `The size ${amount} is ${lots} lots, more than a uint64 holds (${MAX_UINT64})`, {
      input: amount,
      lots,
      max: MAX_UINT64,
    });
  }
  return lots;
}

/** The parameters of `formatLots`. */
export interface FormatLotsParameters {
  /** A size in lots. */
  lots: bigint;
  market: MarketUnits;
}

/** The size in whole base tokens, as a decimal string with no trailing zeros. */
export type FormatLotsReturnType = string;

/**
 * Writes a size in lots as a decimal string of base tokens: the inverse of `parseLots`.
 *
 * @example
 * import { formatLots } from "@crossbook/sdk";
 * const market = { baseDecimals: 18, quoteDecimals: 6, lotSize: 10n ** 16n, tickSize: 100n };
 * formatLots({ lots: 25n, market }); // "0.25"
 */
export function formatLots(parameters: FormatLotsParameters): FormatLotsReturnType {
  const market = checkMarket(parameters.market);
  const { lots } = parameters;
  if (typeof lots !== "bigint") fail("UNITS_INVALID_FORMAT", `lots must be a bigint, got ${typeof lots}`, { lots });
  return formatScaled(lots * market.lotSize, market.baseDecimals);
}

// ─── Prices: ticks ────────────────────────────────────────────────────────────────────────────

/**
 * The price of one tick in quote tokens per whole base token, as a fraction:
 * `tickSize * 10^baseDecimals / (lotSize * 10^quoteDecimals)`.
 */
function tickPrice(market: MarketUnits): { numerator: bigint; denominator: bigint } {
  return {
    numerator: market.tickSize * pow10(market.baseDecimals),
    denominator: market.lotSize * pow10(market.quoteDecimals),
  };
}

/** The parameters of `parsePriceTicks`. */
export interface ParsePriceTicksParameters {
  /** A positive decimal string: quote tokens per one whole base token, `"1834.5"` USDC per ETH. */
  price: string;
  /** The market's lot and tick sizes and token decimals. */
  market: MarketUnits;
}

/** A limit price in ticks per lot (`uint64`). */
export type ParsePriceTicksReturnType = bigint;

/**
 * Converts a price from a decimal string (quote tokens per one whole base token) into ticks per lot,
 * exactly: `"1834.5"` USDC per ETH, in a market of 0.01-ETH lots and ticks of 100 USDC atoms per
 * lot (a price step of 0.01 USDC per ETH), is `183450n`. Throws a `UnitsError` for a malformed,
 * zero or negative price, more decimals than the market's price step has
 * (`UNITS_TOO_MANY_DECIMALS`), a price between two ticks (`UNITS_OFF_TICK`, with the nearest valid
 * prices in `details`), or more ticks than a uint64 holds (`UNITS_OVERFLOW`).
 *
 * @example
 * import { parsePriceTicks } from "@crossbook/sdk";
 * const market = { baseDecimals: 18, quoteDecimals: 6, lotSize: 10n ** 16n, tickSize: 100n };
 * parsePriceTicks({ price: "1834.5", market }); // 183450n
 */
export function parsePriceTicks(parameters: ParsePriceTicksParameters): ParsePriceTicksReturnType {
  const { price } = parameters;
  const market = checkMarket(parameters.market);
  const decimal = parseDecimal(price, "price");
  checkSign(decimal, price, "price");
  // price = value / 10^scale = ticks * tick  ⇒  ticks = value * tick.denominator / (10^scale * tick.numerator)
  const tick = tickPrice(market);
  const numerator = decimal.value * tick.denominator;
  const denominator = pow10(decimal.scale) * tick.numerator;
  if (numerator % denominator !== 0n) {
    const step = formatFraction(tick.numerator, tick.denominator);
    const stepDecimals = terminatingDecimals(tick.numerator, tick.denominator);
    if (stepDecimals !== undefined && decimal.scale > stepDecimals) {
      fail(
        "UNITS_TOO_MANY_DECIMALS",
        `The price ${price} has ${decimal.scale} decimals; prices in this market move in steps of ${step} ` +
          `and have at most ${stepDecimals}`,
        { input: price, decimals: decimal.scale, maxDecimals: stepDecimals, tick: step },
      );
    }
    const below = numerator / denominator;
    const nearestBelow = below === 0n ? undefined : formatFraction(below * tick.numerator, tick.denominator);
    const nearestAbove = formatFraction((below + 1n) * tick.numerator, tick.denominator);
    const tickText = step ?? `${tick.numerator}/${tick.denominator}`;
    const nearest =
      nearestAbove === undefined
        ? ""
        : `; the nearest prices are ${nearestBelow === undefined ? nearestAbove : `${nearestBelow} and ${nearestAbove}`}`;
    fail("UNITS_OFF_TICK", `The price ${price} is not a whole number of ticks of ${tickText}${nearest}`, {
      input: price,
      tick: tickText,
      nearestBelow,
      nearestAbove,
    });
  }
  const ticks = numerator / denominator;
  if (ticks > MAX_UINT64) {
    fail("UNITS_OVERFLOW", `The price ${price} is ${ticks} ticks, more than a uint64 holds (${MAX_UINT64})`, {
      input: price,
      ticks,
      max: MAX_UINT64,
    });
  }
  return ticks;
}

/** The parameters of `formatPriceTicks`. */
export interface FormatPriceTicksParameters {
  /** A price in ticks per lot. */
  priceTicks: bigint;
  market: MarketUnits;
}

/** The price in quote tokens per whole base token, as a decimal string with no trailing zeros. */
export type FormatPriceTicksReturnType = string;

/**
 * Writes a price in ticks per lot as a decimal string of quote tokens per whole base token: the
 * inverse of `parsePriceTicks`. Throws `UNITS_NOT_REPRESENTABLE` in the rare market whose price step
 * has no finite decimal expansion (a lot size with a prime factor other than 2 and 5, say), where
 * most prices cannot be written exactly.
 *
 * @example
 * import { formatPriceTicks } from "@crossbook/sdk";
 * const market = { baseDecimals: 18, quoteDecimals: 6, lotSize: 10n ** 16n, tickSize: 100n };
 * formatPriceTicks({ priceTicks: 183450n, market }); // "1834.5"
 */
export function formatPriceTicks(parameters: FormatPriceTicksParameters): FormatPriceTicksReturnType {
  const market = checkMarket(parameters.market);
  const { priceTicks } = parameters;
  if (typeof priceTicks !== "bigint") {
    fail("UNITS_INVALID_FORMAT", `priceTicks must be a bigint, got ${typeof priceTicks}`, { priceTicks });
  }
  const tick = tickPrice(market);
  const text = formatFraction(priceTicks * tick.numerator, tick.denominator);
  if (text === undefined) {
    fail(
      "UNITS_NOT_REPRESENTABLE",
      `The price of ${priceTicks} ticks has no exact decimal form in this market ` +
        `(${priceTicks * tick.numerator}/${tick.denominator} quote per base)`,
      { priceTicks },
    );
  }
  return text;
}

// ─── What a fill moves ────────────────────────────────────────────────────────────────────────

/** The parameters of `fillAmounts`. */
export interface FillAmountsParameters {
  lots: bigint;
  priceTicks: bigint;
  /** The market's lot and tick sizes (decimals are not needed). */
  market: Pick<MarketUnits, "lotSize" | "tickSize">;
  /** A fee in basis points of the quote amount (the market's maker or taker fee), if any. */
  feeBps?: bigint | undefined;
}

/** Atoms that `lots` at `priceTicks` move, and the fee on them. */
export interface FillAmountsReturnType {
  /** `lots * lotSize`: what the seller gives and the buyer gets. */
  baseAtoms: bigint;
  /** `lots * priceTicks * tickSize`: the price of the base, before fees. */
  quoteAtoms: bigint;
  /** `quoteAtoms * feeBps / 10000`, rounded down as the Exchange does (0 without `feeBps`). */
  feeAtoms: bigint;
}

/**
 * The token atoms a fill moves, computed as the Exchange does: a buyer pays `quoteAtoms + feeAtoms`
 * of the quote token and a seller receives `quoteAtoms - feeAtoms`, each with its own side's fee.
 *
 * @example
 * import { fillAmounts } from "@crossbook/sdk";
 * fillAmounts({ lots: 25n, priceTicks: 183450n, market: { lotSize: 10n ** 16n, tickSize: 100n }, feeBps: 10n });
 * // { baseAtoms: 250000000000000000n, quoteAtoms: 458625000n, feeAtoms: 458625n }
 */
export function fillAmounts(parameters: FillAmountsParameters): FillAmountsReturnType {
  const { lots, priceTicks, market, feeBps = 0n } = parameters;
  const quoteAtoms = lots * priceTicks * market.tickSize;
  return { baseAtoms: lots * market.lotSize, quoteAtoms, feeAtoms: (quoteAtoms * feeBps) / 10_000n };
}
