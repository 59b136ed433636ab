/**
 * Order entry on the feed (keeper/API.md, "Order entry on the feed"): after the signed login, a
 * connection may `place`, `cancel`, `amend`, `batch`, `scheduleCancel` and turn
 * `cancelOnDisconnect` on, each message with the client's `id`, each answered on the same socket by
 * `{ type: "result", id, status, body }` — the status and body HTTP gives the same request, from the
 * same functions (`./orderEntry`, `./deadman`).
 *
 * What it promises:
 * - Only for the logged-in account: a connection that has not logged in is answered `NOT_LOGGED_IN`
 *   (401); an order, cancel or schedule of another account is refused with `FORBIDDEN` (403).
 * - The budgets are HTTP's: each message costs the client address's request budget, and what it
 *   carries the account's (and the unverified-signature and new-account budgets), as the same
 *   request over HTTP would; the feed's own message rate comes on top.
 * - Cancel-on-disconnect is per connection and off until asked: when a connection with it on
 *   closes (the client's close, a dropped or slow connection — not the keeper's own shutdown), every
 *   open order of the account it is logged in as is soft-cancelled with reason `disconnected`.
 */
import type { Address } from "viem";
import type { KeeperErrorBodyJson, KeeperFeedMessageJson } from "@crossbook/sdk/keeper-wire";
import { NotLeadingError } from "../engine";
import { silentLogger, type Logger } from "../log";
import type { Metrics } from "../metrics";
import type { DeadMan } from "./deadman";
import { ApiError } from "./errors";
import type { EntryAnswer, OrderEntry, Sender } from "./orderEntry";
import { clientKey, type RateLimiter } from "./rateLimit";
import { cancelOnDisconnectBody, feedAmendBody, parse, type FeedOrderEnvelope } from "./schemas";

/** What order entry knows of a feed connection. */
export interface FeedConnection {
  readonly id: number;
  /** The client's address. */
  readonly ip: string;
  /** The account it logged in as, if it has. */
  readonly account?: Address;
}

/** The feed's side of order entry: `Feed` hands it each order-entry message, and each connection's close. */
export interface FeedOrderHandler {
  receive(connection: FeedConnection, message: FeedOrderEnvelope, send: (message: KeeperFeedMessageJson) => void): void;
  /** A connection closed; `byKeeper`: the keeper is shutting down (nothing is cancelled then). */
  closed(connection: FeedConnection, byKeeper: boolean): void;
}

export interface FeedOrdersOptions {
  readonly entry: OrderEntry;
  readonly deadMan: DeadMan;
  /** The per-address request budget HTTP charges every request to. */
  readonly perIp: RateLimiter;
  readonly log?: Logger;
  readonly metrics?: Metrics;
  /** A refusal of every order-entry message when this keeper may not write (a follower's `NOT_LEADER`). */
  readonly refuseWrites?: () => ApiError | undefined;
}

type Answer = EntryAnswer & { readonly retryAfterSeconds?: number };

export class FeedOrders implements FeedOrderHandler {
  private readonly entry: OrderEntry;
  private readonly deadMan: DeadMan;
  private readonly perIp: RateLimiter;
  private readonly log: Logger;
  private readonly metrics?: Metrics;
  private readonly refuseWrites: () => ApiError | undefined;
  /** The connections (by id) with cancel-on-disconnect on. */
  private readonly cancelOnDisconnect = new Set<number>();

  constructor(options: FeedOrdersOptions) {
    this.entry = options.entry;
    this.deadMan = options.deadMan;
    this.perIp = options.perIp;
    this.log = options.log ?? silentLogger;
    this.metrics = options.metrics;
    this.refuseWrites = options.refuseWrites ?? (() => undefined);
  }

  receive(c: FeedConnection, m: FeedOrderEnvelope, send: (message: KeeperFeedMessageJson) => void): void {
    void this.answer(c, m)
      .catch((error: unknown) => this.refusal(c, m, error))
      .then(({ status, body, retryAfterSeconds }) =>
        send({
          type: "result",
          id: m.id,
          status,
          body,
          ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
        }),
      );
  }

  closed(c: FeedConnection, byKeeper: boolean): void {
    if (!this.cancelOnDisconnect.delete(c.id) || byKeeper || c.account === undefined) return;
    void this.deadMan.disconnected(c.account);
  }

  private async answer(c: FeedConnection, m: FeedOrderEnvelope): Promise<Answer> {
    const wait = this.perIp.take(clientKey(c.ip));
    if (wait > 0)
      throw new ApiError("RATE_LIMITED", "too many requests from this address", { retryAfterSeconds: wait });
    const notWritable = this.refuseWrites();
    if (notWritable !== undefined) throw notWritable;
    const account = c.account;
    if (account === undefined) {
      const body: KeeperErrorBodyJson = {
        error: { code: "NOT_LOGGED_IN", message: "log in first: challenge, then login with a signed FeedLogin" },
      };
      return { status: 401, body };
    }
    const sender: Sender = { ip: c.ip, session: () => account };
    const { op, id: _id, ...rest } = m;
    switch (op) {
      case "place":
        return this.entry.place(sender, rest);
      case "cancel":
        return this.entry.cancel(sender, rest);
      case "amend":
        // Checked alone first, so that a bad field is named as the message has it (`order.lots`).
        parse(feedAmendBody, rest, "body");
        return this.entry.batch(sender, { account, actions: [{ amend: rest }] });
      case "batch":
        return this.entry.batch(sender, { account, ...rest });
      case "scheduleCancel":
        return this.deadMan.schedule(sender, rest);
      case "cancelOnDisconnect": {
        const { enabled } = parse(cancelOnDisconnectBody, rest, "body");
        if (enabled) this.cancelOnDisconnect.add(c.id);
        else this.cancelOnDisconnect.delete(c.id);
        return { status: 200, body: { cancelOnDisconnect: enabled } };
      }
    }
  }

  /** A refusal as HTTP gives it: the code's status and the error body. */
  private refusal(c: FeedConnection, m: FeedOrderEnvelope, error: unknown): Answer {
    const refusal =
      error instanceof ApiError
        ? error
        : error instanceof NotLeadingError // stepped down after the message was let in
          ? (this.refuseWrites() ?? new ApiError("NOT_LEADER", error.message, { retryAfterSeconds: 1 }))
          : new ApiError("INTERNAL", "internal error; it has been logged", { details: { requestId: m.id } });
    if (!(error instanceof ApiError) && !(error instanceof NotLeadingError)) {
      this.log.error({ client: c.id, op: m.op, err: String(error) }, "feed order entry failed");
    }
    if (m.op === "place") this.metrics?.orderRejected(refusal.code);
    return { status: refusal.status, body: refusal.body(), retryAfterSeconds: refusal.retryAfterSeconds };
  }
}
