/**
 * The API's refusals: one error class with a stable `code`, and the one table that gives each code
 * its HTTP status (keeper/API.md, "Errors"). Every refusal the server sends goes through here, so a
 * code never answers with two different statuses.
 */
import type { KeeperErrorBodyJson, KeeperErrorCode } from "@crossbook/sdk/keeper-wire";
import type { RejectCode } from "../engine";

/** Codes the API itself produces (besides the engine's and the risk check's `RejectCode`s). */
export type ApiOnlyCode =
  | "BAD_JSON"
  | "BAD_REQUEST"
  | "BAD_CANCEL_SIGNATURE"
  | "NOT_FOUND"
  | "ORDER_NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "BODY_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "CANCEL_EXPIRED"
  | "CANCEL_REPLAYED"
  | "SESSION_REQUIRED"
  | "FORBIDDEN"
  | "RATE_LIMITED"
  | "NOT_READY"
  | "NOT_LEADER"
  | "SHARD_UNAVAILABLE"
  | "BATCH_SPANS_SHARDS"
  | "INTERNAL";

export type ApiErrorCode = ApiOnlyCode | RejectCode;

/** The codes only the feed's `error` messages carry. */
export type FeedOnlyCode = "NOT_LOGGED_IN" | "BAD_LOGIN";

/**
 * The keeper's codes and the SDK's list (`KeeperErrorCode`, in `@crossbook/sdk/keeper-wire`) are one
 * set: a code added on one side and not the other fails to compile here, naming the code.
 */
type NotInSdk = Exclude<ApiErrorCode | FeedOnlyCode, KeeperErrorCode>;
type NotInKeeper = Exclude<KeeperErrorCode, ApiErrorCode | FeedOnlyCode>;
export const CODES_MATCH_THE_SDK: [NotInSdk, NotInKeeper] extends [never, never] ? true : [NotInSdk, NotInKeeper] =
  true;

/** The HTTP status of every code. A code missing here is a bug (the type system checks it). */
export const STATUS_OF: Readonly<Record<ApiErrorCode, number>> = {
  BAD_JSON: 400,
  BAD_REQUEST: 400,
  INVALID_ORDER: 400,
  INVALID_FLAGS: 400,
  ZERO_LOTS: 400,
  ZERO_PRICE: 400,
  BAD_SIGNATURE: 401,
  SIGNATURE_REJECTED: 401,
  BAD_CANCEL_SIGNATURE: 401,
  SESSION_REQUIRED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ORDER_NOT_FOUND: 404,
  MARKET_NOT_SERVED: 404,
  METHOD_NOT_ALLOWED: 405,
  DUPLICATE_ORDER: 409,
  DUPLICATE_NONCE: 409,
  CANCEL_REPLAYED: 409,
  ORDER_NOT_OPEN: 409,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  EXPIRED: 422,
  NONCE_BELOW_FLOOR: 422,
  CANCELLED: 422,
  NONCE_USED_UP: 422,
  CANCEL_AFTER_PASSED: 422,
  MAX_FEE_TOO_LOW: 422,
  MARKET_HALTED: 422,
  NO_REFERENCE_PRICE: 422,
  PRICE_OUTSIDE_BAND: 422,
  VELOCITY_LIMIT: 422,
  WINDOW_LIMIT: 422,
  INSUFFICIENT_BALANCE: 422,
  POST_ONLY_WOULD_CROSS: 422,
  FILL_OR_KILL_UNFILLABLE: 422,
  UNKNOWN_MARKET: 422,
  ORDER_TOO_SMALL: 422,
  TOO_MANY_OPEN_ORDERS: 429,
  CANCEL_EXPIRED: 422,
  RATE_LIMITED: 429,
  PAUSED: 503,
  CHAIN_UNAVAILABLE: 503,
  KEEPER_BUSY_FOR_NEW_ACCOUNTS: 503,
  STOPPED: 503,
  SETTLEMENT_BACKLOG: 503,
  WRONG_DOMAIN: 503,
  TAKER_COOLDOWN: 429,
  NOT_READY: 503,
  NOT_LEADER: 503,
  SHARD_UNAVAILABLE: 503,
  BATCH_SPANS_SHARDS: 400,
  INTERNAL: 500,
};

/** A refusal: thrown by a route (or built by a hook) and turned into the error body by the server. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;
  /** `Retry-After` in seconds, for `RATE_LIMITED`, `SETTLEMENT_BACKLOG`, `TAKER_COOLDOWN` and `NOT_LEADER`. */
  readonly retryAfterSeconds?: number;
  /**
   * The refusal spends a budget of the sending address itself (not an account's, nor the keeper's):
   * its HTTP connections are not read again until `Retry-After` has passed (./connections).
   */
  readonly addressBudget: boolean;

  constructor(
    code: ApiErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; retryAfterSeconds?: number; addressBudget?: boolean } = {},
  ) {
    // A refusal is an answer, not a bug: no stack is captured (a flood of refusals paid for each).
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = "ApiError";
    this.code = code;
    this.status = STATUS_OF[code] ?? 500;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.addressBudget = options.addressBudget ?? false;
  }

  /** The JSON body every refusal has. */
  body(): KeeperErrorBodyJson {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}
