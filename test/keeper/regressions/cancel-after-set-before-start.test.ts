/**
 * Regression (issue 16, the cancel-after fence): the keeper stops matching an account's orders once
 * the chain's time comes within the settlement horizon of the account's on-chain cancel-after
 * deadline. The block watcher learnt deadlines only from the `CancelAfterChanged` events it reads —
 * those from its start block on — so a deadline set before the keeper started never came "near":
 * the account's orders went on resting, and matching, up to the deadline and past it (every fill of
 * them then skipped on-chain). The risk check's own read of the deadline now counts too.
 *
 *   alice: setCancelAfter(T + 60)      ← before the keeper's start block
 *   keeper starts; alice rests an ask  (T + 60 is beyond the horizon: accepted)
 *   chain time T + 55                  → the ask leaves the book, reason chain-CANCEL_AFTER_PASSED
 */
import { expect } from "chai";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { getCancelAfter, setCancelAfter } from "@crossbook/sdk";
import { followBlock } from "../../../keeper/src/keeper";
import { CachedChainReads, readRiskContextFrom } from "../../../keeper/src/risk";
import { publicClient, sdkFixture, walletClient } from "../../sdk/support";
import { http, newTrader, orderOf, signedBody, startKeeper, type Keeper } from "../api/support";

/** The keeper's settlement horizon here, in seconds. */
const HORIZON = 10n;

describe("regression (issue 16): a cancel-after deadline set before the keeper started still fences its orders", function () {
  let k: Keeper | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  it("pulls the account's resting orders once the deadline is within the settlement horizon", async function () {
    const env = await sdkFixture();
    const alice = await newTrader(env);
    const exchange = env.addresses.exchange;
    const hash = await setCancelAfter(walletClient(alice.account), {
      exchange,
      deadline: BigInt(await time.latest()) + 60n,
    });
    await publicClient.waitForTransactionReceipt({ hash });
    const deadline = await getCancelAfter(publicClient, { exchange, account: alice.address });
    // The keeper reads events from the next block on: the CancelAfterChanged above is before it.
    const startBlock = (await publicClient.getBlockNumber()) + 1n;
    let reads: CachedChainReads | undefined;
    k = await startKeeper({
      env,
      engine: (store) => {
        const cached = new CachedChainReads(publicClient, exchange, {
          startBlock,
          nonceSeen: (maker, nonce) => store.hasNonce(maker, nonce),
        });
        reads = cached;
        return {
          readRiskContext: (signed, state) => readRiskContextFrom(cached, exchange, signed, state),
          freshen: () => cached.refresh(),
          horizonSeconds: Number(HORIZON),
        };
      },
    });
    const keeper = k;
    const chainReads = reads as CachedChainReads;
    await followBlock(chainReads, keeper.engine);

    const placed = await http(
      keeper.api.url,
      "POST",
      "/v1/orders",
      await signedBody(keeper, alice, orderOf(alice, { isBuy: false, lots: 2n })),
    );
    expect(placed.status, JSON.stringify(placed.body)).to.equal(201);
    const order = placed.body.hash as `0x${string}`;

    // Not yet within the horizon: the order rests.
    await followBlock(chainReads, keeper.engine);
    expect(keeper.store.getOrder(order)?.status).to.equal("open");

    await time.increaseTo(deadline - HORIZON + 1n);
    await followBlock(chainReads, keeper.engine);
    expect(keeper.store.getOrder(order)).to.include({ status: "cancelled", reason: "chain-CANCEL_AFTER_PASSED" });
    expect(keeper.engine.book(1n)?.get(order)).to.equal(undefined);
  });
});
