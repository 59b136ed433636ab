/**
 * The refusals the engine remembers, in memory only (the store keeps accepted orders alone): at most
 * `max`, each for `ttlMs`, the oldest forgotten first. A client that lost its answer can still ask
 * why its order was refused, for a while; a flood of refusals costs a bounded amount of memory.
 */
import type { Hex } from "viem";
import type { RecentRefusal } from "./types";

export class RecentRefusals {
  /** Insertion order is age order: the first entries are the oldest. */
  private readonly byHash = new Map<Hex, RecentRefusal>();

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
  ) {}

  remember(refusal: RecentRefusal): void {
    this.byHash.delete(refusal.hash);
    this.byHash.set(refusal.hash, refusal);
    this.prune(refusal.at);
  }

  /** The refusal of this order, unless forgotten (or accepted since). */
  get(hash: Hex, now: number): RecentRefusal | undefined {
    this.prune(now);
    return this.byHash.get(hash);
  }

  forget(hash: Hex): void {
    this.byHash.delete(hash);
  }

  private prune(now: number): void {
    for (const [hash, refusal] of this.byHash) {
      if (this.byHash.size <= this.max && now - refusal.at <= this.ttlMs) break;
      this.byHash.delete(hash);
    }
  }
}
