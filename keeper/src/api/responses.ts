/**
 * The shapes of every answer the API gives (HTTP bodies and feed messages), as zod schemas: what the
 * OpenAPI and AsyncAPI documents (`./openapi`) publish as JSON Schema, and what the tests validate
 * real answers against. Each is checked at compile time to be exactly the SDK's wire type of that
 * JSON (`@crossbook/sdk/keeper-wire`, which the keeper's builders in `./wire` return and the SDK's
 * decoders read), so a field changed on one side and not in the published schema fails to compile.
 * Each named schema carries an example, which the tests validate too.
 */
import { z } from "zod";
import type { Address, Hex } from "viem";
import { KEEPER_API_ERROR_CODES, SkipReason } from "@crossbook/sdk";
import {
  KEEPER_CANCEL_OUTCOMES,
  KEEPER_FILL_SIDES,
  KEEPER_ORDER_EVENTS,
  KEEPER_ORDER_STATES,
  KEEPER_TRADE_STATUSES,
  type KeeperBookJson,
  type KeeperCancelResultJson,
  type KeeperErrorBodyJson,
  type KeeperFeedMessageJson,
  type KeeperFillJson,
  type KeeperLevelChangeJson,
  type KeeperLevelJson,
  type KeeperMarketJson,
  type KeeperOrderStatusJson,
  type KeeperOrderUpdateJson,
  type KeeperSubmitResultJson,
  type KeeperTradeJson,
  type OrderJson,
} from "@crossbook/sdk/keeper-wire";

// The JSON Schema of a hex string is a pattern; its TypeScript type is viem's template literal.
const hexOf = (pattern: RegExp, description: string) =>
  z.string().regex(pattern).meta({ description }) as unknown as z.ZodType<Hex>;

/** A non-negative integer as a decimal string (every on-chain integer: it may exceed 2^53). */
export const integerString = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/)
  .meta({ description: "a non-negative integer as a decimal string", examples: ["25"] });
const addressJson = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/)
  .meta({ description: "an address, checksummed" }) as unknown as z.ZodType<Address>;
const hash32 = hexOf(/^0x[0-9a-f]{64}$/, "32 bytes, lower-case hex");
const txHash = hexOf(/^0x[0-9a-fA-F]{64}$/, "a transaction hash");
/** Unix milliseconds, a JSON number. */
const millis = z.number().int().nonnegative().meta({ description: "unix milliseconds" });
/** A sequence number of a feed channel (from 1; a JSON number: it never approaches 2^53). */
const seq = z.number().int().nonnegative().meta({ description: "the channel's sequence number" });

const ADDR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const ADDR2 = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const HASH: Hex = `0x${"1f".repeat(32)}`;
const HASH2: Hex = `0x${"2e".repeat(32)}`;
const ORDER_EXAMPLE = {
  maker: ADDR,
  marketId: "1",
  isBuy: true,
  flags: "0",
  maxFeeBps: "10",
  expiry: "4102444800",
  nonce: "7",
  priceTicks: "183450",
  lots: "25",
} satisfies OrderJson;
const TRADE_EXAMPLE = {
  fillId: 12,
  marketId: "1",
  makerHash: HASH,
  takerHash: HASH2,
  maker: ADDR,
  taker: ADDR2,
  makerIsBuy: false,
  priceTicks: "183450",
  lots: "5",
  status: "settled",
  txHash: `0x${"ab".repeat(32)}`,
  at: 1764700000123,
} satisfies KeeperTradeJson;
const MARKET_EXAMPLE = {
  marketId: "1",
  base: ADDR,
  quote: ADDR2,
  lotSize: "10000000000000000",
  tickSize: "100",
  makerFeeBps: "5",
  takerFeeBps: "10",
  baseDecimals: 18,
  quoteDecimals: 6,
  riskLimits: { halted: false, bandBps: "1000", maxLotsPerBlock: "0" },
  priceBounds: { available: true, minPriceTicks: "165105", maxPriceTicks: "201795" },
} satisfies KeeperMarketJson;

export const orderJsonSchema = z
  .strictObject({
    maker: addressJson,
    marketId: integerString,
    isBuy: z.boolean(),
    flags: integerString,
    maxFeeBps: integerString,
    expiry: integerString,
    nonce: integerString,
    priceTicks: integerString,
    lots: integerString,
  })
  .meta({
    id: "Order",
    description: "The EIP-712 order, field by field (keeper/API.md, Signed messages)",
    examples: [ORDER_EXAMPLE],
  });

/** A chain `SkipReason` name (its number is `SkipReason[name]`), or a keeper skip `KEEPER_…`. */
const skipReason = z.string().meta({
  description:
    "why settlement skipped the fill: the name of the Exchange's `SkipReason` (the number `FillSkipped` emits: " +
    Object.entries(SkipReason)
      .filter(([, v]) => typeof v === "number" && v !== 0)
      .map(([name, v]) => `${String(v)} ${name}`)
      .join(", ") +
    "), or `KEEPER_SIMULATION_<Error>` / `KEEPER_…` for a fill the keeper itself dropped before it reached the chain",
});

export const tradeJsonSchema = z
  .strictObject({
    fillId: z.number().int().positive(),
    marketId: integerString,
    makerHash: hash32,
    takerHash: hash32,
    maker: addressJson,
    taker: addressJson,
    makerIsBuy: z.boolean(),
    priceTicks: integerString,
    lots: integerString,
    status: z.enum(KEEPER_TRADE_STATUSES),
    txHash: txHash.optional(),
    skipReason: skipReason.optional(),
    at: millis,
  })
  .meta({
    id: "Trade",
    examples: [TRADE_EXAMPLE],
  });

export const levelJsonSchema = z
  .strictObject({ priceTicks: integerString, lots: integerString, orders: z.number().int().nonnegative() })
  .meta({ id: "Level", examples: [{ priceTicks: "183450", lots: "40", orders: 3 }] });

export const levelChangeJsonSchema = z
  .strictObject({
    side: z.enum(["bid", "ask"]),
    priceTicks: integerString,
    lots: integerString.meta({ description: '"0": the level is gone' }),
    orders: z.number().int().nonnegative(),
  })
  .meta({ id: "LevelChange", examples: [{ side: "bid", priceTicks: "183450", lots: "0", orders: 0 }] });

const bookFields = {
  marketId: integerString,
  seq,
  bids: z.array(levelJsonSchema).meta({ description: "best (highest) first" }),
  asks: z.array(levelJsonSchema).meta({ description: "best (lowest) first" }),
};
export const bookJsonSchema = z.strictObject(bookFields).meta({
  id: "Book",
  examples: [
    {
      marketId: "1",
      seq: 42,
      bids: [{ priceTicks: "183400", lots: "10", orders: 1 }],
      asks: [{ priceTicks: "183450", lots: "40", orders: 3 }],
    },
  ],
});

const orderStatusExample = {
  hash: HASH,
  order: ORDER_EXAMPLE,
  status: "partially-filled",
  filledLots: "5",
  remainingLots: "20",
  createdAt: 1764700000000,
  updatedAt: 1764700000123,
};
export const orderStatusJsonSchema = z
  .strictObject({
    hash: hash32,
    order: orderJsonSchema,
    status: z.enum(KEEPER_ORDER_STATES),
    reason: z
      .string()
      .optional()
      .meta({ description: "why it was cancelled or rejected (keeper/API.md, Order reasons)" }),
    filledLots: integerString,
    remainingLots: integerString,
    settledLots: integerString.optional().meta({ description: "only in GET /v1/orders/{hash}" }),
    fills: z.array(tradeJsonSchema).optional().meta({ description: "only in GET /v1/orders/{hash}: newest first" }),
    createdAt: millis,
    updatedAt: millis,
  })
  .meta({ id: "OrderStatus", examples: [orderStatusExample] });

export const submitResultJsonSchema = z
  .strictObject({
    hash: hash32,
    status: z.enum(KEEPER_ORDER_STATES),
    reason: z.string().optional(),
    filledLots: integerString,
    remainingLots: integerString,
    trades: z.array(tradeJsonSchema),
  })
  .meta({
    id: "SubmitResult",
    examples: [
      {
        hash: HASH,
        status: "partially-filled",
        filledLots: "5",
        remainingLots: "20",
        trades: [{ ...TRADE_EXAMPLE, status: "matched", txHash: undefined }].map(({ txHash: _, ...t }) => t),
      },
    ],
  });

export const cancelResultJsonSchema = z
  .strictObject({ hash: hash32, outcome: z.enum(KEEPER_CANCEL_OUTCOMES) })
  .meta({ id: "CancelResult" });
export const cancelResultsJsonSchema = z
  .strictObject({ results: z.array(cancelResultJsonSchema) })
  .meta({ id: "CancelResults", examples: [{ results: [{ hash: HASH, outcome: "cancelled" }] }] });
export const cancelAllResultJsonSchema = z
  .strictObject({ cancelled: z.array(hash32) })
  .meta({ id: "CancelAllResult", examples: [{ cancelled: [HASH, HASH2] }] });

export const scheduleCancelResultJsonSchema = z
  .strictObject({ account: addressJson, at: integerString, issuedAt: integerString })
  .meta({
    id: "ScheduleCancelResult",
    description: "the dead-man schedule as the keeper now holds it (at 0: none)",
    examples: [
      { account: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", at: "1764700060000", issuedAt: "1764700000000" },
    ],
  });

export const challengeJsonSchema = z
  .strictObject({ challenge: hash32, expiresAt: millis })
  .meta({ id: "Challenge", examples: [{ challenge: HASH, expiresAt: 1764700060000 }] });
export const sessionJsonSchema = z
  .strictObject({
    token: z.string().meta({ description: "send as Authorization: Bearer <token>" }),
    account: addressJson,
    expiresAt: millis,
  })
  .meta({
    id: "Session",
    examples: [{ token: `v1.${"00".repeat(28)}.${"11".repeat(32)}`, account: ADDR, expiresAt: 1764703600000 }],
  });
export const accountOrdersJsonSchema = z
  .strictObject({
    orders: z.array(orderStatusJsonSchema),
    next: z.string().optional().meta({ description: "pass as `before` for the page after" }),
  })
  .meta({ id: "AccountOrders", examples: [{ orders: [orderStatusExample], next: `1764700000000:${HASH}` }] });

export const marketJsonSchema = z
  .strictObject({
    marketId: integerString,
    base: addressJson,
    quote: addressJson,
    lotSize: integerString,
    tickSize: integerString,
    makerFeeBps: integerString,
    takerFeeBps: integerString,
    baseDecimals: z.number().int().min(0).max(255).meta({ description: "the base token's ERC-20 decimals" }),
    quoteDecimals: z.number().int().min(0).max(255).meta({ description: "the quote token's ERC-20 decimals" }),
    riskLimits: z.strictObject({ halted: z.boolean(), bandBps: integerString, maxLotsPerBlock: integerString }),
    priceBounds: z.strictObject({ available: z.boolean(), minPriceTicks: integerString, maxPriceTicks: integerString }),
  })
  .meta({
    id: "Market",
    examples: [MARKET_EXAMPLE],
  });
export const marketsJsonSchema = z
  .strictObject({ markets: z.array(marketJsonSchema) })
  .meta({ id: "Markets", examples: [{ markets: [MARKET_EXAMPLE] }] });
export const tradesJsonSchema = z
  .strictObject({ trades: z.array(tradeJsonSchema) })
  .meta({ id: "Trades", examples: [{ trades: [TRADE_EXAMPLE] }] });
export const healthJsonSchema = z
  .strictObject({ status: z.literal("ok") })
  .meta({ id: "Health", examples: [{ status: "ok" }] });
export const readyJsonSchema = z
  .strictObject({
    status: z.literal("ready"),
    role: z
      .enum(["leader", "follower"])
      .meta({ description: "a follower serves reads and the feed; only the leader takes order entry" }),
    term: z.number().int().optional().meta({
      description: "the leader lease's term (PostgreSQL only): its own on the leader, the leader's on a follower",
    }),
    since: z.string().meta({ description: "when this keeper took its role (ISO 8601)" }),
    leader: z.string().optional().meta({ description: "the leader's API URL, when known" }),
  })
  .meta({
    id: "Ready",
    examples: [
      { status: "ready", role: "leader", term: 3, since: "2026-01-02T03:04:05.000Z", leader: "http://10.0.0.5:8080" },
    ],
  });
export const bookDigestsJsonSchema = z
  .strictObject({
    role: z.enum(["leader", "follower"]),
    markets: z.array(
      z.strictObject({
        marketId: z.string(),
        digest: z.string().meta({
          description: "SHA-256 of every level (best first) with its resting orders' hashes and lots in time priority",
        }),
        levels: z.number().int(),
        orders: z.number().int(),
      }),
    ),
  })
  .meta({
    id: "BookDigests",
    examples: [
      {
        role: "follower",
        markets: [{ marketId: "1", digest: `0x${"ab".repeat(32)}`, levels: 4, orders: 7 }],
      },
    ],
  });

export const errorCodeSchema = z.enum(KEEPER_API_ERROR_CODES).meta({ id: "ErrorCode" });
export const errorBodySchema = z
  .strictObject({
    error: z.strictObject({
      code: errorCodeSchema,
      message: z.string().meta({ description: "one human sentence; may change" }),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({
    id: "Error",
    examples: [
      {
        error: {
          code: "INSUFFICIENT_BALANCE",
          message: "the balance cannot pay for the order",
          details: { hash: HASH },
        },
      },
    ],
  });

export const orderUpdateJsonSchema = z
  .strictObject({
    hash: hash32,
    marketId: integerString,
    event: z.enum(KEEPER_ORDER_EVENTS),
    status: z.enum(KEEPER_ORDER_STATES),
    filledLots: integerString,
    remainingLots: integerString,
    reason: z.string().optional(),
    fillId: z.number().int().positive().optional().meta({
      description:
        "the fill this update reports (the trade of the same fillId): on every partially-filled or filled update caused by a match, and on settled and skipped",
    }),
    txHash: txHash.optional(),
    at: millis,
  })
  .meta({
    id: "OrderUpdate",
    examples: [
      {
        hash: HASH,
        marketId: "1",
        event: "partially-filled",
        status: "partially-filled",
        filledLots: "5",
        remainingLots: "20",
        fillId: 12,
        at: 1764700000123,
      },
    ],
  });

export const fillJsonSchema = z
  .strictObject({
    fillId: z
      .number()
      .int()
      .positive()
      .meta({ description: "the keeper's id of the fill (the trades channel's fillId)" }),
    marketId: integerString,
    side: z.enum(KEEPER_FILL_SIDES).meta({ description: "whether the account's order rested (maker) or took (taker)" }),
    orderHash: hash32,
    nonce: integerString.meta({ description: "the account's order's nonce (its client order id)" }),
    isBuy: z.boolean(),
    priceTicks: integerString,
    lots: integerString,
    feeBps: integerString.meta({ description: "the fee rate of the account's side, as the keeper reads the market" }),
    fee: integerString.meta({
      description: "quote atoms: lots × priceTicks × tickSize × feeBps / 10 000, rounded down",
    }),
    status: z.enum(KEEPER_TRADE_STATUSES),
    txHash: txHash.optional(),
    blockNumber: integerString.optional().meta({ description: "the block of the batch that settled or skipped it" }),
    skipReason: skipReason.optional(),
    retries: z.number().int().positive().optional().meta({
      description: "the fill this one matches again (the same orders and lots) after the chain skipped it",
    }),
    at: millis,
  })
  .meta({
    id: "Fill",
    examples: [
      {
        fillId: 12,
        marketId: "1",
        side: "maker",
        orderHash: HASH,
        nonce: "7",
        isBuy: false,
        priceTicks: "183450",
        lots: "5",
        feeBps: "5",
        fee: "458",
        status: "settled",
        txHash: `0x${"ab".repeat(32)}`,
        blockNumber: "1042",
        at: 1764700000123,
      },
    ],
  });

const bookChannel = { channel: z.literal("book") };
const tradesChannel = { channel: z.literal("trades"), marketId: integerString, seq };
const ordersChannel = { channel: z.literal("orders"), account: addressJson, seq };
const fillsChannel = { channel: z.literal("fills"), account: addressJson, seq };

/** Every message the feed sends, one schema per kind (`type`, and `channel` where there is one). */
export const feedServerMessages = {
  bookSnapshot: z
    .strictObject({ type: z.literal("snapshot"), ...bookChannel, ...bookFields })
    .meta({ id: "BookSnapshot", description: "the whole book as of `seq`, sent on subscribe" }),
  bookDelta: z
    .strictObject({
      type: z.literal("delta"),
      ...bookChannel,
      marketId: integerString,
      seq,
      levels: z.array(levelChangeJsonSchema),
    })
    .meta({
      id: "BookDelta",
      description: "the new totals of the levels one operation changed; apply when seq = last + 1",
    }),
  tradesSnapshot: z
    .strictObject({ type: z.literal("snapshot"), ...tradesChannel, trades: z.array(tradeJsonSchema) })
    .meta({ id: "TradesSnapshot", description: "the recent trades, oldest first, sent on subscribe" }),
  trade: z
    .strictObject({ type: z.literal("trade"), ...tradesChannel, trade: tradeJsonSchema })
    .meta({ id: "TradeMessage", description: "a match (matched), then again when settled or skipped on-chain" }),
  ordersSnapshot: z
    .strictObject({ type: z.literal("snapshot"), ...ordersChannel, orders: z.array(orderStatusJsonSchema) })
    .meta({ id: "OrdersSnapshot", description: "the account's newest 1,000 open orders, sent on subscribe" }),
  order: z
    .strictObject({ type: z.literal("order"), ...ordersChannel, update: orderUpdateJsonSchema })
    .meta({ id: "OrderMessage", description: "an event of one of the account's orders" }),
  fillsSnapshot: z
    .strictObject({ type: z.literal("snapshot"), ...fillsChannel, fills: z.array(fillJsonSchema) })
    .meta({ id: "FillsSnapshot", description: "the account's newest fills (the subscribe's limit), oldest first" }),
  fill: z
    .strictObject({ type: z.literal("fill"), ...fillsChannel, fill: fillJsonSchema })
    .meta({ id: "FillMessage", description: "a fill of the account when matched, then again when settled or skipped" }),
  challenge: z
    .strictObject({ type: z.literal("challenge"), challenge: hash32 })
    .meta({ id: "ChallengeMessage", description: "the 32 bytes to sign in FeedLogin, good for one login within 60 s" }),
  login: z.strictObject({ type: z.literal("login"), account: addressJson }).meta({ id: "LoginMessage" }),
  marketAck: z
    .strictObject({
      type: z.enum(["subscribed", "unsubscribed"]),
      channel: z.enum(["book", "trades"]),
      marketId: integerString,
    })
    .meta({ id: "MarketAck" }),
  ordersAck: z
    .strictObject({ type: z.enum(["subscribed", "unsubscribed"]), channel: z.enum(["orders", "fills"]) })
    .meta({ id: "OrdersAck" }),
  error: z
    .strictObject({ type: z.literal("error"), code: errorCodeSchema, message: z.string() })
    .meta({ id: "FeedError", description: "a refused message; the connection stays open" }),
  result: z
    .strictObject({
      type: z.literal("result"),
      id: z.string(),
      status: z.number().int(),
      body: z.unknown(),
      retryAfterSeconds: z.number().int().optional(),
    })
    .meta({
      id: "OrderEntryResult",
      description: "the answer to an order-entry request under its id: the HTTP status and body of the same request",
    }),
} as const;
export const feedServerMessage = z.union(Object.values(feedServerMessages));

// ── Each schema is exactly the SDK's wire type: checked both ways at compile time ──

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Check<T extends true> = T;
export type ResponsesMatchTheSdk = [
  Check<Same<z.output<typeof orderJsonSchema>, OrderJson>>,
  Check<Same<z.output<typeof tradeJsonSchema>, KeeperTradeJson>>,
  Check<Same<z.output<typeof levelJsonSchema>, KeeperLevelJson>>,
  Check<Same<z.output<typeof levelChangeJsonSchema>, KeeperLevelChangeJson>>,
  Check<Same<z.output<typeof bookJsonSchema>, KeeperBookJson>>,
  Check<Same<z.output<typeof orderStatusJsonSchema>, KeeperOrderStatusJson>>,
  Check<Same<z.output<typeof submitResultJsonSchema>, KeeperSubmitResultJson>>,
  Check<Same<z.output<typeof cancelResultJsonSchema>, KeeperCancelResultJson>>,
  Check<Same<z.output<typeof marketJsonSchema>, KeeperMarketJson>>,
  Check<Same<z.output<typeof orderUpdateJsonSchema>, KeeperOrderUpdateJson>>,
  Check<Same<z.output<typeof fillJsonSchema>, KeeperFillJson>>,
  Check<Same<z.output<typeof errorBodySchema>, KeeperErrorBodyJson>>,
  Check<Same<z.output<typeof feedServerMessage>, KeeperFeedMessageJson>>,
];
