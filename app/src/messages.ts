/**
 * Every refusal and failure in words a person understands: the keeper's error codes, the reasons the
 * chain skips a fill, why an order left the book, and whatever the wallet, the node or the SDK throw.
 * Never a stack trace; the tables are typed so that a code the SDK knows and the page does not fails
 * to compile.
 */
import {
  ContractRevertError,
  CrossbookError,
  KeeperApiError,
  KeeperRequestError,
  OrderValidationError,
  SignerError,
  KEEPER_CANCEL_REASONS,
  SkipReason,
  UnitsError,
  erc20ErrorsAbi,
  exchangeAbi,
  type KeeperApiErrorCode,
  type KeeperRequestErrorCode,
  type SkipReasonName,
} from "@crossbook/sdk";
import type { ContractErrorName } from "viem";
import { PageConfigError } from "./config";

/** A refusal the page makes itself, before any transaction, already in words (a withdrawal of more than is held). */
export class PageRefusal extends Error {
  override name = "PageRefusal";
}

/** The literal members of a union that also admits any string (`"A" | "B" | (string & {})` → `"A" | "B"`). */
type Known<T> = T extends string ? (string extends T ? never : T) : never;

/** The keeper's refusals (keeper/API.md, "Errors"), as sentences. */
const KEEPER_CODES: Record<Known<KeeperApiErrorCode>, string> = {
  BAD_JSON: "The keeper could not read the request (not JSON). This is a bug in the page.",
  BAD_REQUEST: "The keeper refused the request as malformed.",
  INVALID_ORDER: "The keeper found the order malformed.",
  INVALID_FLAGS: "The order's type (its flags) is not one the keeper accepts.",
  ZERO_LOTS: "The size must be above zero.",
  ZERO_PRICE: "The price must be above zero.",
  BAD_SIGNATURE:
    "The signature does not match the order: sign again with the account that places it, on the keeper's chain (check the wallet's network).",
  SIGNATURE_REJECTED: "Your smart-contract wallet did not approve this order's signature.",
  BAD_CANCEL_SIGNATURE: "The cancel's signature does not match its account: sign again.",
  NOT_FOUND: "The keeper does not know this request (another API version?).",
  ORDER_NOT_FOUND: "The keeper does not know this order.",
  UNKNOWN_MARKET: "The Exchange lists no such market.",
  METHOD_NOT_ALLOWED: "The keeper does not allow this request.",
  DUPLICATE_ORDER: "This exact order was already placed.",
  DUPLICATE_NONCE: "Another order of yours already uses this nonce: place the order again.",
  BODY_TOO_LARGE: "The request is too large for the keeper.",
  UNSUPPORTED_MEDIA_TYPE: "The keeper refused the request's content type. This is a bug in the page.",
  WRONG_DOMAIN: "The keeper is set up for another Exchange than the chain holds: tell its operator.",
  EXPIRED: "The order has already expired.",
  NONCE_BELOW_FLOOR: "You cancelled every order up to a later nonce on-chain, so this order can never fill.",
  CANCELLED: "This order's nonce was cancelled on-chain.",
  NONCE_USED_UP: "This order's nonce has already been filled in full.",
  CANCEL_AFTER_PASSED: "Your cancel-after deadline has passed: renew it on-chain before placing orders.",
  MAX_FEE_TOO_LOW: "The market's fee is above the most this order accepts to pay.",
  MARKET_HALTED: "Trading in this market is halted.",
  NO_REFERENCE_PRICE:
    "The market has no reference price right now (its price feed is stale), so no order can be placed.",
  PRICE_OUTSIDE_BAND: "The price is too far from the market's reference price.",
  VELOCITY_LIMIT: "The order is larger than the market lets fill in one block.",
  WINDOW_LIMIT: "The order is beyond the trading limit you set for your account.",
  INSUFFICIENT_BALANCE:
    "Not enough funds on the Exchange for this order, after what your other open orders reserve: deposit more or make it smaller.",
  POST_ONLY_WOULD_CROSS:
    "A post-only order must rest on the book, and this one would trade at once: choose a price that does not cross.",
  FILL_OR_KILL_UNFILLABLE: "The book cannot fill this fill-or-kill order in full.",
  MARKET_NOT_SERVED: "This keeper does not serve this market.",
  CANCEL_EXPIRED: "The cancel was signed too long ago (or your clock is off by more than 5 minutes): try again.",
  RATE_LIMITED: "Too many requests: wait a moment and try again.",
  PAUSED: "The Exchange is paused: no trading until the guardian resumes it.",
  CHAIN_UNAVAILABLE: "The keeper cannot reach the chain right now: try again shortly.",
  STOPPED: "The keeper is shutting down: try again shortly.",
  NOT_READY: "The keeper is starting up and not ready yet: try again shortly.",
  NOT_LEADER: "This keeper only serves reads; orders go to the leading keeper: try again shortly.",
  SHARD_UNAVAILABLE: "The keeper of this market is changing over: try again in a moment.",
  BATCH_SPANS_SHARDS: "A batch can only hold orders of markets kept together: send one batch per group of markets.",
  INTERNAL: "The keeper failed on its side (an internal error): try again.",
  NOT_LOGGED_IN: "The keeper asked to log in again before following your orders.",
  BAD_LOGIN: "The keeper refused the login to your orders' feed: reconnect the wallet.",
  TOO_MANY_OPEN_ORDERS: "You have as many open orders as the keeper allows: cancel some first.",
  CANCEL_REPLAYED: "This cancel was already used: cancel again.",
  SESSION_REQUIRED: "The keeper asks you to sign in again to see your orders: reconnect the wallet.",
  FORBIDDEN: "This account's orders belong to another session: reconnect the wallet.",
  ORDER_TOO_SMALL: "The order is below the market's minimum size or value: make it larger.",
  KEEPER_BUSY_FOR_NEW_ACCOUNTS:
    "The keeper is busy with orders from new accounts: try again in a second (once an order of yours is accepted or your deposit is seen, you are not held to this).",
  SETTLEMENT_BACKLOG: "The keeper is settling a backlog of trades: try a taking order again in a few seconds.",
  TAKER_COOLDOWN:
    "A recent trade of this account failed on-chain because of the account (its wallet stopped approving, or its funds or limits changed): taking orders are refused for a while; resting orders are still taken.",
  ORDER_NOT_OPEN:
    "The order to replace is no longer open (filled or cancelled): nothing was replaced and the new order was not placed.",
};

const REQUEST_CODES: Record<KeeperRequestErrorCode, string> = {
  KEEPER_UNREACHABLE: "The keeper cannot be reached: it may be restarting. Try again in a moment.",
  KEEPER_TIMEOUT: "The keeper did not answer in time: try again.",
  KEEPER_BAD_RESPONSE: "The keeper answered something this page does not understand (another version?).",
  KEEPER_INVALID_ARGUMENT: "The page asked the keeper for something it cannot do. This is a bug in the page.",
  KEEPER_UNTRUSTED_LEADER:
    "A keeper pointed this page to a leading keeper it does not know: nothing was sent there. Try again later.",
};

/** Why the chain skipped a fill (`FillSkipped`), for the person on one side of it. */
const SKIP_REASONS: Record<SkipReasonName, string> = {
  None: "no reason given",
  MakerCancelled: "the resting order was cancelled on-chain",
  TakerCancelled: "the incoming order was cancelled on-chain",
  MakerExpired: "the resting order had expired",
  TakerExpired: "the incoming order had expired",
  MakerNonceBelowFloor: "the resting order's account cancelled all orders up to a later nonce",
  TakerNonceBelowFloor: "the incoming order's account cancelled all orders up to a later nonce",
  MakerBalanceTooLow: "the resting order's account no longer had the funds",
  TakerBalanceTooLow: "the incoming order's account no longer had the funds",
  MakerFeeTooHigh: "the market's fee was above what the resting order accepts",
  TakerFeeTooHigh: "the market's fee was above what the incoming order accepts",
  MakerSignatureRejected: "the resting order's smart-contract wallet no longer approved it",
  TakerSignatureRejected: "the incoming order's smart-contract wallet no longer approved it",
  SelfTrade: "both sides were the same account",
  FillOrKillIncomplete: "the fill-or-kill order could not be filled in full",
  MarketHalted: "the market was halted",
  PriceOutsideBand: "the price was too far from the market's reference price",
  VelocityLimitReached: "the market's limit of lots per block was reached",
  ReferencePriceUnavailable: "the market's price feed was stale",
  MakerCancelAfterPassed: "the resting order's account had passed its cancel-after deadline",
  TakerCancelAfterPassed: "the incoming order's account had passed its cancel-after deadline",
  MakerWindowLimitReached: "the resting order's account reached its own trading limit",
  TakerWindowLimitReached: "the incoming order's account reached its own trading limit",
};

/**
 * A skipped fill's reason in words. The keeper sends the `SkipReason` name today (`MakerExpired`),
 * the chain a number; both are understood, and a reason the page does not know is shown as sent.
 */
export function describeSkipReason(reason: string | number | undefined): string {
  if (reason === undefined) return "skipped on-chain";
  const name: string | undefined =
    typeof reason === "number" || /^[0-9]+$/.test(reason) ? SkipReason[Number(reason)] : reason;
  if (name !== undefined && name in SKIP_REASONS) return SKIP_REASONS[name as SkipReasonName];
  if (typeof reason === "string" && reason.startsWith("KEEPER_")) {
    return "the keeper's simulation found the fill would fail, so it was not sent";
  }
  return `skipped on-chain (${String(reason)})`;
}

/** The keeper's fixed cancel reasons (keeper/API.md, "Order reasons"), in words. */
const CANCEL_REASONS: Record<(typeof KEEPER_CANCEL_REASONS)[number], string> = {
  "soft-cancel": "cancelled by you",
  "soft-cancel-all": "cancelled by you (cancel all)",
  amended: "replaced by your amended order",
  expired: "expired",
  "not-rested": "the unfilled rest was cancelled (immediate-or-cancel)",
  "self-trade": "cancelled: it would have traded with your own order",
  disconnected: "cancelled: your feed connection closed (cancel-on-disconnect)",
  "dead-man": "cancelled: your scheduled cancel came due without a renewal (dead-man switch)",
};

/** Why an order left the book (`reason` of an order's status or update), in words. */
export function describeOrderReason(reason: string | undefined): string | undefined {
  if (reason === undefined || reason === "") return undefined;
  if (Object.hasOwn(CANCEL_REASONS, reason)) return CANCEL_REASONS[reason as keyof typeof CANCEL_REASONS];
  if (reason.startsWith("skipped-")) return `pulled: a fill was skipped because ${describeSkipReason(reason.slice(8))}`;
  if (reason.startsWith("account-")) {
    return `pulled with your other orders: a fill was skipped because ${describeSkipReason(reason.slice(8))}`;
  }
  if (reason.startsWith("restore-") || reason.startsWith("rematch-")) {
    return "cancelled: it could not go back on the book after a fill failed";
  }
  if (reason.startsWith("KEEPER_")) return "pulled: the keeper's simulation found it would make a settlement fail";
  if (reason.startsWith("chain-")) {
    const code = reason.slice(6);
    const why = code in KEEPER_CODES ? KEEPER_CODES[code as Known<KeeperApiErrorCode>] : code;
    return `pulled after your action on-chain: ${why}`;
  }
  if (reason in KEEPER_CODES) return KEEPER_CODES[reason as Known<KeeperApiErrorCode>];
  return reason;
}

/**
 * Every revert that a deposit, a withdrawal request or a withdrawal can meet, from the Exchange
 * (contracts/Exchange.sol, libraries/Vault.sol) and from the token. The names are checked against the
 * ABIs: an error the contracts rename or drop fails to compile here.
 *
 * - `deposit`: EnforcedPause, ZeroAmount, SafeERC20FailedOperation, ERC20InsufficientBalance,
 *   ERC20InsufficientAllowance, ReentrancyGuardReentrantCall (a token calling back);
 * - `requestWithdraw`: SafeCastOverflowedUintDowncast (an amount beyond 216 bits);
 * - `withdraw`: ZeroAmount, WithdrawalExceedsRequest, WithdrawalNotYetEffective, InsufficientBalance,
 *   SafeERC20FailedOperation, ERC20InvalidReceiver, ReentrancyGuardReentrantCall.
 */
const REVERTS = {
  EnforcedPause: "The Exchange is paused: deposits wait until it resumes (withdrawals always work).",
  ZeroAmount: "The amount must be above zero.",
  InsufficientBalance:
    "Not enough of this token on the Exchange to withdraw that much: trades since the request may have used part of it.",
  WithdrawalExceedsRequest:
    "That is more than your withdrawal request allows (or no withdrawal is requested): request the withdrawal first, then withdraw once its wait is over.",
  WithdrawalNotYetEffective:
    "Your withdrawal request is not in force yet: the Exchange lets it leave only once its delay has passed (a larger request starts the wait again). Withdraw when the countdown ends.",
  SafeCastOverflowedUintDowncast: "That amount is larger than the Exchange can record: ask for less.",
  SafeERC20FailedOperation: "The token refused the transfer: nothing moved.",
  ReentrancyGuardReentrantCall: "The token tried to call back into the Exchange during the transfer, which it refuses.",
  ERC20InsufficientBalance: "Your wallet does not hold that much of this token.",
  ERC20InsufficientAllowance: "The Exchange is not allowed to move that much of this token.",
  ERC20InvalidReceiver: "The token refuses to send to your address.",
} satisfies Partial<Record<ContractErrorName<typeof exchangeAbi> | ContractErrorName<typeof erc20ErrorsAbi>, string>>;

/** Walks an error and its causes. */
function* causes(error: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  for (let e = error; e !== undefined && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    yield e;
  }
}

/** Whether the person declined the request in their wallet (EIP-1193 code 4001). */
export function isUserRejection(error: unknown): boolean {
  for (const e of causes(error)) {
    const { code, name } = e as { code?: unknown; name?: unknown };
    if (code === 4001 || name === "UserRejectedRequestError") return true;
  }
  return false;
}

/** The first line of a message, without a trailing stack or JSON dump. */
function firstLine(text: string): string {
  return text.split("\n")[0].slice(0, 300);
}

/**
 * Any error the page can meet, as one or two sentences for a person: the keeper's refusals by their
 * code, the SDK's own errors (their messages are written for people), wallet refusals, node failures.
 */
export function describeError(error: unknown): string {
  if (isUserRejection(error)) return "You declined the request in your wallet.";
  if (error instanceof KeeperApiError) {
    const known = (KEEPER_CODES as Record<string, string | undefined>)[error.code];
    if (error.code === "RATE_LIMITED" && error.retryAfterMs !== undefined) {
      return `Too many requests: try again in ${Math.ceil(error.retryAfterMs / 1000)} s.`;
    }
    return known ?? `The keeper refused: ${firstLine(error.message)}`;
  }
  if (error instanceof KeeperRequestError) {
    return (REQUEST_CODES as Record<string, string | undefined>)[error.code] ?? firstLine(error.message);
  }
  if (error instanceof UnitsError) return firstLine(error.message);
  if (error instanceof OrderValidationError) {
    const problems = (error.details.problems as { message?: string }[] | undefined) ?? [];
    return problems.length > 0 ? problems.map((p) => p.message).join("; ") : firstLine(error.message);
  }
  if (error instanceof ContractRevertError) {
    const name = error.errorName;
    return (
      (name !== undefined ? (REVERTS as Record<string, string | undefined>)[name] : undefined) ??
      `The transaction would fail: ${firstLine(error.message)}`
    );
  }
  if (error instanceof SignerError) return `Your wallet could not sign: ${firstLine(error.message)}`;
  if (error instanceof CrossbookError) return firstLine(error.message);
  if (error instanceof PageConfigError || error instanceof PageRefusal) return error.message;
  const short = (error as { shortMessage?: unknown }).shortMessage;
  if (typeof short === "string") return firstLine(short);
  return `Something went wrong: ${firstLine(error instanceof Error ? error.message : String(error))}`;
}
