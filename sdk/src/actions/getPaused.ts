import type { Address } from "viem";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getPaused`. */
export interface GetPausedParameters {
  /** The Exchange's address. */
  exchange: Address;
}

/** Whether the Exchange is paused. */
export type GetPausedReturnType = boolean;

/**
 * Whether the Exchange is paused (`paused`): while it is, `settle` and `deposit` revert with
 * `EnforcedPause` everywhere; withdrawals and cancels keep working.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getPaused } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const paused = await getPaused(client, { exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" }); // false
 */
export async function getPaused(client: ReadClient, parameters: GetPausedParameters): Promise<GetPausedReturnType> {
  return reading("paused", () =>
    readContract(client, { address: parameters.exchange, abi: exchangeAbi, functionName: "paused" }),
  );
}
