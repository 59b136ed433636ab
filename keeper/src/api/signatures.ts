/**
 * Checks the keeper's own signed messages (soft cancels, logins; `sdk/src/keeperMessages.ts`). An
 * EOA's signature is recovered locally (native libsecp256k1, no RPC); when it does not recover to
 * the signer and the signer has code, the wallet's ERC-1271 `isValidSignature` is asked through
 * `eth_call` with the Exchange's 100,000 gas and no more (the SDK's `walletApproves`).
 */
import { hashTypedData, isAddressEqual, type Address, type Hex } from "viem";
import {
  KEEPER_MESSAGE_MAX_SKEW_MS,
  keeperMessageTypedData,
  walletApproves,
  type CancelAllMessage,
  type CancelOrdersMessage,
  type ExchangeDomainParameters,
  type FeedLoginMessage,
  type ReadClient,
  type ScheduleCancelMessage,
} from "@crossbook/sdk";
import { recoverDigestSigner } from "../sigcheck";

export type KeeperMessage =
  | { primaryType: "CancelOrders"; message: CancelOrdersMessage }
  | { primaryType: "CancelAll"; message: CancelAllMessage }
  | { primaryType: "ScheduleCancel"; message: ScheduleCancelMessage }
  | { primaryType: "FeedLogin"; message: FeedLoginMessage };

/** The EIP-712 digest of a keeper message: what its signature signs, and what identifies it once used. */
export function keeperMessageDigest(domain: ExchangeDomainParameters, m: KeeperMessage): Hex {
  // The helper's generic return type is narrowed per primary type; the three shapes share the fields viem needs.
  const typedData = keeperMessageTypedData({ domain, ...m } as Parameters<typeof keeperMessageTypedData>[0]);
  return hashTypedData(typedData as unknown as Parameters<typeof hashTypedData>[0]);
}

/** Whether `signature` over `digest` is `signer`'s ECDSA signature: in memory, no chain read. */
export async function signedBy(signer: Address, digest: Hex, signature: Hex): Promise<boolean> {
  const recovered = await recoverDigestSigner(digest, signature);
  return recovered !== undefined && isAddressEqual(recovered, signer);
}

/**
 * Whether `signature` over the message's digest is `signer`'s: ECDSA recovery, else ERC-1271 for a
 * contract (gas-capped). Throws only when the chain cannot be read for a contract signer.
 */
export async function verifyKeeperMessage(
  client: ReadClient,
  domain: ExchangeDomainParameters,
  signer: Address,
  m: KeeperMessage,
  signature: Hex,
): Promise<boolean> {
  const digest = keeperMessageDigest(domain, m);
  if (await signedBy(signer, digest, signature)) return true;
  return walletApproves(client, { wallet: signer, digest, signature });
}

/** Whether `issuedAt` (unix ms) is within ±5 minutes of `now`. */
export function issuedAtFresh(issuedAt: bigint, now: number): boolean {
  const skew = issuedAt - BigInt(Math.floor(now));
  return skew <= BigInt(KEEPER_MESSAGE_MAX_SKEW_MS) && skew >= -BigInt(KEEPER_MESSAGE_MAX_SKEW_MS);
}
