import type { Account, Chain, LocalAccount, Transport, WalletClient } from "viem";

/**
 * The part of an ethers v6 `Signer` that signing an order uses. Any ethers `Signer` (a `Wallet`, a
 * `JsonRpcSigner`, a Hardhat signer) has it; the SDK never imports ethers, which stays optional.
 */
export interface EthersSignerLike {
  getAddress(): Promise<string>;
  signTypedData(
    domain: { name?: string; version?: string; chainId?: bigint; verifyingContract?: string },
    types: Record<string, Array<{ name: string; type: string }>>,
    value: Record<string, unknown>,
  ): Promise<string>;
}

/** A viem wallet client, with or without a hoisted account. */
export type AnyWalletClient = WalletClient<Transport, Chain | undefined, Account | undefined>;

/**
 * Anything that can sign an order: a viem local account (`privateKeyToAccount`, `mnemonicToAccount`,
 * …), a viem wallet client (a browser wallet or a node's JSON-RPC account), or an ethers v6 signer.
 */
export type OrderSigner = LocalAccount | AnyWalletClient | EthersSignerLike;

/** Which kind of `OrderSigner` a value is, told by its shape. */
export type OrderSignerKind = "localAccount" | "walletClient" | "ethersSigner";

/**
 * Tells which kind of `OrderSigner` `signer` is, by its shape (viem accounts say `type: "local"`,
 * viem clients have `request`, ethers signers have `getAddress`), or `undefined` for none.
 *
 * @example
 * import { privateKeyToAccount } from "viem/accounts";
 * import { orderSignerKind } from "@crossbook/sdk";
 * const account = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
 * orderSignerKind(account); // "localAccount"
 */
export function orderSignerKind(signer: unknown): OrderSignerKind | undefined {
  if (typeof signer !== "object" || signer === null) return undefined;
  const s = signer as Record<string, unknown>;
  if (s.type === "local" && typeof s.signTypedData === "function" && typeof s.address === "string") {
    return "localAccount";
  }
  if (typeof s.request === "function" && typeof s.signTypedData === "function") return "walletClient";
  if (typeof s.getAddress === "function" && typeof s.signTypedData === "function") return "ethersSigner";
  return undefined;
}
