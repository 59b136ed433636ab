/**
 * The keeper's off-chain dead-man switch (issue 16), over a real keeper and real sockets, on the
 * API's injected clock (the test moves it; nothing sleeps):
 *
 *   alice's connection A (cancel-on-disconnect on) closes  → alice's orders cancelled, `disconnected`
 *   bob's connection (off) closes                          → bob's order stays
 *   alice's ScheduleCancel(at = T+10 s), renewed at T+5 s to T+15 s
 *     clock at T+12 s → nothing; at T+16 s → alice's orders cancelled, `dead-man`
 *   an old ScheduleCancel again, or one with an older issuedAt → CANCEL_REPLAYED
 *
 * Every cancellation is watched on the orders channel of a second session of alice's.
 */
import { expect } from "chai";
import type { Hex } from "viem";
import { createKeeperClient, KeeperApiError, keeperMessageTypedData, type ScheduleCancelMessage } from "@crossbook/sdk";
import { manualClock } from "../support";
import {
  FeedClient,
  feedLogin,
  http,
  newTrader,
  orderOf,
  signedBody,
  startKeeper,
  type Keeper,
  type Trader,
} from "./support";

describe("keeper/api: the dead-man switch", function () {
  let k: Keeper;
  let alice: Trader;
  let bob: Trader;
  /** Alice's second session: it watches her orders channel. */
  let watcher: FeedClient;
  const clock = manualClock();

  before(async function () {
    k = await startKeeper({ api: { clock: clock.now } });
    alice = await newTrader(k.env);
    bob = await newTrader(k.env);
    watcher = await FeedClient.open(k.api.wsUrl);
    await feedLogin(watcher, k, alice);
    watcher.send({ op: "subscribe", channel: "orders" });
    await watcher.next((m) => m.type === "snapshot" && m.channel === "orders");
  });

  after(async function () {
    watcher?.close();
    await k?.close();
  });

  /** Places `n` resting asks of `trader` over HTTP: their hashes. */
  async function rest(trader: Trader, n: number, priceTicks: bigint): Promise<Hex[]> {
    const hashes: Hex[] = [];
    for (let i = 0; i < n; i++) {
      const o = orderOf(trader, { isBuy: false, priceTicks: priceTicks + BigInt(i), lots: 1n });
      const placed = await http(k.api.url, "POST", "/v1/orders", await signedBody(k, trader, o));
      expect(placed.status, JSON.stringify(placed.body)).to.equal(201);
      hashes.push(placed.body.hash as Hex);
    }
    return hashes;
  }
  /** The `cancelled` update of each hash on the watcher's orders channel, once they have all come. */
  const cancelledOnFeed = (hashes: Hex[]) =>
    Promise.all(
      hashes.map((hash) =>
        watcher.next((m) => m.type === "order" && m.update.hash === hash && m.update.event === "cancelled"),
      ),
    );
  const statusOf = (hash: Hex) => k.store.committed.getOrder(hash)?.status;

  async function scheduleBody(trader: Trader, at: bigint, issuedAt: bigint) {
    const message: ScheduleCancelMessage = { account: trader.address, at, issuedAt };
    const signature = await trader.account.signTypedData(
      keeperMessageTypedData({ domain: k.env.sdkDomain, primaryType: "ScheduleCancel", message }) as never,
    );
    return { scheduleCancel: { account: trader.address, at: at.toString(), issuedAt: issuedAt.toString() }, signature };
  }
  const schedule = (body: unknown) => http(k.api.url, "POST", "/v1/cancels/schedule", body);

  it("cancels the account's open orders when a connection with cancel-on-disconnect closes, reason disconnected", async function () {
    // Bob's connection has it off: closing it leaves his order alone.
    const bobs = await FeedClient.open(k.api.wsUrl);
    await feedLogin(bobs, k, bob);
    const [bobOrder] = await rest(bob, 1, 240_000n);
    bobs.close();
    await bobs.closed;

    const a = await FeedClient.open(k.api.wsUrl);
    await feedLogin(a, k, alice);
    a.send({ op: "cancelOnDisconnect", id: "c1", enabled: true });
    const on = await a.next((m) => m.type === "result" && m.id === "c1");
    expect(on).to.deep.include({ status: 200, body: { cancelOnDisconnect: true } });
    const hashes = await rest(alice, 3, 250_000n);
    a.close();
    const updates = await cancelledOnFeed(hashes);
    for (const m of updates) expect(m.update.reason).to.equal("disconnected");
    for (const hash of hashes) expect(statusOf(hash)).to.equal("cancelled");
    expect(statusOf(bobOrder as Hex)).to.equal("open");
  });

  it("does not cancel when cancel-on-disconnect was turned off again", async function () {
    const a = await FeedClient.open(k.api.wsUrl);
    await feedLogin(a, k, alice);
    a.send({ op: "cancelOnDisconnect", id: "on", enabled: true });
    a.send({ op: "cancelOnDisconnect", id: "off", enabled: false });
    await a.next((m) => m.type === "result" && m.id === "off");
    const [kept] = await rest(alice, 1, 260_000n);
    a.close();
    await a.closed;
    // A flagged connection of bob's closing after it: once its cancellation is done, alice's close was handled long before.
    const b = await FeedClient.open(k.api.wsUrl);
    await feedLogin(b, k, bob);
    b.send({ op: "cancelOnDisconnect", id: "on", enabled: true });
    await b.next((m) => m.type === "result" && m.id === "on");
    const [bobOrder] = await rest(bob, 1, 261_000n);
    b.close();
    for (let i = 0; i < 200 && statusOf(bobOrder as Hex) !== "cancelled"; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(statusOf(bobOrder as Hex)).to.equal("cancelled");
    expect(statusOf(kept as Hex)).to.equal("open");
  });

  it("fires a schedule once the injected clock passes it; a renewal postpones it", async function () {
    const hashes = await rest(alice, 2, 270_000n);
    const t = BigInt(clock.now());
    const first = await schedule(await scheduleBody(alice, t + 10_000n, t));
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    expect(first.body).to.deep.equal({ account: alice.address, at: (t + 10_000n).toString(), issuedAt: t.toString() });

    clock.advance(5_000);
    const renewed = await schedule(await scheduleBody(alice, t + 15_000n, t + 5_000n));
    expect(renewed.status, JSON.stringify(renewed.body)).to.equal(200);

    clock.advance(7_000); // T+12 s: past the first deadline, not the renewed one
    await k.api.deadMan.check();
    for (const hash of hashes) expect(statusOf(hash)).to.equal("open");

    clock.advance(4_000); // T+16 s
    await k.api.deadMan.check();
    const updates = await cancelledOnFeed(hashes);
    for (const m of updates) expect(m.update.reason).to.equal("dead-man");
    expect(k.api.deadMan.deadlineOf(alice.address)).to.equal(undefined);

    // Fired once: orders placed after it stay.
    const [later] = await rest(alice, 1, 280_000n);
    clock.advance(60_000);
    await k.api.deadMan.check();
    expect(statusOf(later as Hex)).to.equal("open");
  });

  it("refuses a replayed ScheduleCancel, and one with an older issuedAt; at = 0 clears the schedule", async function () {
    const t = BigInt(clock.now());
    const body = await scheduleBody(alice, t + 1_000n, t);
    expect((await schedule(body)).status).to.equal(200);
    const replay = await schedule(body);
    expect([replay.status, replay.body.error?.code]).to.deep.equal([409, "CANCEL_REPLAYED"]);
    // A different message, signed earlier: it would move the deadline back or clear it.
    const older = await schedule(await scheduleBody(alice, 0n, t - 1n));
    expect([older.status, older.body.error?.code]).to.deep.equal([409, "CANCEL_REPLAYED"]);
    expect(k.api.deadMan.deadlineOf(alice.address)).to.equal(Number(t + 1_000n));

    const cleared = await schedule(await scheduleBody(alice, 0n, t + 1n));
    expect(cleared.body).to.include({ at: "0" });
    const [kept] = await rest(alice, 1, 290_000n);
    clock.advance(10_000);
    await k.api.deadMan.check();
    expect(statusOf(kept as Hex)).to.equal("open");
  });

  it("takes the schedule on the feed too, for the logged-in account only", async function () {
    const t = BigInt(clock.now());
    const a = await FeedClient.open(k.api.wsUrl);
    try {
      await feedLogin(a, k, alice);
      a.send({ op: "scheduleCancel", id: "s1", ...(await scheduleBody(alice, t + 30_000n, t)) });
      const ok = await a.next((m) => m.type === "result" && m.id === "s1");
      expect(ok).to.deep.include({ status: 200 });
      expect(k.api.deadMan.deadlineOf(alice.address)).to.equal(Number(t + 30_000n));
      a.send({ op: "scheduleCancel", id: "s2", ...(await scheduleBody(bob, t + 30_000n, t)) });
      const other = await a.next((m) => m.type === "result" && m.id === "s2");
      expect([other.status, other.body.error.code]).to.deep.equal([403, "FORBIDDEN"]);
      expect(k.api.deadMan.deadlineOf(bob.address)).to.equal(undefined);
      const bad = await schedule({
        ...(await scheduleBody(alice, t + 30_000n, t + 2n)),
        signature: (await scheduleBody(bob, 1n, t + 2n)).signature,
      });
      expect([bad.status, bad.body.error.code]).to.deep.equal([401, "BAD_CANCEL_SIGNATURE"]);
      a.send({ op: "scheduleCancel", id: "s3", ...(await scheduleBody(alice, 0n, t + 3n)) });
      await a.next((m) => m.type === "result" && m.id === "s3");
      expect(k.api.deadMan.deadlineOf(alice.address)).to.equal(undefined);
    } finally {
      a.close();
    }
  });

  it("the SDK's HTTP client signs the heartbeat (scheduleCancel) and throws the keeper's refusal of a replay", async function () {
    const keeper = createKeeperClient({ url: k.api.url, domain: k.env.sdkDomain });
    const hashes = await rest(bob, 2, 300_000n);
    const t = BigInt(clock.now());
    const taken = await keeper.scheduleCancel({ signer: bob.account, at: t + 10_000n, issuedAt: t });
    expect(taken).to.deep.equal({ account: bob.address, at: t + 10_000n, issuedAt: t });
    expect(k.api.deadMan.deadlineOf(bob.address)).to.equal(Number(t + 10_000n));
    // The same issuedAt again is a replay: refused, and the schedule stands.
    const replay = await keeper.scheduleCancel({ signer: bob.account, at: 0n, issuedAt: t }).catch((e: unknown) => e);
    expect(replay).to.be.instanceOf(KeeperApiError);
    expect(replay).to.include({ code: "CANCEL_REPLAYED", status: 409 });
    expect(k.api.deadMan.deadlineOf(bob.address)).to.equal(Number(t + 10_000n));

    clock.advance(11_000);
    await k.api.deadMan.check();
    for (const hash of hashes) expect(statusOf(hash)).to.equal("cancelled");
    expect(k.store.committed.getOrder(hashes[0] as Hex)?.reason).to.equal("dead-man");
  });
});
