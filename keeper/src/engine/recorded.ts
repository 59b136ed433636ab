import type { Hex } from "viem";

/**
 * The hashes of the orders an engine recorded lately, in order, so that an order found absent from
 * the store a moment ago (`Engine.prepare`'s duplicate check, before the signature) is known absent
 * still when its account's turn comes (`Engine.check`) without a second read of the store: absent
 * then, and not recorded since. Bounded: past `bound` hashes the oldest are forgotten, and a
 * question about a time before the oldest one kept is answered "not known" (the caller reads).
 */
export class RecentRecords {
  private count = 0;
  /** The mark of the newest record forgotten: what is asked about an earlier mark is not known. */
  private forgottenAt = 0;
  private readonly marks = new Map<Hex, number>();

  constructor(private readonly bound = 4096) {}

  /** Now, for `notRecordedSince`. */
  get mark(): number {
    return this.count;
  }

  /** The order `hash` was just recorded. */
  recorded(hash: Hex): void {
    this.marks.set(hash, ++this.count);
    if (this.marks.size <= this.bound) return;
    const [oldest, at] = this.marks.entries().next().value as [Hex, number];
    this.marks.delete(oldest);
    this.forgottenAt = at;
  }

  /**
   * Whether it is known that no order `hash` was recorded after `mark`: false when one was, and
   * when that is no longer known.
   */
  notRecordedSince(hash: Hex, mark: number): boolean {
    return mark >= this.forgottenAt && !this.marks.has(hash);
  }

  /** The store changed under the engine (a rebuild): nothing asked about an earlier mark is known. */
  forgetAll(): void {
    this.marks.clear();
    this.forgottenAt = ++this.count;
  }
}
