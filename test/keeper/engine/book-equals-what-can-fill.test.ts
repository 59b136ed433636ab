/**
 * End to end over random trader actions on the Hardhat network (issue 12): after every block the
 * keeper follows (`followBlock`), every order resting in its book can fill — its remaining lots
 * pass the chain's own checks as they will stand within the firmness delay, read independently
 * through the SDK: no cancel asked or in force, at or above the floor asked for, a cancel-after
 * deadline beyond the settlement horizon, within the tighter of the window limits in force and
 * waiting, and, per account and token, all its resting orders paid for by its balance less its
 * withdrawal request. And no order leaves the book with a `chain-` reason while the chain says it
 * could still fill for the named reason's kind (no needless pulls: cancel, floor, window, deadline).
 *
 *      3 traders, seeded: place asks and bids that do not cross · cancel · cancelUpTo ·
 *      requestWithdraw · deposit · setCancelAfter (earlier, later, off) · setWindowLimit · time passes
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Address, Hash, Hex } from "viem";
import {
  cancel,
  cancelUpTo,
  deposit,
  getBalance,
  getCancelAfter,
  getFilled,
  getMarket,
  getMinNonce,
  getPendingCancel,
  getPendingMinNonce,
  getWindowLimit,
  getWithdrawalRequest,
  MAX_UINT64,
  requestWithdraw,
  setCancelAfter,
  setWindowLimit,
  signOrder,
  type Market,
} from "@crossbook/sdk";
import { followBlock } from "../../../keeper/src/keeper";
import { orderReservation } from "../../../keeper/src/risk";
import type { StoredOrder } from "../../../keeper/src/store";
import { seededRandom } from "../../../scripts/bots/lib/taker";
import { LOT_SIZE } from "../../helpers/fixture";
import { mint, publicClient, sdkFixture, walletClient } from "../../sdk/support";
import { newTrader, orderOf, startKeeper, type Keeper, type Trader } from "../api/support";
import { cachedChainFacts } from "../support";

const HORIZON = 10n;
const STEPS = 40;

async function setup() {
  const env = await sdkFixture();
  const traders: Trader[] = [];
  // Modest balances, so that withdrawal requests and orders meet.
  for (let i = 0; i < 3; i++) traders.push(await newTrader(env, 60n * LOT_SIZE, 2n * 10n ** 11n));
  return { env, traders };
}

describe("keeper/engine: the book equals what can fill, after random on-chain trader actions", function () {
  for (const seed of [1, 2]) {
    it(`holds after every block the keeper follows (seed ${seed})`, async function () {
      this.timeout(300_000);
      const { env, traders } = await loadFixture(setup);
      const exchange = env.addresses.exchange;
      const facts = cachedChainFacts(exchange);
      const k = await startKeeper({
        env,
        engine: (store) => ({ ...facts.engine(store), horizonSeconds: Number(HORIZON) }),
      });
      const random = seededRandom(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
      const between = (lo: number, hi: number) => BigInt(lo + Math.floor(random() * (hi - lo + 1)));
      const market = (await getMarket(publicClient, { exchange, marketId: 1n })) as Market;
      const pulledFor = new Map<string, number>();
      try {
        await followBlock(facts.reads, k.engine);
        for (let step = 0; step < STEPS; step++) {
          const t = pick(traders);
          const wallet = walletClient(t.account);
          const roll = random();
          let tx: Hash | undefined;
          if (roll < 0.4) {
            // A resting order that does not cross: asks above 200,000 ticks, bids below.
            const isBuy = random() < 0.5;
            const o = orderOf(t, {
              isBuy,
              lots: between(1, 8),
              priceTicks: isBuy ? 190_000n - between(0, 50) : 210_000n + between(0, 50),
            });
            const signature = await signOrder({ signer: t.account, order: o, domain: env.sdkDomain });
            await k.engine.submit({ order: o, signature });
          } else if (roll < 0.5) {
            tx = await cancel(wallet, { exchange, nonces: [between(1, Number(t.nextNonce))] });
          } else if (roll < 0.55) {
            const floor = (await getPendingMinNonce(publicClient, { exchange, maker: t.address })).minNonce;
            const inForce = await getMinNonce(publicClient, { exchange, maker: t.address });
            const above = floor > inForce ? floor : inForce;
            tx = await cancelUpTo(wallet, { exchange, minNonce: above + between(1, 3) });
          } else if (roll < 0.65) {
            const token = random() < 0.5 ? env.addresses.base : env.addresses.quote;
            const balance = await getBalance(publicClient, { exchange, account: t.address, token });
            tx = await requestWithdraw(wallet, { exchange, token, amount: (balance * between(0, 100)) / 100n });
          } else if (roll < 0.7) {
            const amount = between(1, 10) * LOT_SIZE;
            await mint(env.base, t.address, amount);
            tx = (await deposit(wallet, { exchange, token: env.addresses.base, amount })).hash;
          } else if (roll < 0.8) {
            const now = BigInt(await time.latest());
            const deadline = pick([0n, now + between(1, 60), now + 3600n]);
            tx = await setCancelAfter(wallet, { exchange, deadline });
          } else if (roll < 0.87) {
            tx = await setWindowLimit(wallet, {
              exchange,
              marketId: 1n,
              maxLots: between(2, 12),
              windowSeconds: 3600n,
            });
          } else {
            await time.increase(between(1, 40));
          }
          if (tx !== undefined) {
            const receipt = await publicClient.waitForTransactionReceipt({ hash: tx }).catch(() => undefined);
            if (receipt === undefined) continue;
          }
          await followBlock(facts.reads, k.engine);
          await expectBookCanFill(k, exchange, market, traders, pulledFor);
        }
      } finally {
        await k.close();
      }
      // The run exercised the paths (a seed that pulls nothing proves little).
      expect(
        [...pulledFor.values()].reduce((a, b) => a + b, 0),
        JSON.stringify([...pulledFor]),
      ).to.be.greaterThan(2);
    });
  }
});

/** The invariant, read through the SDK at the latest block. */
async function expectBookCanFill(
  k: Keeper,
  exchange: Address,
  market: Market,
  traders: readonly Trader[],
  pulledFor: Map<string, number>,
): Promise<void> {
  const now = BigInt(await time.latest());
  const resting = k.engine.book(1n)?.restingOrders() ?? [];
  for (const t of traders) {
    const mine = resting.filter((r) => r.account.toLowerCase() === t.address.toLowerCase());
    const floor = await getMinNonce(publicClient, { exchange, maker: t.address });
    const pending = await getPendingMinNonce(publicClient, { exchange, maker: t.address });
    const effectiveFloor = pending.effectiveAt !== 0n && pending.minNonce > floor ? pending.minNonce : floor;
    const deadline = await getCancelAfter(publicClient, { exchange, account: t.address });
    const window = await getWindowLimit(publicClient, { exchange, account: t.address, marketId: 1n });
    const caps: bigint[] = [];
    if (window.windowSeconds !== 0n) caps.push(window.maxLots);
    if (window.pendingEffectiveAt !== 0n && window.pendingWindowSeconds !== 0n) caps.push(window.pendingMaxLots);
    const cap = caps.length === 0 ? undefined : caps.reduce((a, b) => (a < b ? a : b));
    const need = { base: 0n, quote: 0n };
    for (const r of mine) {
      const o = (k.store.getOrder(r.id as Hex) as StoredOrder).order;
      const what = `${t.address} nonce ${o.nonce}`;
      const filled = await getFilled(publicClient, { exchange, maker: t.address, nonce: o.nonce });
      const cancelAt = await getPendingCancel(publicClient, { exchange, maker: t.address, nonce: o.nonce });
      expect(filled === MAX_UINT64 || cancelAt !== 0n, `${what}: cancelled on-chain but resting`).to.equal(false);
      expect(o.nonce >= effectiveFloor, `${what}: below the floor ${effectiveFloor} but resting`).to.equal(true);
      expect(deadline === 0n || now + HORIZON <= deadline, `${what}: deadline ${deadline} within the horizon`).to.equal(
        true,
      );
      if (cap !== undefined) expect(r.lots <= cap, `${what}: ${r.lots} lots over the window cap ${cap}`).to.equal(true);
      const reserved = orderReservation(o, r.lots, market);
      if (o.isBuy) need.quote += reserved.atoms;
      else need.base += reserved.atoms;
    }
    for (const side of ["base", "quote"] as const) {
      const token = side === "base" ? market.base : market.quote;
      const balance = await getBalance(publicClient, { exchange, account: t.address, token });
      const requested = (await getWithdrawalRequest(publicClient, { exchange, account: t.address, token })).amount;
      const free = balance > requested ? balance - requested : 0n;
      expect(need[side] <= free, `${t.address}: resting orders need ${need[side]} ${side}, ${free} free`).to.equal(
        true,
      );
    }
    // No needless pull: an order pulled for a cancel, a floor or a window is one the chain now refuses.
    for (const o of k.store.ordersOf(t.address)) {
      if (o.status !== "cancelled" || o.reason === undefined || !o.reason.startsWith("chain-")) continue;
      pulledFor.set(o.hash, 1);
      if (o.reason === "chain-CANCELLED") {
        const filled = await getFilled(publicClient, { exchange, maker: t.address, nonce: o.order.nonce });
        const cancelAt = await getPendingCancel(publicClient, { exchange, maker: t.address, nonce: o.order.nonce });
        expect(filled === MAX_UINT64 || cancelAt !== 0n, `${o.hash} pulled as cancelled`).to.equal(true);
      }
      if (o.reason === "chain-NONCE_BELOW_FLOOR") {
        expect(o.order.nonce < effectiveFloor, `${o.hash} pulled below the floor`).to.equal(true);
      }
    }
  }
}
