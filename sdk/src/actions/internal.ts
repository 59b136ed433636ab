/**
 * What the chain actions share: the client types they take, and sending an Exchange transaction
 * with its failure turned into a `CrossbookError`. Internal: not exported from the SDK.
 */
import type { Account, Address, Chain, Client, Hash, Transport } from "viem";
import { writeContract } from "viem/actions";
import { toCrossbookError } from "../decodeContractError";
import { SignerError } from "../errors";
import { exchangeAbi } from "../generated/exchangeAbi";
import type { AnyWalletClient } from "../signer";

/** Any viem client that can read the chain: a public client, or a wallet client (reads go to its transport). */
export type ReadClient = Client<Transport, Chain | undefined>;

/** What every transaction-sending action takes besides its own parameters. */
export interface WriteParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** The account that sends the transaction; defaults to the wallet client's account. */
  account?: Account | Address | undefined;
  /** The chain to send on; defaults to the wallet client's chain. */
  chain?: Chain | undefined;
}

/** The account to send from, or a `SignerError` when there is none. */
export function senderOf(client: AnyWalletClient, account: Account | Address | undefined): Account | Address {
  const sender = account ?? client.account;
  if (sender === undefined) {
    throw new SignerError("The wallet client has no account: pass `account`, or create the client with one", {
      code: "SIGNER_NO_ACCOUNT",
    });
  }
  return sender;
}

type ExchangeWrite =
  | { functionName: "deposit"; args: readonly [Address, bigint] }
  | { functionName: "requestWithdraw"; args: readonly [Address, bigint] }
  | { functionName: "withdraw"; args: readonly [Address, bigint] }
  | { functionName: "cancel"; args: readonly [readonly bigint[]] }
  | { functionName: "cancelUpTo"; args: readonly [bigint] }
  | { functionName: "setCancelAfter"; args: readonly [number] }
  | { functionName: "setWindowLimit"; args: readonly [number, number, number] };

/** Sends a transaction to the Exchange; a revert (found when viem estimates its gas) becomes a `ContractRevertError`. */
export async function writeExchange(
  client: AnyWalletClient,
  parameters: WriteParameters,
  call: ExchangeWrite,
): Promise<Hash> {
  const account = senderOf(client, parameters.account);
  try {
    return await writeContract(client, {
      address: parameters.exchange,
      abi: exchangeAbi,
      functionName: call.functionName,
      args: call.args,
      account,
      chain: parameters.chain ?? client.chain ?? null,
    } as Parameters<typeof writeContract>[1]);
  } catch (error) {
    throw toCrossbookError(error, call.functionName);
  }
}

/** Runs a read, turning its failure into a `CrossbookError` (a `ContractRevertError` when it reverted). */
export async function reading<T>(functionName: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw toCrossbookError(error, functionName);
  }
}
