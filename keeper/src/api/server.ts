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
 * - Budgets are token buckets (`./rateLimit`), configurable, each checked and charged in one step
 *   (no `await` between): per client address before the body is read (an IPv6 client by its /64;
 *   behind a proxy named in `trustProxy`, the address its `X-Forwarded-For` gives); then, once the
 *   signature is checked in memory, per account for what its maker signed, per address for what
 *   no EOA signed (bad signatures, contract wallets until the chain confirms), and per address for
 *   accounts the keeper has never accepted an order from (each costs chain reads).
 * - Per-account reads (`GET /v1/accounts/{a}/orders`, `GET /v1/orders/{hash}`) need the account's
 *   session (`POST /v1/sessions`); no signature is served to anyone; reads show committed state.
 * - Signature checks of orders are the engine's (its risk check); this module checks the
 *   signatures of soft cancels and logins (EOA, or ERC-1271 with 100,000 gas), their ±5 minute
 *   `issuedAt` window, and uses each signed cancel once.
 */
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from "fastify";
import websocket from "@fastify/websocket";
import type { IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { erc20Abi, getAddress, isAddress, type Address, type Hex } from "viem";
import { readContract } from "viem/actions";
import {
  getMarket,
  getPriceBounds,
  getRiskLimits,
  type ExchangeDomainParameters,
  type ReadClient,
} from "@crossbook/sdk";
import type { KeeperMarketJson } from "@crossbook/sdk/keeper-wire";
import { NotLeadingError, type Engine } from "../engine";
import { silentLogger, type Logger } from "../log";
import type { KeeperRole } from "../leader";
import type { Store } from "../store";
import type { Metrics } from "../metrics";
import { ApiError, type ApiErrorCode } from "./errors";
import { DEFAULT_FEED_LIMITS, Feed, type FeedLimits } from "./feed";
import { asyncApiDocument, openApiDocument, type RegisteredRoute, type RouteDoc } from "./openapi";
import { clientKey, RateLimiter } from "./rateLimit";
import { addAcceptors } from "./acceptors";
import { guardConnections } from "./connections";
import { DeadMan } from "./deadman";
import { FeedOrders } from "./feedOrders";
import { Intake, type IntakeLimits } from "./intake";
import { OrderTimer, type EngineStage } from "./orderTiming";
import { OrderEntry, type EntryAnswer, type Sender } from "./orderEntry";
import {
  accountOrdersQuery,
  accountParams,
  bookQuery,
  cancelAllBody,
  emptyQuery,
  hashParams,
  marketParams,
  nonceParams,
  orderQuery,
  parse,
  readyQuery,
  sessionBody,
  tradesQuery,
} from "./schemas";
import { Sessions } from "./sessions";
import {
  registerGatewayChannel,
  sessionSecret,
  type ForwardedAnswer,
  type ForwardedRequest,
  type TrustSigner,
} from "./gatewayChannel";
import { verifyKeeperMessage } from "./signatures";
import { orderDetailJson, orderStatusJson, refusalJson, storedTrade, tradeJson } from "./wire";

export interface ApiLimits extends FeedLimits {
  /** Request body limit in bytes. */
  readonly bodyBytes: number;
  /** Requests per second per client IP (burst: the same). */
  readonly perIpPerSecond: number;
  /** Orders and cancels per second per account, charged once signed by it (burst: the same). */
  readonly perAccountPerSecond: number;
  /**
   * Orders and cancels per second per client address whose signature is not an EOA's (bad ones, and
   * contract wallets', before the chain is asked) (burst: the same).
   */
  readonly perIpBadSignaturesPerSecond: number;
  /** Orders and cancels per second per client address naming an account the keeper has never accepted an order from. */
  readonly perIpNewAccountsPerSecond: number;
  /** Signed cancels remembered (each until it expires) so that none is used twice. */
  readonly maxRememberedCancels: number;
  /** How long market parameters read from the chain are reused. */
  readonly marketCacheMs: number;
  /** The most actions one `POST /v1/orders/batch` may carry (each is charged to the account's budget). */
  readonly maxBatchActions: number;
  /** HTTP connections open at once per client address (beyond: closed as they arrive; the feed's are capped apart). */
  readonly maxHttpConnectionsPerIp: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  ...DEFAULT_FEED_LIMITS,
  bodyBytes: 16 * 1024,
  perIpPerSecond: 5_000,
  perAccountPerSecond: 500,
  perIpBadSignaturesPerSecond: 50,
  perIpNewAccountsPerSecond: 100,
  maxRememberedCancels: 500_000,
  marketCacheMs: 3_000,
  maxBatchActions: 20,
  maxHttpConnectionsPerIp: 64,
};

export interface ApiOptions {
  readonly engine: Engine;
  readonly store: Store;
  readonly domain: ExchangeDomainParameters;
  readonly chain: {
    readonly client: ReadClient;
    readonly exchange: Address;
    /**
     * Whether an account has code, from the keeper's cached chain reads (one call per account per
     * block at most): a cancel's bad signature naming an EOA is refused without a node call.
     * Absent: the node is asked each time.
     */
    readonly hasCode?: (account: Address) => Promise<boolean>;
  };
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  readonly log?: Logger;
  readonly metrics?: Metrics;
  readonly limits?: Partial<ApiLimits>;
  /** Milliseconds; `Date.now` by default: every budget, session and cancel window reads it. */
  readonly clock?: () => number;
  /** `/v1/ready`; by default ready while the engine runs. */
  readonly isReady?: () => { ready: boolean; missing: string[] };
  /** Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed; none by default. */
  readonly trustProxy?: readonly string[];
  /**
   * Handles on the listening socket, each accepting one connection a turn of the event loop
   * (./acceptors; `api.acceptors`, 16 from the command line). 1 by default: the server's own only.
   */
  readonly acceptors?: number;
  /** How long a session lasts (default one hour). */
  readonly sessionTtlMs?: number;
  /**
   * Leader or follower (several keepers on one PostgreSQL). A follower serves reads and the feed and
   * refuses every write with `NOT_LEADER` naming the leader. Absent: always the leader.
   */
  readonly role?: KeeperRole;
  /**
   * The cluster secret (`CROSSBOOK_CLUSTER_SECRET`): with one, the gateways' channel
   * (`/internal/v1/gateway`, ./gatewayChannel) exists and sessions are MACed with it, so that a token
   * from any keeper or gateway of the cluster works at every one. Absent: no channel, a random key.
   */
  readonly clusterSecret?: string;
  /** Seeds the keeper's memo of recovered signers with a signer a gateway recovered (the channel only). */
  readonly trustSigner?: TrustSigner;
  /**
   * Every frame of the gateways' channel through `app.inject`, order entry's too (by default order
   * entry is called straight from the frame, with the same answer): for the tests that compare both.
   */
  readonly gatewayInject?: boolean;
  /**
   * Whether the keeper knows an account (an order of it accepted, or a deposit seen): how an order's
   * timing is labelled (`./orderTiming`). Absent: the engine's record of accepted orders.
   */
  readonly knownAccount?: (account: Address) => boolean;
  /** Milliseconds, monotonic: an order's stage timing reads it (`performance.now` by default). */
  readonly timingClock?: () => number;
  /** Order entry's intake (`./intake`): `DEFAULT_INTAKE_LIMITS` by default. */
  readonly intake?: IntakeLimits;
}

export interface RunningApi {
  /** `http://host:port` */
  readonly url: string;
  /** `ws://host:port/v1/ws` */
  readonly wsUrl: string;
  /** The feed (its sequence numbers, client count). */
  readonly feed: Feed;
  /** The dead-man switch (its schedules, `check()` to fire what is due now). */
  readonly deadMan: DeadMan;
  /** Told an order's stage inside the engine (`EngineOptions.onOrderStage`): its answer's `Server-Timing` says it. */
  orderStage(hash: Hex, stage: EngineStage, ms: number): void;
  close(): Promise<void>;
}

/** The routes, for 405 answers: a path that matches a pattern under another method. */
const ROUTES: readonly { method: string; pattern: RegExp }[] = [
  { method: "POST", pattern: /^\/v1\/orders$/ },
  { method: "POST", pattern: /^\/v1\/orders\/batch$/ },
  { method: "GET", pattern: /^\/v1\/accounts\/[^/]+\/orders\/by-nonce\/[^/]+$/ },
  { method: "GET", pattern: /^\/v1\/accounts\/[^/]+\/limits$/ },
  { method: "POST", pattern: /^\/v1\/cancels$/ },
  { method: "POST", pattern: /^\/v1\/cancels\/all$/ },
  { method: "POST", pattern: /^\/v1\/cancels\/schedule$/ },
  { method: "POST", pattern: /^\/v1\/sessions$/ },
  { method: "POST", pattern: /^\/v1\/sessions\/challenge$/ },
  { method: "GET", pattern: /^\/v1\/orders\/[^/]+$/ },
  { method: "GET", pattern: /^\/v1\/accounts\/[^/]+\/orders$/ },
  { method: "GET", pattern: /^\/v1\/markets$/ },
  { method: "GET", pattern: /^\/v1\/markets\/[^/]+$/ },
  { method: "GET", pattern: /^\/v1\/markets\/[^/]+\/book$/ },
  { method: "GET", pattern: /^\/v1\/markets\/[^/]+\/trades$/ },
  { method: "GET", pattern: /^\/v1\/health$/ },
  { method: "GET", pattern: /^\/v1\/ready$/ },
  { method: "GET", pattern: /^\/v1\/books\/digest$/ },
  { method: "GET", pattern: /^\/v1\/ws$/ },
  { method: "GET", pattern: /^\/metrics$/ },
  { method: "GET", pattern: /^\/v1\/openapi\.json$/ },
  { method: "GET", pattern: /^\/v1\/asyncapi\.json$/ },
];

const JSON_TYPE = /^application\/json\s*(;|$)/i;
/** The content type fastify answers JSON with. */
const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
/** The routes a gateway's frame reaches without `app.inject` (see `direct` in `startApi`). */
const DIRECT_ROUTES = new Set(["/v1/orders", "/v1/orders/batch", "/v1/cancels", "/v1/cancels/all"]);

/**
 * The routes that change the store: a follower refuses them (`NOT_LEADER`) before reading the body.
 * Sessions are not among them (a session is this keeper's memory, not the store's: a follower logs
 * in for its per-account reads), and the feed's order entry is refused by `FeedOrders` with the same answer.
 */
const WRITE_ROUTES: ReadonlySet<string> = new Set([
  "POST /v1/orders",
  "POST /v1/orders/batch",
  "POST /v1/cancels",
  "POST /v1/cancels/all",
  "POST /v1/cancels/schedule",
]);

/** The `info.version` of the OpenAPI and AsyncAPI documents: the API's version. */
const API_DOCUMENT_INFO = { version: "1.0.0" };

/** Starts the API on `host:port` and resolves once it listens. */
export async function startApi(options: ApiOptions): Promise<RunningApi> {
  const { engine, store, domain } = options;
  const limits: ApiLimits = { ...DEFAULT_API_LIMITS, ...options.limits };
  const log = options.log ?? silentLogger;
  const metrics = options.metrics;
  const clock = options.clock ?? Date.now;
  const client = options.chain.client;
  const exchange = options.chain.exchange;
  const perIp = new RateLimiter({ rate: limits.perIpPerSecond, clock });
  const logins = new RateLimiter({ rate: limits.perIpLoginsPerSecond, clock });
  const sessions = new Sessions({
    ttlMs: options.sessionTtlMs ?? 3_600_000,
    challengeTtlMs: limits.challengeTtlMs,
    clock,
    ...(options.clusterSecret === undefined ? {} : { secret: sessionSecret(options.clusterSecret) }),
  });
  const startedAt = new Date();
  const entry = new OrderEntry({
    engine,
    store,
    domain,
    client,
    ...(options.chain.hasCode === undefined ? {} : { hasCode: options.chain.hasCode }),
    limits,
    clock,
    log,
    metrics,
  });
  const perAccount = entry.perAccount;
  const deadMan = new DeadMan({ engine, entry, clock, log });
  const orders = new FeedOrders({
    entry,
    deadMan,
    perIp,
    log,
    metrics,
    refuseWrites: () => (options.role === undefined || options.role.leading ? undefined : notLeader()),
  });
  const feed = new Feed({ engine, store, domain, client, limits, log, metrics, clock, sessions, logins, orders });
  metrics?.watch(engine, store);
  let requestCount = 0;

  const app = Fastify({
    logger: false,
    bodyLimit: limits.bodyBytes,
    genReqId: () => `r${(++requestCount).toString(36)}`,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
    // Only the named proxies' X-Forwarded-For is believed (proxy-addr); request.ip is the client's then.
    trustProxy: options.trustProxy !== undefined && options.trustProxy.length > 0 ? [...options.trustProxy] : false,
  });
  app.removeContentTypeParser("text/plain");
  // Every route, as registered, for the OpenAPI document: a route declares its description in
  // `config.doc` (or has one in `ROUTE_DOCS`, ./openapi); the tests fail on one that has none.
  const registered: RegisteredRoute[] = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) {
      registered.push({
        method,
        url: route.url,
        doc: (route.config as { doc?: RouteDoc } | undefined)?.doc,
        schema: route.schema as RegisteredRoute["schema"],
      });
    }
  });
  await app.register(websocket, { options: { maxPayload: limits.bodyBytes } });

  // Each client address's HTTP connections: capped, and not read while it is over one of its own
  // budgets (./connections). A trusted proxy's connections carry many clients: neither.
  const guard = guardConnections(app.server, {
    maxPerAddress: limits.maxHttpConnectionsPerIp,
    trustProxy: options.trustProxy,
    clock,
  });
  /** The sender spent a budget of its address: none of its connections is read until `seconds` pass. */
  const holdSender = (request: FastifyRequest, seconds: number) =>
    guard.holdSender(request.raw.socket, request.ip, seconds);

  const refuse = (reply: FastifyReply, error: ApiError) => {
    if (error.retryAfterSeconds !== undefined) void reply.header("Retry-After", String(error.retryAfterSeconds));
    return reply.status(error.status).send(error.body());
  };

  app.setErrorHandler((raw: FastifyError | ApiError, request, reply) => {
    const error = refusalOf(raw, request.id);
    if (error.code === "INTERNAL") {
      log.error({ requestId: request.id, url: request.url, err: raw.message, stack: raw.stack }, "request failed");
    }
    if (request.method === "POST" && request.routeOptions.url === "/v1/orders") metrics?.orderRejected(error.code);
    if (error.addressBudget && error.retryAfterSeconds !== undefined) holdSender(request, error.retryAfterSeconds);
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

  /** A failure as the client's refusal: a write the engine refused after a step-down is `NOT_LEADER`. */
  const refusalOf = (raw: FastifyError | ApiError | Error, requestId: string): ApiError =>
    raw instanceof NotLeadingError ? notLeader() : toApiError(raw, requestId);

  /** A follower's refusal of a write: who leads (the lease's URL and term), and to try there. */
  const notLeader = (): ApiError => {
    const { leader, term } = options.role?.current ?? {};
    return new ApiError(
      "NOT_LEADER",
      leader === undefined
        ? "this keeper follows and no leader is known yet: try again shortly"
        : `this keeper follows; the leader (term ${term}) is at ${leader}: send order entry there`,
      {
        details: { ...(leader === undefined ? {} : { leader }), ...(term === undefined ? {} : { term }) },
        retryAfterSeconds: 1,
      },
    );
  };

  app.addHook("onRequest", async (request) => {
    const wait = perIp.take(clientKey(request.ip));
    if (wait > 0) {
      throw new ApiError("RATE_LIMITED", "too many requests from this address", {
        retryAfterSeconds: wait,
        addressBudget: true,
      });
    }
    if (options.role !== undefined && !options.role.leading) {
      if (WRITE_ROUTES.has(`${request.method} ${request.routeOptions.url ?? ""}`)) throw notLeader();
    }
  });

  // An order's stages (./orderTiming) from its request's arrival: node's `request` event, before
  // fastify's handler, so that the wait for the body is counted too.
  const timingClock = options.timingClock ?? (() => performance.now());
  const knownAccount = options.knownAccount ?? ((account: Address) => engine.knows(account));
  const timers = new WeakMap<IncomingMessage, OrderTimer>();
  const timerOf = (request: FastifyRequest) => timers.get(request.raw);
  /** The timers of orders inside the engine, by hash: the engine tells their stages by hash. */
  const inEngine = new Map<Hex, OrderTimer>();
  // Each connection's accept, until its first request: first of the `connection` listeners, before
  // node's HTTP setup of it, so that an order on a new connection says how long the keeper took to
  // read it once accepted (`accept`), apart from the wait before the accept.
  const acceptedAt = new WeakMap<Socket, number>();
  app.server.prependListener("connection", (socket: Socket) => acceptedAt.set(socket, timingClock()));
  app.server.prependListener("request", (req: IncomingMessage) => {
    const accepted = acceptedAt.get(req.socket);
    if (accepted !== undefined) acceptedAt.delete(req.socket);
    if (req.method === "POST" && (req.url === "/v1/orders" || req.url?.startsWith("/v1/orders?") === true)) {
      const wallClock = options.timingClock === undefined ? Date.now() : undefined;
      timers.set(req, new OrderTimer(timingClock, wallClock, accepted));
    }
  });

  app.addHook("preValidation", async (request) => {
    timerOf(request)?.mark("body");
    if (request.method === "POST" && !JSON_TYPE.test(request.headers["content-type"] ?? "")) {
      throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
    }
  });

  /** Requests charged to an account's budget: their answers carry that budget's headers too. */
  const chargedAccount = new WeakMap<FastifyRequest, string>();

  // Every answer says where the client's budgets stand (keeper/API.md, "Budgets"): the address's
  // always, the account's when the request was charged to one.
  app.addHook("onSend", async (request, reply) => {
    const headers = (prefix: string, s: ReturnType<RateLimiter["state"]>) => {
      void reply.header(`${prefix}Limit`, String(s.limit));
      void reply.header(`${prefix}Remaining`, String(s.remaining));
      void reply.header(`${prefix}Reset`, String(s.resetSeconds));
    };
    headers("RateLimit-", perIp.state(clientKey(request.ip)));
    const account = chargedAccount.get(request);
    if (account !== undefined) headers("X-Account-RateLimit-", perAccount.state(account));
    const timer = timerOf(request);
    if (timer !== undefined) {
      timer.mark("reply");
      void reply.header("Server-Timing", timer.serverTiming());
      reply.raw.once("finish", () => {
        timer.mark("write");
        if (metrics !== undefined)
          for (const { stage, ms } of timer.durations()) metrics.orderHttpStage(stage, timer.known, ms / 1000);
      });
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

  /** The account of the request's session (`Authorization: Bearer …`), or `SESSION_REQUIRED`. */
  const sessionOf = (authorization: string | undefined): Address => {
    const token = /^Bearer (\S+)$/i.exec(authorization ?? "")?.[1];
    const account = token === undefined ? undefined : sessions.verify(token);
    if (account === undefined) {
      throw new ApiError(
        "SESSION_REQUIRED",
        token === undefined
          ? "this read needs the account's session: POST /v1/sessions, then send Authorization: Bearer <token>"
          : "the session token is not valid or has expired: log in again",
      );
    }
    return account;
  };

  const servedMarket = (raw: unknown): bigint => {
    const { marketId } = parse(marketParams, raw, "path");
    if (engine.book(marketId) === undefined) {
      throw new ApiError("MARKET_NOT_SERVED", `market ${marketId} is not served by this keeper`);
    }
    return marketId;
  };

  // ---------------------------------------------------------------- orders and cancels

  /** Who sent a request, for order entry: its address, and the account its budget was charged to. */
  const senderOf = (request: FastifyRequest, session?: () => Address): Sender => ({
    ip: request.ip,
    session,
    charged: (account) => chargedAccount.set(request, account),
  });

  /** Signed requests past the intake at once, the rest served in turn by client address (`./intake`). */
  const intake = new Intake(options.intake);
  const inTurn = <T>(request: FastifyRequest, task: (leave: () => boolean) => Promise<T>) =>
    intake.run(clientKey(request.ip), task);

  app.post("/v1/orders", async (request, reply) => {
    parse(emptyQuery, request.query, "query");
    const timer = timerOf(request);
    const sender: Sender =
      timer === undefined
        ? senderOf(request)
        : {
            ...senderOf(request),
            prepared: (hash) => {
              timer.mark("prepare");
              if (hash !== undefined) inEngine.set((engineHash = hash), timer);
            },
          };
    /** The order's hash while it is inside the engine (its stages are told by hash). */
    let engineHash: Hex | undefined;
    const { status, body } = await inTurn(request, async (leave) => {
      if (timer !== undefined) {
        timer.mark("intake");
        const maker = (request.body as { order?: { maker?: unknown } } | undefined)?.order?.maker;
        timer.known =
          typeof maker === "string" && isAddress(maker, { strict: false }) && knownAccount(getAddress(maker));
      }
      // An order that will wait in the engine behind its own account's earlier orders leaves its
      // intake slot to the next request in turn (./intake): it needs none while it waits.
      const stepAside: Sender = {
        ...sender,
        prepared: (hash, maker) => {
          sender.prepared?.(hash, maker);
          if (maker !== undefined && engine.isBusy(maker)) leave();
        },
      };
      try {
        return await entry.place(stepAside, request.body);
      } finally {
        timer?.mark("engine");
        if (engineHash !== undefined) inEngine.delete(engineHash);
      }
    });
    return reply.status(status).send(body);
  });

  /** One account's places, cancels and amends in one turn of its queue and one commit (`OrderEntry.batch`). */
  app.post("/v1/orders/batch", async (request) => {
    parse(emptyQuery, request.query, "query");
    return (
      await entry.batch(
        senderOf(request, () => sessionOf(request.headers.authorization)),
        request.body,
      )
    ).body;
  });

  app.post("/v1/cancels", async (request) => {
    parse(emptyQuery, request.query, "query");
    return (await inTurn(request, () => entry.cancel(senderOf(request), request.body))).body;
  });

  /** `POST /v1/cancels/all` from the client at `ip`: the route's and the gateways' channel's. */
  const cancelAllOf = (ip: string, input: unknown) => {
    const { cancelAll, signature } = parse(cancelAllBody, input, "body");
    return intake.run(clientKey(ip), async () => {
      const arrivedAt = await entry.checkSigned(ip, cancelAll.maker, cancelAll.issuedAt, signature, {
        primaryType: "CancelAll",
        message: cancelAll,
      });
      const cancelled = await engine.cancelAll(cancelAll.maker, {
        marketId: cancelAll.marketId === 0n ? undefined : cancelAll.marketId,
        // Never later than its first arrival (a message is used once): signed with a clock running
        // ahead, it must not reach orders placed after it arrived.
        createdUpTo: Math.min(Number(cancelAll.issuedAt), arrivedAt),
      });
      return { cancelled };
    });
  };
  app.post("/v1/cancels/all", async (request) => {
    parse(emptyQuery, request.query, "query");
    return cancelAllOf(request.ip, request.body);
  });

  /** The dead-man switch's heartbeat: the signed `ScheduleCancel` (`DeadMan.schedule`). */
  app.post("/v1/cancels/schedule", async (request) => {
    parse(emptyQuery, request.query, "query");
    return (await deadMan.schedule(senderOf(request), request.body)).body;
  });

  // ---------------------------------------------------------------- sessions and per-account reads

  app.post("/v1/sessions/challenge", async (request) => challengeFor(sessions, logins, request.ip));

  app.post("/v1/sessions", async (request, reply) => {
    parse(emptyQuery, request.query, "query");
    const session = await logIn(sessions, { client, domain }, request.body, (error) => {
      metrics?.rpcError("isValidSignature");
      log.warn({ err: String(error) }, "session login: the chain could not be read");
    });
    return reply.status(201).send(session);
  });

  /**
   * A per-account read's answer, sent once every commit it could show is durable: the store's
   * committed state holds a commit before PostgreSQL does (until its flush lands) or before its
   * fsync (SQLite), and a crash there would erase what the answer showed. Refused `STOPPED` when
   * that commit failed (the keeper steps down or stops).
   */
  const durably = async <T>(answer: T): Promise<T> => {
    try {
      await store.durable();
    } catch {
      throw new ApiError("STOPPED", "the keeper could not make its latest changes durable; try again");
    }
    return answer;
  };

  app.get("/v1/orders/:hash", async (request) => {
    const { limit, before } = parse(orderQuery, request.query, "query");
    const { hash } = parse(hashParams, request.params, "path");
    const account = sessionOf(request.headers.authorization);
    const committed = store.committed;
    const stored = committed.getOrder(hash);
    // Another account's order reads as no order: its existence is none of the caller's business.
    if (stored === undefined || stored.order.maker !== account) {
      const refused = engine.recentRefusal(hash);
      if (refused !== undefined && refused.order.maker === account) return refusalJson(refused);
      throw new ApiError("ORDER_NOT_FOUND", `no order ${hash} of ${account}`);
    }
    return durably(orderDetailJson(committed, stored, committed.orderFills(hash, limit, before)));
  });

  app.get("/v1/accounts/:address/orders", async (request) => {
    const { address } = parse(accountParams, request.params, "path");
    const { status, limit, before } = parse(accountOrdersQuery, request.query, "query");
    const account = sessionOf(request.headers.authorization);
    if (account !== address) throw new ApiError("FORBIDDEN", `the session is ${account}'s, not ${address}'s`);
    const page = store.committed.accountOrders(address, { status, limit, before });
    return durably({
      orders: page.orders.map((o) => orderStatusJson(o)),
      ...(page.next === undefined ? {} : { next: page.next }),
    });
  });

  app.get("/v1/accounts/:address/orders/by-nonce/:nonce", async (request) => {
    const { address, nonce } = parse(nonceParams, request.params, "path");
    const { limit, before } = parse(orderQuery, request.query, "query");
    const account = sessionOf(request.headers.authorization);
    if (account !== address) throw new ApiError("FORBIDDEN", `the session is ${account}'s, not ${address}'s`);
    const committed = store.committed;
    const stored = committed.orderByNonce(address, nonce);
    if (stored === undefined) throw new ApiError("ORDER_NOT_FOUND", `no order of ${address} under nonce ${nonce}`);
    return durably(orderDetailJson(committed, stored, committed.orderFills(stored.hash, limit, before)));
  });

  /** The account's fills, newest first, as the feed's fills channel writes them: paged back by fill id. */
  app.get("/v1/accounts/:address/fills", async (request) => {
    const { address } = parse(accountParams, request.params, "path");
    const { limit, before } = parse(tradesQuery, request.query, "query");
    const account = sessionOf(request.headers.authorization);
    if (account !== address) throw new ApiError("FORBIDDEN", `the session is ${account}'s, not ${address}'s`);
    try {
      return await feed.fills.page(address, limit, before);
    } catch (error) {
      metrics?.rpcError("market");
      log.warn({ err: String(error) }, "fills: the markets' fees could not be read");
      throw new ApiError("CHAIN_UNAVAILABLE", "the chain could not be read; try again");
    }
  });

  /** The account's budgets, caps and each market's fees and minimums, in one answer. */
  app.get("/v1/accounts/:address/limits", async (request) => {
    parse(emptyQuery, request.query, "query");
    const { address } = parse(accountParams, request.params, "path");
    const account = sessionOf(request.headers.authorization);
    if (account !== address) throw new ApiError("FORBIDDEN", `the session is ${account}'s, not ${address}'s`);
    const budget = perAccount.state(address.toLowerCase());
    const served = await markets();
    return {
      account: address,
      rateLimit: {
        perSecond: limits.perAccountPerSecond,
        burst: budget.limit,
        remaining: budget.remaining,
        resetSeconds: budget.resetSeconds,
      },
      maxBatchActions: limits.maxBatchActions,
      maxOpenOrders: engine.maxOpenOrdersPerAccount,
      openOrders: engine.openOrderCount(address),
      markets: engine.markets.map((marketId) => {
        const m = served.get(marketId.toString()) as KeeperMarketJson;
        const minimum = engine.minimumOf(marketId);
        return {
          marketId: marketId.toString(),
          makerFeeBps: m.makerFeeBps,
          takerFeeBps: m.takerFeeBps,
          lotSize: m.lotSize,
          tickSize: m.tickSize,
          ...(minimum?.lots === undefined ? {} : { minLots: minimum.lots.toString() }),
          ...(minimum?.notional === undefined ? {} : { minNotional: minimum.notional.toString() }),
        };
      }),
    };
  });

  // ---------------------------------------------------------------- markets

  let marketCache: { at: number; markets: Promise<Map<string, object>> } | undefined;
  const markets = async (): Promise<Map<string, object>> => {
    const now = clock();
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
    const committed = store.committed;
    // Published fills only, as the book this API serves is the published one.
    const fills = committed.recentFills(marketId, limit, engine.publishedFillsBefore(before));
    return { trades: fills.map((f) => tradeJson(storedTrade(committed, f))) };
  });

  // ---------------------------------------------------------------- health, metrics, feed

  app.get("/v1/health", async () => ({ status: "ok" }));

  /** Leader or follower, under which term, since when, and who leads (SQLite: always the leader). */
  const roleJson = () => {
    const r = options.role?.current ?? { role: "leader" as const, since: startedAt };
    return {
      role: r.role,
      ...(r.term === undefined ? {} : { term: r.term }),
      since: r.since.toISOString(),
      ...(r.leader === undefined ? {} : { leader: r.leader }),
    };
  };

  app.get("/v1/ready", async (request, reply) => {
    const { role } = parse(readyQuery, request.query, "query");
    const state = options.isReady?.() ?? { ready: engine.running, missing: engine.running ? [] : ["engine"] };
    if (!state.ready) {
      return refuse(
        reply,
        new ApiError("NOT_READY", `not ready: ${state.missing.join(", ")}`, {
          details: { missing: state.missing, ...roleJson() },
        }),
      );
    }
    if (role === "leader" && options.role !== undefined && !options.role.leading) return refuse(reply, notLeader());
    return { status: "ready", ...roleJson() };
  });

  app.get("/v1/books/digest", async (request) => {
    parse(emptyQuery, request.query, "query");
    await engine.booksSettled(); // a keeper stepping down answers once its books are the store's again
    return {
      role: roleJson().role,
      markets: engine.bookDigests().map((d) => ({ ...d, marketId: d.marketId.toString() })),
    };
  });

  // Public by decision (keeper/README.md, "Metrics"): counts and depth by market, no account, no order.
  app.get("/metrics", async (_request, reply) => {
    if (metrics === undefined) throw new ApiError("NOT_FOUND", "metrics are not enabled on this keeper");
    const { contentType, body } = await metrics.text();
    return reply.header("Content-Type", contentType).send(body);
  });

  app.get("/v1/ws", { websocket: true }, (socket, request) => feed.attach(socket, request.ip));
  if (options.clusterSecret !== undefined) {
    /**
     * Order entry straight from a gateway's frame, without `app.inject`: the same steps and the same
     * answer as the route's (the address's budget, `NOT_LEADER`, the intake, the session, the
     * refusal with `Retry-After`, the account's budget headers), for the frames whose route would
     * only parse what it is given: a JSON body, the exact path. Any other frame goes through `inject`.
     */
    const direct = (frame: ForwardedRequest): Promise<ForwardedAnswer> | undefined => {
      if (frame.method !== "POST" || frame.body === undefined || !DIRECT_ROUTES.has(frame.url)) return undefined;
      if (!JSON_TYPE.test(frame.headers?.["content-type"] ?? "")) return undefined;
      return directAnswer(frame);
    };
    const directAnswer = async (frame: ForwardedRequest): Promise<ForwardedAnswer> => {
      const started = performance.now();
      const { url, client: ip, body: input } = frame;
      const headers: Record<string, string> = { "content-type": JSON_CONTENT_TYPE };
      let charged: string | undefined;
      const sender = (session?: () => Address): Sender => ({ ip, session, charged: (a) => (charged = a) });
      let answer: EntryAnswer;
      try {
        const wait = perIp.take(clientKey(ip));
        if (wait > 0) {
          throw new ApiError("RATE_LIMITED", "too many requests from this address", { retryAfterSeconds: wait });
        }
        if (options.role !== undefined && !options.role.leading) throw notLeader();
        const inTurnOf = <T>(task: () => Promise<T>) => intake.run(clientKey(ip), task);
        if (url === "/v1/orders") answer = await inTurnOf(() => entry.place(sender(), input));
        else if (url === "/v1/orders/batch") {
          const session = () => sessionOf(frame.headers?.authorization);
          answer = { status: 200, body: (await entry.batch(sender(session), input)).body };
        } else if (url === "/v1/cancels") {
          answer = { status: 200, body: (await inTurnOf(() => entry.cancel(sender(), input))).body };
        } else answer = { status: 200, body: await cancelAllOf(ip, input) };
      } catch (raw) {
        const error = refusalOf(raw as Error, `g${frame.id}`);
        if (error.code === "INTERNAL") {
          log.error({ requestId: `g${frame.id}`, url, err: (raw as Error).message }, "gateway frame failed");
        }
        if (url === "/v1/orders") metrics?.orderRejected(error.code);
        if (error.retryAfterSeconds !== undefined) headers["retry-after"] = String(error.retryAfterSeconds);
        answer = { status: error.status, body: error.body() };
      }
      if (charged !== undefined) {
        const s = perAccount.state(charged);
        headers["x-account-ratelimit-limit"] = String(s.limit);
        headers["x-account-ratelimit-remaining"] = String(s.remaining);
        headers["x-account-ratelimit-reset"] = String(s.resetSeconds);
      }
      metrics?.httpRequest("POST", url, answer.status, (performance.now() - started) / 1000);
      return { id: frame.id, status: answer.status, headers, body: answer.body };
    };
    registerGatewayChannel(app, {
      secret: options.clusterSecret,
      trustSigner: options.trustSigner,
      direct: options.gatewayInject === true ? undefined : direct,
      log,
      attachFeed: (socket, ip, trustSigner) => feed.attach(socket, ip, trustSigner),
    });
  }

  // The API described for machines, generated once every route is registered (./openapi).
  let documents: { openApi: object; asyncApi: object } | undefined;
  const describe = () =>
    (documents ??= {
      openApi: openApiDocument(registered, API_DOCUMENT_INFO),
      asyncApi: asyncApiDocument(API_DOCUMENT_INFO),
    });
  app.get("/v1/openapi.json", async () => describe().openApi);
  app.get("/v1/asyncapi.json", async () => describe().asyncApi);

  await app.listen({ host: options.host, port: options.port });
  const acceptors = await addAcceptors(app.server, { count: options.acceptors ?? 1, log });
  const { port } = app.server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  log.info({ host: options.host, port, acceptors: acceptors.count }, "keeper API listening");
  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}/v1/ws`,
    orderStage: (hash, stage, ms) => inEngine.get(hash)?.note(stage, ms),
    feed,
    deadMan,
    async close() {
      deadMan.close();
      feed.close();
      acceptors.close();
      await app.close();
    },
  };
}

/** `POST /v1/sessions/challenge`: a new challenge, within the address's login budget (keeper and gateway). */
export function challengeFor(sessions: Sessions, logins: RateLimiter, ip: string) {
  const wait = logins.take(clientKey(ip));
  if (wait > 0) {
    throw new ApiError("RATE_LIMITED", "too many logins from this address", {
      retryAfterSeconds: wait,
      addressBudget: true,
    });
  }
  return sessions.challenge();
}

/**
 * `POST /v1/sessions` (keeper and gateway): the challenge used once, the account's `FeedLogin` over
 * it checked (EOA, or ERC-1271 through `chain`), then a token. `chainFailed` hears a failed chain read.
 */
export async function logIn(
  sessions: Sessions,
  chain: { client: ReadClient; domain: ExchangeDomainParameters },
  body: unknown,
  chainFailed: (error: unknown) => void,
): Promise<{ token: string; account: Address; expiresAt: number }> {
  const { account, challenge, signature } = parse(sessionBody, body, "body");
  const check = sessions.useChallenge(challenge);
  if (check !== "ok") {
    throw new ApiError(
      "SESSION_REQUIRED",
      `the challenge is ${check}: ask for a new one (POST /v1/sessions/challenge)`,
    );
  }
  let ok: boolean;
  try {
    const message = { primaryType: "FeedLogin" as const, message: { account, challenge } };
    ok = await verifyKeeperMessage(chain.client, chain.domain, account, message, signature);
  } catch (error) {
    chainFailed(error);
    throw new ApiError("CHAIN_UNAVAILABLE", "the chain could not be read to check a contract signature; try again");
  }
  if (!ok) throw new ApiError("SESSION_REQUIRED", "the signature is not the account's FeedLogin over the challenge");
  const { token, expiresAt } = sessions.issue(account);
  return { token, account, expiresAt };
}

/** Each token's ERC-20 `decimals()`, read once (a token's decimals never change). */
const DECIMALS = new Map<string, Promise<number>>();
function tokenDecimals(client: ReadClient, token: Address): Promise<number> {
  const key = `${client.uid}:${token.toLowerCase()}`;
  let decimals = DECIMALS.get(key);
  if (decimals === undefined) {
    decimals = readContract(client, { address: token, abi: erc20Abi, functionName: "decimals" });
    DECIMALS.set(key, decimals);
    decimals.catch(() => DECIMALS.delete(key)); // asked again next time
  }
  return decimals;
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
      const [baseDecimals, quoteDecimals] = await Promise.all([
        tokenDecimals(client, m.base),
        tokenDecimals(client, m.quote),
      ]);
      const json: KeeperMarketJson = {
        marketId: marketId.toString(),
        base: m.base,
        quote: m.quote,
        lotSize: m.lotSize.toString(),
        tickSize: m.tickSize.toString(),
        makerFeeBps: m.makerFeeBps.toString(),
        takerFeeBps: m.takerFeeBps.toString(),
        baseDecimals,
        quoteDecimals,
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
export function toApiError(error: FastifyError | ApiError | Error, requestId: string): ApiError {
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
