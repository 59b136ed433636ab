import { erc20Abi, type Address, type Hash } from "viem";
import { readContract, waitForTransactionReceipt, writeContract } from "viem/actions";
import { toCrossbookError } from "../decodeContractError";
import { ContractRevertError } from "../errors";
import type { AnyWalletClient } from "../signer";
import { senderOf, writeExchange, type WriteParameters } from "./internal";

/** The parameters of `deposit`. */
export interface DepositParameters extends WriteParameters {
  /** The ERC-20 token to deposit. */
  token: Address;
  /** How many atoms of it (see `parseAmount`). */
  amount: bigint;
  /**
   * When the Exchange's allowance is below `amount`: `"exact"` (the default) first approves exactly
   * `amount` and waits for that approval to be mined; `"none"` sends the deposit as it is (which
   * then reverts unless the allowance suffices by the time it runs).
   */
  approve?: "exact" | "none" | undefined;
}

/** The transactions sent. */
export interface DepositReturnType {
  /** The approval, mined before the deposit was sent; `undefined` when the allowance sufficed. */
  approvalHash: Hash | undefined;
  /** The deposit (not yet waited for). */
  hash: Hash;
}

/**
 * Deposits `amount` atoms of `token` into the sender's balance on the Exchange, approving the
 * Exchange first when its allowance is too low. The Exchange credits what actually arrives (less,
 * for a fee-on-transfer token).
 *
 * Approval is a separate transaction, not an EIP-2612 permit: the Exchange has no entry point that
 * takes a permit, so a permit would still need its own transaction and save nothing. Some tokens
 * (USDT on Ethereum) refuse to change a non-zero allowance to another non-zero one: approve 0 first.
 *
 * Throws a `ContractRevertError` with the decoded error (`ZeroAmount`, or the token's own, such as
 * `ERC20InsufficientBalance`) when the approval or the deposit would revert.
 *
 * @example
 * import { createWalletClient, http } from "viem";
 * import { privateKeyToAccount } from "viem/accounts";
 * import { hardhat } from "viem/chains";
 * import { deposit, parseAmount } from "@crossbook/sdk";
 * const client = createWalletClient({
 *   account: privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
 *   chain: hardhat,
 *   transport: http(),
 * });
 * const { hash } = await deposit(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   token: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
 *   amount: parseAmount({ amount: "1000", decimals: 6 }),
 * });
 */
export async function deposit(client: AnyWalletClient, parameters: DepositParameters): Promise<DepositReturnType> {
  const { exchange, token, amount, approve = "exact" } = parameters;
  const sender = senderOf(client, parameters.account);
  const owner = typeof sender === "string" ? sender : sender.address;
  let approvalHash: Hash | undefined;
  if (approve === "exact") {
    try {
      const allowance = await readContract(client, {
        address: token,
        abi: erc20Abi,
        functionName: "allowance",
        args: [owner, exchange],
      });
      if (allowance < amount) {
        approvalHash = await writeContract(client, {
          address: token,
          abi: erc20Abi,
          functionName: "approve",
          args: [exchange, amount],
          account: sender,
          chain: parameters.chain ?? client.chain ?? null,
        });
        const receipt = await waitForTransactionReceipt(client, { hash: approvalHash });
        if (receipt.status !== "success") {
          throw new ContractRevertError(`approve reverted in transaction ${approvalHash}`, {
            errorName: undefined,
            args: [],
            namedArgs: {},
            data: undefined,
            functionName: "approve",
          });
        }
      }
    } catch (error) {
      throw toCrossbookError(error, "approve");
    }
  }
  const hash = await writeExchange(client, parameters, { functionName: "deposit", args: [token, amount] });
  return { approvalHash, hash };
}
