/**
 * A chain fact as a source gives it: the value itself when the source knows it now (the keeper's
 * cached reads, for a fact of this block already read), else a promise of it. The risk read
 * assembles an order's context without a single await when every fact is known: an order of a
 * steady account pays no promise, no microtask turn and no garbage for facts it already has.
 */

/** A value known now, or a promise of it. */
export type Fact<T> = T | Promise<T>;

/** Whether `fact` must still be awaited. */
export function isPending<T>(fact: Fact<T>): fact is Promise<T> {
  return fact instanceof Promise;
}

/** `fn` of the fact's value: at once when it is known, else when it comes. */
export function mapFact<T, U>(fact: Fact<T>, fn: (value: T) => U): Fact<U> {
  return isPending(fact) ? fact.then(fn) : fn(fact);
}

type Settled<T extends readonly unknown[]> = { -readonly [K in keyof T]: Awaited<T[K]> };

/**
 * Every fact's value: at once when all are known; when one alone is pending, once it comes (the
 * others in place: no `Promise.all`, whose promise and closures per fact an order paid for its one
 * pending fact, its signer); else `Promise.all` of them.
 */
export function allOf<T extends readonly unknown[] | []>(facts: T): Fact<Settled<T>> {
  let pending = -1;
  for (let i = 0; i < facts.length; i++) {
    if (!isPending(facts[i])) continue;
    if (pending >= 0) return Promise.all(facts) as Promise<Settled<T>>;
    pending = i;
  }
  if (pending < 0) return facts as unknown as Settled<T>;
  return (facts[pending] as Promise<unknown>).then((value) => {
    const settled = facts.slice();
    settled[pending] = value;
    return settled as unknown as Settled<T>;
  });
}
