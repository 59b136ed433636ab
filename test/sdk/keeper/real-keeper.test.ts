/**
 * The SDK's keeper client and feed against the real keeper (store in a temp sqlite file, engine,
 * risk reads and API over real sockets) on the in-process Hardhat network.
 *
 *   alice (viem local account)         keeper                    bob (ethers Wallet)
 *   sell 10 @ 200,000 ───────────────▶ rests
 *   sell  3 @ 200,100 ───────────────▶ rests
 *                                       takes 4 @ 200,000 ◀────── buy 4 @ 200,000
 *   soft-cancel the 200,000 rest ────▶ cancelled               buy 2 @ 190,000 (rests)
 *                                       cancelled ◀────────────── cancelAll (market 1)
 *   the feed's book equals GET book after every step; the trade arrives once on the feed;
 *   alice's private channel reports accepted, partially-filled, cancelled.
 * Then: refusals as KeeperApiError; the feed across an API restart; a viem wallet client over a
 * JSON-RPC account and an ERC-1271 wallet (signed by its ethers owner) submitting and soft-cancelling.
 */
import { expect } from "chai";
import { toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import WebSocket from "ws";
import {
  CrossbookError,
  KeeperApiError,
  createKeeperClient,
  createKeeperFeed,
  deposit,
  signOrder,
  type KeeperBook,
  type KeeperClient,
  type KeeperFeed,
  type KeeperOrderUpdate,
  type KeeperTrade,
  type Order,
} from "@crossbook/sdk";
import type { RunningApi } from "../../../keeper/src/api/server";
import type { Engine } from "../../../keeper/src/engine";
import { Store } from "../../../keeper/src/store";
import { LOT_SIZE } from "../../helpers/fixture";
import { openEngine, serveApi, tempDatabase } from "../../keeper/support";
import { ethers, hre, mint, publicClient, sdkFixture, walletClient, type SdkEnv } from "../support";

/** Gives `key`'s account gas, then mints and deposits base and quote through the SDK's `deposit`. */
async function depositBoth(env: SdkEnv, key: Hex) {
  const account = privateKeyToAccount(key);
  await hre.network.provider.send("hardhat_setBalance", [account.address, toHex(10n ** 19n)]);
  const wallet = walletClient(account);
  for (const [token, amount] of [
    [env.addresses.base, 1_000n * LOT_SIZE],
    [env.addresses.quote, 10n ** 15n],
  ] as const) {
    await mint(token === env.addresses.base ? env.base : env.quote, account.address, amount);
    const { hash } = await deposit(wallet, { exchange: env.addresses.exchange, token, amount });
    await publicClient.waitForTransactionReceipt({ hash });
  }
}

function summary(book: Pick<KeeperBook, "bids" | "asks">) {
  return {
    bids: book.bids.map((l) => `${l.priceTicks}x${l.lots}/${l.orders}`),
    asks: book.asks.map((l) => `${l.priceTicks}x${l.lots}/${l.orders}`),
  };
}

/** Polls `test` every 10 ms until it holds or `ms` pass. */
async function eventually(test: () => boolean, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) expect.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("sdk/keeper: against the real keeper", function () {
  this.timeout(120_000);
  let env: SdkEnv;
  let store: Store;
  let api: RunningApi;
  let engine: Engine;
  let keeper: KeeperClient;
  let feed: KeeperFeed;

  before(async function () {
    env = await sdkFixture();
    store = Store.open(tempDatabase("crossbook-sdk-keeper-"));
    engine = await openEngine(store, { exchange: env.addresses.exchange, domain: env.sdkDomain });
    api = await serve(0);
    keeper = createKeeperClient({ url: api.url, domain: env.sdkDomain });
    feed = createKeeperFeed({ wsUrl: api.wsUrl, WebSocket, domain: env.sdkDomain });
  });

  /** Starts the keeper's API over the engine and store (`port` 0: any free port). */
  function serve(port: number) {
    return serveApi(engine, store, { exchange: env.addresses.exchange, domain: env.sdkDomain }, { port });
  }

  after(async function () {
    feed?.close();
    await api?.close();
    store?.close();
  });

  it("submits, watches the book and trades, soft-cancels with a viem account and an ethers Wallet", async function () {
    // Two traders: alice signs with a viem local account, bob with an ethers Wallet.
    const aliceKey = generatePrivateKey();
    const alice = privateKeyToAccount(aliceKey);
    const bobKey = generatePrivateKey();
    const bob = new ethers.Wallet(bobKey, ethers.provider);
    await depositBoth(env, aliceKey);
    await depositBoth(env, bobKey);

    expect(await keeper.health()).to.deep.equal({ status: "ok" });
    const [market] = await keeper.getMarkets();
    expect(market.marketId).to.equal(1n);
    expect(market.lotSize).to.equal(LOT_SIZE);

    // The feed: book + trades of market 1, alice's private channel.
    const books: { seq: bigint; book: KeeperBook }[] = [];
    const trades: KeeperTrade[] = [];
    const aliceUpdates: KeeperOrderUpdate[] = [];
    const errors: CrossbookError[] = [];
    feed.subscribeBook(1n, {
      onBook: (book, seq) => books.push({ seq, book }),
      onTrade: (trade) => trades.push(trade),
      onError: (error) => errors.push(error),
    });
    feed.subscribeOrders({ signer: alice, onUpdate: (u) => aliceUpdates.push(u), onError: (e) => errors.push(e) });
    await eventually(() => books.length >= 1, "the book snapshot");

    /** The feed's latest book equals GET book at the same seq. */
    const converged = async (what: string) => {
      const rest = await keeper.getBook(1n, { depth: 1000 });
      await eventually(() => books.length > 0 && books[books.length - 1].seq >= rest.seq, `the feed to reach ${what}`);
      const latest = books[books.length - 1];
      expect(latest.seq, what).to.equal(rest.seq);
      expect(summary(latest.book), what).to.deep.equal(summary(rest));
      return rest;
    };

    let nonce = 1n;
    const order = (maker: Address, fields: Partial<Order> & Pick<Order, "isBuy">): Order => ({
      maker,
      marketId: 1n,
      flags: 0n,
      maxFeeBps: 100n,
      expiry: 4_102_444_800n,
      nonce: nonce++,
      priceTicks: 200_000n,
      lots: 10n,
      ...fields,
    });
    const submit = async (signer: typeof alice | typeof bob, o: Order) =>
      keeper.submitOrder({ order: o, signature: await signOrder({ signer, order: o, domain: env.sdkDomain }) });

    const ask = order(alice.address, { isBuy: false, lots: 10n, priceTicks: 200_000n });
    const placed = await submit(alice, ask);
    expect(placed).to.deep.include({ status: "open", filledLots: 0n, remainingLots: 10n, trades: [] });
    await submit(alice, order(alice.address, { isBuy: false, lots: 3n, priceTicks: 200_100n }));
    let rest = await converged("two asks");
    expect(summary(rest)).to.deep.equal({ bids: [], asks: ["200000x10/1", "200100x3/1"] });

    // bob's crossing buy takes 4 at alice's price
    const take = await submit(bob, order(bob.address as Address, { isBuy: true, lots: 4n, priceTicks: 200_000n }));
    expect(take).to.deep.include({ status: "filled", filledLots: 4n, remainingLots: 0n });
    expect(take.trades).to.have.lengthOf(1);
    expect(take.trades[0]).to.deep.include({
      makerHash: placed.hash,
      maker: alice.address,
      lots: 4n,
      priceTicks: 200_000n,
    });
    rest = await converged("after the take");
    expect(summary(rest).asks).to.deep.equal(["200000x6/1", "200100x3/1"]);
    await eventually(() => trades.some((t) => t.fillId === take.trades[0].fillId), "the trade on the feed");
    expect(trades.filter((t) => t.fillId === take.trades[0].fillId && t.status === "matched")).to.have.lengthOf(1);
    expect((await keeper.getTrades(1n, { limit: 10 }))[0].fillId).to.equal(take.trades[0].fillId);

    // Per-account reads need the account's session.
    expect(await keeper.login({ signer: alice })).to.include({ account: alice.address });
    const status = await keeper.getOrder(placed.hash);
    expect(status).to.deep.include({ status: "partially-filled", filledLots: 4n, remainingLots: 6n });
    expect(status.order).to.deep.equal(ask);
    expect(status.fills?.map((f) => f.lots)).to.deep.equal([4n]);
    expect((await keeper.getOpenOrders(alice.address)).map((o) => o.hash)).to.include(placed.hash);

    // alice soft-cancels with her viem account
    const cancelled = await keeper.cancelOrders({ signer: alice, orderHashes: [placed.hash] });
    expect(cancelled).to.deep.equal([{ hash: placed.hash, outcome: "cancelled" }]);
    expect(await keeper.getOrder(placed.hash)).to.deep.include({ status: "cancelled", reason: "soft-cancel" });
    rest = await converged("after alice's cancel");
    expect(summary(rest).asks).to.deep.equal(["200100x3/1"]);

    // bob rests a bid and cancels all his market-1 orders with his ethers Wallet
    const bid = await submit(bob, order(bob.address as Address, { isBuy: true, lots: 2n, priceTicks: 190_000n }));
    expect(bid.status).to.equal("open");
    await converged("bob's bid");
    expect(await keeper.cancelAll({ signer: bob, marketId: 1n })).to.deep.equal([bid.hash]);
    await keeper.login({ signer: bob });
    expect((await keeper.getOrder(bid.hash)).status).to.equal("cancelled");
    rest = await converged("after bob's cancelAll");
    expect(summary(rest)).to.deep.equal({ bids: [], asks: ["200100x3/1"] });

    // every book the feed showed had strictly increasing seqs (none repeated, none applied out of order)
    for (let i = 1; i < books.length; i++) expect(books[i].seq > books[i - 1].seq).to.equal(true);

    // alice's private channel told her what happened to her first order, once each
    await eventually(
      () => aliceUpdates.some((u) => u.hash === placed.hash && u.event === "cancelled"),
      "alice's cancel on the private channel",
    );
    const events = aliceUpdates.filter((u) => u.hash === placed.hash).map((u) => `${u.event} ${u.filledLots}`);
    expect(events).to.deep.equal(["accepted 0", "partially-filled 4", "cancelled 4"]);
    expect(errors).to.deep.equal([]);
  });

  it("maps the keeper's refusals to KeeperApiError with its code and status", async function () {
    const poor = privateKeyToAccount(generatePrivateKey()); // nothing deposited
    const o: Order = {
      maker: poor.address,
      marketId: 1n,
      isBuy: true,
      flags: 0n,
      maxFeeBps: 100n,
      expiry: 4_102_444_800n,
      nonce: 1n,
      priceTicks: 200_000n,
      lots: 1n,
    };
    const refusal = async (promise: Promise<unknown>) => {
      try {
        await promise;
      } catch (error) {
        expect(error).to.be.instanceOf(KeeperApiError);
        return error as KeeperApiError;
      }
      expect.fail("expected a refusal");
    };
    const balance = await refusal(
      keeper.submitOrder({ order: o, signature: await signOrder({ signer: poor, order: o, domain: env.sdkDomain }) }),
    );
    expect([balance.code, balance.status]).to.deep.equal(["INSUFFICIENT_BALANCE", 422]);
    const stranger = createKeeperClient({ url: api.url, domain: env.sdkDomain });
    await stranger.login({ signer: poor });
    const missing = await refusal(stranger.getOrder(`0x${"00".repeat(32)}`));
    expect([missing.code, missing.status]).to.deep.equal(["ORDER_NOT_FOUND", 404]);
    // The refusal is not stored, but its maker can read it a while.
    expect(await stranger.getOrder(balance.details.hash as `0x${string}`)).to.deep.include({
      status: "rejected",
      reason: "INSUFFICIENT_BALANCE",
    });
    const unknown = await refusal(keeper.getBook(7n));
    expect([unknown.code, unknown.status]).to.deep.equal(["MARKET_NOT_SERVED", 404]);
    const stale = await refusal(
      keeper.cancelOrders({
        signer: poor,
        orderHashes: [`0x${"11".repeat(32)}`],
        issuedAt: BigInt(Date.now() - 600_000),
      }),
    );
    expect([stale.code, stale.status]).to.deep.equal(["CANCEL_EXPIRED", 422]);
  });

  it("reconnects after the keeper's API restarts, and shows the book as it became while it was down", async function () {
    const carolKey = generatePrivateKey();
    const carol = privateKeyToAccount(carolKey);
    await depositBoth(env, carolKey);
    const restartable = createKeeperFeed({
      wsUrl: api.wsUrl,
      WebSocket,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    });
    const books: { seq: bigint; book: KeeperBook }[] = [];
    const states: string[] = [];
    restartable.subscribeBook(1n, {
      onBook: (book, seq) => books.push({ seq, book }),
      onStatus: (s) => states.push(s.state),
    });
    try {
      await eventually(() => books.length === 1, "the first snapshot");
      const before = summary(books[0].book);

      // The API goes down; an order reaches the engine meanwhile; the API comes back on the same port.
      const port = Number(new URL(api.url).port);
      await api.close();
      await eventually(() => states.includes("disconnected"), "the feed to notice");
      const o: Order = {
        maker: carol.address,
        marketId: 1n,
        isBuy: true,
        flags: 0n,
        maxFeeBps: 100n,
        expiry: 4_102_444_800n,
        nonce: 1n,
        priceTicks: 150_000n,
        lots: 7n,
      };
      const result = await engine.submit({
        order: o,
        signature: await signOrder({ signer: carol, order: o, domain: env.sdkDomain }),
      });
      expect(
        result.ok,
        JSON.stringify(result, (_k, v) => (typeof v === "bigint" ? v.toString() : v)),
      ).to.equal(true);
      api = await serve(port);

      const rest = await keeper.getBook(1n, { depth: 1000 });
      await eventually(() => books.length >= 2, "the snapshot after the reconnect");
      const latest = books[books.length - 1];
      expect(summary(latest.book)).to.deep.equal(summary(rest));
      expect(summary(latest.book).bids).to.include("150000x7/1");
      expect(before.bids).to.not.include("150000x7/1");
      expect(states.filter((s) => s === "live").length).to.be.at.least(2);
    } finally {
      restartable.close();
    }
  });

  it("a viem wallet client (JSON-RPC account) and an ERC-1271 wallet submit and soft-cancel too", async function () {
    // carol: a node-held account behind a viem wallet client (eth_signTypedData_v4)
    const carol = walletClient(env.carol.address as Address);
    for (const [token, contract] of [
      [env.addresses.base, env.base],
      [env.addresses.quote, env.quote],
    ] as const) {
      await mint(contract, env.carol.address as Address, 10n ** 20n);
      const { hash } = await deposit(carol, { exchange: env.addresses.exchange, token, amount: 10n ** 20n });
      await publicClient.waitForTransactionReceipt({ hash });
    }
    const carolOrder: Order = {
      maker: env.carol.address as Address,
      marketId: 1n,
      isBuy: false,
      flags: 0n,
      maxFeeBps: 100n,
      expiry: 4_102_444_800n,
      nonce: 77n,
      priceTicks: 300_000n,
      lots: 2n,
    };
    const carolPlaced = await keeper.submitOrder({
      order: carolOrder,
      signature: await signOrder({ signer: carol, order: carolOrder, domain: env.sdkDomain }),
    });
    expect(carolPlaced.status).to.equal("open");
    expect(await keeper.cancelOrders({ signer: carol, orderHashes: [carolPlaced.hash] })).to.deep.equal([
      { hash: carolPlaced.hash, outcome: "cancelled" },
    ]);

    // an ERC-1271 wallet owned by dave (an ethers signer): dave signs, the wallet is the maker
    const wallet = await ethers.deployContract("MockERC1271Wallet", [env.dave.address]);
    const walletAddress = (await wallet.getAddress()) as Address;
    await mint(env.quote, walletAddress, 10n ** 12n);
    await (await wallet.connect(env.dave).deposit(env.addresses.exchange, env.addresses.quote, 10n ** 12n)).wait();
    const walletOrder: Order = { ...carolOrder, maker: walletAddress, isBuy: true, priceTicks: 100_000n, nonce: 1n };
    const walletPlaced = await keeper.submitOrder({
      order: walletOrder,
      signature: await signOrder({ signer: env.dave, order: walletOrder, domain: env.sdkDomain }),
    });
    expect(walletPlaced.status).to.equal("open");
    // dave alone is not the maker: the keeper says not-owner
    const asDave = await keeper.cancelOrders({ signer: env.dave, orderHashes: [walletPlaced.hash] });
    expect(asDave).to.deep.equal([{ hash: walletPlaced.hash, outcome: "not-owner" }]);
    // for the wallet (maker = the wallet, signed by its owner): cancelled
    const asWallet = await keeper.cancelOrders({
      signer: env.dave,
      maker: walletAddress,
      orderHashes: [walletPlaced.hash],
    });
    expect(asWallet).to.deep.equal([{ hash: walletPlaced.hash, outcome: "cancelled" }]);
    // The wallet's session, signed by its owner (ERC-1271).
    await keeper.login({ signer: env.dave, maker: walletAddress });
    expect((await keeper.getOrder(walletPlaced.hash)).status).to.equal("cancelled");
  });
});
