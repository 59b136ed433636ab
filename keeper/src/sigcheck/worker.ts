/**
 * The body of a `SignatureVerifierPool` worker thread: recovers signers from batches of prepared
 * entries (digest ‖ r ‖ s ‖ v, `PREPARED_SIZE` bytes each, in one transferred buffer) and answers
 * each batch with one array of checksummed addresses (undefined where nothing recovers), under the
 * batch's id. Never throws out of a message: a malformed request is answered with an `error`
 * string, so one bad message cannot take the thread down.
 *
 * Loaded by pool.ts through a small JavaScript bootstrap (see there), so that it runs as .ts under
 * ts-node and as .js after compilation.
 */
import { parentPort } from "node:worker_threads";
import type { Address } from "viem";
import { READY, type WorkerRequest, type WorkerResponse } from "./protocol";
import { PREPARED_SIZE, recoverPreparedJs, recoverPreparedNative, sigcheckReady } from "./recover";

async function recoverBatch(request: WorkerRequest): Promise<(Address | undefined)[]> {
  const { backend, buffer, count } = request;
  if (
    !(buffer instanceof ArrayBuffer) ||
    !Number.isInteger(count) ||
    count < 0 ||
    buffer.byteLength < count * PREPARED_SIZE
  ) {
    throw new Error(
      `malformed batch: ${count} entries in ${buffer instanceof ArrayBuffer ? buffer.byteLength : "no"} bytes`,
    );
  }
  const bytes = new Uint8Array(buffer);
  const signers: (Address | undefined)[] = new Array(count);
  if (backend === "native") {
    for (let i = 0; i < count; i++) signers[i] = recoverPreparedNative(bytes, i * PREPARED_SIZE);
  } else if (backend === "js") {
    for (let i = 0; i < count; i++) signers[i] = await recoverPreparedJs(bytes, i * PREPARED_SIZE);
  } else {
    throw new Error(`unknown backend ${String(backend)}`);
  }
  return signers;
}

const port = parentPort;
if (port !== null) {
  port.on("message", (request: WorkerRequest) => {
    const id = typeof request?.id === "number" ? request.id : -1;
    recoverBatch(request).then(
      (signers) => port.postMessage({ id, signers } satisfies WorkerResponse),
      (error: unknown) =>
        port.postMessage({
          id,
          error: error instanceof Error ? error.message : String(error),
        } satisfies WorkerResponse),
    );
  });
  void sigcheckReady().then(() => port.postMessage(READY));
}
