/**
 * The parent's side of the load generator (./loadgen.ts), shared by `npm run bench:api` and
 * `npm run bench:cluster`: forking it, asking it one request at a time, and soft-cancelling every
 * account's orders between steps so that each step starts from an empty book.
 */
import { fork, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { keeperMessageTypedData } from "@crossbook/sdk";
import type { Deployment } from "../lib/market";
import { manage } from "../lib/processes";
import type { LoadgenReply, LoadgenRequest } from "./loadgen";

const ROOT = resolve(__dirname, "../..");

export interface Loadgen {
  ask(request: LoadgenRequest): Promise<LoadgenReply>;
  child: ChildProcess;
}

/** Forks the load generator (its own process group, killed with the others on any way out). */
export function startLoadgen(): Loadgen {
  const child = fork(join(ROOT, "scripts/bench-api/loadgen.ts"), [], {
    cwd: ROOT,
    detached: true,
    execArgv: ["-r", "ts-node/register/transpile-only"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  manage("load generator", child);
  let waiting: { ok: (r: LoadgenReply) => void; ko: (e: Error) => void } | undefined;
  child.on("message", (m: LoadgenReply) => {
    const w = waiting;
    waiting = undefined;
    if (m.op === "failed") w?.ko(new Error(`load generator: ${m.message}`));
    else w?.ok(m);
  });
  child.on("exit", (code) => waiting?.ko(new Error(`the load generator exited ${code}`)));
  return {
    child,
    ask: (request) =>
      new Promise((ok, ko) => {
        waiting = { ok, ko };
        child.send(request);
      }),
  };
}

/** Soft-cancels every order of every account in `keys` at `url` (`POST /v1/cancels/all`); the count cancelled. */
export async function cancelAll(url: string, deployment: Deployment, keys: readonly Hex[]): Promise<number> {
  const domain = { chainId: deployment.chainId, verifyingContract: deployment.exchange };
  const issuedAt = BigInt(Date.now());
  const counts = await Promise.all(
    keys.map(async (key) => {
      const account = privateKeyToAccount(key);
      const message = { maker: account.address, marketId: 0n, issuedAt };
      // viem types a uint32 as a number; the SDK's message has bigints, which viem encodes alike
      const typedData = keeperMessageTypedData({ domain, primaryType: "CancelAll", message });
      const signature = await account.signTypedData(
        typedData as unknown as Parameters<typeof account.signTypedData>[0],
      );
      const res = await fetch(`${url}/v1/cancels/all`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          cancelAll: { maker: account.address, marketId: "0", issuedAt: issuedAt.toString() },
          signature,
        }),
      });
      const body = (await res.json()) as { cancelled?: string[]; error?: { code: string; message: string } };
      if (res.status !== 200) {
        throw new Error(`cancel-all of ${account.address}: ${res.status} ${JSON.stringify(body.error)}`);
      }
      return body.cancelled?.length ?? 0;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}
