/**
 * Stateful property test of the Exchange: random sequences of deposits, withdrawal requests and
 * withdrawals, signed (and forged) orders, settled batches, cancels, nonce floors, time passing and
 * fee changes, the guardian's pauses and halts, the admin's price bands, feeds, velocity limits and
 * firmness delay, a price feed moving or failing, traders' cancel-after deadlines and window limits,
 * and a firm keeper's matches settled later while traders try to back out of them — from four traders
 * over two markets, run against the contract and against a plain TypeScript model (model.ts).
 *
 * After every step the chain must equal the model and every DESIGN.md invariant must hold, the log
 * alone must rebuild every order's fill state, and forged orders must change nothing; after every
 * settle, no fill may have executed in a halted market, outside its market's band, above its market's
 * lots per block, past either account's cancel-after deadline or past either account's window cap; and
 * a fill that settles within the firmness delay of its match must never skip for a reason a trader
 * causes (commands.ts: `Match`, `SettleMatched`).
 *
 * `npm test` runs a fixed seed (42, PROPERTY_RUNS 6 runs of up to 200 commands). PROPERTY_SEED,
 * PROPERTY_RUNS and PROPERTY_MAX_COMMANDS select others; PROPERTY_STEPS runs seeds from PROPERTY_SEED
 * up until that many steps are done — `npm run fuzz -- --steps 100000 [--seed N]` (scripts/fuzz.ts).
 * Runs are long on purpose: limits set early in a run (bands, feeds, windows) shape what follows.
 */
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  Cancel,
  CancelUpTo,
  Deposit,
  Match,
  SettleMatched,
  SetCancelAfter,
  SetFees,
  SetHalted,
  SetPaused,
  SetPriceBand,
  SetVelocityLimit,
  SetWindowLimit,
  Settle,
  SignOrder,
  TimePasses,
  WithdrawalStep,
  allCommands,
  newStats,
  setupWorld,
  twoMarketFixture,
  type OrderSpec,
  type Stats,
} from "./commands";
import {
  FILL_OR_KILL,
  IMMEDIATE_OR_CANCEL,
  MAX_UINT64,
  SkipReason,
  makeOrder,
  signOrder,
  type Fill,
  type Order,
} from "../helpers/orders";

const SEED = Number(process.env.PROPERTY_SEED ?? 42);
const RUNS = Number(process.env.PROPERTY_RUNS ?? 6);
const MAX_COMMANDS = Number(process.env.PROPERTY_MAX_COMMANDS ?? 200);
/** With PROPERTY_STEPS, seeds SEED, SEED + 1, … each run RUNS times until this many steps are done. */
const STEPS = Number(process.env.PROPERTY_STEPS ?? 0);

const USDC = 1;

/** A plain market-1 order spec, far from expiry, with the trader's next fresh nonce. */
function spec(fields: Partial<OrderSpec> & Pick<OrderSpec, "trader" | "isBuy" | "priceTicks" | "lots">): OrderSpec {
  return { marketId: 1n, flags: 0n, maxFeeBps: 100n, expiresIn: 1000n, nonceMode: 0, nonceSeed: 0, ...fields };
}

function summary(stats: Stats, seeds: string) {
  const skipped = Object.values(stats.skipped).reduce((a, b) => a + b, 0);
  const { matched, settledWithin, settledAfter, backOuts } = stats.firm;
  return (
    `${stats.steps} steps in ${stats.runs} runs (${seeds}): ${stats.fills} fills, ${stats.traded} traded, ` +
    `${skipped} skipped ${JSON.stringify(stats.skipped)}; firm matches: ${matched} fills matched, ` +
    `${settledWithin} settled within the firmness delay, ${settledAfter} after it, ${backOuts} trader ` +
    `actions while a match waited; commands ${JSON.stringify(stats.commands)}; ` +
    `expected reverts ${JSON.stringify(stats.expectedReverts)}`
  );
}

describe("Exchange stateful property", function () {
  const stats = newStats();
  let lastSeed = SEED;

  after(function () {
    const seeds = lastSeed === SEED ? `seed ${SEED}` : `seeds ${SEED}..${lastSeed}`;
    console.log(`      property: ${summary(stats, seeds)}`);
  });

  it("agrees with the model and keeps every invariant under random sequences of actions", async function () {
    this.timeout(0);
    const property = fc.asyncProperty(
      fc.commands(allCommands, { maxCommands: MAX_COMMANDS, size: "max" }),
      async (commands) => {
        await fc.asyncModelRun(() => setupWorld(stats), commands);
      },
    );
    for (let seed = SEED; ; seed += 1) {
      lastSeed = seed;
      await fc.assert(property, { seed, numRuns: RUNS });
      if (stats.steps >= STEPS) break;
    }
    // With enough steps, the sequences must reach the interesting states, not only pass.
    if (stats.steps < 3000) return;
    expect(stats.traded, "fills traded").to.be.greaterThan(RUNS);
    expect(stats.firm.settledWithin, "firm fills settled within the delay").to.be.greaterThan(0);
    expect(stats.firm.backOuts, "trader actions while a match waited").to.be.greaterThan(0);
    for (const reason of [
      "MakerCancelled",
      "TakerExpired",
      "MakerNonceBelowFloor",
      "SelfTrade",
      "FillOrKillIncomplete",
      "MarketHalted",
      "PriceOutsideBand",
      "VelocityLimitReached",
      "ReferencePriceUnavailable",
      "MakerCancelAfterPassed",
      "TakerCancelAfterPassed",
      "MakerWindowLimitReached",
      "TakerWindowLimitReached",
      "MakerSignatureRejected",
      "TakerSignatureRejected",
    ]) {
      expect(stats.skipped[reason] ?? 0, `fills skipped with ${reason}`).to.be.greaterThan(0);
    }
  });

  // The concrete twin: one known sequence through the same commands, model and checks, with its
  // outcome written out. Pool indices in `Settle` count the takers (then makers) that fit, oldest first.
  it("settles a known sequence: a fill, an IOC that cannot fill again, and an expired maker under a fill-or-kill", async function () {
    const twin = newStats();
    const { model, real } = await setupWorld(twin);
    const commands = [
      new SignOrder(spec({ trader: 0, isBuy: false, priceTicks: 100n, lots: 5n, expiresIn: 100n })), // alice, nonce 0
      new SignOrder(spec({ trader: 1, isBuy: true, priceTicks: 101n, lots: 8n, flags: IMMEDIATE_OR_CANCEL })), // bob, nonce 0
      // bob's IOC bid takes alice's 5 lots at her price, 100 ticks.
      new Settle([{ market: 1n, taker: 1, maker: 0, size: 100, careful: true, riskAware: true }]),
      new SignOrder(spec({ trader: 0, isBuy: false, priceTicks: 99n, lots: 3n, expiresIn: 30n })), // alice, nonce 1
      // bob's IOC bid is dead after its call: a keeper that sends it again gets TakerCancelled.
      new Settle([{ market: 1n, taker: 0, maker: 0, size: 100, careful: false, riskAware: true }]),
      new TimePasses(100),
      new Deposit(2, USDC, 10n ** 6n),
      new SignOrder(spec({ trader: 2, isBuy: true, priceTicks: 100n, lots: 3n, flags: FILL_OR_KILL })), // carol, nonce 1000
      // carol's fill-or-kill bid meets alice's expired ask: MakerExpired, nothing moves.
      new Settle([{ market: 1n, taker: 2, maker: 0, size: 100, careful: false, riskAware: true }]),
      new SetFees(1n, 0n, 100n),
      new Cancel(0, [0]), // alice's latest nonce, 1: dead once the firmness delay has passed
      new TimePasses(30),
    ];
    await fc.asyncModelRun(() => ({ model, real }), commands);

    expect(twin.steps).to.equal(commands.length);
    expect(twin.traded).to.equal(1);
    expect(twin.skipped).to.deep.equal({ TakerCancelled: 1, MakerExpired: 1 });
    const [alice, bob, carol] = real.traders;
    const [weth, usdc] = real.tokenAddresses;
    // 5 lots * 100 ticks * 100 atoms = 50_000 USDC atoms; maker fee 5 bps = 25, taker fee 10 bps = 50.
    expect(await real.exchange.balanceOf(alice.address, usdc)).to.equal(200_000n + 50_000n - 25n);
    expect(await real.exchange.balanceOf(alice.address, weth)).to.equal(2n * 10n ** 17n - 5n * 10n ** 16n);
    expect(await real.exchange.balanceOf(bob.address, usdc)).to.equal(200_000n - 50_000n - 50n);
    expect(await real.exchange.balanceOf(bob.address, weth)).to.equal(2n * 10n ** 17n + 5n * 10n ** 16n);
    expect(await real.exchange.balanceOf(real.admin.address, usdc)).to.equal(75n);
    expect(await real.exchange.balanceOf(carol.address, usdc)).to.equal(200_000n + 10n ** 6n);
    expect(await real.exchange.filled(alice.address, 0n)).to.equal(5n);
    expect(await real.exchange.filled(alice.address, 1n)).to.equal(MAX_UINT64);
    expect(await real.exchange.filled(bob.address, 0n)).to.equal(MAX_UINT64);
    expect(await real.exchange.filled(carol.address, 1000n)).to.equal(0n);
  });

  // The same for the risk limits: a band, a velocity limit, a cancel-after deadline, a window limit
  // and its loosening, a halt and a pause, each stopping a fill the keeper sends anyway.
  it("settles a known sequence through the risk limits", async function () {
    const twin = newStats();
    const { model, real } = await setupWorld(twin);
    const aware = { market: 1n, taker: 2, careful: true, riskAware: true };
    const blind = { market: 1n, taker: 2, careful: false, riskAware: false };
    const commands = [
      new SetPriceBand(1n, 200n, 100n, false), // [98, 102] around 100
      new SetVelocityLimit(1n, 4n),
      new SignOrder(spec({ trader: 0, isBuy: false, priceTicks: 103n, lots: 3n, expiresIn: 9000n })), // alice, nonce 0
      new SignOrder(spec({ trader: 0, isBuy: false, priceTicks: 101n, lots: 5n, expiresIn: 9000n })), // alice, nonce 1
      new SignOrder(spec({ trader: 1, isBuy: true, priceTicks: 104n, lots: 10n, expiresIn: 9000n })), // bob, nonce 0
      // bob takes 3 lots at 103 (above the band) and then 5 at 101 (above 4 lots per block). (With
      // alice's 103 ask planned away, the orders that can take are her 101 ask and bob's bid.)
      new Settle([
        { ...blind, maker: 0, size: 100 },
        { ...blind, taker: 1, maker: 0, size: 100 },
      ]),
      // A keeper that knows the limits takes 80% of the 4 lots left in the block: 3 lots at 101.
      new Settle([{ ...aware, maker: 1, size: 80 }]),
      // bob's dead-man's switch went off (once the firmness delay passed): his bid cannot take alice's
      // last 2 lots at 101.
      new SetCancelAfter(1, "past", 10n),
      new TimePasses(30),
      new Settle([{ ...blind, maker: 1, size: 100 }]),
      new SetCancelAfter(1, "off", 0n),
      // alice caps herself at 1 lot per 600 s (in force after the delay): her 2 lots at 101 cannot
      // fill; loosening to 5 waits an hour.
      new SetWindowLimit(0, 1n, "set", 1n, 600n),
      new TimePasses(30),
      new Settle([{ ...blind, maker: 1, size: 100 }]),
      new SetWindowLimit(0, 1n, "loosen", 4n, 0n),
      new Settle([{ ...blind, maker: 1, size: 100 }]),
      new TimePasses(3601),
      new Settle([{ ...aware, maker: 1, size: 100 }]), // the 2 lots at 101 now fill
      new SetHalted(1n, true, false, false),
      new Settle([{ ...blind, maker: 0, size: 100 }]), // alice's 103 ask is in the band around 101, but halted
      new SetPaused(true, false, false),
      new Settle([{ ...blind, maker: 0, size: 100 }]), // EnforcedPause
      new SetPaused(false, false, false),
    ];
    await fc.asyncModelRun(() => ({ model, real }), commands);

    expect(twin.steps).to.equal(commands.length);
    expect(twin.traded).to.equal(2);
    expect(twin.skipped).to.deep.equal({
      PriceOutsideBand: 1,
      VelocityLimitReached: 1,
      TakerCancelAfterPassed: 1,
      MakerWindowLimitReached: 2,
      MarketHalted: 1,
    });
    expect(twin.expectedReverts).to.deep.equal({ "EnforcedPause (settle)": 1 });
    const [alice, bob] = real.traders;
    expect(await real.exchange.filled(alice.address, 1n)).to.equal(5n);
    expect(await real.exchange.filled(bob.address, 0n)).to.equal(5n);
    // The band now sits around 101, the last price; alice's window holds the 2 lots of the last fill.
    const [, , , , , lastPriceTicks] = await real.exchange.riskLimits(1n);
    expect(lastPriceTicks).to.equal(101n);
    expect([...(await real.exchange.priceBounds(1n))]).to.deep.equal([true, 99n, 103n]);
    const [maxLots, windowSeconds, , usedLots] = await real.exchange.windowLimit(alice.address, 1n);
    expect([maxLots, windowSeconds, usedLots]).to.deep.equal([5n, 600n, 2n]);
  });

  // The firm-match twin: a firm keeper matches alice's ask and bob's bid; bob then cancels, raises his
  // floor and asks to withdraw all his quote, and the batch lands 20 s after the match — inside the
  // 30 s delay: it executes. The pair matched again (bob's bid as the maker) lands after the delay:
  // his cancel is in force.
  it("settles a known firm match inside the delay although its taker backs out, and skips it after", async function () {
    const twin = newStats();
    const { model, real } = await setupWorld(twin);
    const intent = { market: 1n, taker: 0, maker: 0, size: 50, careful: true, riskAware: true };
    const commands = [
      new SignOrder(spec({ trader: 0, isBuy: false, priceTicks: 100n, lots: 6n, expiresIn: 9000n })), // alice, nonce 0
      new SignOrder(spec({ trader: 1, isBuy: true, priceTicks: 100n, lots: 6n, expiresIn: 9000n })), // bob, nonce 0
      new Match([intent]), // 3 lots
      new Cancel(1, [0]),
      new CancelUpTo(1, "raise", 0),
      new WithdrawalStep("request", 1, USDC, 100n),
      new TimePasses(16),
      new SettleMatched(),
      new TimePasses(20),
      new Settle([{ ...intent, careful: false }]),
    ];
    await fc.asyncModelRun(() => ({ model, real }), commands);

    expect(twin.steps).to.equal(commands.length);
    expect(twin.firm).to.deep.equal({ matched: 1, settledWithin: 1, settledAfter: 0, backOuts: 3 });
    expect(twin.traded).to.equal(1);
    expect(twin.skipped).to.deep.equal({ MakerCancelled: 1 });
    const [alice, bob] = real.traders;
    expect(await real.exchange.filled(alice.address, 0n)).to.equal(3n);
    expect(await real.exchange.filled(bob.address, 0n)).to.equal(MAX_UINT64);
  });

  describe("known contract bugs (found by the property)", function () {
    /**
     * alice bids 2 lots fill-or-kill; the keeper fills it from bob's ask (cancelled) then carol's IOC
     * ask. The first fill skips, so the run is killed and the second fill is never looked at.
     */
    async function fokRunWithLateIocMaker() {
      const f = await loadFixture(twoMarketFixture);
      const { exchange, alice, bob, carol, dave, domain } = f;
      const bobAsk = makeOrder({ maker: bob.address, isBuy: false, nonce: 0n, priceTicks: 95n, lots: 1n });
      const carolIocAsk = makeOrder({
        maker: carol.address,
        isBuy: false,
        nonce: 0n,
        priceTicks: 95n,
        lots: 1n,
        flags: IMMEDIATE_OR_CANCEL,
      });
      const aliceFok = makeOrder({
        maker: alice.address,
        isBuy: true,
        nonce: 0n,
        priceTicks: 95n,
        lots: 2n,
        flags: FILL_OR_KILL,
      });
      await exchange.connect(bob).cancel([0n]);
      await time.increase(30); // the firmness delay
      const orders: Order[] = [bobAsk, carolIocAsk, aliceFok];
      const signatures = [
        await signOrder(bob, domain, bobAsk),
        await signOrder(carol, domain, carolIocAsk),
        await signOrder(alice, domain, aliceFok),
      ];
      const fills: Fill[] = [
        { makerIndex: 0n, takerIndex: 2n, lots: 1n },
        { makerIndex: 1n, takerIndex: 2n, lots: 1n },
      ];
      return { ...f, orders, signatures, fills, carolIocAsk, dave };
    }

    // Found by the property (seed 42): an IOC maker used by a fill of a fill-or-kill run after the
    // fill that skipped was left alive. Shrunk counterexample:
    //   sign(alice, market 1, buy 1@97, nonce 0),
    //   sign(alice, market 1, sell 2@95, IMMEDIATE_OR_CANCEL | FILL_OR_KILL, nonce 1),
    //   sign(alice, market 1, buy 1@97, IMMEDIATE_OR_CANCEL, maxFeeBps 0, nonce 2),
    //   settle(nonce 1 sells 1 to nonce 0 (SelfTrade), then 1 to nonce 2)
    //   → filled(alice, 2) read 0 instead of 2^64-1.
    it("kills an IOC maker of a fill-or-kill run even when an earlier fill of the run skipped", async function () {
      const { exchange, keeper, orders, signatures, fills, carolIocAsk, dave, domain } = await fokRunWithLateIocMaker();
      await expect(exchange.connect(keeper).settle(orders, signatures, fills))
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MakerCancelled)
        .and.to.emit(exchange, "FillSkipped")
        .withArgs(1n, SkipReason.FillOrKillIncomplete);
      expect(await exchange.filled(carolIocAsk.maker, carolIocAsk.nonce)).to.equal(MAX_UINT64);

      // And so a later call cannot fill it.
      const daveBid = makeOrder({ maker: dave.address, isBuy: true, nonce: 0n, priceTicks: 95n, lots: 1n });
      await expect(
        exchange
          .connect(keeper)
          .settle(
            [carolIocAsk, daveBid],
            [signatures[1], await signOrder(dave, domain, daveBid)],
            [{ makerIndex: 0n, takerIndex: 1n, lots: 1n }],
          ),
      )
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MakerCancelled);
    });

    // Found reading the code: the fills of a run after the one that skipped were not checked for
    // keeper mistakes, so whether a mistake reverted depended on a trader's state.
    it("reverts on a keeper mistake in a fill-or-kill run even after an earlier fill of the run skipped", async function () {
      const { exchange, keeper, orders, signatures, fills } = await fokRunWithLateIocMaker();
      const outOfRange = [fills[0], { makerIndex: 7n, takerIndex: 2n, lots: 1n }];
      await expect(exchange.connect(keeper).settle(orders, signatures, outOfRange))
        .to.be.revertedWithCustomError(exchange, "OrderIndexOutOfRange")
        .withArgs(1n, 7n, 3n);
    });

    it("reverts on a keeper mistake in a fill-or-kill run when every earlier fill of the run executes", async function () {
      const { exchange, keeper, alice, bob, carol, domain } = await loadFixture(twoMarketFixture);
      const bobAsk = makeOrder({ maker: bob.address, isBuy: false, nonce: 0n, priceTicks: 95n, lots: 1n });
      const aliceFok = makeOrder({
        maker: alice.address,
        isBuy: true,
        nonce: 0n,
        priceTicks: 95n,
        lots: 2n,
        flags: FILL_OR_KILL,
      });
      const carolBid = makeOrder({ maker: carol.address, isBuy: true, nonce: 0n, priceTicks: 95n, lots: 1n });
      const signatures = [
        await signOrder(bob, domain, bobAsk),
        await signOrder(alice, domain, aliceFok),
        await signOrder(carol, domain, carolBid),
      ];
      // The second fill's maker is on the taker's side: a keeper mistake, found once the first fill executed.
      const fills: Fill[] = [
        { makerIndex: 0n, takerIndex: 1n, lots: 1n },
        { makerIndex: 2n, takerIndex: 1n, lots: 1n },
      ];
      await expect(exchange.connect(keeper).settle([bobAsk, aliceFok, carolBid], signatures, fills))
        .to.be.revertedWithCustomError(exchange, "SameSide")
        .withArgs(1n, true);
    });
  });
  describe("known contract bugs in the risk limits", function () {
    // Found while extending the property to the risk limits (the model loads the run's market
    // before it snapshots a fill-or-kill run; the contract did not), and confirmed by these tests:
    // `_settleFillOrKill` saved the batch's risk state (riskFlags, lotsThisBlock, lastPriceTicks)
    // before the run's first fill loaded its market, and put that state back when the run was
    // abandoned. When the run was the first fill of its market in the batch, what it put back was
    // the previous market's state (or the empty state at the start of a batch): the market's later
    // fills were checked against the wrong limits (a halted market traded; a band or a velocity
    // limit was ignored), and the call wrote the previous market's last price into this market.
    // Fixed: the run's market is loaded before the snapshot.

    /** Orders of bob (ask 5), alice (fill-or-kill bid 2) and carol (bid 1) in `marketId`, at 100 ticks. */
    async function fokThenPlain(f: Awaited<ReturnType<typeof twoMarketFixture>>, marketId: bigint, nonce: bigint) {
      const { alice, bob, carol, domain } = f;
      const bobAsk = makeOrder({ maker: bob.address, marketId, isBuy: false, nonce, priceTicks: 100n, lots: 5n });
      const aliceFok = makeOrder({
        maker: alice.address,
        marketId,
        isBuy: true,
        nonce,
        priceTicks: 100n,
        lots: 2n,
        flags: FILL_OR_KILL,
      });
      const carolBid = makeOrder({ maker: carol.address, marketId, isBuy: true, nonce, priceTicks: 100n, lots: 1n });
      const orders = [bobAsk, aliceFok, carolBid];
      const signatures = [
        await signOrder(bob, domain, bobAsk),
        await signOrder(alice, domain, aliceFok),
        await signOrder(carol, domain, carolBid),
      ];
      return { orders, signatures };
    }

    it("executes no fill in a halted market after an abandoned fill-or-kill run opens the batch", async function () {
      const f = await loadFixture(twoMarketFixture);
      const { exchange, keeper, guardian } = f;
      await exchange.connect(guardian).haltMarket(1n);
      const { orders, signatures } = await fokThenPlain(f, 1n, 0n);
      const fills: Fill[] = [
        { makerIndex: 0n, takerIndex: 1n, lots: 2n }, // alice's fill-or-kill run: MarketHalted, abandoned
        { makerIndex: 0n, takerIndex: 2n, lots: 1n }, // carol: must skip with MarketHalted too
      ];
      await expect(exchange.connect(keeper).settle(orders, signatures, fills))
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MarketHalted)
        .and.to.emit(exchange, "FillSkipped")
        .withArgs(1n, SkipReason.MarketHalted)
        .and.not.to.emit(exchange, "Traded");
    });

    it("keeps a market's last price when a fill-or-kill run that opens its fills is abandoned", async function () {
      const f = await loadFixture(twoMarketFixture);
      const { exchange, keeper, admin, alice } = f;
      // Both markets track their last price (a band each); market 2's is 100.
      await exchange.connect(admin).setPriceBand(1n, 1000n, 99n);
      await exchange.connect(admin).setPriceBand(2n, 1000n, 100n);
      const m1 = await fokThenPlain(f, 1n, 0n);
      const m2 = await fokThenPlain(f, 2n, 1n);
      await exchange.connect(alice).cancel([1n]); // alice's market-2 fill-or-kill bid: its run is abandoned
      await time.increase(30); // once the firmness delay has passed
      // Market 1: carol buys 1 from bob at 100. Market 2: alice's cancelled fill-or-kill run.
      const orders = [...m1.orders, ...m2.orders];
      const signatures = [...m1.signatures, ...m2.signatures];
      const fills: Fill[] = [
        { makerIndex: 0n, takerIndex: 2n, lots: 1n },
        { makerIndex: 3n, takerIndex: 4n, lots: 2n },
      ];
      await expect(exchange.connect(keeper).settle(orders, signatures, fills))
        .to.emit(exchange, "FillSkipped")
        .withArgs(1n, SkipReason.TakerCancelled);
      // Market 1 settled at 100; nothing settled in market 2, whose last price must still be 100.
      expect((await exchange.riskLimits(1n))[5]).to.equal(100n);
      expect((await exchange.riskLimits(2n))[5], "market 2's last price").to.equal(100n);
    });

    // Found by the property test: `WindowLimit.set` once opened a new window at the time of the
    // call when the last one had ended, so setting a limit again moved the next window's start.
    it("starts a window with the first fill after the last one ended, even when the limit is set again", async function () {
      const { exchange, keeper, alice, bob, domain } = await loadFixture(twoMarketFixture);
      const ask = makeOrder({ maker: alice.address, isBuy: false, nonce: 0n, priceTicks: 100n, lots: 5n });
      const bid = makeOrder({ maker: bob.address, isBuy: true, nonce: 0n, priceTicks: 100n, lots: 5n });
      const signatures = [await signOrder(alice, domain, ask), await signOrder(bob, domain, bid)];
      const fillAt = async (timestamp: number) => {
        await time.setNextBlockTimestamp(timestamp);
        return exchange.connect(keeper).settle([ask, bid], signatures, [{ makerIndex: 0n, takerIndex: 1n, lots: 1n }]);
      };
      await exchange.connect(alice).setWindowLimit(1n, 1n, 60n);
      const t = await time.latest();
      await expect(fillAt(t + 1)).to.emit(exchange, "Traded"); // the first window: [t+1, t+61)
      await time.setNextBlockTimestamp(t + 100);
      await exchange.connect(alice).setWindowLimit(1n, 1n, 60n); // the same limit, after that window ended
      await expect(fillAt(t + 150)).to.emit(exchange, "Traded"); // opens the next window: [t+150, t+210)
      await expect(fillAt(t + 161))
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, SkipReason.MakerWindowLimitReached);
    });
  });
});
