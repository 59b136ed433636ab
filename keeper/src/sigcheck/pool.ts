/**
 * `SignatureVerifierPool`: order-signer recovery off the main thread, so that the keeper's event
 * loop keeps serving HTTP while worker threads do the elliptic-curve work.
 *
 * What it promises:
 * - `recover(order, signature, domain)` resolves to exactly what `recoverOrderSigner` would give
 *   (the checksummed signer, or undefined), whatever the concurrency: answers are matched to
 *   requests by batch id and position, never by arrival order.
 * - Cheap per request: the main thread checks the signature's shape and computes the digest
 *   (WebAssembly keccak256, a few µs), appends 97 bytes to the current batch, and sends each batch
 *   once per event-loop turn (or when it is full) as one transferred buffer, split across the
 *   least-loaded threads. A worker never sees an object, only bytes, so no input can crash it.
 * - Garbage in gives `undefined` out (a malformed domain, the keeper's own configuration, rejects).
 * - `close()` ends every thread and rejects what is still pending; idle threads never keep the
 *   process alive.
 * - `threads: 0` recovers in the calling thread, through the same interface.
 *
 * The worker is worker.ts, started through a small JavaScript bootstrap (`eval: true`) that
 * registers ts-node first when this file itself runs as TypeScript (hardhat test, `ts-node
 * --transpile-only`), and loads worker.js directly after compilation.
 */
import { Worker } from "node:worker_threads";
import * as path from "node:path";
import type { Address, Hex } from "viem";
import type { ExchangeDomainParameters, Order } from "@crossbook/sdk";
import { READY, type WorkerRequest, type WorkerResponse } from "./protocol";
import {
  defaultBackend,
  nativeAvailable,
  nativeLoadError,
  prepareRecovery,
  PREPARED_SIZE,
  recoverPreparedJs,
  recoverPreparedNative,
  sigcheckReady,
  type SigcheckBackend,
} from "./recover";

/** Options of `SignatureVerifierPool.create`. */
export interface SignatureVerifierPoolOptions {
  /** Worker threads; 0 recovers in the calling thread. */
  threads: number;
  /** Which recovery to run: "native" (libsecp256k1) or "js" (@noble/curves). Default: native when it loads. */
  backend?: SigcheckBackend;
  /** Most entries sent in one message (default 256); a batch that fills up is sent at once. */
  maxBatch?: number;
}

type Settle = { resolve: (signer: Address | undefined) => void; reject: (error: Error) => void };

/** One thread, and the batches it has not answered yet. */
interface Thread {
  worker: Worker;
  outstanding: Map<number, Settle[]>;
  load: number; // entries sent and not yet answered
}

const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
if (workerData.register) require(workerData.register);
require(workerData.entry);
`;

/** Entries smaller than this are not split across threads: the message would cost more than the work. */
const MIN_SPLIT = 8;

export class SignatureVerifierPool {
  private readonly threads: Thread[] = [];
  private readonly maxBatch: number;
  /** The batch being filled: prepared entries, and who waits for each. */
  private batch: Uint8Array;
  private waiting: Settle[] = [];
  private flushScheduled = false;
  private nextId = 1;
  private closed = false;

  private constructor(
    readonly threadCount: number,
    readonly backend: SigcheckBackend,
    maxBatch: number,
  ) {
    this.maxBatch = maxBatch;
    this.batch = new Uint8Array(maxBatch * PREPARED_SIZE);
  }

  /** Starts the threads and resolves once each can recover (or rejects, having stopped them, if one cannot start). */
  static async create(options: SignatureVerifierPoolOptions): Promise<SignatureVerifierPool> {
    const { threads, backend = defaultBackend, maxBatch = 256 } = options;
    if (!Number.isInteger(threads) || threads < 0)
      throw new Error(`sigcheck pool: threads must be an integer ≥ 0, got ${threads}`);
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new Error(`sigcheck pool: maxBatch must be an integer ≥ 1, got ${maxBatch}`);
    if (backend !== "native" && backend !== "js") throw new Error(`sigcheck pool: unknown backend ${String(backend)}`);
    if (backend === "native" && !nativeAvailable) {
      throw new Error(`sigcheck pool: the native secp256k1 binding did not load (${nativeLoadError?.message})`);
    }
    const pool = new SignatureVerifierPool(threads, backend, maxBatch);
    await sigcheckReady();
    try {
      await Promise.all(Array.from({ length: threads }, () => pool.startThread()));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /**
   * The signer of `order` under `domain` recovered from `signature`, as `recoverOrderSigner` gives
   * it: a checksummed address, or undefined when no signer can be recovered. Rejects for a malformed
   * domain, and once the pool is closed.
   */
  recover(order: Order, signature: Hex, domain: ExchangeDomainParameters): Promise<Address | undefined> {
    if (this.closed) return Promise.reject(new Error("sigcheck pool: closed"));
    const offset = this.waiting.length * PREPARED_SIZE;
    try {
      if (!prepareRecovery(order, signature, domain, this.batch, offset)) return Promise.resolve(undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.threads.length === 0) {
      return this.backend === "native"
        ? Promise.resolve(recoverPreparedNative(this.batch, offset))
        : recoverPreparedJs(this.batch.slice(offset, offset + PREPARED_SIZE), 0);
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (this.waiting.length === this.maxBatch) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Ends every thread; whatever is still pending rejects. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new Error("sigcheck pool: closed");
    for (const settle of this.waiting) settle.reject(error);
    this.waiting = [];
    const threads = this.threads.splice(0);
    for (const thread of threads) this.failThread(thread, error);
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  /** Sends the current batch, split across the least-loaded threads. */
  private flush(): void {
    this.flushScheduled = false;
    const count = this.waiting.length;
    if (count === 0 || this.closed) return;
    const batch = this.batch;
    const waiting = this.waiting;
    this.batch = new Uint8Array(this.maxBatch * PREPARED_SIZE);
    this.waiting = [];
    if (this.threads.length === 0) {
      const error = new Error(
        "sigcheck pool: no worker thread is running (one died and its replacement has not started)",
      );
      for (const settle of waiting) settle.reject(error);
      return;
    }
    const targets = [...this.threads].sort((a, b) => a.load - b.load);
    const parts = Math.max(1, Math.min(targets.length, Math.floor(count / MIN_SPLIT)));
    const size = Math.ceil(count / parts);
    for (let p = 0, from = 0; from < count; p++, from += size) {
      const to = Math.min(count, from + size);
      this.send(targets[p], batch.slice(from * PREPARED_SIZE, to * PREPARED_SIZE), waiting.slice(from, to));
    }
  }

  private send(thread: Thread, entries: Uint8Array, settles: Settle[]): void {
    const id = this.nextId++;
    thread.outstanding.set(id, settles);
    if (thread.load === 0) thread.worker.ref();
    thread.load += settles.length;
    const request: WorkerRequest = {
      id,
      backend: this.backend,
      buffer: entries.buffer as ArrayBuffer,
      count: settles.length,
    };
    thread.worker.postMessage(request, [request.buffer]);
  }

  private startThread(): Promise<void> {
    const runningTypeScript = path.extname(__filename) === ".ts";
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      workerData: {
        entry: path.join(__dirname, runningTypeScript ? "worker.ts" : "worker.js"),
        register: runningTypeScript ? require.resolve("ts-node/register/transpile-only") : undefined,
      },
    });
    const thread: Thread = { worker, outstanding: new Map(), load: 0 };
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on("message", (message: WorkerResponse | typeof READY) => {
        if (message === READY) {
          ready = true;
          this.threads.push(thread);
          worker.unref();
          resolve();
        } else {
          this.answer(thread, message);
        }
      });
      const lost = (error: Error) => {
        if (!ready) return reject(new Error(`sigcheck pool: a worker failed to start: ${error.message}`));
        // A thread that dies takes its batches with it; the others carry on, and a new one replaces it.
        const index = this.threads.indexOf(thread);
        if (index < 0) return; // closed, or already replaced
        this.threads.splice(index, 1);
        this.failThread(thread, error);
        if (!this.closed) this.startThread().catch(() => undefined);
      };
      worker.on("error", lost);
      worker.on("exit", (code) => lost(new Error(`worker exited with code ${code}`)));
    });
  }

  private answer(thread: Thread, response: WorkerResponse): void {
    const settles = thread.outstanding.get(response.id);
    if (settles === undefined) return;
    thread.outstanding.delete(response.id);
    thread.load -= settles.length;
    if (thread.load === 0) thread.worker.unref();
    if ("error" in response) {
      const error = new Error(`sigcheck pool: a worker rejected a batch: ${response.error}`);
      for (const settle of settles) settle.reject(error);
    } else {
      for (let i = 0; i < settles.length; i++) settles[i].resolve(response.signers[i]);
    }
  }

  private failThread(thread: Thread, error: Error): void {
    for (const settles of thread.outstanding.values()) for (const settle of settles) settle.reject(error);
    thread.outstanding.clear();
    thread.load = 0;
  }
}
