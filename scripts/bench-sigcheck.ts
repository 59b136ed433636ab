/**
 * `npm run bench:sigcheck`: how fast the keeper can tell who signed an order, every way it could,
 * side by side in one run (the keeper API's target is ≥ 3,000 accepted orders per second on a
 * 2-core machine, and signature recovery is its bottleneck).
 *
 *   viem recoverTypedDataAddress   generic EIP-712 hashing + @noble/curves recovery
 *   SDK verifyOrderSignature       the SDK's fast digest + viem recoverAddress (offline client)
 *   pure JS, in-thread             recoverOrderSignerJs: SDK digest + noble + WebAssembly keccak
 *   native, in-thread              recoverOrderSignerNative: SDK digest + libsecp256k1
 *
 * Orders have random makers and fields, and are signed with viem local accounts before any timing.
 * Each round measures throughput (all orders submitted at once, recoveries per second) and
 * latency (one request at a time, submit to answer: p50 and p99). Round 1 warms up and is not
 * counted; the table shows medians over the other rounds. Every answer is checked against the
 * maker, so a fast wrong answer cannot win. A benchmark, not a test: figures move on a busy machine.
 *
 * Options (environment): SIGCHECK_ORDERS (default 1000), SIGCHECK_ROUNDS (default 3, plus warm-up),
 * SIGCHECK_LATENCY_SAMPLES (default 200).
 */
import { createClient, custom, isAddressEqual, recoverTypedDataAddress, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { orderTypedData, sdkReady, signOrder, verifyOrderSignature, type Order } from "@crossbook/sdk";
import {
  nativeAvailable,
  nativeLoadError,
  recoverOrderSignerJs,
  recoverOrderSignerNative,
} from "../keeper/src/sigcheck";

const ORDERS = Number(process.env.SIGCHECK_ORDERS ?? 1000);
const ROUNDS = Number(process.env.SIGCHECK_ROUNDS ?? 3);
const LATENCY_SAMPLES = Number(process.env.SIGCHECK_LATENCY_SAMPLES ?? 200);
const MAKERS = 100;

const domain = { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address };

/** A client that says "no code" to `eth_getCode`, so that `verifyOrderSignature` stays offline (as the keeper's risk check does). */
const offline = createClient({
  transport: custom({
    async request({ method }: { method: string }) {
      if (method === "eth_getCode") return "0x";
      throw new Error(`bench: unexpected ${method}`);
    },
  }),
});

const random = (bits: number) => BigInt(Math.floor(Math.random() * 2 ** Math.min(bits, 48)));

async function signedOrders(): Promise<{ order: Order; signature: Hex }[]> {
  const accounts = Array.from({ length: MAKERS }, () => privateKeyToAccount(generatePrivateKey()));
  return Promise.all(
    Array.from({ length: ORDERS }, async (_, i) => {
      const signer = accounts[i % MAKERS];
      const order: Order = {
        maker: signer.address,
        marketId: random(32),
        isBuy: Math.random() < 0.5,
        flags: random(2),
        maxFeeBps: random(16),
        expiry: 1_700_000_000n + random(30),
        nonce: random(64),
        priceTicks: 1n + random(40),
        lots: 1n + random(40),
      };
      return { order, signature: await signOrder({ signer, order, domain }) };
    }),
  );
}

type Recover = (order: Order, signature: Hex) => Promise<Address | boolean | undefined> | Address | undefined;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

function check(answer: Address | boolean | undefined, order: Order, method: string): void {
  const ok = typeof answer === "boolean" ? answer : answer !== undefined && isAddressEqual(answer, order.maker);
  if (!ok) throw new Error(`${method}: wrong answer for an order by ${order.maker}: ${String(answer)}`);
}

/** Recoveries per second with every order submitted at once (in-thread methods run one after another anyway). */
async function throughput(name: string, recover: Recover, orders: { order: Order; signature: Hex }[]) {
  const start = performance.now();
  const answers = await Promise.all(orders.map(({ order, signature }) => recover(order, signature)));
  const seconds = (performance.now() - start) / 1000;
  answers.forEach((answer, i) => check(answer, orders[i].order, name));
  return orders.length / seconds;
}

/** Milliseconds from submit to answer, one request at a time. */
async function latencies(name: string, recover: Recover, orders: { order: Order; signature: Hex }[]) {
  const samples: number[] = [];
  for (let i = 0; i < Math.min(LATENCY_SAMPLES, orders.length); i++) {
    const { order, signature } = orders[i];
    const start = performance.now();
    const answer = await recover(order, signature);
    samples.push(performance.now() - start);
    check(answer, order, name);
  }
  return samples;
}

async function main(): Promise<void> {
  const started = performance.now();
  await sdkReady();
  if (!nativeAvailable) console.log(`native secp256k1 did not load (${nativeLoadError?.message}): native rows skipped`);
  process.stdout.write(`signing ${ORDERS} orders by ${MAKERS} makers… `);
  const orders = await signedOrders();
  console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const methods: [string, Recover | undefined][] = [
    [
      "viem recoverTypedDataAddress",
      (order, signature) => recoverTypedDataAddress({ ...orderTypedData({ order, domain }), signature } as never),
    ],
    ["SDK verifyOrderSignature", (order, signature) => verifyOrderSignature(offline, { order, signature, domain })],
    ["pure JS, in-thread", (order, signature) => recoverOrderSignerJs(order, signature, domain)],
    [
      "native, in-thread",
      nativeAvailable ? (order, signature) => recoverOrderSignerNative(order, signature, domain) : undefined,
    ],
  ];

  const rates: Record<string, number[]> = {};
  const lat: Record<string, number[]> = {};
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, recover] of methods) {
      if (recover === undefined) continue;
      const rate = await throughput(name, recover, orders);
      const samples = await latencies(name, recover, orders);
      if (round === 0) continue; // warm-up
      (rates[name] ??= []).push(rate);
      (lat[name] ??= []).push(...samples);
    }
    console.log(`round ${round}${round === 0 ? " (warm-up)" : ""} done`);
  }

  const base = median(rates["viem recoverTypedDataAddress"]);
  console.log(
    `\n${ORDERS} orders, ${ROUNDS} rounds (medians), ${LATENCY_SAMPLES} sequential requests per round for latency\n`,
  );
  console.log("| method | recoveries/s | × viem | latency p50 | latency p99 |");
  console.log("|---|---:|---:|---:|---:|");
  for (const [name] of methods) {
    if (rates[name] === undefined) continue;
    const rate = median(rates[name]);
    console.log(
      `| ${name} | ${Math.round(rate).toLocaleString("en-US")} | ${(rate / base).toFixed(1)} | ` +
        `${(percentile(lat[name], 50) * 1000).toFixed(0)} µs | ${(percentile(lat[name], 99) * 1000).toFixed(0)} µs |`,
    );
  }
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
