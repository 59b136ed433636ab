import { keccak256, type Address, type Hex } from "viem";
import { bytesToHexFast, writeHex, writeUint256 } from "./internal/bytes";
import { DomainError } from "./errors";
import type { Order } from "./types";

/** The EIP-712 domain name of every Crossbook Exchange. */
export const EXCHANGE_DOMAIN_NAME = "Crossbook";
/** The EIP-712 domain version of the Exchange. */
export const EXCHANGE_DOMAIN_VERSION = "1";

/**
 * The EIP-712 type string of an order, the one `OrderHashing.ORDER_TYPEHASH` is the keccak256 of:
 * the fields of `IExchange.Order`, in order.
 */
export const ORDER_TYPE_STRING =
  "Order(address maker,uint32 marketId,bool isBuy,uint8 flags,uint16 maxFeeBps,uint40 expiry,uint64 nonce,uint64 priceTicks,uint64 lots)";

/** `keccak256(ORDER_TYPE_STRING)`, the same constant as `OrderHashing.ORDER_TYPEHASH` in Solidity. */
export const ORDER_TYPEHASH: Hex = "0xac1f07ef574a062ed9076d1016f2c169b05ea18bb1cdbabdd312729d175e3d8a";

/** `keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")`. */
export const EIP712_DOMAIN_TYPEHASH: Hex = "0x8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f";

/** The EIP-712 types of an order, for viem's `hashTypedData` / `signTypedData` or ethers' `signTypedData`. */
export const orderTypes = {
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
} as const;

/**
 * Which Exchange an order is for: the chain id (a `number` as viem's `chain.id` gives it, or a
 * `bigint`) and the Exchange's address. The domain's name and version are always "Crossbook" and "1".
 */
export interface ExchangeDomainParameters {
  chainId: bigint | number;
  verifyingContract: Address;
}

/** The full EIP-712 domain of an Exchange, as `exchangeDomain` builds it. */
export interface ExchangeDomain {
  name: typeof EXCHANGE_DOMAIN_NAME;
  version: typeof EXCHANGE_DOMAIN_VERSION;
  chainId: bigint;
  verifyingContract: Address;
}

/**
 * Builds the EIP-712 domain of the Exchange at `verifyingContract` on chain `chainId`.
 *
 * @example
 * import { exchangeDomain } from "@crossbook/sdk";
 * const domain = exchangeDomain({ chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" });
 * // { name: "Crossbook", version: "1", chainId: 31337n, verifyingContract: "0x5FbD…0aa3" }
 */
export function exchangeDomain(parameters: ExchangeDomainParameters): ExchangeDomain {
  return {
    name: EXCHANGE_DOMAIN_NAME,
    version: EXCHANGE_DOMAIN_VERSION,
    chainId: BigInt(parameters.chainId),
    verifyingContract: parameters.verifyingContract,
  };
}

/** The parameters of `orderTypedData`. */
export interface OrderTypedDataParameters {
  order: Order;
  domain: ExchangeDomainParameters;
}

/**
 * The type of `OrderTypedDataReturnType.types`: loose on purpose. With the literal type of
 * `orderTypes`, viem would type each `uint32` or narrower field of the message as a `number`, while
 * the SDK keeps every integer a `bigint` (which viem encodes just as well).
 */
export type OrderTypes = Record<string, unknown>;

/** An order as EIP-712 typed data, ready for viem's `hashTypedData` or `signTypedData`. */
export interface OrderTypedDataReturnType {
  domain: ExchangeDomain;
  types: OrderTypes;
  primaryType: "Order";
  message: Order;
}

/**
 * An order as EIP-712 typed data: what a wallet shows its user and signs. `hashTypedData` of it
 * equals `hashOrder` (which is much faster).
 *
 * @example
 * import { hashTypedData } from "viem";
 * import { orderTypedData } from "@crossbook/sdk";
 * const typedData = orderTypedData({
 *   domain: { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" },
 *   order: {
 *     maker: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
 *     marketId: 1n, isBuy: true, flags: 0n, maxFeeBps: 10n, expiry: 4_102_444_800n,
 *     nonce: 1n, priceTicks: 183_450n, lots: 25n,
 *   },
 * });
 * const digest = hashTypedData(typedData);
 */
export function orderTypedData(parameters: OrderTypedDataParameters): OrderTypedDataReturnType {
  return {
    domain: exchangeDomain(parameters.domain),
    types: orderTypes,
    primaryType: "Order",
    message: parameters.order,
  };
}

const NAME_HASH = keccak256(new TextEncoder().encode(EXCHANGE_DOMAIN_NAME), "bytes");
const VERSION_HASH = keccak256(new TextEncoder().encode(EXCHANGE_DOMAIN_VERSION), "bytes");
const DOMAIN_TYPEHASH_BYTES = (() => {
  const bytes = new Uint8Array(32);
  writeHex(bytes, 0, EIP712_DOMAIN_TYPEHASH, 32);
  return bytes;
})();
const MAX_UINT256 = (1n << 256n) - 1n;

/**
 * The EIP-712 domain separator of an Exchange, as bytes. Throws on a malformed domain.
 * @internal used by `hashOrder`, which caches it.
 */
export function domainSeparatorBytes(domain: ExchangeDomainParameters): Uint8Array {
  const buffer = new Uint8Array(5 * 32);
  buffer.set(DOMAIN_TYPEHASH_BYTES, 0);
  buffer.set(NAME_HASH, 32);
  buffer.set(VERSION_HASH, 64);
  let chainId: bigint | undefined;
  try {
    chainId = BigInt(domain.chainId);
  } catch {
    chainId = undefined;
  }
  if (
    chainId === undefined ||
    chainId < 0n ||
    chainId > MAX_UINT256 ||
    (typeof domain.chainId !== "bigint" && !Number.isSafeInteger(domain.chainId))
  ) {
    throw new DomainError(`Invalid chain id in the domain: ${String(domain.chainId)}`, {
      code: "DOMAIN_INVALID",
      details: { chainId: domain.chainId },
    });
  }
  writeUint256(new DataView(buffer.buffer), 96, chainId);
  if (!writeHex(buffer, 128 + 12, domain.verifyingContract, 20)) {
    throw new DomainError(`Invalid verifying contract in the domain: ${String(domain.verifyingContract)}`, {
      code: "DOMAIN_INVALID",
      details: { verifyingContract: domain.verifyingContract },
    });
  }
  return keccak256(buffer, "bytes");
}

/**
 * The EIP-712 domain separator of the Exchange at `verifyingContract` on chain `chainId`:
 * `hashStruct(EIP712Domain)`, as the contract's `eip712Domain()` implies.
 *
 * @example
 * import { domainSeparator } from "@crossbook/sdk";
 * const separator = domainSeparator({ chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000c0ffe" });
 * // "0x4609f8ba033b8a35526574a31fe6b87a5d9d6e90b268abe1d4670af5ad9893a4"
 */
export function domainSeparator(domain: ExchangeDomainParameters): Hex {
  return bytesToHexFast(domainSeparatorBytes(domain));
}
