import type { Signer, TypedDataDomain } from "ethers";

/** Mirrors `IExchange.Order` field by field. */
export interface Order {
  maker: string;
  marketId: bigint;
  isBuy: boolean;
  flags: bigint;
  maxFeeBps: bigint;
  expiry: bigint;
  nonce: bigint;
  priceTicks: bigint;
  lots: bigint;
}

/** Mirrors `IExchange.Fill`. */
export interface Fill {
  makerIndex: bigint;
  takerIndex: bigint;
  lots: bigint;
}

export const POST_ONLY = 1n;
export const IMMEDIATE_OR_CANCEL = 2n;
export const FILL_OR_KILL = 4n;
export const MAX_UINT64 = (1n << 64n) - 1n;

/** `IExchange.SkipReason`, in order. */
export const SkipReason = {
  None: 0,
  MakerCancelled: 1,
  TakerCancelled: 2,
  MakerExpired: 3,
  TakerExpired: 4,
  MakerNonceBelowFloor: 5,
  TakerNonceBelowFloor: 6,
  MakerBalanceTooLow: 7,
  TakerBalanceTooLow: 8,
  MakerFeeTooHigh: 9,
  TakerFeeTooHigh: 10,
  MakerSignatureRejected: 11,
  TakerSignatureRejected: 12,
  SelfTrade: 13,
  FillOrKillIncomplete: 14,
  MarketHalted: 15,
  PriceOutsideBand: 16,
  VelocityLimitReached: 17,
  ReferencePriceUnavailable: 18,
  MakerCancelAfterPassed: 19,
  TakerCancelAfterPassed: 20,
  MakerWindowLimitReached: 21,
  TakerWindowLimitReached: 22,
} as const;

export const ORDER_TYPES = {
  Order: [
    { name: "maker", type: "address" },
    { name: "marketId", type: "uint32" },
    { name: "isBuy", type: "bool" },
    { name: "flags", type: "uint8" },
    { name: "maxFeeBps", type: "uint16" },
    { name: "expiry", type: "uint40" },
    { name: "nonce", type: "uint64" },
    { name: "priceTicks", type: "uint64" },
    { name: "lots", type: "uint64" },
  ],
};

export function exchangeDomain(chainId: bigint, verifyingContract: string): TypedDataDomain {
  return { name: "Crossbook", version: "1", chainId, verifyingContract };
}

/** Signs an order with an ethers signer (EIP-712, the Exchange's domain). */
export async function signOrder(signer: Signer, domain: TypedDataDomain, order: Order): Promise<string> {
  return signer.signTypedData(domain, ORDER_TYPES, order);
}

/** An order with sensible defaults: 10 lots, GTC, 1% max fee, expiring far in the future. */
export function makeOrder(fields: Partial<Order> & Pick<Order, "maker" | "isBuy" | "nonce" | "priceTicks">): Order {
  return {
    marketId: 1n,
    flags: 0n,
    maxFeeBps: 100n,
    expiry: 2n ** 40n - 1n,
    lots: 10n,
    ...fields,
  };
}

/** The order key of `Traded`: bytes 0-19 the account, bytes 20-27 the nonce, bytes 28-31 zero. */
export function orderKey(account: string, nonce: bigint): string {
  return "0x" + ((BigInt(account) << 96n) | (nonce << 32n)).toString(16).padStart(64, "0");
}

/** Splits an order key of `Traded` into its account (checksummed by the caller if needed) and nonce. */
export function decodeOrderKey(key: string): { account: string; nonce: bigint } {
  const value = BigInt(key);
  return {
    account: "0x" + (value >> 96n).toString(16).padStart(40, "0"),
    nonce: (value >> 32n) & MAX_UINT64,
  };
}
