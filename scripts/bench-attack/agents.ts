/**
 * The traders of `npm run bench:attack` (scripts/bench-attack.ts), each role in a process of its
 * own (so that an attacker's CPU is never the honest traders' event loop): the parent forks this
 * file with an IPC channel and the role, sends it one `AgentRequest` at a time, and gets one
 * `AgentReply` for each.
 *
 * - `honest`: market makers that quote post-only around the mid and replace their quotes each
 *   second (`CancelOrders`), and takers that send an IOC order each second that crosses them, each
 *   trader from a loopback address of its own (127.0.1.i, 127.0.2.j), as separate clients are. It
 *   measures each order's latency (submit to answer) and remembers each fill it took, with the
 *   time its answer came. Before the window, each maker signs one cancel-all with a clock running
 *   four minutes ahead, and hands it over: attacker (f) replays it.
 * - `attacker`: (a) orders from fresh, unfunded keys at full speed; (b) wash trades between two
 *   funded accounts at a fixed rate; (c) 10,000 orders that expire in one block (placed before the
 *   window); (d) feed connections and logins from one address up to its cap; (e) soft cancels with
 *   bad signatures, at full speed; (f) the honest cancel-all, replayed. Each from an address of its
 *   own (127.0.0.2 …), as separate clients would be. It counts the answers by code.
 *
 * Orders are signed natively (libsecp256k1 over the SDK's digest, `scripts/lib/bench.ts`).
 */
import { Agent, request } from "node:http";
import { randomBytes } from "node:crypto";
import { monitorEventLoopDelay } from "node:perf_hooks";
import WebSocket from "ws";
import { hashTypedData, type Address, type Hex } from "viem";
import {
  IMMEDIATE_OR_CANCEL,
  keeperMessageTypedData,
  POST_ONLY,
  sdkReady,
  type ExchangeDomainParameters,
  type Order,
} from "@crossbook/sdk";
import { addressOf, keyBytes, signDigest, signNative } from "../lib/bench";
import { yieldCpu } from "../lib/cpus";

export interface AgentInit {
  readonly op: "init";
  readonly url: string;
  readonly domain: { chainId: number; verifyingContract: Address };
  readonly marketId: string;
  readonly midTicks: string;
  /** Lots per order (the market's minimum notional is met by it). */
  readonly lots: string;
  /** Orders expire at this unix time (seconds) unless said otherwise. */
  readonly expiry: string;
  readonly makers: readonly Hex[];
  readonly takers: readonly Hex[];
  /** Attacker: the two washing accounts, and the accounts that rest 10,000 expiring orders. */
  readonly wash: readonly Hex[];
  readonly expiring: readonly Hex[];
  /** The first nonce of this run (runs on one chain must not reuse nonces). */
  readonly nonceBase: string;
}

export type AgentRequest =
  | AgentInit
  /** Honest: the makers' cancel-alls signed with a clock four minutes ahead (attacker f replays one). */
  | { readonly op: "capture" }
  /** Attacker: rests `count` orders that expire at `expiry`; resolves when they are all answered. */
  | { readonly op: "expiring"; readonly count: number; readonly expiry: string }
  | {
      readonly op: "run";
      readonly seconds: number;
      /** Attacker: which attacks run (letters a–f), the wash rate, the body to replay. */
      readonly attacks?: string;
      readonly washPerSecond?: number;
      readonly replay?: string;
    }
  | { readonly op: "exit" };

/** What an honest run measured. */
export interface HonestResult {
  /** Milliseconds from submit to answer, per honest order. */
  readonly orderLatencies: number[];
  /** When each of them was sent: milliseconds into the window (`orderLatencies`' order). */
  readonly orderSentAt: number[];
  /** Fills the takers took: id, and when the taker's answer came (unix ms). */
  readonly fills: { readonly fillId: number; readonly answeredAt: number }[];
  accepted: number;
  readonly refused: Record<string, number>;
  readonly cancelLatencies: number[];
  /**
   * Per honest order, milliseconds by stage of the keeper's `Server-Timing` answer (body, intake,
   * prepare, engine, reply, total), `client`: the latency seen here, and `outside`: it less the keeper's total
   * (the client, the network, the keeper's event loop before it read the request, the answer's write).
   */
  readonly orderStages: Record<string, number>[];
  /** This process's event-loop delay over the window (ms): how late it could have read an answer. */
  readonly eventLoopP99: number;
  readonly eventLoopMax: number;
}

/** What an attacker run did: requests sent and answers by code, per attack. */
export type AttackResult = Record<string, Record<string, number>>;

export type AgentReply =
  | { readonly op: "ready" }
  | { readonly op: "captured"; readonly bodies: string[] }
  | { readonly op: "placed"; readonly accepted: number; readonly answers: Record<string, number> }
  | { readonly op: "honest"; readonly result: HonestResult }
  | { readonly op: "attack"; readonly result: AttackResult }
  | { readonly op: "failed"; readonly message: string };

let cfg: AgentInit | undefined;
let domain: ExchangeDomainParameters;
let nonce = 0n;
const agents = new Map<string, Agent>();

function reply(message: AgentReply): void {
  process.send?.(message);
}

/** A keep-alive agent whose sockets leave from `localAddress` (another loopback address: another client). */
function agentFrom(localAddress: string): Agent {
  let agent = agents.get(localAddress);
  if (agent === undefined) {
    agent = new Agent({ keepAlive: true, maxSockets: 64, localAddress } as ConstructorParameters<typeof Agent>[0]);
    agents.set(localAddress, agent);
  }
  return agent;
}

/** One request; resolves with the status, the error code or `ok`, and the parsed body. Never rejects. */
function call(
  from: string,
  method: "GET" | "POST",
  path: string,
  body?: string,
): Promise<{
  status: number;
  code: string;
  json?: Record<string, unknown>;
  serverTiming?: string;
  /** Milliseconds from the call to: the request's last byte handed to the kernel, the answer's head, its end. */
  phases?: { sent: number; head: number; end: number; sentAt: number; headAt: number; newSocket: boolean };
}> {
  const url = new URL(path, (cfg as AgentInit).url);
  const start = performance.now();
  let sent = NaN;
  let head = NaN;
  let sentAt = NaN; // unix ms, as the keeper's arrival
  let headAt = NaN;
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        agent: agentFrom(from),
        headers:
          body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        head = performance.now() - start;
        headAt = Date.now();
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          let json: Record<string, unknown> | undefined;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
          } catch {
            json = undefined;
          }
          const code = status < 300 ? "ok" : ((json?.error as { code?: string } | undefined)?.code ?? `HTTP_${status}`);
          const timing = res.headers["server-timing"];
          const phases = { sent, head, end: performance.now() - start, sentAt, headAt, newSocket: !req.reusedSocket };
          resolve({ status, code, json, phases, ...(typeof timing === "string" ? { serverTiming: timing } : {}) });
        });
        res.on("error", () => resolve({ status: 0, code: "socket" }));
      },
    );
    req.on("finish", () => {
      sent = performance.now() - start;
      sentAt = Date.now();
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ status: 0, code: e.code ?? "error" }));
    req.end(body);
  });
}

const count = (into: Record<string, number>, code: string) => (into[code] = (into[code] ?? 0) + 1);

const json = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

function order(key: Hex, fields: Partial<Order> & Pick<Order, "isBuy" | "priceTicks">): { body: string; order: Order } {
  const c = cfg as AgentInit;
  const o: Order = {
    maker: addressOf(key),
    marketId: BigInt(c.marketId),
    flags: POST_ONLY,
    maxFeeBps: 10n,
    expiry: BigInt(c.expiry),
    nonce: nonce++,
    lots: BigInt(c.lots),
    ...fields,
  };
  return { body: json({ order: o, signature: signNative(o, keyBytes(key), domain) }), order: o };
}

/** A signed keeper message's body for `path`'s schema. */
function cancelOrdersBody(key: Hex, hashes: readonly Hex[], issuedAt = BigInt(Date.now())): string {
  const message = { maker: addressOf(key), orderHashes: hashes, issuedAt };
  const digest = hashTypedData(keeperMessageTypedData({ domain, primaryType: "CancelOrders", message }) as never);
  return json({ cancel: message, signature: signDigest(digest, keyBytes(key)) });
}

function cancelAllBody(key: Hex, issuedAt: bigint): string {
  const message = { maker: addressOf(key), marketId: 0n, issuedAt };
  const digest = hashTypedData(keeperMessageTypedData({ domain, primaryType: "CancelAll", message }) as never);
  return json({ cancelAll: message, signature: signDigest(digest, keyBytes(key)) });
}

/** `body;dur=0.4, intake;dur=12.0, …` → `{ body: 0.4, intake: 12, … }` (ms). */
function serverTimingOf(header: string): Record<string, number> {
  const stages: Record<string, number> = {};
  for (const part of header.split(",")) {
    const m = /^\s*([\w-]+);(?:dur=([\d.]+)|desc="([\d.]+)")\s*$/.exec(part);
    if (m !== null) stages[m[1] as string] = Number(m[2] ?? m[3]);
  }
  return stages;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ─── honest ───────────────────────────────────────────────────────────────────────────────────

async function honest(seconds: number): Promise<HonestResult> {
  const c = cfg as AgentInit;
  const mid = BigInt(c.midTicks);
  const result: HonestResult = {
    orderLatencies: [],
    orderSentAt: [],
    fills: [],
    accepted: 0,
    refused: {},
    cancelLatencies: [],
    orderStages: [],
    eventLoopP99: NaN,
    eventLoopMax: NaN,
  };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const end = Date.now() + seconds * 1000;
  const began = performance.now();
  // Each honest trader is a client of its own, with an address of its own, as traders are.
  const place = async (from: string, key: Hex, fields: Partial<Order> & Pick<Order, "isBuy" | "priceTicks">) => {
    const { body } = order(key, fields);
    const start = performance.now();
    const answer = await call(from, "POST", "/v1/orders", body);
    const latency = performance.now() - start;
    result.orderLatencies.push(latency);
    result.orderSentAt.push(start - began);
    if (answer.serverTiming !== undefined) {
      const stages = serverTimingOf(answer.serverTiming);
      stages.client = latency;
      stages.sinceStart = start - began; // when in the window it was sent
      // This process's own share: until the request was written, and from the answer's head to its end.
      if (answer.phases !== undefined) {
        stages.send = answer.phases.sent;
        stages.read = answer.phases.end - answer.phases.head;
        stages.newSocket = answer.phases.newSocket ? 1 : 0; // a connection opened for it (not kept alive)
        // By the wall clock (one host): until the keeper read the request, and after its answer was sent.
        if (stages.arrival !== undefined && stages.total !== undefined) {
          stages.toKeeper = stages.arrival - answer.phases.sentAt;
          stages.fromKeeper = answer.phases.headAt - (stages.arrival + stages.total);
          delete stages.arrival;
          // On a new connection, the keeper says the time from its accept to the arrival (`accept`):
          // the rest of toKeeper was spent before the keeper accepted the connection.
          if (stages.accept !== undefined) stages.beforeAccept = stages.toKeeper - stages.accept;
        }
      }
      if (stages.total !== undefined) stages.outside = latency - stages.total;
      result.orderStages.push(stages);
    }
    if (answer.code !== "ok") {
      count(result.refused, answer.code);
      return undefined;
    }
    result.accepted++;
    return answer.json as { hash: Hex; trades: { fillId: number }[] };
  };
  const maker = async (key: Hex, i: number) => {
    const from = `127.0.1.${i + 1}`;
    let previous: Hex[] = [];
    await sleep(i * 97);
    while (Date.now() < end) {
      const tick = Date.now();
      const placed = await Promise.all([
        place(from, key, { isBuy: true, priceTicks: mid - 1n - BigInt(i) }),
        place(from, key, { isBuy: true, priceTicks: mid - 5n - BigInt(i) }),
        place(from, key, { isBuy: false, priceTicks: mid + 1n + BigInt(i) }),
        place(from, key, { isBuy: false, priceTicks: mid + 5n + BigInt(i) }),
      ]);
      if (previous.length > 0) {
        const start = performance.now();
        const answer = await call(from, "POST", "/v1/cancels", cancelOrdersBody(key, previous));
        result.cancelLatencies.push(performance.now() - start);
        if (answer.code !== "ok") count(result.refused, `cancel:${answer.code}`);
      }
      previous = placed.flatMap((p) => (p === undefined ? [] : [p.hash]));
      await sleep(Math.max(0, 1000 - (Date.now() - tick)));
    }
  };
  const taker = async (key: Hex, j: number) => {
    const from = `127.0.2.${j + 1}`;
    await sleep(300 + j * 131);
    let buy = j % 2 === 0;
    while (Date.now() < end) {
      const tick = Date.now();
      const answered = await place(from, key, {
        isBuy: buy,
        priceTicks: buy ? mid + 20n : mid - 20n,
        flags: IMMEDIATE_OR_CANCEL,
        lots: 2n * BigInt(c.lots),
      });
      const at = Date.now();
      for (const t of answered?.trades ?? []) result.fills.push({ fillId: t.fillId, answeredAt: at });
      buy = !buy;
      await sleep(Math.max(0, 1000 - (Date.now() - tick)));
    }
  };
  await Promise.all([...c.makers.map(maker), ...c.takers.map(taker)]);
  loop.disable();
  return { ...result, eventLoopP99: loop.percentile(99) / 1e6, eventLoopMax: loop.max / 1e6 };
}

// ─── attacker ─────────────────────────────────────────────────────────────────────────────────

/** Runs `send` with `concurrency` in flight until `end`, counting answers. */
async function closedLoop(
  end: number,
  concurrency: number,
  send: () => Promise<{ code: string }>,
  answers: Record<string, number>,
) {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) count(answers, (await send()).code);
    }),
  );
}

/** Runs `send` `perSecond` times a second until `end` (open loop), counting answers. */
async function openLoop(
  end: number,
  perSecond: number,
  send: (i: number) => Promise<{ code: string }>,
  answers: Record<string, number>,
) {
  const start = Date.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; Date.now() < end; i++) {
    const due = start + (i * 1000) / perSecond;
    // Behind schedule, still yield a turn: a loop that never awaits would hold this process (every
    // other attack, and the answers it counts) until `end`, and then send its backlog after the window.
    if (due > Date.now()) await sleep(due - Date.now());
    else await new Promise((resolve) => setImmediate(resolve));
    const p = send(i).then((a) => void count(answers, a.code));
    inFlight.add(p);
    void p.then(() => inFlight.delete(p));
  }
  await Promise.all(inFlight);
}

async function attack(request: Extract<AgentRequest, { op: "run" }>): Promise<AttackResult> {
  const c = cfg as AgentInit;
  const mid = BigInt(c.midTicks);
  const end = Date.now() + request.seconds * 1000;
  const attacks = request.attacks ?? "abcdef";
  const result: AttackResult = {};
  const jobs: Promise<unknown>[] = [];
  if (attacks.includes("a")) {
    // (a) fresh keys with nothing deposited, signing valid orders, at full speed.
    const answers = (result["a: fresh keys, refused orders"] = {});
    jobs.push(
      closedLoop(
        end,
        16,
        () =>
          call(
            "127.0.0.2",
            "POST",
            "/v1/orders",
            order(`0x${randomBytes(32).toString("hex")}`, { isBuy: true, priceTicks: mid - 50n }).body,
          ),
        answers,
      ),
    );
  }
  if (attacks.includes("b")) {
    // (b) wash trades: one account rests an ask far above the honest quotes, the other takes it (IOC).
    const answers = (result["b: wash trades"] = {});
    const [seller, buyer] = c.wash as [Hex, Hex];
    const price = mid + 3_000n;
    jobs.push(
      openLoop(
        end,
        request.washPerSecond ?? 500,
        (i) =>
          call(
            "127.0.0.3",
            "POST",
            "/v1/orders",
            i % 2 === 0
              ? order(seller, { isBuy: false, priceTicks: price, flags: 0n }).body
              : order(buyer, { isBuy: true, priceTicks: price, flags: IMMEDIATE_OR_CANCEL }).body,
          ),
        answers,
      ),
    );
  }
  if (attacks.includes("d")) {
    // (d) feed connections from one address up to its cap (and past it), each on the book and the
    // trades; and login challenges from it as fast as they come.
    const answers = (result["d: feed connections and logins"] = {});
    jobs.push(
      (async () => {
        const sockets: WebSocket[] = [];
        const wsUrl = c.url.replace(/^http/, "ws") + "/v1/ws";
        for (let i = 0; i < 110 && Date.now() < end; i++) {
          const ws = new WebSocket(wsUrl, { localAddress: "127.0.0.5" });
          sockets.push(ws);
          const opened = await new Promise<string>((resolve) => {
            ws.once("open", () => resolve("open"));
            ws.once("close", (code) => resolve(`closed-${code}`));
            ws.once("error", () => resolve("error"));
          });
          count(answers, opened);
          if (opened === "open") {
            ws.on("close", (code) => count(answers, `closed-${code}`));
            ws.send(JSON.stringify({ op: "subscribe", channel: "book", marketId: c.marketId }));
            ws.send(JSON.stringify({ op: "subscribe", channel: "trades", marketId: c.marketId }));
          }
        }
        const login = sockets.find((s) => s.readyState === WebSocket.OPEN);
        login?.on("message", (data) => {
          const m = JSON.parse(data.toString()) as { type: string; code?: string };
          if (m.type === "challenge") count(answers, "login:challenge");
          else if (m.type === "error") count(answers, `login:${m.code}`);
        });
        while (Date.now() < end) {
          login?.send(JSON.stringify({ op: "challenge" }));
          await sleep(50);
        }
        for (const s of sockets) s.terminate();
      })(),
    );
  }
  if (attacks.includes("e")) {
    // (e) soft cancels naming the honest makers, with signatures that are nobody's, at full speed.
    const answers = (result["e: bad-signature cancels"] = {});
    jobs.push(
      closedLoop(
        end,
        8,
        () => {
          const maker = addressOf(c.makers[Math.floor(Math.random() * c.makers.length)] as Hex);
          const body = json({
            cancel: { maker, orderHashes: [`0x${randomBytes(32).toString("hex")}`], issuedAt: BigInt(Date.now()) },
            signature: `0x${randomBytes(65).toString("hex").slice(0, 128)}1b`,
          });
          return call("127.0.0.6", "POST", "/v1/cancels", body);
        },
        answers,
      ),
    );
  }
  if (attacks.includes("f") && request.replay !== undefined) {
    // (f) an honest maker's signed cancel-all, replayed.
    const answers = (result["f: replayed cancel-all"] = {});
    const body = request.replay;
    jobs.push(openLoop(end, 50, () => call("127.0.0.7", "POST", "/v1/cancels/all", body), answers));
  }
  await Promise.all(jobs);
  return result;
}

/** (c) `count` post-only asks far from the mid over the `expiring` accounts, all expiring at `expiry`. */
async function restExpiring(total: number, expiry: bigint): Promise<Extract<AgentReply, { op: "placed" }>> {
  const c = cfg as AgentInit;
  const mid = BigInt(c.midTicks);
  const answers: Record<string, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < total) {
        const i = next++;
        const key = c.expiring[i % c.expiring.length] as Hex;
        const body = order(key, { isBuy: false, priceTicks: mid + 10_000n + BigInt(i % 500), expiry }).body;
        count(answers, (await call("127.0.0.4", "POST", "/v1/orders", body)).code);
      }
    }),
  );
  return { op: "placed", accepted: answers.ok ?? 0, answers };
}

process.on("message", (message: AgentRequest) => {
  const run = async (): Promise<AgentReply | undefined> => {
    switch (message.op) {
      case "init":
        await sdkReady();
        cfg = message;
        domain = message.domain;
        nonce = BigInt(message.nonceBase);
        return { op: "ready" };
      case "capture":
        return {
          op: "captured",
          bodies: (cfg as AgentInit).makers.map((key) => cancelAllBody(key, BigInt(Date.now() + 240_000))),
        };
      case "expiring":
        return restExpiring(message.count, BigInt(message.expiry));
      case "run":
        return process.argv[2] === "attacker"
          ? { op: "attack", result: await attack(message) }
          : { op: "honest", result: await honest(message.seconds) };
      case "exit":
        for (const agent of agents.values()) agent.destroy();
        process.exit(0);
    }
  };
  run()
    .then((answer) => answer !== undefined && reply(answer))
    .catch((error: unknown) => reply({ op: "failed", message: String((error as Error).stack ?? error) }));
});
// An attacker that stands for clients on other machines lets the node and the honest traders, which
// share its cores, go first (the parent's BENCH_ATTACK_ATTACKER_NICE; 0: no lower than theirs).
const niceness = Number(process.argv[3] ?? "0");
if (niceness > 0) yieldCpu(niceness);
// The parent owns this process: if it goes, so does this one.
process.on("disconnect", () => process.exit(0));
