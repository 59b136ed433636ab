/** What the cached chain reads' tests share: a client they can count and hold, and a pending check. */
import { createPublicClient, custom } from "viem";
import { transport } from "../../sdk/support";

/** A client that counts the JSON-RPC calls it makes, and can hold its `eth_call`s until released. */
export function countingClient() {
  const counts = new Map<string, number>();
  let gate: Promise<void> | undefined;
  let open = () => {};
  const client = createPublicClient({
    transport: custom({
      async request(args: { method: string; params?: unknown }) {
        counts.set(args.method, (counts.get(args.method) ?? 0) + 1);
        if (args.method === "eth_call" && gate !== undefined) await gate;
        return transport({}).request(args as never);
      },
    }),
  });
  const hold = () => (gate = new Promise<void>((resolve) => (open = resolve)));
  const release = () => {
    gate = undefined;
    open();
  };
  return { client, counts, hold, release };
}

/**
 * Whether `promise` (a fact, as the cached reads answer) is still pending after the calls already made have had time to answer. Used
 * only for a read that must wait on the held node: it cannot resolve while held, on any machine.
 * (That a read does *not* wait is shown by awaiting it while the node is held: no timer decides it.)
 */
export async function pending(promise: unknown): Promise<boolean> {
  // A fact known now (the cached reads answer with the value itself) waits for nothing.
  if (!(promise instanceof Promise)) return false;
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  return !done;
}
