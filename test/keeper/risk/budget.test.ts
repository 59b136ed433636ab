/**
 * The budget of node work for strangers: risk reads of accounts the keeper has no record of are
 * refused at once past `limit` under way (`KEEPER_BUSY_FOR_NEW_ACCOUNTS`, saying why); a known account's
 * read is never counted nor refused.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Address } from "viem";
import { signOrder } from "@crossbook/sdk";
import { NodeBusyError, StrangerReadBudget } from "../../../keeper/src/risk";
import { Store } from "../../../keeper/src/store";
import { order, sdkFixture } from "../../sdk/support";
import { openEngine } from "../support";
import { tempDb } from "../settlement/support";

/** A read that answers when told to. */
function heldRead() {
  let answer = () => {};
  const read = () => new Promise<string>((resolve) => (answer = () => resolve("read")));
  return { read, answer: () => answer() };
}

describe("keeper risk: the budget of node work for strangers", () => {
  it("refuses a stranger's read past the budget at once, and never a known account's", async () => {
    const budget = new StrangerReadBudget(2);
    const first = heldRead();
    const second = heldRead();
    const reading = [budget.run(false, first.read), budget.run(false, second.read)];
    expect(budget.active).to.equal(2);
    let called = false;
    const refused = await budget
      .run(false, async () => {
        called = true;
        return "read";
      })
      .catch((error: unknown) => error);
    expect(refused).to.be.instanceOf(NodeBusyError);
    expect(called).to.equal(false); // no node call for it
    expect(await budget.run(true, async () => "known")).to.equal("known");
    // One finishes: a stranger's read goes in again.
    first.answer();
    await reading[0];
    expect(await budget.run(false, async () => "next")).to.equal("next");
    second.answer();
    expect(await reading[1]).to.equal("read");
    expect(budget.active).to.equal(0);
  });

  it("answers an order refused by it KEEPER_BUSY_FOR_NEW_ACCOUNTS (not CHAIN_UNAVAILABLE), with Retry-After 1 s", async () => {
    const env = await loadFixture(sdkFixture);
    const engine = await openEngine(
      Store.open(tempDb()),
      { exchange: env.addresses.exchange, domain: env.sdkDomain },
      {
        readRiskContext: () => Promise.reject(new NodeBusyError(4)),
      },
    );
    const o = order({ maker: env.alice.address as Address, isBuy: true, nonce: 1n });
    const answer = await engine.submit({
      order: o,
      signature: await signOrder({ signer: env.alice, order: o, domain: env.sdkDomain }),
    });
    expect(answer).to.deep.include({ ok: false, code: "KEEPER_BUSY_FOR_NEW_ACCOUNTS" });
    expect((answer as { message: string }).message).to.contain("accounts it has no record of");
    expect(answer).to.have.property("retryAfterSeconds", 1);
  });
});
