import type { Address } from "viem";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getFilled`. */
export interface GetFilledParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** The order's maker. */
  maker: Address;
  /** The order's nonce. */
  nonce: bigint;
}

/** Lots filled under the nonce, or `MAX_UINT64` once it is cancelled. */
export type GetFilledReturnType = bigint;

/**
 * The lots filled so far under `(maker, nonce)` (`filled`): `MAX_UINT64` once a cancel of the nonce
 * is in force (or an immediate-or-cancel order under it was used). A cancel asked for but not yet in
 * force shows in `getPendingCancel`. See `getOrderFillState` for the
 * state of one order.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getFilled } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const lots = await getFilled(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   maker: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
 *   nonce: 1n,
 * });
 */
export async function getFilled(client: ReadClient, parameters: GetFilledParameters): Promise<GetFilledReturnType> {
  return reading("filled", () =>
    readContract(client, {
      address: parameters.exchange,
      abi: exchangeAbi,
      functionName: "filled",
      args: [parameters.maker, parameters.nonce],
    }),
  );
}
