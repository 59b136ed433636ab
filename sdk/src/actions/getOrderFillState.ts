import type { Address } from "viem";
import { MAX_UINT64, type Order } from "../types";
import { getFilled } from "./getFilled";
import { getMinNonce } from "./getMinNonce";
import { getPendingCancel } from "./getPendingCancel";
import { getPendingMinNonce } from "./getPendingMinNonce";
import type { ReadClient } from "./internal";

/** The parameters of `getOrderFillState`. */
export interface GetOrderFillStateParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** The signed order. */
  order: Order;
}

/** What the chain says about one order. */
export interface GetOrderFillStateReturnType {
  /** Lots filled under the order's `(maker, nonce)` (0 when cancelled: see `cancelled`). */
  filled: bigint;
  /** Lots that can still fill: 0 once filled, cancelled or below the nonce floor. */
  remaining: bigint;
  /** Whether a cancel of the nonce is in force (`filled` read `MAX_UINT64`). */
  cancelled: boolean;
  /** Whether the nonce is below its maker's floor in force (`cancelUpTo`). */
  belowNonceFloor: boolean;
  /**
   * Unix seconds from which a cancel or a floor raise its maker asked for stops the order, while
   * that has not happened yet (the firmness delay); `0n` when nothing is waiting to stop it.
   */
  endsAt: bigint;
}

/**
 * The on-chain fill state of one order: lots filled and remaining, whether it was cancelled or is
 * below its maker's nonce floor, and when a cancel or floor raise still waiting will stop it. Expiry
 * is not read: compare `order.expiry` with the time.
 * (Two orders signed under one nonce share its fill state: `remaining` is this order's lots less
 * everything filled under the nonce.)
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getOrderFillState } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const { remaining, cancelled } = await getOrderFillState(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   order: {
 *     maker: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
 *     marketId: 1n, isBuy: true, flags: 0n, maxFeeBps: 10n, expiry: 4_102_444_800n,
 *     nonce: 1n, priceTicks: 183_450n, lots: 25n,
 *   },
 * });
 */
export async function getOrderFillState(
  client: ReadClient,
  parameters: GetOrderFillStateParameters,
): Promise<GetOrderFillStateReturnType> {
  const { exchange, order } = parameters;
  const [filled, minNonce, pendingCancel, pendingFloor] = await Promise.all([
    getFilled(client, { exchange, maker: order.maker, nonce: order.nonce }),
    getMinNonce(client, { exchange, maker: order.maker }),
    getPendingCancel(client, { exchange, maker: order.maker, nonce: order.nonce }),
    getPendingMinNonce(client, { exchange, maker: order.maker }),
  ]);
  const cancelled = filled === MAX_UINT64;
  const belowNonceFloor = order.nonce < minNonce;
  const dead = cancelled || belowNonceFloor || filled >= order.lots;
  const ends = [pendingCancel, order.nonce < pendingFloor.minNonce ? pendingFloor.effectiveAt : 0n].filter(
    (t) => t > 0n,
  );
  return {
    filled: cancelled ? 0n : filled,
    remaining: dead ? 0n : order.lots - filled,
    cancelled,
    belowNonceFloor,
    endsAt: dead || ends.length === 0 ? 0n : ends.reduce((a, b) => (a < b ? a : b)),
  };
}
