/**
 * What the benchmarks that drive a real keeper share: JSON-RPC to the node, funding trader accounts
 * on a local deployment (everything into the mempool at once, then a few blocks), native order
 * signing (libsecp256k1 over the SDK's digest: byte-identical to `signOrder`, some 20 times
 * faster), medians and percentiles, and the environment options and load average they print.
 */
import { loadavg } from "node:os";
import {
  createPublicClient,
  defineChain,
  encodeFunctionData,
  http,
  keccak256,
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

/**
 * One JSON-RPC call; throws the node's error. A call that times out (`timeoutMs`, two minutes by
 * default: a loaded machine's node can take tens of seconds) or whose connection fails is sent
 * again, up to `attempts` times — so only idempotent calls (reads, signed raw transactions, dev
 * methods that set a value) belong here.
 */
export async function rpc(
  url: string,
  method: string,
  params: unknown[] = [],
  { timeoutMs = 120_000, attempts = 3 }: { timeoutMs?: number; attempts?: number } = {},
): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    let body: { result?: unknown; error?: { message: string } };
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      body = (await res.json()) as typeof body;
    } catch (error) {
      if (attempt >= attempts) throw new Error(`${method}: no answer after ${attempts} tries: ${String(error)}`);
      continue;
    }
    if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  }
}

/** Runs `task` over `items` with at most `limit` at a time, in order of start. */
async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
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
 * transaction signed here (explicit nonces, gas and fees) and sent raw into the mempool, a few
 * requests at a time, then blocks until it is empty — far faster than one automined block per
 * transaction, and robust on a loaded machine (long timeouts, few requests in flight). Checks every
 * receipt and the last account's balances.
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
  const client = createPublicClient({ chain, transport: http(nodeUrl, { timeout: 120_000 }) }) as PublicClient;
  const amounts = funding.map(([symbol, amount]) => [deployment.tokens[symbol].address, amount] as const);
  // Few requests in flight at once: hundreds at a time (one per transaction) is what made a loaded
  // node answer after viem's 10 s timeout and funding fail at load 17–18.
  const inFlight = 8;
  await eachLimited(keys, inFlight, async (k) => {
    await rpc(nodeUrl, "hardhat_setBalance", [privateKeyToAccount(k).address, "0x3635C9ADC5DEA00000"]);
  });
  // Signed here (explicit nonce, gas and fees: no node round trip per transaction), sent raw.
  const fees = { gas: 200_000n, maxFeePerGas: 10n ** 11n, maxPriorityFeePerGas: 10n ** 9n, type: "eip1559" } as const;
  const signed: Hex[] = [];
  for (const key of keys) {
    const account = privateKeyToAccount(key);
    let nonce = 0;
    const calls: { to: Address; data: Hex }[] = [];
    for (const [token, amount] of amounts) {
      calls.push(
        {
          to: token,
          data: encodeFunctionData({ abi: erc20Abi, functionName: "mint", args: [account.address, amount] }),
        },
        {
          to: token,
          data: encodeFunctionData({ abi: erc20Abi, functionName: "approve", args: [deployment.exchange, amount] }),
        },
        {
          to: deployment.exchange,
          data: encodeFunctionData({ abi: exchangeAbi, functionName: "deposit", args: [token, amount] }),
        },
      );
    }
    for (const call of calls) {
      signed.push(await account.signTransaction({ ...call, ...fees, chainId: deployment.chainId, nonce: nonce++ }));
    }
  }
  await rpc(nodeUrl, "evm_setAutomine", [false]);
  const hashes: Hex[] = [];
  try {
    await eachLimited(signed, inFlight, async (raw) => {
      hashes.push(keccak256(raw));
      try {
        await rpc(nodeUrl, "eth_sendRawTransaction", [raw]);
      } catch (error) {
        // Sent again after a timeout whose first try had landed: the node knows it already.
        if (!/already known|known transaction|nonce too low/i.test(String(error))) throw error;
      }
    });
    for (let i = 0; i < 200; i++) {
      await rpc(nodeUrl, "evm_mine");
      const pending = (await rpc(nodeUrl, "eth_getBlockByNumber", ["pending", false])) as { transactions: Hex[] };
      if (pending.transactions.length === 0) break;
    }
  } finally {
    await rpc(nodeUrl, "evm_setAutomine", [true]);
  }
  let failed = 0;
  let example: Hex | undefined;
  await eachLimited(hashes, inFlight, async (hash) => {
    const receipt = (await rpc(nodeUrl, "eth_getTransactionReceipt", [hash])) as { status: Hex } | null;
    if (receipt?.status !== "0x1") {
      failed++;
      example ??= hash;
    }
  });
  if (failed > 0) throw new Error(`${failed} funding transactions failed or were not mined, e.g. ${example}`);
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

/** The whole number > 0 in environment variable `name`, or `fallback` when it is unset or blank. */
export function envWhole(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a whole number > 0, got ${raw}`);
  return n;
}

/** The load average over 1, 5 and 15 minutes, as `1.2/0.8/0.5`. */
export const loadAverage = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join("/");

/** A number rounded to a whole, with thousands separators; `-` for NaN or an infinity. */
export const fmtWhole = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-");
