import type { Address } from "viem";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getRiskLimits`. */
export interface GetRiskLimitsParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** The market's id. */
  marketId: bigint;
}

/** A market's risk limits and their state. */
export interface GetRiskLimitsReturnType {
  /** Whether the guardian halted the market (its fills are skipped with `MarketHalted`). */
  halted: boolean;
  /** The price band in basis points around the reference; `0n`: none. */
  bandBps: bigint;
  /** The most lots the market fills per block; `0n`: no velocity limit. */
  maxLotsPerBlock: bigint;
  /** The market's Chainlink-style price feed; the zero address: none. */
  feed: Address;
  /** How old, in seconds, a feed answer may be. */
  feedMaxAgeSeconds: bigint;
  /** The last settled price in ticks (tracked while a band or a velocity limit is set). */
  lastPriceTicks: bigint;
  /** The lots filled in the current block (counted while a velocity limit is set). */
  lotsThisBlock: bigint;
}

/**
 * A listed market's risk limits (`riskLimits`), which the Exchange's admin and guardian set:
 * halt, price band, velocity limit, price feed, and the state they track. Throws a
 * `ContractRevertError` (`MarketNotListed`) for an id that is not listed. `getPriceBounds` gives
 * the prices the band allows now.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getRiskLimits } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const { halted, bandBps, maxLotsPerBlock } = await getRiskLimits(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   marketId: 1n,
 * });
 */
export async function getRiskLimits(
  client: ReadClient,
  parameters: GetRiskLimitsParameters,
): Promise<GetRiskLimitsReturnType> {
  const [halted, bandBps, maxLotsPerBlock, feed, feedMaxAgeSeconds, lastPriceTicks, lotsThisBlock] = await reading(
    "riskLimits",
    () =>
      readContract(client, {
        address: parameters.exchange,
        abi: exchangeAbi,
        functionName: "riskLimits",
        args: [Number(parameters.marketId)],
      }),
  );
  return {
    halted,
    bandBps: BigInt(bandBps),
    maxLotsPerBlock,
    feed,
    feedMaxAgeSeconds: BigInt(feedMaxAgeSeconds),
    lastPriceTicks,
    lotsThisBlock,
  };
}
