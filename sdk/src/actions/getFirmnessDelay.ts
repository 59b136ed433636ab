import type { Address } from "viem";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getFirmnessDelay`. */
export interface GetFirmnessDelayParameters {
  /** The Exchange's address. */
  exchange: Address;
}

/** The firmness delay in seconds. */
export type GetFirmnessDelayReturnType = bigint;

/**
 * The Exchange's firmness delay (`firmnessDelay`): how many seconds after it is mined a trader's
 * `cancel`, `cancelUpTo`, `requestWithdraw`, an earlier `setCancelAfter` deadline or a tighter
 * `setWindowLimit` takes effect. A fill the keeper matched before such an action and settles within
 * the delay still executes; after it the action is final. 30 seconds as deployed; the admin may set
 * it anywhere from 0 to 300.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getFirmnessDelay } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const seconds = await getFirmnessDelay(client, { exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" });
 */
export async function getFirmnessDelay(
  client: ReadClient,
  parameters: GetFirmnessDelayParameters,
): Promise<GetFirmnessDelayReturnType> {
  const seconds = await reading("firmnessDelay", () =>
    readContract(client, { address: parameters.exchange, abi: exchangeAbi, functionName: "firmnessDelay" }),
  );
  return BigInt(seconds);
}
