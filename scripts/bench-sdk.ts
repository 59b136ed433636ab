/**
 * `npm run bench:sdk`: the SDK's two performance targets, measured side by side in one run.
 *
 *   hashOrder  vs viem's generic hashTypedData(orderTypedData(…))  on the same orders: ≥ 20× the throughput
 *   signOrder  vs account.sign({ hash }) of the precomputed digest, same orders, same local account: ≤ 10% slower
 *
 * Each round times every method over the same orders, interleaved in small chunks so that a busy
 * machine slows them alike; the first round warms up and is not counted. Reports the median of the rounds and the ratios. A benchmark, not a
 * test: on a busy machine the figures move, so it prints verdicts but never fails.
 *
 * Measures after `sdkReady()`, so that hashOrder runs on hash-wasm's WebAssembly keccak256. Also
 * shown, for information: hashOrder without WebAssembly (keccak256 from viem, i.e. @noble/hashes),
 * the path it takes before `sdkReady()` resolves and where a Content-Security-Policy forbids WebAssembly.
 */
import { hashTypedData, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hashOrder, orderTypedData, sdkReady, signOrder, type Order } from "@crossbook/sdk";
import { setKeccakFallback, usesWebAssembly } from "@crossbook/sdk/hashing";

const ROUNDS = 9;
const HASH_ORDERS = 2_000;
const SIGN_ORDERS = 300;

const domain = { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address };
// Hardhat's first development key: a throwaway, never to hold funds.
const account = privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");

/** Varied orders: every field changes from one order to the next. */
function makeOrders(count: number): Order[] {
  return Array.from({ length: count }, (_, i) => ({
    maker: account.address,
    marketId: BigInt(1 + (i % 7)),
    isBuy: i % 2 === 0,
    flags: BigInt(i % 4),
    maxFeeBps: BigInt(i % 50),
    expiry: 4_102_444_800n + BigInt(i),
    nonce: BigInt(i) * 7919n,
    priceTicks: 183_450n + BigInt(i * 13),
    lots: 1n + BigInt(i % 1000),
  }));
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Times each method over the same `count` orders per round, interleaved in chunks of `chunk`
 * orders (method A on orders 0-9, B on 0-9, A on 10-19, …, alternating which goes first), so that
 * a busy machine slows both alike. Returns each method's total ms per round.
 */
async function measure(
  count: number,
  chunk: number,
  methods: Record<string, (from: number, to: number) => Promise<void> | void>,
): Promise<Record<string, number[]>> {
  const names = Object.keys(methods);
  const times: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round <= ROUNDS; round++) {
    const totals: Record<string, number> = Object.fromEntries(names.map((name) => [name, 0]));
    for (let from = 0, turn = 0; from < count; from += chunk, turn++) {
      const to = Math.min(count, from + chunk);
      for (const name of turn % 2 === 0 ? names : [...names].reverse()) {
        const start = performance.now();
        await methods[name](from, to);
        totals[name] += performance.now() - start;
      }
    }
    if (round > 0) for (const name of names) times[name].push(totals[name]); // round 0 warms up
  }
  return times;
}

/** One line of the report: a method's median time per operation and throughput. */
function row(name: string, ms: number, count: number, note = ""): string {
  const perOp = `${((ms * 1000) / count).toFixed(2)} µs/op`;
  const perSecond = `${Math.round((count * 1000) / ms).toLocaleString("en-US")} op/s`;
  return `  ${name.padEnd(26)} ${perOp.padStart(13)} ${perSecond.padStart(13)}${note === "" ? "" : `   (${note})`}`;
}
const verdict = (met: boolean) => (met ? "met" : "MISSED");

async function main() {
  await sdkReady();
  if (!usesWebAssembly()) console.log("WebAssembly unavailable: hashOrder runs on viem's keccak256 throughout.");
  console.log(`Node ${process.version}; ${ROUNDS} rounds after one warm-up; medians.\n`);

  const hashOrders = makeOrders(HASH_ORDERS);
  let sink = "";
  const hashTimes = await measure(HASH_ORDERS, 100, {
    hashOrder: (from, to) => {
      for (let i = from; i < to; i++) sink = hashOrder({ order: hashOrders[i], domain });
    },
    hashTypedData: (from, to) => {
      for (let i = from; i < to; i++) sink = hashTypedData(orderTypedData({ order: hashOrders[i], domain }));
    },
    "hashOrder (no WebAssembly)": (from, to) => {
      setKeccakFallback(true);
      try {
        for (let i = from; i < to; i++) sink = hashOrder({ order: hashOrders[i], domain });
      } finally {
        setKeccakFallback(false);
      }
    },
  });
  const fast = median(hashTimes.hashOrder);
  const generic = median(hashTimes.hashTypedData);
  const noWasm = median(hashTimes["hashOrder (no WebAssembly)"]);
  console.log(`hashing ${HASH_ORDERS} orders per round`);
  console.log(row("hashOrder", fast, HASH_ORDERS));
  console.log(row("viem hashTypedData", generic, HASH_ORDERS));
  console.log(row("hashOrder, no WebAssembly", noWasm, HASH_ORDERS, `${(generic / noWasm).toFixed(1)}× hashTypedData`));
  const speedup = generic / fast;
  console.log(
    `  → hashOrder: ${speedup.toFixed(1)}× the throughput of hashTypedData (target ≥ 20×: ${verdict(speedup >= 20)})\n`,
  );

  const signOrders = makeOrders(SIGN_ORDERS);
  const digests: Hex[] = signOrders.map((order) => hashOrder({ order, domain }));
  const signTimes = await measure(SIGN_ORDERS, 10, {
    signOrder: async (from, to) => {
      for (let i = from; i < to; i++) sink = await signOrder({ signer: account, order: signOrders[i], domain });
    },
    "account.sign": async (from, to) => {
      for (let i = from; i < to; i++) sink = await account.sign({ hash: digests[i] });
    },
  });
  const sdk = median(signTimes.signOrder);
  const direct = median(signTimes["account.sign"]);
  console.log(`signing ${SIGN_ORDERS} orders per round with one local account`);
  console.log(row("signOrder", sdk, SIGN_ORDERS));
  console.log(row("account.sign({ hash })", direct, SIGN_ORDERS, "digest precomputed"));
  const overhead = (sdk / direct - 1) * 100;
  console.log(
    `  → signOrder: ${overhead.toFixed(1)}% slower than signing the digest (target ≤ 10%: ${verdict(overhead <= 10)})`,
  );
  if (sink === "") console.log(); // keeps the results alive
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
