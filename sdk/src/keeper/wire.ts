/**
 * The keeper's JSON (keeper/API.md) to and from SDK types, defined once for both sides: the records
 * as the SDK gives them (`KeeperTrade`, …, every integer a `bigint`), their JSON as the keeper writes
 * it (`KeeperTradeJson` = `Wire<KeeperTrade>`: every `bigint` a decimal string), the requests and
 * feed messages, and the lists of states, events and outcomes. The keeper builds its answers as these
 * types (keeper/src/api/wire.ts), and the decoders here read them by the same keys, so a field that
 * one side renames or a state that one side adds fails to compile on the other.
 *
 * Decoding checks the shape of what the keeper sent (a safe-integer JSON number is accepted where an
 * integer string is expected) and throws a `KeeperRequestError` (`KEEPER_BAD_RESPONSE`) naming the
 * field at fault, so that a keeper speaking another protocol fails loudly rather than as `NaN`.
 */
import type { Address, Hex } from "viem";
import { KeeperRequestError, type KeeperErrorCode } from "../errors";
import type { CancelAllMessage, CancelOrdersMessage, ScheduleCancelMessage } from "../keeperMessages";
import type { Market, Order, SignedOrder } from "../types";
import type { KeeperLevelChange } from "./localBook";

/** `T` as JSON on the keeper's wire: every `bigint` a decimal string, objects and arrays field by field. */
export type Wire<T> = T extends bigint
  ? string
  : T extends readonly (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

/** Order states, in the order an order goes through them (`rejected`: accepted once, refused later). */
export const KEEPER_ORDER_STATES = ["open", "partially-filled", "filled", "cancelled", "rejected"] as const;
/** A trade's settlement state. */
export const KEEPER_TRADE_STATUSES = ["matched", "settled", "skipped"] as const;
/** The events of the private orders channel. */
export const KEEPER_ORDER_EVENTS = [
  "accepted",
  "rejected",
  "partially-filled",
  "filled",
  "cancelled",
  "skipped",
  "settled",
] as const;
/**
 * Why the keeper cancelled an order (the `reason` of a cancelled order and of its update), the fixed
 * ones: a signed cancel (`soft-cancel`, `soft-cancel-all`), an amend, its expiry, an IOC/FOK remainder
 * that does not rest, a self-trade prevented, the dead-man switch (`disconnected`: a feed connection
 * with cancel-on-disconnect closed; `dead-man`: a `ScheduleCancel` deadline passed). keeper/API.md, "Order reasons", lists them all.
 */
export const KEEPER_CANCEL_REASONS = [
  "soft-cancel",
  "soft-cancel-all",
  "amended",
  "expired",
  "not-rested",
  "self-trade",
  "disconnected",
  "dead-man",
] as const;
/**
 * The reasons made of a prefix and what caused them: `skipped-<skip reason>` (a fill of the order was
 * skipped for it), `account-<skip reason>` (one of the account's fills was), `restore-` and `rematch-`
 * followed by the book's refusal when an order could not go back on the book, `KEEPER_SIMULATION_`
 * followed by the Exchange's error when the keeper's simulation blamed the order, and `chain-` followed
 * by the risk code when the trader's own on-chain action means the order can no longer fill.
 */
export const KEEPER_CANCEL_REASON_PREFIXES = [
  "skipped-",
  "account-",
  "restore-",
  "rematch-",
  "KEEPER_SIMULATION_",
  "chain-",
] as const;
/** An order's `reason` as the keeper sends it (a rejected one's: its refusal code). */
export type KeeperCancelReason =
  (typeof KEEPER_CANCEL_REASONS)[number] | `${(typeof KEEPER_CANCEL_REASON_PREFIXES)[number]}${string}`;

/** What a soft cancel did to each hash. */
export const KEEPER_CANCEL_OUTCOMES = ["cancelled", "not-found", "not-open", "not-owner"] as const;

/**
 * An order's status on the keeper: `rejected` for an order it refused a moment ago (it stores no
 * refusal; it remembers recent ones for a while).
 */
export type KeeperOrderState = (typeof KEEPER_ORDER_STATES)[number];

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
  status: (typeof KEEPER_TRADE_STATUSES)[number];
  txHash?: Hex | undefined;
  skipReason?: string | undefined;
  /** Unix milliseconds. */
  at: number;
}

/** The sides an account can have in a fill. */
export const KEEPER_FILL_SIDES = ["maker", "taker"] as const;

/**
 * One of an account's fills, from its side, as the private `fills` channel reports it: once when
 * matched, then again as its settlement state changes (`settled` with `txHash` and `blockNumber`, or
 * `skipped` with `skipReason`).
 */
export interface KeeperFill {
  /** The keeper's id of the fill (the trades channel's `fillId`). */
  fillId: number;
  marketId: bigint;
  /** Whether the account's order rested (`maker`) or took (`taker`). */
  side: (typeof KEEPER_FILL_SIDES)[number];
  /** The account's order in the fill: its hash, nonce (client order id) and side of the book. */
  orderHash: Hex;
  nonce: bigint;
  isBuy: boolean;
  /** The maker's price, in ticks per lot. */
  priceTicks: bigint;
  lots: bigint;
  /** The fee rate of the account's side, in basis points of the quote amount, as the keeper reads the market now. */
  feeBps: bigint;
  /** The fee in quote atoms: `lots × priceTicks × tickSize × feeBps / 10 000`, rounded down, as the Exchange charges it. */
  fee: bigint;
  status: (typeof KEEPER_TRADE_STATUSES)[number];
  txHash?: Hex | undefined;
  blockNumber?: bigint | undefined;
  skipReason?: string | undefined;
  /** The fill this one matches again (same orders and lots) after the chain skipped it for a passing reason. */
  retries?: number | undefined;
  /** Unix milliseconds of this state. */
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
  outcome: (typeof KEEPER_CANCEL_OUTCOMES)[number];
}

/** A market the keeper serves, with the risk limits and price bounds it read from the chain. */
export interface KeeperMarket extends Market {
  /** The base and quote tokens' ERC-20 `decimals()`: with `lotSize` and `tickSize`, the market's `MarketUnits`. */
  baseDecimals: number;
  quoteDecimals: number;
  riskLimits: { halted: boolean; bandBps: bigint; maxLotsPerBlock: bigint };
  priceBounds: { available: boolean; minPriceTicks: bigint; maxPriceTicks: bigint };
}

/** One event of an account's order, as the private `orders` channel reports it. */
export interface KeeperOrderUpdate {
  hash: Hex;
  marketId: bigint;
  event: (typeof KEEPER_ORDER_EVENTS)[number];
  status: KeeperOrderState;
  filledLots: bigint;
  remainingLots: bigint;
  reason?: string | undefined;
  /**
   * The fill this update reports, the `fillId` of its trade: on every `partially-filled` or `filled`
   * update a match caused (one update per fill), and on `settled` and `skipped`.
   */
  fillId?: number | undefined;
  txHash?: Hex | undefined;
  /** Unix milliseconds. */
  at: number;
}

// ── The JSON on the wire (keeper/API.md): what the keeper writes and the SDK reads ──

/** An order as JSON: `{ maker, marketId: "1", isBuy, flags: "0", … }`. */
export type OrderJson = Wire<Order>;
export type KeeperTradeJson = Wire<KeeperTrade>;
export type KeeperLevelJson = Wire<KeeperLevel>;
export type KeeperLevelChangeJson = Wire<KeeperLevelChange>;
/** An order of the account in a batch: by its hash, or by its nonce (the maker's own id for it). */
export type KeeperOrderRef = { hash: Hex } | { nonce: bigint };

/** One action of `POST /v1/orders/batch`, in order: place a signed order, cancel one, or amend (cancel-replace) one. */
export type KeeperBatchAction =
  | { place: SignedOrder }
  | { cancel: KeeperOrderRef }
  | { amend: { target: KeeperOrderRef; order: Order; signature: Hex } };

/** A refusal of one action of a batch: the HTTP status and code the same request alone would get. */
export interface KeeperBatchRefusal {
  ok: false;
  status: number;
  code: KeeperErrorCode;
  message: string;
  /** The refused order's (or the cancelled order's) hash, when known. */
  hash?: Hex | undefined;
}

/** The answer to one action of a batch, in the order of the actions. */
export type KeeperBatchResult =
  | { kind: "place"; ok: true; order: KeeperSubmitResult }
  | { kind: "amend"; ok: true; order: KeeperSubmitResult; replaced: Hex }
  | { kind: "cancel"; ok: true; hash: Hex }
  | ({ kind: "place" | "amend" | "cancel" } & KeeperBatchRefusal);

/** A book (`GET …/book`, the feed's book snapshot without `type` and `channel`); `seq` is a JSON number. */
export type KeeperBookJson = Omit<Wire<KeeperBook>, "seq"> & { seq: number };
/** An order's status; `settledLots` and `fills` only in `GET /v1/orders/{hash}`. */
export type KeeperOrderStatusJson = Wire<KeeperOrderStatus>;
export type KeeperSubmitResultJson = Wire<KeeperSubmitResult>;
export type KeeperCancelResultJson = Wire<KeeperCancelResult>;
export type KeeperMarketJson = Wire<KeeperMarket>;
export type KeeperOrderUpdateJson = Wire<KeeperOrderUpdate>;
export type KeeperFillJson = Wire<KeeperFill>;

/** `POST /v1/orders`. */
export interface SubmitOrderRequestJson {
  order: OrderJson;
  signature: Hex;
}
/** `POST /v1/orders/batch`. */
export interface BatchRequestJson {
  account: Address;
  actions: Wire<KeeperBatchAction>[];
}
export type KeeperBatchResultJson = Wire<KeeperBatchResult>;
/** `POST /v1/cancels`: the signed `CancelOrders` message. */
export interface CancelOrdersRequestJson {
  cancel: Wire<CancelOrdersMessage>;
  signature: Hex;
}
/** `POST /v1/cancels/all`: the signed `CancelAll` message. */
export interface CancelAllRequestJson {
  cancelAll: Wire<CancelAllMessage>;
  signature: Hex;
}
/** The body of every refusal, with the HTTP status of keeper/API.md's table. */
export interface KeeperErrorBodyJson {
  error: { code: KeeperErrorCode; message: string; details?: Record<string, unknown> | undefined };
}

/** A message a feed client sends. */
export type KeeperFeedRequestJson =
  | { op: "subscribe" | "unsubscribe"; channel: "book" | "trades"; marketId: string }
  | { op: "subscribe" | "unsubscribe"; channel: "orders" }
  /** `limit`: fills in the snapshot, newest (1 to 1,000; default 100). */
  | { op: "subscribe"; channel: "fills"; limit?: number | undefined }
  | { op: "unsubscribe"; channel: "fills" }
  | { op: "challenge" }
  | { op: "login"; account: Address; signature: Hex };

/** A message the feed sends. Channel messages carry `seq`: the channel's count of messages, from 1. */
export type KeeperFeedMessageJson =
  | ({ type: "snapshot"; channel: "book" } & KeeperBookJson)
  | { type: "delta"; channel: "book"; marketId: string; seq: number; levels: KeeperLevelChangeJson[] }
  | { type: "snapshot"; channel: "trades"; marketId: string; seq: number; trades: KeeperTradeJson[] }
  | { type: "trade"; channel: "trades"; marketId: string; seq: number; trade: KeeperTradeJson }
  | { type: "snapshot"; channel: "orders"; account: Address; seq: number; orders: KeeperOrderStatusJson[] }
  | { type: "order"; channel: "orders"; account: Address; seq: number; update: KeeperOrderUpdateJson }
  | { type: "snapshot"; channel: "fills"; account: Address; seq: number; fills: KeeperFillJson[] }
  | { type: "fill"; channel: "fills"; account: Address; seq: number; fill: KeeperFillJson }
  | { type: "challenge"; challenge: Hex }
  | { type: "login"; account: Address }
  | { type: "subscribed" | "unsubscribed"; channel: "book" | "trades"; marketId: string }
  | { type: "subscribed" | "unsubscribed"; channel: "orders" | "fills" }
  | { type: "error"; code: KeeperErrorCode; message: string }
  /**
   * The answer to an order-entry request (`KeeperFeedOrderRequestJson`) under its `id`: the HTTP
   * status and body the same request gets over HTTP (a refusal's body is `KeeperErrorBodyJson`).
   */
  | { type: "result"; id: string; status: number; body: unknown; retryAfterSeconds?: number | undefined };

/** `POST /v1/cancels/schedule`: the signed `ScheduleCancel` message. */
export interface ScheduleCancelRequestJson {
  scheduleCancel: Wire<ScheduleCancelMessage>;
  signature: Hex;
}

/**
 * An order-entry request on the feed (after login), each with the client's `id` for its `result`:
 * the body of the HTTP request it mirrors (`place`: `POST /v1/orders`, `cancel`: `POST /v1/cancels`,
 * `batch`: `POST /v1/orders/batch` without `account`, `amend`: one batch amend, `scheduleCancel`:
 * `POST /v1/cancels/schedule`), or cancel-on-disconnect on or off for the connection.
 */
export type KeeperFeedOrderRequestJson = { id: string } & (
  | ({ op: "place" } & SubmitOrderRequestJson)
  | ({ op: "cancel" } & CancelOrdersRequestJson)
  | ({ op: "amend" } & Wire<Extract<KeeperBatchAction, { amend: unknown }>["amend"]>)
  | ({ op: "batch"; account?: Address } & Omit<BatchRequestJson, "account">)
  | ({ op: "scheduleCancel" } & ScheduleCancelRequestJson)
  | { op: "cancelOnDisconnect"; enabled: boolean }
);

/** An `Order` as the keeper takes it: every integer a decimal string. */
export function encodeOrder(order: Order): OrderJson {
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

/** The keys of a wire type `T`, for `Reader<T>`. */
type Key<T> = Extract<keyof T, string>;

/**
 * A field reader over untrusted JSON that names the path of whatever is wrong. `T` is the wire type
 * the JSON should be (`KeeperTradeJson`, …): only its keys can be read, so the decoders follow the
 * types the keeper writes.
 */
export class Reader<T = Record<string, unknown>> {
  constructor(
    private readonly value: Record<string, unknown>,
    private readonly path: string,
  ) {}

  static of<T = Record<string, unknown>>(value: unknown, path: string): Reader<T> {
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw badResponse(path, "an object", value);
    return new Reader<T>(value as Record<string, unknown>, path);
  }

  /** The same object, read as the wire type `U` (once its `type` said which message it is). */
  as<U>(): Reader<U> {
    return this as unknown as Reader<U>;
  }

  has(key: Key<T>): boolean {
    return this.value[key] !== undefined && this.value[key] !== null;
  }

  raw(key: Key<T>): unknown {
    return this.value[key];
  }

  object<K extends Key<T>>(key: K): Reader<NonNullable<T[K]>> {
    return Reader.of(this.value[key], `${this.path}.${key}`);
  }

  array<U>(key: Key<T>, item: (value: unknown, path: string) => U): U[] {
    const value = this.value[key];
    if (!Array.isArray(value)) throw badResponse(`${this.path}.${key}`, "an array", value);
    return value.map((v, i) => item(v, `${this.path}.${key}[${i}]`));
  }

  bigint(key: Key<T>): bigint {
    return toBigInt(this.value[key], `${this.path}.${key}`);
  }

  number(key: Key<T>): number {
    const value = this.value[key];
    if (typeof value !== "number" || !Number.isFinite(value))
      throw badResponse(`${this.path}.${key}`, "a number", value);
    return value;
  }

  boolean(key: Key<T>): boolean {
    const value = this.value[key];
    if (typeof value !== "boolean") throw badResponse(`${this.path}.${key}`, "a boolean", value);
    return value;
  }

  string(key: Key<T>): string {
    const value = this.value[key];
    if (typeof value !== "string") throw badResponse(`${this.path}.${key}`, "a string", value);
    return value;
  }

  hex(key: Key<T>): Hex {
    const value = this.string(key);
    if (!/^0x[0-9a-fA-F]*$/.test(value)) throw badResponse(`${this.path}.${key}`, "0x-prefixed hex", value);
    return value as Hex;
  }

  address(key: Key<T>): Address {
    const value = this.string(key);
    if (!/^0x[0-9a-fA-F]{40}$/.test(value)) throw badResponse(`${this.path}.${key}`, "an address", value);
    return value as Address;
  }

  oneOf<K extends Key<T>, V extends string>(key: K, allowed: readonly V[]): V {
    const value = this.string(key);
    if (!(allowed as readonly string[]).includes(value))
      throw badResponse(`${this.path}.${key}`, allowed.join(" | "), value);
    return value as V;
  }

  optionalString(key: Key<T>): string | undefined {
    return this.has(key) ? this.string(key) : undefined;
  }

  optionalHex(key: Key<T>): Hex | undefined {
    return this.has(key) ? this.hex(key) : undefined;
  }

  optionalNumber(key: Key<T>): number | undefined {
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

export function decodeOrder(value: unknown, path: string): Order {
  const r = Reader.of<OrderJson>(value, path);
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
  const r = Reader.of<KeeperTradeJson>(value, path);
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
    status: r.oneOf("status", KEEPER_TRADE_STATUSES),
    at: r.number("at"),
  };
  const txHash = r.optionalHex("txHash");
  if (txHash !== undefined) trade.txHash = txHash;
  const skipReason = r.optionalString("skipReason");
  if (skipReason !== undefined) trade.skipReason = skipReason;
  return trade;
}

export function decodeLevel(value: unknown, path: string): KeeperLevel {
  const r = Reader.of<KeeperLevelJson>(value, path);
  return { priceTicks: r.bigint("priceTicks"), lots: r.bigint("lots"), orders: r.number("orders") };
}

export function decodeBook(value: unknown, path: string): KeeperBook {
  const r = Reader.of<KeeperBookJson>(value, path);
  return {
    marketId: r.bigint("marketId"),
    seq: r.bigint("seq"),
    bids: r.array("bids", decodeLevel),
    asks: r.array("asks", decodeLevel),
  };
}

export function decodeOrderStatus(value: unknown, path: string): KeeperOrderStatus {
  const r = Reader.of<KeeperOrderStatusJson>(value, path);
  const status: KeeperOrderStatus = {
    hash: r.hex("hash"),
    order: decodeOrder(r.raw("order"), `${path}.order`),
    status: r.oneOf("status", KEEPER_ORDER_STATES),
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
  const r = Reader.of<KeeperSubmitResultJson>(value, path);
  const result: KeeperSubmitResult = {
    hash: r.hex("hash"),
    status: r.oneOf("status", KEEPER_ORDER_STATES),
    filledLots: r.bigint("filledLots"),
    remainingLots: r.bigint("remainingLots"),
    trades: r.has("trades") ? r.array("trades", decodeTrade) : [],
  };
  const reason = r.optionalString("reason");
  if (reason !== undefined) result.reason = reason;
  return result;
}

export function decodeBatchResult(value: unknown, path: string): KeeperBatchResult {
  const r = Reader.of<Record<string, unknown>>(value, path);
  const kind = r.oneOf("kind", ["place", "amend", "cancel"] as const);
  if (!r.boolean("ok")) {
    const hash = r.optionalHex("hash");
    return {
      kind,
      ok: false,
      status: r.number("status"),
      code: r.string("code") as KeeperErrorCode,
      message: r.string("message"),
      ...(hash === undefined ? {} : { hash }),
    };
  }
  if (kind === "cancel") return { kind, ok: true, hash: r.hex("hash") };
  const order = decodeSubmitResult(r.raw("order"), `${path}.order`);
  return kind === "amend" ? { kind, ok: true, order, replaced: r.hex("replaced") } : { kind, ok: true, order };
}

/** A batch action as JSON (`BatchRequestJson.actions`). */
export function encodeBatchAction(action: KeeperBatchAction): Wire<KeeperBatchAction> {
  const ref = (t: KeeperOrderRef) => ("hash" in t ? { hash: t.hash } : { nonce: t.nonce.toString() });
  if ("place" in action)
    return { place: { order: encodeOrder(action.place.order), signature: action.place.signature } };
  if ("cancel" in action) return { cancel: ref(action.cancel) };
  const { target, order, signature } = action.amend;
  return { amend: { target: ref(target), order: encodeOrder(order), signature } };
}

export function decodeCancelResult(value: unknown, path: string): KeeperCancelResult {
  const r = Reader.of<KeeperCancelResultJson>(value, path);
  return {
    hash: r.hex("hash"),
    outcome: r.oneOf("outcome", KEEPER_CANCEL_OUTCOMES),
  };
}

export function decodeMarket(value: unknown, path: string): KeeperMarket {
  const r = Reader.of<KeeperMarketJson>(value, path);
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
    baseDecimals: r.number("baseDecimals"),
    quoteDecimals: r.number("quoteDecimals"),
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
  const r = Reader.of<KeeperOrderUpdateJson>(value, path);
  const update: KeeperOrderUpdate = {
    hash: r.hex("hash"),
    marketId: r.bigint("marketId"),
    event: r.oneOf("event", KEEPER_ORDER_EVENTS),
    status: r.oneOf("status", KEEPER_ORDER_STATES),
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

export function decodeFill(value: unknown, path: string): KeeperFill {
  const r = Reader.of<KeeperFillJson>(value, path);
  const fill: KeeperFill = {
    fillId: r.number("fillId"),
    marketId: r.bigint("marketId"),
    side: r.oneOf("side", KEEPER_FILL_SIDES),
    orderHash: r.hex("orderHash"),
    nonce: r.bigint("nonce"),
    isBuy: r.boolean("isBuy"),
    priceTicks: r.bigint("priceTicks"),
    lots: r.bigint("lots"),
    feeBps: r.bigint("feeBps"),
    fee: r.bigint("fee"),
    status: r.oneOf("status", KEEPER_TRADE_STATUSES),
    at: r.number("at"),
  };
  const txHash = r.optionalHex("txHash");
  if (txHash !== undefined) fill.txHash = txHash;
  if (r.has("blockNumber")) fill.blockNumber = r.bigint("blockNumber");
  const skipReason = r.optionalString("skipReason");
  if (skipReason !== undefined) fill.skipReason = skipReason;
  const retries = r.optionalNumber("retries");
  if (retries !== undefined) fill.retries = retries;
  return fill;
}
