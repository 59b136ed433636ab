/**
 * `npm run bench:shard`: what one shard leader spends on an order at saturation (issue 15: "a shard
 * spends no more CPU per order than one native signature recovery measured in the same run"). A
 * benchmark, not a test: it prints what it measured and exits 1 only if something is broken.
 *
 * Set-up (scripts/lib/cluster.ts; all torn down at the end or on any failure or signal): an
 * embedded PostgreSQL, a Hardhat node with the local market, and ONE shard (`a`, market 1) with a
 * leader and no follower (`BENCH_SHARD_FOLLOWER=1` adds one), no gateway. Traders are funded fresh,
 * as `bench:cluster` funds them.
 *
 * This process stands for the gateways: it opens the gateways' channel to the shard leader itself
 * (keeper/src/api/gatewayChannel.ts: a WebSocket at /internal/v1/gateway with the cluster secret)
 * and sends each order as the frame a gateway would (`POST /v1/orders`, the body as the trader sent
 * it, the `signer` the gateway would have recovered, the trader's address as `client`: one address
 * per account, so that no per-address budget of the shard binds), frames of one turn as one array
 * of at most 16 KiB. So the shard recovers nothing (its `crossbook_order_signers_total` by source
 * is read before and after each step to show it). Every order is post-only and rests (bids below
 * the feed's price, asks above, within the band), signed before its step starts: signing is not in
 * the measured window, and the frames are serialised before it too.
 *
 * A step keeps K frames in flight (a closed loop: each answer lets the next frame go) for
 * `BENCH_SHARD_SECONDS`, then waits for the last answers. Each round runs one step per K of
 * `BENCH_SHARD_IN_FLIGHT`, in an order that rotates from round to round. After each step every
 * account's orders are soft-cancelled (`POST /v1/cancels/all`, one frame per account on the channel), and the count must be
 * the step's accepted orders. Per step: orders accepted a second (from the first send to the last
 * answer), refusals by code, the answers' latency (p50, p99), and CPU per accepted order (user +
 * system from /proc/<pid>/stat, scripts/lib/cpu.ts) of the shard leader, of PostgreSQL's server
 * processes, and of this driver itself.
 *
 * Before the processes start and again after the last step, it times one native signature recovery
 * in this process (scripts/lib/recovery.ts, as `bench:cluster` does): the target's unit. The table
 * gives medians over the rounds; "per shard core" is 1 s ÷ the shard's CPU an order, what one core
 * of a shard leader would take if the shard had it to itself.
 *
 * Options (environment): BENCH_SHARD_ROUNDS (default 3), BENCH_SHARD_SECONDS (default 4),
 * BENCH_SHARD_IN_FLIGHT (comma-separated K, default 64,512,4096), BENCH_SHARD_ACCOUNTS (default
 * 1024), BENCH_SHARD_FOLLOWER (0 or 1, default 0), BENCH_SHARD_CPU_PROF=<dir> (a V8 CPU profile of
 * the shard's keepers there, written when they stop; at the end the bench prints the leader's self
 * time over the measured steps only, and writes their windows beside its profile, for
 * `scripts/bench-api/profile-summary.ts <profile> <top> <windows.json>`). BENCH_SHARD_PERF=<dir>: Linux
 * `perf` records the shard leader over the measured rounds (every thread, user and kernel, at
 * BENCH_SHARD_PERF_HZ samples a CPU second, default 499; and every system call it makes), its node
 * started with V8's perf map (scripts/lib/perf.ts). At the end the bench prints the leader's on-CPU
 * time an accepted order over the measured steps only, by heading, by layer (JS, V8 and Node native,
 * kernel), the kernel's part by what it did, and its system calls an order by descriptor; the
 * recording, the map and the windows stay in <dir> for `scripts/bench-shard/perf-summary.ts`. A V8
 * profile samples wall time; `perf` samples the CPU only. BENCH_SHARD_ALLOC=1: what the shard
 * leader's JS heap allocates over each measured step, measured inside it (scripts/lib/allocation.ts:
 * bytes from V8's heap statistics at each garbage collection, where from V8's sampling heap
 * profile), printed per step, and over 3 s with no order after the warm-up (what its timers
 * allocate a second); at the end, bytes an accepted order over the measured steps, garbage
 * collections and their time an order, bytes an order and a second fitted over the steps (the
 * figure to compare between runs at different rates: bytes over orders alone grow as the rate
 * falls), and the largest allocation sites by allocating function and by the first keeper or SDK
 * frame above it. BENCH_SHARD_ALLOC=<dir>: the same, and the windows are
 * kept there (`shard-leader.allocation.jsonl`, one per measured step with its orders) for
 * `scripts/bench-shard/allocation-summary.ts`. The
 * leader runs with the probe loaded, so its CPU figures in such a run carry the probe's cost
 * (sampling, and the GC profiler's statistics at each collection): compare CPU between runs without it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import WebSocket from "ws";
import { hashTypedData, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { POST_ONLY, keeperMessageTypedData, sdkReady, type ExchangeDomainParameters, type Order } from "@crossbook/sdk";
import { CLUSTER_SECRET_HEADER, GATEWAY_CHANNEL_PATH, type ForwardedAnswer } from "../keeper/src/api/gatewayChannel";
import { CHANNEL_MESSAGE_BYTES } from "../keeper/src/cluster/shardLinks";
import {
  envWhole,
  fmtWhole as fmt,
  fundTraders,
  keyBytes,
  loadAverage,
  median,
  percentile,
  rpc,
  signDigest,
  signNative,
} from "./lib/bench";
import { cpuOf, cpuSeconds, postgresPids } from "./lib/cpu";
import { startCluster, type LocalCluster } from "./lib/cluster";
import { stopAll } from "./lib/processes";
import {
  PerfRecording,
  describeDescriptors,
  keepLatestOfPerfMap,
  keepPerfMap,
  perfNodeArgs,
  perfSummaryLines,
  summarisePerf,
} from "./lib/perf";
import { selfTimeLines, selfTimes, type ProfileWindow } from "./lib/profile";
import { Allocations, allocationNodeArgs, bytesFit, bytesLines, sumWindows, type ClosedWindow } from "./lib/allocation";
import { nativeRecoveryMicros } from "./lib/recovery";

const env = process.env;
const ROUNDS = envWhole("BENCH_SHARD_ROUNDS", 3);
const SECONDS = envWhole("BENCH_SHARD_SECONDS", 4);
const IN_FLIGHT = wholeList("BENCH_SHARD_IN_FLIGHT", [64, 512, 4096]);
const ACCOUNTS = envWhole("BENCH_SHARD_ACCOUNTS", 1024);
const FOLLOWER = env.BENCH_SHARD_FOLLOWER === "1";
const CPU_PROF = env.BENCH_SHARD_CPU_PROF?.trim() || undefined;
const PERF = env.BENCH_SHARD_PERF?.trim() || undefined;
const PERF_HZ = envWhole("BENCH_SHARD_PERF_HZ", 499);
const ALLOC_OPTION = env.BENCH_SHARD_ALLOC?.trim() || undefined;
const ALLOC = ALLOC_OPTION !== undefined && ALLOC_OPTION !== "0";
/** Where the leader's windows are kept (`BENCH_SHARD_ALLOC=<dir>`), for `scripts/bench-shard/allocation-summary.ts`. */
const ALLOC_DIR = ALLOC && ALLOC_OPTION !== "1" ? resolve(ALLOC_OPTION as string) : undefined;
/** Bids and asks up to this many ticks from the feed price: well inside the band, and they never cross. */
const SPREAD = 2000;
const MAX_LOTS = 5;
/** Frames signed for a step whose K has no measured rate yet, and at least for any step. */
const FIRST_STEP_ORDERS = 30_000;
/** How long the leader's allocation is measured with no order (BENCH_SHARD_ALLOC), after the warm-up. */
const IDLE_SECONDS = 3;
/** How long a step waits for its last answers after the window. */
const DRAIN_MS = 60_000;

function wholeList(name: string, fallback: readonly number[]): readonly number[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const list = raw.split(",").map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new Error(`bench:shard: ${name} must be whole numbers > 0 separated by commas, got ${raw}`);
  }
  return list;
}

// ─── The orders, signed and serialised before a step ──────────────────────────────────────────

interface Trader {
  readonly address: Address;
  readonly key: Uint8Array;
  /** The address the frames give as the trader's (`client`): one per account. */
  readonly client: string;
  nonce: bigint;
}

/** Resting post-only orders of every trader in turn, as the frames a gateway would send. */
class Frames {
  private counter = 0;
  /** The next frame's id: ids never repeat on the channel. */
  private nextId = 1;

  constructor(
    private readonly traders: readonly Trader[],
    private readonly domain: ExchangeDomainParameters,
    private readonly market: { readonly id: bigint; readonly midTicks: bigint },
    private readonly expiry: bigint,
  ) {}

  /** `count` frames, signed and serialised; their ids run from `firstId` up. */
  make(count: number): { firstId: number; texts: string[] } {
    const firstId = this.nextId;
    const texts = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      const trader = this.traders[this.counter++ % this.traders.length];
      const isBuy = Math.random() < 0.5;
      const offset = 1n + BigInt(Math.floor(Math.random() * SPREAD));
      const order: Order = {
        maker: trader.address,
        marketId: this.market.id,
        isBuy,
        flags: POST_ONLY,
        maxFeeBps: 10n,
        expiry: this.expiry,
        nonce: trader.nonce++,
        priceTicks: isBuy ? this.market.midTicks - offset : this.market.midTicks + offset,
        lots: 1n + BigInt(Math.floor(Math.random() * MAX_LOTS)),
      };
      const signature = signNative(order, trader.key, this.domain);
      const body = `{"order":${JSON.stringify(order, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))},"signature":"${signature}"}`;
      texts[i] = this.frame("/v1/orders", trader, body, `"signer":"${trader.address}",`);
    }
    return { firstId, texts };
  }

  /** A signed soft cancel of all of every trader's orders (`POST /v1/cancels/all`), one frame each. */
  cancelAll(): { firstId: number; texts: string[] } {
    const firstId = this.nextId;
    const issuedAt = BigInt(Date.now());
    const texts = this.traders.map((trader) => {
      const message = { maker: trader.address, marketId: 0n, issuedAt };
      const typedData = keeperMessageTypedData({ domain: this.domain, primaryType: "CancelAll", message });
      const signature = signDigest(hashTypedData(typedData as Parameters<typeof hashTypedData>[0]), trader.key);
      const body = `{"cancelAll":{"maker":"${trader.address}","marketId":"0","issuedAt":"${issuedAt}"},"signature":"${signature}"}`;
      return this.frame("/v1/cancels/all", trader, body, "");
    });
    return { firstId, texts };
  }

  private frame(url: string, trader: Trader, body: string, extra: string): string {
    return (
      `{"id":${this.nextId++},"method":"POST","url":"${url}","headers":{"content-type":"application/json"},` +
      `"client":"${trader.client}",${extra}"body":${body}}`
    );
  }
}

// ─── The driver: K frames in flight on the gateways' channel ──────────────────────────────────

interface DriveResult {
  readonly sent: number;
  readonly accepted: number;
  /** Answers other than 201, by `error.code`. */
  readonly refused: Record<string, number>;
  /** Frames with no answer when the drain ended. */
  readonly unanswered: number;
  /** Whether the frames ran out before the window's end. */
  readonly ranOut: boolean;
  /** From the first send to the last answer. */
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  /** This process's CPU seconds over the step (user + system). */
  readonly driverCpu: number;
}

/** One WebSocket on the gateways' channel of a shard leader. */
class Channel {
  private onMessage: ((answers: ForwardedAnswer[]) => void) | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data: Buffer) => {
      const parsed = JSON.parse(data.toString("utf8")) as ForwardedAnswer | ForwardedAnswer[];
      this.onMessage?.(Array.isArray(parsed) ? parsed : [parsed]);
    });
  }

  static open(url: string, secret: string): Promise<Channel> {
    const socket = new WebSocket(`${url.replace(/^http/, "ws")}${GATEWAY_CHANNEL_PATH}`, {
      headers: { [CLUSTER_SECRET_HEADER]: secret },
      perMessageDeflate: false,
    });
    return new Promise((ok, ko) => {
      socket.once("open", () => ok(new Channel(socket)));
      socket.once("error", ko);
    });
  }

  /** Sends `texts` (frames whose ids run from `firstId`) with `inFlight` unanswered at most, for `seconds`. */
  drive(
    frames: { firstId: number; texts: readonly string[] },
    inFlight: number,
    seconds: number,
  ): Promise<DriveResult> {
    const { firstId, texts } = frames;
    const sentAt = new Float64Array(texts.length);
    const latencies: number[] = [];
    const refused: Record<string, number> = {};
    let next = 0;
    let open = 0;
    let accepted = 0;
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const end = start + seconds * 1000;
    let last = start;
    return new Promise((resolveStep) => {
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        clearTimeout(drainTimer);
        this.onMessage = undefined;
        const cpu = process.cpuUsage(cpuBefore);
        resolveStep({
          sent: next,
          accepted,
          refused,
          unanswered: open,
          ranOut: next === texts.length,
          seconds: (last - start) / 1000,
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          driverCpu: (cpu.user + cpu.system) / 1e6,
        });
      };
      /** Sends frames until `inFlight` are out, as arrays of at most CHANNEL_MESSAGE_BYTES. */
      const pump = () => {
        const now = performance.now();
        if (now >= end || next >= texts.length) {
          if (open === 0) finish();
          return;
        }
        const from = next;
        while (open < inFlight && next < texts.length) {
          sentAt[next++] = now;
          open++;
        }
        this.send(texts, from, next);
      };
      this.onMessage = (answers) => {
        const now = performance.now();
        last = now;
        for (const answer of answers) {
          open--;
          latencies.push(now - sentAt[answer.id - firstId]);
          if (answer.status === 201) accepted++;
          else {
            const code =
              (answer.body as { error?: { code?: string } } | undefined)?.error?.code ?? `HTTP_${answer.status}`;
            refused[code] = (refused[code] ?? 0) + 1;
          }
        }
        pump();
      };
      const drainTimer = setTimeout(finish, seconds * 1000 + DRAIN_MS);
      pump();
    });
  }

  /** Sends every frame of `frames` at once; resolves with their answers. */
  all(frames: { firstId: number; texts: readonly string[] }): Promise<ForwardedAnswer[]> {
    const answers: ForwardedAnswer[] = [];
    return new Promise((resolveAll) => {
      this.onMessage = (some) => {
        answers.push(...some);
        if (answers.length < frames.texts.length) return;
        this.onMessage = undefined;
        resolveAll(answers);
      };
      this.send(frames.texts, 0, frames.texts.length);
    });
  }

  /** Sends `texts[from..to)` as JSON arrays of at most CHANNEL_MESSAGE_BYTES (the shard's limit on a message). */
  private send(texts: readonly string[], from: number, to: number): void {
    let start = from;
    let bytes = 2;
    for (let i = from; i < to; i++) {
      if (i > start && bytes + texts[i].length + 1 > CHANNEL_MESSAGE_BYTES) {
        this.socket.send(`[${texts.slice(start, i).join(",")}]`);
        start = i;
        bytes = 2;
      }
      bytes += texts[i].length + 1;
    }
    if (to > start) this.socket.send(`[${texts.slice(start, to).join(",")}]`);
  }

  close(): void {
    this.socket.close();
  }
}

// ─── One step ─────────────────────────────────────────────────────────────────────────────────

interface Step {
  readonly inFlight: number;
  readonly drive: DriveResult;
  /** CPU seconds over the step. */
  readonly cpu: { readonly shard: number; readonly postgres: number };
  /** Order signers the shard learnt during the step, by source (`recovered` here, or a `gateway`'s). */
  readonly signers: Record<string, number>;
  /** What the leader's JS heap allocated over the step (BENCH_SHARD_ALLOC=1). */
  readonly allocated?: ClosedWindow;
}

/** The keeper's `crossbook_order_signers_total` by source. */
async function signersOf(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const m of text.matchAll(/^crossbook_order_signers_total\{source="([^"]*)"\} (\S+)$/gm))
    counts[m[1]] = Number(m[2]);
  return counts;
}

/** Soft-cancels every trader's orders over the channel (as a gateway's fan-out would); the count cancelled. */
async function cancelAllOver(channel: Channel, frames: Frames): Promise<number> {
  let cancelled = 0;
  for (const answer of await channel.all(frames.cancelAll())) {
    if (answer.status !== 200)
      throw new Error(`bench:shard: a cancel-all was answered ${answer.status} ${JSON.stringify(answer.body)}`);
    cancelled += (answer.body as { cancelled?: unknown[] }).cancelled?.length ?? 0;
  }
  return cancelled;
}

// ─── Main ─────────────────────────────────────────────────────────────────────────────────────

const us = (seconds: number, orders: number) => (orders === 0 ? NaN : (seconds * 1e6) / orders);
const counts = (c: Record<string, number>) =>
  Object.entries(c)
    .filter(([, n]) => n !== 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ") || "none";

async function main(): Promise<number> {
  const started = Date.now();
  const say = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}`);
  const dir = mkdtempSync(join(tmpdir(), "bench-shard-"));
  const loadBefore = loadAverage();
  say(
    `load average ${loadBefore}; ${ROUNDS} rounds × K = ${IN_FLIGHT.join(", ")} in flight × ${SECONDS} s, ` +
      `${ACCOUNTS} accounts; one shard leader, ${FOLLOWER ? "with a follower" : "no follower"}, no gateway`,
  );
  let cluster: LocalCluster | undefined;
  let channel: Channel | undefined;
  /** The measured steps' windows, for the shard leader's profile. */
  const windows: ProfileWindow[] = [];
  let profiled: string | undefined;
  /** `perf`'s recording of the shard leader over the measured steps, and what its summary needs. */
  let recording: PerfRecording | undefined;
  let perfRead: { pid: number; descriptors: Map<number, string>; perfCpu: number } | undefined;
  /** Orders accepted and the leader's CPU seconds (/proc) over the measured steps. */
  let measured: { orders: number; shardCpu: number } | undefined;
  let allocations: Allocations | undefined;
  try {
    if (PERF !== undefined) mkdirSync(resolve(PERF), { recursive: true });
    cluster = await startCluster({
      dir,
      shards: [{ name: "a", markets: [1n] }],
      gateways: 0,
      followers: FOLLOWER,
      cpuProfileDir: CPU_PROF === undefined ? undefined : resolve(CPU_PROF),
      shardNodeArgs: [
        ...(PERF === undefined ? [] : perfNodeArgs(resolve(PERF))),
        ...(ALLOC ? allocationNodeArgs() : []),
      ],
      // A process's errors (log level 50 and up) are shown: an answer INTERNAL names its cause there.
      echo: (name, line) => {
        if (/"level":(5|6)\d/.test(line) || /"level":40.*lease/.test(line)) console.error(`${name}: ${line}`);
      },
    });
    const { deployment, node } = cluster;
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.exchange };
    const recoverBefore = await nativeRecoveryMicros(domain);
    say(`native signature recovery in this process: ${recoverBefore.toFixed(1)} µs (median of 5 passes of 2,000)`);
    const leader = await cluster.leaderOf("a");
    const shardPid = leader.process.child.pid as number;
    if (CPU_PROF !== undefined) profiled = join(resolve(CPU_PROF), `${leader.name}.cpuprofile`);
    const pgPids = postgresPids(cluster.postgres.dir);
    say(`shard a's leader ${leader.url} (pid ${shardPid})`);
    if (ALLOC) allocations = new Allocations(shardPid);

    await rpc(node.url, "evm_setIntervalMining", [0]); // blocks only with transactions: the read cache stays warm
    const keys = Array.from({ length: ACCOUNTS }, () => generatePrivateKey());
    await fundTraders(node.url, deployment, keys);
    say(`${ACCOUNTS} traders funded and deposited`);
    const latest = (await rpc(node.url, "eth_getBlockByNumber", ["latest", false])) as { timestamp: Hex };
    await sdkReady();
    const traders: Trader[] = keys.map((key, i) => ({
      address: privateKeyToAccount(key).address,
      key: keyBytes(key),
      client: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      nonce: 1n,
    }));
    const market = deployment.markets[0];
    const frames = new Frames(
      traders,
      domain,
      { id: market.id, midTicks: market.initialPriceTicks },
      BigInt(latest.timestamp) + 86_400n,
    );
    channel = await Channel.open(leader.url, cluster.secret);

    /** The best rate seen for each K: how many frames its next step needs. */
    const bestRate = new Map<number, number>();
    const runStep = async (inFlight: number, measured: boolean): Promise<Step> => {
      const rate = bestRate.get(inFlight);
      const count = Math.max(FIRST_STEP_ORDERS, Math.ceil((rate ?? 0) * SECONDS * 1.5));
      const signStart = Date.now();
      const batch = frames.make(count);
      const signMs = Date.now() - signStart;
      const signersBefore = await signersOf(leader.url);
      if (measured) await allocations?.open();
      const before = { shard: cpuOf([shardPid]), postgres: cpuOf(pgPids) };
      const fromUs = monotonicUs();
      const drive = await (channel as Channel).drive(batch, inFlight, SECONDS);
      if (measured) windows.push({ fromUs, toUs: monotonicUs() });
      const cpu = { shard: cpuOf([shardPid]) - before.shard, postgres: cpuOf(pgPids) - before.postgres };
      const allocated = measured ? await allocations?.close() : undefined;
      const signersAfter = await signersOf(leader.url);
      const signers: Record<string, number> = {};
      for (const [k, n] of Object.entries(signersAfter)) signers[k] = n - (signersBefore[k] ?? 0);
      const cancelled = await cancelAllOver(channel as Channel, frames);
      if (cancelled !== drive.accepted) {
        throw new Error(
          `bench:shard: K ${inFlight}: ${drive.accepted} orders accepted but ${cancelled} cancelled afterwards`,
        );
      }
      const perSecond = drive.accepted / drive.seconds;
      bestRate.set(inFlight, Math.max(rate ?? 0, perSecond));
      say(
        `  K ${String(inFlight).padStart(5)}: ${fmt(drive.accepted)} accepted (${fmt(perSecond)}/s) of ${fmt(drive.sent)} sent` +
          ` (${fmt(count)} signed in ${fmt(signMs)} ms before)${drive.ranOut ? ", RAN OUT of frames" : ""}; ` +
          `p50 ${drive.p50.toFixed(1)} ms, p99 ${drive.p99.toFixed(1)} ms; CPU µs/order: shard ${fmt(us(cpu.shard, drive.accepted))}, ` +
          `postgres ${fmt(us(cpu.postgres, drive.accepted))}, driver ${fmt(us(drive.driverCpu, drive.accepted))}; ` +
          `refused: ${counts(drive.refused)}; unanswered ${drive.unanswered}; signers: ${counts(signers)}` +
          (allocated === undefined ? "" : `; heap: ${allocationLine([allocated], drive.accepted)}`),
      );
      return { inFlight, drive, cpu, signers, allocated };
    };

    // Warm-up, not counted: every account's first order fills the shard's per-block read cache.
    say("warm-up (not counted)");
    for (const k of IN_FLIGHT) await runStep(k, false);
    if (allocations !== undefined) {
      // What the leader allocates with no order to take: its timers' share of every step's bytes.
      await allocations.open();
      await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
      const idle = await allocations.close();
      say(
        `idle ${IDLE_SECONDS} s (no order): the leader's heap allocated ${fmt(idle.bytes / idle.seconds / 1024)} KiB/s`,
      );
      const { byOwnFrame } = sumWindows([idle]);
      console.log(
        bytesLines(
          "  by the first keeper or SDK frame, idle (bytes a second)",
          byOwnFrame,
          idle.sampledBytes,
          idle.seconds,
          8,
          "B/s",
        ).join("\n"),
      );
    }
    const steps: Step[] = [];
    if (PERF !== undefined) {
      const file = join(resolve(PERF), `${leader.name}.perf.data`);
      recording = await PerfRecording.start(shardPid, file, PERF_HZ);
      say(`perf records the shard leader (pid ${shardPid}) at ${PERF_HZ} Hz into ${file}`);
    }
    for (let round = 0; round < ROUNDS; round++) {
      say(`round ${round + 1} of ${ROUNDS}`);
      for (let i = 0; i < IN_FLIGHT.length; i++)
        steps.push(await runStep(IN_FLIGHT[(i + round) % IN_FLIGHT.length], true));
    }
    if (recording !== undefined) {
      const perfCpu = cpuSeconds(recording.child.pid as number);
      const ports = { PostgreSQL: cluster.postgres.port, "the channel's": Number(new URL(leader.url).port) };
      perfRead = { pid: shardPid, descriptors: describeDescriptors(shardPid, ports), perfCpu };
      await recording.stop();
      say(`perf stopped (it used ${perfCpu.toFixed(1)} s of CPU itself)`);
      measured = {
        orders: steps.reduce((n, s) => n + s.drive.accepted, 0),
        shardCpu: steps.reduce((n, s) => n + s.cpu.shard, 0),
      };
    }
    const recoverAfter = await nativeRecoveryMicros(domain);
    say(`native signature recovery in this process: ${recoverAfter.toFixed(1)} µs (after the steps)`);
    report(steps, (recoverBefore + recoverAfter) / 2, loadBefore);
    if (allocations !== undefined) reportAllocations(steps);
    const broken = steps.some((s) => s.drive.unanswered > 0);
    return broken ? 1 : 0;
  } finally {
    allocations?.dispose();
    await recording?.stop();
    channel?.close();
    await cluster?.stop();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    if (profiled !== undefined && windows.length > 0) summariseProfile(profiled, windows);
    if (recording !== undefined && perfRead !== undefined && measured !== undefined)
      await summarisePerfRecording(recording.file, windows, perfRead, measured);
  }
}

/** The shard leader's on-CPU time over the measured steps, from `perf`'s recording (its perf map and windows kept beside it). */
async function summarisePerfRecording(
  file: string,
  windows: readonly ProfileWindow[],
  read: { pid: number; descriptors: Map<number, string>; perfCpu: number },
  measured: { orders: number; shardCpu: number },
): Promise<void> {
  const windowsFile = file.replace(/\.perf\.data$/, ".windows.json");
  writeFileSync(windowsFile, JSON.stringify(windows));
  const descriptorsFile = file.replace(/\.perf\.data$/, ".descriptors.json");
  writeFileSync(descriptorsFile, JSON.stringify([...read.descriptors]));
  console.log(`\nperf: reading ${file} …`);
  // perf reads V8's map where V8 wrote it (its latest entries only); it is kept beside the recording afterwards.
  keepLatestOfPerfMap(read.pid);
  const summary = await summarisePerf(file, windows, read.descriptors);
  const map = keepPerfMap(read.pid, dirname(file));
  console.log(
    `the shard leader over the measured steps, on the CPU (perf, cpu-clock at ${PERF_HZ} Hz, every thread): ` +
      `${(summary.totalNs / 1e3 / measured.orders).toFixed(1)} µs an order sampled, ` +
      `${((measured.shardCpu * 1e6) / measured.orders).toFixed(1)} µs from /proc; perf itself used ${read.perfCpu.toFixed(1)} s of CPU`,
  );
  console.log(perfSummaryLines(summary, measured.orders).join("\n"));
  console.log(`V8's perf map: ${map ?? "missing (JS frames unnamed)"}`);
  console.log(
    `again: ts-node --transpile-only scripts/bench-shard/perf-summary.ts ${file} ${windowsFile} ${descriptorsFile} ${measured.orders}`,
  );
}

/** The shard leader's profile over the measured steps only (their windows written beside it). */
function summariseProfile(file: string, windows: readonly ProfileWindow[]): void {
  const windowsFile = file.replace(/\.cpuprofile$/, ".windows.json");
  writeFileSync(windowsFile, JSON.stringify(windows));
  const { total, byFunction, byFile } = selfTimes(file, windows);
  console.log(`\nthe shard leader's profile over the measured steps (${file}; windows in ${windowsFile}):`);
  console.log(selfTimeLines("self time by function", byFunction, total, 30).join("\n"));
  console.log(selfTimeLines("self time by file or package", byFile, total, 20).join("\n"));
}

/** Bytes an order allocated over `windows`, and their collections and collection time an order. */
function allocationLine(windows: readonly ClosedWindow[], orders: number): string {
  const sum = sumWindows(windows);
  const n = Object.values(sum.collections).reduce((a, b) => a + b, 0);
  return (
    `${fmt(sum.bytes / orders)} B/order allocated (sampled ${fmt(sum.sampledBytes / orders)}), ` +
    `${n} collections (${counts(sum.collections)}), ${(sum.collectionMicros / orders).toFixed(1)} µs/order collecting`
  );
}

/** The shard leader's allocation over all measured steps, and its largest sites. */
function reportAllocations(steps: readonly Step[]): void {
  const measuredSteps = steps.filter((s) => s.allocated !== undefined);
  const orders = measuredSteps.reduce((n, s) => n + s.drive.accepted, 0);
  const windows = measuredSteps.map((s) => s.allocated as ClosedWindow);
  const sum = sumWindows(windows);
  console.log(
    `\nthe shard leader's JS heap over the measured steps (${fmt(orders)} orders accepted): ${allocationLine(windows, orders)}`,
  );
  for (const k of IN_FLIGHT) {
    const mine = measuredSteps.filter((s) => s.inFlight === k);
    console.log(
      `  K ${String(k).padStart(5)}: median ${fmt(median(mine.map((s) => (s.allocated as ClosedWindow).bytes / s.drive.accepted)))} B/order`,
    );
  }
  const fit = bytesFit(
    measuredSteps.map((s) => ({
      bytes: (s.allocated as ClosedWindow).bytes,
      orders: s.drive.accepted,
      seconds: (s.allocated as ClosedWindow).seconds,
    })),
  );
  console.log(
    `  fit over the steps (bytes = a × orders + b × seconds): a = ${fmt(fit.perOrder)} B/order, ` +
      `b = ${fmt(fit.perSecond / 1024)} KiB/s (what the leader allocates with time, whatever its rate)`,
  );
  const sampled = `sampled, of ${fmt(sum.sampledBytes / orders)} B/order`;
  console.log(
    bytesLines(
      `by the first keeper or SDK frame on the stack (${sampled})`,
      sum.byOwnFrame,
      sum.sampledBytes,
      orders,
      25,
    ).join("\n"),
  );
  console.log(
    bytesLines(`by the first keeper or SDK file (${sampled})`, sum.byOwnFile, sum.sampledBytes, orders, 20).join("\n"),
  );
  console.log(bytesLines(`by allocating function (${sampled})`, sum.byFrame, sum.sampledBytes, orders, 25).join("\n"));
  console.log(
    bytesLines(`by site: own frame ← allocating function (${sampled})`, sum.bySite, sum.sampledBytes, orders, 40).join(
      "\n",
    ),
  );
  if (ALLOC_DIR !== undefined) {
    mkdirSync(ALLOC_DIR, { recursive: true });
    const kept = join(ALLOC_DIR, "shard-leader.allocation.jsonl");
    const lines = measuredSteps.map((s) =>
      JSON.stringify({ ...(s.allocated as ClosedWindow), orders: s.drive.accepted, inFlight: s.inFlight }),
    );
    writeFileSync(kept, `${lines.join("\n")}\n`);
    console.log(`again: ts-node --transpile-only scripts/bench-shard/allocation-summary.ts ${kept}`);
  }
}

/** Now on CLOCK_MONOTONIC in µs: the clock of a V8 profile's timestamps. */
const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

function report(steps: readonly Step[], recoverUs: number, loadBefore: string): void {
  const rows: string[][] = [
    [
      "K in flight",
      "accepted/s",
      "refused",
      "recovered",
      "p50 ms",
      "p99 ms",
      "shard µs",
      "shard cores",
      "postgres µs",
      "driver µs",
      "shard ÷ recovery",
      "per shard core/s",
    ],
  ];
  for (const k of IN_FLIGHT) {
    const mine = steps.filter((s) => s.inFlight === k);
    const m = (f: (s: Step) => number) => median(mine.map(f));
    const shardUs = m((s) => us(s.cpu.shard, s.drive.accepted));
    rows.push([
      String(k),
      fmt(m((s) => s.drive.accepted / s.drive.seconds)),
      fmt(mine.reduce((n, s) => n + Object.values(s.drive.refused).reduce((a, b) => a + b, 0), 0)),
      fmt(mine.reduce((n, s) => n + (s.signers.recovered ?? 0), 0)),
      m((s) => s.drive.p50).toFixed(1),
      m((s) => s.drive.p99).toFixed(1),
      fmt(shardUs),
      m((s) => s.cpu.shard / s.drive.seconds).toFixed(2),
      fmt(m((s) => us(s.cpu.postgres, s.drive.accepted))),
      fmt(m((s) => us(s.drive.driverCpu, s.drive.accepted))),
      (shardUs / recoverUs).toFixed(1),
      fmt(1e6 / shardUs),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  console.log(
    `\nbench:shard — one shard leader (${FOLLOWER ? "with a follower" : "no follower"}), driven on the gateways' channel; ` +
      `medians of ${ROUNDS} rounds of ${SECONDS} s (refused, recovered: totals over the rounds)`,
  );
  for (const r of rows)
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "));
  const best = median(
    steps.filter((s) => s.inFlight === IN_FLIGHT[IN_FLIGHT.length - 1]).map((s) => us(s.cpu.shard, s.drive.accepted)),
  );
  console.log(
    `native signature recovery: ${recoverUs.toFixed(1)} µs (mean of before and after)\n` +
      `target: shard CPU per order ≤ one native recovery at K ${IN_FLIGHT[IN_FLIGHT.length - 1]}: ${best.toFixed(1)} vs ` +
      `${recoverUs.toFixed(1)} µs (${(best / recoverUs).toFixed(1)} recoveries) — ${best <= recoverUs ? "MET" : "MISSED"}\n` +
      `load average (1/5/15 min): before ${loadBefore}, after ${loadAverage()}`,
  );
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench:shard: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
