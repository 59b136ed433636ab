/**
 * Who signed an order: ECDSA public-key recovery over the order's EIP-712 digest, fast enough for
 * the keeper's order entry (thousands per second), by exactly the SDK's rule so that the keeper and
 * `verifyOrderSignature` never disagree — which is the Exchange's `_recover` rule:
 *
 * - the signature is `0x` and 130 hex digits: `r ‖ s ‖ v`, 65 bytes;
 * - `v` is 27 or 28 (not 0 or 1: the Exchange passes the byte to the `ecrecover` precompile as is,
 *   and the precompile answers nothing for any other `v`);
 * - `r` and `s` are in [1, n-1]; a high `s` is accepted, because the precompile accepts it (the
 *   Exchange keys an order by maker and nonce, never by signature, so a malleated twin authorises
 *   nothing new);
 * - the point recovers; the signer is keccak256 of its public key, last 20 bytes, checksummed.
 *
 * Two backends over the same bytes: `native` (libsecp256k1 through the `secp256k1` package's
 * prebuilt binding, some 20 times faster) and `js` (viem's `recoverPublicKey`, i.e. @noble/curves,
 * used where the native module cannot load). Digests come from the SDK's `hashOrder`, public keys
 * are hashed with the SDK's WebAssembly keccak256: await `sigcheckReady()` once before a hot loop.
 *
 * No I/O. Answers `undefined` for any signature (or order) from which no signer can be recovered;
 * throws only for a malformed domain, which is the keeper's configuration, not the trader's input.
 */
import { recoverPublicKey, type Address, type Hex } from "viem";
import { hashOrder, OrderValidationError, sdkReady, type ExchangeDomainParameters, type Order } from "@crossbook/sdk";
import { writeHex } from "@crossbook/sdk/hashing";
import { keccak256Into } from "@crossbook/sdk/hashing";

/** The libsecp256k1 functions used here, as the `secp256k1` package's native binding exposes them. */
interface NativeSecp256k1 {
  ecdsaRecover(signature: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean): Uint8Array;
}

/** The native binding, or the reason it could not load. Loaded directly, so never the package's own elliptic.js fallback. */
const native: { binding: NativeSecp256k1 } | { error: Error } = (() => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { binding: require("secp256k1/bindings") as NativeSecp256k1 };
  } catch (error) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }
})();

/** The two implementations of recovery: libsecp256k1 (native) or @noble/curves through viem (js). */
export type SigcheckBackend = "native" | "js";

/** Whether the native binding loaded; when not, `nativeLoadError` says why. */
export const nativeAvailable: boolean = "binding" in native;
/** Why the native binding did not load, or undefined when it did. */
export const nativeLoadError: Error | undefined = "error" in native ? native.error : undefined;
/** The backend `recoverOrderSigner` uses: native when it loaded, else js. */
export const defaultBackend: SigcheckBackend = nativeAvailable ? "native" : "js";

/** Resolves once hashing runs on WebAssembly keccak256 (`sdkReady`). Never rejects. */
export function sigcheckReady(): Promise<void> {
  return sdkReady();
}

/** Bytes of one prepared recovery: digest (32) ‖ r (32) ‖ s (32) ‖ v (1). */
const PREPARED_SIZE = 97;

/**
 * Writes what recovery needs — `digest`, then the 65 signature bytes — into `out`. Returns false,
 * having written some bytes or none, when no signer can come out of it: a signature that is not
 * `0x` + 130 hex digits, or a `v` other than 27 or 28.
 */
function prepareDigest(digest: Hex, signature: unknown, out: Uint8Array): boolean {
  // viem's hex parsing, which the SDK uses, wants a lower-case "0x"; writeHex alone would take "0X".
  if (typeof signature !== "string" || signature.charCodeAt(1) !== 120) return false;
  if (!writeHex(out, 32, signature, 65)) return false;
  const v = out[96];
  if (v !== 27 && v !== 28) return false;
  return writeHex(out, 0, digest, 32);
}

/**
 * The order's digest, prepared with the signature into `out` (see `prepareDigest`); false also for an
 * order that cannot be encoded. Throws a `DomainError` for a malformed domain.
 */
function prepareRecovery(order: Order, signature: unknown, domain: ExchangeDomainParameters, out: Uint8Array): boolean {
  if (typeof order !== "object" || order === null) return false;
  let digest: Hex;
  try {
    digest = hashOrder({ order, domain });
  } catch (error) {
    if (error instanceof OrderValidationError) return false;
    throw error; // DomainError: the caller's configuration
  }
  return prepareDigest(digest, signature, out);
}

/** 20-byte address → EIP-55 checksummed hex, with the WebAssembly keccak256. */
const ASCII = new Uint8Array(40);
const HASH = new Uint8Array(32);
const HEX_DIGITS = "0123456789abcdef";
function checksumAddress(bytes: Uint8Array, offset: number): Address {
  for (let i = 0; i < 20; i++) {
    const b = bytes[offset + i];
    ASCII[2 * i] = HEX_DIGITS.charCodeAt(b >> 4);
    ASCII[2 * i + 1] = HEX_DIGITS.charCodeAt(b & 15);
  }
  keccak256Into(ASCII, HASH, 0);
  let out = "0x";
  for (let i = 0; i < 40; i++) {
    const c = ASCII[i];
    const nibble = i % 2 === 0 ? HASH[i >> 1] >> 4 : HASH[i >> 1] & 15;
    out += String.fromCharCode(c >= 97 && nibble >= 8 ? c - 32 : c);
  }
  return out as Address;
}

/** The signer's address from a 65-byte uncompressed public key (0x04 ‖ x ‖ y). */
const KEY_HASH = new Uint8Array(32);
function publicKeyToSigner(publicKey: Uint8Array): Address {
  keccak256Into(publicKey.subarray(1, 65), KEY_HASH, 0);
  return checksumAddress(KEY_HASH, 12);
}

/** Reused views of a prepared recovery, for the native call (which copies them). */
const MSG32 = new Uint8Array(32);
const SIG64 = new Uint8Array(64);

/** Native recovery of a prepared entry: the signer, or undefined when r or s is out of range or no point recovers. */
function recoverPreparedNative(prepared: Uint8Array): Address | undefined {
  if (!("binding" in native)) throw nativeUnavailable();
  MSG32.set(prepared.subarray(0, 32));
  SIG64.set(prepared.subarray(32, 96));
  let publicKey: Uint8Array;
  try {
    publicKey = native.binding.ecdsaRecover(SIG64, prepared[96] - 27, MSG32, false);
  } catch {
    return undefined; // r or s zero or ≥ n, or not a point: ecrecover returns nothing
  }
  return publicKeyToSigner(publicKey);
}

/** Pure-JS recovery of a prepared entry (viem's `recoverPublicKey`, @noble/curves): same answers as the native one. */
async function recoverPreparedJs(prepared: Uint8Array): Promise<Address | undefined> {
  let publicKey: Hex;
  try {
    publicKey = await recoverPublicKey({ hash: prepared.slice(0, 32), signature: prepared.slice(32, 97) });
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(65);
  writeHex(bytes, 0, publicKey, 65);
  return publicKeyToSigner(bytes);
}

function nativeUnavailable(): Error {
  return new Error(
    `sigcheck: the native secp256k1 binding did not load (${nativeLoadError?.message}); use the "js" backend`,
  );
}

/** One prepared entry, for the in-thread functions below. Reused: recovery copies out of it before any await. */
const ONE = new Uint8Array(PREPARED_SIZE);

/**
 * The signer of `order` under `domain`, recovered from `signature` with libsecp256k1, synchronously;
 * undefined when no signer can be recovered. Throws when the native binding did not load.
 */
export function recoverOrderSignerNative(
  order: Order,
  signature: Hex,
  domain: ExchangeDomainParameters,
): Address | undefined {
  if (!("binding" in native)) throw nativeUnavailable();
  return prepareRecovery(order, signature, domain, ONE) ? recoverPreparedNative(ONE) : undefined;
}

/** The same as `recoverOrderSignerNative`, in pure JavaScript (@noble/curves through viem). */
export async function recoverOrderSignerJs(
  order: Order,
  signature: Hex,
  domain: ExchangeDomainParameters,
): Promise<Address | undefined> {
  const prepared = new Uint8Array(PREPARED_SIZE);
  return prepareRecovery(order, signature, domain, prepared) ? recoverPreparedJs(prepared) : undefined;
}

/**
 * The signer of `order` under `domain` recovered from `signature` — a checksummed address — or
 * undefined when the signature is not one the Exchange's `ecrecover` would recover (see the top of
 * this file). Native when the binding loaded, pure JS otherwise. The signature is the maker's when
 * the result equals `order.maker` (compare with `isAddressEqual`).
 *
 * @example
 * await sigcheckReady();
 * const signer = await recoverOrderSigner(order, signature, { chainId: 31337, verifyingContract: exchange });
 * const ok = signer !== undefined && isAddressEqual(signer, order.maker);
 */
export async function recoverOrderSigner(
  order: Order,
  signature: Hex,
  domain: ExchangeDomainParameters,
): Promise<Address | undefined> {
  return nativeAvailable
    ? recoverOrderSignerNative(order, signature, domain)
    : recoverOrderSignerJs(order, signature, domain);
}

/**
 * The ECDSA signer of a 32-byte `digest` (an EIP-712 hash: the keeper's own messages, soft cancels
 * and logins), by the same rule as orders — native when the binding loaded, else pure JS — or
 * undefined when no signer can be recovered.
 */
export async function recoverDigestSigner(digest: Hex, signature: Hex): Promise<Address | undefined> {
  const prepared = nativeAvailable ? ONE : new Uint8Array(PREPARED_SIZE);
  if (!prepareDigest(digest, signature, prepared)) return undefined;
  return nativeAvailable ? recoverPreparedNative(prepared) : recoverPreparedJs(prepared);
}
