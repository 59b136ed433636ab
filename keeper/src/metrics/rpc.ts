/**
 * Which node calls the keeper makes, and why: every JSON-RPC request through the keeper's client is
 * counted and timed by method (an `eth_call` by the function it calls) and by cause — the job that
 * asked for it, carried through its awaits by `withRpcCause` (an order's risk read, the block's sync
 * and its reads ahead, rechecks, settlement; anything else is `other`: the API's contract-signature
 * checks and logins). Exported as `crossbook_rpc_calls_total` and `crossbook_rpc_call_seconds_total`
 * (keeper/README.md, "Metrics"). The time of a call is from its request to its answer: a call
 * queued in a JSON-RPC batch or behind a busy node counts its wait.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { performance } from "node:perf_hooks";
import { toFunctionSelector, type AbiFunction, type Transport } from "viem";
import { exchangeAbi } from "@crossbook/sdk";

/** The job a node call is made for. */
export type RpcCause = "order" | "sync" | "read-ahead" | "recheck" | "settlement" | "other";

const causes = new AsyncLocalStorage<RpcCause>();

/** Runs `job` with its node calls (and those of everything it awaits) counted under `cause`. */
export function withRpcCause<T>(cause: RpcCause, job: () => T): T {
  return causes.run(cause, job);
}

/** One finished node call. */
export interface RpcCall {
  readonly method: string;
  readonly cause: RpcCause;
  readonly seconds: number;
}

const FUNCTION_NAMES = new Map<string, string>([
  // ERC-1271's, asked of contract wallets (orders, cancels, logins).
  ["0x1626ba7e", "isValidSignature"],
  ...exchangeAbi
    .filter((item): item is Extract<(typeof exchangeAbi)[number], { type: "function" }> => item.type === "function")
    .map((item) => [toFunctionSelector(item as AbiFunction), item.name] as [string, string]),
]);

/** `eth_call:getBalance` for a call of the Exchange's `getBalance`; the method itself otherwise. */
export function rpcMethodName(method: string, params: unknown): string {
  if (method !== "eth_call" || !Array.isArray(params)) return method;
  const data = (params[0] as { data?: string; input?: string } | undefined)?.data ?? params[0]?.input;
  if (typeof data !== "string") return method;
  const selector = data.slice(0, 10).toLowerCase();
  return `eth_call:${FUNCTION_NAMES.get(selector) ?? selector}`;
}

/** `transport`, with each request reported to `observe` when it settles (answered or failed). */
export function observedTransport(transport: Transport, observe: (call: RpcCall) => void): Transport {
  return (parameters) => {
    const inner = transport(parameters);
    const request: typeof inner.request = async (args, options) => {
      const cause = causes.getStore() ?? "other";
      const start = performance.now();
      try {
        return await inner.request(args, options);
      } finally {
        observe({
          method: rpcMethodName(args.method, args.params),
          cause,
          seconds: (performance.now() - start) / 1000,
        });
      }
    };
    return { ...inner, request };
  };
}
