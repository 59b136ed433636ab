import type { Hash } from "viem";
import type { AnyWalletClient } from "../signer";
import { writeExchange, type WriteParameters } from "./internal";

/** The parameters of `cancel`. */
export interface CancelParameters extends WriteParameters {
  /** The nonces of the sender's orders to cancel (at least one). */
  nonces: readonly bigint[];
}

/** The cancellation transaction (not yet waited for). */
export type CancelReturnType = Hash;

/**
 * Cancels the sender's orders with these nonces, for good, from the end of the Exchange's firmness
 * delay (`getFirmnessDelay`, 30 seconds as deployed; a nonce already being cancelled keeps its
 * earlier time): fills the keeper matched before still settle until then (`getPendingCancel` tells
 * when), and from then on `getFilled` reads `MAX_UINT64` and no order signed under them fills again.
 * This is the hard guarantee; a keeper's soft cancel is at once but only as good as the keeper.
 *
 * @example
 * import { createWalletClient, http } from "viem";
 * import { privateKeyToAccount } from "viem/accounts";
 * import { hardhat } from "viem/chains";
 * import { cancel } from "@crossbook/sdk";
 * const client = createWalletClient({
 *   account: privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
 *   chain: hardhat,
 *   transport: http(),
 * });
 * const hash = await cancel(client, { exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707", nonces: [3n, 4n] });
 */
export async function cancel(client: AnyWalletClient, parameters: CancelParameters): Promise<CancelReturnType> {
  return writeExchange(client, parameters, { functionName: "cancel", args: [parameters.nonces] });
}
