/**
 * Issue 12 (the residual option): firm matches leave a trader one way out of a matched fill — an
 * ERC-1271 wallet that stops approving (or an EIP-7702 account that drops its delegation) skips at
 * settlement whatever the delay. Without rationing a taker could farm it: take, watch the price,
 * walk away from every losing fill. Now a fill skipped on-chain for a reason its account caused
 * starts a cooldown: the account's orders that would take are refused `TAKER_COOLDOWN` (with
 * `Retry-After`) for `takerCooldownSeconds` of the keeper's clock; its resting orders are taken.
 *
 *      alice rests asks; a wallet (owned by bob) buys 4 → matched
 *      bob switches the wallet to Reject → the batch lands: TakerSignatureRejected
 *      the wallet approves again and buys → TAKER_COOLDOWN; a bid below the asks rests; 60 s later it takes again
 *
 * Fails without the change: the wallet's second taking order is matched at once.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Address } from "viem";
import { signOrder, type Order } from "@crossbook/sdk";
import { LOT_SIZE } from "../../helpers/fixture";
import { ethers, order } from "../../sdk/support";
import { manualClock } from "../support";
import { mine, openKeeper, settlementFixture, submit, tempDb, type Env, type Keeper } from "../settlement/support";

const COOLDOWN_SECONDS = 60;

async function walletFixture() {
  const env = await settlementFixture();
  const Wallet = await ethers.getContractFactory("MockERC1271Wallet");
  const wallet = await Wallet.deploy(env.bob.address);
  const address = (await wallet.getAddress()) as Address;
  await env.quote.mint(address, 10n ** 13n);
  await (await wallet.connect(env.bob).deposit(env.addresses.exchange, env.addresses.quote, 10n ** 13n)).wait();
  await env.base.mint(address, 100n * LOT_SIZE);
  await (await wallet.connect(env.bob).deposit(env.addresses.exchange, env.addresses.base, 100n * LOT_SIZE)).wait();
  return { ...env, wallet, walletAddress: address };
}

type WalletEnv = Awaited<ReturnType<typeof walletFixture>>;

/** An order of the wallet, signed by its owner (bob): the wallet approves it while in mode Approve. */
async function walletOrder(keeper: Keeper, env: WalletEnv, fields: Partial<Order> & Pick<Order, "isBuy" | "nonce">) {
  const o = order({ maker: env.walletAddress, ...fields });
  const signature = await signOrder({ signer: env.bob, order: o, domain: env.sdkDomain });
  return keeper.engine.submit({ order: o, signature });
}

async function settleOnce(keeper: Keeper): Promise<void> {
  await keeper.settlement.tick();
  await mine();
  await keeper.settlement.tick();
}

describe("regression (issue 12): a taker that walks away through a residual option cools down", function () {
  it("refuses the account's taking orders for the cooldown after a skip it caused, and takes its resting ones", async () => {
    const env = await loadFixture(walletFixture);
    const clock = manualClock();
    const keeper = await openKeeper(env as unknown as Env, tempDb(), {
      engineOptions: { clock: clock.now, takerCooldownSeconds: COOLDOWN_SECONDS },
    });
    await submit(keeper, env, env.alice, { isBuy: false, nonce: 1n, lots: 10n, priceTicks: 200_000n });
    await submit(keeper, env, env.alice, { isBuy: false, nonce: 2n, lots: 10n, priceTicks: 200_000n });
    const first = await walletOrder(keeper, env, { isBuy: true, nonce: 1n, lots: 4n, priceTicks: 200_000n });
    expect(first.ok && first.trades.length).to.equal(1);

    // The taker's way out after the match: its wallet stops approving before the batch lands.
    await (await env.wallet.connect(env.bob).setMode(1)).wait(); // Reject
    await settleOnce(keeper);
    expect(keeper.outcomes.map((o) => o.skipReasons)).to.deep.include({ TakerSignatureRejected: 1 });
    expect(keeper.engine.takerCooldownUntil(env.walletAddress)).to.equal(clock.now() + COOLDOWN_SECONDS * 1000);
    // The maker did nothing wrong: it is not rationed.
    expect(keeper.engine.takerCooldownUntil(env.alice.address as Address)).to.equal(undefined);

    // Approving again does not end the cooldown: a taking order is refused, with when to come back.
    await (await env.wallet.connect(env.bob).setMode(0)).wait(); // Approve
    const refused = await walletOrder(keeper, env, { isBuy: true, nonce: 2n, lots: 4n, priceTicks: 200_000n });
    expect(refused).to.include({ ok: false, code: "TAKER_COOLDOWN", retryAfterSeconds: COOLDOWN_SECONDS });
    // A resting order is taken (it does not cross).
    const resting = await walletOrder(keeper, env, { isBuy: true, nonce: 3n, lots: 4n, priceTicks: 199_000n });
    expect(resting).to.include({ ok: true, status: "open" });

    clock.advance(COOLDOWN_SECONDS * 1000 - 1000);
    const stillRefused = await walletOrder(keeper, env, { isBuy: true, nonce: 4n, lots: 4n, priceTicks: 200_000n });
    expect(stillRefused).to.include({ ok: false, code: "TAKER_COOLDOWN", retryAfterSeconds: 1 });
    clock.advance(1000);
    const again = await walletOrder(keeper, env, { isBuy: true, nonce: 5n, lots: 4n, priceTicks: 200_000n });
    expect(again.ok && again.trades.length).to.equal(1);
    keeper.store.close();
  });

  it("does not ration when the keeper has no cooldown set", async () => {
    const env = await loadFixture(walletFixture);
    const keeper = await openKeeper(env as unknown as Env, tempDb());
    await submit(keeper, env, env.alice, { isBuy: false, nonce: 1n, lots: 10n, priceTicks: 200_000n });
    const first = await walletOrder(keeper, env, { isBuy: true, nonce: 1n, lots: 4n, priceTicks: 200_000n });
    expect(first.ok).to.equal(true);
    await (await env.wallet.connect(env.bob).setMode(1)).wait();
    await settleOnce(keeper);
    expect(keeper.outcomes.map((o) => o.skipReasons)).to.deep.include({ TakerSignatureRejected: 1 });
    expect(keeper.engine.takerCooldownUntil(env.walletAddress)).to.equal(undefined);
    keeper.store.close();
  });
});
