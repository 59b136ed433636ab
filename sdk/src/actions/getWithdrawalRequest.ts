import type { Address } from "viem";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getWithdrawalRequest`. */
export interface GetWithdrawalRequestParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** Whose request. */
  account: Address;
  /** In which token. */
  token: Address;
}

/** A standing withdrawal request. */
export interface GetWithdrawalRequestReturnType {
  /** Atoms that may leave (`0n`: no request). */
  amount: bigint;
  /** Unix seconds from which `withdraw` may send them (`0n`: no request). */
  effectiveAt: bigint;
}

/**
 * An account's standing withdrawal request in a token (`withdrawalRequest`), as `requestWithdraw`
 * made it and `withdraw` shrinks it.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getWithdrawalRequest } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const { amount, effectiveAt } = await getWithdrawalRequest(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   account: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
 *   token: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
 * });
 */
export async function getWithdrawalRequest(
  client: ReadClient,
  parameters: GetWithdrawalRequestParameters,
): Promise<GetWithdrawalRequestReturnType> {
  const [amount, effectiveAt] = await reading("withdrawalRequest", () =>
    readContract(client, {
      address: parameters.exchange,
      abi: exchangeAbi,
      functionName: "withdrawalRequest",
      args: [parameters.account, parameters.token],
    }),
  );
  return { amount, effectiveAt: BigInt(effectiveAt) };
}
