import type { Account, Address, Hex, LocalAccount } from "viem";
import { exchangeDomain, orderTypedData, orderTypes, type ExchangeDomainParameters } from "./eip712";
import { SignerError } from "./errors";
import { hashOrder } from "./hashOrder";
import { orderSignerKind, type AnyWalletClient, type EthersSignerLike, type OrderSigner } from "./signer";
import type { Order } from "./types";

/** The parameters of `signOrder`. */
export interface SignOrderParameters {
  /** Who signs: a viem local account, a viem wallet client or an ethers v6 signer. */
  signer: OrderSigner;
  /**
   * The order. Its `maker` is usually the signer's address; for an ERC-1271 contract wallet it is
   * the wallet's address, and the signer is whoever the wallet accepts signatures from.
   */
  order: Order;
  /** The Exchange the order is for. */
  domain: ExchangeDomainParameters;
  /** With a wallet client: the account to sign with, when the client has none hoisted (or another one). */
  account?: Account | Address | undefined;
}

/** The 65-byte signature `r ‖ s ‖ v` (`v` 27 or 28), as `settle` takes it. */
export type SignOrderReturnType = Hex;

/**
 * Signs an order (EIP-712) for the Exchange given by `domain`.
 *
 * - A viem local account signs the precomputed digest (`account.sign({ hash })`): the same
 *   signature as signing the typed data, at the cost of signing a hash.
 * - A viem wallet client signs the typed data (`eth_signTypedData_v4`), so that a browser wallet
 *   shows its user the order's fields; a wallet client with a local account signs like one.
 * - An ethers v6 signer signs the typed data with its `signTypedData`.
 *
 * Throws an `OrderValidationError` when a field of the order cannot be encoded, and a
 * `SignerError` when the signer is of no known kind or fails.
 *
 * @example
 * import { privateKeyToAccount } from "viem/accounts";
 * import { signOrder } from "@crossbook/sdk";
 * const account = privateKeyToAccount("0x5a6d1a00db63cd86b3dc50a007cc7ce7340b97407df13e7b7e7f05eef7436c9f");
 * const signature = await signOrder({
 *   signer: account,
 *   domain: { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000c0ffe" },
 *   order: {
 *     maker: account.address,
 *     marketId: 1n, isBuy: true, flags: 0n, maxFeeBps: 100n, expiry: 4_102_444_800n,
 *     nonce: 0n, priceTicks: 2000n, lots: 5n,
 *   },
 * });
 */
export async function signOrder(parameters: SignOrderParameters): Promise<SignOrderReturnType> {
  const { signer, order, domain } = parameters;
  const kind = orderSignerKind(signer);
  if (kind === "localAccount") return signWithLocalAccount(signer as LocalAccount, order, domain);
  if (kind === "walletClient") return signWithWalletClient(signer as AnyWalletClient, parameters);
  if (kind === "ethersSigner") return signWithEthers(signer as EthersSignerLike, order, domain);
  throw new SignerError(
    "Cannot sign with this signer: expected a viem local account, a viem wallet client or an ethers v6 signer",
    { code: "SIGNER_UNSUPPORTED", details: { signer: describe(signer) } },
  );
}

async function signWithLocalAccount(account: LocalAccount, order: Order, domain: ExchangeDomainParameters) {
  if (account.sign !== undefined) {
    const hash = hashOrder({ order, domain }); // may throw OrderValidationError: not a signer failure
    return signing(() => account.sign!({ hash }));
  }
  return signing(() => account.signTypedData(orderTypedData({ order, domain })));
}

async function signWithWalletClient(client: AnyWalletClient, parameters: SignOrderParameters) {
  const account = parameters.account ?? client.account;
  if (account === undefined) {
    throw new SignerError("The wallet client has no account: pass `account`, or create the client with one", {
      code: "SIGNER_NO_ACCOUNT",
    });
  }
  if (typeof account === "object" && account.type === "local") {
    return signWithLocalAccount(account, parameters.order, parameters.domain);
  }
  hashOrder(parameters); // checks every field first, with the same errors as the other signers
  return signing(() => client.signTypedData({ account, ...orderTypedData(parameters) }));
}

async function signWithEthers(signer: EthersSignerLike, order: Order, domain: ExchangeDomainParameters) {
  hashOrder({ order, domain }); // checks every field first, with the same errors as the other signers
  const types = { Order: orderTypes.Order.map((field) => ({ ...field })) };
  return signing(async () => (await signer.signTypedData(exchangeDomain(domain), types, { ...order })) as Hex);
}

/** Runs a signer call, turning its failure into a `SignerError`. */
async function signing(sign: () => Promise<Hex>): Promise<Hex> {
  try {
    return await sign();
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new SignerError(`The signer failed to sign the order: ${reason}`, { code: "SIGNATURE_FAILED", cause: error });
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return `an object with keys ${Object.keys(value).slice(0, 8).join(", ")}`;
}
