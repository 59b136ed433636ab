import type { Address, Hash } from "viem";
import type { AnyWalletClient } from "../signer";
import { writeExchange, type WriteParameters } from "./internal";

/** The parameters of `requestWithdraw`. */
export interface RequestWithdrawParameters extends WriteParameters {
  /** The token to withdraw. */
  token: Address;
  /** How many atoms may leave (fits in 216 bits); `0n` drops the standing request. */
  amount: bigint;
}

/** The request transaction (not yet waited for). */
export type RequestWithdrawReturnType = Hash;

/**
 * Asks to withdraw `amount` atoms of `token`: `withdraw` may send them once the Exchange's firmness
 * delay (`getFirmnessDelay`, 30 seconds as deployed) has passed. The request reserves nothing —
 * fills the keeper matched before it still settle against the balance — and stands until used or
 * replaced: asking for no more than the standing request keeps its time, asking for more starts the
 * delay again, `0n` drops it. `getWithdrawalRequest` reads it. Works in every state of the Exchange,
 * paused or halted included. A keeper holds the amount back from new matches as soon as it sees the
 * request (`WithdrawalRequested`).
 *
 * @example
 * import { createWalletClient, http } from "viem";
 * import { privateKeyToAccount } from "viem/accounts";
 * import { hardhat } from "viem/chains";
 * import { requestWithdraw } from "@crossbook/sdk";
 * const client = createWalletClient({
 *   account: privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
 *   chain: hardhat,
 *   transport: http(),
 * });
 * const hash = await requestWithdraw(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   token: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
 *   amount: 500_000_000n,
 * });
 */
export async function requestWithdraw(
  client: AnyWalletClient,
  parameters: RequestWithdrawParameters,
): Promise<RequestWithdrawReturnType> {
  return writeExchange(client, parameters, {
    functionName: "requestWithdraw",
    args: [parameters.token, parameters.amount],
  });
}
