/**
 * Issue 13, finding 6: checking a contract wallet's signature on a soft cancel or a feed login ran
 * `eth_call` with no gas limit (the node's cap: ~50M gas on geth) — a stranger's wallet could make
 * the keeper's node burn it for every request — and logins had no budget. Now the wallet's
 * `isValidSignature` gets the Exchange's 100,000 gas, and logins a budget per address.
 */
import { expect } from "chai";
import { hexToBigInt, type Address, type Hex } from "viem";
import { keeperMessageTypedData } from "@crossbook/sdk";
import { CONTRACT_READS_BATCH } from "../../../keeper/src/keeper";
import { countingClient, manualClock } from "../support";
import { FeedClient, http, newTrader, startKeeper, type Keeper } from "../api/support";
import { ethers, sdkFixture } from "../../sdk/support";

/** The most gas a capped ERC-1271 check may ask for: the wallet's 100,000, the call's 21,000, its calldata. */
const MOST_GAS = 130_000n;

describe("regression (issue 13, finding 6): contract-wallet checks are capped, logins budgeted", function () {
  let k: Keeper | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  it("gives a contract wallet's isValidSignature at most the Exchange's gas on a soft cancel and a login", async () => {
    const env = await sdkFixture();
    // Batching as the keeper's own clients do: a capped call must not be folded into a multicall.
    const { client, calls } = countingClient(undefined, CONTRACT_READS_BATCH);
    k = await startKeeper({ env, api: { chain: { client, exchange: env.addresses.exchange } } });
    const owner = await newTrader(env);
    const wallet = (await (await ethers.deployContract("MockERC1271Wallet", [owner.address])).getAddress()) as Address;

    const issuedAt = BigInt(Date.now());
    const message = { maker: wallet, orderHashes: [`0x${"11".repeat(32)}`] as Hex[], issuedAt };
    const signature = await owner.account.signTypedData(
      keeperMessageTypedData({ domain: env.sdkDomain, primaryType: "CancelOrders", message }) as never,
    );
    calls.length = 0;
    const cancel = await http(k.api.url, "POST", "/v1/cancels", {
      cancel: { maker: wallet, orderHashes: message.orderHashes, issuedAt: issuedAt.toString() },
      signature,
    });
    expect(cancel.status, JSON.stringify(cancel.body)).to.equal(200);
    expect(cancel.body.results[0].outcome).to.equal("not-found");
    const cancelCalls = calls.filter((c) => c.method === "eth_call");
    expect(cancelCalls.length).to.be.greaterThan(0);
    for (const c of cancelCalls) {
      const gas = (c.params[0] as { gas?: Hex }).gas;
      expect(gas, JSON.stringify(c.params[0]).slice(0, 120)).to.not.equal(undefined);
      expect(hexToBigInt(gas as Hex) <= MOST_GAS).to.equal(true);
    }

    const feed = await FeedClient.open(k.api.wsUrl);
    feed.send({ op: "challenge" });
    const { challenge } = await feed.next((m) => m.type === "challenge");
    const login = await owner.account.signTypedData(
      keeperMessageTypedData({
        domain: env.sdkDomain,
        primaryType: "FeedLogin",
        message: { account: wallet, challenge },
      }) as never,
    );
    calls.length = 0;
    feed.send({ op: "login", account: wallet, signature: login });
    expect((await feed.next((m) => m.type === "login")).account).to.equal(wallet);
    const loginCalls = calls.filter((c) => c.method === "eth_call");
    expect(loginCalls.length).to.be.greaterThan(0);
    for (const c of loginCalls) {
      const gas = (c.params[0] as { gas?: Hex }).gas;
      expect(gas).to.not.equal(undefined);
      expect(hexToBigInt(gas as Hex) <= MOST_GAS).to.equal(true);
    }
    feed.close();
  });

  it("refuses logins from one address beyond its budget", async () => {
    const clock = manualClock();
    k = await startKeeper({ limits: { perIpLoginsPerSecond: 2 }, api: { clock: clock.now } });
    const someone = await newTrader(k.env, 0n, 0n);
    const feed = await FeedClient.open(k.api.wsUrl);
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const from = feed.messages.length;
      feed.send({ op: "challenge" });
      const first = await feed.next((m) => m.type === "challenge" || m.type === "error", 10_000, from);
      if (first.type === "error") {
        answers.push(first.code);
        continue;
      }
      feed.send({ op: "login", account: someone.address, signature: `0x${"22".repeat(65)}` });
      answers.push((await feed.next((m) => m.type === "error", 10_000, from)).code);
    }
    expect(answers).to.deep.equal(["BAD_LOGIN", "BAD_LOGIN", "RATE_LIMITED"]);
    feed.close();
  });
});
