/**
 * The cached chain reads after a block with settled fills: an account's balance is served as a
 * lower bound (its value before the block less the most its fills can have debited) and its
 * unlimited window as it was, at once, while the new values are read; a limited window is waited
 * for. The node is held in each test: what is answered, is answered without it.
 *
 *   alice ── sells 10 lots (all her base) @ 200,000 ──▶ bob (IOC-style taker, pays the taker fee)
 */
import { expect } from "chai";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import type { Address } from "viem";
import { getPriceBounds, getWindowLimit, signOrder } from "@crossbook/sdk";
import { CachedChainReads, checkOrder, readRiskContextFrom } from "../../../keeper/src/risk";
import { LOT_SIZE, TAKER_FEE_BPS, TICK_SIZE } from "../../helpers/fixture";
import { fund, order, publicClient, sdkFixture, settleAsKeeper, type SdkEnv } from "../../sdk/support";
import { countingClient, pending } from "./support";

const PRICE = 200_000n;
const LOTS = 10n;
/** The quote atoms of the fill, and the most fee any market may charge on them (`MAX_FEE_BPS`, 100). */
const QUOTE_ATOMS = LOTS * PRICE * TICK_SIZE;
const MOST_FEE = (QUOTE_ATOMS * 100n) / 10_000n;

async function signed(env: SdkEnv, signer: SdkEnv["alice"], fields: Parameters<typeof order>[0]) {
  const o = order(fields);
  return { order: o, signature: await signOrder({ signer, order: o, domain: env.sdkDomain }) };
}

/** Alice holds exactly 10 lots of base, bob quote; both asked for in two blocks (steady). */
async function steadyTraders(prepare?: (env: SdkEnv) => Promise<void>) {
  const env = await loadFixture(sdkFixture);
  await prepare?.(env);
  await fund(env.exchange, env.base, env.alice, LOTS * LOT_SIZE);
  await fund(env.exchange, env.quote, env.bob, 10n ** 12n);
  const { client, hold, release } = countingClient();
  const reads = new CachedChainReads(client, env.addresses.exchange, { startBlock: 0n, nonceSeen: () => false });
  const alice = env.alice.address as Address;
  const bob = env.bob.address as Address;
  const { base, quote } = env.addresses;
  // Alice's order after the fill: asked for (with all its facts) before it too, as a maker's are.
  const again = await signed(env, env.alice, { maker: alice, isBuy: false, nonce: 3n, priceTicks: PRICE, lots: 5n });
  /** The risk check of `again`, on what the keeper holds once it saw the fill settle (nothing of hers reserved). */
  const check = () =>
    readRiskContextFrom(reads, env.addresses.exchange, again, { chainId: env.sdkDomain.chainId, openOrders: [] }).then(
      (context) => checkOrder(again.order, again.signature, context),
    );
  const asks = () =>
    Promise.all([
      reads.balance(alice, base),
      reads.balance(alice, quote),
      reads.balance(bob, quote),
      reads.windowLimit(alice, 1n),
      reads.market(1n),
    ]);
  await reads.sync();
  await asks();
  expect(await check()).to.deep.equal({ ok: true });
  await mine(1);
  await reads.sync();
  const before = await asks();
  expect(await check()).to.deep.equal({ ok: true });
  /** Alice sells all her base to bob, settled on-chain. */
  const trade = async (priceTicks = PRICE) => {
    const ask = await signed(env, env.alice, { maker: alice, isBuy: false, nonce: 1n, priceTicks, lots: LOTS });
    const bid = await signed(env, env.bob, { maker: bob, isBuy: true, nonce: 2n, priceTicks, lots: LOTS });
    const outcome = await settleAsKeeper(env, [ask, bid], [{ makerIndex: 0n, takerIndex: 1n, lots: LOTS }]);
    expect(outcome.trades).to.have.lengthOf(1);
  };
  return { env, reads, hold, release, asks, before, trade, check };
}

describe("keeper risk: balances and windows after settled fills", () => {
  it("serves a balance less the most its fills can have debited without waiting for the node", async () => {
    const { reads, hold, release, asks, before, trade } = await steadyTraders();
    await trade();
    hold();
    await reads.sync();
    const during = asks();
    // with the node's calls held: were it waiting on them, this would never resolve (the test times out)
    const [aliceBase, aliceQuote, bobQuote, window] = await during;
    expect(aliceBase).to.equal(0n); // she sold all of it
    expect(aliceQuote).to.equal(before[1]); // her proceeds are not counted until read
    expect(bobQuote).to.equal((before[2] as bigint) - QUOTE_ATOMS - MOST_FEE); // the highest fee, not the market's
    expect(window).to.deep.equal(before[3]); // no window limit: fills record no use

    // A refusal resting on these bounds is read again once the new values are in, though they
    // arrived before it asked (same block).
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(await reads.refresh()).to.equal(true);
    const after = await asks();
    expect(after[1]).to.be.greaterThan(before[1] as bigint);
    expect(after[2]).to.equal((before[2] as bigint) - QUOTE_ATOMS - (QUOTE_ATOMS * TAKER_FEE_BPS) / 10_000n);
  });

  it("refuses an order of an account its fill drained, on the bound, while the node is busy", async () => {
    const { reads, hold, trade, check } = await steadyTraders();
    await trade();
    hold();
    await reads.sync();
    // Alice tries to sell again what she no longer holds, before the keeper has her new balance.
    const decision = check();
    // with the node's calls held: were it waiting on them, this would never resolve (the test times out)
    expect(await decision).to.deep.include({ ok: false, code: "INSUFFICIENT_BALANCE" });
  });

  it("narrows a market's price bounds to the band around the last fill's price without waiting", async () => {
    // A 10% band around the last price (no feed), 200,000 ticks to start: [180,000, 220,000].
    const { env, reads, hold, release, trade } = await steadyTraders(async (e) => {
      await (await e.exchange.connect(e.admin).setPriceBand(1n, 1_000n, PRICE)).wait();
    });
    expect(await reads.priceBounds(1n)).to.deep.equal({
      available: true,
      minPriceTicks: 180_000n,
      maxPriceTicks: 220_000n,
    });
    await trade(210_000n); // the reference becomes 210,000: [189,000, 231,000] on-chain
    hold();
    await reads.sync();
    const served = reads.priceBounds(1n);
    // with the node's calls held: were it waiting on them, this would never resolve (the test times out)
    // No wider than the chain's, whichever the reference is (the feed's, which fills do not move, or the last price).
    expect(await served).to.deep.equal({ available: true, minPriceTicks: 189_000n, maxPriceTicks: 220_000n });
    release();
    expect(await getPriceBounds(publicClient, { exchange: env.addresses.exchange, marketId: 1n })).to.deep.include({
      available: true,
      minPriceTicks: 189_000n,
      maxPriceTicks: 231_000n,
    });
  });

  it("waits for a limited window's use after a fill in its market", async () => {
    const { env, reads, hold, release, asks, before, trade } = await steadyTraders();
    await (await env.exchange.connect(env.alice).setWindowLimit(1n, 1_000n, 3_600n)).wait();
    await mine(1);
    hold();
    await reads.sync(); // the change named alice: waited for
    release();
    const limited = (await asks())[3];
    expect(limited).to.not.deep.equal(before[3]);
    await trade();
    hold();
    await reads.sync();
    const window = reads.windowLimit(env.alice.address as Address, 1n);
    expect(await pending(window)).to.equal(true);
    release();
    expect(await window).to.deep.equal(
      await getWindowLimit(publicClient, {
        exchange: env.addresses.exchange,
        account: env.alice.address as Address,
        marketId: 1n,
      }),
    );
  });
});
