/**
 * The shard side of the gateways' channel (keeper/API.md, "The gateways' channel"): a WebSocket at
 * `/internal/v1/gateway`, accepted only with the cluster secret (`CROSSBOOK_CLUSTER_SECRET`, sent as
 * `X-Crossbook-Cluster-Secret` and compared in constant time). Without a secret the route does not
 * exist. Each frame is one request a gateway forwards; the keeper answers it with the status, a few
 * headers and the body its route gives: order entry straight from the frame (`DirectEntry`, built
 * by `startApi` from the same functions as the routes), anything else through its own routes
 * (`app.inject`); either way the trader's address counts as the remote address, so the keeper's
 * budgets still count per trader.
 *
 * A frame's `signer` (who signed the order, recovered by the gateway) is believed only here and on
 * the feed a gateway relays (`/internal/v1/feed`, `vouchedFeedMessage`): it is handed to
 * `trustSigner`, which seeds the keeper's memo of recovered signers, so the keeper skips recovering
 * that signature itself. Nothing a client sends over HTTP or the keeper's own feed reaches it.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type WebSocket from "ws";
import { isAddress, type Address } from "viem";
import type { Logger } from "../log";
import { ApiError } from "./errors";

export const GATEWAY_CHANNEL_PATH = "/internal/v1/gateway";
/** The feed as a gateway relays it: the keeper's feed, the trader's address from `?client=`. */
export const GATEWAY_FEED_PATH = "/internal/v1/feed";
/** The header a gateway sends the cluster secret in, on the channel's upgrade request. */
export const CLUSTER_SECRET_HEADER = "x-crossbook-cluster-secret";
/** The environment variable both shards and gateways read the cluster secret from. */
export const CLUSTER_SECRET_ENV = "CROSSBOOK_CLUSTER_SECRET";

/** Request headers a gateway forwards (the rest are the gateway's business). */
export const FORWARDED_REQUEST_HEADERS = ["authorization", "content-type"] as const;
/** Answer headers a shard sends back. */
export const FORWARDED_ANSWER_HEADERS = [
  "retry-after",
  "content-type",
  "x-account-ratelimit-limit",
  "x-account-ratelimit-remaining",
  "x-account-ratelimit-reset",
] as const;

/** One request a gateway forwards to a shard. */
export interface ForwardedRequest {
  readonly id: number;
  readonly method: "GET" | "POST";
  /** Path and query: `/v1/orders`. */
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** The trader's address, as the gateway saw it: the shard's budgets count by it. */
  readonly client: string;
  /** `POST /v1/orders`: the order's signer the gateway recovered. */
  readonly signer?: Address;
  /** `POST /v1/orders/batch`: the signer of each `place` and `amend`, by its index in `actions`. */
  readonly signers?: Readonly<Record<string, Address>>;
}

/** A shard's answer to one forwarded request. */
export interface ForwardedAnswer {
  readonly id: number;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** Whether `given` is the cluster secret (constant time over the secrets' digests, whatever the lengths). */
export function secretMatches(given: string | undefined, secret: string): boolean {
  if (given === undefined) return false;
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(given), digest(secret));
}

/** The sessions' MAC key under a cluster secret: every shard and gateway that shares it accepts every token. */
export function sessionSecret(clusterSecret: string): Buffer {
  return createHmac("sha256", clusterSecret).update("crossbook sessions").digest();
}

/**
 * Order entry straight from a frame, for `POST /v1/orders`, `/v1/orders/batch`, `/v1/cancels` and
 * `/v1/cancels/all` with a JSON body: the answer the route gives, or undefined for any other frame.
 */
export type DirectEntry = (frame: ForwardedRequest) => Promise<ForwardedAnswer> | undefined;

/**
 * Tells the keeper who signed an order (the gateway recovered it): it skips recovering it. The
 * order and signature are the request's as the frame carries them, unparsed (order entry parses
 * and checks them right after; the keeper believes the signer only for the order it then parses:
 * `SignerMemo.vouch`).
 */
export type TrustSigner = (order: unknown, signature: unknown, signer: Address) => void;

/** Registers the channel on `app` (only call it with a secret configured). */
export function registerGatewayChannel(
  app: FastifyInstance,
  options: {
    secret: string;
    trustSigner?: TrustSigner;
    log: Logger;
    /**
     * The keeper's feed, for a connection a gateway relays for the trader at `ip`; `trustSigner`
     * (when the keeper has one) believes the signers the gateway adds to order entry.
     */
    attachFeed?: (socket: WebSocket, ip: string, trustSigner?: TrustSigner) => void;
    /** Order entry straight from a frame (undefined: not a frame it takes, `app.inject` runs it). */
    direct?: DirectEntry;
  },
): void {
  const { secret, log } = options;
  const withSecret = async (request: FastifyRequest) => {
    const given = request.headers[CLUSTER_SECRET_HEADER];
    if (!secretMatches(typeof given === "string" ? given : undefined, secret)) {
      throw new ApiError("FORBIDDEN", "the gateways' channel needs the cluster secret");
    }
  };
  const attachFeed = options.attachFeed;
  if (attachFeed !== undefined) {
    app.get(
      GATEWAY_FEED_PATH,
      {
        websocket: true,
        config: {
          doc: {
            summary: "Internal: the feed a gateway relays for a trader (`?client=` its address; cluster secret only)",
            tags: ["operations"],
            responses: { 101: { description: "Switching Protocols: the feed of GET /v1/ws" } },
            errors: ["FORBIDDEN"],
          },
        },
        preValidation: withSecret,
      },
      (socket, request) => {
        const client = (request.query as { client?: unknown }).client;
        attachFeed(socket, typeof client === "string" && client !== "" ? client : request.ip, options.trustSigner);
      },
    );
  }
  app.get(
    GATEWAY_CHANNEL_PATH,
    {
      websocket: true,
      config: {
        doc: {
          summary: "Internal: the gateways' channel (WebSocket, cluster secret only; absent without one)",
          tags: ["operations"],
          responses: { 101: { description: "Switching Protocols: one forwarded request per frame" } },
          errors: ["FORBIDDEN"],
        },
      },
      preValidation: withSecret,
    },
    (socket) => {
      // Answers ready together go out as one message; as an array once the gateway has sent one
      // (a gateway from before the arrays sends single frames and gets single answers).
      let arrays = false;
      let ready: ForwardedAnswer[] = [];
      const flush = () => {
        const answers = ready;
        ready = [];
        if (socket.readyState !== 1) return;
        if (!arrays) for (const a of answers) socket.send(JSON.stringify(a));
        else socket.send(JSON.stringify(answers));
      };
      const settle = (reply: ForwardedAnswer) => {
        if (ready.push(reply) === 1) setImmediate(flush);
      };
      const failed = (error: unknown) =>
        log.error({ err: String(error) }, "gateway channel: a forwarded request failed");
      socket.on("message", (data: Buffer) => {
        const text = data.toString("utf8");
        let frames: ForwardedRequest[];
        try {
          const parsed = JSON.parse(text) as ForwardedRequest | ForwardedRequest[];
          if (Array.isArray(parsed)) arrays = true;
          frames = Array.isArray(parsed) ? parsed : [parsed];
        } catch {
          log.warn({}, "gateway channel: a frame that is not JSON, ignored");
          return;
        }
        // A body with a key that fastify's JSON parser refuses (`__proto__`, `constructor`) gets
        // that refusal: through the routes.
        const direct = POISONED_KEY.test(text) ? undefined : options.direct;
        for (const frame of frames) {
          if (options.trustSigner !== undefined) seedSigners(frame, options.trustSigner);
          void (direct?.(frame) ?? answer(app, frame)).then(settle, failed);
        }
      });
    },
  );
}

/** Keys fastify's JSON body parser refuses, so that a body with them goes through the routes. */
const POISONED_KEY = /"(__proto__|constructor)"/;

/** Runs one forwarded request through the keeper's own routes. */
async function answer(app: FastifyInstance, frame: ForwardedRequest): Promise<ForwardedAnswer> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = frame.headers?.[name];
    if (typeof value === "string") headers[name] = value;
  }
  const res = await app.inject({
    method: frame.method,
    url: frame.url,
    headers,
    remoteAddress: frame.client,
    ...(frame.body === undefined ? {} : { payload: JSON.stringify(frame.body) }),
  });
  const answerHeaders: Record<string, string> = {};
  for (const name of FORWARDED_ANSWER_HEADERS) {
    const value = res.headers[name];
    if (value !== undefined) answerHeaders[name] = String(value);
  }
  let body: unknown = res.body;
  try {
    body = res.json();
  } catch {
    // Not JSON (metrics text): sent as it is.
  }
  return { id: frame.id, status: res.statusCode, headers: answerHeaders, body };
}

/** The signers a gateway vouches for, handed to the keeper's memo with the orders as the frame carries them. */
function seedSigners(frame: ForwardedRequest, trustSigner: TrustSigner): void {
  if (frame.signer !== undefined && frame.url === "/v1/orders") seedOrderSigner(frame.body, frame.signer, trustSigner);
  if (frame.signers !== undefined && frame.url === "/v1/orders/batch") {
    seedBatchSigners((frame.body as { actions?: unknown } | undefined)?.actions, frame.signers, trustSigner);
  }
}

function seedOrderSigner(body: unknown, signer: Address, trustSigner: TrustSigner): void {
  if (typeof body !== "object" || body === null) return;
  const { order, signature } = body as { order?: unknown; signature?: unknown };
  trustSigner(order, signature, signer);
}

function seedBatchSigners(
  actions: unknown,
  signers: Readonly<Record<string, Address>>,
  trustSigner: TrustSigner,
): void {
  if (!Array.isArray(actions)) return;
  for (const [i, action] of (actions as unknown[]).entries()) {
    const signer = signers[String(i)];
    if (signer === undefined || typeof action !== "object" || action === null) continue;
    const { place, amend } = action as { place?: unknown; amend?: unknown };
    seedOrderSigner(place ?? amend, signer, trustSigner);
  }
}

/**
 * An order-entry message of the feed a gateway relays, with the signers the gateway recovered
 * (`signer` on a `place` or `amend`, `signers` by action index on a `batch`, as in a frame) handed
 * to `trustSigner` and taken out, so that the rest is the message the trader sent.
 */
export function vouchedFeedMessage(message: unknown, trustSigner: TrustSigner): unknown {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return message;
  const { signer, signers, ...rest } = message as Record<string, unknown>;
  if (signer === undefined && signers === undefined) return message;
  if ((rest.op === "place" || rest.op === "amend") && isSigner(signer)) {
    seedOrderSigner({ order: rest.order, signature: rest.signature }, signer, trustSigner);
  }
  if (rest.op === "batch" && typeof signers === "object" && signers !== null) {
    const valid = Object.entries(signers).filter((e): e is [string, Address] => isSigner(e[1]));
    seedBatchSigners(rest.actions, Object.fromEntries(valid), trustSigner);
  }
  return rest;
}

const isSigner = (value: unknown): value is Address => typeof value === "string" && isAddress(value, { strict: false });
