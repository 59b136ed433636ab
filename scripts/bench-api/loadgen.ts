/**
 * The load generator of `npm run bench:api` (scripts/bench-api.ts), run as its own process so that
 * its CPU is not the keeper's event loop: the parent forks it with an IPC channel and sends it one
 * `LoadgenRequest` at a time; it answers each with one `LoadgenReply`.
 *
 * A step signs its orders first (not timed), then submits them to `POST /v1/orders` over loopback
 * HTTP/1.1 keep-alive connections, either
 *
 * - open loop at `rate` orders per second: order i is due at `i / rate` seconds after the start and
 *   is sent then, whatever happened to the others; its latency is measured from when it was due,
 *   so a keeper that falls behind shows its queue in the latency (no coordinated omission); or
 * - closed loop (`rate` undefined): `concurrency` requests always in flight, for `seconds`.
 *
 * Signing. Each order is signed over the SDK's `hashOrder` digest with libsecp256k1's `ecdsaSign`
 * (RFC 6979, low s): about 20,000 a second instead of viem's ~1,000. Those signatures are
 * byte-identical to the SDK's `signOrder` with a viem local account — `init` checks that on one
 * order per account and refuses to run otherwise.
 */
import { Agent, request } from "node:http";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { POST_ONLY, sdkReady, signOrder, type ExchangeDomainParameters, type Order } from "@crossbook/sdk";
import { keyBytes, signNative } from "../lib/bench";

/** A market the orders go to, with the price they straddle. */
export interface LoadgenMarket {
  readonly marketId: string;
  /** The feed's price in ticks: bids rest below it, asks above. */
  readonly midTicks: string;
  /** Bids and asks are spread over this many ticks on each side (1..spread away from mid). */
  readonly spreadTicks: number;
}

export type LoadgenRequest =
  | {
      readonly op: "init";
      readonly url: string;
      readonly domain: { chainId: number; verifyingContract: Address };
      readonly keys: readonly Hex[];
      readonly markets: readonly LoadgenMarket[];
      /** Orders expire at this unix time (seconds). */
      readonly expiry: string;
      /** Lots per order: 1..maxLots. */
      readonly maxLots: number;
      /** Sockets to the keeper at most. */
      readonly maxSockets: number;
    }
  | {
      readonly op: "step";
      /** Another keeper to send this step's orders to (from now on); absent: the one of `init`. */
      readonly url?: string;
      /** Several entry points (gateways) to send this step's orders to, in turn, order by order. */
      readonly urls?: readonly string[];
      /** Orders per second (open loop); absent: closed loop with `concurrency` in flight. */
      readonly rate?: number;
      readonly seconds: number;
      readonly concurrency: number;
      /** Orders to sign for a closed-loop step (it stops early if they run out). */
      readonly maxOrders: number;
      /** How long to wait for the last answers after the sending window (ms). */
      readonly drainMs: number;
    }
  | { readonly op: "exit" };

/** What one step measured. Latencies in milliseconds. */
export interface StepResult {
  readonly offered: number;
  readonly sent: number;
  readonly accepted: number;
  /** Rejections by `error.code` (HTTP answers other than 201). */
  readonly rejected: Record<string, number>;
  /** Transport failures and answers that never came within the drain time. */
  readonly errors: Record<string, number>;
  /** Wall time from the first send to the last answer (or the drain's end), seconds. */
  readonly elapsedSeconds: number;
  /** Length of the sending window, seconds. */
  readonly windowSeconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Milliseconds the load generator took to sign the step's orders (not part of the timing). */
  readonly signMs: number;
  /** CPU the load generator used while sending (user + system), as a fraction of one core. */
  readonly loadgenCpu: number;
  /** The largest number of requests in flight at once. */
  readonly maxInFlight: number;
}

export type LoadgenReply =
  | { readonly op: "ready"; readonly accounts: readonly Address[]; readonly checked: number }
  | { readonly op: "result"; readonly result: StepResult }
  | { readonly op: "failed"; readonly message: string };

interface Signer {
  readonly address: Address;
  readonly key: Uint8Array;
  nonce: bigint;
}

let config: Extract<LoadgenRequest, { op: "init" }> | undefined;
let signers: Signer[] = [];
let agent: Agent | undefined;
/** Where orders go: order i to `targets[i % targets.length]`. */
let targets: URL[] = [];
let domain: ExchangeDomainParameters | undefined;
let counter = 0;

function send(reply: LoadgenReply): void {
  process.send?.(reply);
}

/** The next order of the round-robin: account, market, side and price vary; every nonce is new. */
function nextOrder(): { order: Order; signer: Signer } {
  const cfg = config as NonNullable<typeof config>;
  const i = counter++;
  const signer = signers[i % signers.length];
  const market = cfg.markets[Math.floor(i / signers.length) % cfg.markets.length];
  const isBuy = Math.random() < 0.5;
  const offset = 1n + BigInt(Math.floor(Math.random() * market.spreadTicks));
  const mid = BigInt(market.midTicks);
  const order: Order = {
    maker: signer.address,
    marketId: BigInt(market.marketId),
    isBuy,
    flags: POST_ONLY,
    maxFeeBps: 10n,
    expiry: BigInt(cfg.expiry),
    nonce: signer.nonce++,
    priceTicks: isBuy ? mid - offset : mid + offset,
    lots: 1n + BigInt(Math.floor(Math.random() * cfg.maxLots)),
  };
  return { order, signer };
}

const sign = (order: Order, key: Uint8Array): Hex => signNative(order, key, domain as ExchangeDomainParameters);

const stringify = (order: Order) =>
  JSON.stringify(order, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

/** `count` signed request bodies. */
function signBodies(count: number): string[] {
  const bodies: string[] = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const { order, signer } = nextOrder();
    bodies[i] = `{"order":${stringify(order)},"signature":"${sign(order, signer.key)}"}`;
  }
  return bodies;
}

async function init(request: Extract<LoadgenRequest, { op: "init" }>): Promise<void> {
  await sdkReady();
  config = request;
  domain = request.domain;
  targets = [new URL("/v1/orders", request.url)];
  agent = new Agent({ keepAlive: true, maxSockets: request.maxSockets, maxFreeSockets: request.maxSockets });
  signers = request.keys.map((key) => ({ address: privateKeyToAccount(key).address, key: keyBytes(key), nonce: 1n }));
  // The native signatures must be exactly the SDK's: check one order per account (nonce 0, never sent).
  let checked = 0;
  for (const [index, key] of request.keys.entries()) {
    const signer = signers[index];
    const order: Order = {
      maker: signer.address,
      marketId: BigInt(request.markets[0].marketId),
      isBuy: index % 2 === 0,
      flags: POST_ONLY,
      maxFeeBps: 10n,
      expiry: BigInt(request.expiry),
      nonce: 0n,
      priceTicks: BigInt(request.markets[0].midTicks),
      lots: 1n,
    };
    const expected = await signOrder({ signer: privateKeyToAccount(key), order, domain });
    const actual = sign(order, signer.key);
    if (actual !== expected) throw new Error(`native signature ${actual} differs from signOrder's ${expected}`);
    checked++;
  }
  send({ op: "ready", accounts: signers.map((s) => s.address), checked });
}

/** One POST; resolves with the status and the error code (if any), never rejects. */
function post(body: string, url: URL): Promise<{ status: number; code?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          if (status === 201) return resolve({ status });
          let code = `HTTP_${status}`;
          try {
            code = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { error: { code: string } }).error.code;
          } catch {
            /* keep the status */
          }
          resolve({ status, code });
        });
        res.on("error", (e) => resolve({ status: 0, error: e.message }));
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ status: 0, error: e.code ?? e.message }));
    req.end(body);
  });
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function step(request: Extract<LoadgenRequest, { op: "step" }>): Promise<StepResult> {
  if (request.url !== undefined) targets = [new URL("/v1/orders", request.url)];
  if (request.urls !== undefined) targets = request.urls.map((u) => new URL("/v1/orders", u));
  const openLoop = request.rate !== undefined;
  const count = openLoop ? Math.round((request.rate as number) * request.seconds) : request.maxOrders;
  const signStart = performance.now();
  const bodies = signBodies(count);
  const signMs = performance.now() - signStart;

  const latencies: number[] = [];
  const rejected: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let accepted = 0;
  let sent = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let lastAnswer = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();

  const fire = (body: string, due: number): Promise<void> => {
    sent++;
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    return post(body, targets[sent % targets.length]).then((r) => {
      inFlight--;
      lastAnswer = performance.now();
      latencies.push(lastAnswer - due);
      if (r.status === 201) accepted++;
      else if (r.code !== undefined) rejected[r.code] = (rejected[r.code] ?? 0) + 1;
      else errors[r.error ?? "unknown"] = (errors[r.error ?? "unknown"] ?? 0) + 1;
    });
  };

  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    pending.add(p);
    void p.then(() => pending.delete(p));
  };
  if (openLoop) {
    const interval = 1000 / (request.rate as number);
    await new Promise<void>((resolve) => {
      let next = 0;
      const tick = () => {
        const now = performance.now();
        while (next < count && start + next * interval <= now) {
          track(fire(bodies[next], start + next * interval));
          next++;
        }
        if (next >= count) return resolve();
        setTimeout(tick, Math.max(0, Math.min(1, start + next * interval - performance.now())));
      };
      tick();
    });
  } else {
    const end = start + request.seconds * 1000;
    let next = 0;
    const worker = async () => {
      while (next < bodies.length && performance.now() < end) {
        const body = bodies[next++];
        await fire(body, performance.now());
      }
    };
    await Promise.all(Array.from({ length: request.concurrency }, worker));
  }
  const windowEnd = performance.now();
  const drained = await Promise.race([
    Promise.all(pending).then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), request.drainMs).unref()),
  ]);
  if (!drained) {
    errors["no-answer-within-drain"] = pending.size;
    agent?.destroy(); // drop the stuck sockets; a fresh agent serves the next step
    agent = new Agent({ keepAlive: true, maxSockets: config?.maxSockets, maxFreeSockets: config?.maxSockets });
  }
  const cpu = process.cpuUsage(cpu0);
  const end = drained ? Math.max(lastAnswer, windowEnd) : performance.now();
  const sorted = Float64Array.from(latencies).sort();
  return {
    offered: openLoop ? (request.rate as number) : NaN,
    sent,
    accepted,
    rejected,
    errors,
    elapsedSeconds: (end - start) / 1000,
    windowSeconds: (windowEnd - start) / 1000,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1],
    signMs,
    loadgenCpu: (cpu.user + cpu.system) / 1000 / (end - start),
    maxInFlight,
  };
}

process.on("message", (message: LoadgenRequest) => {
  const run = async () => {
    if (message.op === "init") await init(message);
    else if (message.op === "step") send({ op: "result", result: await step(message) });
    else {
      agent?.destroy();
      process.exit(0);
    }
  };
  run().catch((error: unknown) => send({ op: "failed", message: String((error as Error).stack ?? error) }));
});
// The parent owns this process: if it goes, so does the load generator.
process.on("disconnect", () => process.exit(0));
