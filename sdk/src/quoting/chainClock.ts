/**
 * The chain's time as a client can know it between reads: the latest block's timestamp, run on by
 * the local clock since that block was first seen. The local clock only measures how long ago that
 * was, so a computer whose clock is set wrong still counts right, and a chain whose time runs ahead
 * of the wall clock (`evm_increaseTime` on a local node, a real chain's drift) is followed at its
 * next block. What an order's `expiry` and the Exchange's deadlines (`setCancelAfter`, a withdrawal
 * request's `effectiveAt`) are compared with is the chain's time, not the wall clock.
 *
 * Whether the chain will accept something "from `at` on" is decided by blocks, not by this
 * estimate: `reached` is true once a block at or after that time exists, because every transaction
 * sent then lands in a later block still.
 */

/** A block as the clock needs it. */
export interface ChainBlock {
  readonly number: bigint;
  /** Unix seconds. */
  readonly timestamp: bigint;
}

/**
 * The chain's clock, fed with blocks (`observe`), read without a request (`now`, `msUntil`).
 *
 * @example
 * import { ChainClock } from "@crossbook/sdk";
 * const clock = new ChainClock(() => 1_000_000); // a fixed local clock, for the example
 * clock.observe({ number: 10n, timestamp: 1_764_700_000n });
 * console.log(clock.now(), clock.msUntil(1_764_700_030n)); // 1764700000n 30000
 */
export class ChainClock {
  private anchor: (ChainBlock & { readonly seenAtMs: number }) | undefined;

  /** `localNowMs`: the local clock (milliseconds), only ever used for differences. */
  constructor(private readonly localNowMs: () => number = Date.now) {}

  /** Takes in the latest block; the same block again (or an older one, from a lagging node) changes nothing. */
  observe(block: ChainBlock): void {
    if (this.anchor !== undefined && block.number <= this.anchor.number) return;
    this.anchor = { number: block.number, timestamp: block.timestamp, seenAtMs: this.localNowMs() };
  }

  /** The latest block seen, if any. */
  get latest(): ChainBlock | undefined {
    return this.anchor === undefined ? undefined : { number: this.anchor.number, timestamp: this.anchor.timestamp };
  }

  /**
   * The chain's time now by the estimate, in unix seconds (rounded down): the latest block's time
   * plus the whole seconds the local clock has run since; `undefined` before the first block.
   */
  now(): bigint | undefined {
    if (this.anchor === undefined) return undefined;
    const elapsedMs = Math.max(0, this.localNowMs() - this.anchor.seenAtMs);
    return this.anchor.timestamp + BigInt(Math.floor(elapsedMs / 1000));
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
