/**
 * The private `fills` channel against a real keeper (engine, SQLite store, `startApi`) whose
 * settlement sends real batches to the in-process Hardhat network:
 *
 *   alice (maker) sells 10 @ 200,000 ─┐
 *   bob (taker) buys 4 @ 200,000 ─────┴▶ fill #1: alice sees it as maker, bob as taker, once each
 *   settlement lands the batch ───────────▶ both see fill #1 settled, with the batch's tx hash and block
 *   alice resubscribes ───────────────────▶ snapshot with fill #1 settled and the seq to resume from
 *   bob buys 2 more ──────────────────────▶ fill #2 numbered seq + 1 on both of alice's connections
 *   carol logs in ────────────────────────▶ her fills channel shows none of alice's or bob's
 */
import { expect } from "chai";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createKeeperClient, keeperMessageTypedData, type Order } from "@crossbook/sdk";
import { feedServerMessage } from "../../../keeper/src/api/responses";
import { Settlement } from "../../../keeper/src/settlement";
import { CachedChainReads } from "../../../keeper/src/risk";
import { MAKER_FEE_BPS, TAKER_FEE_BPS, TICK_SIZE } from "../../helpers/fixture";
import { hre, publicClient } from "../../sdk/support";
import { CONFIG, mine } from "../settlement/support";
import {
  FeedClient,
  bearer,
  feedLogin,
  http,
  login,
  newTrader,
  orderOf,
  signedBody,
  startKeeper,
  type Keeper,
  type Trader,
} from "./support";

type Message = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe("keeper/api: the private fills channel", function () {
  this.timeout(120_000);
  let k: Keeper;
  let settlement: Settlement;
  let alice: Trader;
  let bob: Trader;
  let carol: Trader;
  const open: FeedClient[] = [];

  before(async function () {
    // This file logs in a dozen times from one address; the per-address login budget (tested in
    // hostile.test.ts) would refuse some of them, sooner or later depending on the machine's speed.
    k = await startKeeper({ limits: { perIpLoginsPerSecond: 1_000 } });
    const keeperAccount = privateKeyToAccount(generatePrivateKey());
    await hre.network.provider.send("hardhat_setBalance", [keeperAccount.address, "0x8ac7230489e80000"]);
    await (await k.env.exchange.grantRole(await k.env.exchange.KEEPER_ROLE(), keeperAccount.address)).wait();
    const reads = new CachedChainReads(publicClient, k.env.addresses.exchange, {
      startBlock: 0n,
      nonceSeen: (maker, nonce) => k.store.hasNonce(maker, nonce),
    });
    settlement = new Settlement({
      engine: k.engine,
      store: k.store,
      client: publicClient,
      reads,
      account: keeperAccount,
      exchange: k.env.addresses.exchange,
      config: CONFIG,
      watchBlocks: () => () => {},
    });
    [alice, bob, carol] = [await newTrader(k.env), await newTrader(k.env), await newTrader(k.env)];
  });

  after(async function () {
    for (const f of open) f.close();
    await k?.close();
  });

  async function subscribed(trader: Trader, limit?: number): Promise<{ feed: FeedClient; snapshot: Message }> {
    const feed = await FeedClient.open(k.api.url.replace("http", "ws") + "/v1/ws");
    open.push(feed);
    await feedLogin(feed, k, trader);
    feed.send({ op: "subscribe", channel: "fills", ...(limit === undefined ? {} : { limit }) });
    const snapshot = await feed.next((m) => m.type === "snapshot" && m.channel === "fills");
    return { feed, snapshot };
  }

  async function submit(trader: Trader, fields: Partial<Order> & Pick<Order, "isBuy">): Promise<Message> {
    const o = orderOf(trader, fields);
    const answer = await http(k.api.url, "POST", "/v1/orders", await signedBody(k, trader, o));
    expect(answer.status, JSON.stringify(answer.body)).to.be.oneOf([200, 201]);
    return { ...answer.body, order: o };
  }

  const fillsOf = (feed: FeedClient) => feed.messages.filter((m) => m.type === "fill");

  /** Steps settlement until the fill is settled in the store (a batch, then its confirmation). */
  async function settle(fillId: number): Promise<void> {
    for (let i = 0; i < 10 && k.store.getFill(fillId)?.status !== "settled"; i++) {
      await settlement.tick();
      await mine();
    }
    expect(k.store.getFill(fillId)?.status).to.equal("settled");
  }

  it("shows each side its fill once, then settled with the batch's transaction; a resubscription resumes by seq", async function () {
    const a = await subscribed(alice);
    const b = await subscribed(bob);
    expect(a.snapshot).to.deep.include({ account: alice.address, seq: 0, fills: [] });
    expect(b.snapshot).to.deep.include({ account: bob.address, seq: 0, fills: [] });

    const ask = await submit(alice, { isBuy: false, lots: 10n, priceTicks: 200_000n });
    const take = await submit(bob, { isBuy: true, lots: 4n, priceTicks: 200_000n });
    const fillId = take.trades[0].fillId as number;

    const makerFill = await a.feed.next((m) => m.type === "fill" && m.fill.fillId === fillId);
    const takerFill = await b.feed.next((m) => m.type === "fill" && m.fill.fillId === fillId);
    const quoteAtoms = 4n * 200_000n * TICK_SIZE;
    expect(makerFill).to.deep.equal({
      type: "fill",
      channel: "fills",
      account: alice.address,
      seq: 1,
      fill: {
        fillId,
        marketId: "1",
        side: "maker",
        orderHash: ask.hash,
        nonce: ask.order.nonce.toString(),
        isBuy: false,
        priceTicks: "200000",
        lots: "4",
        feeBps: MAKER_FEE_BPS.toString(),
        fee: ((quoteAtoms * MAKER_FEE_BPS) / 10_000n).toString(),
        status: "matched",
        at: makerFill.fill.at,
      },
    });
    expect(takerFill.seq).to.equal(1);
    expect(takerFill.fill).to.deep.include({
      fillId,
      side: "taker",
      orderHash: take.hash,
      nonce: take.order.nonce.toString(),
      isBuy: true,
      feeBps: TAKER_FEE_BPS.toString(),
      fee: ((quoteAtoms * TAKER_FEE_BPS) / 10_000n).toString(),
      status: "matched",
    });

    await settle(fillId);
    const settledA = await a.feed.next((m) => m.type === "fill" && m.fill.status === "settled");
    const settledB = await b.feed.next((m) => m.type === "fill" && m.fill.status === "settled");
    const batch = k.store.getBatch(k.store.getFill(fillId)!.batchId!)!;
    const receipt = await publicClient.getTransactionReceipt({ hash: batch.txHash });
    expect(receipt.status).to.equal("success");
    for (const m of [settledA, settledB]) {
      expect(m.seq).to.equal(2);
      expect(m.fill).to.deep.include({ fillId, txHash: batch.txHash, blockNumber: receipt.blockNumber.toString() });
    }
    // Once each per state: one matched and one settled message per side, nothing more.
    for (const feed of [a.feed, b.feed]) {
      expect(fillsOf(feed).map((m) => [m.fill.fillId, m.fill.status])).to.deep.equal([
        [fillId, "matched"],
        [fillId, "settled"],
      ]);
    }

    // Every message is what the AsyncAPI document publishes.
    for (const m of [...a.feed.messages, ...b.feed.messages]) {
      expect(feedServerMessage.safeParse(m).success, JSON.stringify(m)).to.equal(true);
    }

    // A new connection: a snapshot of what is committed, numbered as the channel stands.
    const again = await subscribed(alice);
    expect(again.snapshot.seq).to.equal(2);
    expect(again.snapshot.fills).to.deep.equal([{ ...settledA.fill, at: again.snapshot.fills[0].at }]);
    const second = await submit(bob, { isBuy: true, lots: 2n, priceTicks: 200_000n });
    const next = await again.feed.next((m) => m.type === "fill");
    expect(next.seq).to.equal(3);
    expect(next.fill).to.deep.include({ fillId: second.trades[0].fillId, side: "maker", lots: "2" });
    expect((await a.feed.next((m) => m.type === "fill" && m.seq === 3)).fill.fillId).to.equal(next.fill.fillId);
  });

  it("bounds the snapshot by its limit, newest fills, oldest first", async function () {
    const { snapshot } = await subscribed(alice, 1);
    expect(snapshot.fills).to.have.length(1);
    const all = (await subscribed(alice)).snapshot.fills as Message[];
    expect(all.length).to.be.at.least(2);
    expect(all.map((f) => f.fillId)).to.deep.equal([...all.map((f) => f.fillId)].sort((x, y) => x - y));
    expect(snapshot.fills[0].fillId).to.equal(all.at(-1)!.fillId);
  });

  it("gives an account only its own fills: no subscription before login, none to another account's", async function () {
    const feed = await FeedClient.open(k.api.url.replace("http", "ws") + "/v1/ws");
    open.push(feed);
    feed.send({ op: "subscribe", channel: "fills" });
    expect(await feed.next((m) => m.type === "error")).to.deep.include({ code: "NOT_LOGGED_IN" });
    // A subscription names no account: it is always the logged-in one's.
    feed.send({ op: "subscribe", channel: "fills", account: alice.address });
    expect(await feed.next((m) => m.type === "error" && m.code === "BAD_REQUEST")).to.have.property("message");
    // Carol cannot log in as alice: her signature is not alice's.
    const from = feed.messages.length;
    feed.send({ op: "challenge" });
    const { challenge } = await feed.next((m) => m.type === "challenge", 10_000, from);
    const signature = await carol.account.signTypedData(
      keeperMessageTypedData({
        domain: k.env.sdkDomain,
        primaryType: "FeedLogin",
        message: { account: alice.address, challenge },
      }) as never,
    );
    feed.send({ op: "login", account: alice.address, signature });
    expect(await feed.next((m) => m.type === "error" && m.code === "BAD_LOGIN", 10_000, from)).to.have.property(
      "message",
    );
    feed.send({ op: "subscribe", channel: "fills" });
    await feed.next((m) => m.type === "error" && m.code === "NOT_LOGGED_IN", 10_000, from);

    const c = await subscribed(carol);
    expect(c.snapshot).to.deep.include({ account: carol.address, fills: [] });
    const before = (await subscribed(alice)).snapshot.seq as number;
    await submit(alice, { isBuy: false, lots: 1n, priceTicks: 200_000n });
    await submit(bob, { isBuy: true, lots: 1n, priceTicks: 200_000n });
    const a = await subscribed(alice);
    expect(a.snapshot.seq).to.equal(before + 1);
    await Promise.all([c.feed.barrier(), feed.barrier()]);
    expect(fillsOf(c.feed)).to.deep.equal([]);
    expect(feed.messages.filter((m) => m.type === "fill")).to.deep.equal([]);
  });

  it("pages an account's older fills over HTTP (its session only), as the channel writes them", async function () {
    const snapshot = (await subscribed(alice)).snapshot.fills as Message[];
    expect(snapshot.length).to.be.at.least(3);
    const newestFirst = [...snapshot].reverse();
    const token = await login(k, alice);
    const path = `/v1/accounts/${alice.address}/fills`;
    const first = await http(k.api.url, "GET", `${path}?limit=2`, undefined, bearer(token));
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    expect(first.body.fills).to.deep.equal(newestFirst.slice(0, 2));
    expect(first.body.next).to.equal(String(newestFirst[1]?.fillId));
    const rest = await http(k.api.url, "GET", `${path}?limit=1000&before=${first.body.next}`, undefined, bearer(token));
    expect(rest.body.fills).to.deep.equal(newestFirst.slice(2));
    expect(rest.body).to.not.have.property("next"); // the last page is not full
    // Settled fills carry their batch, as on the channel.
    expect(first.body.fills.concat(rest.body.fills).some((f: Message) => f.status === "settled" && f.txHash)).to.equal(
      true,
    );

    const bobToken = await login(k, bob);
    const stranger = await http(k.api.url, "GET", path, undefined, bearer(bobToken));
    expect([stranger.status, stranger.body.error.code]).to.deep.equal([403, "FORBIDDEN"]);
    const anonymous = await http(k.api.url, "GET", path);
    expect([anonymous.status, anonymous.body.error.code]).to.deep.equal([401, "SESSION_REQUIRED"]);
    const bad = await http(k.api.url, "GET", `${path}?before=0`, undefined, bearer(token));
    expect([bad.status, bad.body.error.code]).to.deep.equal([400, "BAD_REQUEST"]);

    // The SDK walks the same pages.
    const keeper = createKeeperClient({ url: k.api.url, domain: k.env.sdkDomain });
    await keeper.login({ signer: alice.account });
    const page = await keeper.getFills(alice.address, { limit: 2 });
    expect(page.fills.map((f) => f.fillId)).to.deep.equal(newestFirst.slice(0, 2).map((f) => f.fillId));
    expect(page.fills[0]).to.include({ side: newestFirst[0]?.side, lots: BigInt(newestFirst[0]?.lots) });
    const older = await keeper.getFills(alice.address, { before: page.next });
    expect(older.fills.map((f) => f.fillId)).to.deep.equal(newestFirst.slice(2).map((f) => f.fillId));
    expect(older.next).to.equal(undefined);
  });
});
