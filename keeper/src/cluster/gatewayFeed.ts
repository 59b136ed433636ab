/**
 * The feed through a gateway (keeper/API.md, "Through a gateway"). Each trader's connection gets,
 * as it needs them, one upstream socket per shard leader on the shard's internal feed
 * (`/internal/v1/feed?client=<trader's address>`, cluster secret), so the shard's own per-address
 * limits still apply.
 *
 * - `book` and `trades`: the subscription goes to the market's shard and every message of it comes
 *   back as the shard sent it: the shard's snapshot and `seq` per channel, unchanged. Through
 *   another gateway the shard sends a fresh snapshot: the same guarantee as a keeper's.
 * - Login: the gateway checks the `FeedLogin` (its own challenge) or the token, and logs in at every
 *   shard with a session token under the cluster secret.
 * - `orders` and `fills`: every shard feeds them. The gateway waits for every shard's snapshot,
 *   sends one snapshot (the shards' lists together) with its own `seq`, then numbers every update
 *   from any shard with the next `seq` of this connection: consecutive per channel and connection,
 *   as a keeper's, so a client applies them as it does a keeper's. Updates a shard sends before its
 *   snapshot came in are held and sent after the merged snapshot.
 * - A shard's socket that closes (its leader died, a new one leads): the connection is closed with
 *   1012; the client reconnects and resubscribes, and gets snapshots from the new leaders.
 * - Order entry on the feed: `place` and `amend` go to the order's market's shard, and so does a
 *   `batch` with orders (`BATCH_SPANS_SHARDS` when they are in two). `cancel`, a batch of cancels
 *   only, `scheduleCancel` and `cancelOnDisconnect` go to every shard, and their results are merged
 *   as HTTP's (./fanOut). Every order-entry message goes upstream under an id of the gateway's (so no
 *   client id can be taken for another request's) and comes back as one `result` with the client's
 *   id, a refusal of the gateway's own (no leader, a market not served) included. The gateway
 *   recovers each order's signer and sends it along (`signer`, or `signers` by a batch's action
 *   index), so the shard does not recover it again; what goes upstream keeps the order in which
 *   the trader sent it (a cancel never overtakes the place before it).
 *   Cancel-on-disconnect then holds at every shard: the trader's connection closing closes the
 *   gateway's sockets to them.
 */
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import type { Address, Hex } from "viem";
import type { Order } from "@crossbook/sdk";
import type { Logger } from "../log";
import type { Sessions } from "../api/sessions";
import { CLUSTER_SECRET_HEADER, GATEWAY_FEED_PATH } from "../api/gatewayChannel";
import { ApiError } from "../api/errors";
import { batchBody, feedOrderEnvelope, issuesOf, signedOrderOf, submitOrderBody } from "../api/schemas";
import { batchSpansShards, mergeBatchCancelResults, mergeCancelResults, shardUnavailable } from "./fanOut";
import type { ShardDirectory } from "./shardLinks";

type Json = Record<string, unknown>;

export interface GatewayFeedContext {
  readonly directory: ShardDirectory;
  readonly secret: string;
  readonly sessions: Sessions;
  /** The signer of an order when it is its maker (an EOA), recovered here; else none (the shard checks it). */
  readonly signerOf: (order: Order, signature: Hex) => Promise<Address | undefined>;
  /** Whether `signature` is `account`'s `FeedLogin` over `challenge`. */
  readonly verifyLogin: (account: Address, challenge: Hex, signature: Hex) => Promise<boolean>;
  readonly log: Logger;
}

/** A private channel fed by every shard: their snapshots merged, their updates numbered here. */
interface Merged {
  readonly snapshots: Map<string, Json>;
  readonly held: Json[];
  seq: number;
  sent: boolean;
  acknowledged: boolean;
}

const SERVICE_RESTART = 1012;

/** An order-entry message sent to one shard or to every shard: the answers so far, by shard. */
interface Routed {
  readonly message: Json;
  readonly shards: number;
  readonly answers: Map<string, Json>;
}

/** Serves one trader's feed connection through the gateway. */
export function attachGatewayFeed(client: WebSocket, ip: string, ctx: GatewayFeedContext): void {
  const upstreams = new Map<string, { socket: WebSocket; open: Promise<void> }>();
  const logins = new Map<string, (ok: Json) => void>();
  const merged = new Map<string, Merged>();
  let challenge: { value: Hex; expires: number } | undefined;
  let account: Address | undefined;
  let closed = false;
  const routed = new Map<string, Routed>();
  let routedCount = 0;

  const send = (message: Json) => {
    if (!closed && client.readyState === WebSocket.OPEN) client.send(JSON.stringify(message));
  };
  const error = (code: string, message: string) => send({ type: "error", code, message });
  /** The result of order-entry message `m`, with the client's id. */
  const result = (m: Json, answer: { status: number; body: unknown; retryAfterSeconds?: number }) =>
    send({ type: "result", ...answer, id: m.id });
  const refuse = (m: Json, error: ApiError) =>
    result(m, {
      status: error.status,
      body: error.body(),
      ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
    });

  const upstream = (shard: string): { socket: WebSocket; open: Promise<void> } | undefined => {
    const known = upstreams.get(shard);
    if (known !== undefined) return known;
    const leader = ctx.directory.byName(shard)?.leaderUrl;
    if (leader === undefined) return undefined;
    const url = `${leader.replace(/^http/, "ws")}${GATEWAY_FEED_PATH}?client=${encodeURIComponent(ip)}`;
    const socket = new WebSocket(url, { headers: { [CLUSTER_SECRET_HEADER]: ctx.secret } });
    const open = new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    open.catch(() => {});
    socket.on("error", () => {});
    socket.on("message", (data: Buffer) => fromShard(shard, JSON.parse(data.toString("utf8")) as Json));
    socket.on("close", () => {
      if (closed) return;
      void ctx.directory.refresh();
      closed = true;
      client.close(SERVICE_RESTART, `shard ${shard}'s feed moved: reconnect and subscribe again`);
      for (const u of upstreams.values()) u.socket.close();
    });
    const entry = { socket, open };
    upstreams.set(shard, entry);
    return entry;
  };
  /** The last send upstream: each send waits for it, so that messages go in the order the trader sent them. */
  let lastSend: Promise<unknown> = Promise.resolve();
  const toShard = (shard: string, message: Json | Promise<Json>): Promise<boolean> => {
    const sent = lastSend.then(async () => {
      const ready = await message;
      const u = upstream(shard);
      if (u === undefined) return false;
      try {
        await u.open;
      } catch {
        return false;
      }
      u.socket.send(JSON.stringify(ready));
      return true;
    });
    lastSend = sent.catch(() => {});
    return sent;
  };
  /** Order-entry message `m` with the signers of its orders, recovered here (a body that does not parse: none). */
  const withSigners = async (m: Json): Promise<Json> => {
    if (m.op === "place" || m.op === "amend") {
      const parsed = submitOrderBody.safeParse({ order: m.order, signature: m.signature });
      const signer = parsed.success ? await ctx.signerOf(parsed.data.order, parsed.data.signature) : undefined;
      return signer === undefined ? m : { ...m, signer };
    }
    const parsed = m.op === "batch" ? batchBody.shape.actions.safeParse(m.actions) : undefined;
    if (parsed?.success !== true) return m;
    const signers: Record<string, Address> = {};
    for (const [i, action] of parsed.data.entries()) {
      const signed = signedOrderOf(action);
      const signer = signed === undefined ? undefined : await ctx.signerOf(signed.order, signed.signature);
      if (signer !== undefined) signers[String(i)] = signer;
    }
    return Object.keys(signers).length === 0 ? m : { ...m, signers };
  };

  /** Sends order-entry message `m` to `shards` under an id of the gateway's; answers once all have (`collect`). */
  const route = (m: Json, shards: readonly string[]) => {
    if (shards.length === 0) return refuse(m, new ApiError("NOT_READY", "no shard is registered yet"));
    const key = `g${++routedCount}`;
    routed.set(key, { message: m, shards: shards.length, answers: new Map() });
    // Only the gateway says who signed: a `signer` or `signers` the trader wrote never goes upstream,
    // where the shard's relayed feed believes them.
    const { signer: _signer, signers: _signers, ...sent } = m;
    const message = { ...sent, id: key };
    // A recovery that fails leaves the signature to the shard, as one that recovers nobody does.
    const upstreamMessage = shards.length === 1 ? withSigners(message).catch(() => message) : message;
    for (const shard of shards) {
      void toShard(shard, upstreamMessage).then((sent) => {
        if (sent) return;
        const error = shardUnavailable(shard);
        collect(key, shard, { status: error.status, body: error.body(), retryAfterSeconds: error.retryAfterSeconds });
      });
    }
  };
  const collect = (key: string, shard: string, answer: Json) => {
    const state = routed.get(key);
    if (state === undefined) return;
    state.answers.set(shard, answer);
    if (state.answers.size < state.shards) return;
    routed.delete(key);
    const answers = [...state.answers.values()];
    const m = state.message;
    const failed = answers.find((a) => a.status !== 200);
    if (answers.length === 1 || failed !== undefined) {
      const { type: _type, id: _id, ...answer } = (failed ?? answers[0]) as Json;
      return result(m, answer as { status: number; body: unknown });
    }
    const bodies = answers.map((a) => a.body);
    const body =
      m.op === "cancel"
        ? mergeCancelResults(((m.cancel as Json).orderHashes as string[]) ?? [], bodies)
        : m.op === "batch"
          ? mergeBatchCancelResults((m.actions as unknown[]).length, bodies)
          : bodies[0];
    result(m, { status: 200, body });
  };
  /** Order entry: the shards a message goes to (the market's, or all), or the gateway's refusal. */
  const orderEntry = (m: Json) => {
    const envelope = feedOrderEnvelope.safeParse(m);
    if (!envelope.success) {
      // As a keeper's feed answers it: the id is the client's handle on the result, so nothing goes upstream.
      const first = issuesOf(envelope.error)[0];
      return error(
        "BAD_REQUEST",
        `bad message: ${first ? `${first.path || "(root)"}: ${first.message}` : "bad input"}`,
      );
    }
    if (m.op === "place" || m.op === "amend") {
      const shard = marketShard((m.order as Json | undefined)?.marketId);
      if (shard === undefined)
        return refuse(m, new ApiError("MARKET_NOT_SERVED", "the order's market is not served here"));
      return route(m, [shard]);
    }
    if (m.op === "batch" && Array.isArray(m.actions)) {
      const markets = (m.actions as Json[]).flatMap((a) => {
        const signed = (a?.place ?? a?.amend) as Json | undefined;
        return signed === undefined ? [] : [(signed.order as Json | undefined)?.marketId];
      });
      const shards = [...new Set(markets.map(marketShard))];
      if (shards.includes(undefined)) {
        return refuse(m, new ApiError("MARKET_NOT_SERVED", "an order's market is not served here"));
      }
      if (shards.length > 1) return refuse(m, batchSpansShards(shards as string[]));
      if (shards.length === 1) return route(m, shards as string[]);
    }
    return route(m, allShards()); // cancels, a batch of cancels only, schedules, cancel-on-disconnect
  };
  const allShards = () => ctx.directory.all.map((s) => s.name);

  const fromShard = (shard: string, m: Json) => {
    if (m.type === "result" && typeof m.id === "string" && routed.has(m.id)) return collect(m.id, shard, m);
    if (m.type === "login" || (m.type === "error" && logins.has(shard))) {
      const waiter = logins.get(shard);
      logins.delete(shard);
      waiter?.(m);
      return;
    }
    const channel = m.channel;
    if (channel !== "orders" && channel !== "fills") return send(m);
    const state = merged.get(channel);
    if (state === undefined) return; // unsubscribed meanwhile
    if (m.type === "subscribed") {
      if (!state.acknowledged) send(m);
      state.acknowledged = true;
      return;
    }
    if (m.type === "snapshot") {
      state.snapshots.set(shard, m);
      if (state.snapshots.size < ctx.directory.all.length || state.sent) return;
      const list = channel === "orders" ? "orders" : "fills";
      const items = [...state.snapshots.values()].flatMap((s) => (s[list] as unknown[] | undefined) ?? []);
      send({ type: "snapshot", channel, account, seq: state.seq, [list]: items });
      state.sent = true;
      for (const held of state.held.splice(0)) send({ ...held, seq: ++state.seq });
      return;
    }
    if (!state.sent) state.held.push(m);
    else send({ ...m, seq: ++state.seq });
  };

  /** Logs in at every shard with a token under the cluster secret; then answers the client. */
  const loginEverywhere = async (who: Address, token: string) => {
    const answers = await Promise.all(
      ctx.directory.all.map(
        (s) =>
          new Promise<Json>((resolve) => {
            logins.set(s.name, resolve);
            void toShard(s.name, { op: "login", token }).then((sent) => {
              if (!sent)
                resolve({ type: "error", code: "SHARD_UNAVAILABLE", message: `shard ${s.name} has no leader` });
            });
          }),
      ),
    );
    const refused = answers.find((a) => a.type === "error");
    if (refused !== undefined) return send(refused);
    account = who;
    send({ type: "login", account: who });
  };

  const subscribePrivate = (channel: "orders" | "fills", message: Json) => {
    if (account === undefined) return error("NOT_LOGGED_IN", `log in before subscribing to ${channel}`);
    merged.set(channel, { snapshots: new Map(), held: [], seq: 0, sent: false, acknowledged: false });
    for (const s of ctx.directory.all) void toShard(s.name, message);
  };

  const marketShard = (marketId: unknown): string | undefined => {
    try {
      return ctx.directory.shardOf(BigInt(String(marketId)))?.name;
    } catch {
      return undefined;
    }
  };

  const handle = async (m: Json) => {
    switch (m.op) {
      case "challenge": {
        challenge = { value: `0x${randomBytes(32).toString("hex")}`, expires: Date.now() + 60_000 };
        return send({ type: "challenge", challenge: challenge.value });
      }
      case "login": {
        if (typeof m.token === "string") {
          const who = ctx.sessions.verify(m.token);
          if (who === undefined)
            return error("BAD_LOGIN", "the session token is not valid (or has expired): log in again");
          return loginEverywhere(who, m.token);
        }
        const asked = challenge;
        challenge = undefined;
        if (asked === undefined || asked.expires < Date.now()) {
          return error("BAD_LOGIN", "ask for a challenge first (it is good for one login within 60 s)");
        }
        const who = m.account as Address;
        const ok = await ctx.verifyLogin(who, asked.value, m.signature as Hex).catch(() => false);
        if (!ok) return error("BAD_LOGIN", "the signature is not the account's FeedLogin over the challenge");
        return loginEverywhere(who, ctx.sessions.issue(who).token);
      }
      case "subscribe":
      case "unsubscribe": {
        if (m.channel === "orders" || m.channel === "fills") {
          if (m.op === "subscribe") return subscribePrivate(m.channel, m);
          merged.delete(m.channel);
          for (const s of ctx.directory.all) void toShard(s.name, m);
          return send({ type: "unsubscribed", channel: m.channel });
        }
        const shard = marketShard(m.marketId);
        if (shard === undefined) return error("MARKET_NOT_SERVED", `market ${String(m.marketId)} is not served here`);
        if (!(await toShard(shard, m))) error("SHARD_UNAVAILABLE", `shard ${shard} has no leader right now`);
        return;
      }
      case "place":
      case "amend":
      case "batch":
      case "cancel":
      case "scheduleCancel":
      case "cancelOnDisconnect":
        return orderEntry(m);
      default:
        return error("BAD_REQUEST", `not an op of the feed: ${String(m.op)}`);
    }
  };

  client.on("message", (data: Buffer) => {
    let m: Json;
    try {
      m = JSON.parse(data.toString("utf8")) as Json;
    } catch {
      return error("BAD_JSON", "a message must be JSON");
    }
    void handle(m).catch((e: unknown) => ctx.log.warn({ err: String(e) }, "gateway feed: a message failed"));
  });
  client.on("close", () => {
    closed = true;
    for (const u of upstreams.values()) u.socket.close();
  });
}
