/**
 * Benchmark of the matching engine (keeper/src/book): one market with about 10,000 resting
 * orders, then a stream of operations — 60% passive limit orders, 30% cancels of random live
 * orders, 10% orders that cross one to three price levels. Reports operations per second and
 * p50/p99/p99.9 latency per operation, each the median of several runs. Operations per second is
 * 1 / the mean of the per-operation latencies.
 *
 *   npm run bench:book
 *   BENCH_OPS=200000 BENCH_RUNS=3 BENCH_SEED=7 npm run bench:book
 *
 * The workload is generated from a seeded PRNG while the benchmark runs (cancels and crossing
 * orders depend on the book), so every run feeds the book the same operations; a checksum of
 * the fills shows it. Only the book call sits between the two clock reads of an operation.
 */
import { loadavg } from "node:os";
import {
  FILL_OR_KILL,
  IMMEDIATE_OR_CANCEL,
  OrderBook,
  POST_ONLY,
  type NewOrder,
  type PlaceResult,
} from "../keeper/src/book";

const OPS = Number(process.env.BENCH_OPS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SEED = Number(process.env.BENCH_SEED ?? 1);
const RESTING = Number(process.env.BENCH_RESTING ?? 10_000);
const ACCOUNTS = 100;
const MID = 1_000_000n;
/** Passive orders sit up to this many ticks behind the touch, most of them near it. */
const DEPTH_TICKS = 400;

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const us = (ns: number) => (ns / 1000).toFixed(2) + " µs";

/** mulberry32: a small, well-known 32-bit PRNG, good enough to shape a workload. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RunResult {
  opsPerSecond: number;
  wallOpsPerSecond: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  restingAtEnd: number;
  fills: number;
  checksum: string;
  mix: Record<string, number>;
  /** p50/p99/p99.9 of each kind of operation. */
  byKind: Record<Kind, Percentiles>;
}

type Kind = "passive" | "cancel" | "cross";
const KINDS: Kind[] = ["passive", "cancel", "cross"];
interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
}

function percentiles(sorted: Float64Array): Percentiles {
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99), p999: at(0.999) };
}

/** The ids of the orders resting in the book, with O(1) add, remove and random pick. */
class LiveSet {
  private readonly ids: string[] = [];
  private readonly where = new Map<string, number>();
  get size(): number {
    return this.ids.length;
  }
  add(id: string): void {
    this.where.set(id, this.ids.length);
    this.ids.push(id);
  }
  remove(id: string): void {
    const i = this.where.get(id);
    if (i === undefined) return;
    const last = this.ids.pop() as string;
    if (last !== id) {
      this.ids[i] = last;
      this.where.set(last, i);
    }
    this.where.delete(id);
  }
  pick(r: number): string {
    return this.ids[Math.floor(r * this.ids.length)];
  }
}

function run(runIndex: number): RunResult {
  const rand = prng(SEED);
  const book = new OrderBook();
  const live = new LiveSet();
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => "0x" + (i + 1).toString(16).padStart(40, "0"));
  let nextId = 0;
  const newId = () => "0x" + (nextId++).toString(16).padStart(64, "0");
  const account = () => accounts[Math.floor(rand() * ACCOUNTS)];
  const lots = () => BigInt(1 + Math.floor(rand() * 100));
  /** Ticks behind the touch, most near it. */
  const behind = () => BigInt(Math.floor(rand() * rand() * DEPTH_TICKS));

  const track = (id: string, result: PlaceResult) => {
    for (const f of result.fills) if (f.makerRemainingLots === 0n) live.remove(f.makerId);
    for (const o of result.selfTradeCancelled) live.remove(o.id);
    if (result.rested) live.add(id);
  };

  // Resting orders to start from, on both sides of MID; placed untimed.
  for (let i = 0; i < RESTING; i++) {
    const isBuy = i % 2 === 0;
    const priceTicks = isBuy ? MID - 1n - behind() : MID + 1n + behind();
    const order: NewOrder = { id: newId(), account: account(), isBuy, priceTicks, lots: lots(), flags: 0 };
    track(order.id, book.place(order));
  }

  const latencies = new Float64Array(OPS);
  const kinds = new Uint8Array(OPS); // index into KINDS
  const mix: Record<string, number> = { passive: 0, cancel: 0, cross: 0, rejected: 0 };
  let fills = 0;
  let filledLots = 0n;
  let hash = 0;
  const wallStart = process.hrtime.bigint();
  const progressEvery = Math.max(1, Math.floor(OPS / 4));

  for (let i = 0; i < OPS; i++) {
    const kind = rand();
    let t0: bigint;
    let t1: bigint;
    if (kind < 0.3 && live.size > 0) {
      mix.cancel++;
      kinds[i] = 1;
      const id = live.pick(rand());
      t0 = process.hrtime.bigint();
      book.cancel(id);
      t1 = process.hrtime.bigint();
      live.remove(id);
    } else {
      const isBuy = rand() < 0.5;
      let order: NewOrder;
      if (kind < 0.4) {
        mix.cross++;
        kinds[i] = 2;
        // A taker that reaches the k-th opposite level (k = 1..3) and takes part of it.
        const k = 1 + Math.floor(rand() * 3);
        const opposite = isBuy ? book.depth(k).asks : book.depth(k).bids;
        let size = 0n;
        for (let j = 0; j < opposite.length - 1; j++) size += opposite[j].lots;
        const last = opposite[opposite.length - 1];
        const priceTicks = last === undefined ? MID : last.priceTicks;
        size += last === undefined ? lots() : 1n + BigInt(Math.floor(rand() * Number(last.lots)));
        const f = rand();
        const flags = f < 0.6 ? 0 : f < 0.8 ? IMMEDIATE_OR_CANCEL : FILL_OR_KILL;
        order = { id: newId(), account: account(), isBuy, priceTicks, lots: size, flags };
      } else {
        mix.passive++;
        // A limit order that does not cross: behind the opposite touch.
        const touch = isBuy ? book.bestAsk() : book.bestBid();
        const priceTicks = touch === undefined ? MID : isBuy ? touch - 1n - behind() : touch + 1n + behind();
        const flags = rand() < 0.2 ? POST_ONLY : 0;
        order = { id: newId(), account: account(), isBuy, priceTicks, lots: lots(), flags };
      }
      t0 = process.hrtime.bigint();
      const result = book.place(order);
      t1 = process.hrtime.bigint();
      if (result.rejected !== undefined) mix.rejected++;
      track(order.id, result);
      for (const f of result.fills) {
        fills++;
        filledLots += f.lots;
        hash = (Math.imul(hash, 31) + Number(f.priceTicks % 65521n) + Number(f.lots)) | 0;
      }
    }
    latencies[i] = Number(t1 - t0);
    if ((i + 1) % progressEvery === 0) {
      console.log(`  run ${runIndex + 1}: ${fmt(i + 1)} operations, ${fmt(book.size)} orders resting`);
    }
  }
  const wallNs = Number(process.hrtime.bigint() - wallStart);

  let totalNs = 0;
  for (let i = 0; i < OPS; i++) totalNs += latencies[i];
  const byKind = {} as Record<Kind, Percentiles>;
  KINDS.forEach((kind, k) => {
    byKind[kind] = percentiles(latencies.filter((_, i) => kinds[i] === k).sort());
  });
  latencies.sort();
  return {
    opsPerSecond: (OPS * 1e9) / totalNs,
    wallOpsPerSecond: (OPS * 1e9) / wallNs,
    ...percentiles(latencies),
    max: latencies[OPS - 1],
    byKind,
    restingAtEnd: book.size,
    fills,
    checksum: `${fills}/${filledLots}/${hash >>> 0}`,
    mix,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

console.log(
  `book benchmark: ${fmt(RESTING)} resting orders to start, ${fmt(OPS)} operations per run, ${RUNS} runs, seed ${SEED}`,
);
// Other processes on the machine show up as latency outliers: say how busy it was.
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
console.log(`node ${process.version}, load average ${load()}`);
const results: RunResult[] = [];
for (let r = 0; r < RUNS; r++) {
  const res = run(r);
  results.push(res);
  console.log(
    `  run ${r + 1}: ${fmt(res.opsPerSecond)} ops/s (${fmt(res.wallOpsPerSecond)} with the generator); ` +
      `p50 ${us(res.p50)}, p99 ${us(res.p99)}, p99.9 ${us(res.p999)}, max ${us(res.max)}; ` +
      `${fmt(res.fills)} fills, ${fmt(res.restingAtEnd)} resting at end; mix ${JSON.stringify(res.mix)}`,
  );
}
const sameWork = results.every((res) => res.checksum === results[0].checksum);
const m = {
  opsPerSecond: median(results.map((r) => r.opsPerSecond)),
  p50: median(results.map((r) => r.p50)),
  p99: median(results.map((r) => r.p99)),
  p999: median(results.map((r) => r.p999)),
};
console.log(
  `median of ${RUNS} runs: ${fmt(m.opsPerSecond)} ops/s; p50 ${us(m.p50)}, p99 ${us(m.p99)}, p99.9 ${us(m.p999)}`,
);
for (const kind of KINDS) {
  const of = (q: keyof Percentiles) => us(median(results.map((r) => r.byKind[kind][q])));
  console.log(`  ${kind.padEnd(7)}: p50 ${of("p50")}, p99 ${of("p99")}, p99.9 ${of("p999")}`);
}
console.log(`load average at the end ${load()}`);
console.log(`same fills in every run: ${sameWork ? "yes" : "NO"} (${results[0].checksum})`);
const pass = m.opsPerSecond >= 500_000 && m.p99 <= 50_000;
console.log(`target (≥ 500,000 ops/s, p99 ≤ 50 µs): ${pass ? "met" : "NOT met"}`);
if (!sameWork) process.exitCode = 1;
