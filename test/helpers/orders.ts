import type { Signer, TypedDataDomain } from "ethers";
import type { Address, Hex } from "viem";
import { orderTypes } from "@crossbook/sdk";
import { decodeOrderKey as sdkDecodeOrderKey, encodeOrderKey } from "@crossbook/sdk";

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

// The flags, the skip reasons and the EIP-712 type list are the SDK's: the tests use the same
// definitions a dapp does (test/sdk checks them against the contract).
export { FILL_OR_KILL, IMMEDIATE_OR_CANCEL, MAX_UINT64, POST_ONLY, SkipReason } from "@crossbook/sdk";

/** The EIP-712 types of an order, as ethers' `signTypedData` takes them (mutable arrays). */
export const ORDER_TYPES = { Order: [...orderTypes.Order] };

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

/** The order key of `Traded` for `(account, nonce)`: the SDK's `encodeOrderKey`. */
export function orderKey(account: string, nonce: bigint): string {
  return encodeOrderKey({ account: account as Address, nonce });
}

/** Splits an order key of `Traded` into its account (checksummed) and nonce: the SDK's `decodeOrderKey`. */
export function decodeOrderKey(key: string): { account: string; nonce: bigint } {
  return sdkDecodeOrderKey(key as Hex);
}
