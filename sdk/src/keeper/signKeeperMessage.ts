/**
 * Signs the keeper's messages (soft cancels, the feed login) with any `OrderSigner`, the way
 * `signOrder` signs orders: a viem local account or wallet client through `signTypedData`, an ethers
 * v6 signer through its `signTypedData`. Also tells whose address a signer signs for.
 */
import type { Account, Address, Hex, LocalAccount } from "viem";
import { exchangeDomain, type ExchangeDomainParameters } from "../eip712";
import { SignerError } from "../errors";
import {
  keeperMessageTypes,
  type CancelAllMessage,
  type CancelOrdersMessage,
  type FeedLoginMessage,
  type ScheduleCancelMessage,
} from "../keeperMessages";
import { orderSignerKind, type AnyWalletClient, type EthersSignerLike, type OrderSigner } from "../signer";

/** The keeper messages by primary type. */
export interface KeeperMessages {
  CancelOrders: CancelOrdersMessage;
  CancelAll: CancelAllMessage;
  ScheduleCancel: ScheduleCancelMessage;
  FeedLogin: FeedLoginMessage;
}

/** The parameters of `signKeeperMessage`. */
export interface SignKeeperMessageParameters<P extends keyof KeeperMessages = keyof KeeperMessages> {
  /** Who signs: a viem local account, a viem wallet client or an ethers v6 signer. */
  signer: OrderSigner;
  /** The Exchange the keeper serves (the messages share the orders' EIP-712 domain). */
  domain: ExchangeDomainParameters;
  primaryType: P;
  message: KeeperMessages[P];
  /** With a wallet client: the account to sign with, when the client has none hoisted (or another one). */
  account?: Account | Address | undefined;
}

/** The 65-byte signature `r ‖ s ‖ v`. */
export type SignKeeperMessageReturnType = Hex;

/**
 * Signs a keeper message (`CancelOrders`, `CancelAll`, `ScheduleCancel` or `FeedLogin`, see `keeperMessageTypes`).
 * The keeper client and feed call it for you; use it to build a request by hand. Throws a
 * `SignerError` when the signer is of no known kind or fails.
 *
 * @example
 * import { privateKeyToAccount } from "viem/accounts";
 * import { signKeeperMessage } from "@crossbook/sdk";
 * const account = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
 * const signature = await signKeeperMessage({
 *   signer: account,
 *   domain: { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000c0ffe" },
 *   primaryType: "CancelAll",
 *   message: { maker: account.address, marketId: 0n, issuedAt: BigInt(Date.now()) },
 * });
 */
export async function signKeeperMessage<P extends keyof KeeperMessages>(
  parameters: SignKeeperMessageParameters<P>,
): Promise<SignKeeperMessageReturnType> {
  const { signer, primaryType } = parameters;
  const domain = exchangeDomain(parameters.domain);
  const types = { [primaryType]: keeperMessageTypes[primaryType].map((field) => ({ ...field })) };
  const message = parameters.message as unknown as Record<string, unknown>;
  // One typed-data value for every signer kind; viem's generic typing cannot follow `primaryType` here.
  const typedData = { domain, types, primaryType, message } as unknown as Parameters<LocalAccount["signTypedData"]>[0];
  const kind = orderSignerKind(signer);
  if (kind === "localAccount") {
    const account = signer as LocalAccount;
    return signing(primaryType, () => account.signTypedData(typedData));
  }
  if (kind === "walletClient") {
    const client = signer as AnyWalletClient;
    const account = parameters.account ?? client.account;
    if (account === undefined) {
      throw new SignerError("The wallet client has no account: pass `account`, or create the client with one", {
        code: "SIGNER_NO_ACCOUNT",
      });
    }
    if (typeof account === "object" && account.type === "local") {
      return signing(primaryType, () => account.signTypedData(typedData));
    }
    return signing(primaryType, () => client.signTypedData({ account, ...typedData }));
  }
  if (kind === "ethersSigner") {
    const ethersSigner = signer as EthersSignerLike;
    return signing(primaryType, async () => (await ethersSigner.signTypedData(domain, types, { ...message })) as Hex);
  }
  throw new SignerError(
    "Cannot sign with this signer: expected a viem local account, a viem wallet client or an ethers v6 signer",
    { code: "SIGNER_UNSUPPORTED" },
  );
}

/**
 * The address `signer` signs for: a local account's address, a wallet client's account (or
 * `account`), an ethers signer's `getAddress()`.
 *
 * @example
 * import { privateKeyToAccount } from "viem/accounts";
 * import { signerAddress } from "@crossbook/sdk";
 * const account = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
 * await signerAddress(account); // account.address
 */
export async function signerAddress(signer: OrderSigner, account?: Account | Address): Promise<Address> {
  const kind = orderSignerKind(signer);
  if (kind === "localAccount") return (signer as LocalAccount).address;
  if (kind === "walletClient") {
    const chosen = account ?? (signer as AnyWalletClient).account;
    if (chosen === undefined) {
      throw new SignerError("The wallet client has no account: pass `account`, or create the client with one", {
        code: "SIGNER_NO_ACCOUNT",
      });
    }
    return typeof chosen === "string" ? chosen : chosen.address;
  }
  if (kind === "ethersSigner") return (await (signer as EthersSignerLike).getAddress()) as Address;
  throw new SignerError(
    "Cannot sign with this signer: expected a viem local account, a viem wallet client or an ethers v6 signer",
    { code: "SIGNER_UNSUPPORTED" },
  );
}

async function signing(what: string, sign: () => Promise<Hex>): Promise<Hex> {
  try {
    return await sign();
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new SignerError(`The signer failed to sign the ${what} message: ${reason}`, {
      code: "SIGNATURE_FAILED",
      cause: error,
    });
  }
}
