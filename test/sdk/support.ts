/**
 * Shared setup of the SDK tests: viem clients over the in-process Hardhat network, the Exchange
 * fixture with the addresses the SDK takes, the committed EIP-712 vectors, and a few order helpers.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import hre, { ethers } from "hardhat";
import {
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  toHex,
  type Account,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
  type Transport,
  type Chain,
} from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { deployExchange, fund } from "../helpers/fixture";
import { exchangeAbi, parseSettlementLogs, settleArgs, type Fill, type Order, type SignedOrder } from "@crossbook/sdk";

/**
 * The in-process Hardhat network as a viem transport. No retries: Hardhat reports a revert as an
 * internal JSON-RPC error (-32603), which viem would otherwise retry three times with backoff.
 */
export const transport = custom(hre.network.provider, { retryCount: 0 });

/**
 * The Hardhat network as a viem chain. (Not `hardhat` from "viem/chains": that module's types pull
 * in sources of `ox` that need the DOM lib, which this project's tsconfig leaves out.)
 */
export const hardhat = defineChain({
  id: 31337,
  name: "Hardhat",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: ["http://127.0.0.1:8545"] } },
});

/** A viem public client on the Hardhat network. */
export const publicClient: PublicClient = createPublicClient({ chain: hardhat, transport, pollingInterval: 10 });

/** A viem wallet client on the Hardhat network for `account` (a local account, or an unlocked node address). */
export function walletClient(account: Account | Address): WalletClient<Transport, Chain, Account> {
  return createWalletClient({ account, chain: hardhat, transport, pollingInterval: 10 });
}

/** A fresh local account holding 10 ETH for gas. */
export async function fundedLocalAccount(): Promise<PrivateKeyAccount> {
  const account = privateKeyToAccount(generatePrivateKey());
  await hre.network.provider.send("hardhat_setBalance", [account.address, toHex(10n ** 19n)]);
  return account;
}

/** The Exchange fixture (test/helpers/fixture.ts) plus the addresses and domain the SDK takes. */
export async function sdkFixture() {
  const env = await deployExchange();
  const exchange = (await env.exchange.getAddress()) as Address;
  const base = (await env.base.getAddress()) as Address;
  const quote = (await env.quote.getAddress()) as Address;
  const domain = { chainId: hardhat.id, verifyingContract: exchange };
  return { ...env, addresses: { exchange, base, quote }, sdkDomain: domain };
}

export type SdkEnv = Awaited<ReturnType<typeof sdkFixture>>;

/** Mints `amount` of `token` to `owner` (any address) without depositing it. */
export async function mint(token: SdkEnv["base"], owner: Address, amount: bigint): Promise<void> {
  await (await token.mint(owner, amount)).wait();
}

export { fund };

/** An order of market 1 with defaults for what a test does not care about. */
export function order(fields: Partial<Order> & Pick<Order, "maker" | "isBuy" | "nonce">): Order {
  return {
    marketId: 1n,
    flags: 0n,
    maxFeeBps: 100n,
    expiry: 4_102_444_800n,
    priceTicks: 200_000n,
    lots: 10n,
    ...fields,
  };
}

/** The committed EIP-712 vectors (test/vectors/orders.json), with bigint order fields. */
export interface Vector {
  name: string;
  privateKey: Hex;
  domain: { chainId: bigint; verifyingContract: Address };
  domainSeparator: Hex;
  order: Order;
  structHash: Hex;
  digest: Hex;
  signature: Hex;
}

interface VectorFileEntry {
  name: string;
  privateKey: Hex;
  domain: { name: string; version: string; chainId: string; verifyingContract: Address };
  domainSeparator: Hex;
  order: Record<keyof Order, string | boolean>;
  structHash: Hex;
  digest: Hex;
  signature: Hex;
}

export const VECTOR_FILE = JSON.parse(readFileSync(join(__dirname, "..", "vectors", "orders.json"), "utf8")) as {
  typeString: string;
  typeHash: Hex;
  types: { Order: { name: string; type: string }[] };
  vectors: VectorFileEntry[];
};

export const VECTORS: Vector[] = VECTOR_FILE.vectors.map((v) => ({
  name: v.name,
  privateKey: v.privateKey,
  domain: { chainId: BigInt(v.domain.chainId), verifyingContract: v.domain.verifyingContract },
  domainSeparator: v.domainSeparator,
  order: {
    maker: v.order.maker as Address,
    marketId: BigInt(v.order.marketId as string),
    isBuy: v.order.isBuy as boolean,
    flags: BigInt(v.order.flags as string),
    maxFeeBps: BigInt(v.order.maxFeeBps as string),
    expiry: BigInt(v.order.expiry as string),
    nonce: BigInt(v.order.nonce as string),
    priceTicks: BigInt(v.order.priceTicks as string),
    lots: BigInt(v.order.lots as string),
  },
  structHash: v.structHash,
  digest: v.digest,
  signature: v.signature,
}));

export { ethers, hre };

/**
 * Settles `fills` of `orders` as a keeper would, without the keeper service: through viem with the
 * fixture keeper's node account, and returns the decoded outcome.
 */
export async function settleAsKeeper(env: SdkEnv, orders: SignedOrder[], fills: Fill[]) {
  const keeper = walletClient(env.keeper.address as Address);
  const hash = await keeper.writeContract({
    address: env.addresses.exchange,
    abi: exchangeAbi,
    functionName: "settle",
    args: settleArgs({ orders, fills }),
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  return { receipt, ...parseSettlementLogs({ logs: receipt.logs, exchange: env.addresses.exchange }) };
}
