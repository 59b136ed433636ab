import type { Address } from "viem";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getPriceBounds`. */
export interface GetPriceBoundsParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** The market's id. */
  marketId: bigint;
}

/** The prices, in ticks, a fill in the market may have now. */
export interface GetPriceBoundsReturnType {
  /** False when the market's band has no usable reference price (its fills are then skipped). */
  available: boolean;
  /** The lowest allowed price in ticks (`0n` without a band). */
  minPriceTicks: bigint;
  /** The highest allowed price in ticks (`MAX_UINT64` without a band). */
  maxPriceTicks: bigint;
}

/**
 * The price range a fill in a market may have now (`priceBounds`): `[minPriceTicks, maxPriceTicks]`
 * around the band's reference, or `[0n, MAX_UINT64]` without a band. A fill outside it is skipped
 * with `PriceOutsideBand`; while `available` is false (a stale or failing feed) every fill of the
 * market is skipped with `ReferencePriceUnavailable`. Throws a `ContractRevertError`
 * (`MarketNotListed`) for an id that is not listed.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getPriceBounds } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const { available, minPriceTicks, maxPriceTicks } = await getPriceBounds(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   marketId: 1n,
 * });
 */
export async function getPriceBounds(
  client: ReadClient,
  parameters: GetPriceBoundsParameters,
): Promise<GetPriceBoundsReturnType> {
  const [available, minPriceTicks, maxPriceTicks] = await reading("priceBounds", () =>
    readContract(client, {
      address: parameters.exchange,
      abi: exchangeAbi,
      functionName: "priceBounds",
      args: [Number(parameters.marketId)],
    }),
  );
  return { available, minPriceTicks, maxPriceTicks };
}
