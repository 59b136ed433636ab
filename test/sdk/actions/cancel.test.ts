import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  ContractRevertError,
  MAX_UINT64,
  SkipReason,
  cancel,
  cancelUpTo,
  getFilled,
  getMinNonce,
  getOrderFillState,
  getPendingCancel,
  getPendingMinNonce,
  signOrder,
  type Order,
} from "@crossbook/sdk";
import { LOT_SIZE } from "../../helpers/fixture";
import { fund, fundedLocalAccount, order, publicClient, sdkFixture, settleAsKeeper, walletClient } from "../support";

describe("sdk/actions: cancel, cancelUpTo, fill state", function () {
  it("cancel takes effect after the firmness delay: getPendingCancel and endsAt say when, then getFilled reads MAX_UINT64", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange } = env.addresses;
    const account = await fundedLocalAccount();
    const o = order({ maker: account.address, isBuy: true, nonce: 9n });
    expect(await getOrderFillState(publicClient, { exchange, order: o })).to.deep.equal({
      filled: 0n,
      remaining: o.lots,
      cancelled: false,
      belowNonceFloor: false,
      endsAt: 0n,
    });
    const receipt = await publicClient.waitForTransactionReceipt({
      hash: await cancel(walletClient(account), { exchange, nonces: [9n, 11n] }),
    });
    const effectiveAt = (await publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp + 30n;
    expect(await getPendingCancel(publicClient, { exchange, maker: account.address, nonce: 9n })).to.equal(effectiveAt);
    expect(await getFilled(publicClient, { exchange, maker: account.address, nonce: 9n })).to.equal(0n);
    expect(await getOrderFillState(publicClient, { exchange, order: o })).to.deep.equal({
      filled: 0n,
      remaining: o.lots,
      cancelled: false,
      belowNonceFloor: false,
      endsAt: effectiveAt,
    });
    await time.increaseTo(effectiveAt);
    expect(await getPendingCancel(publicClient, { exchange, maker: account.address, nonce: 9n })).to.equal(0n);
    expect(await getFilled(publicClient, { exchange, maker: account.address, nonce: 9n })).to.equal(MAX_UINT64);
    expect(await getFilled(publicClient, { exchange, maker: account.address, nonce: 11n })).to.equal(MAX_UINT64);
    expect(await getFilled(publicClient, { exchange, maker: account.address, nonce: 10n })).to.equal(0n);
    expect(await getOrderFillState(publicClient, { exchange, order: o })).to.deep.equal({
      filled: 0n,
      remaining: 0n,
      cancelled: true,
      belowNonceFloor: false,
      endsAt: 0n,
    });
  });

  it("cancel of no nonces throws NothingToCancel", async function () {
    const env = await loadFixture(sdkFixture);
    const error = await cancel(walletClient(await fundedLocalAccount()), {
      exchange: env.addresses.exchange,
      nonces: [],
    }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ContractRevertError).with.property("errorName", "NothingToCancel");
  });

  it("cancelUpTo raises the floor getPendingMinNonce reads, and getMinNonce once in force; orders below it are dead; a lower floor throws NonceFloorNotRaised", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange } = env.addresses;
    const account = await fundedLocalAccount();
    const client = walletClient(account);
    const receipt = await publicClient.waitForTransactionReceipt({
      hash: await cancelUpTo(client, { exchange, minNonce: 100n }),
    });
    const effectiveAt = (await publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp + 30n;
    expect(await getMinNonce(publicClient, { exchange, maker: account.address })).to.equal(0n);
    expect(await getPendingMinNonce(publicClient, { exchange, maker: account.address })).to.deep.equal({
      minNonce: 100n,
      effectiveAt,
    });
    const waiting = order({ maker: account.address, isBuy: false, nonce: 99n });
    expect(await getOrderFillState(publicClient, { exchange, order: waiting })).to.include({ endsAt: effectiveAt });
    await time.increaseTo(effectiveAt);
    expect(await getMinNonce(publicClient, { exchange, maker: account.address })).to.equal(100n);
    expect(await getPendingMinNonce(publicClient, { exchange, maker: account.address })).to.deep.equal({
      minNonce: 0n,
      effectiveAt: 0n,
    });
    const below = order({ maker: account.address, isBuy: false, nonce: 99n });
    const at = order({ maker: account.address, isBuy: false, nonce: 100n });
    expect(await getOrderFillState(publicClient, { exchange, order: below })).to.include({
      belowNonceFloor: true,
      remaining: 0n,
    });
    expect(await getOrderFillState(publicClient, { exchange, order: at })).to.include({
      belowNonceFloor: false,
      remaining: at.lots,
    });

    const error = await cancelUpTo(client, { exchange, minNonce: 50n }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ContractRevertError);
    expect((error as ContractRevertError).namedArgs).to.deep.equal({ currentMinNonce: 100n, requestedMinNonce: 50n });
  });

  it("getOrderFillState counts a partial fill, and settle skips the maker's order once its cancel is in force (MakerCancelled)", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange } = env.addresses;
    await fund(env.exchange, env.base, env.alice, 100n * LOT_SIZE);
    await fund(env.exchange, env.quote, env.bob, 10n ** 12n);
    const sign = async (o: Order, signer: typeof env.alice) => ({
      order: o,
      signature: await signOrder({ signer, order: o, domain: env.sdkDomain }),
    });
    const ask = await sign(
      order({ maker: env.alice.address as `0x${string}`, isBuy: false, nonce: 1n, lots: 10n }),
      env.alice,
    );
    const bid = await sign(
      order({ maker: env.bob.address as `0x${string}`, isBuy: true, nonce: 1n, lots: 10n }),
      env.bob,
    );
    await settleAsKeeper(env, [ask, bid], [{ makerIndex: 0n, takerIndex: 1n, lots: 4n }]);
    expect(await getOrderFillState(publicClient, { exchange, order: ask.order })).to.deep.equal({
      filled: 4n,
      remaining: 6n,
      cancelled: false,
      belowNonceFloor: false,
      endsAt: 0n,
    });

    await publicClient.waitForTransactionReceipt({
      hash: await cancel(walletClient(env.alice.address as `0x${string}`), { exchange, nonces: [1n] }),
    });
    await time.increase(30);
    const { trades, skippedFills } = await settleAsKeeper(
      env,
      [ask, bid],
      [{ makerIndex: 0n, takerIndex: 1n, lots: 1n }],
    );
    expect(trades).to.deep.equal([]);
    expect(skippedFills).to.have.lengthOf(1);
    expect(skippedFills[0]).to.include({
      fillIndex: 0n,
      reason: SkipReason.MakerCancelled,
      reasonName: "MakerCancelled",
    });
  });
});
