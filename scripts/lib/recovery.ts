/**
 * One native signature recovery's cost, timed in the calling process: the unit issue 15's shard
 * target is given in (`bench:cluster`, `bench:shard`). The gateway's `recoverOrderSigner` path,
 * libsecp256k1 over the SDK's digest.
 */
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { POST_ONLY, sdkReady, type Order } from "@crossbook/sdk";
import { recoverOrderSignerNative, sigcheckReady } from "../../keeper/src/sigcheck";
import { keyBytes, median, signNative } from "./bench";

/** Microseconds per native recovery: the median of 5 passes over `count` orders signed by 20 keys. */
export async function nativeRecoveryMicros(
  domain: { chainId: number; verifyingContract: `0x${string}` },
  count = 2000,
): Promise<number> {
  await sdkReady();
  await sigcheckReady();
  const keys = Array.from({ length: 20 }, () => generatePrivateKey());
  const signed = Array.from({ length: count }, (_, i) => {
    const key = keys[i % keys.length];
    const order: Order = {
      maker: privateKeyToAccount(key).address,
      marketId: 1n,
      isBuy: i % 2 === 0,
      flags: POST_ONLY,
      maxFeeBps: 10n,
      expiry: 2_000_000_000n,
      nonce: BigInt(i + 1),
      priceTicks: 1_000_000n + BigInt(i),
      lots: 1n,
    };
    return { order, signature: signNative(order, keyBytes(key), domain) };
  });
  const passes: number[] = [];
  for (let pass = 0; pass < 5; pass++) {
    const start = process.hrtime.bigint();
    for (const { order, signature } of signed) {
      const signer = recoverOrderSignerNative(order, signature, domain);
      if (signer?.toLowerCase() !== order.maker.toLowerCase()) throw new Error("native recovery: a recovery was wrong");
    }
    passes.push(Number(process.hrtime.bigint() - start) / 1000 / count);
  }
  return median(passes);
}
