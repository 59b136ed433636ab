import { isAddress, zeroAddress } from "viem";
import { OrderValidationError, type OrderProblem } from "./errors";
import {
  FILL_OR_KILL,
  KNOWN_FLAGS,
  MAX_ORDER_LOTS,
  MAX_UINT16,
  MAX_UINT32,
  MAX_UINT40,
  MAX_UINT64,
  MAX_UINT8,
  POST_ONLY,
  type Market,
  type Order,
} from "./types";

/** An order to check: any object, so that input from JSON or JavaScript can be checked too. */
export type OrderInput = { readonly [field in keyof Order]?: unknown };

/** The parameters of `validateOrder`. */
export interface ValidateOrderParameters {
  /** The order to check. */
  order: OrderInput;
  /** Now, in unix seconds: when given, an order that has expired is a problem. */
  now?: bigint | undefined;
  /** The order's market, as `getMarket` reads it: when given, the market id and fee are checked against it. */
  market?: Market | undefined;
}

/** What `validateOrder` found: `valid` is true when `problems` is empty. */
export interface ValidateOrderReturnType {
  valid: boolean;
  problems: OrderProblem[];
}

/** The integer fields of an order and the largest value of each one's Solidity type. */
const INTEGER_FIELDS = [
  ["marketId", MAX_UINT32, "uint32"],
  ["flags", MAX_UINT8, "uint8"],
  ["maxFeeBps", MAX_UINT16, "uint16"],
  ["expiry", MAX_UINT40, "uint40"],
  ["nonce", MAX_UINT64, "uint64"],
  ["priceTicks", MAX_UINT64, "uint64"],
  ["lots", MAX_UINT64, "uint64"],
] as const;

/**
 * The problems that make an order impossible to encode (and so to hash or sign): a missing field,
 * a wrong type, or a number outside its Solidity type. In field order.
 * @internal shared with `hashOrder`.
 */
export function encodingProblems(order: OrderInput): OrderProblem[] {
  const problems: OrderProblem[] = [];
  if (typeof order !== "object" || order === null) {
    return [{ field: "order", code: "WRONG_TYPE", message: `must be an object, got ${describe(order)}` }];
  }
  const maker = order.maker;
  if (maker === undefined) problems.push({ field: "maker", code: "MISSING", message: "is missing" });
  else if (typeof maker !== "string" || !isAddress(maker, { strict: false })) {
    problems.push({
      field: "maker",
      code: "INVALID_ADDRESS",
      message: `must be a 0x-prefixed 20-byte address, got ${describe(maker)}`,
    });
  }
  for (const [field, max, solidityType] of INTEGER_FIELDS.slice(0, 1))
    checkInteger(order, field, max, solidityType, problems);
  if (order.isBuy === undefined) problems.push({ field: "isBuy", code: "MISSING", message: "is missing" });
  else if (typeof order.isBuy !== "boolean") {
    problems.push({ field: "isBuy", code: "WRONG_TYPE", message: `must be a boolean, got ${describe(order.isBuy)}` });
  }
  for (const [field, max, solidityType] of INTEGER_FIELDS.slice(1))
    checkInteger(order, field, max, solidityType, problems);
  return problems;
}

function checkInteger(
  order: OrderInput,
  field: (typeof INTEGER_FIELDS)[number][0],
  max: bigint,
  solidityType: string,
  problems: OrderProblem[],
): void {
  const value = order[field];
  if (value === undefined) {
    problems.push({ field, code: "MISSING", message: "is missing" });
  } else if (typeof value !== "bigint") {
    const hint = typeof value === "number" && Number.isInteger(value) ? ` (write ${value}n)` : "";
    problems.push({ field, code: "WRONG_TYPE", message: `must be a bigint, got ${describe(value)}${hint}` });
  } else if (value < 0n) {
    problems.push({ field, code: "NEGATIVE", message: `must not be negative, got ${value}` });
  } else if (value > max) {
    problems.push({ field, code: "TOO_LARGE", message: `must fit in ${solidityType} (at most ${max}), got ${value}` });
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "bigint") return `${value}n`;
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

/**
 * Checks an order before it is signed and reports every problem found, not just the first: each
 * field's presence, type and Solidity width; the maker's address (and its checksum, when mixed
 * case); a zero market, price or size; unknown or conflicting flags; and, when `now` or `market`
 * is given, expiry, market id and whether the market's fee is within `maxFeeBps`.
 *
 * The contract accepts some of these orders (a zero-lot order hashes and verifies), but none of
 * them can ever fill as its maker means it to.
 *
 * @example
 * import { validateOrder } from "@crossbook/sdk";
 * const { valid, problems } = validateOrder({
 *   order: {
 *     maker: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
 *     marketId: 1n, isBuy: true, flags: 5n, maxFeeBps: 10n, expiry: 4_102_444_800n,
 *     nonce: 1n, priceTicks: 0n, lots: 25n,
 *   },
 * });
 * // valid === false; problems: flags CONFLICTING_FLAGS (post-only and fill-or-kill), priceTicks ZERO
 */
export function validateOrder(parameters: ValidateOrderParameters): ValidateOrderReturnType {
  const { order, now, market } = parameters;
  const problems = encodingProblems(order);
  if (typeof order !== "object" || order === null) return { valid: false, problems };
  const failed = new Set(problems.map((p) => p.field));
  const ok = (field: keyof Order) => !failed.has(field);

  if (ok("maker")) {
    const maker = order.maker as string;
    if (maker.toLowerCase() === zeroAddress) {
      problems.push({ field: "maker", code: "ZERO_ADDRESS", message: "must not be the zero address" });
    } else if (!isAddress(maker, { strict: true })) {
      problems.push({
        field: "maker",
        code: "BAD_CHECKSUM",
        message: `has mixed case that is not its EIP-55 checksum: ${maker} (a typo?)`,
      });
    }
  }
  if (ok("marketId") && order.marketId === 0n) {
    problems.push({ field: "marketId", code: "ZERO", message: "must not be 0: markets are numbered from 1" });
  }
  if (ok("flags")) {
    const flags = order.flags as bigint;
    if ((flags & ~KNOWN_FLAGS) !== 0n) {
      problems.push({
        field: "flags",
        code: "UNKNOWN_FLAGS",
        message: `has bits other than POST_ONLY (1), IMMEDIATE_OR_CANCEL (2) and FILL_OR_KILL (4): ${flags}`,
      });
    }
    if ((flags & POST_ONLY) !== 0n && (flags & FILL_OR_KILL) !== 0n) {
      problems.push({
        field: "flags",
        code: "CONFLICTING_FLAGS",
        message: "combines POST_ONLY (never takes) with FILL_OR_KILL (never makes): the order could never fill",
      });
    }
  }
  if (ok("priceTicks") && order.priceTicks === 0n) {
    problems.push({ field: "priceTicks", code: "ZERO", message: "must not be 0" });
  }
  if (ok("lots") && order.lots === 0n) {
    problems.push({ field: "lots", code: "ZERO", message: "must not be 0" });
  }
  if (ok("lots") && (order.lots as bigint) > MAX_ORDER_LOTS) {
    problems.push({
      field: "lots",
      code: "TOO_LARGE",
      message: `must be at most MAX_ORDER_LOTS (${MAX_ORDER_LOTS}): settle refuses larger orders, got ${order.lots as bigint}`,
    });
  }
  if (now !== undefined && ok("expiry") && (order.expiry as bigint) < now) {
    problems.push({
      field: "expiry",
      code: "EXPIRED",
      message: `has passed: the order expired at ${order.expiry as bigint}, now is ${now}`,
    });
  }
  if (market !== undefined) {
    if (ok("marketId") && order.marketId !== market.marketId) {
      problems.push({
        field: "marketId",
        code: "MARKET_MISMATCH",
        message: `is ${order.marketId as bigint}, but the market given is ${market.marketId}`,
      });
    }
    if (ok("maxFeeBps") && ok("flags")) {
      const flags = order.flags as bigint;
      const maxFeeBps = order.maxFeeBps as bigint;
      // The fee of the side(s) the order can fill on: post-only only makes, fill-or-kill only takes.
      const fee =
        (flags & POST_ONLY) !== 0n
          ? market.makerFeeBps
          : (flags & FILL_OR_KILL) !== 0n
            ? market.takerFeeBps
            : market.makerFeeBps < market.takerFeeBps
              ? market.makerFeeBps
              : market.takerFeeBps;
      if (maxFeeBps < fee) {
        problems.push({
          field: "maxFeeBps",
          code: "FEE_BELOW_MARKET",
          message: `is ${maxFeeBps}, below the market's fee of ${fee} bps: every fill would be skipped`,
        });
      }
    }
  }
  return { valid: problems.length === 0, problems };
}

/**
 * Like `validateOrder`, but throws an `OrderValidationError` listing every problem, and otherwise
 * returns the order typed as an `Order`.
 *
 * @example
 * import { assertValidOrder } from "@crossbook/sdk";
 * const order = assertValidOrder({
 *   order: {
 *     maker: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
 *     marketId: 1n, isBuy: false, flags: 1n, maxFeeBps: 10n, expiry: 4_102_444_800n,
 *     nonce: 2n, priceTicks: 183_450n, lots: 25n,
 *   },
 *   now: BigInt(Math.floor(Date.now() / 1000)),
 * });
 */
export function assertValidOrder(parameters: ValidateOrderParameters): Order {
  const { problems } = validateOrder(parameters);
  if (problems.length > 0) throw new OrderValidationError(problems);
  return parameters.order as Order;
}
