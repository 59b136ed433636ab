/**
 * The chain's time as the page can know it, for a withdrawal request's countdown: the latest block's
 * timestamp, run on by the local clock since the page first saw that block. The local clock only
 * measures how long ago that was, so a computer whose clock is set wrong still counts down right; a
 * chain whose time runs ahead of the wall clock (`evm_increaseTime` on a local node) is followed at
 * its next block.
 *
 * Whether the chain will accept something "from `effectiveAt` on" is decided by blocks, not by this
 * estimate: `reached` is true once a block at or after that time exists, because every transaction
 * sent then lands in a later block still.
 */
export interface ChainBlock {
  readonly number: bigint;
  readonly timestamp: bigint;
}

export class ChainClock {
  private anchor: (ChainBlock & { readonly seenAtMs: number }) | undefined;

  constructor(private readonly localNowMs: () => number = Date.now) {}

  /** Takes in the latest block; the same block again (or an older one, from a lagging node) changes nothing. */
  observe(block: ChainBlock): void {
    if (this.anchor !== undefined && block.number <= this.anchor.number) return;
    this.anchor = { number: block.number, timestamp: block.timestamp, seenAtMs: this.localNowMs() };
  }

  /** Whether a block at or after `at` (unix seconds) has been seen. */
  reached(at: bigint): boolean {
    return this.anchor !== undefined && this.anchor.timestamp >= at;
  }

  /**
   * Milliseconds until the chain's time reaches `at` (unix seconds), by the estimate; 0 once it has
   * (or by the estimate should have), `undefined` before the first block.
   */
  msUntil(at: bigint): number | undefined {
    if (this.anchor === undefined) return undefined;
    const elapsedMs = Math.max(0, this.localNowMs() - this.anchor.seenAtMs);
    return Math.max(0, Number(at - this.anchor.timestamp) * 1000 - elapsedMs);
  }
}
