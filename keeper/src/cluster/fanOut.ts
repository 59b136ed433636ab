import { ApiError } from "../api/errors";

/**
 * Requests a gateway sends to every shard, and how their answers become one (keeper/API.md,
 * "Through a gateway"): over HTTP (./gateway) and over the feed (./gatewayFeed) alike. A shard that
 * refuses makes the whole answer that refusal (the caller checks the statuses first); these merge
 * the bodies of answers that all succeeded. And the refusals a gateway gives of its own when routing.
 */

/** No leader for `shard` right now: try again in a second. */
export function shardUnavailable(shard: string): ApiError {
  return new ApiError(
    "SHARD_UNAVAILABLE",
    `shard ${shard} has no leader right now (an election in progress): try again shortly`,
    {
      details: { shard },
      retryAfterSeconds: 1,
    },
  );
}

/** A batch whose orders are in markets of several shards. */
export function batchSpansShards(shards: readonly string[]): ApiError {
  return new ApiError(
    "BATCH_SPANS_SHARDS",
    `the batch's orders are in markets of ${shards.length} shards (${shards.join(", ")}): send one batch per shard`,
    { details: { shards: [...shards] } },
  );
}

/** A soft cancel's results: each hash's outcome from the shard that has the order (`not-found` where none does). */
export function mergeCancelResults(orderHashes: readonly string[], bodies: readonly unknown[]): { results: unknown[] } {
  const results = orderHashes.map((hash) => {
    const outcomes = bodies.flatMap((b) =>
      (b as { results: { hash: string; outcome: string }[] }).results.filter((r) => r.hash === hash),
    );
    return outcomes.find((r) => r.outcome !== "not-found") ?? { hash, outcome: "not-found" };
  });
  return { results };
}

/** A batch of cancels only: each action's result from the shard that knew its order. */
export function mergeBatchCancelResults(actions: number, bodies: readonly unknown[]): { results: unknown[] } {
  const results = Array.from({ length: actions }, (_, i) => {
    const each = bodies.map((b) => (b as { results: { code?: string }[] }).results[i]);
    return each.find((r) => r?.code !== "ORDER_NOT_FOUND") ?? each[0];
  });
  return { results };
}

/** A cancel-all: every shard's cancelled hashes, as the single keeper answers over all its markets. */
export function mergeCancelAll(bodies: readonly unknown[]): { cancelled: string[] } {
  return { cancelled: bodies.flatMap((b) => (b as { cancelled: string[] }).cancelled) };
}
