import {
  encodeFunctionData,
  hexToBytes,
  isAddressEqual,
  recoverAddress,
  type Chain,
  type Address,
  type Client,
  type Hex,
  type Transport,
} from "viem";
import { call, getCode } from "viem/actions";
import type { ExchangeDomainParameters } from "./eip712";
import { hashOrder } from "./hashOrder";
import type { Order } from "./types";

/** The ERC-1271 `isValidSignature(bytes32,bytes)` function. */
const erc1271Abi = [
  {
    type: "function",
    name: "isValidSignature",
    stateMutability: "view",
    inputs: [
      { name: "hash", type: "bytes32" },
      { name: "signature", type: "bytes" },
    ],
    outputs: [{ name: "magicValue", type: "bytes4" }],
  },
] as const;

/** The one answer that approves: the function's selector, left-aligned in a word of otherwise zeros. */
const MAGIC_WORD = "0x1626ba7e" + "0".repeat(56);

/** The gas the Exchange gives a wallet's `isValidSignature` (`ERC1271_GAS_LIMIT`). */
const ERC1271_GAS_LIMIT = 100_000n;

/** The parameters of `verifyOrderSignature`. */
export interface VerifyOrderSignatureParameters {
  /** The signed order; its `maker` is the account that must have signed it (an EOA or an ERC-1271 wallet). */
  order: Order;
  /** The signature, as `signOrder` returns it. */
  signature: Hex;
  /** The Exchange the order is for. */
  domain: ExchangeDomainParameters;
}

/** Whether the Exchange would accept the signature for the order now. */
export type VerifyOrderSignatureReturnType = boolean;

/**
 * Tells whether the Exchange would accept `signature` as its maker's for `order`, checking it the
 * way `settle` does: a 65-byte ECDSA signature (`v` 27 or 28) that recovers to the maker is
 * accepted; otherwise, if the maker has code, its ERC-1271 `isValidSignature(digest, signature)`
 * must return exactly the magic value (within the gas the Exchange gives it). A wallet's answer can
 * change over time, so `true` holds for the block it was read at.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { verifyOrderSignature } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const ok = await verifyOrderSignature(client, {
 *   domain: { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000c0ffe" },
 *   order: {
 *     maker: "0xCB3504f6d0D7C9eC65a4F0548D6C3c521bF82C03",
 *     marketId: 1n, isBuy: true, flags: 0n, maxFeeBps: 100n, expiry: 4_102_444_800n,
 *     nonce: 0n, priceTicks: 2000n, lots: 5n,
 *   },
 *   signature:
 *     "0xb88046c515d2f894a6cd09b85555236215fd7f3eb2e6313fe72b0c263e327f5a0ba6fe777f5ce1ce671f8f720728d3fb81ddeea9aebba0c5ae9f2919c302dbec1c",
 * }); // true
 */
export async function verifyOrderSignature(
  client: Client<Transport, Chain | undefined>,
  parameters: VerifyOrderSignatureParameters,
): Promise<VerifyOrderSignatureReturnType> {
  const { order, signature } = parameters;
  const digest = hashOrder(parameters);
  if (await recoversToMaker(digest, signature, order)) return true;
  return walletApproves(client, { wallet: order.maker, digest, signature });
}

/** The parameters of `walletApproves`. */
export interface WalletApprovesParameters {
  /** The account whose approval is asked: a contract wallet (an account without code approves nothing). */
  wallet: Address;
  /** The 32-byte digest signed (an EIP-712 hash). */
  digest: Hex;
  signature: Hex;
}

/**
 * Whether a contract wallet approves `signature` over `digest` as the Exchange asks it to: its
 * ERC-1271 `isValidSignature(digest, signature)` returns exactly the magic value within the
 * Exchange's `ERC1271_GAS_LIMIT` (100,000 gas) — never more gas, so that a wallet that burns it
 * costs the caller's node no more than it costs a batch. An account without code approves nothing;
 * a revert or running out of gas is a no.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { walletApproves } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const ok = await walletApproves(client, {
 *   wallet: "0x00000000000000000000000000000000000c0ffe",
 *   digest: "0x1111111111111111111111111111111111111111111111111111111111111111",
 *   signature: "0x",
 * }); // false: no code there
 */
export async function walletApproves(
  client: Client<Transport, Chain | undefined>,
  parameters: WalletApprovesParameters,
): Promise<boolean> {
  const { wallet, digest, signature } = parameters;
  const code = await getCode(client, { address: wallet });
  if (code === undefined || code === "0x") return false;
  const data = encodeFunctionData({ abi: erc1271Abi, functionName: "isValidSignature", args: [digest, signature] });
  try {
    // The wallet gets ERC1271_GAS_LIMIT; the call's intrinsic and calldata gas come on top.
    const gas = ERC1271_GAS_LIMIT + 21_000n + 16n * BigInt((data.length - 2) / 2);
    const result = await call(client, { to: wallet, data, gas });
    return (
      result.data !== undefined && result.data.length >= 66 && result.data.slice(0, 66).toLowerCase() === MAGIC_WORD
    );
  } catch {
    return false; // a revert, or running out of gas, is a "no" to the Exchange too
  }
}

/** Whether `signature` is a 65-byte ECDSA signature of `digest` by the maker, as the Exchange's `ecrecover` sees it. */
async function recoversToMaker(digest: Hex, signature: Hex, order: Order): Promise<boolean> {
  let bytes: Uint8Array;
  try {
    bytes = hexToBytes(signature);
  } catch {
    return false;
  }
  if (bytes.length !== 65 || (bytes[64] !== 27 && bytes[64] !== 28)) return false;
  try {
    return isAddressEqual(await recoverAddress({ hash: digest, signature }), order.maker);
  } catch {
    return false; // not a point on the curve: ecrecover returns nothing
  }
}
