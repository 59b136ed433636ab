/**
 * `crossbook-keeper gateway`: the traders' HTTP API in front of market shards (keeper/README.md,
 * "Gateways"). Stateless: it holds no book and no order; a restart loses nothing.
 *
 * For each request it validates the body (./../api/schemas), recovers an order's signature (native
 * secp256k1: that CPU lives here, not in the shards), applies the per-address budget, then routes
 * over one WebSocket per shard leader (./shardLinks):
 * - an order, and the market reads (`/v1/markets/{id}`, its book, its trades), to the market's shard;
 * - a batch to its orders' shard (`BATCH_SPANS_SHARDS` when they are in two; a batch of cancels
 *   only goes to every shard, each action's answer taken from the shard that knew the order);
 * - a soft cancel, a cancel-all and a dead-man schedule to every shard, the answers merged;
 * - an account's orders to every shard, merged newest first by (`createdAt`, `hash`), the keeper's
 *   own cursor; one order (by hash or nonce) from the shard that has it;
 * - an account's fills to every shard, merged newest first under a cursor of each shard's fill id
 *   (./fillPages: fill ids are numbered per shard).
 * A leader that refuses (`NOT_LEADER`) or whose socket closes with the request in flight: the
 * directory is read again and the request sent once more to the new leader (an order resubmitted
 * where it landed answers `DUPLICATE_ORDER`: order hashes make the retry safe). No leader:
 * `SHARD_UNAVAILABLE`, `Retry-After: 1`. Sessions are issued here, MACed with the cluster secret,
 * so shards accept them.
 */
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import websocket from "@fastify/websocket";
import type { AddressInfo } from "node:net";
import { createPublicClient, defineChain, http, isAddressEqual, type Address } from "viem";
import type { ExchangeDomainParameters, ReadClient } from "@crossbook/sdk";
import type pg from "pg";
import { createLogger, silentLogger, type Logger, type LogLevel } from "../log";
import { SETTINGS, type Setting } from "../config";
import { ApiError } from "../api/errors";
import { challengeFor, DEFAULT_API_LIMITS, logIn, toApiError } from "../api/server";
import { clientKey, RateLimiter } from "../api/rateLimit";
import { addAcceptors } from "../api/acceptors";
import { guardConnections } from "../api/connections";
import { Intake } from "../api/intake";
import { DEFAULT_FEED_LIMITS, TRY_AGAIN_LATER } from "../api/feed";
import {
  accountOrdersQuery,
  accountParams,
  batchBody,
  cancelAllBody,
  cancelBody,
  gatewayFillsQuery,
  hashParams,
  marketParams,
  nonceParams,
  parse,
  scheduleCancelBody,
  signedOrderOf,
  submitOrderBody,
} from "../api/schemas";
import { Sessions } from "../api/sessions";
import { CLUSTER_SECRET_ENV, sessionSecret, type ForwardedAnswer, type ForwardedRequest } from "../api/gatewayChannel";
import { recoverOrderSigner, sigcheckReady } from "../sigcheck";
import { pgClient } from "../store";
import { verifyKeeperMessage } from "../api/signatures";
import {
  batchSpansShards,
  mergeBatchCancelResults,
  mergeCancelAll,
  mergeCancelResults,
  shardUnavailable,
} from "./fanOut";
import { mergeFillPages, parseFillsCursor, shardsToAsk, type ShardFillsPage } from "./fillPages";
import { attachGatewayFeed } from "./gatewayFeed";
import { LinkLost, ShardDirectory } from "./shardLinks";
import type { ShardEntry } from "./registry";

export interface GatewayOptions {
  /** The shared PostgreSQL (the cluster's directory). */
  readonly database: string;
  readonly domain: ExchangeDomainParameters;
  /** The chain, for contract wallets' logins (ERC-1271). */
  readonly client: ReadClient;
  readonly clusterSecret: string;
  readonly host: string;
  readonly port: number;
  /** The shards' lease: the directory is read again every quarter of it. */
  readonly leaseMs: number;
  readonly trustProxy?: readonly string[];
  readonly perIpPerSecond?: number;
  /** HTTP connections open at once per client address (64 by default; keeper/API.md, "Budgets"). */
  readonly maxHttpConnectionsPerIp?: number;
  /** Handles on the listening socket (../api/acceptors; `api.acceptors`); 1 by default. */
  readonly acceptors?: number;
  readonly sessionTtlMs?: number;
  readonly log?: Logger;
}

export interface RunningGateway {
  readonly url: string;
  readonly directory: ShardDirectory;
  close(): Promise<void>;
}

type Frame = Omit<ForwardedRequest, "id">;
const JSON_TYPE = /^application\/json\s*(;|$)/i;

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const log = options.log ?? silentLogger;
  await sigcheckReady();
  const db: pg.Client = pgClient(options.database);
  await db.connect();
  const directory = new ShardDirectory(db, {
    secret: options.clusterSecret,
    refreshMs: Math.max(100, Math.floor(options.leaseMs / 4)),
    log,
  });
  await directory.start();
  const perIp = new RateLimiter({ rate: options.perIpPerSecond ?? 5_000 });
  const logins = new RateLimiter({ rate: 10 });
  const intake = new Intake();
  const sessions = new Sessions({
    ttlMs: options.sessionTtlMs ?? 3_600_000,
    challengeTtlMs: 60_000,
    clock: Date.now,
    secret: sessionSecret(options.clusterSecret),
  });

  /** Sends `frame` to `shard`'s leader; once more at the new leader after NOT_LEADER or a lost socket. */
  const send = async (shardName: string, frame: Frame): Promise<ForwardedAnswer> => {
    for (let attempt = 0; ; attempt++) {
      const shard = directory.byName(shardName);
      if (shard?.leaderUrl === undefined) {
        await directory.refresh();
        if (directory.byName(shardName)?.leaderUrl === undefined || attempt > 0) throw shardUnavailable(shardName);
        continue;
      }
      try {
        const answer = await directory.link(shard.leaderUrl).request(frame);
        if (errorCode(answer) !== "NOT_LEADER" || attempt > 0) return answer;
        log.info({ shard: shardName, url: shard.leaderUrl }, "gateway: the leader refused NOT_LEADER; asking again");
      } catch (error) {
        if (!(error instanceof LinkLost) || attempt > 0) throw shardUnavailable(shardName);
        log.warn({ shard: shardName, err: error.message }, "gateway: the leader's socket is gone; asking again");
      }
      await directory.refresh();
    }
  };
  const sendAll = (frame: Frame) => Promise.all(directory.all.map((s) => send(s.name, frame)));

  const app = Fastify({
    logger: false,
    bodyLimit: 16 * 1024,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
    trustProxy: options.trustProxy !== undefined && options.trustProxy.length > 0 ? [...options.trustProxy] : false,
  });
  app.removeContentTypeParser("text/plain");
  await app.register(websocket, { options: { maxPayload: 16 * 1024 } });
  const refuse = (reply: FastifyReply, error: ApiError) => {
    if (error.retryAfterSeconds !== undefined) void reply.header("Retry-After", String(error.retryAfterSeconds));
    return reply.status(error.status).send(error.body());
  };
  // As on a keeper: each address's HTTP connections capped, and none of them read for a while once
  // the address spends one of its own budgets (keeper/API.md, "Budgets").
  const guard = guardConnections(app.server, {
    maxPerAddress: options.maxHttpConnectionsPerIp ?? DEFAULT_API_LIMITS.maxHttpConnectionsPerIp,
    trustProxy: options.trustProxy,
  });
  app.setErrorHandler((raw, request, reply) => {
    const error = toApiError(raw as Error, request.id);
    if (error.code === "INTERNAL")
      log.error({ url: request.url, err: (raw as Error).message }, "gateway: request failed");
    if (error.addressBudget && error.retryAfterSeconds !== undefined)
      guard.holdSender(request.raw.socket, request.ip, error.retryAfterSeconds);
    return refuse(reply, error);
  });
  app.setNotFoundHandler((request, reply) =>
    refuse(reply, new ApiError("NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0]}`)),
  );
  app.addHook("onRequest", async (request) => {
    const wait = perIp.take(clientKey(request.ip));
    if (wait > 0)
      throw new ApiError("RATE_LIMITED", "too many requests from this address", {
        retryAfterSeconds: wait,
        addressBudget: true,
      });
  });
  app.addHook("preValidation", async (request) => {
    if (request.method === "POST" && !JSON_TYPE.test(request.headers["content-type"] ?? "")) {
      throw new ApiError("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
    }
  });

  /** The frame of `request` as it came (its body already validated by the route). */
  const frameOf = (request: FastifyRequest, extra: Partial<Frame> = {}): Frame => ({
    method: request.method as "GET" | "POST",
    url: request.url,
    headers: {
      ...(request.headers.authorization === undefined ? {} : { authorization: request.headers.authorization }),
      ...(request.method === "POST" ? { "content-type": "application/json" } : {}),
    },
    ...(request.method === "POST" ? { body: request.body } : {}),
    client: request.ip,
    ...extra,
  });
  const relay = (reply: FastifyReply, answer: ForwardedAnswer) => {
    for (const [name, value] of Object.entries(answer.headers)) void reply.header(name, value);
    return reply.status(answer.status).send(answer.body);
  };
  const marketShard = (marketId: bigint): ShardEntry => {
    const shard = directory.shardOf(marketId);
    if (shard === undefined)
      throw new ApiError("MARKET_NOT_SERVED", `market ${marketId} is not served by this cluster`);
    return shard;
  };
  /** The signer of an order if it is its maker (an EOA); else none: the shard checks it (ERC-1271, or refuses). */
  const signerOf = async (order: Parameters<typeof recoverOrderSigner>[0], signature: `0x${string}`) => {
    const signer = await recoverOrderSigner(order, signature, options.domain);
    return signer !== undefined && isAddressEqual(signer, order.maker) ? signer : undefined;
  };

  // ---------------------------------------------------------------- order entry

  app.post("/v1/orders", async (request, reply) => {
    const { order, signature } = parse(submitOrderBody, request.body, "body");
    const shard = marketShard(order.marketId);
    const answer = await intake.run(clientKey(request.ip), async () => {
      const signer = await signerOf(order, signature);
      return send(shard.name, frameOf(request, signer === undefined ? {} : { signer }));
    });
    return relay(reply, answer);
  });

  app.post("/v1/orders/batch", async (request, reply) => {
    const { actions } = parse(batchBody, request.body, "body");
    const signed = actions.map(signedOrderOf);
    const shards = new Set(signed.flatMap((s) => (s === undefined ? [] : [marketShard(s.order.marketId).name])));
    if (shards.size > 1) {
      throw batchSpansShards([...shards]);
    }
    const signers: Record<string, Address> = {};
    await Promise.all(
      signed.map(async (s, i) => {
        const signer = s === undefined ? undefined : await signerOf(s.order, s.signature);
        if (signer !== undefined) signers[String(i)] = signer;
      }),
    );
    const frame = frameOf(request, { signers });
    const only = [...shards][0];
    if (only !== undefined) return relay(reply, await send(only, frame));
    // Cancels only: every shard; each action's answer from the shard that knew its order.
    const answers = await sendAll(frame);
    const failed = answers.find((a) => a.status !== 200);
    if (failed !== undefined) return relay(reply, failed);
    if (answers.length === 0) throw new ApiError("NOT_READY", "no shard is registered yet");
    return mergeBatchCancelResults(
      actions.length,
      answers.map((a) => a.body),
    );
  });

  app.post("/v1/cancels", async (request) => {
    const { cancel } = parse(cancelBody, request.body, "body");
    const answers = await sendAll(frameOf(request));
    const failed = answers.find((a) => a.status !== 200);
    if (failed !== undefined) throw forwardedError(failed);
    return mergeCancelResults(
      cancel.orderHashes,
      answers.map((a) => a.body),
    );
  });

  app.post("/v1/cancels/all", async (request) => {
    parse(cancelAllBody, request.body, "body");
    const answers = await sendAll(frameOf(request));
    const failed = answers.find((a) => a.status !== 200);
    if (failed !== undefined) throw forwardedError(failed);
    return mergeCancelAll(answers.map((a) => a.body));
  });

  app.post("/v1/cancels/schedule", async (request, reply) => {
    parse(scheduleCancelBody, request.body, "body");
    const answers = await sendAll(frameOf(request));
    const failed = answers.find((a) => a.status !== 200);
    return relay(reply, failed ?? (answers[0] as ForwardedAnswer));
  });

  // ---------------------------------------------------------------- sessions: issued here, good at every shard

  app.post("/v1/sessions/challenge", async (request) => challengeFor(sessions, logins, request.ip));
  app.post("/v1/sessions", async (request, reply) => {
    const session = await logIn(sessions, options, request.body, (error) =>
      log.warn({ err: String(error) }, "gateway: session login: the chain could not be read"),
    );
    return reply.status(201).send(session);
  });

  // ---------------------------------------------------------------- reads

  app.get("/v1/markets", async (request) => {
    const answers = await sendAll(frameOf(request));
    const failed = answers.find((a) => a.status !== 200);
    if (failed !== undefined) throw forwardedError(failed);
    const markets = answers.flatMap((a) => (a.body as { markets: { marketId: string }[] }).markets);
    return { markets: markets.sort((x, y) => Number(BigInt(x.marketId) - BigInt(y.marketId))) };
  });
  for (const path of ["/v1/markets/:marketId", "/v1/markets/:marketId/book", "/v1/markets/:marketId/trades"]) {
    app.get(path, async (request, reply) => {
      const { marketId } = parse(marketParams, request.params, "path");
      return relay(reply, await send(marketShard(marketId).name, frameOf(request)));
    });
  }

  /** The first answer that found something, else the first answer. */
  const firstFound = async (request: FastifyRequest, reply: FastifyReply) => {
    const answers = await sendAll(frameOf(request));
    return relay(reply, answers.find((a) => a.status === 200) ?? answers.find((a) => a.status !== 404) ?? answers[0]!);
  };
  app.get("/v1/orders/:hash", async (request, reply) => {
    parse(hashParams, request.params, "path");
    return firstFound(request, reply);
  });
  app.get("/v1/accounts/:address/orders/by-nonce/:nonce", async (request, reply) => {
    parse(nonceParams, request.params, "path");
    return firstFound(request, reply);
  });

  app.get("/v1/accounts/:address/orders", async (request) => {
    parse(accountParams, request.params, "path");
    const { limit } = parse(accountOrdersQuery, request.query, "query");
    const answers = await sendAll(frameOf(request));
    const failed = answers.find((a) => a.status !== 200);
    if (failed !== undefined) throw forwardedError(failed);
    type Row = { hash: string; createdAt: number };
    const pages = answers.map((a) => a.body as { orders: Row[]; next?: string });
    // Newest first by (createdAt, hash), as each shard pages: the merged page's last row is the cursor.
    const merged = pages
      .flatMap((p) => p.orders)
      .sort((a, b) => b.createdAt - a.createdAt || (a.hash < b.hash ? 1 : a.hash > b.hash ? -1 : 0));
    const orders = merged.slice(0, limit);
    const more = merged.length > limit || pages.some((p) => p.next !== undefined);
    const last = orders[orders.length - 1];
    return { orders, ...(more && last !== undefined ? { next: `${last.createdAt}:${last.hash}` } : {}) };
  });

  /** The account's fills of every shard, merged newest first under the gateway's own cursor (./fillPages). */
  app.get("/v1/accounts/:address/fills", async (request) => {
    const { address } = parse(accountParams, request.params, "path");
    const { limit, before } = parse(gatewayFillsQuery, request.query, "query");
    const shards = directory.all.map((s) => s.name);
    const cursor = parseFillsCursor(before, shards);
    const asks = shardsToAsk(shards, cursor);
    const pages = await Promise.all(
      asks.map(async ({ shard, before: below }) => {
        const url = `/v1/accounts/${address}/fills?limit=${limit}${below === undefined ? "" : `&before=${below}`}`;
        const answer = await send(shard, { ...frameOf(request), url });
        if (answer.status !== 200) throw forwardedError(answer);
        return { shard, ...(answer.body as Omit<ShardFillsPage, "shard">) };
      }),
    );
    return mergeFillPages(pages, limit, cursor);
  });

  /** The account's limits: each shard's markets together, its open orders summed (the budget is each shard's). */
  app.get("/v1/accounts/:address/limits", async (request) => {
    parse(accountParams, request.params, "path");
    const answers = await sendAll(frameOf(request));
    const failed = answers.find((a) => a.status !== 200);
    if (failed !== undefined) throw forwardedError(failed);
    const bodies = answers.map((a) => a.body as { openOrders: number; markets: { marketId: string }[] });
    return {
      ...bodies[0],
      openOrders: bodies.reduce((n, b) => n + b.openOrders, 0),
      markets: bodies.flatMap((b) => b.markets).sort((x, y) => Number(BigInt(x.marketId) - BigInt(y.marketId))),
    };
  });

  // ---------------------------------------------------------------- health

  app.get("/v1/health", async () => ({ status: "ok" }));
  const feed = {
    directory,
    secret: options.clusterSecret,
    sessions,
    log,
    signerOf,
    verifyLogin: (account: Address, challenge: `0x${string}`, signature: `0x${string}`) =>
      verifyKeeperMessage(
        options.client,
        options.domain,
        account,
        {
          primaryType: "FeedLogin",
          message: { account, challenge },
        },
        signature,
      ),
  };
  // Feed connections are capped as a keeper caps them (DEFAULT_FEED_LIMITS): in all, and per client
  // address (an IPv6 client by its /64), so that one address cannot take every slot of a gateway.
  const feedClients = new Map<string, number>();
  let feedTotal = 0;
  app.get("/v1/ws", { websocket: true }, (socket, request) => {
    const key = clientKey(request.ip);
    const fromThere = feedClients.get(key) ?? 0;
    if (feedTotal >= DEFAULT_FEED_LIMITS.maxClients) {
      socket.close(TRY_AGAIN_LATER, "too many feed clients; try again later");
      return;
    }
    if (fromThere >= DEFAULT_FEED_LIMITS.maxClientsPerIp) {
      socket.close(TRY_AGAIN_LATER, "too many feed connections from this address; try again later");
      return;
    }
    feedClients.set(key, fromThere + 1);
    feedTotal++;
    socket.once("close", () => {
      feedTotal--;
      const left = (feedClients.get(key) ?? 1) - 1;
      if (left <= 0) feedClients.delete(key);
      else feedClients.set(key, left);
    });
    attachGatewayFeed(socket, request.ip, feed);
  });
  app.get("/v1/ready", async (_request, reply) => {
    const leaderless = directory.all.filter((s) => s.leaderUrl === undefined).map((s) => s.name);
    if (directory.all.length === 0 || leaderless.length > 0) {
      return refuse(
        reply,
        new ApiError(
          "NOT_READY",
          `not ready: ${leaderless.length > 0 ? `shards without a leader: ${leaderless.join(", ")}` : "no shard registered"}`,
          {
            details: { missing: leaderless },
          },
        ),
      );
    }
    return { status: "ready", role: "gateway", shards: directory.all.map((s) => s.name) };
  });

  await app.listen({ host: options.host, port: options.port });
  const acceptors = await addAcceptors(app.server, { count: options.acceptors ?? 1, log });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`;
  log.info({ url, shards: directory.all.map((s) => s.name) }, "gateway listening");
  return {
    url,
    directory,
    async close() {
      directory.stop();
      acceptors.close();
      await app.close();
      await db.end().catch(() => {});
    },
  };
}

function errorCode(answer: ForwardedAnswer): string | undefined {
  return (answer.body as { error?: { code?: string } } | null)?.error?.code;
}

/** A shard's refusal, passed on as it is. */
function forwardedError(answer: ForwardedAnswer): ApiError {
  const error = (
    answer.body as { error: { code: ApiError["code"]; message: string; details?: Record<string, unknown> } }
  ).error;
  const retry = answer.headers["retry-after"];
  return new ApiError(error.code, error.message, {
    ...(error.details === undefined ? {} : { details: error.details }),
    ...(retry === undefined ? {} : { retryAfterSeconds: Number(retry) }),
  });
}

// ---------------------------------------------------------------- the command

/** The keeper's settings a gateway takes (config/schema.ts: same flags, environment, defaults, checks). */
const GATEWAY_SETTINGS = {
  database: "databasePath",
  rpcUrl: "rpcUrl",
  chainId: "chainId",
  exchange: "exchange",
  host: "api.host",
  port: "api.port",
  leaseMs: "leaseMs",
  trustProxy: "api.trustProxy",
  maxHttpConnectionsPerIp: "api.maxHttpConnectionsPerIp",
  acceptors: "api.acceptors",
  logLevel: "logLevel",
} as const;

/** `crossbook-keeper gateway --help`: the gateway's settings, from the keeper's settings table. */
export function gatewayHelpText(): string {
  const lines = [
    'crossbook-keeper gateway — the traders\' HTTP and WebSocket in front of market shards (keeper/README.md, "Gateways").',
    "",
    "Usage: npm run keeper -- gateway --database postgres://... --rpc-url ... --chain-id ... --exchange 0x... [--flag value ...]",
    "",
    "Each setting comes from its flag or its environment variable (flag > env > default):",
  ];
  for (const path of Object.values(GATEWAY_SETTINGS)) {
    const s = SETTINGS.find((setting) => setting.path === path) as Setting;
    const fallback = s.default === undefined ? "" : `  [default ${String(s.default)}]`;
    lines.push(`  ${`--${s.flag}`.padEnd(30)} ${s.env.padEnd(36)} ${s.path}${fallback}`);
  }
  lines.push(
    `  ${"(environment only)".padEnd(30)} ${CLUSTER_SECRET_ENV.padEnd(36)} the cluster secret, shared with every shard (16 characters at least)`,
    "",
  );
  return lines.join("\n");
}

/** `crossbook-keeper gateway …`: starts a gateway; resolves with the exit code once it stops. */
export async function gatewayMain(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(gatewayHelpText());
    return 0;
  }
  const known = new Set(
    Object.values(GATEWAY_SETTINGS).map((path) => SETTINGS.find((s) => s.path === path)?.flag as string),
  );
  const problems: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = (argv[i] as string).replace(/^--/, "").split(/=(.*)/s);
    if (!(argv[i] as string).startsWith("--") || !known.has(name as string)) {
      problems.push(`${argv[i]}: not a gateway flag (see crossbook-keeper gateway --help)`);
      if (inline === undefined && argv[i + 1] !== undefined && !(argv[i + 1] as string).startsWith("--")) i++;
      continue;
    }
    flags.set(name as string, inline ?? argv[++i] ?? "");
  }
  const settings: Record<string, unknown> = {};
  for (const [key, path] of Object.entries(GATEWAY_SETTINGS)) {
    const s = SETTINGS.find((setting) => setting.path === path) as Setting;
    const raw = flags.get(s.flag as string) ?? env[s.env] ?? s.default;
    if (raw === undefined) {
      problems.push(`${path}: required (--${s.flag} or ${s.env})`);
      continue;
    }
    const parsed = s.parse(raw);
    if (parsed.ok) settings[key] = parsed.value;
    else problems.push(`${path}: expected ${parsed.expected}`);
  }
  const secret = env[CLUSTER_SECRET_ENV] ?? "";
  if (secret.length < 16) problems.push(`${CLUSTER_SECRET_ENV} (environment only): required, 16 characters at least`);
  if (!/^postgres(ql)?:\/\//.test(String(settings.database))) problems.push("databasePath: expected a postgres:// URL");
  if (problems.length > 0) {
    process.stderr.write(
      `crossbook-keeper gateway: ${problems.length} problem(s):\n${problems.map((p) => `  ${p}\n`).join("")}`,
    );
    return 2;
  }
  const chainId = settings.chainId as number;
  const rpcUrl = settings.rpcUrl as string;
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const log = createLogger({ level: settings.logLevel as LogLevel });
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway({
      database: settings.database as string,
      domain: { chainId, verifyingContract: settings.exchange as Address },
      client: createPublicClient({ chain, transport: http(rpcUrl) }) as ReadClient,
      clusterSecret: secret,
      host: settings.host as string,
      port: settings.port as number,
      leaseMs: settings.leaseMs as number,
      trustProxy: settings.trustProxy as string[],
      maxHttpConnectionsPerIp: settings.maxHttpConnectionsPerIp as number,
      acceptors: settings.acceptors as number,
      log,
    });
  } catch (error) {
    process.stderr.write(`crossbook-keeper gateway: cannot start: ${(error as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`crossbook-keeper gateway listening on ${gateway.url}\n`);
  return new Promise((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, () => void gateway.close().then(() => resolve(0)));
    }
  });
}
