/**
 * Signed cancels already used: a signed `CancelOrders` or `CancelAll` takes effect once. Its digest
 * is remembered until the message could no longer be accepted anyway (`issuedAt` + the ±5 minute
 * window), so that a replay is refused (`CANCEL_REPLAYED`) and a cancel-all's cut-off is the one of
 * its first arrival. At most `max` are remembered; when full, new cancels wait (`RATE_LIMITED`)
 * until the oldest expire.
 */
import type { Hex } from "viem";

export type UseResult =
  | { ok: true }
  | { ok: false; reason: "replayed"; firstAt: number }
  | { ok: false; reason: "full"; retryAfterSeconds: number };

export class UsedMessages {
  /** digest → [expiresAt, first arrival]; insertion order, which is roughly expiry order. */
  private readonly seen = new Map<string, readonly [number, number]>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.seen.size;
  }

  /** Whether `digest` was used (and has not expired). */
  has(digest: Hex, now: number): boolean {
    this.prune(now);
    return this.seen.has(digest.toLowerCase());
  }

  /** Marks `digest` used (until `expiresAt`), or says why it cannot be. */
  use(digest: Hex, expiresAt: number, now: number): UseResult {
    this.prune(now);
    const key = digest.toLowerCase();
    const seen = this.seen.get(key);
    if (seen !== undefined) return { ok: false, reason: "replayed", firstAt: seen[1] };
    if (this.seen.size >= this.max) {
      const oldest = this.seen.values().next().value as readonly [number, number];
      return { ok: false, reason: "full", retryAfterSeconds: Math.max(1, Math.ceil((oldest[0] - now) / 1000)) };
    }
    this.seen.set(key, [expiresAt, now]);
    return { ok: true };
  }

  private prune(now: number): void {
    for (const [key, [expiresAt]] of this.seen) {
      if (expiresAt >= now) break;
      this.seen.delete(key);
    }
  }
}
