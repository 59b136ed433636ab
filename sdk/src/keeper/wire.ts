/**
 * The keeper's JSON (keeper/API.md) to and from SDK types. On the wire every integer is a decimal
 * string (a safe-integer JSON number is accepted too); in the SDK it is a `bigint`. Decoding checks
 * the shape of what the keeper sent and throws a `KeeperRequestError` (`KEEPER_BAD_RESPONSE`) naming
 * the field at fault, so that a keeper speaking another protocol fails loudly rather than as `NaN`.
 */
import type { Address, Hex } from "viem";
import { KeeperRequestError } from "../errors";
import type { Market, Order } from "../types";

/**
 * An order's status on the keeper: `rejected` for an order it refused a moment ago (it stores no
 * refusal; it remembers recent ones for a while).
 */
export type KeeperOrderState = "open" | "partially-filled" | "filled" | "cancelled" | "rejected";

/** One match of the keeper: `matched` off-chain, then `settled` (with `txHash`) or `skipped` on-chain. */
export interface KeeperTrade {
  /** The keeper's id of the fill (with `status`, it identifies one message of the trades channel). */
  fillId: number;
  marketId: bigint;
  makerHash: Hex;
  takerHash: Hex;
  maker: Address;
  taker: Address;
  makerIsBuy: boolean;
  /** The maker's price, in ticks per lot. */
  priceTicks: bigint;
  lots: bigint;
  status: "matched" | "settled" | "skipped";
  txHash?: Hex | undefined;
  skipReason?: string | undefined;
  /** Unix milliseconds. */
  at: number;
}

/** One aggregated price level of a book. */
export interface KeeperLevel {
  priceTicks: bigint;
  lots: bigint;
  /** How many orders rest at this price. */
  orders: number;
}

/** A market's book: bids best (highest) first, asks best (lowest) first, as of the book channel's `seq`. */
export interface KeeperBook {
  marketId: bigint;
  seq: bigint;
  bids: KeeperLevel[];
  asks: KeeperLevel[];
}

/** What the keeper knows of one order. `fills` only in `getOrder`. The keeper serves no signature. */
export interface KeeperOrderStatus {
  hash: Hex;
  order: Order;
  status: KeeperOrderState;
  /** Why it was cancelled or rejected: a rejection's code, `soft-cancel`, `expired`, `not-rested`, … */
  reason?: string | undefined;
  filledLots: bigint;
  remainingLots: bigint;
  /**
   * The lots of its fills settled on-chain. Always in `getOrder`; the keeper may leave it out of
   * lists (`getOpenOrders`, the orders channel's snapshot).
   */
  settledLots?: bigint | undefined;
  /** In `getOrder`: a page of its fills, newest first. */
  fills?: KeeperTrade[] | undefined;
  /** Unix milliseconds. */
  createdAt: number;
  /** Unix milliseconds. */
  updatedAt: number;
}

/** The keeper's answer to a submitted order: what matched at once. */
export interface KeeperSubmitResult {
  hash: Hex;
  status: KeeperOrderState;
  reason?: string | undefined;
  filledLots: bigint;
  remainingLots: bigint;
  trades: KeeperTrade[];
}

/** The outcome of a soft cancel, hash by hash. */
export interface KeeperCancelResult {
  hash: Hex;
  outcome: "cancelled" | "not-found" | "not-open" | "not-owner";
}

/** A market the keeper serves, with the risk limits and price bounds it read from the chain. */
export interface KeeperMarket extends Market {
  riskLimits: { halted: boolean; bandBps: bigint; maxLotsPerBlock: bigint };
  priceBounds: { available: boolean; minPriceTicks: bigint; maxPriceTicks: bigint };
}

/** One event of an account's order, as the private `orders` channel reports it. */
export interface KeeperOrderUpdate {
  hash: Hex;
  marketId: bigint;
  event: "accepted" | "rejected" | "partially-filled" | "filled" | "cancelled" | "skipped" | "settled";
  status: KeeperOrderState;
  filledLots: bigint;
  remainingLots: bigint;
  reason?: string | undefined;
  fillId?: number | undefined;
  txHash?: Hex | undefined;
  /** Unix milliseconds. */
  at: number;
}

/** An `Order` as the keeper takes it: every integer a decimal string. */
export function encodeOrder(order: Order): Record<keyof Order, string | boolean> {
  return {
    maker: order.maker,
    marketId: order.marketId.toString(),
    isBuy: order.isBuy,
    flags: order.flags.toString(),
    maxFeeBps: order.maxFeeBps.toString(),
    expiry: order.expiry.toString(),
    nonce: order.nonce.toString(),
    priceTicks: order.priceTicks.toString(),
    lots: order.lots.toString(),
  };
}

/** A field reader over untrusted JSON that names the path of whatever is wrong. */
export class Reader {
  constructor(
    private readonly value: Record<string, unknown>,
    private readonly path: string,
  ) {}

  static of(value: unknown, path: string): Reader {
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw badResponse(path, "an object", value);
    return new Reader(value as Record<string, unknown>, path);
  }

  has(key: string): boolean {
    return this.value[key] !== undefined && this.value[key] !== null;
  }

  raw(key: string): unknown {
    return this.value[key];
  }

  object(key: string): Reader {
    return Reader.of(this.value[key], `${this.path}.${key}`);
  }

  array<T>(key: string, item: (value: unknown, path: string) => T): T[] {
    const value = this.value[key];
    if (!Array.isArray(value)) throw badResponse(`${this.path}.${key}`, "an array", value);
    return value.map((v, i) => item(v, `${this.path}.${key}[${i}]`));
  }

  bigint(key: string): bigint {
    return toBigInt(this.value[key], `${this.path}.${key}`);
  }

  number(key: string): number {
    const value = this.value[key];
    if (typeof value !== "number" || !Number.isFinite(value))
      throw badResponse(`${this.path}.${key}`, "a number", value);
    return value;
  }

  boolean(key: string): boolean {
    const value = this.value[key];
    if (typeof value !== "boolean") throw badResponse(`${this.path}.${key}`, "a boolean", value);
    return value;
  }

  string(key: string): string {
    const value = this.value[key];
    if (typeof value !== "string") throw badResponse(`${this.path}.${key}`, "a string", value);
    return value;
  }

  hex(key: string): Hex {
    const value = this.string(key);
    if (!/^0x[0-9a-fA-F]*$/.test(value)) throw badResponse(`${this.path}.${key}`, "0x-prefixed hex", value);
    return value as Hex;
  }

  address(key: string): Address {
    const value = this.string(key);
    if (!/^0x[0-9a-fA-F]{40}$/.test(value)) throw badResponse(`${this.path}.${key}`, "an address", value);
    return value as Address;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T {
    const value = this.string(key);
    if (!(allowed as readonly string[]).includes(value))
      throw badResponse(`${this.path}.${key}`, allowed.join(" | "), value);
    return value as T;
  }

  optionalString(key: string): string | undefined {
    return this.has(key) ? this.string(key) : undefined;
  }

  optionalHex(key: string): Hex | undefined {
    return this.has(key) ? this.hex(key) : undefined;
  }

  optionalNumber(key: string): number | undefined {
    return this.has(key) ? this.number(key) : undefined;
  }
}

/** A wire integer: a decimal string of digits, or a JSON number that is a safe integer. */
export function toBigInt(value: unknown, path: string): bigint {
  if (typeof value === "string" && /^(0|[1-9][0-9]*)$/.test(value)) return BigInt(value);
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw badResponse(path, "a non-negative decimal integer string", value);
}

function badResponse(path: string, expected: string, value: unknown): KeeperRequestError {
  const got = value === undefined ? "nothing" : JSON.stringify(value)?.slice(0, 80);
  return new KeeperRequestError(`The keeper sent an unexpected answer: ${path} should be ${expected}, got ${got}`, {
    code: "KEEPER_BAD_RESPONSE",
    details: { path, expected, value },
  });
}

const ORDER_STATES = ["open", "partially-filled", "filled", "cancelled", "rejected"] as const;

export function decodeOrder(value: unknown, path: string): Order {
  const r = Reader.of(value, path);
  return {
    maker: r.address("maker"),
    marketId: r.bigint("marketId"),
    isBuy: r.boolean("isBuy"),
    flags: r.bigint("flags"),
    maxFeeBps: r.bigint("maxFeeBps"),
    expiry: r.bigint("expiry"),
    nonce: r.bigint("nonce"),
    priceTicks: r.bigint("priceTicks"),
    lots: r.bigint("lots"),
  };
}

export function decodeTrade(value: unknown, path: string): KeeperTrade {
  const r = Reader.of(value, path);
  const trade: KeeperTrade = {
    fillId: r.number("fillId"),
    marketId: r.bigint("marketId"),
    makerHash: r.hex("makerHash"),
    takerHash: r.hex("takerHash"),
    maker: r.address("maker"),
    taker: r.address("taker"),
    makerIsBuy: r.boolean("makerIsBuy"),
    priceTicks: r.bigint("priceTicks"),
    lots: r.bigint("lots"),
    status: r.oneOf("status", ["matched", "settled", "skipped"] as const),
    at: r.number("at"),
  };
  const txHash = r.optionalHex("txHash");
  if (txHash !== undefined) trade.txHash = txHash;
  const skipReason = r.optionalString("skipReason");
  if (skipReason !== undefined) trade.skipReason = skipReason;
  return trade;
}

export function decodeLevel(value: unknown, path: string): KeeperLevel {
  const r = Reader.of(value, path);
  return { priceTicks: r.bigint("priceTicks"), lots: r.bigint("lots"), orders: r.number("orders") };
}

export function decodeBook(value: unknown, path: string): KeeperBook {
  const r = Reader.of(value, path);
  return {
    marketId: r.bigint("marketId"),
    seq: r.bigint("seq"),
    bids: r.array("bids", decodeLevel),
    asks: r.array("asks", decodeLevel),
  };
}

export function decodeOrderStatus(value: unknown, path: string): KeeperOrderStatus {
  const r = Reader.of(value, path);
  const status: KeeperOrderStatus = {
    hash: r.hex("hash"),
    order: decodeOrder(r.raw("order"), `${path}.order`),
    status: r.oneOf("status", ORDER_STATES),
    filledLots: r.bigint("filledLots"),
    remainingLots: r.bigint("remainingLots"),
    createdAt: r.number("createdAt"),
    updatedAt: r.number("updatedAt"),
  };
  const reason = r.optionalString("reason");
  if (reason !== undefined) status.reason = reason;
  if (r.has("settledLots")) status.settledLots = r.bigint("settledLots");
  if (r.has("fills")) status.fills = r.array("fills", decodeTrade);
  return status;
}

export function decodeSubmitResult(value: unknown, path: string): KeeperSubmitResult {
  const r = Reader.of(value, path);
  const result: KeeperSubmitResult = {
    hash: r.hex("hash"),
    status: r.oneOf("status", ORDER_STATES),
    filledLots: r.bigint("filledLots"),
    remainingLots: r.bigint("remainingLots"),
    trades: r.has("trades") ? r.array("trades", decodeTrade) : [],
  };
  const reason = r.optionalString("reason");
  if (reason !== undefined) result.reason = reason;
  return result;
}

export function decodeCancelResult(value: unknown, path: string): KeeperCancelResult {
  const r = Reader.of(value, path);
  return {
    hash: r.hex("hash"),
    outcome: r.oneOf("outcome", ["cancelled", "not-found", "not-open", "not-owner"] as const),
  };
}

export function decodeMarket(value: unknown, path: string): KeeperMarket {
  const r = Reader.of(value, path);
  const risk = r.object("riskLimits");
  const bounds = r.object("priceBounds");
  return {
    marketId: r.bigint("marketId"),
    base: r.address("base"),
    quote: r.address("quote"),
    lotSize: r.bigint("lotSize"),
    tickSize: r.bigint("tickSize"),
    makerFeeBps: r.bigint("makerFeeBps"),
    takerFeeBps: r.bigint("takerFeeBps"),
    riskLimits: {
      halted: risk.boolean("halted"),
      bandBps: risk.bigint("bandBps"),
      maxLotsPerBlock: risk.bigint("maxLotsPerBlock"),
    },
    priceBounds: {
      available: bounds.boolean("available"),
      minPriceTicks: bounds.bigint("minPriceTicks"),
      maxPriceTicks: bounds.bigint("maxPriceTicks"),
    },
  };
}

export function decodeOrderUpdate(value: unknown, path: string): KeeperOrderUpdate {
  const r = Reader.of(value, path);
  const update: KeeperOrderUpdate = {
    hash: r.hex("hash"),
    marketId: r.bigint("marketId"),
    event: r.oneOf("event", [
      "accepted",
      "rejected",
      "partially-filled",
      "filled",
      "cancelled",
      "skipped",
      "settled",
    ] as const),
    status: r.oneOf("status", ORDER_STATES),
    filledLots: r.bigint("filledLots"),
    remainingLots: r.bigint("remainingLots"),
    at: r.number("at"),
  };
  const reason = r.optionalString("reason");
  if (reason !== undefined) update.reason = reason;
  const fillId = r.optionalNumber("fillId");
  if (fillId !== undefined) update.fillId = fillId;
  const txHash = r.optionalHex("txHash");
  if (txHash !== undefined) update.txHash = txHash;
  return update;
}
