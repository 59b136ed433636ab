import type { Address, Hash } from "viem";
import type { AnyWalletClient } from "../signer";
import { writeExchange, type WriteParameters } from "./internal";

/** The parameters of `withdraw`. */
export interface WithdrawParameters extends WriteParameters {
  /** The token to withdraw. */
  token: Address;
  /** How many atoms of it. */
  amount: bigint;
}

/** The withdrawal transaction (not yet waited for). */
export type WithdrawReturnType = Hash;

/**
 * Withdraws `amount` atoms of `token` from the sender's balance on the Exchange to the sender, out
 * of a withdrawal request in force (`requestWithdraw`, then the firmness delay); the request shrinks
 * by `amount`. Works in every state of the Exchange, paused or halted included. Throws a
 * `ContractRevertError` when it would revert: `WithdrawalExceedsRequest` (more than the request, or
 * none), `WithdrawalNotYetEffective` (with `effectiveAt`), `InsufficientBalance` (with `available`
 * and `requested`), `ZeroAmount`.
 *
 * @example
 * import { createWalletClient, http } from "viem";
 * import { privateKeyToAccount } from "viem/accounts";
 * import { hardhat } from "viem/chains";
 * import { withdraw } from "@crossbook/sdk";
 * const client = createWalletClient({
 *   account: privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
 *   chain: hardhat,
 *   transport: http(),
 * });
 * const hash = await withdraw(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   token: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
 *   amount: 500_000_000n,
 * });
 */
export async function withdraw(client: AnyWalletClient, parameters: WithdrawParameters): Promise<WithdrawReturnType> {
  return writeExchange(client, parameters, { functionName: "withdraw", args: [parameters.token, parameters.amount] });
}
