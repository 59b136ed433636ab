/**
 * The keeper's cached chain reads: one read per fact per block; steady facts (a market's, or an
 * account's asked for in two blocks within STEADY_BLOCKS) stay in the memo: a market's read again
 * at each block ahead of the orders (the previous value serves until the new one arrives), an
 * account's read afresh and waited for when an event named it, else kept as read (every
 * REREAD_BLOCKS read again) and read afresh to confirm a refusal; and a nonce's fill state comes
 * from the keeper's knowledge plus `OrderCancelled` events. After settled fills: fill-bounds.test.ts.
 */
import { expect } from "chai";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import type { Address } from "viem";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { MAX_UINT64 } from "@crossbook/sdk";
import { CachedChainReads, READ_AHEAD_BLOCKS, REREAD_BLOCKS, STEADY_BLOCKS } from "../../../keeper/src/risk";
import { LOT_SIZE } from "../../helpers/fixture";
import { fund, hre, publicClient, sdkFixture } from "../../sdk/support";
import { countingClient, pending } from "./support";

/** Cached reads over a counting client, and Alice's base balance and nonce floor asked through them. */
async function aliceBalanceAndNonce() {
  const env = await loadFixture(sdkFixture);
  const { client, counts } = countingClient();
  const reads = new CachedChainReads(client, env.addresses.exchange, { startBlock: 0n, nonceSeen: () => false });
  const alice = env.alice.address as Address;
  const asks = () => Promise.all([reads.balance(alice, env.addresses.base), reads.minNonce(alice)]);
  return { env, client, counts, reads, alice, asks };
}

describe("keeper risk: cached chain reads", () => {
  it("reads each fact once per block, and a steady one again at the block an event moved it", async () => {
    const env = await loadFixture(sdkFixture);
    const { client, counts } = countingClient();
    const reads = new CachedChainReads(client, env.addresses.exchange, { startBlock: 0n, nonceSeen: () => false });
    const alice = env.alice.address as Address;
    const asks = () => Promise.all([reads.balance(alice, env.addresses.base), reads.minNonce(alice), reads.paused()]);
    await reads.sync();
    counts.clear();
    const first = await asks();
    await asks();
    expect(counts.get("eth_call")).to.equal(3);

    // Alice was seen in one block only: only the market's fact is read ahead at the next.
    await mine(1);
    counts.clear();
    await reads.sync();
    expect(counts.get("eth_call")).to.equal(1);
    await asks();
    expect(counts.get("eth_call")).to.equal(3);

    // Asked for in two blocks running: read again at the sync, not when asked (a deposit named her:
    // her balance is the new one).
    await fund(env.exchange, env.base, env.alice, 5n * LOT_SIZE);
    counts.clear();
    await reads.sync();
    expect((await asks())[0]).to.equal(first[0] + 5n * LOT_SIZE);
    expect(counts.get("eth_call")).to.equal(3);

    // A steady fact nobody asks for is kept for STEADY_BLOCKS blocks after the last ask (a trader
    // that skips a block keeps it), then dropped. Meanwhile the market's fact is read at each block,
    // the account's (no event named alice) only every REREAD_BLOCKS.
    for (let i = 1n; i <= STEADY_BLOCKS; i++) {
      await mine(1);
      counts.clear();
      await reads.sync();
      expect(counts.get("eth_call")).to.equal(i % REREAD_BLOCKS === 0n ? 3 : 1);
    }
    await mine(1);
    counts.clear();
    await reads.sync();
    expect(counts.get("eth_call") ?? 0).to.equal(0);
  });

  it("makes an account's facts steady when it is asked for in two blocks with a block between", async () => {
    const { counts, reads, asks } = await aliceBalanceAndNonce();
    // A market maker quoting each second on a chain making a block each second: asked for at one
    // block, not at the next, again at the one after.
    await reads.sync();
    await asks();
    await mine(1);
    await reads.sync();
    await mine(1);
    await reads.sync();
    await asks();
    // Steady now: kept at the next block (no event moved them: not even read again), and its next
    // order waits for nothing.
    await mine(1);
    counts.clear();
    await reads.sync();
    await asks();
    expect(counts.get("eth_call") ?? 0).to.equal(0);
  });

  it("makes a credited account's facts steady from its first ask, not a fresh key's", async () => {
    const env = await loadFixture(sdkFixture);
    await fund(env.exchange, env.base, env.alice, 5n * LOT_SIZE); // her deposit credits her
    const { client, counts } = countingClient();
    const reads = new CachedChainReads(client, env.addresses.exchange, { startBlock: 0n, nonceSeen: () => false });
    const alice = env.alice.address as Address;
    const fresh = privateKeyToAddress(generatePrivateKey());
    const asks = (account: Address) =>
      Promise.all([reads.balance(account, env.addresses.base), reads.minNonce(account)]);
    await reads.sync();
    await asks(alice);
    await asks(fresh);
    // The next block: her facts are kept (no event moved them), the fresh key's are asked again.
    await mine(1);
    await reads.sync();
    counts.clear();
    await asks(alice);
    expect(counts.get("eth_call") ?? 0).to.equal(0);
    await asks(fresh);
    expect(counts.get("eth_call")).to.equal(2);
  });

  it("keeps an account's facts no event moved as read, and reads them afresh to confirm a refusal", async () => {
    const env = await loadFixture(sdkFixture);
    const { client, counts } = countingClient();
    const reads = new CachedChainReads(client, env.addresses.exchange, { startBlock: 0n, nonceSeen: () => false });
    const alice = env.alice.address as Address;
    await reads.sync();
    expect(await reads.code(alice)).to.be.oneOf([undefined, "0x"]);
    await mine(1);
    await reads.sync();
    await reads.code(alice);
    // Her address gets code with no event the keeper follows (as an EIP-7702 delegation would).
    await hre.network.provider.send("hardhat_setCode", [alice, "0x6001"]);
    await mine(1);
    counts.clear();
    await reads.sync();
    expect(counts.get("eth_getCode") ?? 0).to.equal(0);
    expect(await reads.code(alice)).to.be.oneOf([undefined, "0x"]);
    // A refusal resting on it is confirmed: her facts read at an earlier block are read now.
    expect(await reads.refresh(alice)).to.equal(true);
    expect(counts.get("eth_getCode")).to.equal(1);
    expect(await reads.code(alice)).to.equal("0x6001");
  });

  it("serves a fact of the block before until its new value arrives, but never one an event named", async () => {
    const env = await loadFixture(sdkFixture);
    const { client, hold, release } = countingClient();
    const reads = new CachedChainReads(client, env.addresses.exchange, { startBlock: 0n, nonceSeen: () => false });
    const alice = env.alice.address as Address;
    await reads.sync();
    const balance = await reads.balance(alice, env.addresses.base);
    expect(await reads.paused()).to.equal(false);

    // A deposit of alice's (Deposited names her) and a pause (no event the cache follows) in one block.
    await hre.network.provider.send("evm_setAutomine", [false]);
    await fund(env.exchange, env.base, env.alice, 5n * LOT_SIZE);
    await env.exchange.connect(env.admin).grantRole(await env.exchange.GUARDIAN_ROLE(), env.admin.address);
    await env.exchange.connect(env.admin).pause(); // after the deposit in the block (no deposit while paused)
    await mine(1);
    await hre.network.provider.send("evm_setAutomine", [true]);

    hold();
    await reads.sync();
    // The pause is not known yet: the block before's value serves at once; alice's balance waits.
    expect(await reads.paused()).to.equal(false);
    const fresh = reads.balance(alice, env.addresses.base);
    expect(await pending(fresh)).to.equal(true);
    // A refusal resting on a cached fact waits for the new values, and is told they moved.
    const refreshed = reads.refresh();
    expect(await pending(refreshed)).to.equal(true);
    release();
    expect(await refreshed).to.equal(true);
    expect(await fresh).to.equal(balance + 5n * LOT_SIZE);
    expect(await reads.paused()).to.equal(true);
  });

  it("does not wait for an account's facts after a cancel of one of its nonces (an IOC taker's after each fill)", async () => {
    const env = await loadFixture(sdkFixture);
    const { client, hold, release } = countingClient();
    const reads = new CachedChainReads(client, env.addresses.exchange, { startBlock: 0n, nonceSeen: () => false });
    const alice = env.alice.address as Address;
    const asks = () => Promise.all([reads.balance(alice, env.addresses.base), reads.minNonce(alice)]);
    await reads.sync();
    await asks();
    await mine(1);
    await reads.sync();
    const before = await asks();
    await (await env.exchange.connect(env.alice).cancel([7n])).wait();
    hold();
    await reads.sync();
    const during = asks();
    // with the node's calls held: were it waiting on them, this would never resolve (the test times out)
    expect(await during).to.deep.equal(before);
    expect(await reads.filled(alice, 7n)).to.equal(MAX_UINT64);
    expect(reads.takeTouched()).to.deep.equal([alice]); // her resting orders are still checked again
    release();
  });

  it("knows the accounts that deposited (no strangers to the node budget) from their events", async () => {
    const env = await loadFixture(sdkFixture);
    const reads = new CachedChainReads(publicClient, env.addresses.exchange, {
      startBlock: 0n,
      nonceSeen: () => false,
    });
    const alice = env.alice.address as Address;
    const fresh = privateKeyToAddress(generatePrivateKey());
    await fund(env.exchange, env.base, env.alice, LOT_SIZE);
    await reads.sync();
    expect(reads.hasDeposited(alice)).to.equal(true);
    expect(reads.hasDeposited(fresh)).to.equal(false);
  });

  it("tells the deposits since the last take, the latest last, each account and token once", async () => {
    const env = await loadFixture(sdkFixture);
    const reads = new CachedChainReads(publicClient, env.addresses.exchange, {
      startBlock: 0n,
      nonceSeen: () => false,
    });
    await reads.sync();
    reads.takeDeposits(); // the fixture's
    const [alice, bob] = [env.alice.address as Address, env.bob.address as Address];
    await fund(env.exchange, env.base, env.alice, LOT_SIZE);
    await fund(env.exchange, env.quote, env.bob, 1_000n);
    await fund(env.exchange, env.base, env.alice, LOT_SIZE); // again: now the latest
    await reads.sync();
    expect(reads.takeDeposits()).to.deep.equal([
      { account: bob, token: env.addresses.quote },
      { account: alice, token: env.addresses.base },
    ]);
    expect(reads.takeDeposits()).to.deep.equal([]);
  });

  it("keeps facts read ahead of an order not sent yet for READ_AHEAD_BLOCKS, unread unless an event names them", async () => {
    const { env, client, counts, reads, alice, asks } = await aliceBalanceAndNonce();
    await reads.sync();
    counts.clear();
    await reads.ahead(alice, asks);
    expect(counts.get("eth_call")).to.equal(2);
    // Far past STEADY_BLOCKS with no order: kept, and not read again (no event named alice).
    await mine(Number(STEADY_BLOCKS) * 3);
    counts.clear();
    await reads.sync();
    const [balance] = await asks();
    expect(counts.get("eth_call") ?? 0, "calls past STEADY_BLOCKS").to.equal(0);
    // A deposit names her: read afresh at the sync, and her order waits for the new value.
    const ahead = new CachedChainReads(client, env.addresses.exchange, { startBlock: 0n, nonceSeen: () => false });
    await ahead.sync();
    await ahead.ahead(alice, () => Promise.all([ahead.balance(alice, env.addresses.base), ahead.minNonce(alice)]));
    await fund(env.exchange, env.base, env.alice, LOT_SIZE);
    counts.clear();
    await ahead.sync();
    expect(await ahead.balance(alice, env.addresses.base)).to.equal(balance + LOT_SIZE);
    expect(counts.get("eth_call"), "the named account's facts, read again").to.equal(2);
    // Asked for by no order for READ_AHEAD_BLOCKS: dropped, then read when asked.
    await mine(Number(READ_AHEAD_BLOCKS) + 1);
    counts.clear();
    await ahead.sync();
    expect(counts.get("eth_call") ?? 0, "dropped, not read again").to.equal(0);
    await ahead.minNonce(alice);
    expect(counts.get("eth_call")).to.equal(1);
  });

  it("keeps the facts of the latest maxAccountsAhead accounts read ahead, and drops the older's", async () => {
    const env = await loadFixture(sdkFixture);
    const { client, counts } = countingClient();
    const reads = new CachedChainReads(client, env.addresses.exchange, {
      startBlock: 0n,
      nonceSeen: () => false,
      maxAccountsAhead: 1,
    });
    const [alice, bob] = [env.alice.address as Address, env.bob.address as Address];
    await reads.sync();
    await reads.ahead(alice, () => reads.minNonce(alice));
    await reads.ahead(bob, () => reads.minNonce(bob)); // the latest: alice is let go
    await mine(1);
    await reads.sync();
    counts.clear();
    await reads.minNonce(bob);
    expect(counts.get("eth_call") ?? 0, "bob's, kept").to.equal(0);
    await reads.minNonce(alice);
    expect(counts.get("eth_call"), "alice's, dropped at the next block").to.equal(1);
  });

  it("knows a fresh nonce is unfilled without a call, and sees an on-chain cancel from its event", async () => {
    const env = await loadFixture(sdkFixture);
    const { client, counts } = countingClient();
    const seen = new Set<bigint>([9n]);
    const reads = new CachedChainReads(client, env.addresses.exchange, {
      startBlock: 0n,
      nonceSeen: (_maker, nonce) => seen.has(nonce),
    });
    const alice = env.alice.address as Address;
    await reads.sync();
    counts.clear();
    expect(await reads.filled(alice, 7n)).to.equal(0n);
    expect(counts.get("eth_call") ?? 0).to.equal(0);
    expect(await reads.filled(alice, 9n)).to.equal(0n); // seen by the keeper: read from the chain
    expect(counts.get("eth_call")).to.equal(1);

    await (await env.exchange.connect(env.alice).cancel([7n])).wait();
    await mine(1);
    await reads.sync();
    expect(await reads.filled(alice, 7n)).to.equal(MAX_UINT64);
    expect(await reads.filled(alice, 8n)).to.equal(0n);
    // Events from before the start block are not read; from block 0 they all are.
    const late = new CachedChainReads(publicClient, env.addresses.exchange, { startBlock: 0n, nonceSeen: () => false });
    expect(await late.filled(alice, 7n)).to.equal(MAX_UINT64);
  });
});
