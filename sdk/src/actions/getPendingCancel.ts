import type { Address } from "viem";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getPendingCancel`. */
export interface GetPendingCancelParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** The order's maker. */
  maker: Address;
  /** The order's nonce. */
  nonce: bigint;
}

/** Unix seconds from which a requested cancel is in force; `0n` when none is waiting. */
export type GetPendingCancelReturnType = bigint;

/**
 * When a cancel of `(maker, nonce)` that `cancel` asked for takes effect (`pendingCancel`), while it
 * has not yet: until then orders under the nonce still fill, from then on `getFilled` reads
 * `MAX_UINT64`. `0n` when no cancel is waiting (none asked for, or already in force).
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getPendingCancel } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const effectiveAt = await getPendingCancel(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   maker: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
 *   nonce: 3n,
 * });
 */
export async function getPendingCancel(
  client: ReadClient,
  parameters: GetPendingCancelParameters,
): Promise<GetPendingCancelReturnType> {
  const effectiveAt = await reading("pendingCancel", () =>
    readContract(client, {
      address: parameters.exchange,
      abi: exchangeAbi,
      functionName: "pendingCancel",
      args: [parameters.maker, parameters.nonce],
    }),
  );
  return BigInt(effectiveAt);
}
