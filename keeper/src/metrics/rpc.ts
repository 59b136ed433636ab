/**
 * Which node calls the keeper makes, and why: every JSON-RPC request through the keeper's clients is
 * counted and timed by method (an `eth_call` by the function it calls) and by cause — the job that
 * asked for it: an order's risk read (`order`; a recheck of resting orders reads through the same
 * path and counts as one), the block's sync, its reads ahead, settlement; anything else is `other`
 * (the API's contract-signature checks and logins). The cause is carried explicitly: each job
 * calls through its own client (`causedTransports`: one transport, a wrapper a cause), never
 * through an `AsyncLocalStorage`, which on Node 20 turns on promise hooks for every promise of the
 * process. Exported as `crossbook_rpc_calls_total` and `crossbook_rpc_call_seconds_total`
 * (keeper/README.md, "Metrics"). The time of a call is from its request to its answer: a call
 * queued in a JSON-RPC batch or behind a busy node counts its wait.
 */
import { performance } from "node:perf_hooks";
import { toFunctionSelector, type AbiFunction, type Transport } from "viem";
import { exchangeAbi } from "@crossbook/sdk";

/** The job a node call is made for. */
export type RpcCause = "order" | "sync" | "read-ahead" | "settlement" | "other";

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

/**
 * `eth_call:getBalance` for a call of the Exchange's `getBalance`, `eth_call:multicall` for several
 * reads in one call (a call to no address: the keeper's only such calls are viem's deployless
 * multicalls); the method itself otherwise.
 */
export function rpcMethodName(method: string, params: unknown): string {
  if (method !== "eth_call" || !Array.isArray(params)) return method;
  const call = params[0] as { to?: string | null; data?: string; input?: string } | undefined;
  if (call !== undefined && (call.to === undefined || call.to === null)) return "eth_call:multicall";
  const data = call?.data ?? call?.input;
  if (typeof data !== "string") return method;
  const selector = data.slice(0, 10).toLowerCase();
  return `eth_call:${FUNCTION_NAMES.get(selector) ?? selector}`;
}

/**
 * `transport` as each cause calls it: the transport of `cause` reports each request to `observe`
 * (under `cause`) when it settles (answered or failed). One instance of `transport` serves every
 * cause (made by the first client that asks), so that concurrent calls of several causes still go
 * out in one JSON-RPC batch.
 */
export function causedTransports(
  transport: Transport,
  observe: (call: RpcCall) => void,
): (cause: RpcCause) => Transport {
  let shared: ReturnType<Transport> | undefined;
  return (cause) => (parameters) => {
    const inner = (shared ??= transport(parameters));
    const request: typeof inner.request = async (args, options) => {
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
