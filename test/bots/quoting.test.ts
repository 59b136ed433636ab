/**
 * The market maker's pure decisions (scripts/bots/lib/quoting.ts): the ladder on the tick grid and
 * never across its reference, requoting only past the threshold, desired vs live orders, and
 * nonces that only go up. Property tests with fast-check, each with a concrete twin.
 */
import { expect } from "chai";
import fc from "fast-check";
import {
  NonceSource,
  bookMid,
  desiredLadder,
  feedAnswerToTicks,
  inventorySkewBps,
  needsRequote,
  planQuotes,
  withoutCrossing,
  type LadderConfig,
  type LiveQuote,
  type Quote,
} from "../../scripts/bots/lib/quoting";
import { LOCAL_MARKETS } from "../../scripts/lib/market";

const CONFIG: LadderConfig = { levels: 3, spreadBps: 10, spacingBps: 10, lotsPerLevel: 7n };
const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as const;

describe("bots: quoting", function () {
  describe("desiredLadder", function () {
    it("quotes 2,000.00 USDC as bids 1998.00/1996.00/1994.00 and asks 2002.00/2004.00/2006.00", function () {
      const ladder = desiredLadder({ referenceTicks: 200_000n, inventoryLots: 0n, config: CONFIG });
      expect(ladder).to.deep.equal([
        { side: "bid", level: 0, priceTicks: 199_800n, lots: 7n },
        { side: "bid", level: 1, priceTicks: 199_600n, lots: 7n },
        { side: "bid", level: 2, priceTicks: 199_400n, lots: 7n },
        { side: "ask", level: 0, priceTicks: 200_200n, lots: 7n },
        { side: "ask", level: 1, priceTicks: 200_400n, lots: 7n },
        { side: "ask", level: 2, priceTicks: 200_600n, lots: 7n },
      ]);
    });

    it("rounds bids down and asks up, away from the reference", function () {
      // 12,345 ticks · 0.999 = 12,332.655 → 12,332; · 1.001 = 12,357.345 → 12,358
      const ladder = desiredLadder({
        referenceTicks: 12_345n,
        inventoryLots: 0n,
        config: { ...CONFIG, levels: 1 },
      });
      expect(ladder.map((q) => q.priceTicks)).to.deep.equal([12_332n, 12_358n]);
    });

    it("keeps levels a tick apart when the spacing rounds to nothing, and never touches the reference", function () {
      const ladder = desiredLadder({
        referenceTicks: 100n,
        inventoryLots: 0n,
        config: { levels: 3, spreadBps: 0, spacingBps: 1, lotsPerLevel: 1n },
      });
      expect(ladder.map((q) => q.priceTicks)).to.deep.equal([99n, 98n, 97n, 101n, 102n, 103n]);
    });

    it("leaves out levels outside the band", function () {
      const ladder = desiredLadder({
        referenceTicks: 200_000n,
        inventoryLots: 0n,
        config: CONFIG,
        bounds: { minPriceTicks: 199_500n, maxPriceTicks: 200_450n },
      });
      expect(ladder.map((q) => `${q.side}${q.priceTicks}`)).to.deep.equal([
        "bid199800",
        "bid199600",
        "ask200200",
        "ask200400",
      ]);
    });

    it("skews against the inventory but never across the reference, and stops adding past the cap", function () {
      const config: LadderConfig = { ...CONFIG, levels: 1, skewBpsPerLot: 1, maxSkewBps: 50, maxInventoryLots: 100n };
      const long = desiredLadder({ referenceTicks: 200_000n, inventoryLots: 20n, config });
      // centre 200,000 · (1 − 0.0020) = 199,600 → bid 199,400.4 → 199,400; ask 199,799.6 → would cross: 200,001
      expect(long.map((q) => q.priceTicks)).to.deep.equal([199_400n, 200_001n]);
      expect(inventorySkewBps(1_000n, config)).to.equal(-50n);
      const capped = desiredLadder({ referenceTicks: 200_000n, inventoryLots: 100n, config });
      expect(capped.map((q) => q.side)).to.deep.equal(["ask"]);
      const short = desiredLadder({ referenceTicks: 200_000n, inventoryLots: -100n, config });
      expect(short.map((q) => q.side)).to.deep.equal(["bid"]);
    });

    it("quotes a 1-tick reference skewed down to a centre of 0 ticks: no bid, an ask a tick above (a shrunk counterexample)", function () {
      const config: LadderConfig = { levels: 1, spreadBps: 0, spacingBps: 0, lotsPerLevel: 1n, skewBpsPerLot: 1 };
      const quotes = desiredLadder({ referenceTicks: 1n, inventoryLots: 1n, config });
      expect(quotes.map((q) => [q.side, q.priceTicks])).to.deep.equal([["ask", 2n]]);
    });

    it("refuses a config it cannot quote", function () {
      expect(() => desiredLadder({ referenceTicks: 1n, inventoryLots: 0n, config: { ...CONFIG, levels: 0 } })).to.throw(
        RangeError,
        /levels must be an integer from 1 to 100/,
      );
      expect(() =>
        desiredLadder({ referenceTicks: 1n, inventoryLots: 0n, config: { ...CONFIG, lotsPerLevel: 0n } }),
      ).to.throw(RangeError, /lotsPerLevel must be at least 1/);
      expect(() => desiredLadder({ referenceTicks: 0n, inventoryLots: 0n, config: CONFIG })).to.throw(/positive/);
    });

    it("for any reference, inventory and config: whole ticks, bids below and asks above the reference, strictly ordered, in the band", function () {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 1n, max: 10n ** 12n }),
          fc.bigInt({ min: -1_000n, max: 1_000n }),
          fc.integer({ min: 1, max: 10 }),
          fc.integer({ min: 0, max: 500 }),
          fc.integer({ min: 0, max: 500 }),
          fc.integer({ min: 0, max: 20 }),
          fc.integer({ min: 0, max: 2_000 }),
          (referenceTicks, inventoryLots, levels, spreadBps, spacingBps, skewBpsPerLot, bandBps) => {
            const config: LadderConfig = { levels, spreadBps, spacingBps, lotsPerLevel: 3n, skewBpsPerLot };
            const bounds = {
              minPriceTicks: (referenceTicks * BigInt(10_000 - bandBps)) / 10_000n,
              maxPriceTicks: (referenceTicks * BigInt(10_000 + bandBps)) / 10_000n,
            };
            const ladder = desiredLadder({ referenceTicks, inventoryLots, config, bounds });
            const bids = ladder.filter((q) => q.side === "bid");
            const asks = ladder.filter((q) => q.side === "ask");
            expect(bids.length).to.be.at.most(levels);
            expect(asks.length).to.be.at.most(levels);
            for (const q of ladder) {
              expect(typeof q.priceTicks).to.equal("bigint");
              expect(q.priceTicks >= bounds.minPriceTicks && q.priceTicks <= bounds.maxPriceTicks).to.equal(true);
              expect(q.priceTicks >= 1n).to.equal(true);
              expect(q.lots).to.equal(3n);
            }
            for (const b of bids) expect(b.priceTicks < referenceTicks).to.equal(true);
            for (const a of asks) expect(a.priceTicks > referenceTicks).to.equal(true);
            for (let i = 1; i < bids.length; i++) expect(bids[i].priceTicks < bids[i - 1].priceTicks).to.equal(true);
            for (let i = 1; i < asks.length; i++) expect(asks[i].priceTicks > asks[i - 1].priceTicks).to.equal(true);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe("needsRequote", function () {
    it("quotes first, then only when the reference moved strictly more than the threshold", function () {
      expect(needsRequote({ quotedReference: undefined, referenceTicks: 200_000n, thresholdBps: 5 })).to.equal(true);
      // 5 bps of 200,000 is 100 ticks
      expect(needsRequote({ quotedReference: 200_000n, referenceTicks: 200_100n, thresholdBps: 5 })).to.equal(false);
      expect(needsRequote({ quotedReference: 200_000n, referenceTicks: 199_900n, thresholdBps: 5 })).to.equal(false);
      expect(needsRequote({ quotedReference: 200_000n, referenceTicks: 200_101n, thresholdBps: 5 })).to.equal(true);
      expect(needsRequote({ quotedReference: 200_000n, referenceTicks: 199_899n, thresholdBps: 5 })).to.equal(true);
      expect(needsRequote({ quotedReference: 200_000n, referenceTicks: 200_001n, thresholdBps: 0 })).to.equal(true);
      expect(needsRequote({ quotedReference: 200_000n, referenceTicks: 200_000n, thresholdBps: 0 })).to.equal(false);
    });

    it("agrees with |move| / quoted > threshold for any prices (away from the exact boundary)", function () {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 1n, max: 10n ** 12n }),
          fc.bigInt({ min: 1n, max: 10n ** 12n }),
          fc.integer({ min: 0, max: 10_000 }),
          (quoted, now, thresholdBps) => {
            const movedBps = (Math.abs(Number(now) - Number(quoted)) * 10_000) / Number(quoted);
            fc.pre(Math.abs(movedBps - thresholdBps) > 1e-6);
            const got = needsRequote({ quotedReference: quoted, referenceTicks: now, thresholdBps });
            expect(got).to.equal(movedBps > thresholdBps);
          },
        ),
      );
    });
  });

  describe("planQuotes", function () {
    const desired: Quote[] = [
      { side: "bid", level: 0, priceTicks: 100n, lots: 10n },
      { side: "bid", level: 1, priceTicks: 99n, lots: 10n },
      { side: "ask", level: 0, priceTicks: 102n, lots: 10n },
    ];

    it("places everything when nothing is live, and nothing when the ladder is live", function () {
      expect(planQuotes(desired, [])).to.deep.equal({ cancel: [], place: desired, keep: [] });
      const live: LiveQuote[] = desired.map((q, i) => ({ hash: hash(i), ...q, remainingLots: q.lots }));
      expect(planQuotes(desired, live)).to.deep.equal({ cancel: [], place: [], keep: [hash(0), hash(1), hash(2)] });
    });

    it("cancels what moved or ran low, keeps the rest, and covers each quote once", function () {
      const live: LiveQuote[] = [
        { hash: hash(1), side: "bid", priceTicks: 100n, lots: 10n, remainingLots: 5n }, // half left: kept
        { hash: hash(2), side: "bid", priceTicks: 99n, lots: 10n, remainingLots: 4n }, // less than half: replaced
        { hash: hash(3), side: "ask", priceTicks: 103n, lots: 10n, remainingLots: 10n }, // stale price
        { hash: hash(4), side: "bid", priceTicks: 100n, lots: 10n, remainingLots: 10n }, // a duplicate
        { hash: hash(5), side: "ask", priceTicks: 100n, lots: 10n, remainingLots: 10n }, // the wrong side
      ];
      const plan = planQuotes(desired, live);
      expect(plan.keep).to.deep.equal([hash(1)]);
      expect(plan.cancel).to.deep.equal([hash(2), hash(3), hash(4), hash(5)]);
      expect(plan.place).to.deep.equal([desired[1], desired[2]]);
    });

    it("after a requote cancels the whole old ladder and places the whole new one", function () {
      const old = desiredLadder({ referenceTicks: 200_000n, inventoryLots: 0n, config: CONFIG });
      const live: LiveQuote[] = old.map((q, i) => ({ hash: hash(i), ...q, remainingLots: q.lots }));
      const moved = desiredLadder({ referenceTicks: 201_000n, inventoryLots: 0n, config: CONFIG });
      const plan = planQuotes(moved, live);
      expect(plan.cancel).to.have.length(6);
      expect(plan.place).to.deep.equal(moved);
    });
  });

  describe("withoutCrossing", function () {
    it("drops bids at or above the best ask and asks at or below the best bid", function () {
      const quotes: Quote[] = [
        { side: "bid", level: 0, priceTicks: 105n, lots: 1n },
        { side: "bid", level: 1, priceTicks: 104n, lots: 1n },
        { side: "ask", level: 0, priceTicks: 101n, lots: 1n },
        { side: "ask", level: 1, priceTicks: 102n, lots: 1n },
      ];
      expect(withoutCrossing(quotes, { bestBid: 101n, bestAsk: 105n }).map((q) => q.priceTicks)).to.deep.equal([
        104n,
        102n,
      ]);
      expect(withoutCrossing(quotes, {})).to.deep.equal(quotes);
    });
  });

  describe("NonceSource", function () {
    it("starts at the later of the chain's floor and the start, and strictly increases", function () {
      const fromClock = new NonceSource({ minNonce: 5n, startAt: 1_700_000_000_000_000n });
      expect([fromClock.next(), fromClock.next(), fromClock.next()]).to.deep.equal([
        1_700_000_000_000_000n,
        1_700_000_000_000_001n,
        1_700_000_000_000_002n,
      ]);
      const fromFloor = new NonceSource({ minNonce: 2n ** 60n, startAt: 1n });
      expect(fromFloor.next()).to.equal(2n ** 60n);
      expect(() => new NonceSource({ minNonce: 2n ** 64n, startAt: 0n })).to.throw(RangeError, /uint64/);
    });

    it("never repeats or goes down over many draws", function () {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 0n, max: 2n ** 62n }),
          fc.bigInt({ min: 0n, max: 2n ** 62n }),
          (minNonce, startAt) => {
            const source = new NonceSource({ minNonce, startAt });
            let last = -1n;
            for (let i = 0; i < 50; i++) {
              const nonce = source.next();
              expect(nonce > last).to.equal(true);
              expect(nonce >= minNonce).to.equal(true);
              last = nonce;
            }
          },
        ),
        { numRuns: 100 },
      );
    });
  });

  describe("feedAnswerToTicks and bookMid", function () {
    it("turns the local feeds' 8-decimal answers into cents of USDC per base token in both markets", function () {
      const [weth, wbtc] = LOCAL_MARKETS.map((m) => ({
        ...m,
        baseDecimals: m.baseSymbol === "WETH" ? 18 : 8,
        quoteDecimals: 6,
      }));
      expect(feedAnswerToTicks({ answer: 2_000n * 10n ** 8n, feedDecimals: 8, market: weth })).to.equal(200_000n);
      expect(feedAnswerToTicks({ answer: 201_357_000_000n, feedDecimals: 8, market: weth })).to.equal(201_357n);
      expect(feedAnswerToTicks({ answer: 6_000_025_000_000n, feedDecimals: 8, market: wbtc })).to.equal(6_000_025n);
      // half a cent rounds to the nearest tick
      expect(feedAnswerToTicks({ answer: 200_000_500_000n, feedDecimals: 8, market: weth })).to.equal(200_001n);
      expect(() => feedAnswerToTicks({ answer: 0n, feedDecimals: 8, market: weth })).to.throw(/positive/);
    });

    it("takes the mid of the best prices, or the one side there is", function () {
      expect(bookMid({ bestBid: 100n, bestAsk: 103n })).to.equal(101n);
      expect(bookMid({ bestBid: 100n })).to.equal(100n);
      expect(bookMid({})).to.equal(undefined);
    });
  });
});
