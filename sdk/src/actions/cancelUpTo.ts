import type { Hash } from "viem";
import type { AnyWalletClient } from "../signer";
import { writeExchange, type WriteParameters } from "./internal";

/** The parameters of `cancelUpTo`. */
export interface CancelUpToParameters extends WriteParameters {
  /** The new nonce floor: every nonce of the sender below it dies. Must be above the last floor asked for. */
  minNonce: bigint;
}

/** The transaction (not yet waited for). */
export type CancelUpToReturnType = Hash;

/**
 * Raises the sender's nonce floor to `minNonce` from the end of the Exchange's firmness delay
 * (`getFirmnessDelay`): from then on every order of the sender with a lower nonce can never fill;
 * until then `getMinNonce` reads the old floor and `getPendingMinNonce` the new one. The floor only
 * rises: a value at or below the last one asked for throws a `ContractRevertError`
 * (`NonceFloorNotRaised`, with both values). A raise asked while another waits replaces it.
 *
 * @example
 * import { createWalletClient, http } from "viem";
 * import { privateKeyToAccount } from "viem/accounts";
 * import { hardhat } from "viem/chains";
 * import { cancelUpTo } from "@crossbook/sdk";
 * const client = createWalletClient({
 *   account: privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
 *   chain: hardhat,
 *   transport: http(),
 * });
 * const hash = await cancelUpTo(client, { exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707", minNonce: 100n });
 */
export async function cancelUpTo(
  client: AnyWalletClient,
  parameters: CancelUpToParameters,
): Promise<CancelUpToReturnType> {
  return writeExchange(client, parameters, { functionName: "cancelUpTo", args: [parameters.minNonce] });
}
