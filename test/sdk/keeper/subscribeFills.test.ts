/**
 * `subscribeFills` against a real keeper (engine, SQLite store, HTTP and feed on loopback):
 *
 *   alice follows her orders and her fills on one feed: one FeedLogin signature for both
 *   alice rests 10 @ 200,000; bob takes 3 ─▶ alice's onFill: maker, 3 lots, her order, fee at 5 bps
 *   the API restarts; bob takes 2 meanwhile ─▶ reconnect, one new signature, a snapshot with both
 *   fills: the first not delivered twice, the second delivered; bob takes 1 more ─▶ delivered live
 */
import { expect } from "chai";
import WebSocket from "ws";
import { createKeeperFeed, signOrder, type KeeperFill, type KeeperOrderUpdate, type Order } from "@crossbook/sdk";
import { MAKER_FEE_BPS, TICK_SIZE } from "../../helpers/fixture";
import { serveApi } from "../../keeper/support";
import { newTrader, orderOf, startKeeper, http, signedBody, type Keeper, type Trader } from "../../keeper/api/support";

async function eventually(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("sdk/keeper: subscribeFills on a real keeper", function () {
  this.timeout(60_000);
  let k: Keeper;
  let alice: Trader;
  let bob: Trader;

  before(async function () {
    k = await startKeeper();
    [alice, bob] = [await newTrader(k.env), await newTrader(k.env)];
  });

  after(async function () {
    await k?.close();
  });

  async function submit(trader: Trader, fields: Partial<Order> & Pick<Order, "isBuy">) {
    const o = orderOf(trader, fields);
    const answer = await http(k.api.url, "POST", "/v1/orders", await signedBody(k, trader, o));
    expect(answer.status, JSON.stringify(answer.body)).to.be.oneOf([200, 201]);
    return { hash: answer.body.hash as `0x${string}`, order: o };
  }

  it("delivers each fill once per state, shares the login with orders, and resyncs from a snapshot after the keeper restarts", async function () {
    let signatures = 0;
    const signer = {
      ...alice.account,
      signTypedData: (parameters: Parameters<typeof alice.account.signTypedData>[0]) => {
        signatures++;
        return alice.account.signTypedData(parameters);
      },
    } as typeof alice.account;
    const port = Number(new URL(k.api.url).port);
    const feed = createKeeperFeed({
      wsUrl: `ws://127.0.0.1:${port}/v1/ws`,
      WebSocket,
      domain: k.env.sdkDomain,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    const fills: KeeperFill[] = [];
    const snapshots: KeeperFill[][] = [];
    const updates: KeeperOrderUpdate[] = [];
    const states: string[] = [];
    try {
      feed.subscribeOrders({ signer, onUpdate: (u) => updates.push(u) });
      feed.subscribeFills({
        signer,
        onFill: (f) => fills.push(f),
        onSnapshot: (s) => snapshots.push(s),
        onStatus: (s) => states.push(s.state),
      });
      await eventually(() => snapshots.length === 1, "the fills snapshot");
      expect(snapshots[0]).to.deep.equal([]);
      expect(signatures).to.equal(1); // one login for both channels

      const ask = await submit(alice, { isBuy: false, lots: 10n, priceTicks: 200_000n });
      await submit(bob, { isBuy: true, lots: 3n, priceTicks: 200_000n });
      await eventually(() => fills.length === 1, "alice's fill");
      expect(fills[0]).to.deep.include({
        marketId: 1n,
        side: "maker",
        orderHash: ask.hash,
        nonce: ask.order.nonce,
        isBuy: false,
        priceTicks: 200_000n,
        lots: 3n,
        feeBps: MAKER_FEE_BPS,
        fee: (3n * 200_000n * TICK_SIZE * MAKER_FEE_BPS) / 10_000n,
        status: "matched",
      });
      await eventually(() => updates.some((u) => u.fillId === fills[0].fillId), "the order update of the same fill");

      // The API goes down; bob takes 2 more meanwhile (straight through the engine); the API comes back.
      await k.api.close();
      await eventually(() => states.includes("disconnected"), "the feed to notice");
      const o = orderOf(bob, { isBuy: true, lots: 2n, priceTicks: 200_000n });
      const taken = await k.engine.submit({
        order: o,
        signature: await signOrder({ signer: bob.account, order: o, domain: k.env.sdkDomain }),
      });
      expect(taken.ok).to.equal(true);
      k.api = await serveApi(
        k.engine,
        k.store,
        { exchange: k.env.addresses.exchange, domain: k.env.sdkDomain },
        { port },
      );

      await eventually(() => snapshots.length === 2, "the snapshot after the reconnect");
      expect(snapshots[1].map((f) => [f.lots, f.status])).to.deep.equal([
        [3n, "matched"],
        [2n, "matched"],
      ]);
      await eventually(() => fills.length === 2, "the fill made while disconnected");
      expect(fills.map((f) => f.lots)).to.deep.equal([3n, 2n]); // the first one not delivered twice
      expect(signatures).to.equal(2); // one login per connection

      await submit(bob, { isBuy: true, lots: 1n, priceTicks: 200_000n });
      await eventually(() => fills.length === 3, "a fill after the reconnect");
      expect(fills[2]).to.deep.include({ lots: 1n, side: "maker", orderHash: ask.hash });
    } finally {
      feed.close();
    }
  });

  it("follows one account per feed: another account's fills are refused without a request", async function () {
    const feed = createKeeperFeed({
      wsUrl: k.api.url.replace("http", "ws") + "/v1/ws",
      WebSocket,
      domain: k.env.sdkDomain,
    });
    const errors: string[] = [];
    try {
      feed.subscribeFills({ signer: alice.account, onFill: () => {} });
      feed.subscribeFills({ signer: bob.account, onFill: () => {}, onError: (e) => errors.push(e.message) });
      await eventually(() => errors.length === 1, "the refusal");
      expect(errors[0]).to.match(/logged in as .*one account per connection/);
    } finally {
      feed.close();
    }
  });
});
