/**
 * The types of the keeper's pre-trade risk check: the stable rejection codes, what the check reads
 * (`RiskContext`) and what it answers (`RiskDecision`). See keeper/README.md, "Risk".
 */
import type { Address } from "viem";
import type {
  ExchangeDomainParameters,
  GetPriceBoundsReturnType,
  GetRiskLimitsReturnType,
  GetWindowLimitReturnType,
  Market,
  Order,
} from "@crossbook/sdk";

/**
 * Why the keeper refused an order. Stable strings: the API returns them to clients, the store keeps
 * them as the order's `reason`. Listed in the order the check tries them (which follows the
 * Exchange's own order of checks, so that an order with two problems is refused for the one the
 * chain would skip it for).
 */
export const RiskCode = {
  /** A field is missing, of the wrong type or outside its Solidity type (the SDK's `validateOrder`). */
  INVALID_ORDER: "INVALID_ORDER",
  /** Unknown flag bits (settle would revert `InvalidFlags`), or POST_ONLY with FILL_OR_KILL. */
  INVALID_FLAGS: "INVALID_FLAGS",
  /** `lots` is 0. */
  ZERO_LOTS: "ZERO_LOTS",
  /** `priceTicks` is 0. */
  ZERO_PRICE: "ZERO_PRICE",
  /** The Exchange the keeper reads reports another EIP-712 domain than the keeper signs against. */
  WRONG_DOMAIN: "WRONG_DOMAIN",
  /** The Exchange is paused: `settle` reverts. */
  PAUSED: "PAUSED",
  /** The order's market is not listed (or not the market the context was read for). */
  UNKNOWN_MARKET: "UNKNOWN_MARKET",
  /** An EOA signature that does not recover to the maker (settle would skip it: `MakerSignatureRejected`). */
  BAD_SIGNATURE: "BAD_SIGNATURE",
  /** A contract wallet whose ERC-1271 `isValidSignature` does not approve the order (`MakerSignatureRejected`). */
  SIGNATURE_REJECTED: "SIGNATURE_REJECTED",
  /** `timestamp > expiry` (`MakerExpired`). */
  EXPIRED: "EXPIRED",
  /** The nonce is below the maker's `cancelUpTo` floor, in force or waiting for the firmness delay (`MakerNonceBelowFloor`). */
  NONCE_BELOW_FLOOR: "NONCE_BELOW_FLOOR",
  /** The maker's cancel-after deadline has passed, or falls within the keeper's settlement horizon (`MakerCancelAfterPassed`). */
  CANCEL_AFTER_PASSED: "CANCEL_AFTER_PASSED",
  /** The nonce is cancelled on-chain, or its cancel waits for the firmness delay (`MakerCancelled`). */
  CANCELLED: "CANCELLED",
  /** Nothing is left under the nonce: filled on-chain up to the order's size. */
  NONCE_USED_UP: "NONCE_USED_UP",
  /** Another open order of the maker in the keeper has the same nonce (they share one fill state). */
  DUPLICATE_NONCE: "DUPLICATE_NONCE",
  /** The market's fee for a side the order can fill on is above its `maxFeeBps` (`MakerFeeTooHigh`/`TakerFeeTooHigh`). */
  MAX_FEE_TOO_LOW: "MAX_FEE_TOO_LOW",
  /** The guardian halted the market (`MarketHalted`). */
  MARKET_HALTED: "MARKET_HALTED",
  /** The market has a band but no usable reference price (`ReferencePriceUnavailable`). */
  NO_REFERENCE_PRICE: "NO_REFERENCE_PRICE",
  /** The order's price is outside the band's current bounds (`PriceOutsideBand`). */
  PRICE_OUTSIDE_BAND: "PRICE_OUTSIDE_BAND",
  /** The order is larger than the market's lots per block (`VelocityLimitReached` for any fill of it that size). */
  VELOCITY_LIMIT: "VELOCITY_LIMIT",
  /** The maker's own lots-per-window cap cannot take the order (`MakerWindowLimitReached`). */
  WINDOW_LIMIT: "WINDOW_LIMIT",
  /** The maker's balance, less a standing withdrawal request and what its other open orders reserve, cannot pay for the order (`MakerBalanceTooLow`). */
  INSUFFICIENT_BALANCE: "INSUFFICIENT_BALANCE",
} as const;

export type RiskCode = (typeof RiskCode)[keyof typeof RiskCode];

/** The answer of `checkOrder`. */
export type RiskDecision = { ok: true } | { ok: false; code: RiskCode; message: string };

/** What the maker's other open orders already reserve of the market's two tokens, in atoms. */
export interface Reservation {
  base: bigint;
  quote: bigint;
}

/** The signature facts only the chain can give: whether the maker has code and, if so, its wallet's answer. */
export type SignatureContext =
  /**
   * The maker has no code. With `signer`, the ECDSA signer was recovered already (`null`: the
   * signature is not valid ECDSA); without, `checkOrder` recovers it itself with the SDK's rules.
   */
  | { kind: "eoa"; signer?: Address | null }
  /** The maker has code: the result of the SDK's `verifyOrderSignature` for the order, read at `timestamp`. */
  | { kind: "contract"; approves: boolean };

/**
 * Everything `checkOrder` judges an order against: what the chain said at one block, and what the
 * keeper itself holds. `readRiskContext` builds it; tests build it by hand.
 */
export interface RiskContext {
  /** The domain the keeper is configured for (chain id and Exchange address): orders are hashed with it. */
  domain: ExchangeDomainParameters;
  /** The domain the Exchange reports (`getExchangeDomain`); compared with `domain`. */
  chainDomain: ExchangeDomainParameters;
  /** The order's market, or `undefined` when it is not listed. */
  market: Market | undefined;
  /** The market's risk limits (`getRiskLimits`). */
  riskLimits: Pick<GetRiskLimitsReturnType, "halted" | "bandBps" | "maxLotsPerBlock">;
  /** The prices the band allows now (`getPriceBounds`). */
  priceBounds: GetPriceBoundsReturnType;
  /** Whether the Exchange is paused (`getPaused`). */
  paused: boolean;
  /** The maker's internal balances of the market's base and quote tokens (`getBalance`), less a standing withdrawal request (`getWithdrawalRequest`). */
  balances: Reservation;
  /** The maker's nonce floor (`getMinNonce`), or the raise waiting for the firmness delay (`getPendingMinNonce`). */
  minNonce: bigint;
  /** The maker's cancel-after deadline, 0 when off (`getCancelAfter`: the deadline stored). */
  cancelAfter: bigint;
  /**
   * The keeper's settlement horizon in seconds: a cancel-after deadline before `timestamp +
   * horizonSeconds` refuses the order (a fill matched now could land after it). Absent: 0.
   */
  horizonSeconds?: bigint;
  /** The maker's window limit on the market, as it stands at `timestamp` (`getWindowLimit`), or a tighter change scheduled. */
  windowLimit: Pick<GetWindowLimitReturnType, "maxLots" | "windowSeconds" | "windowStart" | "usedLots">;
  /** Lots filled on-chain under the order's nonce; `MAX_UINT64` once cancelled (`getFilled`). */
  filled: bigint;
  /** The timestamp of the block the rest was read at (unix seconds). */
  timestamp: bigint;
  /** See `SignatureContext`. */
  signature: SignatureContext;
  /** What the maker's other open orders in the keeper reserve of base and quote (`reservedByOpenOrders`). */
  reservedByOpenOrders: Reservation;
  /** Whether another open order of the maker in the keeper uses the order's nonce. */
  nonceInUse: boolean;
}

/**
 * One of the maker's orders that still holds funds: `lots` is what the keeper has not yet seen
 * settle of it — its resting remainder plus lots matched in fills that are pending or sent.
 */
export interface ReservingOrder {
  order: Order;
  lots: bigint;
}

/**
 * A maker's other open orders as the risk check asks about them, without handing it the list: the
 * engine answers from totals it keeps per account (`ReservationLedger`), O(1) per order however
 * many orders the account has resting; `listedOpenOrders` answers from a list.
 */
export interface OpenOrders {
  /** The markets the orders are in (the risk read fetches those it does not know). */
  marketIds(): Iterable<bigint>;
  /** What the orders reserve of `tokens` (`reservedByOpenOrders`); throws for an order whose market `marketOf` does not know. */
  reserved(
    marketOf: (marketId: bigint) => ReservationMarket | undefined,
    tokens: { base: Address; quote: Address },
  ): Reservation;
  /** Whether one of the orders uses `nonce`. */
  nonceInUse(nonce: bigint): boolean;
  /** The orders themselves (the full recomputation the totals must equal: for checks and tests). */
  orders(): readonly ReservingOrder[];
}

/** The market parameters a reservation needs. */
export type ReservationMarket = Pick<Market, "base" | "quote" | "lotSize" | "tickSize" | "makerFeeBps" | "takerFeeBps">;

export type { Address };
