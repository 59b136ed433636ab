import type { Hash } from "viem";
import type { AnyWalletClient } from "../signer";
import { writeExchange, type WriteParameters } from "./internal";

/** The parameters of `setWindowLimit`. */
export interface SetWindowLimitParameters extends WriteParameters {
  /** The market the limit applies to. */
  marketId: bigint;
  /** The most lots the sender's orders fill in one window (fits in 48 bits). */
  maxLots: bigint;
  /** The window's length in seconds (fits in 24 bits); `0n` (with `maxLots` `0n`) removes the limit. */
  windowSeconds: bigint;
}

/** The transaction (not yet waited for). */
export type SetWindowLimitReturnType = Hash;

/**
 * Caps the lots the sender's orders fill in `marketId` per window of `windowSeconds`. A tighter
 * limit (a lower or equal cap over a longer or equal window, or any limit where there was none)
 * applies after the Exchange's firmness delay (`getFirmnessDelay`: fills matched before it still
 * settle); a looser one (a higher cap, a shorter window, or `windowSeconds` `0n`: no limit) after
 * the contract's `LOOSEN_DELAY` (one hour). Either replaces a change still pending, and
 * `getWindowLimit` shows it as pending until it applies. A zero cap with a non-zero window
 * throws a `ContractRevertError` (`InvalidWindowLimit`); an unlisted market, `MarketNotListed`.
 *
 * @example
 * import { createWalletClient, http } from "viem";
 * import { privateKeyToAccount } from "viem/accounts";
 * import { hardhat } from "viem/chains";
 * import { setWindowLimit } from "@crossbook/sdk";
 * const client = createWalletClient({
 *   account: privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
 *   chain: hardhat,
 *   transport: http(),
 * });
 * // at most 500 lots of market 1 filled per 10 minutes
 * const hash = await setWindowLimit(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   marketId: 1n,
 *   maxLots: 500n,
 *   windowSeconds: 600n,
 * });
 */
export async function setWindowLimit(
  client: AnyWalletClient,
  parameters: SetWindowLimitParameters,
): Promise<SetWindowLimitReturnType> {
  const { marketId, maxLots, windowSeconds } = parameters;
  return writeExchange(client, parameters, {
    functionName: "setWindowLimit",
    args: [Number(marketId), Number(maxLots), Number(windowSeconds)],
  });
}
