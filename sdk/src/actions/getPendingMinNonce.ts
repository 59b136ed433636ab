import type { Address } from "viem";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getPendingMinNonce`. */
export interface GetPendingMinNonceParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** Whose nonce floor. */
  maker: Address;
}

/** A raise of the nonce floor that is not yet in force. */
export interface GetPendingMinNonceReturnType {
  /** The floor from `effectiveAt` on (`0n`: no raise waiting). */
  minNonce: bigint;
  /** Unix seconds from which it is in force (`0n`: no raise waiting). */
  effectiveAt: bigint;
}

/**
 * A raise of an account's nonce floor that `cancelUpTo` asked for and that is not yet in force
 * (`pendingMinNonce`); `getMinNonce` reads the floor in force now. Both `0n` when none is waiting.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getPendingMinNonce } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const { minNonce, effectiveAt } = await getPendingMinNonce(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   maker: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
 * });
 */
export async function getPendingMinNonce(
  client: ReadClient,
  parameters: GetPendingMinNonceParameters,
): Promise<GetPendingMinNonceReturnType> {
  const [minNonce, effectiveAt] = await reading("pendingMinNonce", () =>
    readContract(client, {
      address: parameters.exchange,
      abi: exchangeAbi,
      functionName: "pendingMinNonce",
      args: [parameters.maker],
    }),
  );
  return { minNonce, effectiveAt: BigInt(effectiveAt) };
}
