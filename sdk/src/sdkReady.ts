import { keccakReady } from "./internal/keccak";

/** What `sdkReady` resolves to: nothing — it only tells when. */
export type SdkReadyReturnType = Promise<void>;

/**
 * Resolves once `hashOrder` and `hashOrderStruct` run at full speed. Their keccak256 runs in
 * WebAssembly (hash-wasm), whose module compiles asynchronously, starting when the SDK loads;
 * until then they use viem's keccak256 — the same digests, some 10 times slower. Nothing needs to
 * wait for it: await it only where the first orders' hashing time matters (a benchmark, a
 * market maker's start-up).
 *
 * Never rejects: where WebAssembly cannot be used (a Content-Security-Policy without
 * `'wasm-unsafe-eval'`, a runtime without WebAssembly), it resolves all the same and hashing
 * stays on viem's keccak256, silently.
 *
 * @example
 * import { hashOrder, sdkReady } from "@crossbook/sdk";
 * await sdkReady();
 * const digest = hashOrder({
 *   domain: { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000c0ffe" },
 *   order: {
 *     maker: "0xCB3504f6d0D7C9eC65a4F0548D6C3c521bF82C03",
 *     marketId: 1n, isBuy: true, flags: 0n, maxFeeBps: 100n, expiry: 4_102_444_800n,
 *     nonce: 0n, priceTicks: 2000n, lots: 5n,
 *   },
 * });
 */
export function sdkReady(): SdkReadyReturnType {
  return keccakReady();
}
