/**
 * The SDK's nonce allocator (issue 16): never the same nonce twice, across a restart from its store
 * included, and never below a floor it was given.
 */
import { expect } from "chai";
import { createNonceAllocator, type NonceStore } from "@crossbook/sdk";

describe("sdk: createNonceAllocator", () => {
  it("hands out increasing nonces and never one below a floor", () => {
    const nonces = createNonceAllocator();
    expect([nonces.next(), nonces.next()]).to.deep.equal([1n, 2n]);
    nonces.atLeast(100n);
    expect(nonces.next()).to.equal(100n);
    nonces.atLeast(50n); // a lower floor changes nothing
    expect(nonces.peek()).to.equal(101n);
  });

  it("resumes above everything it may have handed out before a crash, saving once per reserve", () => {
    let saved: bigint | undefined;
    let saves = 0;
    const store: NonceStore = {
      load: () => saved,
      save: (mark) => {
        saved = mark;
        saves++;
      },
    };
    const first = createNonceAllocator({ store, reserve: 10n });
    const handed = Array.from({ length: 25 }, () => first.next());
    expect(saves).to.equal(3);
    // The process dies here, without any shutdown: the next one must not repeat any nonce.
    const second = createNonceAllocator({ store, reserve: 10n });
    const again = Array.from({ length: 25 }, () => second.next());
    expect(again.filter((n) => handed.includes(n))).to.deep.equal([]);
    expect(again[0]).to.equal(31n);
  });

  it("refuses to go past the largest uint64 nonce", () => {
    const nonces = createNonceAllocator({ start: (1n << 64n) - 1n });
    expect(nonces.next()).to.equal((1n << 64n) - 1n);
    expect(() => nonces.next()).to.throw(RangeError);
  });
});
