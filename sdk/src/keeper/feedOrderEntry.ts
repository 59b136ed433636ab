/**
 * Order entry on the keeper's feed connection (keeper/API.md, "Order entry on the feed"): the
 * requests HTTP takes — place, cancel, amend, batch, the dead-man switch's `scheduleCancel` and
 * cancel-on-disconnect — sent on the logged-in WebSocket, each with an id, each answered by a
 * `result` with that id. Every call returns a promise that settles with the answer decoded as the
 * keeper client decodes HTTP's, rejects with the same `KeeperApiError` for a refusal, with
 * `KEEPER_TIMEOUT` when no answer comes in time, and with `KEEPER_UNREACHABLE` when the connection
 * closes first (the request may or may not have been carried out: look the order up by its nonce).
 */
import type { Account, Address, Hex } from "viem";
import type { ExchangeDomainParameters } from "../eip712";
import { KeeperRequestError } from "../errors";
import type { OrderSigner } from "../signer";
import type { SignedOrder } from "../types";
import { apiError } from "./client";
import { signKeeperMessage } from "./signKeeperMessage";
import {
  decodeBatchResult,
  decodeCancelResult,
  decodeSubmitResult,
  encodeBatchAction,
  encodeOrder,
  Reader,
  type KeeperBatchAction,
  type KeeperBatchResult,
  type KeeperCancelResult,
  type KeeperFeedOrderRequestJson,
  type KeeperOrderRef,
  type KeeperSubmitResult,
} from "./wire";

/** The parameters of `KeeperFeed.orderEntry`. */
export interface KeeperFeedOrderEntryParameters {
  /** Signs the feed login, and the signed cancels and schedules sent through it. */
  signer: OrderSigner;
  /** The account that logs in (and whose orders are entered); defaults to the signer's address. */
  account?: Address | undefined;
  /** With a wallet client: the account to sign with. */
  signingAccount?: Account | Address | undefined;
  /** How long an answer may take before its promise rejects with `KEEPER_TIMEOUT` (default 10 000 ms). */
  timeoutMs?: number | undefined;
}

/** The dead-man schedule as the keeper took it (`at` 0: none). */
export interface KeeperScheduleCancelResult {
  account: Address;
  at: bigint;
  issuedAt: bigint;
}

/** Order entry on a feed connection, for one logged-in account. */
export interface KeeperFeedOrderEntry {
  /** Places a signed order (as `POST /v1/orders`). */
  place(signed: SignedOrder): Promise<KeeperSubmitResult>;
  /** Soft-cancels orders of the account with a signed `CancelOrders` (as `POST /v1/cancels`). */
  cancel(orderHashes: readonly Hex[]): Promise<KeeperCancelResult[]>;
  /** Replaces `target` with a new signed order in one step (a one-action batch's amend). */
  amend(target: KeeperOrderRef, signed: SignedOrder): Promise<KeeperBatchResult>;
  /** Places, cancels and amends in one step (as `POST /v1/orders/batch`): one result per action. */
  batch(actions: readonly KeeperBatchAction[]): Promise<KeeperBatchResult[]>;
  /**
   * The dead-man switch's heartbeat: every order of the account is soft-cancelled once the keeper's
   * clock passes `at` (unix ms) without a later call moving it; `0n` clears it. Signs a
   * `ScheduleCancel` whose `issuedAt` is later than the last one this object sent.
   */
  scheduleCancel(at: bigint): Promise<KeeperScheduleCancelResult>;
  /** Turns cancel-on-disconnect on or off for this connection (off by default; a reconnect starts off again). */
  cancelOnDisconnect(enabled: boolean): Promise<boolean>;
}

/** What the order entry needs of the feed connection. */
export interface OrderEntryHost {
  /** Logged in as the account on an open connection: requests may go now. */
  ready(): boolean;
  send(request: KeeperFeedOrderRequestJson): void;
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

interface Pending {
  readonly request: KeeperFeedOrderRequestJson;
  readonly resolve: (answer: { status: number; body: unknown }) => void;
  readonly reject: (error: Error) => void;
  readonly timer: unknown;
  sent: boolean;
}

type RequestBody = KeeperFeedOrderRequestJson extends infer R ? (R extends unknown ? Omit<R, "id"> : never) : never;

export class FeedOrderEntry implements KeeperFeedOrderEntry {
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private lastIssuedAt = 0n;
  private readonly timeoutMs: number;

  constructor(
    private readonly host: OrderEntryHost,
    private readonly domain: ExchangeDomainParameters,
    readonly account: Address,
    private readonly parameters: KeeperFeedOrderEntryParameters,
  ) {
    this.timeoutMs = parameters.timeoutMs ?? 10_000;
  }

  async place(signed: SignedOrder): Promise<KeeperSubmitResult> {
    const body = await this.request({ op: "place", order: encodeOrder(signed.order), signature: signed.signature });
    return decodeSubmitResult(body, "result.body");
  }

  async cancel(orderHashes: readonly Hex[]): Promise<KeeperCancelResult[]> {
    const message = { maker: this.account, orderHashes, issuedAt: BigInt(this.host.now()) };
    const signature = await this.sign("CancelOrders", message);
    const body = await this.request({
      op: "cancel",
      cancel: { maker: this.account, orderHashes: [...orderHashes], issuedAt: message.issuedAt.toString() },
      signature,
    });
    return Reader.of(body, "result.body").array("results", decodeCancelResult);
  }

  async amend(target: KeeperOrderRef, signed: SignedOrder): Promise<KeeperBatchResult> {
    const { amend } = encodeBatchAction({ amend: { target, order: signed.order, signature: signed.signature } }) as {
      amend: Omit<Extract<RequestBody, { op: "amend" }>, "op">;
    };
    const body = await this.request({ op: "amend", ...amend });
    const [result] = Reader.of(body, "result.body").array("results", decodeBatchResult);
    if (result === undefined) throw badAnswer("an amend's answer has no result", body);
    return result;
  }

  async batch(actions: readonly KeeperBatchAction[]): Promise<KeeperBatchResult[]> {
    const body = await this.request({ op: "batch", actions: actions.map(encodeBatchAction) });
    return Reader.of(body, "result.body").array("results", decodeBatchResult);
  }

  async scheduleCancel(at: bigint): Promise<KeeperScheduleCancelResult> {
    const now = BigInt(this.host.now());
    this.lastIssuedAt = now > this.lastIssuedAt ? now : this.lastIssuedAt + 1n;
    const message = { account: this.account, at, issuedAt: this.lastIssuedAt };
    const signature = await this.sign("ScheduleCancel", message);
    const body = await this.request({
      op: "scheduleCancel",
      scheduleCancel: { account: this.account, at: at.toString(), issuedAt: message.issuedAt.toString() },
      signature,
    });
    const r = Reader.of<{ account: Address; at: string; issuedAt: string }>(body, "result.body");
    return { account: r.address("account"), at: r.bigint("at"), issuedAt: r.bigint("issuedAt") };
  }

  async cancelOnDisconnect(enabled: boolean): Promise<boolean> {
    const body = await this.request({ op: "cancelOnDisconnect", enabled });
    return Reader.of<{ cancelOnDisconnect: boolean }>(body, "result.body").boolean("cancelOnDisconnect");
  }

  // ── What the feed calls ──

  /** The connection logged in as the account: what waits is sent. */
  loggedIn(): void {
    for (const p of this.pending.values()) {
      if (p.sent) continue;
      p.sent = true;
      this.host.send(p.request);
    }
  }

  /** A `result` message: settles its request (one of another order entry, or answered already: ignored). */
  receive(message: { id: string; status: number; body: unknown; retryAfterSeconds?: number | undefined }): void {
    const p = this.pending.get(message.id);
    if (p === undefined) return;
    this.settle(message.id);
    if (message.status < 400) return p.resolve(message);
    const retryAfter = message.retryAfterSeconds === undefined ? null : String(message.retryAfterSeconds);
    p.reject(apiError(message.body, message.status, retryAfter, "feed", p.request.op));
  }

  /** The connection closed (or the feed did): every request not answered is rejected. */
  disconnected(reason: string): void {
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(
        new KeeperRequestError(
          `The feed connection closed before the keeper answered (${reason}): the request may or may not have been carried out`,
          { code: "KEEPER_UNREACHABLE", details: { id, op: p.request.op } },
        ),
      );
    }
  }

  // ── Requests ──

  private request(body: RequestBody): Promise<unknown> {
    const id = `e${this.nextId++}`;
    const request = { ...body, id } as KeeperFeedOrderRequestJson;
    return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const timer = this.host.setTimeout(() => {
        if (!this.pending.has(id)) return;
        this.pending.delete(id);
        reject(
          new KeeperRequestError(`The keeper did not answer ${body.op} within ${this.timeoutMs} ms`, {
            code: "KEEPER_TIMEOUT",
            details: { id, op: body.op },
          }),
        );
      }, this.timeoutMs);
      const ready = this.host.ready();
      this.pending.set(id, { request, resolve, reject, timer, sent: ready });
      if (ready) this.host.send(request);
    }).then((answer) => answer.body);
  }

  private settle(id: string): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    this.host.clearTimeout(p.timer);
  }

  private sign<P extends "CancelOrders" | "ScheduleCancel">(
    primaryType: P,
    message: P extends "CancelOrders"
      ? { maker: Address; orderHashes: readonly Hex[]; issuedAt: bigint }
      : { account: Address; at: bigint; issuedAt: bigint },
  ): Promise<Hex> {
    return signKeeperMessage({
      signer: this.parameters.signer,
      domain: this.domain,
      primaryType,
      message: message as never,
      account: this.parameters.signingAccount,
    });
  }
}

function badAnswer(what: string, body: unknown): KeeperRequestError {
  return new KeeperRequestError(`The feed's answer is not keeper/API.md's: ${what}`, {
    code: "KEEPER_BAD_RESPONSE",
    details: { body },
  });
}
