import type { Address } from "viem";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getFeeRecipient`. */
export interface GetFeeRecipientParameters {
  /** The Exchange's address. */
  exchange: Address;
}

/** The account credited with fees. */
export type GetFeeRecipientReturnType = Address;

/**
 * The account whose internal balance receives every fee (`feeRecipient`).
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getFeeRecipient } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const recipient = await getFeeRecipient(client, { exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" });
 */
export async function getFeeRecipient(
  client: ReadClient,
  parameters: GetFeeRecipientParameters,
): Promise<GetFeeRecipientReturnType> {
  return reading("feeRecipient", () =>
    readContract(client, { address: parameters.exchange, abi: exchangeAbi, functionName: "feeRecipient" }),
  );
}
