import type { Hash } from "viem";
import type { AnyWalletClient } from "../signer";
import { writeExchange, type WriteParameters } from "./internal";

/** The parameters of `setCancelAfter`. */
export interface SetCancelAfterParameters extends WriteParameters {
  /** Unix seconds after which none of the sender's orders fill (fits in 40 bits); `0n` turns the switch off. */
  deadline: bigint;
}

/** The transaction (not yet waited for). */
export type SetCancelAfterReturnType = Hash;

/**
 * Sets the sender's dead-man's switch: once the block time passes `deadline`, none of the sender's
 * orders fill (settle skips them with `MakerCancelAfterPassed` / `TakerCancelAfterPassed`) until
 * it sets a new deadline. `0n` turns it off. A later deadline (or `0n`) applies at once; an earlier
 * one cannot stop fills matched before it, so a deadline less than the firmness delay ahead
 * (`getFirmnessDelay`) is stored as the delay's last second (or the current deadline, if sooner).
 * A bot typically pushes the deadline forward every few seconds while it is alive; `getCancelAfter`
 * reads back the deadline in force.
 *
 * @example
 * import { createWalletClient, http } from "viem";
 * import { privateKeyToAccount } from "viem/accounts";
 * import { hardhat } from "viem/chains";
 * import { setCancelAfter } from "@crossbook/sdk";
 * const client = createWalletClient({
 *   account: privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
 *   chain: hardhat,
 *   transport: http(),
 * });
 * const deadline = BigInt(Math.floor(Date.now() / 1000) + 60); // nothing fills a minute from now unless renewed
 * const hash = await setCancelAfter(client, { exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707", deadline });
 */
export async function setCancelAfter(
  client: AnyWalletClient,
  parameters: SetCancelAfterParameters,
): Promise<SetCancelAfterReturnType> {
  return writeExchange(client, parameters, { functionName: "setCancelAfter", args: [Number(parameters.deadline)] });
}
