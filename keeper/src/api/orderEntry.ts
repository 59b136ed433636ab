/**
 * Order entry, once for every transport: what `POST /v1/orders`, `POST /v1/orders/batch` and
 * `POST /v1/cancels` do — validation, the budgets, the engine call and the answer with its status
 * — as functions the HTTP routes (`./server`) and the feed's order entry (`./feedOrders`) both call,
 * so that the same request gets the same status, code and body either way.
 *
 * Every function takes the request's input as received (unparsed: it is checked with the same zod
 * schema whichever way it came), answers `{ status, body }`, and throws an `ApiError` for a
 * refusal (the caller turns it into its transport's answer: `error.status` and `error.body()`).
 *
 * The budgets (keeper/API.md, "Budgets") are token buckets, each checked and charged in one step
 * (no `await` between), in two steps per signed request:
 *
 * - `admit`, before any signature work: an account the keeper has never accepted an order from
 *   costs the sender's budget of new accounts (each costs chain reads); and a sender whose budget of
 *   unverified signatures is spent gets no signature recovered at all.
 * - `charge`, once the signature is checked in memory: to the account when its maker's ECDSA
 *   signature is proven, else to the sender's budget of unverified signatures (a bad signature, or a
 *   contract wallet's until the chain is asked). Nobody can spend another account's budget with
 *   requests they could not sign.
 */
import type { Address, Hex } from "viem";
import {
  EXCHANGE_DOMAIN_NAME,
  EXCHANGE_DOMAIN_VERSION,
  KEEPER_MESSAGE_MAX_SKEW_MS,
  type ExchangeDomainParameters,
  type ReadClient,
} from "@crossbook/sdk";
import type { KeeperBatchResultJson, KeeperSubmitResultJson } from "@crossbook/sdk/keeper-wire";
import type { BatchAction, CancelOutcome, Engine } from "../engine";
import { silentLogger, type Logger } from "../log";
import type { Metrics } from "../metrics";
import type { Store } from "../store";
import { ApiError } from "./errors";
import { clientKey, RateLimiter } from "./rateLimit";
import { UsedMessages } from "./replay";
import { batchBody, cancelBody, parse, submitOrderBody } from "./schemas";
import { issuedAtFresh, keeperMessageDigest, signedBy, verifyKeeperMessage, type KeeperMessage } from "./signatures";
import { batchResultJson, submitResultJson } from "./wire";

/** The budgets order entry charges, per second (burst: the same). */
export interface OrderEntryLimits {
  /** Orders and cancels per account, charged once signed by it. */
  readonly perAccountPerSecond: number;
  /** Orders and cancels per client address whose signature is not an EOA's. */
  readonly perIpBadSignaturesPerSecond: number;
  /** Orders and cancels per client address naming an account the keeper has never accepted an order from. */
  readonly perIpNewAccountsPerSecond: number;
  /** Signed cancels remembered (each until it expires) so that none is used twice. */
  readonly maxRememberedCancels: number;
  /** The most actions one batch may carry. */
  readonly maxBatchActions: number;
}

export interface OrderEntryOptions {
  readonly engine: Engine;
  readonly store: Store;
  readonly domain: ExchangeDomainParameters;
  readonly client: ReadClient;
  /** Whether an account has code, from the keeper's cached chain reads (`ApiOptions.chain.hasCode`). */
  readonly hasCode?: (account: Address) => Promise<boolean>;
  readonly limits: OrderEntryLimits;
  /** Milliseconds: the budgets and the signed messages' window read it. */
  readonly clock: () => number;
  readonly log?: Logger;
  readonly metrics?: Metrics;
}

/** An answer: the HTTP status and the JSON body, whichever transport carries them. */
export interface EntryAnswer<B = unknown> {
  readonly status: number;
  readonly body: B;
}

/** Who sent a request, as order entry needs to know it. */
export interface Sender {
  /** The client's address: its budgets' key. */
  readonly ip: string;
  /**
   * The account of the sender's session (or throws the refusal of a sender without one). Given, a
   * request for another account is refused with `FORBIDDEN`; a batch needs it.
   */
  readonly session?: () => Address;
  /** Told the account (lowercase) a request is charged to, before the charge: its budget goes with the answer. */
  readonly charged?: (account: string) => void;
  /**
   * Told when an order's checks before the engine (validation, budgets, signature) are done, with
   * its hash and maker when it goes on to the engine.
   */
  readonly prepared?: (hash: Hex | undefined, maker?: Address) => void;
}

export class OrderEntry {
  readonly perAccount: RateLimiter;
  private readonly perIpBadSignature: RateLimiter;
  private readonly perIpNewAccounts: RateLimiter;
  private readonly usedCancels: UsedMessages;
  private readonly engine: Engine;
  private readonly store: Store;
  private readonly domain: ExchangeDomainParameters;
  private readonly client: ReadClient;
  private readonly hasCode?: (account: Address) => Promise<boolean>;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly metrics?: Metrics;
  readonly limits: OrderEntryLimits;
  /** The EIP-712 domain this keeper checks signatures under, as refusals name it. */
  private readonly domainJson: { name: string; version: string; chainId: string; verifyingContract: Address };

  constructor(options: OrderEntryOptions) {
    const { limits, clock } = options;
    this.engine = options.engine;
    this.store = options.store;
    this.domain = options.domain;
    this.client = options.client;
    if (options.hasCode !== undefined) this.hasCode = options.hasCode;
    this.clock = clock;
    this.log = options.log ?? silentLogger;
    this.metrics = options.metrics;
    this.limits = limits;
    this.perAccount = new RateLimiter({ rate: limits.perAccountPerSecond, clock });
    this.perIpBadSignature = new RateLimiter({ rate: limits.perIpBadSignaturesPerSecond, clock });
    this.perIpNewAccounts = new RateLimiter({ rate: limits.perIpNewAccountsPerSecond, clock });
    this.usedCancels = new UsedMessages(limits.maxRememberedCancels);
    this.domainJson = {
      name: EXCHANGE_DOMAIN_NAME,
      version: EXCHANGE_DOMAIN_VERSION,
      chainId: BigInt(options.domain.chainId).toString(),
      verifyingContract: options.domain.verifyingContract,
    };
  }

  /** `POST /v1/orders`: 201 with the order's state, or the refusal (the risk check's code). */
  async place(sender: Sender, input: unknown): Promise<EntryAnswer<KeeperSubmitResultJson>> {
    const { order, signature } = parse(submitOrderBody, input, "body");
    this.refuseOtherAccount(sender, order.maker);
    this.admit(sender.ip, order.maker);
    const prepared = await this.engine.prepare({ order, signature });
    if (prepared.ok && prepared.signedByMaker) sender.charged?.(prepared.order.maker.toLowerCase());
    if (prepared.ok) this.charge(sender.ip, prepared.order.maker, prepared.signedByMaker);
    sender.prepared?.(prepared.ok ? prepared.hash : undefined, prepared.ok ? prepared.order.maker : undefined);
    const result = prepared.ok ? await this.engine.place(prepared) : prepared;
    if (!result.ok) {
      // A signature over another domain (chain or Exchange) recovers to a stranger: the keeper cannot
      // tell it from any other bad signature, so it says which domain it checked against.
      const wrongSigner = result.code === "BAD_SIGNATURE";
      const details = {
        ...(result.hash === undefined ? {} : { hash: result.hash }),
        ...(wrongSigner ? { domain: this.domainJson } : {}),
      };
      throw new ApiError(
        result.code,
        wrongSigner
          ? `${result.message} Checked under the domain of Exchange ${this.domainJson.verifyingContract} on chain ${this.domainJson.chainId}: an order signed for another chain or Exchange is refused so.`
          : result.message,
        {
          ...(Object.keys(details).length === 0 ? {} : { details }),
          ...(result.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: result.retryAfterSeconds }),
        },
      );
    }
    this.metrics?.orderAccepted(order.marketId);
    return { status: 201, body: submitResultJson(this.store, result) };
  }

  /**
   * `POST /v1/orders/batch`: one account's places, cancels and amends in one turn of its queue and
   * one commit. The sender's session must be the account's (it authorises the cancels); each order
   * is still checked against its own signature. Every action is charged to the account's budget up
   * front. 200 with one result per action, each with its own status and code.
   */
  async batch(sender: Sender, input: unknown): Promise<EntryAnswer<{ results: KeeperBatchResultJson[] }>> {
    const { account, actions } = parse(batchBody, input, "body");
    if (sender.session === undefined) throw new ApiError("SESSION_REQUIRED", "a batch needs the account's session");
    this.refuseOtherAccount(sender, account);
    const max = this.limits.maxBatchActions;
    if (actions.length > max) {
      throw new ApiError("BAD_REQUEST", `a batch carries at most ${max} actions`, {
        details: { maxBatchActions: max },
      });
    }
    const key = account.toLowerCase();
    sender.charged?.(key);
    const wait = this.perAccount.take(key, actions.length);
    if (wait > 0) {
      throw new ApiError("RATE_LIMITED", `too many requests for account ${account}`, { retryAfterSeconds: wait });
    }
    const prepared: BatchAction[] = await Promise.all(
      actions.map(async (a): Promise<BatchAction> => {
        if ("cancel" in a) return { kind: "cancel", target: a.cancel };
        if ("place" in a) return { kind: "place", prepared: await this.engine.prepare(a.place) };
        const { target, order, signature } = a.amend;
        return { kind: "amend", target, prepared: await this.engine.prepare({ order, signature }) };
      }),
    );
    const outcomes = await this.engine.batch(account, prepared);
    for (const [i, a] of actions.entries()) {
      const o = outcomes[i];
      if (o === undefined || o.kind === "cancel" || "cancel" in a) continue;
      if (o.result.ok) this.metrics?.orderAccepted(("place" in a ? a.place : a.amend).order.marketId);
      else this.metrics?.orderRejected(o.result.code);
    }
    return { status: 200, body: { results: outcomes.map((o) => batchResultJson(this.store, o)) } };
  }

  /** `POST /v1/cancels`: the signed `CancelOrders`; 200 with each order's outcome. */
  async cancel(
    sender: Sender,
    input: unknown,
  ): Promise<EntryAnswer<{ results: { hash: Hex; outcome: CancelOutcome }[] }>> {
    const { cancel, signature } = parse(cancelBody, input, "body");
    this.refuseOtherAccount(sender, cancel.maker);
    await this.checkSigned(sender.ip, cancel.maker, cancel.issuedAt, signature, {
      primaryType: "CancelOrders",
      message: cancel,
    });
    const results = await this.engine.cancelOrders(cancel.orderHashes, {
      account: cancel.maker,
      reason: "soft-cancel",
    });
    return { status: 200, body: { results } };
  }

  /**
   * Checks a signed message — its window, then its signature (charging the budgets as it goes),
   * then that it was never used — and returns the moment it first arrived (now). Throws the refusal.
   */
  async checkSigned(ip: string, maker: Address, issuedAt: bigint, signature: Hex, message: KeeperMessage) {
    const now = this.clock();
    if (!issuedAtFresh(issuedAt, now)) {
      throw new ApiError("CANCEL_EXPIRED", "issuedAt is more than 5 minutes from the keeper's clock (unix ms)", {
        details: { keeperTime: now },
      });
    }
    const digest = keeperMessageDigest(this.domain, message);
    // A replay is refused before any signature work, and costs the sender, not the signer.
    if (this.usedCancels.has(digest, now)) {
      this.charge(ip, maker, false);
      throw new ApiError("CANCEL_REPLAYED", "this signed cancel was used already; sign a new one");
    }
    this.admit(ip, maker);
    const byMaker = await signedBy(maker, digest, signature);
    this.charge(ip, maker, byMaker);
    if (!byMaker) {
      let ok: boolean;
      try {
        ok = await verifyKeeperMessage(this.client, this.domain, maker, message, signature, this.hasCode);
      } catch (error) {
        this.metrics?.rpcError("isValidSignature");
        this.log.warn({ maker, err: String(error) }, "signed message: the chain could not be read");
        throw new ApiError("CHAIN_UNAVAILABLE", "the chain could not be read to check a contract signature; try again");
      }
      if (!ok)
        throw new ApiError("BAD_CANCEL_SIGNATURE", `the signature is not ${maker}'s over this ${message.primaryType}`);
    }
    const use = this.usedCancels.use(digest, Number(issuedAt) + KEEPER_MESSAGE_MAX_SKEW_MS, this.clock());
    if (!use.ok && use.reason === "replayed") {
      throw new ApiError("CANCEL_REPLAYED", "this signed cancel was used already; sign a new one", {
        details: { firstUsedAt: use.firstAt },
      });
    }
    if (!use.ok) {
      throw new ApiError("RATE_LIMITED", "too many signed cancels to remember; try again later", {
        retryAfterSeconds: use.retryAfterSeconds,
      });
    }
    return this.clock();
  }

  /** A request for another account than the sender's session (the feed's login) is refused. */
  private refuseOtherAccount(sender: Sender, account: Address): void {
    if (sender.session === undefined) return;
    const session = sender.session();
    if (session !== account) throw new ApiError("FORBIDDEN", `the session is ${session}'s, not ${account}'s`);
  }

  /** The first step of a signed request's budgets (see the module's comment). */
  private admit(ip: string, account: Address): void {
    const key = clientKey(ip);
    const unverified = this.perIpBadSignature.wait(key);
    if (unverified > 0) {
      throw new ApiError("RATE_LIMITED", "too many unverified signatures from this address", {
        retryAfterSeconds: unverified,
        addressBudget: true,
      });
    }
    if (this.engine.knows(account)) return;
    const wait = this.perIpNewAccounts.take(key);
    if (wait > 0) {
      throw new ApiError("RATE_LIMITED", "too many requests for new accounts from this address", {
        retryAfterSeconds: wait,
        addressBudget: true,
      });
    }
  }

  /** The second step of a signed request's budgets (see the module's comment). */
  private charge(ip: string, account: Address, signedByAccount: boolean): void {
    const wait = signedByAccount
      ? this.perAccount.take(account.toLowerCase())
      : this.perIpBadSignature.take(clientKey(ip));
    if (wait > 0) {
      throw new ApiError(
        "RATE_LIMITED",
        signedByAccount
          ? `too many requests for account ${account}`
          : "too many unverified signatures from this address",
        { retryAfterSeconds: wait, addressBudget: !signedByAccount },
      );
    }
  }
}
