import { expect } from "chai";
import fc from "fast-check";
import {
  MAX_UINT64,
  UnitsError,
  fillAmounts,
  formatAmount,
  formatLots,
  formatPriceTicks,
  parseAmount,
  parseLots,
  parsePriceTicks,
  type MarketUnits,
  type UnitsErrorCode,
} from "@crossbook/sdk";

/** The test fixture's market: WETH (18 decimals) in lots of 0.01, USDC (6) ticks of 100 atoms per lot: price step 0.01. */
const ETH_USDC: MarketUnits = { baseDecimals: 18, quoteDecimals: 6, lotSize: 10n ** 16n, tickSize: 100n };

function codeOf(run: () => unknown): UnitsErrorCode | "none" {
  try {
    run();
    return "none";
  } catch (error) {
    expect(error).to.be.instanceOf(UnitsError);
    return (error as UnitsError).code;
  }
}

/** A market whose price step has a finite decimal form: sizes are 2^a 5^b 10^c atoms. */
const terminatingMarket: fc.Arbitrary<MarketUnits> = fc
  .record({
    baseDecimals: fc.integer({ min: 0, max: 24 }),
    quoteDecimals: fc.integer({ min: 0, max: 24 }),
    lot: fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 20 })),
    tick: fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 20 })),
  })
  .map(({ baseDecimals, quoteDecimals, lot, tick }) => ({
    baseDecimals,
    quoteDecimals,
    lotSize: 2n ** BigInt(lot[0]) * 5n ** BigInt(lot[1]) * 10n ** BigInt(lot[2]),
    tickSize: 2n ** BigInt(tick[0]) * 5n ** BigInt(tick[1]) * 10n ** BigInt(tick[2]),
  }));

/** Any market at all, lot and tick sizes with any prime factors. */
const anyMarket: fc.Arbitrary<MarketUnits> = fc.record({
  baseDecimals: fc.integer({ min: 0, max: 24 }),
  quoteDecimals: fc.integer({ min: 0, max: 24 }),
  lotSize: fc.bigInt(1n, 10n ** 20n),
  tickSize: fc.bigInt(1n, 10n ** 20n),
});

/** A decimal string of up to 30 digits on each side of the point. */
const decimalString = fc
  .tuple(fc.stringMatching(/^[0-9]{1,30}$/), fc.option(fc.stringMatching(/^[0-9]{1,30}$/), { nil: undefined }))
  .map(([whole, fraction]) => (fraction === undefined ? whole : `${whole}.${fraction}`));

/** The value of a decimal string as a fraction `numerator / 10^scale`. */
function valueOf(text: string): { numerator: bigint; scale: number } {
  const [whole, fraction = ""] = text.split(".");
  return { numerator: BigInt(whole + fraction), scale: fraction.length };
}

describe("sdk/units", function () {
  describe("concrete cases", function () {
    it('converts "0.25" ETH at "1834.5" USDC into 25 lots at 183450 ticks, and back', function () {
      expect(parseLots({ amount: "0.25", market: ETH_USDC })).to.equal(25n);
      expect(parsePriceTicks({ price: "1834.5", market: ETH_USDC })).to.equal(183_450n);
      expect(formatLots({ lots: 25n, market: ETH_USDC })).to.equal("0.25");
      expect(formatPriceTicks({ priceTicks: 183_450n, market: ETH_USDC })).to.equal("1834.5");
      // 25 lots at 183450 ticks cost 0.25 * 1834.5 = 458.625 USDC
      const { quoteAtoms, baseAtoms, feeAtoms } = fillAmounts({
        lots: 25n,
        priceTicks: 183_450n,
        market: ETH_USDC,
        feeBps: 10n,
      });
      expect(formatAmount({ atoms: quoteAtoms, decimals: 6 })).to.equal("458.625");
      expect(baseAtoms).to.equal(25n * 10n ** 16n);
      expect(feeAtoms).to.equal(458_625n);
    });

    it("accepts trailing zeros, leading zeros and a bare point", function () {
      expect(parseLots({ amount: "0.2500", market: ETH_USDC })).to.equal(25n);
      expect(parseLots({ amount: "000.25", market: ETH_USDC })).to.equal(25n);
      expect(parseLots({ amount: ".25", market: ETH_USDC })).to.equal(25n);
      expect(parseLots({ amount: "3.", market: ETH_USDC })).to.equal(300n);
      expect(parsePriceTicks({ price: "1834.50000000000000000000000", market: ETH_USDC })).to.equal(183_450n);
    });

    it("rejects a size off the lot, naming the nearest sizes, and never rounds it", function () {
      let error: UnitsError | undefined;
      try {
        parseLots({ amount: "0.255", market: ETH_USDC });
      } catch (e) {
        error = e as UnitsError;
      }
      expect(error?.code).to.equal("UNITS_OFF_LOT");
      expect(error?.details).to.include({ nearestBelow: "0.25", nearestAbove: "0.26", lot: "0.01" });
      expect(error?.message).to.match(/0\.25 and 0\.26/);
      expect(codeOf(() => parseLots({ amount: "0.001", market: ETH_USDC }))).to.equal("UNITS_OFF_LOT");
    });

    it("rejects a price off the tick, naming the nearest prices", function () {
      const market = { ...ETH_USDC, tickSize: 500n }; // price step 0.05
      let error: UnitsError | undefined;
      try {
        parsePriceTicks({ price: "1834.53", market });
      } catch (e) {
        error = e as UnitsError;
      }
      expect(error?.code).to.equal("UNITS_OFF_TICK");
      expect(error?.details).to.include({ nearestBelow: "1834.5", nearestAbove: "1834.55", tick: "0.05" });
    });

    it("rejects more decimals than the token or the price step has", function () {
      expect(codeOf(() => parseLots({ amount: "0.0000000000000000001", market: ETH_USDC }))).to.equal(
        "UNITS_TOO_MANY_DECIMALS",
      );
      expect(codeOf(() => parsePriceTicks({ price: "1834.501", market: ETH_USDC }))).to.equal(
        "UNITS_TOO_MANY_DECIMALS",
      );
      expect(codeOf(() => parseAmount({ amount: "1.0000001", decimals: 6 }))).to.equal("UNITS_TOO_MANY_DECIMALS");
    });

    it("rejects zero, negative, malformed and non-string input", function () {
      const cases: [unknown, UnitsErrorCode][] = [
        ["0", "UNITS_ZERO"],
        ["0.000", "UNITS_ZERO"],
        ["-0", "UNITS_ZERO"],
        ["-0.25", "UNITS_NEGATIVE"],
        ["", "UNITS_INVALID_FORMAT"],
        [".", "UNITS_INVALID_FORMAT"],
        ["1e3", "UNITS_INVALID_FORMAT"],
        [" 1", "UNITS_INVALID_FORMAT"],
        ["1,5", "UNITS_INVALID_FORMAT"],
        ["+1", "UNITS_INVALID_FORMAT"],
        ["0x10", "UNITS_INVALID_FORMAT"],
        ["1.2.3", "UNITS_INVALID_FORMAT"],
        [0.25, "UNITS_INVALID_FORMAT"],
        [25n, "UNITS_INVALID_FORMAT"],
      ];
      for (const [input, code] of cases) {
        expect(
          codeOf(() => parseLots({ amount: input as string, market: ETH_USDC })),
          String(input),
        ).to.equal(code);
        expect(
          codeOf(() => parsePriceTicks({ price: input as string, market: ETH_USDC })),
          String(input),
        ).to.equal(code);
        expect(
          codeOf(() => parseAmount({ amount: input as string, decimals: 6 })),
          String(input),
        ).to.equal(code);
      }
    });

    it("rejects a size or price beyond uint64, and accepts the largest that fits", function () {
      const maxSize = formatLots({ lots: MAX_UINT64, market: ETH_USDC });
      expect(parseLots({ amount: maxSize, market: ETH_USDC })).to.equal(MAX_UINT64);
      expect(
        codeOf(() => parseLots({ amount: formatLots({ lots: MAX_UINT64 + 1n, market: ETH_USDC }), market: ETH_USDC })),
      ).to.equal("UNITS_OVERFLOW");
      const maxPrice = formatPriceTicks({ priceTicks: MAX_UINT64, market: ETH_USDC });
      expect(parsePriceTicks({ price: maxPrice, market: ETH_USDC })).to.equal(MAX_UINT64);
      expect(
        codeOf(() =>
          parsePriceTicks({
            price: formatPriceTicks({ priceTicks: MAX_UINT64 + 1n, market: ETH_USDC }),
            market: ETH_USDC,
          }),
        ),
      ).to.equal("UNITS_OVERFLOW");
      expect(codeOf(() => parseAmount({ amount: "1" + "0".repeat(78), decimals: 0 }))).to.equal("UNITS_OVERFLOW");
    });

    it("rejects a malformed market", function () {
      for (const market of [
        { ...ETH_USDC, lotSize: 0n },
        { ...ETH_USDC, tickSize: -1n },
        { ...ETH_USDC, lotSize: 100 },
        { ...ETH_USDC, baseDecimals: 1.5 },
        { ...ETH_USDC, quoteDecimals: -1 },
      ]) {
        expect(codeOf(() => parseLots({ amount: "1", market: market as MarketUnits }))).to.equal(
          "UNITS_INVALID_MARKET",
        );
      }
    });

    it("prices a market whose step has no finite decimal form exactly, and refuses to write such a price", function () {
      const market = { baseDecimals: 0, quoteDecimals: 0, lotSize: 3n, tickSize: 1n }; // step 1/3
      expect(parsePriceTicks({ price: "1", market })).to.equal(3n);
      expect(codeOf(() => parsePriceTicks({ price: "0.5", market }))).to.equal("UNITS_OFF_TICK");
      expect(formatPriceTicks({ priceTicks: 3n, market })).to.equal("1");
      expect(codeOf(() => formatPriceTicks({ priceTicks: 1n, market }))).to.equal("UNITS_NOT_REPRESENTABLE");
    });

    it("writes amounts in their shortest exact form", function () {
      expect(formatAmount({ atoms: 100_500_000n, decimals: 6 })).to.equal("100.5");
      expect(formatAmount({ atoms: 1n, decimals: 18 })).to.equal("0.000000000000000001");
      expect(formatAmount({ atoms: 5n, decimals: 0 })).to.equal("5");
      expect(formatAmount({ atoms: 0n, decimals: 6 })).to.equal("0");
      expect(parseAmount({ amount: "100.5", decimals: 6 })).to.equal(100_500_000n);
    });
  });

  describe("properties", function () {
    it("parseLots(formatLots(lots)) is lots, in any market", function () {
      fc.assert(
        fc.property(anyMarket, fc.bigInt(1n, MAX_UINT64), (market, lots) => {
          expect(parseLots({ amount: formatLots({ lots, market }), market })).to.equal(lots);
        }),
      );
    });

    it("parsePriceTicks(formatPriceTicks(ticks)) is ticks, in any market whose price step is a finite decimal", function () {
      fc.assert(
        fc.property(terminatingMarket, fc.bigInt(1n, MAX_UINT64), (market, priceTicks) => {
          expect(parsePriceTicks({ price: formatPriceTicks({ priceTicks, market }), market })).to.equal(priceTicks);
        }),
      );
    });

    it("parseAmount(formatAmount(atoms)) is atoms", function () {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 40 }), fc.bigInt(1n, 2n ** 256n - 1n), (decimals, atoms) => {
          expect(parseAmount({ amount: formatAmount({ atoms, decimals }), decimals })).to.equal(atoms);
        }),
      );
    });

    it("never rounds a size: any decimal string is converted to exactly its value in lots, or rejected", function () {
      fc.assert(
        fc.property(anyMarket, decimalString, (market, amount) => {
          let lots: bigint;
          try {
            lots = parseLots({ amount, market });
          } catch (error) {
            expect(error).to.be.instanceOf(UnitsError);
            return;
          }
          // amount = numerator / 10^scale whole tokens must equal lots * lotSize atoms exactly
          const { numerator, scale } = valueOf(amount);
          expect(numerator * 10n ** BigInt(market.baseDecimals)).to.equal(lots * market.lotSize * 10n ** BigInt(scale));
        }),
      );
    });

    it("never rounds a price: any decimal string is converted to exactly its value in ticks, or rejected", function () {
      fc.assert(
        fc.property(anyMarket, decimalString, (market, price) => {
          let ticks: bigint;
          try {
            ticks = parsePriceTicks({ price, market });
          } catch (error) {
            expect(error).to.be.instanceOf(UnitsError);
            return;
          }
          // price * 10^quoteDecimals * lotSize / 10^baseDecimals quote atoms per lot = ticks * tickSize
          const { numerator, scale } = valueOf(price);
          expect(numerator * 10n ** BigInt(market.quoteDecimals) * market.lotSize).to.equal(
            ticks * market.tickSize * 10n ** BigInt(market.baseDecimals + scale),
          );
        }),
      );
    });

    it("rejects every size that falls between two lots, and every price between two ticks", function () {
      fc.assert(
        fc.property(terminatingMarket, fc.bigInt(0n, 10n ** 12n), fc.bigInt(1n, 10n ** 12n), (market, whole, part) => {
          fc.pre(market.lotSize > 1n);
          const atoms = whole * market.lotSize + (part % (market.lotSize - 1n)) + 1n; // strictly between two lots
          const amount = formatAmount({ atoms, decimals: market.baseDecimals });
          expect(codeOf(() => parseLots({ amount, market }))).to.equal("UNITS_OFF_LOT");
        }),
      );
      fc.assert(
        fc.property(terminatingMarket, fc.bigInt(0n, 10n ** 12n), (market, ticks) => {
          // With lots twice as large, one tick is worth half as much per base token: 2t + 1 of those
          // ticks are t and a half of this market's.
          const halfPrice = formatPriceTicks({
            priceTicks: 2n * ticks + 1n,
            market: { ...market, lotSize: 2n * market.lotSize },
          });
          const code = codeOf(() => parsePriceTicks({ price: halfPrice, market }));
          expect(["UNITS_OFF_TICK", "UNITS_TOO_MANY_DECIMALS"]).to.include(code);
        }),
      );
    });
  });
});
