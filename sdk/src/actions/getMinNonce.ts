import type { Address } from "viem";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getMinNonce`. */
export interface GetMinNonceParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** Whose nonce floor. */
  maker: Address;
}

/** The nonce floor: nonces below it never fill. */
export type GetMinNonceReturnType = bigint;

/**
 * An account's nonce floor in force (`minNonce`), as raised by `cancelUpTo`: its orders with a
 * lower nonce never fill. A raise not yet in force shows in `getPendingMinNonce`.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getMinNonce } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const floor = await getMinNonce(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   maker: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
 * });
 */
export async function getMinNonce(
  client: ReadClient,
  parameters: GetMinNonceParameters,
): Promise<GetMinNonceReturnType> {
  return reading("minNonce", () =>
    readContract(client, {
      address: parameters.exchange,
      abi: exchangeAbi,
      functionName: "minNonce",
      args: [parameters.maker],
    }),
  );
}
