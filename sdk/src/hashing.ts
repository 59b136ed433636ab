/**
 * `@crossbook/sdk/hashing`: the byte-level primitives under `hashOrder`, for code that hashes on a
 * hot path of its own (the keeper recovers signers from order digests it builds in place). Most
 * applications need only `hashOrder` and `sdkReady` from the main entry.
 *
 * - `keccak256Into(data, out, offset)`: keccak256 into a caller's buffer, in WebAssembly
 *   (hash-wasm) once `sdkReady()` has resolved, with viem's `keccak256` until then and wherever
 *   WebAssembly is refused. One hasher per JavaScript realm, shared with `hashOrder`.
 * - `usesWebAssembly()`, `setKeccakFallback(fallback)`: which keccak runs, and forcing viem's (for
 *   benchmarks and tests that compare the two).
 * - `writeHex`, `writeUint256`, `bytesToHexFast`: hex ⇄ bytes through lookup tables and ABI words
 *   written in place, without intermediate strings.
 */
export { keccak256Into, setKeccakFallback, usesWebAssembly } from "./internal/keccak";
export { bytesToHexFast, writeHex, writeUint256 } from "./internal/bytes";
