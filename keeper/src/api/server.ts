/**
 * The keeper's HTTP API and WebSocket feed on one port (keeper/API.md is the contract).
 *
 * Fastify rather than node:http: routes with parameters, a JSON body parser with a byte limit and
 * prototype-poisoning protection, one error handler for every failure (parser, hook, route), 404
 * handling, request ids, hooks for per-IP limits and per-route timing, and `@fastify/websocket`
 * for the feed on the same server — all of which node:http would have us write and test ourselves.
 *
 * What it promises:
 * - Every request is validated (zod, `./schemas`) before it reaches the engine; every refusal is
 *   `{ error: { code, message, details? } }` with the status `./errors` gives the code.
 * - Per-IP limits apply before the body is read; per-account limits (the order's or cancel's
 *   maker) right after it is parsed. Both are token buckets (`./rateLimit`), configurable.
 * - Signature checks of orders are the engine's (its risk check); this module checks the
 *   signatures of soft cancels (EOA or ERC-1271) and their ±5 minute `issuedAt` window.
 */
import Fastify, { type FastifyError, type FastifyReply } from "fastify";
import websocket from "@fastify/websocket";
import type { AddressInfo } from "node:net";
import type { Address, Hex } from "viem";
import {
  getMarket,
  getPriceBounds,
  getRiskLimits,
  type ExchangeDomainParameters,
  type ReadClient,
} from "@crossbook/sdk";
import type { KeeperMarketJson } from "@crossbook/sdk/keeper-wire";
import type { Engine, Logger } from "../engine";
import { silentLogger } from "../engine";
import type { Store } from "../store";
import type { Metrics } from "../metrics";
import { ApiError, type ApiErrorCode } from "./errors";
import { DEFAULT_FEED_LIMITS, Feed, type FeedLimits } from "./feed";
import { RateLimiter } from "./rateLimit";
import {
  accountOrdersQuery,
  accountParams,
  bookQuery,
  cancelAllBody,
  cancelBody,
  emptyQuery,
  hashParams,
  marketParams,
  parse,
  submitOrderBody,
  tradesQuery,
} from "./schemas";
import { issuedAtFresh, verifyKeeperMessage } from "./signatures";
import { orderDetailJson, orderStatusJson, storedTrade, tradeJson } from "./wire";

export interface ApiLimits extends FeedLimits {
  /** Request body limit in bytes. */
  readonly bodyBytes: number;
  /** Requests per second per client IP (burst: the same). */
  readonly perIpPerSecond: number;
  /** Orders and cancels per second per account, charged once signed by it (burst: the same). */
  readonly perAccountPerSecond: number;
  /** Orders and cancels with a failing signature per second per client IP (burst: the same). */
  readonly perIpBadSignaturesPerSecond: number;
  /** How long market parameters read from the chain are reused. */
  readonly marketCacheMs: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  ...DEFAULT_FEED_LIMITS,
  bodyBytes: 16 * 1024,
  perIpPerSecond: 5_000,
  perAccountPerSecond: 500,
  perIpBadSignaturesPerSecond: 50,
  marketCacheMs: 3_000,
};

export interface ApiOptions {
  readonly engine: Engine;
  readonly store: Store;
  readonly domain: ExchangeDomainParameters;
  readonly chain: { readonly client: ReadClient; readonly exchange: Address };
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  readonly log?: Logger;
  readonly metrics?: Metrics;
  readonly limits?: Partial<ApiLimits>;
  /** Milliseconds; `Date.now` by default (the cancel window is judged against it). */
  readonly clock?: () => number;
  /** `/v1/ready`; by default ready while the engine runs. */
  readonly isReady?: () => { ready: boolean; missing: string[] };
}

export interface RunningApi {
  /** `http://host:port` */
  readonly url: string;
  /** `ws://host:port/v1/ws` */
  readonly wsUrl: string;
  /** The feed (its sequence numbers, client count). */
  readonly feed: Feed;
  close(): Promise<void>;
}

/** The routes, for 405 answers: a path that matches a pattern under another method. */
const ROUTES: readonly { method: string; pattern: RegExp }[] = [
  { method: "POST", pattern: /^\/v1\/orders$/ },
  { method: "POST", pattern: /^\/v1\/cancels$/ },
  { method: "POST", pattern: /^\/v1\/cancels\/all$/ },
  { method: "GET", pattern: /^\/v1\/orders\/[^/]+$/ },
  { method: "GET", pattern: /^\/v1\/accounts\/[^/]+\/orders$/ },
  { method: "GET", pattern: /^\/v1\/markets$/ },
  { method: "GET", pattern: /^\/v1\/markets\/[^/]+$/ },
  { method: "GET", pattern: /^\/v1\/markets\/[^/]+\/book$/ },
  { method: "GET", pattern: /^\/v1\/markets\/[^/]+\/trades$/ },
  { method: "GET", pattern: /^\/v1\/health$/ },
  { method: "GET", pattern: /^\/v1\/ready$/ },
  { method: "GET", pattern: /^\/v1\/ws$/ },
  { method: "GET", pattern: /^\/metrics$/ },
];

const JSON_TYPE = /^application\/json\s*(;|$)/i;

/** Starts the API on `host:port` and resolves once it listens. */
export async function startApi(options: ApiOptions): Promise<RunningApi> {
  const { engine, store, domain } = options;
  const limits: ApiLimits = { ...DEFAULT_API_LIMITS, ...options.limits };
  const log = options.log ?? silentLogger;
  const metrics = options.metrics;
  const clock = options.clock ?? Date.now;
  const client = options.chain.client;
  const exchange = options.chain.exchange;
  const perIp = new RateLimiter({ rate: limits.perIpPerSecond });
  const perAccount = new RateLimiter({ rate: limits.perAccountPerSecond });
  const perIpBadSignature = new RateLimiter({ rate: limits.perIpBadSignaturesPerSecond });
  const feed = new Feed({ engine, store, domain, client, limits, log, metrics, clock });
  metrics?.watch(engine, store);
  let requestCount = 0;

  const app = Fastify({
    logger: false,
    bodyLimit: limits.bodyBytes,
    genReqId: () => `r${(++requestCount).toString(36)}`,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
  });
  app.removeContentTypeParser("text/plain");
  await app.register(websocket, { options: { maxPayload: limits.bodyBytes } });

  const refuse = (reply: FastifyReply, error: ApiError) => {
    if (error.retryAfterSeconds !== undefined) void reply.header("Retry-After", String(error.retryAfterSeconds));
    return reply.status(error.status).send(error.body());
  };

  app.setErrorHandler((raw: FastifyError | ApiError, request, reply) => {
    const error = toApiError(raw, request.id);
    if (error.code === "INTERNAL") {
      log.error({ requestId: request.id, url: request.url, err: raw.message, stack: raw.stack }, "request failed");
    }
    if (request.method === "POST" && request.routeOptions.url === "/v1/orders") metrics?.orderRejected(error.code);
    return refuse(reply, error);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0];
    const allowed = ROUTES.filter((r) => r.pattern.test(path)).map((r) => r.method);
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      void reply.header("Allow", [...new Set(allowed)].join(", "));
      return refuse(reply, new ApiError("METHOD_NOT_ALLOWED", `${request.method} is not allowed on ${path}`));
    }
    return refuse(reply, new ApiError("NOT_FOUND", `no route ${request.method} ${path}`));
  });

  app.addHook("onRequest", async (request) => {
    const wait = perIp.take(request.ip);
    if (wait > 0) {
      throw new ApiError("RATE_LIMITED", "too many requests from this address", { retryAfterSeconds: wait });
    }
  });

  app.addHook("preValidation", async (request) => {
    if (request.method === "POST" && !JSON_TYPE.test(request.headers["content-type"] ?? "")) {
      throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
    }
  });

  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics?.httpRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    log.debug(
      { requestId: request.id, method: request.method, route, status: reply.statusCode, ms: reply.elapsedTime },
      "request",
    );
  });

  /**
   * An account's budget is checked before the work and charged only once the request has proven
   * to come from that account (a valid signature), so that nobody can spend another account's
   * budget with unsigned requests naming it. Requests with a signature that fails are charged to
   * the sender's IP instead, in a budget of their own.
   */
  const checkBudgets = (ip: string, account: Address) => {
    const ipWait = perIpBadSignature.wait(ip);
    if (ipWait > 0) {
      throw new ApiError("RATE_LIMITED", "too many requests with bad signatures from this address", {
        retryAfterSeconds: ipWait,
      });
    }
    const wait = perAccount.wait(account.toLowerCase());
    if (wait > 0)
      throw new ApiError("RATE_LIMITED", `too many requests for account ${account}`, { retryAfterSeconds: wait });
  };
  const chargeAccount = (account: Address) => perAccount.take(account.toLowerCase());
  const chargeBadSignature = (ip: string) => perIpBadSignature.take(ip);
  const UNSIGNED: ReadonlySet<string> = new Set(["BAD_SIGNATURE", "SIGNATURE_REJECTED"]);

  const servedMarket = (raw: unknown): bigint => {
    const { marketId } = parse(marketParams, raw, "path");
    if (engine.book(marketId) === undefined) {
      throw new ApiError("UNKNOWN_MARKET", `market ${marketId} is not served by this keeper`);
    }
    return marketId;
  };

  // ---------------------------------------------------------------- orders and cancels

  app.post("/v1/orders", async (request, reply) => {
    parse(emptyQuery, request.query, "query");
    const { order, signature } = parse(submitOrderBody, request.body, "body");
    checkBudgets(request.ip, order.maker);
    const result = await engine.submit({ order, signature });
    if (!result.ok && UNSIGNED.has(result.code)) chargeBadSignature(request.ip);
    else chargeAccount(order.maker);
    if (!result.ok) {
      throw new ApiError(
        result.code,
        result.message,
        result.hash === undefined ? {} : { details: { hash: result.hash } },
      );
    }
    metrics?.orderAccepted(order.marketId);
    const reason = result.status === "cancelled" ? store.getOrder(result.hash)?.reason : undefined;
    return reply.status(201).send({
      hash: result.hash,
      status: result.status,
      ...(reason === undefined ? {} : { reason }),
      filledLots: result.filledLots.toString(),
      remainingLots: result.remainingLots.toString(),
      trades: result.trades.map(tradeJson),
    });
  });

  /** Checks a cancel message's window and signature; throws the refusal. */
  const checkCancel = async (
    ip: string,
    maker: Address,
    issuedAt: bigint,
    signature: Hex,
    message: Parameters<typeof verifyKeeperMessage>[3],
  ) => {
    if (!issuedAtFresh(issuedAt, clock())) {
      throw new ApiError("CANCEL_EXPIRED", "issuedAt is more than 5 minutes from the keeper's clock (unix ms)", {
        details: { keeperTime: clock() },
      });
    }
    let ok: boolean;
    try {
      ok = await verifyKeeperMessage(client, domain, maker, message, signature);
    } catch (error) {
      metrics?.rpcError("verifyTypedData");
      log.warn({ maker, err: String(error) }, "cancel signature: the chain could not be read");
      throw new ApiError("CHAIN_UNAVAILABLE", "the chain could not be read to check a contract signature; try again");
    }
    if (!ok) {
      chargeBadSignature(ip);
      throw new ApiError("BAD_CANCEL_SIGNATURE", `the signature is not ${maker}'s over this ${message.primaryType}`);
    }
    chargeAccount(maker);
  };

  app.post("/v1/cancels", async (request) => {
    parse(emptyQuery, request.query, "query");
    const { cancel, signature } = parse(cancelBody, request.body, "body");
    checkBudgets(request.ip, cancel.maker);
    await checkCancel(request.ip, cancel.maker, cancel.issuedAt, signature, {
      primaryType: "CancelOrders",
      message: cancel,
    });
    return {
      results: cancel.orderHashes.map((hash) => ({
        hash,
        outcome: engine.cancel(hash, { account: cancel.maker, reason: "soft-cancel" }),
      })),
    };
  });

  app.post("/v1/cancels/all", async (request) => {
    parse(emptyQuery, request.query, "query");
    const { cancelAll, signature } = parse(cancelAllBody, request.body, "body");
    checkBudgets(request.ip, cancelAll.maker);
    await checkCancel(request.ip, cancelAll.maker, cancelAll.issuedAt, signature, {
      primaryType: "CancelAll",
      message: cancelAll,
    });
    const cancelled = engine.cancelAll(cancelAll.maker, {
      marketId: cancelAll.marketId === 0n ? undefined : cancelAll.marketId,
      // Never later than now: a message signed with a clock running ahead, replayed within the
      // window, must not reach orders placed after it arrived.
      createdUpTo: Math.min(Number(cancelAll.issuedAt), clock()),
    });
    return { cancelled };
  });

  app.get("/v1/orders/:hash", async (request) => {
    parse(emptyQuery, request.query, "query");
    const { hash } = parse(hashParams, request.params, "path");
    const stored = store.getOrder(hash);
    if (stored === undefined) throw new ApiError("ORDER_NOT_FOUND", `no order ${hash}`);
    return orderDetailJson(store, stored);
  });

  app.get("/v1/accounts/:address/orders", async (request) => {
    const { address } = parse(accountParams, request.params, "path");
    const { status, limit } = parse(accountOrdersQuery, request.query, "query");
    const orders = store
      .ordersOf(address)
      .filter((o) => status === "all" || o.status === "open" || o.status === "partially-filled")
      .reverse()
      .slice(0, limit)
      .map((o) => orderStatusJson(o));
    return { orders };
  });

  // ---------------------------------------------------------------- markets

  let marketCache: { at: number; markets: Promise<Map<string, object>> } | undefined;
  const markets = async (): Promise<Map<string, object>> => {
    const now = Date.now();
    if (marketCache === undefined || now - marketCache.at > limits.marketCacheMs) {
      const read = readMarkets(client, exchange, engine.markets);
      marketCache = { at: now, markets: read };
      read.catch(() => {
        if (marketCache?.markets === read) marketCache = undefined;
      });
    }
    try {
      return await marketCache.markets;
    } catch (error) {
      metrics?.rpcError("market");
      log.warn({ err: String(error) }, "markets: the chain could not be read");
      throw new ApiError("CHAIN_UNAVAILABLE", "the chain could not be read; try again");
    }
  };

  app.get("/v1/markets", async (request) => {
    parse(emptyQuery, request.query, "query");
    return { markets: [...(await markets()).values()] };
  });

  app.get("/v1/markets/:marketId", async (request) => {
    parse(emptyQuery, request.query, "query");
    const marketId = servedMarket(request.params);
    return (await markets()).get(marketId.toString());
  });

  app.get("/v1/markets/:marketId/book", async (request) => {
    const marketId = servedMarket(request.params);
    const { depth } = parse(bookQuery, request.query, "query");
    return feed.bookSnapshot(marketId, depth);
  });

  app.get("/v1/markets/:marketId/trades", async (request) => {
    const marketId = servedMarket(request.params);
    const { limit, before } = parse(tradesQuery, request.query, "query");
    return { trades: store.recentFills(marketId, limit, before).map((f) => tradeJson(storedTrade(store, f))) };
  });

  // ---------------------------------------------------------------- health, metrics, feed

  app.get("/v1/health", async () => ({ status: "ok" }));

  app.get("/v1/ready", async (_request, reply) => {
    const state = options.isReady?.() ?? { ready: engine.running, missing: engine.running ? [] : ["engine"] };
    if (!state.ready) {
      return refuse(
        reply,
        new ApiError("NOT_READY", `not ready: ${state.missing.join(", ")}`, { details: { missing: state.missing } }),
      );
    }
    return { status: "ready" };
  });

  app.get("/metrics", async (_request, reply) => {
    if (metrics === undefined) throw new ApiError("NOT_FOUND", "metrics are not enabled on this keeper");
    const { contentType, body } = await metrics.text();
    return reply.header("Content-Type", contentType).send(body);
  });

  app.get("/v1/ws", { websocket: true }, (socket, request) => feed.attach(socket, request.ip));

  await app.listen({ host: options.host, port: options.port });
  const { port } = app.server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  log.info({ host: options.host, port }, "keeper API listening");
  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}/v1/ws`,
    feed,
    async close() {
      feed.close();
      await app.close();
    },
  };
}

/** Market parameters, risk limits and price bounds of each served market, as `GET /v1/markets` shows them. */
async function readMarkets(
  client: ReadClient,
  exchange: Address,
  ids: readonly bigint[],
): Promise<Map<string, object>> {
  const entries = await Promise.all(
    ids.map(async (marketId) => {
      const [m, risk, bounds] = await Promise.all([
        getMarket(client, { exchange, marketId }),
        getRiskLimits(client, { exchange, marketId }),
        getPriceBounds(client, { exchange, marketId }),
      ]);
      const json: KeeperMarketJson = {
        marketId: marketId.toString(),
        base: m.base,
        quote: m.quote,
        lotSize: m.lotSize.toString(),
        tickSize: m.tickSize.toString(),
        makerFeeBps: m.makerFeeBps.toString(),
        takerFeeBps: m.takerFeeBps.toString(),
        riskLimits: {
          halted: risk.halted,
          bandBps: risk.bandBps.toString(),
          maxLotsPerBlock: risk.maxLotsPerBlock.toString(),
        },
        priceBounds: {
          available: bounds.available,
          minPriceTicks: bounds.minPriceTicks.toString(),
          maxPriceTicks: bounds.maxPriceTicks.toString(),
        },
      };
      return [marketId.toString(), json] as const;
    }),
  );
  return new Map(entries);
}

/** Any failure as an `ApiError`: ours as they are, Fastify's parser errors by their code, the rest `INTERNAL`. */
function toApiError(error: FastifyError | ApiError | Error, requestId: string): ApiError {
  if (error instanceof ApiError) return error;
  const code = (error as FastifyError).code;
  const status = (error as FastifyError).statusCode;
  const map: Record<string, [ApiErrorCode, string]> = {
    FST_ERR_CTP_BODY_TOO_LARGE: ["BODY_TOO_LARGE", "the body is larger than the limit of 16 KiB"],
    FST_ERR_CTP_INVALID_MEDIA_TYPE: ["UNSUPPORTED_MEDIA_TYPE", "send the body as application/json"],
    FST_ERR_CTP_INVALID_JSON_BODY: ["BAD_JSON", "the body is not valid JSON"],
    FST_ERR_CTP_EMPTY_JSON_BODY: ["BAD_JSON", "the body is empty; send a JSON object"],
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: ["BAD_REQUEST", "Content-Length does not match the body"],
  };
  const known = code === undefined ? undefined : map[code];
  if (known !== undefined) return new ApiError(known[0], known[1]);
  if (error instanceof SyntaxError && status === 400)
    return new ApiError("BAD_JSON", `the body is not valid JSON: ${error.message}`);
  if (status === 413) return new ApiError("BODY_TOO_LARGE", "the body is larger than the limit of 16 KiB");
  if (status === 415) return new ApiError("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
  if (status !== undefined && status >= 400 && status < 500) return new ApiError("BAD_REQUEST", error.message);
  return new ApiError("INTERNAL", "internal error; it has been logged", { details: { requestId } });
}
