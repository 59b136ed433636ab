/**
 * An account's orders are checked one after another, in arrival order, but the next one does not
 * wait for the one before to be on disk: once an order is written in the open group commit (its
 * reservation and nonce counted), the account's next order is checked, and both wait for the disk
 * together. Each answer still waits for its own commit. Here the log's fsync is run by hand
 * (`fsyncLog`), so "on disk" is a step of the test, not a matter of speed.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Address, Hex } from "viem";
import { POST_ONLY, signOrder, type Order } from "@crossbook/sdk";
import type { SubmitResult } from "../../../keeper/src/engine";
import { Store } from "../../../keeper/src/store";
import { LOT_SIZE } from "../../helpers/fixture";
import { fund, order, sdkFixture } from "../../sdk/support";
import { openEngine } from "../support";
import { tempDb } from "../settlement/support";

describe("keeper engine: an account's orders share group commits", () => {
  /** An engine whose store fsyncs its log only when the test says (`fsyncs[i]()`), and the stages it tells. */
  async function heldEngine(env: Awaited<ReturnType<typeof sdkFixture>>) {
    const fsyncs: (() => void)[] = [];
    const store = Store.open(tempDb(), { fsyncLog: (_fd, done) => void fsyncs.push(() => done(null)) });
    const checked: Hex[] = [];
    let onChecked = () => {};
    const engine = await openEngine(
      store,
      { exchange: env.addresses.exchange, domain: env.sdkDomain },
      {
        onOrderStage: (stage, _maker, _ms, hash) => {
          if (stage !== "check" || hash === undefined) return;
          checked.push(hash);
          onChecked();
        },
      },
    );
    /** Resolves once `n` orders have been checked. */
    const checkedCount = (n: number) =>
      new Promise<void>((resolve) => {
        onChecked = () => checked.length >= n && resolve();
        onChecked();
      });
    /** Runs every fsync asked for, as they are asked, until `answers` are all in. */
    const fsyncUntil = async (answers: Promise<unknown>[]) => {
      let done = false;
      void Promise.all(answers).then(() => (done = true));
      while (!done) {
        fsyncs.splice(0).forEach((fsync) => fsync());
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    };
    return { engine, store, fsyncs, checked, checkedCount, fsyncUntil };
  }

  async function signed(env: Awaited<ReturnType<typeof sdkFixture>>, o: Order) {
    return { order: o, signature: await signOrder({ signer: env.alice, order: o, domain: env.sdkDomain }) };
  }

  /** Whether `p` has settled after the microtasks and one turn of the event loop. */
  async function settled(p: Promise<unknown>): Promise<boolean> {
    let out = false;
    void p.then(
      () => (out = true),
      () => (out = true),
    );
    await new Promise<void>((resolve) => setImmediate(resolve));
    return out;
  }

  it("checks an account's next order while the one before waits for the disk, and answers each once it is durable", async () => {
    const env = await loadFixture(sdkFixture);
    await fund(env.exchange, env.base, env.alice, 100n * LOT_SIZE);
    const { engine, fsyncs, checkedCount, fsyncUntil } = await heldEngine(env);
    const alice = env.alice.address as Address;
    const first = await signed(env, order({ maker: alice, isBuy: false, nonce: 1n, flags: POST_ONLY, lots: 10n }));
    const second = await signed(env, order({ maker: alice, isBuy: false, nonce: 2n, flags: POST_ONLY, lots: 10n }));
    const answers: Promise<SubmitResult>[] = [engine.submit(first), engine.submit(second)];
    // Both are checked with the first one's fsync still held: the second did not wait for its disk.
    await checkedCount(2);
    expect(fsyncs).to.have.length(1);
    expect(await settled(answers[0] as Promise<SubmitResult>)).to.equal(false); // not durable: no answer
    expect(await settled(answers[1] as Promise<SubmitResult>)).to.equal(false);
    await fsyncUntil(answers);
    const [a, b] = await Promise.all(answers);
    expect(a).to.include({ ok: true, status: "open" });
    expect(b).to.include({ ok: true, status: "open" });
  });

  it("counts the reservation of an order not yet on disk: an account cannot spend its balance twice", async () => {
    const env = await loadFixture(sdkFixture);
    await fund(env.exchange, env.base, env.alice, 15n * LOT_SIZE); // one sale of 10 lots, not two
    const { engine, fsyncs, checkedCount, fsyncUntil } = await heldEngine(env);
    const alice = env.alice.address as Address;
    const first = await signed(env, order({ maker: alice, isBuy: false, nonce: 1n, flags: POST_ONLY, lots: 10n }));
    const second = await signed(env, order({ maker: alice, isBuy: false, nonce: 2n, flags: POST_ONLY, lots: 10n }));
    const answers = [engine.submit(first), engine.submit(second)];
    await checkedCount(2);
    expect(fsyncs).to.have.length(1); // the first is written, not durable, when the second is checked
    await fsyncUntil(answers);
    const [a, b] = await Promise.all(answers);
    expect(a).to.include({ ok: true });
    expect(b).to.include({ ok: false, code: "INSUFFICIENT_BALANCE" });
  });

  it("checks an account's orders in the order they came", async () => {
    const env = await loadFixture(sdkFixture);
    await fund(env.exchange, env.base, env.alice, 100n * LOT_SIZE);
    const { engine, fsyncs, checked, checkedCount, fsyncUntil } = await heldEngine(env);
    const alice = env.alice.address as Address;
    const orders = await Promise.all(
      [1n, 2n, 3n].map((nonce) =>
        signed(
          env,
          order({ maker: alice, isBuy: false, nonce, flags: POST_ONLY, lots: 1n, priceTicks: 200_000n + nonce }),
        ),
      ),
    );
    const answers = orders.map((o) => engine.submit(o));
    await checkedCount(3);
    expect(fsyncs).to.have.length(1);
    await fsyncUntil(answers);
    const results = await Promise.all(answers);
    expect(results.map((r) => r.ok)).to.deep.equal([true, true, true]);
    expect(checked).to.deep.equal(results.map((r) => r.hash));
  });
});
