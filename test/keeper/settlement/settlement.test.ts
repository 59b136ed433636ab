/**
 * Settlement against the in-process Hardhat network: batches built from the engine's matches,
 * simulated, signed locally, sent, confirmed and reconciled — and what goes wrong on the way:
 * skipped fills, simulation reverts, a paused exchange, stuck and dropped transactions, and a
 * crash between sending a batch and seeing its receipt.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { Address } from "viem";
import { hashOrder, signOrder } from "@crossbook/sdk";
import { Outcome } from "../../../keeper/src/settlement";
import { LOT_SIZE } from "../../helpers/fixture";
import { hre, order, publicClient } from "../../sdk/support";
import {
  advance,
  CONFIG,
  GWEI,
  matchAliceWithBob,
  mine,
  names,
  openKeeper,
  setAutomine,
  settlementFixture,
  submit,
  tempDb,
  tradedCount,
  type Env,
  type Keeper,
} from "./support";

async function balance(env: Env, who: { address: string }, token: "base" | "quote"): Promise<bigint> {
  return env.exchange.balanceOf(who.address, await env[token].getAddress());
}

/** Steps the keeper once, mines one block (the confirmation), steps again. */
async function settleOnce(keeper: Keeper): Promise<void> {
  await keeper.settlement.tick();
  await mine();
  await keeper.settlement.tick();
}

describe("keeper/settlement: Settlement on the Hardhat network", function () {
  afterEach(async function () {
    await setAutomine(true);
  });

  it("settles orders from several traders matched by the engine", async function () {
    //   alice sells 10 @ 200,000     bob sells 5 @ 200,100
    //   carol buys 12 @ 200,100  →  10 from alice, 2 from bob
    //   dave buys 3 @ 200,100    →  3 from bob
    const env = await loadFixture(settlementFixture);
    const keeper = await openKeeper(env, tempDb());
    const before = {
      carol: await balance(env, env.carol, "base"),
      dave: await balance(env, env.dave, "base"),
      alice: await balance(env, env.alice, "base"),
      bob: await balance(env, env.bob, "base"),
    };
    await submit(keeper, env, env.alice, { isBuy: false, nonce: 1n, lots: 10n });
    await submit(keeper, env, env.bob, { isBuy: false, nonce: 1n, lots: 5n, priceTicks: 200_100n });
    await submit(keeper, env, env.carol, { isBuy: true, nonce: 1n, lots: 12n, priceTicks: 200_100n });
    await submit(keeper, env, env.dave, { isBuy: true, nonce: 1n, lots: 3n, priceTicks: 200_100n });
    expect(keeper.store.pendingFills()).to.have.lengthOf(3);

    await keeper.settlement.tick(); // simulated, sent, mined (automine)
    expect(keeper.store.pendingFills()).to.have.lengthOf(0);
    expect(keeper.outcomes).to.deep.equal([]); // waiting for one confirmation
    await advance(keeper);

    expect(names(keeper.outcomes)).to.deep.equal([Outcome.SETTLED]);
    const settled = keeper.outcomes[0]!;
    expect(settled.settled).to.equal(3);
    expect(settled.skipped).to.equal(0);
    expect(settled.gasPerFill! > 0n).to.equal(true);
    expect(settled.latenciesMs).to.have.lengthOf(3);
    for (const id of settled.fillIds) expect(keeper.store.getFill(id)?.status).to.equal("settled");
    expect(keeper.store.getBatch(settled.batchId!)?.status).to.equal("mined");
    expect(keeper.store.lastReconciledBlock()).to.equal(settled.blockNumber);
    expect(await tradedCount(env)).to.equal(3);

    expect((await balance(env, env.carol, "base")) - before.carol).to.equal(12n * LOT_SIZE);
    expect((await balance(env, env.dave, "base")) - before.dave).to.equal(3n * LOT_SIZE);
    expect(before.alice - (await balance(env, env.alice, "base"))).to.equal(10n * LOT_SIZE);
    expect(before.bob - (await balance(env, env.bob, "base"))).to.equal(5n * LOT_SIZE);

    // Nothing left: another step sends nothing.
    await keeper.settlement.tick();
    expect(keeper.settlement.inFlight).to.equal(0);
  });

  it("never sends a fill whose maker cancelled on-chain since: skipped before sending, the taker's lots back in the book", async function () {
    //   alice sells 10; bob buys 4 → matched; alice cancels nonce 1 on-chain, in force before the batch.
    const env = await loadFixture(settlementFixture);
    const keeper = await openKeeper(env, tempDb());
    const ask = await submit(keeper, env, env.alice, { isBuy: false, nonce: 1n, lots: 10n });
    const bid = await submit(keeper, env, env.bob, { isBuy: true, nonce: 1n, lots: 4n, priceTicks: 200_000n });
    await (await env.exchange.connect(env.alice).cancel([1n])).wait();
    await time.increase(await env.exchange.firmnessDelay()); // the cancel takes effect after the delay

    await settleOnce(keeper);

    expect(names(keeper.outcomes)).to.deep.equal([Outcome.SKIPPED]);
    expect(keeper.outcomes[0]!.skipReasons).to.deep.equal({ MakerCancelled: 1 });
    expect(keeper.sent).to.deep.equal([]);
    const [fill] = keeper.store.fillsOfOrder(bid);
    expect(fill?.status).to.equal("skipped");
    expect(fill?.skipReason).to.equal("MakerCancelled");
    expect(keeper.store.getOrder(ask)?.status).to.equal("cancelled");
    expect(keeper.store.getOrder(bid)?.status).to.equal("open");
    expect(keeper.store.getOrder(bid)?.remainingLots).to.equal(4n);
    expect(keeper.engine.book(1n)?.get(bid)).to.not.equal(undefined);
    expect(await tradedCount(env)).to.equal(0);
  });

  it("settles a fill matched before the maker's on-chain cancel while the firmness delay runs", async function () {
    //   alice sells 10; bob buys 4 → matched; alice cancels nonce 1 on-chain; the batch lands within the delay.
    const env = await loadFixture(settlementFixture);
    const keeper = await openKeeper(env, tempDb());
    await submit(keeper, env, env.alice, { isBuy: false, nonce: 1n, lots: 10n });
    const bid = await submit(keeper, env, env.bob, { isBuy: true, nonce: 1n, lots: 4n, priceTicks: 200_000n });
    await (await env.exchange.connect(env.alice).cancel([1n])).wait();

    await settleOnce(keeper);

    expect(names(keeper.outcomes)).to.deep.equal([Outcome.SETTLED]);
    expect(keeper.outcomes[0]!.skipReasons).to.deep.equal({});
    expect(keeper.store.fillsOfOrder(bid)[0]?.status).to.equal("settled");
    expect(await tradedCount(env)).to.equal(1);
  });

  it("the chain skips the fill of an order whose signature does not verify, and settles the rest", async function () {
    //   a forged ask by alice (signed by dave) sits in the store; carol buys into it and into bob's ask.
    const env = await loadFixture(settlementFixture);
    const db = tempDb();
    const first = await openKeeper(env, db);
    const forged = order({ maker: env.alice.address as Address, isBuy: false, nonce: 7n, lots: 5n });
    const forgedHash = hashOrder({ order: forged, domain: env.sdkDomain });
    first.store.acceptOrder({
      hash: forgedHash,
      order: forged,
      signature: await signOrder({ signer: env.dave, order: forged, domain: env.sdkDomain }),
      seq: first.store.nextSeq(1n),
      rested: true,
      at: Date.now(),
    });
    const keeper = await openKeeper(env, db); // the book is rebuilt with the forged ask in it
    await submit(keeper, env, env.bob, { isBuy: false, nonce: 1n, lots: 5n, priceTicks: 200_100n });
    const bid = await submit(keeper, env, env.carol, { isBuy: true, nonce: 1n, lots: 8n, priceTicks: 200_100n });
    const [bad, good] = keeper.store.fillsOfOrder(bid);
    expect(bad?.makerHash).to.equal(forgedHash);

    await settleOnce(keeper);

    // A signature that does not verify is a skip on-chain (it no longer reverts the batch).
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.SETTLED]);
    expect(keeper.outcomes[0]!.skipReasons).to.deep.equal({ MakerSignatureRejected: 1 });
    // Carol's lots matched again at once (the forged maker is gone) go in the next batch.
    await mine();
    await keeper.settlement.tick();
    expect(keeper.store.getFill(bad!.id)?.status).to.equal("skipped");
    expect(keeper.store.getFill(bad!.id)?.skipReason).to.equal("MakerSignatureRejected");
    expect(keeper.store.getFill(good!.id)?.status).to.equal("settled");
    // The forged order is out of the book for good, and carol's 5 lots were matched again, with bob's last 2.
    expect(keeper.store.getOrder(forgedHash)?.status).to.equal("cancelled");
    expect(keeper.engine.book(1n)?.get(forgedHash)).to.equal(undefined);
    const again = () => keeper.store.fillsOfOrder(bid).filter((f) => f.id > good!.id);
    expect(again().map((f) => [f.lots, f.status])).to.deep.equal([[2n, "settled"]]);
    expect(keeper.store.getOrder(bid)).to.include({ status: "partially-filled", filledLots: 5n, remainingLots: 3n });
    expect(await tradedCount(env)).to.equal(2);
  });

  it("retries with backoff while the exchange is paused, then settles", async function () {
    const env = await loadFixture(settlementFixture);
    const keeper = await openKeeper(env, tempDb());
    await matchAliceWithBob(keeper, env);
    await (await env.exchange.grantRole(await env.exchange.GUARDIAN_ROLE(), env.admin.address)).wait();
    await (await env.exchange.connect(env.admin).pause()).wait();

    await keeper.settlement.tick();
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.RETRY_NEXT_BLOCK]);
    expect(keeper.outcomes[0]!.reason).to.equal("EnforcedPause");
    const retryAt = keeper.outcomes[0]!.retryAtBlock!;
    await keeper.settlement.tick(); // same block: still backing off
    await advance(keeper);
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.RETRY_NEXT_BLOCK, Outcome.RETRY_NEXT_BLOCK]);
    expect(keeper.outcomes[1]!.retryAtBlock! - retryAt).to.equal(2n); // 1 block, then 2

    await (await env.exchange.connect(env.admin).unpause()).wait();
    await mine(2);
    await settleOnce(keeper);
    expect(names(keeper.outcomes).slice(2)).to.deep.equal([Outcome.SETTLED]);
    expect(keeper.store.pendingFills()).to.have.lengthOf(0);
    expect(await tradedCount(env)).to.equal(1);
  });

  it("replaces a transaction stuck under a rising base fee, then settles with the replacement", async function () {
    const env = await loadFixture(settlementFixture);
    const keeper = await openKeeper(env, tempDb());
    await matchAliceWithBob(keeper, env);
    await setAutomine(false);

    await keeper.settlement.tick(); // sent at the current (low) fee
    const [sent] = keeper.store.pendingBatches();
    for (let i = 0; i < 3; i++) {
      await hre.network.provider.send("hardhat_setNextBlockBaseFeePerGas", [`0x${(100n * GWEI).toString(16)}`]);
      await mine();
      await keeper.settlement.tick();
    }
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.REPLACED]);
    const replaced = keeper.outcomes[0]!;
    expect(replaced.nonce).to.equal(sent!.nonce);
    expect(replaced.maxFeePerGas! >= (sent!.maxFeePerGas * 115n) / 100n).to.equal(true);
    expect(keeper.store.getBatch(sent!.id)?.status).to.equal("replaced");

    await mine(); // the replacement pays the base fee
    await keeper.settlement.tick();
    await advance(keeper);
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.REPLACED, Outcome.SETTLED]);
    expect(keeper.outcomes[1]!.txHash).to.equal(replaced.txHash);
    expect(keeper.store.getBatch(replaced.batchId!)?.status).to.equal("mined");
    expect(await tradedCount(env)).to.equal(1);
  });

  it("broadcasts again a transaction the node dropped while its nonce is unused", async function () {
    const env = await loadFixture(settlementFixture);
    const keeper = await openKeeper(env, tempDb());
    await matchAliceWithBob(keeper, env);
    await setAutomine(false);

    await keeper.settlement.tick();
    const [sent] = keeper.store.pendingBatches();
    expect(await hre.network.provider.send("hardhat_dropTransaction", [sent!.txHash])).to.equal(true);
    await mine(); // an empty block: the transaction is gone
    await keeper.settlement.tick();
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.RESENT]);
    expect(keeper.outcomes[0]!.txHash).to.equal(sent!.txHash);

    await advance(keeper, 2);
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.RESENT, Outcome.SETTLED]);
    expect(await tradedCount(env)).to.equal(1);
  });

  it("drops a batch whose nonce another transaction used, and sends its fills again", async function () {
    const env = await loadFixture(settlementFixture);
    const keeper = await openKeeper(env, tempDb());
    await matchAliceWithBob(keeper, env);
    await setAutomine(false);

    await keeper.settlement.tick();
    const [sent] = keeper.store.pendingBatches();
    await hre.network.provider.send("hardhat_dropTransaction", [sent!.txHash]);
    // Someone else with the keeper's key uses the nonce.
    const raw = await env.keeperAccount.signTransaction({
      type: "eip1559",
      chainId: 31337,
      to: env.keeperAccount.address,
      nonce: Number(sent!.nonce),
      gas: 21_000n,
      maxFeePerGas: 100n * GWEI,
      maxPriorityFeePerGas: GWEI,
    });
    await publicClient.sendRawTransaction({ serializedTransaction: raw });
    await mine(2); // used, and confirmed once
    await keeper.settlement.tick();
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.DROPPED]);
    expect(keeper.store.getBatch(sent!.id)?.status).to.equal("dropped");

    // The same step sent the fills again, under the next nonce.
    const [again] = keeper.store.pendingBatches();
    expect(again?.nonce).to.equal(sent!.nonce + 1n);
    await advance(keeper, 2);
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.DROPPED, Outcome.SETTLED]);
    expect(await tradedCount(env)).to.equal(1);
  });

  it("after a crash between sending and the receipt, every fill settles exactly once", async function () {
    //   alice sells 10, bob sells 10; carol buys 6, dave buys 8 → 3 fills in one batch.
    const env = await loadFixture(settlementFixture);
    const db = tempDb();
    const before = await openKeeper(env, db);
    await submit(before, env, env.alice, { isBuy: false, nonce: 1n, lots: 10n });
    await submit(before, env, env.bob, { isBuy: false, nonce: 1n, lots: 10n });
    const carol = await submit(before, env, env.carol, { isBuy: true, nonce: 1n, lots: 6n });
    const dave = await submit(before, env, env.dave, { isBuy: true, nonce: 1n, lots: 8n });
    await setAutomine(false);
    await before.settlement.tick(); // recorded, broadcast, not mined
    expect(before.store.pendingBatches()).to.have.lengthOf(1);
    // The process dies here: nothing is closed or stopped.

    const after = await openKeeper(env, db);
    await mine(); // the transaction is mined while the keeper is down
    await after.settlement.start();
    await mine();
    await after.settlement.tick();
    await after.settlement.stop();

    expect(names(after.outcomes)).to.deep.equal([Outcome.SETTLED]);
    const fills = [...after.store.fillsOfOrder(carol), ...after.store.fillsOfOrder(dave)];
    expect(fills).to.have.lengthOf(3);
    for (const f of fills) expect(f.status).to.equal("settled");
    expect(await tradedCount(env)).to.equal(3);
    // And nothing more is sent, however many blocks pass.
    await setAutomine(true);
    await mine(3);
    await after.settlement.tick();
    expect(after.store.pendingBatches()).to.have.lengthOf(0);
    expect(await tradedCount(env)).to.equal(3);
  });

  it("after a crash before the broadcast reached the node, the stored transaction is broadcast again", async function () {
    const env = await loadFixture(settlementFixture);
    const db = tempDb();
    const before = await openKeeper(env, db);
    await submit(before, env, env.alice, { isBuy: false, nonce: 1n, lots: 10n });
    await submit(before, env, env.bob, { isBuy: true, nonce: 1n, lots: 10n });
    await setAutomine(false);
    await before.settlement.tick();
    const [sent] = before.store.pendingBatches();
    await hre.network.provider.send("hardhat_dropTransaction", [sent!.txHash]); // as if never broadcast

    const after = await openKeeper(env, db);
    await after.settlement.start();
    expect(names(after.outcomes)).to.deep.equal([Outcome.RESENT]);
    await mine();
    await after.settlement.tick();
    await mine();
    await after.settlement.tick();
    expect(names(after.outcomes)).to.deep.equal([Outcome.RESENT, Outcome.SETTLED]);
    expect(after.store.getBatch(sent!.id)?.status).to.equal("mined");
    expect(await tradedCount(env)).to.equal(1);
  });

  it("sends a mined batch back to waiting when a reorg removes it before its confirmations", async function () {
    const env = await loadFixture(settlementFixture);
    const keeper = await openKeeper(env, tempDb(), { config: { ...CONFIG, confirmations: 2 } });
    await matchAliceWithBob(keeper, env);
    const snapshot = (await hre.network.provider.send("evm_snapshot", [])) as string;
    await setAutomine(false);
    await keeper.settlement.tick(); // sent
    const [sent] = keeper.store.pendingBatches();
    await mine();
    await keeper.settlement.tick(); // mined, 0 confirmations
    expect(keeper.outcomes).to.deep.equal([]);
    // The block is replaced by one without the transaction.
    await hre.network.provider.send("evm_revert", [snapshot]);
    await advance(keeper);
    // The node forgot the transaction with its block: it is broadcast again, then settles.
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.REORG, Outcome.RESENT]);
    await mine(3);
    await keeper.settlement.tick();
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.REORG, Outcome.RESENT, Outcome.SETTLED]);
    expect(keeper.outcomes[2]!.txHash).to.equal(sent!.txHash);
    expect(await tradedCount(env)).to.equal(1);
  });

  it("detects and reports a reorg that removes a batch after it was reconciled", async function () {
    const env = await loadFixture(settlementFixture);
    const keeper = await openKeeper(env, tempDb());
    await matchAliceWithBob(keeper, env);
    const snapshot = (await hre.network.provider.send("evm_snapshot", [])) as string;
    await settleOnce(keeper);
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.SETTLED]);
    const settled = keeper.outcomes[0]!;

    await hre.network.provider.send("evm_revert", [snapshot]);
    await mine(3);
    await keeper.settlement.tick();
    expect(names(keeper.outcomes)).to.deep.equal([Outcome.SETTLED, Outcome.REORG_BEYOND_CONFIRMATIONS]);
    expect(keeper.outcomes[1]!.txHash).to.equal(settled.txHash);
    // Reported once, not on every block.
    await advance(keeper);
    expect(names(keeper.outcomes)).to.have.lengthOf(2);
  });
});
