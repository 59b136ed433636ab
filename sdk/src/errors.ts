import type { Hex } from "viem";
import type { Order } from "./types";

/**
 * Every `code` a `CrossbookError` can carry. Codes are stable: match on them, not on messages.
 *
 * | family            | codes |
 * | ----------------- | ----- |
 * | decimal units     | `UNITS_INVALID_FORMAT`, `UNITS_NEGATIVE`, `UNITS_ZERO`, `UNITS_TOO_MANY_DECIMALS`, `UNITS_OFF_LOT`, `UNITS_OFF_TICK`, `UNITS_OVERFLOW`, `UNITS_INVALID_MARKET`, `UNITS_NOT_REPRESENTABLE` |
 * | orders            | `ORDER_INVALID`, `ORDER_KEY_INVALID` |
 * | EIP-712 domain    | `DOMAIN_INVALID`, `DOMAIN_MISMATCH` |
 * | signing           | `SIGNER_UNSUPPORTED`, `SIGNER_NO_ACCOUNT`, `SIGNATURE_FAILED` |
 * | contract and chain| `CONTRACT_REVERT`, `CHAIN_REQUEST_FAILED` |
 * | keeper API        | the keeper's own codes (`KeeperApiErrorCode`: `INSUFFICIENT_BALANCE`, `RATE_LIMITED`, …, as keeper/API.md lists them) |
 * | keeper transport  | `KEEPER_UNREACHABLE`, `KEEPER_TIMEOUT`, `KEEPER_BAD_RESPONSE`, `KEEPER_INVALID_ARGUMENT`, `KEEPER_UNTRUSTED_LEADER` |
 */
export type CrossbookErrorCode =
  | UnitsErrorCode
  | "ORDER_INVALID"
  | "ORDER_KEY_INVALID"
  | DomainErrorCode
  | SignerErrorCode
  | "CONTRACT_REVERT"
  | ChainActionErrorCode
  | KeeperApiErrorCode
  | KeeperRequestErrorCode;

/** The codes of `UnitsError`. */
export type UnitsErrorCode =
  | "UNITS_INVALID_FORMAT"
  | "UNITS_NEGATIVE"
  | "UNITS_ZERO"
  | "UNITS_TOO_MANY_DECIMALS"
  | "UNITS_OFF_LOT"
  | "UNITS_OFF_TICK"
  | "UNITS_OVERFLOW"
  | "UNITS_INVALID_MARKET"
  | "UNITS_NOT_REPRESENTABLE";

/** The codes of `SignerError`. */
export type SignerErrorCode = "SIGNER_UNSUPPORTED" | "SIGNER_NO_ACCOUNT" | "SIGNATURE_FAILED";

/** The codes of `DomainError`. */
export type DomainErrorCode = "DOMAIN_INVALID" | "DOMAIN_MISMATCH";

/** The codes of `ChainActionError`. */
export type ChainActionErrorCode = "CHAIN_REQUEST_FAILED";

/**
 * The codes a keeper answers with (keeper/API.md, "Errors", and the feed's `error` messages). The
 * keeper's own list is checked against this one at compile time (keeper/src/api/errors.ts): a code
 * the keeper adds must be added here, and a code listed here that the keeper never sends fails too.
 */
export const KEEPER_API_ERROR_CODES = [
  "BAD_JSON",
  "BAD_REQUEST",
  "INVALID_ORDER",
  "INVALID_FLAGS",
  "ZERO_LOTS",
  "ZERO_PRICE",
  "BAD_SIGNATURE",
  "SIGNATURE_REJECTED",
  "BAD_CANCEL_SIGNATURE",
  "NOT_FOUND",
  "ORDER_NOT_FOUND",
  "UNKNOWN_MARKET",
  "METHOD_NOT_ALLOWED",
  "DUPLICATE_ORDER",
  "DUPLICATE_NONCE",
  "BODY_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "WRONG_DOMAIN",
  "EXPIRED",
  "NONCE_BELOW_FLOOR",
  "CANCELLED",
  "NONCE_USED_UP",
  "CANCEL_AFTER_PASSED",
  "MAX_FEE_TOO_LOW",
  "MARKET_HALTED",
  "NO_REFERENCE_PRICE",
  "PRICE_OUTSIDE_BAND",
  "VELOCITY_LIMIT",
  "WINDOW_LIMIT",
  "INSUFFICIENT_BALANCE",
  "POST_ONLY_WOULD_CROSS",
  "FILL_OR_KILL_UNFILLABLE",
  "MARKET_NOT_SERVED",
  "TOO_MANY_OPEN_ORDERS",
  "CANCEL_EXPIRED",
  "CANCEL_REPLAYED",
  "SESSION_REQUIRED",
  "FORBIDDEN",
  "ORDER_TOO_SMALL",
  "SETTLEMENT_BACKLOG",
  "TAKER_COOLDOWN",
  "ORDER_NOT_OPEN",
  "RATE_LIMITED",
  "PAUSED",
  "CHAIN_UNAVAILABLE",
  "KEEPER_BUSY_FOR_NEW_ACCOUNTS",
  "STOPPED",
  "NOT_READY",
  "NOT_LEADER",
  "SHARD_UNAVAILABLE",
  "BATCH_SPANS_SHARDS",
  "INTERNAL",
  "NOT_LOGGED_IN",
  "BAD_LOGIN",
] as const;

/** Every code a keeper answers with: a code of `KEEPER_API_ERROR_CODES`. */
export type KeeperErrorCode = (typeof KEEPER_API_ERROR_CODES)[number];

/**
 * The codes a keeper answers with, passed through unchanged. A keeper newer than this SDK may
 * answer with a code not listed here: it is passed through as well, hence the open `string`.
 */
export type KeeperApiErrorCode = KeeperErrorCode | (string & {});

/**
 * The codes of `KeeperRequestError`: the keeper could not be reached (`KEEPER_UNREACHABLE`), did not
 * answer in time (`KEEPER_TIMEOUT`), answered with something that is not keeper/API.md
 * (`KEEPER_BAD_RESPONSE`), or the call could not be made as asked (`KEEPER_INVALID_ARGUMENT`: a URL
 * of the wrong scheme, a closed feed, the orders channel without a domain), or a follower named a
 * leader that is not one of the client's configured `keepers` (`KEEPER_UNTRUSTED_LEADER`: not followed).
 */
export type KeeperRequestErrorCode =
  | "KEEPER_UNREACHABLE"
  | "KEEPER_TIMEOUT"
  | "KEEPER_BAD_RESPONSE"
  | "KEEPER_INVALID_ARGUMENT"
  | "KEEPER_UNTRUSTED_LEADER";

/** Structured facts about an error, for programs (the message is for people). */
export type ErrorDetails = Readonly<Record<string, unknown>>;

/** What every `CrossbookError` constructor takes besides its message. */
export interface CrossbookErrorOptions<code extends CrossbookErrorCode = CrossbookErrorCode> {
  code: code;
  details?: ErrorDetails | undefined;
  cause?: unknown;
}

/**
 * The one base class of every error the SDK throws: a stable `code`, a short `message`, structured
 * `details` and, when another error led to it, its `cause`.
 *
 * @example
 * import { CrossbookError, parseLots } from "@crossbook/sdk";
 * try {
 *   parseLots({ amount: "0.255", market: { baseDecimals: 18, quoteDecimals: 6, lotSize: 10n ** 16n, tickSize: 100n } });
 * } catch (error) {
 *   if (error instanceof CrossbookError && error.code === "UNITS_OFF_LOT") console.log(error.details); // { nearestBelow: "0.25", … }
 * }
 */
export class CrossbookError<code extends CrossbookErrorCode = CrossbookErrorCode> extends Error {
  override name = "CrossbookError";
  /** A stable identifier of what went wrong. */
  readonly code: code;
  /** Structured facts about the error. */
  readonly details: ErrorDetails;

  constructor(message: string, options: CrossbookErrorOptions<code>) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.details = options.details ?? {};
  }
}

/** A decimal string that does not convert exactly into atoms, lots or ticks (see `units.ts`). */
export class UnitsError extends CrossbookError<UnitsErrorCode> {
  override name = "UnitsError";
}

/** One problem of an order, as `validateOrder` reports it. */
export interface OrderProblem {
  /** The field at fault, or `"order"` for a problem of the order as a whole. */
  field: keyof Order | "order";
  /** A stable identifier of the problem. */
  code: OrderProblemCode;
  /** What is wrong, for people. */
  message: string;
}

/** The codes of `OrderProblem`. */
export type OrderProblemCode =
  | "MISSING"
  | "WRONG_TYPE"
  | "NEGATIVE"
  | "TOO_LARGE"
  | "INVALID_ADDRESS"
  | "BAD_CHECKSUM"
  | "ZERO_ADDRESS"
  | "ZERO"
  | "UNKNOWN_FLAGS"
  | "CONFLICTING_FLAGS"
  | "EXPIRED"
  | "MARKET_MISMATCH"
  | "FEE_BELOW_MARKET";

/** An order that cannot be signed or hashed as it is; `problems` lists every problem found, not just the first. */
export class OrderValidationError extends CrossbookError<"ORDER_INVALID"> {
  override name = "OrderValidationError";
  readonly problems: readonly OrderProblem[];

  constructor(problems: readonly OrderProblem[]) {
    const list = problems.map((p) => `${p.field}: ${p.message}`).join("; ");
    super(`Invalid order (${problems.length} problem${problems.length === 1 ? "" : "s"}): ${list}`, {
      code: "ORDER_INVALID",
      details: { problems },
    });
    this.problems = problems;
  }
}

/** A malformed order key (the packed `(account, nonce)` word of the `Traded` event). */
export class OrderKeyError extends CrossbookError<"ORDER_KEY_INVALID"> {
  override name = "OrderKeyError";
}

/**
 * A malformed EIP-712 domain (`DOMAIN_INVALID`), or a contract whose `eip712Domain()` is not a
 * Crossbook Exchange's (`DOMAIN_MISMATCH`).
 */
export class DomainError extends CrossbookError<DomainErrorCode> {
  override name = "DomainError";
}

/** Something that cannot sign an order, or a signer that failed to. */
export class SignerError extends CrossbookError<SignerErrorCode> {
  override name = "SignerError";
}

/**
 * A call or transaction to the Exchange (or a token) that reverted. `errorName`, `args` and
 * `namedArgs` are the decoded custom error (`InsufficientBalance`, with `token`, `available` and
 * `requested`), or `undefined` when the revert carried no data the ABI knows.
 */
export class ContractRevertError extends CrossbookError<"CONTRACT_REVERT"> {
  override name = "ContractRevertError";
  readonly errorName: string | undefined;
  readonly args: readonly unknown[];
  readonly namedArgs: Readonly<Record<string, unknown>>;
  readonly data: Hex | undefined;

  constructor(
    message: string,
    fields: {
      errorName: string | undefined;
      args: readonly unknown[];
      namedArgs: Readonly<Record<string, unknown>>;
      data: Hex | undefined;
      functionName?: string | undefined;
      cause?: unknown;
    },
  ) {
    super(message, {
      code: "CONTRACT_REVERT",
      details: {
        functionName: fields.functionName,
        errorName: fields.errorName,
        args: fields.args,
        namedArgs: fields.namedArgs,
        data: fields.data,
      },
      cause: fields.cause,
    });
    this.errorName = fields.errorName;
    this.args = fields.args;
    this.namedArgs = fields.namedArgs;
    this.data = fields.data;
  }
}

/** A chain request that failed without a contract revert (network, node, user rejection). */
export class ChainActionError extends CrossbookError<ChainActionErrorCode> {
  override name = "ChainActionError";
}

/**
 * A refusal by the keeper: its stable `code` (`INSUFFICIENT_BALANCE`, `CANCEL_EXPIRED`, …), its
 * message, its `details`, and the HTTP `status` (`undefined` for an `error` message of the feed).
 * `retryAfterMs` is set for `RATE_LIMITED` when the keeper sent `Retry-After`.
 */
export class KeeperApiError extends CrossbookError<KeeperApiErrorCode> {
  override name = "KeeperApiError";
  /** The HTTP status, or `undefined` when the refusal came over the feed. */
  readonly status: number | undefined;
  /** From the `Retry-After` header, in milliseconds, when the keeper sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    fields: {
      code: KeeperApiErrorCode;
      status: number | undefined;
      details?: ErrorDetails | undefined;
      retryAfterMs?: number | undefined;
    },
  ) {
    super(message, { code: fields.code, details: fields.details });
    this.status = fields.status;
    this.retryAfterMs = fields.retryAfterMs;
  }
}

/** A keeper request that got no keeper answer (unreachable, timed out, not speaking keeper/API.md), or could not be made. */
export class KeeperRequestError extends CrossbookError<KeeperRequestErrorCode> {
  override name = "KeeperRequestError";
}
