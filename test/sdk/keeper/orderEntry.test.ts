/**
 * The SDK's order entry on the feed (`feed.orderEntry`): against a real keeper, every request
 * answered and decoded as the HTTP client decodes it, a refusal thrown as the same `KeeperApiError`;
 * against a stand-in keeper that withholds its answers, a request times out on the feed's clock and
 * one unanswered when the connection drops is rejected.
 */
import { expect } from "chai";
import WebSocket from "ws";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import {
  createKeeperClient,
  createKeeperFeed,
  KeeperApiError,
  KeeperRequestError,
  signOrder,
  type KeeperFeed,
  type Order,
} from "@crossbook/sdk";
import { newTrader, orderOf, startKeeper, type Keeper, type Trader } from "../../keeper/api/support";
import { FakeKeeper } from "./fakeKeeper";
import { ManualClock } from "./manualClock";

describe("sdk/keeper: order entry on the feed", function () {
  describe("against a real keeper", function () {
    let k: Keeper;
    let alice: Trader;
    let feed: KeeperFeed;

    before(async function () {
      k = await startKeeper();
      alice = await newTrader(k.env);
    });

    afterEach(function () {
      feed?.close();
    });

    after(async function () {
      await k?.close();
    });

    const signed = async (o: Order) => ({
      order: o,
      signature: await signOrder({ signer: alice.account, order: o, domain: k.env.sdkDomain }),
    });
    const open = () => {
      feed = createKeeperFeed({ wsUrl: k.api.wsUrl, WebSocket, domain: k.env.sdkDomain, heartbeat: false });
      return feed.orderEntry({ signer: alice.account });
    };

    it("places, amends, batches and cancels, each answer decoded", async function () {
      const entry = await open();
      const first = orderOf(alice, { isBuy: false, priceTicks: 300_000n, lots: 2n });
      const placed = await entry.place(await signed(first));
      expect(placed).to.include({ status: "open", remainingLots: 2n, filledLots: 0n });

      const requote = orderOf(alice, { isBuy: false, priceTicks: 301_000n, lots: 2n });
      const amended = await entry.amend({ nonce: first.nonce }, await signed(requote));
      expect(amended).to.deep.include({ kind: "amend", ok: true, replaced: placed.hash });
      expect(k.store.committed.getOrder(placed.hash)?.reason).to.equal("amended");

      const second = orderOf(alice, { isBuy: false, priceTicks: 302_000n, lots: 1n });
      const results = await entry.batch([{ place: await signed(second) }, { cancel: { nonce: requote.nonce } }]);
      expect(results.map((r) => [r.kind, r.ok])).to.deep.equal([
        ["place", true],
        ["cancel", true],
      ]);
      const secondHash = (results[0] as { order: { hash: `0x${string}` } }).order.hash;
      const cancelled = await entry.cancel([secondHash]);
      expect(cancelled).to.deep.equal([{ hash: secondHash, outcome: "cancelled" }]);
    });

    it("rejects a refusal with the KeeperApiError the HTTP client throws for it", async function () {
      const entry = await open();
      const o = orderOf(alice, { isBuy: false, priceTicks: 303_000n, lots: 1n });
      await entry.place(await signed(o));
      const overWs = await entry.place(await signed(o)).then(
        () => undefined,
        (e: unknown) => e,
      );
      const client = createKeeperClient({ url: k.api.url, domain: k.env.sdkDomain });
      const overHttp = await client.submitOrder(await signed(o)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(overWs).to.be.instanceOf(KeeperApiError);
      expect(overHttp).to.be.instanceOf(KeeperApiError);
      const pick = (e: KeeperApiError) => ({ code: e.code, status: e.status, message: e.message });
      expect(pick(overWs as KeeperApiError)).to.deep.equal(pick(overHttp as KeeperApiError));
      expect((overWs as KeeperApiError).code).to.equal("DUPLICATE_ORDER");
    });

    it("schedules a cancel and turns cancel-on-disconnect on: closing the feed cancels the orders", async function () {
      const entry = await open();
      const now = BigInt(Date.now());
      const schedule = await entry.scheduleCancel(now + 600_000n);
      expect(schedule).to.deep.equal({ account: alice.address, at: now + 600_000n, issuedAt: schedule.issuedAt });
      const moved = await entry.scheduleCancel(0n);
      expect(moved.issuedAt > schedule.issuedAt).to.equal(true);
      expect(k.api.deadMan.deadlineOf(alice.address)).to.equal(undefined);
      expect(await entry.cancelOnDisconnect(true)).to.equal(true);
      const placed = await entry.place(await signed(orderOf(alice, { isBuy: false, priceTicks: 304_000n, lots: 1n })));
      feed.close();
      for (let i = 0; i < 200 && k.store.committed.getOrder(placed.hash)?.status === "open"; i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(k.store.committed.getOrder(placed.hash)).to.include({ status: "cancelled", reason: "disconnected" });
    });
  });

  describe("against a keeper that withholds its answers", function () {
    let fake: FakeKeeper;
    let feed: KeeperFeed;
    const signer = privateKeyToAccount(generatePrivateKey());
    const domain = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000c0ffe" } as const;
    const order: Order = {
      maker: signer.address,
      marketId: 1n,
      isBuy: true,
      flags: 0n,
      maxFeeBps: 100n,
      expiry: 4_102_444_800n,
      nonce: 1n,
      priceTicks: 1n,
      lots: 1n,
    };

    beforeEach(async function () {
      fake = await FakeKeeper.start();
      // The login is granted; order entry is never answered.
      fake.onMessage = (socket, m) => {
        if (m.op === "challenge") fake.send(socket, { type: "challenge", challenge: `0x${"ab".repeat(32)}` });
        if (m.op === "login") fake.send(socket, { type: "login", account: signer.address });
      };
    });

    afterEach(async function () {
      feed?.close();
      await fake?.close();
    });

    it("sends what was asked before the login once it is done, and times out on the feed's clock", async function () {
      const clock = new ManualClock();
      feed = createKeeperFeed({ wsUrl: fake.wsUrl, WebSocket, domain, heartbeat: false, clock });
      const entry = await feed.orderEntry({ signer, timeoutMs: 5_000 });
      const pending = entry.place({ order, signature: await signOrder({ signer, order, domain }) });
      const outcome = pending.then(
        () => undefined,
        (e: unknown) => e,
      );
      await fake.until(() => fake.received.some((r) => r.message.op === "place"), "the place to be sent");
      const sent = fake.received.find((r) => r.message.op === "place")!.message;
      expect(sent.id).to.be.a("string");
      clock.advance(4_999);
      clock.advance(1);
      const error = await outcome;
      expect(error).to.be.instanceOf(KeeperRequestError);
      expect((error as KeeperRequestError).code).to.equal("KEEPER_TIMEOUT");
    });

    it("rejects a request unanswered when the connection drops, with KEEPER_UNREACHABLE", async function () {
      const clock = new ManualClock();
      feed = createKeeperFeed({ wsUrl: fake.wsUrl, WebSocket, domain, heartbeat: false, clock });
      const entry = await feed.orderEntry({ signer });
      const outcome = entry.cancelOnDisconnect(true).then(
        () => undefined,
        (e: unknown) => e,
      );
      await fake.until(() => fake.received.some((r) => r.message.op === "cancelOnDisconnect"), "the request");
      fake.socket.terminate();
      const error = await outcome;
      expect(error).to.be.instanceOf(KeeperRequestError);
      expect((error as KeeperRequestError).code).to.equal("KEEPER_UNREACHABLE");
    });
  });
});
