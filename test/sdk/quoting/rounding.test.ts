import { expect } from "chai";
import fc from "fast-check";
import { roundPriceToTick, roundSizeToLot } from "@crossbook/sdk";

describe("sdk/quoting roundPriceToTick and roundSizeToLot", function () {
  it("rounds a price down for a bid and up for an ask, and leaves a price on the tick as it is", function () {
    expect(roundPriceToTick(1_834_567n, 10n, "down")).to.equal(1_834_560n);
    expect(roundPriceToTick(1_834_561n, 10n, "up")).to.equal(1_834_570n);
    expect(roundPriceToTick(1_834_560n, 10n, "up")).to.equal(1_834_560n);
    expect(roundPriceToTick(1_834_560n, 10n, "down")).to.equal(1_834_560n);
    expect(roundPriceToTick(0n, 10n, "up")).to.equal(0n);
  });

  it("rounds a size in base atoms to whole lots of the local WETH market (0.001 WETH)", function () {
    const lotSize = 10n ** 15n;
    expect(roundSizeToLot(2_345_600_000_000_000n, lotSize, "down") / lotSize).to.equal(2n);
    expect(roundSizeToLot(2_345_600_000_000_000n, lotSize, "up") / lotSize).to.equal(3n);
    expect(roundSizeToLot(3n * lotSize, lotSize, "up")).to.equal(3n * lotSize);
  });

  it("refuses a tick or lot below 1 and a negative value", function () {
    expect(() => roundPriceToTick(5n, 0n, "down")).to.throw(RangeError, "tick must be at least 1");
    expect(() => roundSizeToLot(5n, -1n, "up")).to.throw(RangeError, "lot size must be at least 1");
    expect(() => roundPriceToTick(-5n, 10n, "down")).to.throw(RangeError, "negative");
  });

  it("for any value and tick: a multiple of the tick, down ≤ value ≤ up, less than one tick away", function () {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1n << 80n }), fc.bigInt({ min: 1n, max: 1n << 40n }), (value, tick) => {
        const down = roundPriceToTick(value, tick, "down");
        const up = roundPriceToTick(value, tick, "up");
        expect(down % tick).to.equal(0n);
        expect(up % tick).to.equal(0n);
        expect(down <= value && value <= up).to.equal(true);
        expect(value - down < tick && up - value < tick).to.equal(true);
        expect(up - down === (value % tick === 0n ? 0n : tick)).to.equal(true);
      }),
    );
  });
});
