import type { Address } from "viem";
import type { Market } from "../types";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getMarket`. */
export interface GetMarketParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** The market's id (from 1 to `getMarketCount`). */
  marketId: bigint;
}

/** The market's parameters. */
export type GetMarketReturnType = Market;

/**
 * A listed market's parameters (`market`): tokens, lot and tick sizes, fees. Throws a
 * `ContractRevertError` (`MarketNotListed`) for an id that is not listed. For the decimal
 * conversions, add the two tokens' decimals (ERC-20 `decimals()`) to make a `MarketUnits`.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getMarket } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const market = await getMarket(client, { exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707", marketId: 1n });
 * // { marketId: 1n, base: "0x…", quote: "0x…", lotSize: 10000000000000000n, tickSize: 100n, makerFeeBps: 5n, takerFeeBps: 10n }
 */
export async function getMarket(client: ReadClient, parameters: GetMarketParameters): Promise<GetMarketReturnType> {
  const { marketId } = parameters;
  const [base, quote, lotSize, tickSize, makerFeeBps, takerFeeBps] = await reading("market", () =>
    readContract(client, {
      address: parameters.exchange,
      abi: exchangeAbi,
      functionName: "market",
      args: [Number(marketId)],
    }),
  );
  return {
    marketId,
    base,
    quote,
    lotSize,
    tickSize,
    makerFeeBps: BigInt(makerFeeBps),
    takerFeeBps: BigInt(takerFeeBps),
  };
}
