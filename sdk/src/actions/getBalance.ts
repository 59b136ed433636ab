import type { Address } from "viem";
import { readContract } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getBalance`. */
export interface GetBalanceParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** Whose balance. */
  account: Address;
  /** Of which token. */
  token: Address;
}

/** Atoms of the token. */
export type GetBalanceReturnType = bigint;

/**
 * An account's internal balance of a token on the Exchange (`balanceOf`), in atoms: what it can
 * trade and withdraw.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { formatAmount, getBalance } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const atoms = await getBalance(client, {
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   account: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
 *   token: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
 * });
 * console.log(formatAmount({ atoms, decimals: 6 }));
 */
export async function getBalance(client: ReadClient, parameters: GetBalanceParameters): Promise<GetBalanceReturnType> {
  return reading("balanceOf", () =>
    readContract(client, {
      address: parameters.exchange,
      abi: exchangeAbi,
      functionName: "balanceOf",
      args: [parameters.account, parameters.token],
    }),
  );
}
