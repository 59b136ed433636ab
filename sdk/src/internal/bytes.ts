/**
 * Byte helpers for the hot paths (`hashOrder`, `domainSeparator`): hex ⇄ bytes through lookup
 * tables, and ABI words written in place. Exported through `@crossbook/sdk/hashing` (sdk/src/hashing.ts).
 */
import type { Hex } from "viem";

const HEX_BYTES: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** The nibble of each ASCII code, or -1 for a character that is not a hex digit. */
const NIBBLES = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) NIBBLES[48 + i] = i; // 0-9
for (let i = 0; i < 6; i++) {
  NIBBLES[65 + i] = 10 + i; // A-F
  NIBBLES[97 + i] = 10 + i; // a-f
}

/** Lower-case `0x…` hex of `bytes`. */
export function bytesToHexFast(bytes: Uint8Array): Hex {
  let out = "0x";
  for (let i = 0; i < bytes.length; i++) out += HEX_BYTES[bytes[i]];
  return out as Hex;
}

/**
 * Writes the `byteLength` bytes of the `0x`-prefixed hex string `hex` (exactly that long) into
 * `target` at `offset`. Returns false, having written some bytes or none, when `hex` is not such a
 * string.
 */
export function writeHex(target: Uint8Array, offset: number, hex: unknown, byteLength: number): boolean {
  if (typeof hex !== "string" || hex.length !== 2 + 2 * byteLength || hex.charCodeAt(0) !== 48) return false;
  const x = hex.charCodeAt(1);
  if (x !== 120 && x !== 88) return false; // "x" or "X"
  for (let i = 0; i < byteLength; i++) {
    const hi = hex.charCodeAt(2 + 2 * i);
    const lo = hex.charCodeAt(3 + 2 * i);
    const h = hi < 128 ? NIBBLES[hi] : -1;
    const l = lo < 128 ? NIBBLES[lo] : -1;
    if (h < 0 || l < 0) return false;
    target[offset + i] = (h << 4) | l;
  }
  return true;
}

/** Writes `value` (0 ≤ value < 2^256) as a big-endian 32-byte ABI word at `offset`. */
export function writeUint256(view: DataView, offset: number, value: bigint): void {
  for (let i = 3; i >= 0; i--) {
    view.setBigUint64(offset + 8 * i, value & 0xffff_ffff_ffff_ffffn);
    value >>= 64n;
  }
}
