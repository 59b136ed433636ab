/**
 * The taker's pure decisions (scripts/bots/lib/taking.ts): the price through the best opposite
 * level plus slippage, clamped into the band, and the random choices pinned by a seeded source.
 */
import { expect } from "chai";
import fc from "fast-check";
import { pickTakerOrder, takerPrice, type TakerConfig } from "../../scripts/bots/lib/taking";
import { seededRandom } from "../../scripts/bots/lib/taker";

const BAND = { minPriceTicks: 180_000n, maxPriceTicks: 220_000n };

/** A random source that returns `values` in turn. */
function scripted(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

describe("bots: taking", function () {
  describe("takerPrice", function () {
    it("buys through the best ask and sells through the best bid by the slippage", function () {
      const best = { bestBid: 199_990n, bestAsk: 200_010n };
      expect(takerPrice({ isBuy: true, best, slippageTicks: 5n, bounds: BAND })).to.equal(200_015n);
      expect(takerPrice({ isBuy: false, best, slippageTicks: 5n, bounds: BAND })).to.equal(199_985n);
      expect(takerPrice({ isBuy: true, best, slippageTicks: 0n })).to.equal(200_010n);
    });

    it("clamps the limit into the band, and skips a best level outside it", function () {
      expect(takerPrice({ isBuy: true, best: { bestAsk: 219_998n }, slippageTicks: 5n, bounds: BAND })).to.equal(
        220_000n,
      );
      expect(takerPrice({ isBuy: false, best: { bestBid: 180_002n }, slippageTicks: 5n, bounds: BAND })).to.equal(
        180_000n,
      );
      expect(takerPrice({ isBuy: true, best: { bestAsk: 220_001n }, slippageTicks: 5n, bounds: BAND })).to.equal(
        undefined,
      );
      expect(takerPrice({ isBuy: false, best: { bestBid: 179_999n }, slippageTicks: 5n, bounds: BAND })).to.equal(
        undefined,
      );
    });

    it("has nothing to take on an empty side, and never prices a sell below one tick", function () {
      expect(takerPrice({ isBuy: true, best: { bestBid: 100n }, slippageTicks: 1n })).to.equal(undefined);
      expect(takerPrice({ isBuy: false, best: { bestAsk: 100n }, slippageTicks: 1n })).to.equal(undefined);
      expect(takerPrice({ isBuy: false, best: { bestBid: 3n }, slippageTicks: 10n })).to.equal(1n);
    });

    it("always crosses the best opposite level and stays in the band, for any book", function () {
      fc.assert(
        fc.property(
          fc.boolean(),
          fc.bigInt({ min: 1n, max: 10n ** 9n }),
          fc.bigInt({ min: 0n, max: 1_000n }),
          fc.bigInt({ min: 1n, max: 10n ** 9n }),
          fc.bigInt({ min: 0n, max: 10n ** 9n }),
          (isBuy, bestLevel, slippageTicks, min, width) => {
            const bounds = { minPriceTicks: min, maxPriceTicks: min + width };
            const best = isBuy ? { bestAsk: bestLevel } : { bestBid: bestLevel };
            const price = takerPrice({ isBuy, best, slippageTicks, bounds });
            const inBand = bestLevel >= bounds.minPriceTicks && bestLevel <= bounds.maxPriceTicks;
            if (!inBand) {
              expect(price === undefined).to.equal(true);
              return;
            }
            expect(price === undefined).to.equal(false);
            const p = price as bigint;
            expect(isBuy ? p >= bestLevel : p <= bestLevel).to.equal(true);
            expect(p >= bounds.minPriceTicks && p <= bounds.maxPriceTicks).to.equal(true);
            const distance = isBuy ? p - bestLevel : bestLevel - p;
            expect(distance <= slippageTicks).to.equal(true);
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  describe("pickTakerOrder", function () {
    const config: TakerConfig = { iocShare: 0.5, maxLots: 5n, slippageTicks: 3n };
    const best = { bestBid: 199_990n, bestAsk: 200_010n };

    it("draws side, IOC and size from the random source", function () {
      // side: 0.1 < 0.5 → buy; ioc: 0.2 < 0.5 → IOC; lots: 1 + floor(0.99 · 5) = 5
      expect(pickTakerOrder({ config, best, bounds: BAND, random: scripted(0.1, 0.2, 0.99) })).to.deep.equal({
        isBuy: true,
        ioc: true,
        lots: 5n,
        priceTicks: 200_013n,
      });
      // sell, not IOC, 1 lot
      expect(pickTakerOrder({ config, best, bounds: BAND, random: scripted(0.7, 0.6, 0) })).to.deep.equal({
        isBuy: false,
        ioc: false,
        lots: 1n,
        priceTicks: 199_987n,
      });
    });

    it("skips when the side drawn has nothing to take", function () {
      expect(pickTakerOrder({ config, best: { bestBid: 1n }, random: scripted(0.1, 0.1, 0.1) })).to.deep.equal({
        skip: "no-liquidity",
        isBuy: true,
      });
    });

    it("sends about iocShare of its orders IOC, sizes within 1..maxLots, both sides", function () {
      const random = seededRandom(7);
      const picks = Array.from({ length: 2_000 }, () =>
        pickTakerOrder({ config: { ...config, iocShare: 0.25 }, best, bounds: BAND, random }),
      );
      const orders = picks.filter((p) => !("skip" in p)) as { isBuy: boolean; ioc: boolean; lots: bigint }[];
      expect(orders).to.have.length(2_000);
      const iocShare = orders.filter((o) => o.ioc).length / orders.length;
      expect(iocShare).to.be.within(0.2, 0.3);
      const buys = orders.filter((o) => o.isBuy).length / orders.length;
      expect(buys).to.be.within(0.45, 0.55);
      expect(new Set(orders.map((o) => o.lots))).to.deep.equal(new Set([1n, 2n, 3n, 4n, 5n]));
    });

    it("refuses a config it cannot follow", function () {
      expect(() => pickTakerOrder({ config: { ...config, iocShare: 1.5 }, best, random: Math.random })).to.throw(
        RangeError,
        /iocShare/,
      );
      expect(() => pickTakerOrder({ config: { ...config, maxLots: 0n }, best, random: Math.random })).to.throw(
        RangeError,
        /maxLots/,
      );
    });
  });

  describe("seededRandom", function () {
    it("repeats for one seed, differs across seeds, and stays in [0, 1)", function () {
      const a = seededRandom(42);
      const b = seededRandom(42);
      const c = seededRandom(43);
      const xs = Array.from({ length: 100 }, () => a());
      expect(Array.from({ length: 100 }, () => b())).to.deep.equal(xs);
      expect(Array.from({ length: 100 }, () => c())).to.not.deep.equal(xs);
      for (const x of xs) expect(x >= 0 && x < 1).to.equal(true);
    });
  });
});
