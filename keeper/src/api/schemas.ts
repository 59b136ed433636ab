/**
 * The shapes of every request the API takes (HTTP bodies, path and query parameters, feed
 * messages), as zod schemas that also convert: integers arrive as decimal strings (or safe JSON
 * integers) and leave as `bigint`s bounded by their Solidity type. Unknown fields are refused.
 * `parse` turns a failure into a `BAD_REQUEST` with the invalid fields listed.
 */
import { z } from "zod";
import { getAddress, type Address, type Hex } from "viem";
import { MAX_UINT16, MAX_UINT32, MAX_UINT40, MAX_UINT64, MAX_UINT8, type Order } from "@crossbook/sdk";
import type {
  CancelAllRequestJson,
  CancelOrdersRequestJson,
  KeeperFeedOrderRequestJson,
  KeeperFeedRequestJson,
  ScheduleCancelRequestJson,
  SubmitOrderRequestJson,
} from "@crossbook/sdk/keeper-wire";
import { ApiError } from "./errors";

const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;

/** An unsigned integer of at most `max`: a canonical decimal string, or a safe non-negative JSON integer. */
export function uint(max: bigint, min = 0n) {
  return z
    .union([
      z.string().regex(DECIMAL, 'expected a decimal integer string such as "25"'),
      z
        .number()
        .int("expected an integer")
        .nonnegative()
        .max(Number.MAX_SAFE_INTEGER, "unsafe JSON number: send a string"),
    ])
    .transform((v, ctx) => {
      const n = BigInt(v);
      if (n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `out of range: expected ${min}..${max}` });
        return z.NEVER;
      }
      return n;
    });
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const SIGNATURE = /^0x([0-9a-fA-F]{2})+$/;

export const address = z
  .string()
  .regex(ADDRESS, "expected an address: 0x and 40 hex digits")
  .transform((a) => getAddress(a.toLowerCase()) as Address);

export const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "expected 0x and 64 hex digits")
  .transform((h) => h.toLowerCase() as Hex);

/** A signature: ECDSA (65 bytes) or a contract wallet's (any length the body allows). */
export const signature = z
  .string()
  .regex(SIGNATURE, "expected a hex signature: 0x and an even number of hex digits")
  .transform((h) => h as Hex);

/** The largest value of each integer field of an order (its Solidity type's). */
const ORDER_UINT_MAX = {
  marketId: MAX_UINT32,
  flags: MAX_UINT8,
  maxFeeBps: MAX_UINT16,
  expiry: MAX_UINT40,
  nonce: MAX_UINT64,
  priceTicks: MAX_UINT64,
  lots: MAX_UINT64,
} as const;

export const orderSchema = z.strictObject({
  maker: address,
  marketId: uint(ORDER_UINT_MAX.marketId),
  isBuy: z.boolean(),
  flags: uint(ORDER_UINT_MAX.flags),
  maxFeeBps: uint(ORDER_UINT_MAX.maxFeeBps),
  expiry: uint(ORDER_UINT_MAX.expiry),
  nonce: uint(ORDER_UINT_MAX.nonce),
  priceTicks: uint(ORDER_UINT_MAX.priceTicks),
  lots: uint(ORDER_UINT_MAX.lots),
}) satisfies z.ZodType<Order, unknown>;

export const submitOrderBody = z.strictObject({ order: orderSchema, signature });

/**
 * `submitOrderBody` without zod, for the body as order entry nearly always gets it (the SDK's
 * shape): the same value `submitOrderBody.parse` gives, or undefined for anything it does not take
 * at once — `parse` then asks zod, which accepts it or says what is wrong. Every signed order
 * passes here (a shard's, a gateway's), and zod cost about a third of a signature recovery each.
 */
export function submitOrderBodyAtOnce(input: unknown): z.output<typeof submitOrderBody> | undefined {
  if (!hasExactly(input, ["order", "signature"])) return undefined;
  const { order: o, signature: sig } = input;
  if (typeof sig !== "string" || !SIGNATURE.test(sig) || !hasExactly(o, ORDER_KEYS)) return undefined;
  if (typeof o.maker !== "string" || !ADDRESS.test(o.maker) || typeof o.isBuy !== "boolean") return undefined;
  const marketId = uintAtOnce(o.marketId, ORDER_UINT_MAX.marketId);
  const flags = uintAtOnce(o.flags, ORDER_UINT_MAX.flags);
  const maxFeeBps = uintAtOnce(o.maxFeeBps, ORDER_UINT_MAX.maxFeeBps);
  const expiry = uintAtOnce(o.expiry, ORDER_UINT_MAX.expiry);
  const nonce = uintAtOnce(o.nonce, ORDER_UINT_MAX.nonce);
  const priceTicks = uintAtOnce(o.priceTicks, ORDER_UINT_MAX.priceTicks);
  const lots = uintAtOnce(o.lots, ORDER_UINT_MAX.lots);
  if (
    marketId === undefined ||
    flags === undefined ||
    maxFeeBps === undefined ||
    expiry === undefined ||
    nonce === undefined ||
    priceTicks === undefined ||
    lots === undefined
  ) {
    return undefined;
  }
  const maker = getAddress(o.maker.toLowerCase()) as Address;
  return {
    order: { maker, marketId, isBuy: o.isBuy, flags, maxFeeBps, expiry, nonce, priceTicks, lots },
    signature: sig as Hex,
  };
}

const ORDER_KEYS = Object.keys(orderSchema.shape);

/** Whether `value` is a plain object (as JSON gives) with exactly these keys. */
function hasExactly(value: unknown, keys: readonly string[]): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false;
  const own = Object.keys(value);
  return own.length === keys.length && keys.every((k) => Object.hasOwn(value, k));
}

/** What `uint(max)` gives for `v`, or undefined where it would not take it. */
function uintAtOnce(v: unknown, max: bigint): bigint | undefined {
  if (typeof v === "string") {
    if (!DECIMAL.test(v)) return undefined;
  } else if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) return undefined;
  const n = BigInt(v);
  return n <= max ? n : undefined;
}

/** Schemas with a parser that takes their usual input without zod (`parse` tries it first). */
const AT_ONCE = new Map<z.ZodType, (input: unknown) => unknown>([[submitOrderBody, submitOrderBodyAtOnce]]);

export const MAX_CANCEL_HASHES = 100;

export const cancelBody = z.strictObject({
  cancel: z.strictObject({
    maker: address,
    orderHashes: z.array(bytes32).min(1).max(MAX_CANCEL_HASHES),
    issuedAt: uint(MAX_UINT64),
  }),
  signature,
});

export const cancelAllBody = z.strictObject({
  cancelAll: z.strictObject({ maker: address, marketId: uint(MAX_UINT32), issuedAt: uint(MAX_UINT64) }),
  signature,
});

/** `POST /v1/cancels/schedule` (and the feed's `scheduleCancel`): the signed `ScheduleCancel` message. */
export const scheduleCancelBody = z.strictObject({
  scheduleCancel: z.strictObject({ account: address, at: uint(MAX_UINT64), issuedAt: uint(MAX_UINT64) }),
  signature,
});

/** The most actions a batch's schema takes; the keeper's setting `maxBatchActions` (default 20) is what it serves. */
export const MAX_BATCH_ACTIONS = 100;

/** An order of the account: by its hash, or by its nonce (the maker's own id for it). */
export const orderRef = z.union([z.strictObject({ hash: bytes32 }), z.strictObject({ nonce: uint(MAX_UINT64) })]);

/** `POST /v1/orders/batch`: one account's places, cancels and amends, in order (the account's session authorises the cancels). */
export const batchBody = z.strictObject({
  account: address,
  actions: z
    .array(
      z.union([
        z.strictObject({ place: submitOrderBody }),
        z.strictObject({ cancel: orderRef }),
        z.strictObject({ amend: z.strictObject({ target: orderRef, order: orderSchema, signature }) }),
      ]),
    )
    .min(1)
    .max(MAX_BATCH_ACTIONS),
});

/** One action of a batch, checked. */
export type BatchAction = z.infer<typeof batchBody>["actions"][number];
/** The signed order a batch action carries (a `place`'s or an `amend`'s), if any. */
export const signedOrderOf = (action: BatchAction): { order: Order; signature: Hex } | undefined =>
  "place" in action ? action.place : "amend" in action ? action.amend : undefined;

export const hashParams = z.strictObject({ hash: bytes32 });
export const accountParams = z.strictObject({ address });
export const nonceParams = z.strictObject({ address, nonce: uint(MAX_UINT64) });
export const marketParams = z.strictObject({ marketId: uint(MAX_UINT32) });

/** A query integer in `1..max`, `fallback` when absent. */
function queryInt(max: number, fallback: number) {
  return z
    .string()
    .regex(/^[1-9][0-9]{0,6}$/, `expected an integer 1..${max}`)
    .transform(Number)
    .pipe(z.number().max(max, `expected an integer 1..${max}`))
    .default(fallback);
}

export const accountOrdersQuery = z.strictObject({
  status: z.enum(["open", "all"]).default("open"),
  limit: queryInt(1000, 100),
  /** The `next` of the page before: `<createdAt>:<hash>`. */
  before: z
    .string()
    .regex(/^[0-9]{1,16}:0x[0-9a-fA-F]{64}$/, "expected the next cursor of a page: <createdAt>:<hash>")
    .optional(),
});
/** `POST /v1/sessions`: the account, the keeper's challenge, and the account's `FeedLogin` signature over both. */
export const sessionBody = z.strictObject({ account: address, challenge: bytes32, signature });
export const bookQuery = z.strictObject({ depth: queryInt(1000, 50) });
export const tradesQuery = z.strictObject({
  limit: queryInt(1000, 100),
  /** Only trades with a smaller `fillId`: the next page of a walk back through the tape. */
  before: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, "expected a fill id, an integer from 1")
    .transform(Number)
    .optional(),
});
/**
 * A gateway's `GET /v1/accounts/{a}/fills` (keeper/src/cluster/fillPages.ts): `before` is the
 * gateway's own cursor, each shard's next fill id as `<shard>.<fillId>` joined by `-` (`0`: that
 * shard has no older fill), since fill ids are numbered per shard.
 */
export const gatewayFillsQuery = z.strictObject({
  limit: queryInt(1000, 100),
  before: z
    .string()
    .regex(
      /^[a-z0-9_]{1,32}\.(0|[1-9][0-9]{0,15})(-[a-z0-9_]{1,32}\.(0|[1-9][0-9]{0,15})){0,63}$/,
      "expected the next cursor of a gateway's page: <shard>.<fillId>-<shard>.<fillId>…",
    )
    .optional(),
});
/** An order's fills, newest first, by pages: as the trades. */
export const orderQuery = tradesQuery;
export const emptyQuery = z.strictObject({});
/** `?role=leader`: 200 only on the leader (for a load balancer that sends order entry there). */
export const readyQuery = z.strictObject({ role: z.enum(["leader"]).optional() });

/** A message a feed client sends. */
export const feedMessage = z.union([
  z.strictObject({ op: z.literal("subscribe"), channel: z.enum(["book", "trades"]), marketId: uint(MAX_UINT32) }),
  z.strictObject({ op: z.literal("unsubscribe"), channel: z.enum(["book", "trades"]), marketId: uint(MAX_UINT32) }),
  z.strictObject({ op: z.literal("subscribe"), channel: z.literal("orders") }),
  z.strictObject({ op: z.literal("unsubscribe"), channel: z.literal("orders") }),
  z.strictObject({
    op: z.literal("subscribe"),
    channel: z.literal("fills"),
    /** Fills in the snapshot, the newest. */
    limit: z.number().int().min(1).max(1000).optional(),
  }),
  z.strictObject({ op: z.literal("unsubscribe"), channel: z.literal("fills") }),
  z.strictObject({ op: z.literal("challenge") }),
  z.strictObject({ op: z.literal("login"), account: address, signature }),
  z.strictObject({ op: z.literal("login"), token: z.string().max(200) }),
]);
export type FeedMessage = z.infer<typeof feedMessage>;

/** The feed's order-entry operations (`./feedOrders`), each answered by a `result` carrying the request's `id`. */
export const FEED_ORDER_OPS = ["place", "cancel", "amend", "batch", "scheduleCancel", "cancelOnDisconnect"] as const;

/**
 * An order-entry message's envelope: its operation and the client's id for it. The rest of the
 * message is checked by the schema of the HTTP body it mirrors (`submitOrderBody`, `cancelBody`, …),
 * so that a bad request gets the same refusal either way, answered under its id.
 */
const requestId = z
  .string()
  .min(1, "expected the request's id")
  .max(64, "an id has at most 64 characters")
  .meta({ description: "the client's id for the request, echoed in its result" });
export const feedOrderEnvelope = z.looseObject({ op: z.enum(FEED_ORDER_OPS), id: requestId });
export type FeedOrderEnvelope = z.infer<typeof feedOrderEnvelope>;

/** The feed's `amend`: the `amend` action of a batch (`POST /v1/orders/batch`), alone. */
export const feedAmendBody = z.strictObject({ target: orderRef, order: orderSchema, signature });
/** The feed's `batch`: the body of `POST /v1/orders/batch`; `account`, when given, must be the login's. */
export const feedBatchBody = batchBody.extend({ account: address.optional() });
/** The feed's `cancelOnDisconnect`: on or off for this connection. */
export const cancelOnDisconnectBody = z.strictObject({ enabled: z.boolean() });

const envelope = <Op extends (typeof FEED_ORDER_OPS)[number]>(op: Op) => ({ op: z.literal(op), id: requestId });
/** Each order-entry message whole, as the AsyncAPI document describes it (named `<op>Request`). */
export const feedOrderMessages = {
  placeRequest: submitOrderBody.extend(envelope("place")).meta({ description: "POST /v1/orders on the feed" }),
  cancelRequest: cancelBody.extend(envelope("cancel")).meta({ description: "POST /v1/cancels on the feed" }),
  amendRequest: feedAmendBody
    .extend(envelope("amend"))
    .meta({ description: "one amend of POST /v1/orders/batch on the feed" }),
  batchRequest: feedBatchBody
    .extend(envelope("batch"))
    .meta({ description: "POST /v1/orders/batch on the feed, for the logged-in account" }),
  scheduleCancelRequest: scheduleCancelBody
    .extend(envelope("scheduleCancel"))
    .meta({ description: "POST /v1/cancels/schedule on the feed (the dead-man switch's heartbeat)" }),
  cancelOnDisconnectRequest: cancelOnDisconnectBody
    .extend(envelope("cancelOnDisconnect"))
    .meta({ description: "cancel every open order of the account when this connection closes (off by default)" }),
} as const;

/**
 * What the SDK sends — its request types in `@crossbook/sdk/keeper-wire` — these schemas take:
 * checked at compile time, so that neither side changes a request's shape alone.
 */
type Accepts<Input, Sent extends Input> = Sent;
/** The body of the feed's order-entry request `op`, without its envelope. */
type FeedOrderBody<Op extends KeeperFeedOrderRequestJson["op"]> = Omit<
  Extract<KeeperFeedOrderRequestJson, { op: Op }>,
  "op" | "id"
>;
export type SdkRequestsAccepted = [
  Accepts<z.input<typeof submitOrderBody>, SubmitOrderRequestJson>,
  Accepts<z.input<typeof cancelBody>, CancelOrdersRequestJson>,
  Accepts<z.input<typeof cancelAllBody>, CancelAllRequestJson>,
  Accepts<z.input<typeof feedMessage>, KeeperFeedRequestJson>,
  Accepts<z.input<typeof scheduleCancelBody>, ScheduleCancelRequestJson>,
  Accepts<z.input<typeof submitOrderBody>, FeedOrderBody<"place">>,
  Accepts<z.input<typeof cancelBody>, FeedOrderBody<"cancel">>,
  Accepts<z.input<typeof feedAmendBody>, FeedOrderBody<"amend">>,
  Accepts<z.input<typeof feedBatchBody>, FeedOrderBody<"batch">>,
  Accepts<z.input<typeof scheduleCancelBody>, FeedOrderBody<"scheduleCancel">>,
  Accepts<z.input<typeof cancelOnDisconnectBody>, FeedOrderBody<"cancelOnDisconnect">>,
];

/** The issues of a failed parse, as `details.issues`: `[{ path: "order.lots", message }]`. */
export function issuesOf(error: z.ZodError, prefix = ""): { path: string; message: string }[] {
  return error.issues.slice(0, 20).map((i) => ({
    path: [prefix, ...i.path.map(String)].filter((p) => p !== "").join("."),
    message: i.message,
  }));
}

/** Parses `input` with `schema`, or throws `BAD_REQUEST` naming what is wrong (`where`: body, query, path). */
export function parse<S extends z.ZodType>(schema: S, input: unknown, where: string): z.output<S> {
  const atOnce = AT_ONCE.get(schema)?.(input);
  if (atOnce !== undefined) return atOnce as z.output<S>;
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = issuesOf(result.error);
  const first = issues[0];
  throw new ApiError(
    "BAD_REQUEST",
    `invalid ${where}: ${first === undefined ? "bad input" : `${first.path || "(root)"}: ${first.message}`}`,
    { details: { issues } },
  );
}
