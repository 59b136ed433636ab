/**
 * The messages between a `SignatureVerifierPool` and its worker threads. A request carries a batch
 * of prepared entries (digest ‖ r ‖ s ‖ v, `PREPARED_SIZE` bytes each) in one transferred buffer;
 * the answer carries one checksummed address per entry (undefined where nothing recovers), in
 * order, under the request's id — or one error message for the whole batch.
 */
import type { Address } from "viem";
import type { SigcheckBackend } from "./recover";

/** A batch to recover. */
export interface WorkerRequest {
  id: number;
  backend: SigcheckBackend;
  buffer: ArrayBuffer;
  count: number;
}

/** The answer to a batch. */
export type WorkerResponse = { id: number; signers: (Address | undefined)[] } | { id: number; error: string };

/** The first message a worker sends, once it can recover at full speed. */
export const READY = "sigcheck-worker-ready";
