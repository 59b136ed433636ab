import { getAddress, isAddress, type Address, type Hex } from "viem";
import { OrderKeyError } from "./errors";
import { MAX_UINT64 } from "./types";

/** The parameters of `encodeOrderKey`: which order, by its maker and nonce. */
export interface EncodeOrderKeyParameters {
  account: Address;
  /** `uint64` */
  nonce: bigint;
}

/** A 32-byte order key, `0x`-prefixed. */
export type EncodeOrderKeyReturnType = Hex;

/**
 * Packs `(account, nonce)` into the order key of the `Traded` event: bytes 0-19 the account,
 * bytes 20-27 the nonce (big-endian), bytes 28-31 zero — in Solidity
 * `(uint256(uint160(account)) << 96) | (uint256(nonce) << 32)`.
 *
 * @example
 * import { encodeOrderKey } from "@crossbook/sdk";
 * encodeOrderKey({ account: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", nonce: 7n });
 * // "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266000000000000000700000000"
 */
export function encodeOrderKey(parameters: EncodeOrderKeyParameters): EncodeOrderKeyReturnType {
  const { account, nonce } = parameters;
  if (typeof account !== "string" || !isAddress(account, { strict: false })) {
    throw new OrderKeyError(`Not an address: ${String(account)}`, { code: "ORDER_KEY_INVALID", details: { account } });
  }
  if (typeof nonce !== "bigint" || nonce < 0n || nonce > MAX_UINT64) {
    throw new OrderKeyError(`The nonce must be a bigint within uint64, got ${String(nonce)}`, {
      code: "ORDER_KEY_INVALID",
      details: { nonce },
    });
  }
  return `${account.toLowerCase()}${nonce.toString(16).padStart(16, "0")}00000000` as Hex;
}

/** An order key's account (checksummed) and nonce. */
export interface DecodeOrderKeyReturnType {
  account: Address;
  nonce: bigint;
}

/**
 * Splits an order key of the `Traded` event into its account (EIP-55 checksummed) and nonce.
 * Throws an `OrderKeyError` when `key` is not 32 bytes of hex or its last 4 bytes are not zero.
 *
 * @example
 * import { decodeOrderKey } from "@crossbook/sdk";
 * decodeOrderKey("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266000000000000000700000000");
 * // { account: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", nonce: 7n }
 */
export function decodeOrderKey(key: Hex): DecodeOrderKeyReturnType {
  if (typeof key !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new OrderKeyError(`An order key is 32 bytes of 0x-prefixed hex, got ${String(key)}`, {
      code: "ORDER_KEY_INVALID",
      details: { key },
    });
  }
  if (key.slice(58) !== "00000000") {
    throw new OrderKeyError(`Bytes 28-31 of an order key are zero, got ${key}`, {
      code: "ORDER_KEY_INVALID",
      details: { key },
    });
  }
  return { account: getAddress(`0x${key.slice(2, 42)}`), nonce: BigInt(`0x${key.slice(42, 58)}`) };
}
