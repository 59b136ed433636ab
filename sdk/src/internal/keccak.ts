/**
 * keccak256 for the hot path of `hashOrder`: hash-wasm's WebAssembly keccak once it is ready,
 * viem's keccak256 until then and wherever it cannot be.
 *
 * Why: keccak-f[1600] works on 64-bit lanes, which JavaScript (and so @noble/hashes, which viem
 * uses) must emulate with pairs of 32-bit numbers; an order's digest takes four permutations, and
 * with @noble/hashes they are nearly all of its cost. hash-wasm runs the permutation in WebAssembly
 * on native 64-bit integers, many times faster.
 *
 * hash-wasm creates a hasher asynchronously (it compiles its module with `WebAssembly.compile`),
 * then hashes synchronously. `hashOrder` must stay synchronous, so creation starts when this module
 * loads and `keccak256Into` uses viem's keccak256 — same results, slower — until the hasher exists.
 * If creation fails (a Content-Security-Policy without 'wasm-unsafe-eval', a runtime without
 * WebAssembly), the fallback simply stays. `keccakReady` resolves once creation has settled, either way.
 *
 * The main entry exports `keccakReady` as `sdkReady`; `@crossbook/sdk/hashing` (sdk/src/hashing.ts)
 * exports `keccak256Into`, `usesWebAssembly` and `setKeccakFallback`.
 * test/sdk/internal/keccak.test.ts checks it against viem's keccak256 in both modes.
 */
import { createKeccak, type IHasher } from "hash-wasm";
import { keccak256 } from "viem";

/** hash-wasm's keccak-256 hasher, once created; null before, and for good if creation failed. */
let hasher: IHasher | null = null;
let forceFallback = false;

const ready: Promise<void> = Promise.resolve()
  .then(() => createKeccak(256))
  .then(
    (created) => {
      hasher = created;
    },
    () => {
      // No WebAssembly here: keep viem's keccak256.
    },
  );

/** Resolves once the WebAssembly hasher is in use, or once its creation has failed. Never rejects. */
export function keccakReady(): Promise<void> {
  return ready;
}

/** For tests: use viem's keccak256 instead of the WebAssembly hasher (`true`), or go back (`false`). */
export function setKeccakFallback(fallback: boolean): void {
  forceFallback = fallback;
}

/** Whether the WebAssembly hasher is in use. */
export function usesWebAssembly(): boolean {
  return hasher !== null && !forceFallback;
}

/** Writes keccak256 of `data` — 32 bytes — into `out` at `outOffset`. */
export function keccak256Into(data: Uint8Array, out: Uint8Array, outOffset: number): void {
  if (hasher === null || forceFallback) {
    out.set(keccak256(data, "bytes"), outOffset);
  } else {
    out.set(hasher.init().update(data).digest("binary"), outOffset);
  }
}
