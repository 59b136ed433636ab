/**
 * Issue 13 (the node off the honest path): a soft cancel with a bad signature naming an EOA cost a
 * node call each (`eth_getCode`, to see whether the maker is a contract wallet) — attack e of
 * `bench:attack` sent 277–458 of them in a 30 s window, naming the honest makers, the largest
 * stranger cause of node calls once the strangers' orders were budgeted. Now the API asks the
 * keeper's cached code reads (`ApiOptions.chain.hasCode`): an EOA's code, read once a block at
 * most, answers it without the node.
 *
 *   stranger ── cancel naming an honest EOA maker, signature nobody's ──▶ keeper → BAD_CANCEL_SIGNATURE, no node call
 */
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import type { Address, Hex } from "viem";
import { countingClient } from "../support";
import { http, newTrader, startKeeper, type Keeper } from "../api/support";
import { sdkFixture } from "../../sdk/support";

describe("regression (issue 13): bad-signature cancels cost no node call", function () {
  let k: Keeper | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  it("refuses a cancel whose signature is not its EOA maker's without asking the node", async () => {
    const env = await sdkFixture();
    const { client, calls } = countingClient();
    const asked: Address[] = [];
    const hasCode = async (account: Address) => {
      asked.push(account);
      return false; // as the cached reads know it: an EOA
    };
    k = await startKeeper({ env, api: { chain: { client, exchange: env.addresses.exchange, hasCode } } });
    const maker = (await newTrader(env)).address as Address;
    calls.length = 0;
    const answer = await http(k.api.url, "POST", "/v1/cancels", {
      cancel: { maker, orderHashes: [`0x${"11".repeat(32)}`], issuedAt: Date.now().toString() },
      signature: `0x${randomBytes(65).toString("hex").slice(0, 128)}1b` as Hex,
    });
    expect(answer.body.error?.code, JSON.stringify(answer.body)).to.equal("BAD_CANCEL_SIGNATURE");
    expect(asked).to.deep.equal([maker]);
    expect(calls.filter((c) => c.method === "eth_getCode" || c.method === "eth_call")).to.deep.equal([]);
  });
});
