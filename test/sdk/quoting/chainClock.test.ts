import { expect } from "chai";
import { ChainClock } from "@crossbook/sdk";

describe("sdk/quoting ChainClock: the chain's time between reads", function () {
  let localMs = 1_000_000;
  const clock = () => new ChainClock(() => localMs);

  it("knows nothing before the first block", function () {
    const c = clock();
    expect(c.msUntil(100n)).to.equal(undefined);
    expect(c.reached(0n)).to.equal(false);
  });

  it("counts down by the local clock from when it first saw the latest block, whatever the local clock's setting", function () {
    localMs = 5_000_000_000; // a local clock far from the chain's: only its running matters
    const c = clock();
    c.observe({ number: 10n, timestamp: 1_000n });
    expect(c.msUntil(1_030n)).to.equal(30_000);
    localMs += 12_500;
    c.observe({ number: 10n, timestamp: 1_000n }); // the same block read again keeps when it was first seen
    expect(c.msUntil(1_030n)).to.equal(17_500);
    localMs += 60_000;
    expect(c.msUntil(1_030n)).to.equal(0);
  });

  it("is reached only by a block at or after the time, never by the local estimate", function () {
    const c = clock();
    c.observe({ number: 10n, timestamp: 1_000n });
    localMs += 3_600_000;
    expect(c.reached(1_030n)).to.equal(false);
    c.observe({ number: 11n, timestamp: 1_029n });
    expect(c.reached(1_030n)).to.equal(false);
    c.observe({ number: 12n, timestamp: 1_030n });
    expect(c.reached(1_030n)).to.equal(true);
  });

  it("follows a chain whose time jumps ahead at its next block, and ignores an older block from a lagging node", function () {
    const c = clock();
    c.observe({ number: 10n, timestamp: 1_000n });
    c.observe({ number: 11n, timestamp: 1_031n }); // evm_increaseTime, then a block
    expect(c.reached(1_030n)).to.equal(true);
    c.observe({ number: 9n, timestamp: 990n });
    expect(c.reached(1_030n)).to.equal(true);
    expect(c.msUntil(1_040n)).to.equal(9_000);
  });
});
