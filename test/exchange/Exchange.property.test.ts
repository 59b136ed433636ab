/**
 * Stateful property test of the Exchange: random sequences of deposits, withdrawals, signed orders,
 * settled batches, cancels, nonce floors, time passing and fee changes, from four traders over two
 * markets, run against the contract and against a plain TypeScript model (model.ts). After every
 * step the chain must equal the model and every DESIGN.md invariant must hold (commands.ts).
 *
 * `npm test` runs a fixed seed; PROPERTY_SEED, PROPERTY_RUNS and PROPERTY_MAX_COMMANDS run more,
 * e.g. `PROPERTY_SEED=7 PROPERTY_RUNS=200 npx hardhat test test/exchange/Exchange.property.test.ts`.
 */
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  Cancel,
  Deposit,
  SetFees,
  Settle,
  SignOrder,
  TimePasses,
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
const RUNS = Number(process.env.PROPERTY_RUNS ?? 30);
const MAX_COMMANDS = Number(process.env.PROPERTY_MAX_COMMANDS ?? 100);

const USDC = 1;

/** A plain market-1 order spec, far from expiry, with the trader's next fresh nonce. */
function spec(fields: Partial<OrderSpec> & Pick<OrderSpec, "trader" | "isBuy" | "priceTicks" | "lots">): OrderSpec {
  return { marketId: 1n, flags: 0n, maxFeeBps: 100n, expiresIn: 1000n, nonceMode: 0, nonceSeed: 0, ...fields };
}

function summary(stats: Stats) {
  const skipped = Object.values(stats.skipped).reduce((a, b) => a + b, 0);
  return (
    `${stats.steps} steps in ${stats.runs} runs (seed ${SEED}): ${stats.fills} fills, ${stats.traded} traded, ` +
    `${skipped} skipped ${JSON.stringify(stats.skipped)}; commands ${JSON.stringify(stats.commands)}; ` +
    `expected reverts ${JSON.stringify(stats.expectedReverts)}`
  );
}

describe("Exchange stateful property", function () {
  const stats = newStats();

  after(function () {
    console.log(`      property: ${summary(stats)}`);
  });

  it("agrees with the model and keeps every invariant under random sequences of actions", async function () {
    this.timeout(0);
    await fc.assert(
      fc.asyncProperty(fc.commands(allCommands, { maxCommands: MAX_COMMANDS, size: "max" }), async (commands) => {
        await fc.asyncModelRun(() => setupWorld(stats), commands);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // With enough steps, the sequences must reach the interesting states, not only pass.
    if (RUNS * MAX_COMMANDS < 3000) return;
    expect(stats.traded, "fills traded").to.be.greaterThan(RUNS);
    for (const reason of [
      "MakerCancelled",
      "TakerExpired",
      "MakerNonceBelowFloor",
      "SelfTrade",
      "FillOrKillIncomplete",
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
      new Settle([{ market: 1n, taker: 1, maker: 0, size: 100, careful: true }]),
      new SignOrder(spec({ trader: 0, isBuy: false, priceTicks: 99n, lots: 3n, expiresIn: 30n })), // alice, nonce 1
      // bob's IOC bid is dead after its call: a keeper that sends it again gets TakerCancelled.
      new Settle([{ market: 1n, taker: 0, maker: 0, size: 100, careful: false }]),
      new TimePasses(100),
      new Deposit(2, USDC, 10n ** 6n),
      new SignOrder(spec({ trader: 2, isBuy: true, priceTicks: 100n, lots: 3n, flags: FILL_OR_KILL })), // carol, nonce 1000
      // carol's fill-or-kill bid meets alice's expired ask: MakerExpired, nothing moves.
      new Settle([{ market: 1n, taker: 2, maker: 0, size: 100, careful: false }]),
      new SetFees(1n, 0n, 100n),
      new Cancel(0, [0]), // alice's latest nonce, 1
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

  describe("known contract bugs (found by the property)", function () {
    /**
     * alice bids 2 lots fill-or-kill; the keeper fills it from bob's ask (cancelled) then carol's IOC
     * ask. The first fill skips, so the run is killed and the second fill is never looked at.
     */
    async function fokRunWithLateIocMaker() {
      const f = await loadFixture(twoMarketFixture);
      const { exchange, keeper, alice, bob, carol, dave, domain } = f;
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
});
