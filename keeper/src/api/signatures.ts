/**
 * Checks the keeper's own signed messages (soft cancels, feed login; `sdk/src/keeperMessages.ts`).
 * An EOA's signature is recovered locally (no RPC); when it does not recover to the signer and the
 * signer has code, the chain is asked: viem's `verifyTypedData` action calls the wallet's ERC-1271
 * `isValidSignature` through `eth_call`.
 */
import { isAddressEqual, recoverTypedDataAddress, type Address, type Hex } from "viem";
import { getCode, verifyTypedData } from "viem/actions";
import {
  KEEPER_MESSAGE_MAX_SKEW_MS,
  keeperMessageTypedData,
  type CancelAllMessage,
  type CancelOrdersMessage,
  type ExchangeDomainParameters,
  type FeedLoginMessage,
  type ReadClient,
} from "@crossbook/sdk";

export type KeeperMessage =
  | { primaryType: "CancelOrders"; message: CancelOrdersMessage }
  | { primaryType: "CancelAll"; message: CancelAllMessage }
  | { primaryType: "FeedLogin"; message: FeedLoginMessage };

/**
 * Whether `signature` over `message` is `signer`'s: ECDSA recovery, else ERC-1271 for a contract.
 * Throws only when the chain cannot be read for a contract signer.
 */
export async function verifyKeeperMessage(
  client: ReadClient,
  domain: ExchangeDomainParameters,
  signer: Address,
  m: KeeperMessage,
  signature: Hex,
): Promise<boolean> {
  // The helper's generic return type is narrowed per primary type; the three shapes share the fields viem needs.
  const typedData = keeperMessageTypedData({ domain, ...m } as Parameters<typeof keeperMessageTypedData>[0]);
  if (signature.length === 132) {
    try {
      const recovered = await recoverTypedDataAddress({ ...typedData, signature } as unknown as Parameters<
        typeof recoverTypedDataAddress
      >[0]);
      if (isAddressEqual(recovered, signer)) return true;
    } catch {
      // Not a valid ECDSA signature: a contract wallet may still accept it.
    }
  }
  const code = await getCode(client, { address: signer });
  if (code === undefined || code === "0x") return false;
  return verifyTypedData(client, { address: signer, ...typedData, signature } as unknown as Parameters<
    typeof verifyTypedData
  >[1]);
}

/** Whether `issuedAt` (unix ms) is within ±5 minutes of `now`. */
export function issuedAtFresh(issuedAt: bigint, now: number): boolean {
  const skew = issuedAt - BigInt(Math.floor(now));
  return skew <= BigInt(KEEPER_MESSAGE_MAX_SKEW_MS) && skew >= -BigInt(KEEPER_MESSAGE_MAX_SKEW_MS);
}
