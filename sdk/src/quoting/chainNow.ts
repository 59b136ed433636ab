import { getBlock } from "viem/actions";
import { reading, type ReadClient } from "../actions/internal";
import type { ChainClock } from "./chainClock";

/** The parameters of `chainNow`. */
export interface ChainNowParameters {
  /** A clock to feed with the block read (so that it can answer `now()` without a request until the next). */
  clock?: ChainClock | undefined;
}

/** The chain's time: the latest block's timestamp, in unix seconds. */
export type ChainNowReturnType = bigint;

/**
 * The chain's time now: the latest block's timestamp (unix seconds). Use it, not `Date.now()`, for
 * an order's `expiry` and for deadlines such as `setCancelAfter`: the chain's clock drifts from the
 * wall clock (a Hardhat node after `evm_increaseTime`, or mining many blocks a second; a real chain
 * by seconds). With `clock`, the block is also fed to that `ChainClock`.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { chainNow } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const expiry = (await chainNow(client)) + 600n; // an order good for ten minutes of the chain's time
 */
export async function chainNow(client: ReadClient, parameters: ChainNowParameters = {}): Promise<ChainNowReturnType> {
  const block = await reading("getBlock", () => getBlock(client, { blockTag: "latest" }));
  parameters.clock?.observe({ number: block.number, timestamp: block.timestamp });
  return block.timestamp;
}
