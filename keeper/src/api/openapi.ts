/**
 * The API described for machines: an OpenAPI 3.1 document of the HTTP routes (`GET /v1/openapi.json`)
 * and an AsyncAPI 3.0 document of the feed's messages (`GET /v1/asyncapi.json`), both generated from
 * the zod schemas the server parses requests with (`./schemas`) and the response schemas (`./responses`),
 * through zod's own JSON Schema conversion (draft 2020-12, OpenAPI 3.1's dialect) — no second
 * description to keep in step.
 *
 * Which routes: every route the server registers (collected by its `onRoute` hook). A route's
 * description is its `config.doc` (a `RouteDoc`, declared where the route is), else the entry for it
 * in `ROUTE_DOCS`; a plain Fastify route `schema` (JSON Schema `body`, `querystring`, `params`,
 * `response`) is taken as it is. A route with none of these is listed in the document's
 * `x-undocumented`, and the tests fail on it.
 */
import { z } from "zod";
import { KEEPER_API_ERROR_CODES, type KeeperErrorCode } from "@crossbook/sdk";
import { EngineCode } from "../engine";
import { RiskCode } from "../risk";
import { STATUS_OF, type ApiErrorCode } from "./errors";
import {
  accountOrdersJsonSchema,
  bookJsonSchema,
  cancelAllResultJsonSchema,
  cancelResultsJsonSchema,
  challengeJsonSchema,
  feedServerMessages,
  healthJsonSchema,
  marketJsonSchema,
  marketsJsonSchema,
  orderStatusJsonSchema,
  readyJsonSchema,
  bookDigestsJsonSchema,
  scheduleCancelResultJsonSchema,
  sessionJsonSchema,
  submitResultJsonSchema,
  tradesJsonSchema,
} from "./responses";
import {
  accountOrdersQuery,
  accountParams,
  bookQuery,
  cancelAllBody,
  cancelBody,
  batchBody,
  emptyQuery,
  feedMessage,
  feedOrderMessages,
  hashParams,
  marketParams,
  nonceParams,
  orderQuery,
  readyQuery,
  scheduleCancelBody,
  sessionBody,
  submitOrderBody,
  tradesQuery,
} from "./schemas";

/** A success answer that is not JSON (Prometheus text, a WebSocket upgrade). */
export interface OtherResponse {
  readonly description: string;
  readonly contentType?: string;
}

/** What a route takes and answers, for the documents. */
export interface RouteDoc {
  readonly summary: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** Success answers by status: a schema of the JSON body, or a description of another one. */
  readonly responses: Readonly<Record<number, z.ZodType | OtherResponse>>;
  /** The codes this route refuses with, besides those of every route (`COMMON_ERRORS`, `POST_ERRORS`). */
  readonly errors: readonly ApiErrorCode[];
  /** Needs the account's session (`Authorization: Bearer`). */
  readonly session?: boolean;
}

/** A route as the server registered it. */
export interface RegisteredRoute {
  readonly method: string;
  /** Fastify's pattern: `/v1/orders/:hash`. */
  readonly url: string;
  readonly doc?: RouteDoc;
  /** A Fastify JSON Schema, if the route declares one. */
  readonly schema?: {
    readonly body?: unknown;
    readonly querystring?: unknown;
    readonly params?: unknown;
    readonly response?: Readonly<Record<string, unknown>>;
    readonly summary?: string;
    readonly description?: string;
  };
}

/** Codes any route may answer: the per-address budget, and a bug. */
export const COMMON_ERRORS: readonly ApiErrorCode[] = ["RATE_LIMITED", "INTERNAL"];
/** Codes any POST may answer, before its route runs. */
export const POST_ERRORS: readonly ApiErrorCode[] = [
  "BAD_JSON",
  "BAD_REQUEST",
  "BODY_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
];
/** Codes no route answers but the server does: a path it does not have, a method a path does not take. */
/** The router's: no route, another method; and a gateway's, whose router forwards to shards (keeper/src/cluster/gateway.ts). */
export const ROUTING_ERRORS: readonly ApiErrorCode[] = ["NOT_FOUND", "METHOD_NOT_ALLOWED", "SHARD_UNAVAILABLE"];

/** Every refusal of an order: the engine's codes and the risk check's, and a signature's budgets. */
const ORDER_ERRORS: readonly ApiErrorCode[] = [
  ...Object.values(EngineCode),
  ...Object.values(RiskCode),
  "BAD_REQUEST",
  "NOT_LEADER",
];
const CANCEL_ERRORS: readonly ApiErrorCode[] = [
  "NOT_LEADER",
  "CANCEL_EXPIRED",
  "CANCEL_REPLAYED",
  "BAD_CANCEL_SIGNATURE",
  "CHAIN_UNAVAILABLE",
];

const json = (description: string): OtherResponse => ({ description, contentType: "application/json" });

/** The routes of `./server`, by `METHOD url`. */
export const ROUTE_DOCS: Readonly<Record<string, RouteDoc>> = {
  "POST /v1/orders": {
    summary: "Submit a signed order",
    description:
      "The keeper checks shape, market, signature (ECDSA or ERC-1271), expiry, nonce, balance less what the account's other open orders reserve, and every risk limit, then matches it. A refusal after hashing carries the order's hash in `details.hash`.",
    tags: ["orders"],
    query: emptyQuery,
    body: submitOrderBody,
    responses: { 201: submitResultJsonSchema },
    errors: ORDER_ERRORS,
  },
  "POST /v1/orders/batch": {
    summary: "One account's places, cancels and amends in one turn and one commit (its session only)",
    description:
      "Up to `api.maxBatchActions` actions, each charged to the account's budget. Each is answered on its own (`results`, in order: a submit result, a cancel outcome, or a refusal with its code); one bad action does not stop the rest. An amend replaces an open order atomically (`ORDER_NOT_OPEN` if it is not open).",
    tags: ["orders"],
    query: emptyQuery,
    body: batchBody,
    responses: { 200: json("`{ results: [...] }`, one per action, in order (keeper/API.md, POST /v1/orders/batch)") },
    errors: [...ORDER_ERRORS, "SESSION_REQUIRED", "FORBIDDEN", "ORDER_NOT_OPEN", "BATCH_SPANS_SHARDS"],
    session: true,
  },
  "GET /v1/accounts/:address/orders/by-nonce/:nonce": {
    summary: "An account's order by its nonce (a client order id), with a page of its fills (its session only)",
    tags: ["orders"],
    params: nonceParams,
    query: orderQuery,
    responses: { 200: orderStatusJsonSchema },
    errors: ["BAD_REQUEST", "SESSION_REQUIRED", "FORBIDDEN", "ORDER_NOT_FOUND"],
    session: true,
  },
  "GET /v1/accounts/:address/fills": {
    summary: "An account's fills as maker or taker, newest first, by pages (the account's session only)",
    description:
      "Each fill as the feed's `fills` channel writes it (side, order hash and nonce, price, lots, fee, settlement state with its transaction or skip reason), from the committed store. `next`, when the page is full, is the `before` of the page after: the fill id to walk back from.",
    tags: ["orders"],
    params: accountParams,
    query: tradesQuery,
    responses: { 200: json("`{ fills: [...], next? }` (keeper/API.md, GET /v1/accounts/{address}/fills)") },
    errors: ["BAD_REQUEST", "SESSION_REQUIRED", "FORBIDDEN", "CHAIN_UNAVAILABLE"],
    session: true,
  },
  "GET /v1/accounts/:address/limits": {
    summary:
      "The account's rate budget, batch and open-order caps, and each market's fees and minimums (its session only)",
    tags: ["orders"],
    params: accountParams,
    query: emptyQuery,
    responses: { 200: json("the account's limits (keeper/API.md, GET /v1/accounts/{address}/limits)") },
    errors: ["BAD_REQUEST", "SESSION_REQUIRED", "FORBIDDEN", "CHAIN_UNAVAILABLE"],
    session: true,
  },
  "POST /v1/cancels": {
    summary: "Soft-cancel orders with a signed CancelOrders",
    tags: ["orders"],
    query: emptyQuery,
    body: cancelBody,
    responses: { 200: cancelResultsJsonSchema },
    errors: CANCEL_ERRORS,
  },
  "POST /v1/cancels/all": {
    summary: "Soft-cancel every order of an account (in one market or all) with a signed CancelAll",
    tags: ["orders"],
    query: emptyQuery,
    body: cancelAllBody,
    responses: { 200: cancelAllResultJsonSchema },
    errors: CANCEL_ERRORS,
  },
  "POST /v1/cancels/schedule": {
    summary:
      "The dead-man switch's heartbeat: soft-cancel every order of the account when the keeper's clock passes `at` (ms) without a later ScheduleCancel; at 0 clears it (in memory)",
    tags: ["orders"],
    query: emptyQuery,
    body: scheduleCancelBody,
    responses: { 200: scheduleCancelResultJsonSchema },
    errors: [...CANCEL_ERRORS, "FORBIDDEN", "RATE_LIMITED"],
  },
  "POST /v1/sessions/challenge": {
    summary: "Ask for a login challenge (charged to the logins budget)",
    tags: ["sessions"],
    body: z.object({}).meta({ description: "an empty JSON object" }),
    responses: { 200: challengeJsonSchema },
    errors: [],
  },
  "POST /v1/sessions": {
    summary: "Log in with a FeedLogin signature over the challenge",
    tags: ["sessions"],
    query: emptyQuery,
    body: sessionBody,
    responses: { 201: sessionJsonSchema },
    errors: ["SESSION_REQUIRED", "CHAIN_UNAVAILABLE"],
  },
  "GET /v1/orders/:hash": {
    summary: "An order's status and a page of its fills (its maker's session only)",
    tags: ["orders"],
    params: hashParams,
    query: orderQuery,
    responses: { 200: orderStatusJsonSchema },
    errors: ["BAD_REQUEST", "SESSION_REQUIRED", "ORDER_NOT_FOUND"],
    session: true,
  },
  "GET /v1/accounts/:address/orders": {
    summary: "An account's orders, newest first, by pages (the account's session only)",
    tags: ["orders"],
    params: accountParams,
    query: accountOrdersQuery,
    responses: { 200: accountOrdersJsonSchema },
    errors: ["BAD_REQUEST", "SESSION_REQUIRED", "FORBIDDEN"],
    session: true,
  },
  "GET /v1/markets": {
    summary: "The markets this keeper serves, with risk limits and price bounds read from the chain",
    tags: ["markets"],
    query: emptyQuery,
    responses: { 200: marketsJsonSchema },
    errors: ["BAD_REQUEST", "CHAIN_UNAVAILABLE"],
  },
  "GET /v1/markets/:marketId": {
    summary: "One market this keeper serves",
    tags: ["markets"],
    params: marketParams,
    query: emptyQuery,
    responses: { 200: marketJsonSchema },
    errors: ["BAD_REQUEST", "MARKET_NOT_SERVED", "CHAIN_UNAVAILABLE"],
  },
  "GET /v1/markets/:marketId/book": {
    summary: "A market's aggregated levels, best first",
    tags: ["markets"],
    params: marketParams,
    query: bookQuery,
    responses: { 200: bookJsonSchema },
    errors: ["BAD_REQUEST", "MARKET_NOT_SERVED"],
  },
  "GET /v1/markets/:marketId/trades": {
    summary: "A market's most recent trades, newest first, by pages",
    tags: ["markets"],
    params: marketParams,
    query: tradesQuery,
    responses: { 200: tradesJsonSchema },
    errors: ["BAD_REQUEST", "MARKET_NOT_SERVED"],
  },
  "GET /v1/health": {
    summary: "Whether the process serves",
    tags: ["operations"],
    responses: { 200: healthJsonSchema },
    errors: [],
  },
  "GET /v1/ready": {
    summary: "Whether the keeper is ready, its role (leader or follower), term, since when, and the leader's URL",
    description:
      '503 NOT_READY with details.missing when it cannot do its job. With several keepers on one PostgreSQL, `?role=leader` answers 200 only on the leader (503 NOT_LEADER on a follower, naming the leader): the check a load balancer uses to send order entry to the leader. keeper/README.md, "Several keepers on one PostgreSQL".',
    tags: ["operations"],
    query: readyQuery,
    responses: { 200: readyJsonSchema },
    errors: ["NOT_READY", "NOT_LEADER", "BAD_REQUEST"],
  },
  "GET /v1/books/digest": {
    summary: "A digest of each market's book (levels and resting orders), to compare two keepers",
    description:
      "SHA-256 over every level of the book, best first on each side, with its total and its resting orders (hash and lots) in time priority. Two keepers with the same digest hold the same books; a follower's equals the leader's once it has applied the leader's last commit. A keeper that is stepping down answers once its books are rebuilt from the shared database (a match whose commit was refused is never in it).",
    tags: ["operations"],
    query: emptyQuery,
    responses: { 200: bookDigestsJsonSchema },
    errors: ["BAD_REQUEST"],
  },
  "GET /metrics": {
    summary: "Prometheus metrics (text format)",
    tags: ["operations"],
    responses: { 200: { description: "Prometheus text exposition format", contentType: "text/plain" } },
    errors: ["NOT_FOUND"],
  },
  "GET /v1/ws": {
    summary: "The WebSocket feed (upgrade); its messages are described by GET /v1/asyncapi.json",
    tags: ["feed"],
    responses: { 101: { description: "Switching Protocols: the feed (see /v1/asyncapi.json)" } },
    errors: [],
  },
  "GET /v1/openapi.json": {
    summary: "This document",
    tags: ["operations"],
    responses: { 200: json("the OpenAPI 3.1 document of the HTTP API") },
    errors: [],
  },
  "GET /v1/asyncapi.json": {
    summary: "The AsyncAPI 3.0 document of the feed's messages",
    tags: ["operations"],
    responses: { 200: json("the AsyncAPI 3.0 document of the feed") },
    errors: [],
  },
};

/** The route's description: declared on it, else in `ROUTE_DOCS`. */
export function docOf(route: Pick<RegisteredRoute, "method" | "url" | "doc">): RouteDoc | undefined {
  return route.doc ?? ROUTE_DOCS[`${route.method} ${route.url}`];
}

/** The codes a route may refuse with: its own, the POST ones, the common ones. */
export function errorsOf(method: string, doc: RouteDoc): ApiErrorCode[] {
  return [...new Set([...doc.errors, ...(method === "POST" ? POST_ERRORS : []), ...COMMON_ERRORS])];
}

type JsonSchema = Record<string, unknown>;
const COMPONENTS = "#/components/schemas/";

/** The JSON Schema of what a client sends: inline, in its input form (integers as strings or numbers). */
function inputSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io: "input",
    target: "draft-2020-12",
    unrepresentable: "any",
  });
  return rest;
}

/**
 * A `$ref` to the component of an answer schema: its `meta({ id })`, or one made from the route for
 * an answer declared without a name (registered in zod's global registry, where the named ones are).
 */
function outputRef(schema: z.ZodType, fallbackId: string): JsonSchema {
  let id = schema.meta()?.id;
  if (typeof id !== "string") {
    id = fallbackId;
    if (!z.globalRegistry.has(schema)) z.globalRegistry.add(schema, { id });
  }
  return { $ref: `${COMPONENTS}${id}` };
}

/** Every named schema (the answers' components), each written once with `$ref`s between them. */
function components(): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    io: "output",
    target: "draft-2020-12",
    unrepresentable: "any",
    uri: (id: string) => `${COMPONENTS}${id}`,
  });
  const out: Record<string, JsonSchema> = {};
  for (const [id, s] of Object.entries(schemas)) {
    const { $schema: _, $id: __, ...rest } = s as JsonSchema;
    out[id] = rest;
  }
  return out;
}

/** The OpenAPI parameters of a zod object's fields (each a string in a path or a query). */
function parameters(where: "path" | "query", schema: z.ZodObject | undefined): JsonSchema[] {
  if (schema === undefined) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const f = field as z.ZodType;
    const description = f.meta()?.description;
    return {
      name,
      in: where,
      required: where === "path" || !f.safeParse(undefined).success,
      schema: inputSchema(f),
      ...(typeof description === "string" ? { description } : {}),
    };
  });
}

const isZod = (v: unknown): v is z.ZodType => v instanceof z.ZodType;

/** The OpenAPI `responses` of one route: its answers, then each error status with the codes it carries. */
function responses(method: string, path: string, doc: RouteDoc): JsonSchema {
  const out: JsonSchema = {};
  for (const [status, answer] of Object.entries(doc.responses)) {
    if (isZod(answer)) {
      const example = answer.meta()?.examples as unknown[] | undefined;
      out[status] = {
        description: answer.meta()?.description ?? doc.summary,
        content: {
          "application/json": {
            schema: outputRef(
              answer,
              `${method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c?: string) => (c ?? "").toUpperCase())}${status}`,
            ),
            ...(example?.[0] === undefined ? {} : { example: example[0] }),
          },
        },
      };
    } else {
      out[status] = {
        description: answer.description,
        ...(answer.contentType === undefined ? {} : { content: { [answer.contentType]: { schema: {} } } }),
      };
    }
  }
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of errorsOf(method, doc))
    byStatus.set(STATUS_OF[code], [...(byStatus.get(STATUS_OF[code]) ?? []), code]);
  for (const [status, codes] of [...byStatus.entries()].sort((a, b) => a[0] - b[0])) {
    out[String(status)] = {
      description: `refused: ${codes.join(", ")}`,
      content: {
        "application/json": {
          schema: {
            allOf: [
              { $ref: `${COMPONENTS}Error` },
              { type: "object", properties: { error: { type: "object", properties: { code: { enum: codes } } } } },
            ],
          },
        },
      },
    };
  }
  return out;
}

/** `/v1/orders/:hash` → `/v1/orders/{hash}`. */
export const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

/** The OpenAPI 3.1 document of the routes the server registered. */
export function openApiDocument(routes: readonly RegisteredRoute[], info: { version: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const undocumented: string[] = [];
  for (const route of routes) {
    const method = route.method.toLowerCase();
    if (method === "head") continue; // Fastify adds HEAD to every GET
    const path = openApiPath(route.url);
    const doc = docOf(route);
    let operation: JsonSchema;
    if (doc !== undefined) {
      const params = [...parameters("path", doc.params), ...parameters("query", doc.query)];
      operation = {
        operationId: `${method} ${path}`,
        summary: doc.summary,
        ...(doc.description === undefined ? {} : { description: doc.description }),
        ...(doc.tags === undefined ? {} : { tags: [...doc.tags] }),
        ...(params.length === 0 ? {} : { parameters: params }),
        ...(doc.body === undefined
          ? {}
          : { requestBody: { required: true, content: { "application/json": { schema: inputSchema(doc.body) } } } }),
        responses: responses(route.method, path, doc),
        ...(doc.session === true ? { security: [{ session: [] }] } : {}),
      };
    } else if (
      route.schema !== undefined &&
      (route.schema.body ?? route.schema.querystring ?? route.schema.response) !== undefined
    ) {
      // A route that declares a plain Fastify JSON Schema: documented as it declares itself.
      const s = route.schema;
      operation = {
        operationId: `${method} ${path}`,
        summary: s.summary ?? `${route.method} ${path}`,
        ...(s.description === undefined ? {} : { description: s.description }),
        ...(s.body === undefined
          ? {}
          : { requestBody: { required: true, content: { "application/json": { schema: s.body } } } }),
        responses: Object.fromEntries(
          Object.entries(s.response ?? { default: {} }).map(([status, schema]) => [
            status,
            { description: status, content: { "application/json": { schema } } },
          ]),
        ),
      };
    } else {
      undocumented.push(`${route.method} ${route.url}`);
      operation = {
        operationId: `${method} ${path}`,
        summary: "undocumented",
        responses: { default: { description: "undocumented" } },
      };
    }
    paths[path] = { ...paths[path], [method]: operation };
  }
  return {
    openapi: "3.1.0",
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    info: {
      title: "Crossbook keeper API",
      version: info.version,
      description:
        "HTTP API of a Crossbook keeper (keeper/API.md is the prose). Integers are decimal strings; times unix milliseconds. Every refusal is `{ error: { code, message, details? } }`; each code has one HTTP status.",
    },
    paths,
    components: {
      schemas: components(),
      securitySchemes: {
        session: {
          type: "http",
          scheme: "bearer",
          description: "A session token from POST /v1/sessions (the account's FeedLogin over a challenge)",
        },
      },
    },
    "x-error-statuses": Object.fromEntries(KEEPER_API_ERROR_CODES.map((c) => [c, statusOf(c)])),
    ...(undocumented.length === 0 ? {} : { "x-undocumented": undocumented }),
  };
}

/** A code's HTTP status (the feed-only codes have none). */
function statusOf(code: KeeperErrorCode): number | null {
  return Object.hasOwn(STATUS_OF, code) ? STATUS_OF[code as ApiErrorCode] : null;
}

/** The AsyncAPI 3.0 document of the feed (`GET /v1/ws`): what a client sends, what the keeper sends. */
export function asyncApiDocument(info: { version: string }): JsonSchema {
  // Named by what they do: `subscribeMarketRequest`, `loginTokenRequest`, …
  const clientMessages: (readonly [string, z.ZodType])[] = feedMessage.options.map((option) => {
    const shape = option.shape as Record<string, z.ZodType>;
    const op = String((shape.op as z.ZodLiteral<string>).value);
    const channel = shape.channel;
    const kind =
      channel instanceof z.ZodLiteral
        ? String(channel.value)
        : channel !== undefined
          ? "market"
          : "token" in shape
            ? "token"
            : "account" in shape
              ? "signature"
              : "";
    return [`${op}${kind.charAt(0).toUpperCase()}${kind.slice(1)}Request`, option] as const;
  });
  clientMessages.push(...Object.entries(feedOrderMessages));
  const serverMessages = Object.entries(feedServerMessages);
  const message = (name: string, schema: z.ZodType, io: "input" | "output") => ({
    name,
    contentType: "application/json",
    ...(schema.meta()?.description === undefined ? {} : { summary: schema.meta()?.description }),
    payload: io === "input" ? inputSchema(schema) : outputRef(schema, name),
  });
  const messages = {
    ...Object.fromEntries(clientMessages.map(([name, s]) => [name, message(name, s, "input")])),
    ...Object.fromEntries(serverMessages.map(([name, s]) => [name, message(name, s, "output")])),
  };
  const ref = (name: string) => ({ $ref: `#/channels/feed/messages/${name}` });
  return {
    asyncapi: "3.0.0",
    info: {
      title: "Crossbook keeper feed",
      version: info.version,
      description:
        "One WebSocket carries any number of subscriptions (keeper/API.md, WebSocket feed). Channel messages carry `seq`: from 1 per channel, a snapshot the number of the last message it includes; on a gap, subscribe again.",
    },
    channels: {
      feed: { address: "/v1/ws", messages },
    },
    components: { schemas: components() },
    operations: {
      send: {
        action: "receive",
        channel: { $ref: "#/channels/feed" },
        summary: "messages a client sends",
        messages: clientMessages.map(([name]) => ref(name)),
      },
      receive: {
        action: "send",
        channel: { $ref: "#/channels/feed" },
        summary: "messages the keeper sends",
        messages: serverMessages.map(([name]) => ref(name)),
      },
    },
  };
}
