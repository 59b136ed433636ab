import type { Address, Hex } from "viem";

/**
 * A signed order: mirrors `IExchange.Order` field by field, in the same order and with the same
 * names. Every integer is a `bigint`, whatever its Solidity width.
 *
 * Sizes are whole lots (`base atoms = lots * lotSize`) and prices whole ticks per lot
 * (`quote atoms = lots * priceTicks * tickSize`); see `parseLots` and `parsePriceTicks`.
 */
export type Order = {
  /** The account that signs the order and trades: an EOA, or an ERC-1271 contract wallet. */
  maker: Address;
  /** `uint32`: the market, as listed on the Exchange (ids count up from 1). */
  marketId: bigint;
  /** `true` to buy the base token, `false` to sell it. */
  isBuy: boolean;
  /** `uint8`: a combination of `POST_ONLY`, `IMMEDIATE_OR_CANCEL` and `FILL_OR_KILL`; other bits must be zero. */
  flags: bigint;
  /** `uint16`: the most the maker accepts to pay on this order, in basis points of the quote amount. */
  maxFeeBps: bigint;
  /** `uint40`: unix seconds; the order can fill while `block.timestamp <= expiry`. */
  expiry: bigint;
  /** `uint64`: chosen by the maker; `(maker, nonce)` keys the order's fill state. */
  nonce: bigint;
  /** `uint64`: the limit price, in ticks per lot. */
  priceTicks: bigint;
  /** `uint64`: the size, in lots. */
  lots: bigint;
};

/** One match of a settlement batch: mirrors `IExchange.Fill` field by field. */
export type Fill = {
  /** `uint32`: the index of the maker order in the batch's `orders`. */
  makerIndex: bigint;
  /** `uint32`: the index of the taker order in the batch's `orders`. */
  takerIndex: bigint;
  /** `uint64`: how many lots of the taker order fill against the maker order, at the maker's price. */
  lots: bigint;
};

/** An order together with its maker's signature, as a keeper submits it to `settle`. */
export interface SignedOrder {
  order: Order;
  signature: Hex;
}

/** Order flag (bit 0): the order only ever rests on the book; it can never be the taker of a fill. */
export const POST_ONLY = 1n;
/** Order flag (bit 1): whatever is unfilled after the settlement call that first uses the order is cancelled. */
export const IMMEDIATE_OR_CANCEL = 2n;
/** Order flag (bit 2): the order fills completely within one settlement call, as taker, or not at all. */
export const FILL_OR_KILL = 4n;
/** Every flag the Exchange knows: any other bit makes `settle` revert `InvalidFlags`. */
export const KNOWN_FLAGS = POST_ONLY | IMMEDIATE_OR_CANCEL | FILL_OR_KILL;

/** `type(uint8).max` */
export const MAX_UINT8 = (1n << 8n) - 1n;
/** `type(uint16).max` */
export const MAX_UINT16 = (1n << 16n) - 1n;
/** `type(uint32).max` */
export const MAX_UINT32 = (1n << 32n) - 1n;
/** `type(uint40).max` */
export const MAX_UINT40 = (1n << 40n) - 1n;
/** `type(uint64).max`: also what `filled(maker, nonce)` reads once the nonce is cancelled. */
export const MAX_UINT64 = (1n << 64n) - 1n;
/**
 * The most lots an order may have (`Exchange.MAX_ORDER_LOTS`, 2^63 − 1): fill counts keep their top
 * bit for a requested cancel, so `settle` refuses a larger order (`OrderTooLarge`).
 */
export const MAX_ORDER_LOTS = (1n << 63n) - 1n;

/**
 * Why `settle` skipped a fill (`FillSkipped(fillIndex, reason)`): mirrors `IExchange.SkipReason`
 * exactly, code for code. Reasons that belong to one side of a fill come in pairs: the maker's is
 * odd and the taker's the next even number.
 */
export enum SkipReason {
  /** 0: never emitted. */
  None = 0,
  /** 1: the maker's cancel of the order's nonce is in force (or it was an IOC used in an earlier call). */
  MakerCancelled = 1,
  /** 2: the taker's cancel of the order's nonce is in force (or it was an IOC used in an earlier call). */
  TakerCancelled = 2,
  /** 3: the maker order expired (`block.timestamp > expiry`). */
  MakerExpired = 3,
  /** 4: the taker order expired. */
  TakerExpired = 4,
  /** 5: the maker order's nonce is below its account's `cancelUpTo` floor in force. */
  MakerNonceBelowFloor = 5,
  /** 6: the taker order's nonce is below its account's `cancelUpTo` floor in force. */
  TakerNonceBelowFloor = 6,
  /** 7: the maker's internal balance cannot pay for the fill (and its fee). */
  MakerBalanceTooLow = 7,
  /** 8: the taker's internal balance cannot pay for the fill (and its fee). */
  TakerBalanceTooLow = 8,
  /** 9: the market's maker fee is above the maker order's `maxFeeBps`. */
  MakerFeeTooHigh = 9,
  /** 10: the market's taker fee is above the taker order's `maxFeeBps`. */
  TakerFeeTooHigh = 10,
  /**
   * 11: the maker's signature does not verify: an EOA's does not recover to it (also after an EIP-7702
   * account drops the delegation it signed through), or an ERC-1271 wallet does not approve it.
   */
  MakerSignatureRejected = 11,
  /** 12: the taker's signature does not verify (as for 11). */
  TakerSignatureRejected = 12,
  /** 13: the same account on both sides of the fill. */
  SelfTrade = 13,
  /** 14: another fill of the same fill-or-kill taker was skipped. */
  FillOrKillIncomplete = 14,
  /** 15: the guardian halted the market. */
  MarketHalted = 15,
  /** 16: the fill's price is outside the market's band around its reference price. */
  PriceOutsideBand = 16,
  /** 17: the fill would take the market past its lots per block. */
  VelocityLimitReached = 17,
  /** 18: the market's price feed is stale, non-positive or failing, or the market has no reference price. */
  ReferencePriceUnavailable = 18,
  /** 19: the maker's cancel-after deadline has passed. */
  MakerCancelAfterPassed = 19,
  /** 20: the taker's cancel-after deadline has passed. */
  TakerCancelAfterPassed = 20,
  /** 21: the fill would take the maker past its own lots per window. */
  MakerWindowLimitReached = 21,
  /** 22: the fill would take the taker past its own lots per window. */
  TakerWindowLimitReached = 22,
}

/** The name of a `SkipReason` (`"MakerExpired"` for code 3). */
export type SkipReasonName = keyof typeof SkipReason;

/**
 * A listed market's parameters, as `Exchange.market(marketId)` returns them.
 */
export interface Market {
  /** `uint32`: the market's id. */
  marketId: bigint;
  /** The token bought and sold, counted in lots. */
  base: Address;
  /** The token prices and fees are paid in. */
  quote: Address;
  /** `uint128`: base atoms per lot. */
  lotSize: bigint;
  /** `uint128`: quote atoms per lot per tick. */
  tickSize: bigint;
  /** `uint16`: the fee of the order that rests on the book, in basis points of the quote amount. */
  makerFeeBps: bigint;
  /** `uint16`: the fee of the order that takes, in basis points of the quote amount. */
  takerFeeBps: bigint;
}

/**
 * What the decimal conversions (`parseLots`, `parsePriceTicks`, …) need to know of a market: its
 * lot and tick sizes and the decimals of its two tokens (as ERC-20 `decimals()` returns them; a
 * `number`, as in viem).
 */
export interface MarketUnits {
  /** Decimals of the base token (`18` for WETH). */
  baseDecimals: number;
  /** Decimals of the quote token (`6` for USDC). */
  quoteDecimals: number;
  /** Base atoms per lot. */
  lotSize: bigint;
  /** Quote atoms per lot per tick. */
  tickSize: bigint;
}
