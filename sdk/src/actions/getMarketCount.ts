import type { Address } from "viem";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getMarketCount`. */
export interface GetMarketCountParameters {
  /** The Exchange's address. */
  exchange: Address;
}

/** How many markets are listed: ids run from 1 to it. */
export type GetMarketCountReturnType = bigint;

/**
 * How many markets the Exchange lists (`marketCount`): their ids run from 1 to this number.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getMarket, getMarketCount } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const exchange = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707";
 * const count = await getMarketCount(client, { exchange });
 * for (let marketId = 1n; marketId <= count; marketId++) console.log(await getMarket(client, { exchange, marketId }));
 */
export async function getMarketCount(
  client: ReadClient,
  parameters: GetMarketCountParameters,
): Promise<GetMarketCountReturnType> {
  const count = await reading("marketCount", () =>
    readContract(client, { address: parameters.exchange, abi: exchangeAbi, functionName: "marketCount" }),
  );
  return BigInt(count);
}
