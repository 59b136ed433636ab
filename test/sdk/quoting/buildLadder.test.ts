import { expect } from "chai";
import fc from "fast-check";
import { buildLadder } from "@crossbook/sdk";

const prices = (quotes: { priceTicks: bigint }[]) => quotes.map((q) => q.priceTicks);

describe("sdk/quoting buildLadder", function () {
  it("quotes 3 levels 10 bps apart around 2,000.00 (200,000 ticks): 1998/1996/1994 and 2002/2004/2006", function () {
    const { bids, asks } = buildLadder({ midTicks: 200_000n, levels: 3, stepBps: 10, lots: 10n });
    expect(prices(bids)).to.deep.equal([199_800n, 199_600n, 199_400n]);
    expect(prices(asks)).to.deep.equal([200_200n, 200_400n, 200_600n]);
    expect(bids.map((q) => [q.level, q.lots])).to.deep.equal([
      [0, 10n],
      [1, 10n],
      [2, 10n],
    ]);
  });

  it("rounds bids down and asks up to whole ticks, away from the mid", function () {
    // 201,000 × (1 ∓ 0.001) = 200,799 / 201,201; × (1 ∓ 0.002) = 200,598 / 201,402
    const { bids, asks } = buildLadder({ midTicks: 201_000n, levels: 2, stepBps: 10, lots: 1n });
    expect(prices(bids)).to.deep.equal([200_799n, 200_598n]);
    expect(prices(asks)).to.deep.equal([201_201n, 201_402n]);
    const odd = buildLadder({ midTicks: 1_001n, levels: 1, stepBps: 15, lots: 1n }); // 999.4985 / 1002.5015
    expect([prices(odd.bids), prices(odd.asks)]).to.deep.equal([[999n], [1_003n]]);
  });

  it("keeps levels a tick apart when the step rounds to nothing, and leaves out bids at 0 ticks", function () {
    const { bids, asks } = buildLadder({ midTicks: 3n, levels: 4, stepBps: 1, firstBps: 0, lots: 1n });
    expect(prices(bids)).to.deep.equal([2n, 1n]);
    expect(prices(asks)).to.deep.equal([4n, 5n, 6n, 7n]);
  });

  it("takes the size in base atoms, rounded down to whole lots", function () {
    const lotSize = 10n ** 15n;
    const { bids } = buildLadder({ midTicks: 1000n, levels: 1, stepBps: 10, baseAtoms: 25n * lotSize + 7n, lotSize });
    expect(bids[0].lots).to.equal(25n);
    expect(() => buildLadder({ midTicks: 1000n, levels: 1, stepBps: 10, baseAtoms: lotSize - 1n, lotSize })).to.throw(
      RangeError,
      "less than one lot",
    );
  });

  it("keeps a skewed ladder off the true mid (bidsBelowTicks, asksAboveTicks)", function () {
    const { bids, asks } = buildLadder({
      midTicks: 1_010n, // centre moved up 1%
      levels: 2,
      stepBps: 50,
      firstBps: 0,
      lots: 1n,
      bidsBelowTicks: 1_000n,
      asksAboveTicks: 1_000n,
    });
    expect(prices(bids)).to.deep.equal([999n, 998n]);
    expect(prices(asks)).to.deep.equal([1_010n, 1_016n]);
  });

  it("refuses what it cannot quote, naming every problem", function () {
    expect(() => buildLadder({ midTicks: 0n, levels: 0, stepBps: 10_000, lots: 1n })).to.throw(
      RangeError,
      /midTicks must be positive.*levels must be 1 to 100.*stepBps must be 0 to 9999/,
    );
    expect(() => buildLadder({ midTicks: 100n, levels: 3, stepBps: 5_000, lots: 1n })).to.throw(RangeError, "100%");
    expect(() => buildLadder({ midTicks: 100n, levels: 1, stepBps: 5, lots: 0n })).to.throw(RangeError, "lots");
  });

  it("for any mid and shape: never crosses, bids strictly falling and asks strictly rising, whole lots", function () {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 1n << 60n }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 400 }),
        (midTicks, levels, stepBps, firstBps) => {
          const { bids, asks } = buildLadder({ midTicks, levels, stepBps, firstBps, lots: 3n });
          expect(asks).to.have.length(levels);
          for (const b of bids) expect(b.priceTicks >= 1n && b.priceTicks < midTicks).to.equal(true);
          for (const a of asks) expect(a.priceTicks > midTicks).to.equal(true);
          for (let i = 1; i < bids.length; i++) expect(bids[i].priceTicks < bids[i - 1].priceTicks).to.equal(true);
          for (let i = 1; i < asks.length; i++) expect(asks[i].priceTicks > asks[i - 1].priceTicks).to.equal(true);
        },
      ),
    );
  });
});
