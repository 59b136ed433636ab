/**
 * A stranger that nothing can have given a balance is refused without reading the node: only a
 * `Deposited` event, a fill (`Traded`) or being named fee recipient (`FeeRecipientChanged`, whose
 * fees `Vault.credit` adds with no other event) gives an account anything on the Exchange. The
 * keeper knows it from the events since the Exchange's deployment, brought to the head first.
 */
import { expect } from "chai";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { createPublicClient, custom, type Address } from "viem";
import { generatePrivateKey, privateKeyToAddress } from "viem/accounts";
import { signOrder } from "@crossbook/sdk";
import { CachedChainReads, UncreditedAccountError } from "../../../keeper/src/risk";
import { Store } from "../../../keeper/src/store";
import { LOT_SIZE } from "../../helpers/fixture";
import { fund, order, publicClient, sdkFixture, transport } from "../../sdk/support";
import { openEngine } from "../support";
import { tempDb } from "../settlement/support";
import { countingClient } from "./support";

describe("keeper risk: accounts nothing credited", () => {
  it("knows a fresh key holds nothing with no eth_call; a depositor and the fee recipient may hold something", async () => {
    const env = await loadFixture(sdkFixture);
    const { client, counts } = countingClient();
    const reads = new CachedChainReads(client, env.addresses.exchange, { startBlock: 0n, nonceSeen: () => false });
    const fresh = privateKeyToAddress(generatePrivateKey());
    const recipient = (await env.exchange.feeRecipient()) as Address;
    await reads.sync();
    counts.clear();
    expect(await reads.neverCredited(fresh)).to.equal(true);
    expect(await reads.neverCredited(recipient)).to.equal(false);
    expect(counts.get("eth_call") ?? 0).to.equal(0);

    // A deposit mined since is seen: the events are brought to the head before answering.
    const alice = env.alice.address as Address;
    await fund(env.exchange, env.base, env.alice, LOT_SIZE);
    expect(await reads.neverCredited(alice)).to.equal(false);
  });

  /**
   * Cached reads over a client whose head answers can be held: read from the node at once, answered
   * on `release`; `headRead` resolves once a held head was read.
   */
  const heldHeads = async () => {
    const env = await loadFixture(sdkFixture);
    let gate: Promise<void> | undefined;
    let open = () => {};
    let headRead = () => {};
    let heads = 0;
    const client = createPublicClient({
      transport: custom({
        async request(args: { method: string; params?: unknown }) {
          const answer = await transport({}).request(args as never);
          if (args.method === "eth_blockNumber") {
            heads++;
            if (gate !== undefined) {
              headRead();
              await gate;
            }
          }
          return answer;
        },
      }),
    });
    const reads = new CachedChainReads(client, env.addresses.exchange, { startBlock: 0n, nonceSeen: () => false });
    await reads.sync();
    return {
      env,
      reads,
      heads: () => heads,
      /** Holds the next head answers; resolves once one was read from the node. */
      hold: () => {
        gate = new Promise<void>((resolve) => (open = resolve));
        return new Promise<void>((resolve) => (headRead = resolve));
      },
      release: () => {
        gate = undefined;
        open();
      },
    };
  };

  it("sees a deposit mined while a sync that read the head before it was still under way", async () => {
    const { env, reads, hold, release } = await heldHeads();
    const alice = env.alice.address as Address;
    expect(await reads.neverCredited(alice)).to.equal(true);

    const read = hold();
    const earlier = reads.sync(); // e.g. the block watcher's, under way
    await read; // it has read the head: the deposit is not in it
    await fund(env.exchange, env.base, env.alice, LOT_SIZE);
    const answer = reads.neverCredited(alice); // alice saw her receipt and sends her order
    release();
    await earlier;
    expect(await answer).to.equal(false);
  });

  it("costs a flood of strangers' orders one head read beyond the sync under way, not one each", async () => {
    const { reads, heads, hold, release } = await heldHeads();
    const read = hold();
    const earlier = reads.sync();
    await read;
    const before = heads();
    // 50 fresh keys' orders while that sync is under way: they wait for it, then share one more.
    const answers = Array.from({ length: 50 }, () => reads.neverCredited(privateKeyToAddress(generatePrivateKey())));
    release();
    await earlier;
    expect(await Promise.all(answers)).to.deep.equal(Array(50).fill(true));
    expect(heads() - before).to.equal(1);
  });

  it("says nothing of an account when its events start after the Exchange's deployment", async () => {
    const env = await loadFixture(sdkFixture);
    await mine(1);
    const after = await publicClient.getBlockNumber();
    const reads = new CachedChainReads(publicClient, env.addresses.exchange, {
      startBlock: after,
      nonceSeen: () => false,
    });
    // A depositor before the start block would look like a stranger: its balances are read.
    expect(await reads.neverCredited(privateKeyToAddress(generatePrivateKey()))).to.equal(false);
  });

  it("answers an order of such an account INSUFFICIENT_BALANCE", async () => {
    const env = await loadFixture(sdkFixture);
    const engine = await openEngine(
      Store.open(tempDb()),
      { exchange: env.addresses.exchange, domain: env.sdkDomain },
      { readRiskContext: (signed) => Promise.reject(new UncreditedAccountError(signed.order.maker)) },
    );
    const o = order({ maker: env.alice.address as Address, isBuy: true, nonce: 1n });
    const answer = await engine.submit({
      order: o,
      signature: await signOrder({ signer: env.alice, order: o, domain: env.sdkDomain }),
    });
    expect(answer).to.deep.include({ ok: false, code: "INSUFFICIENT_BALANCE" });
    expect((answer as { message: string }).message).to.contain("never deposited");
  });
});
