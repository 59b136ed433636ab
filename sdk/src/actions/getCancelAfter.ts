import type { Address } from "viem";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getCancelAfter`. */
export interface GetCancelAfterParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** Whose deadline. */
  account: Address;
}

/** The deadline in unix seconds; `0n` when the switch is off. */
export type GetCancelAfterReturnType = bigint;

/**
 * An account's cancel-after deadline (`cancelAfter`), as `setCancelAfter` set it: none of its
 * orders fill once the block time is past it. `0n` when the switch is off.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getCancelAfter } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const deadline = await getCancelAfter(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   account: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
 * }); // 0n: off
 */
export async function getCancelAfter(
  client: ReadClient,
  parameters: GetCancelAfterParameters,
): Promise<GetCancelAfterReturnType> {
  const deadline = await reading("cancelAfter", () =>
    readContract(client, {
      address: parameters.exchange,
      abi: exchangeAbi,
      functionName: "cancelAfter",
      args: [parameters.account],
    }),
  );
  return BigInt(deadline);
}
