/**
 * What the benchmarks that drive a real keeper share: JSON-RPC to the node, funding trader accounts
 * on a local deployment (everything into the mempool at once, then a few blocks), native order
 * signing (libsecp256k1 over the SDK's digest: byte-identical to `signOrder`, some 20 times
 * faster), and medians and percentiles.
 */
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  parseAbi,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { exchangeAbi, getBalance, hashOrder, type ExchangeDomainParameters, type Order } from "@crossbook/sdk";
import type { Deployment, TokenSymbol } from "./market";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const secp256k1 = require("secp256k1") as {
  ecdsaSign(msg32: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
};

/** One JSON-RPC call; throws the node's error. */
export async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

const erc20Abi = parseAbi([
  "function mint(address to, uint256 amount)",
  "function approve(address spender, uint256 amount) returns (bool)",
]);

/** What `fundTraders` gives each account by default: 1,000 WETH, 10,000,000 USDC, 100 WBTC, all deposited. */
export const DEFAULT_FUNDING: readonly (readonly [TokenSymbol, bigint])[] = [
  ["WETH", 1_000n * 10n ** 18n],
  ["USDC", 10_000_000n * 10n ** 6n],
  ["WBTC", 100n * 10n ** 8n],
];

/**
 * Gives each account ETH, mints it the tokens and deposits them into the Exchange: every
 * transaction into the mempool at once (explicit nonces and gas), then blocks until it is empty —
 * far faster than one automined block per transaction. Checks the last account's balances.
 */
export async function fundTraders(
  nodeUrl: string,
  deployment: Deployment,
  keys: readonly Hex[],
  funding: readonly (readonly [TokenSymbol, bigint])[] = DEFAULT_FUNDING,
): Promise<void> {
  const chain = defineChain({
    id: deployment.chainId,
    name: "bench",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [nodeUrl] } },
  });
  const client = createPublicClient({ chain, transport: http(nodeUrl) }) as PublicClient;
  const amounts = funding.map(([symbol, amount]) => [deployment.tokens[symbol].address, amount] as const);
  await Promise.all(
    keys.map((k) => rpc(nodeUrl, "hardhat_setBalance", [privateKeyToAccount(k).address, "0x3635C9ADC5DEA00000"])),
  );
  await rpc(nodeUrl, "evm_setAutomine", [false]);
  const hashes: Hex[] = [];
  try {
    const fees = { gas: 200_000n, maxFeePerGas: 10n ** 11n, maxPriorityFeePerGas: 10n ** 9n };
    await Promise.all(
      keys.map(async (key) => {
        const account = privateKeyToAccount(key);
        const wallet = createWalletClient({ account, chain, transport: http(nodeUrl) });
        let nonce = 0;
        for (const [token, amount] of amounts) {
          for (const call of [
            { address: token, abi: erc20Abi, functionName: "mint", args: [account.address, amount] } as const,
            { address: token, abi: erc20Abi, functionName: "approve", args: [deployment.exchange, amount] } as const,
          ]) {
            hashes.push(await wallet.writeContract({ ...call, ...fees, nonce: nonce++ }));
          }
          hashes.push(
            await wallet.writeContract({
              address: deployment.exchange,
              abi: exchangeAbi,
              functionName: "deposit",
              args: [token, amount],
              ...fees,
              nonce: nonce++,
            }),
          );
        }
      }),
    );
    for (let i = 0; i < 200; i++) {
      await rpc(nodeUrl, "evm_mine");
      const pending = (await rpc(nodeUrl, "eth_getBlockByNumber", ["pending", false])) as { transactions: Hex[] };
      if (pending.transactions.length === 0) break;
    }
  } finally {
    await rpc(nodeUrl, "evm_setAutomine", [true]);
  }
  const receipts = await Promise.all(hashes.map((hash) => client.getTransactionReceipt({ hash })));
  const failed = receipts.filter((r) => r.status !== "success");
  if (failed.length > 0)
    throw new Error(`${failed.length} funding transactions failed, e.g. ${failed[0].transactionHash}`);
  const last = privateKeyToAccount(keys[keys.length - 1]).address;
  for (const [token, amount] of amounts) {
    const balance = await getBalance(client, { exchange: deployment.exchange, account: last, token });
    if (balance !== amount) throw new Error(`account ${last} has ${balance} of ${token} deposited, expected ${amount}`);
  }
}

/** A private key's bytes. */
export function keyBytes(key: Hex): Uint8Array {
  return Buffer.from(key.slice(2), "hex");
}

/** Signs `order` with libsecp256k1 over the SDK's digest (RFC 6979, low s): exactly `signOrder`'s signature. */
export function signNative(order: Order, key: Uint8Array, domain: ExchangeDomainParameters): Hex {
  return signDigest(hashOrder({ order, domain }), key);
}

/** Signs a 32-byte digest with libsecp256k1: `r ‖ s ‖ v` with `v` 27 or 28. */
export function signDigest(digest: Hex, key: Uint8Array): Hex {
  const { signature, recid } = secp256k1.ecdsaSign(Buffer.from(digest.slice(2), "hex"), key);
  return `0x${Buffer.from(signature).toString("hex")}${(27 + recid).toString(16)}` as Hex;
}

/** An address's checksummed form from a private key (viem). */
export function addressOf(key: Hex): Address {
  return privateKeyToAccount(key).address;
}

export function median(values: readonly number[]): number {
  const s = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The `p`th percentile of `values` (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
