import type { Address } from "viem";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getWindowLimit`. */
export interface GetWindowLimitParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** Whose limit. */
  account: Address;
  /** The market's id. */
  marketId: bigint;
}

/** An account's window limit on one market, as it stands now. */
export interface GetWindowLimitReturnType {
  /** The most lots filled per window (`0n` with `windowSeconds` `0n`: no limit). */
  maxLots: bigint;
  /** The window's length in seconds; `0n`: no limit. */
  windowSeconds: bigint;
  /** When the current window opened (unix seconds); `0n` while none is open. */
  windowStart: bigint;
  /** The lots filled in the current window. */
  usedLots: bigint;
  /** The cap of a scheduled loosening (meaningful while `pendingEffectiveAt` is not `0n`). */
  pendingMaxLots: bigint;
  /** The window of a scheduled loosening (`0n`: the limit is being removed). */
  pendingWindowSeconds: bigint;
  /** When the scheduled loosening applies (unix seconds); `0n`: nothing pending. */
  pendingEffectiveAt: bigint;
}

/**
 * An account's cap on the lots it fills in a market per window (`windowLimit`), its current
 * window, and any loosening still waiting out the delay — as they stand now: a loosening that is
 * due already shows as the limit.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getWindowLimit } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const { maxLots, windowSeconds, usedLots, pendingEffectiveAt } = await getWindowLimit(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   account: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
 *   marketId: 1n,
 * });
 */
export async function getWindowLimit(
  client: ReadClient,
  parameters: GetWindowLimitParameters,
): Promise<GetWindowLimitReturnType> {
  const [maxLots, windowSeconds, windowStart, usedLots, pendingMaxLots, pendingWindowSeconds, pendingEffectiveAt] =
    await reading("windowLimit", () =>
      readContract(client, {
        address: parameters.exchange,
        abi: exchangeAbi,
        functionName: "windowLimit",
        args: [parameters.account, Number(parameters.marketId)],
      }),
    );
  return {
    maxLots: BigInt(maxLots),
    windowSeconds: BigInt(windowSeconds),
    windowStart: BigInt(windowStart),
    usedLots: BigInt(usedLots),
    pendingMaxLots: BigInt(pendingMaxLots),
    pendingWindowSeconds: BigInt(pendingWindowSeconds),
    pendingEffectiveAt: BigInt(pendingEffectiveAt),
  };
}
