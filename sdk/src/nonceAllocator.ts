/**
 * A nonce allocator for a maker's orders. The nonce is the maker's own id for an order (the keeper
 * looks orders up and cancels them by `(maker, nonce)`), and on-chain it is the key of the order's
 * fill state: a nonce used twice shares its fills, so a quoting loop must never hand one out twice —
 * not after a restart either.
 *
 * It hands out increasing nonces from a floor, and persists a high-water mark ahead of what it hands
 * out (`reserve` at a time, saved before any of them is used): after a crash it resumes above
 * everything it may have handed out, at the cost of skipping at most `reserve` nonces. Seed the
 * floor from what is known elsewhere with `atLeast`: the chain's nonce floor (`cancelUpTo`) and one
 * above the newest nonce the keeper holds for the account.
 */

/** Where the high-water mark is kept (a file, localStorage, a database row…). */
export interface NonceStore {
  /** The mark saved last, if any. */
  load(): bigint | undefined;
  /** Saves a mark: every nonce below it may have been handed out. Must be durable when it returns. */
  save(mark: bigint): void;
}

/** The parameters of `createNonceAllocator`. */
export interface CreateNonceAllocatorParameters {
  /** Where to keep the high-water mark; none: in memory only (then seed it with `atLeast` on start). */
  store?: NonceStore | undefined;
  /** The first nonce when nothing is stored; default 1n. */
  start?: bigint | undefined;
  /** Nonces reserved per save (default 1,000): fewer writes, more skipped after a crash. */
  reserve?: bigint | undefined;
}

/** Hands out nonces that are never reused. */
export interface NonceAllocator {
  /** The next nonce: above every nonce handed out before, and at least every floor given to `atLeast`. */
  next(): bigint;
  /** Raises the floor: the next nonce is at least `floor`. */
  atLeast(floor: bigint): void;
  /** The nonce `next` would return now, without taking it. */
  peek(): bigint;
}

/** The largest nonce an order can carry (`uint64`). */
const MAX_NONCE = (1n << 64n) - 1n;

/**
 * A nonce allocator, resuming above its store's mark.
 *
 * @example
 * import { createNonceAllocator } from "@crossbook/sdk";
 * let saved: bigint | undefined;
 * const nonces = createNonceAllocator({ store: { load: () => saved, save: (mark) => (saved = mark) } });
 * nonces.atLeast(1_000n); // e.g. one above the newest nonce the keeper holds for the account
 * const nonce = nonces.next(); // 1000n, then 1001n, …
 */
export function createNonceAllocator(parameters: CreateNonceAllocatorParameters = {}): NonceAllocator {
  const store = parameters.store;
  const reserve = parameters.reserve ?? 1_000n;
  if (reserve < 1n) throw new RangeError("createNonceAllocator: reserve must be at least 1");
  let next = store?.load() ?? parameters.start ?? 1n;
  if (next < 1n) next = 1n;
  // Nonces below `mark` may be handed out without saving again.
  let mark = next;
  return {
    next() {
      if (next > MAX_NONCE) throw new RangeError("createNonceAllocator: every uint64 nonce is used");
      if (next >= mark) {
        mark = next + reserve;
        store?.save(mark);
      }
      return next++;
    },
    atLeast(floor: bigint) {
      if (floor > next) next = floor;
    },
    peek() {
      return next;
    },
  };
}
