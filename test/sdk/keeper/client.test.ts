/**
 * The keeper client's HTTP side against a stand-in keeper whose answers each test decides: what
 * goes on the wire (integers as decimal strings, signed cancels), what comes back (bigints), and
 * how every kind of failure maps to an SDK error with a stable code.
 */
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Wallet } from "ethers";
import { verifyTypedData, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  KeeperApiError,
  KeeperRequestError,
  createKeeperClient,
  hashOrder,
  keeperMessageTypedData,
  signOrder,
  type Order,
} from "@crossbook/sdk";
import { FakeKeeper, expectRejection, json } from "./fakeKeeper";

const domain = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000c0ffe" } as const;
const account = privateKeyToAccount(generatePrivateKey());
const bigOrder: Order = {
  maker: account.address,
  marketId: 4_294_967_295n,
  isBuy: true,
  flags: 1n,
  maxFeeBps: 65_535n,
  expiry: 1_099_511_627_775n,
  nonce: 18_446_744_073_709_551_615n,
  priceTicks: 9_007_199_254_740_993n, // 2^53 + 1: a JSON number would lose it
  lots: 25n,
};
const HASH_A = `0x${"a1".repeat(32)}` as Hex;
const HASH_B = `0x${"b2".repeat(32)}` as Hex;

function trade(fillId: number, status = "matched") {
  return {
    fillId,
    marketId: "1",
    makerHash: HASH_A,
    takerHash: HASH_B,
    maker: account.address,
    taker: account.address,
    makerIsBuy: false,
    priceTicks: "9007199254740993",
    lots: "3",
    status,
    at: 1_700_000_000_000,
  };
}

describe("sdk/keeper: client (HTTP)", function () {
  let keeper: FakeKeeper;
  beforeEach(async () => {
    keeper = await FakeKeeper.start();
  });
  afterEach(async () => {
    await keeper.close();
  });

  it("submitOrder sends every integer as a decimal string and decodes the answer into bigints", async function () {
    const signature = await signOrder({ signer: account, order: bigOrder, domain });
    const hash = hashOrder({ order: bigOrder, domain });
    keeper.handler = (_req, res) =>
      json(res, 201, {
        hash,
        status: "partially-filled",
        filledLots: "3",
        remainingLots: "22",
        trades: [trade(7)],
      });
    const client = createKeeperClient({ url: keeper.url + "/", domain });
    const result = await client.submitOrder({ order: bigOrder, signature });

    const [request] = keeper.requests;
    expect(request.method).to.equal("POST");
    expect(request.url).to.equal("/v1/orders");
    expect(request.headers["content-type"]).to.equal("application/json");
    expect(JSON.parse(request.body)).to.deep.equal({
      order: {
        maker: account.address,
        marketId: "4294967295",
        isBuy: true,
        flags: "1",
        maxFeeBps: "65535",
        expiry: "1099511627775",
        nonce: "18446744073709551615",
        priceTicks: "9007199254740993",
        lots: "25",
      },
      signature,
    });
    expect(result).to.deep.equal({
      hash,
      status: "partially-filled",
      filledLots: 3n,
      remainingLots: 22n,
      trades: [
        {
          fillId: 7,
          marketId: 1n,
          makerHash: HASH_A,
          takerHash: HASH_B,
          maker: account.address,
          taker: account.address,
          makerIsBuy: false,
          priceTicks: 9_007_199_254_740_993n,
          lots: 3n,
          status: "matched",
          at: 1_700_000_000_000,
        },
      ],
    });
  });

  it("a keeper refusal becomes a KeeperApiError with the keeper's code, status, message and details", async function () {
    keeper.handler = (_req, res) =>
      json(res, 422, {
        error: {
          code: "INSUFFICIENT_BALANCE",
          message: "quote balance 5 is below 10",
          details: { token: "0x01", available: "5" },
        },
      });
    const client = createKeeperClient({ url: keeper.url, domain });
    const error = await expectRejection(client.getBook(1n));
    expect(error).to.be.instanceOf(KeeperApiError);
    expect(error.code).to.equal("INSUFFICIENT_BALANCE");
    expect((error as KeeperApiError).status).to.equal(422);
    expect(error.message).to.equal("quote balance 5 is below 10");
    expect(error.details).to.deep.equal({ token: "0x01", available: "5" });
  });

  it("RATE_LIMITED carries Retry-After in milliseconds", async function () {
    keeper.handler = (_req, res) =>
      json(res, 429, { error: { code: "RATE_LIMITED", message: "slow down" } }, { "retry-after": "2" });
    const error = (await expectRejection(createKeeperClient({ url: keeper.url, domain }).health())) as KeeperApiError;
    expect([error.code, error.status, error.retryAfterMs]).to.deep.equal(["RATE_LIMITED", 429, 2000]);
  });

  it("an answer that is not the protocol is KEEPER_BAD_RESPONSE naming the field", async function () {
    const client = createKeeperClient({ url: keeper.url, domain });
    keeper.handler = (_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html>bad gateway</html>");
    };
    const notJson = await expectRejection(client.getMarkets());
    expect(notJson).to.be.instanceOf(KeeperRequestError);
    expect(notJson.code).to.equal("KEEPER_BAD_RESPONSE");

    keeper.handler = (_req, res) =>
      json(res, 200, { marketId: "1", seq: "4", bids: [{ priceTicks: 1.5, lots: "2", orders: 1 }], asks: [] });
    const badField = await expectRejection(client.getBook(1n));
    expect(badField.code).to.equal("KEEPER_BAD_RESPONSE");
    expect(badField.details.path).to.equal("response.bids[0].priceTicks");

    keeper.handler = (_req, res) => json(res, 500, { oops: true });
    expect((await expectRejection(client.health())).code).to.equal("KEEPER_BAD_RESPONSE");
  });

  it("no keeper listening is KEEPER_UNREACHABLE", async function () {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await expectRejection(createKeeperClient({ url: `http://127.0.0.1:${port}`, domain }).health());
    expect(error).to.be.instanceOf(KeeperRequestError);
    expect(error.code).to.equal("KEEPER_UNREACHABLE");
  });

  it("a keeper that does not answer in time is KEEPER_TIMEOUT", async function () {
    keeper.handler = () => {}; // never answers
    const started = Date.now();
    const error = await expectRejection(createKeeperClient({ url: keeper.url, domain, timeoutMs: 150 }).health());
    expect(error.code).to.equal("KEEPER_TIMEOUT");
    expect(Date.now() - started).to.be.within(140, 2_000);
  });

  it("cancelOrders signs CancelOrders (issuedAt now) with a viem account, and the keeper can verify it", async function () {
    keeper.handler = (_req, res) =>
      json(res, 200, {
        results: [
          { hash: HASH_A, outcome: "cancelled" },
          { hash: HASH_B, outcome: "not-found" },
        ],
      });
    const before = BigInt(Date.now());
    const results = await createKeeperClient({ url: keeper.url, domain }).cancelOrders({
      signer: account,
      orderHashes: [HASH_A, HASH_B],
    });
    expect(results).to.deep.equal([
      { hash: HASH_A, outcome: "cancelled" },
      { hash: HASH_B, outcome: "not-found" },
    ]);
    const request = keeper.requests[0];
    expect(request.url).to.equal("/v1/cancels");
    const body = JSON.parse(request.body) as {
      cancel: { maker: Hex; orderHashes: Hex[]; issuedAt: string };
      signature: Hex;
    };
    expect(body.cancel.maker).to.equal(account.address);
    expect(body.cancel.orderHashes).to.deep.equal([HASH_A, HASH_B]);
    expect(BigInt(body.cancel.issuedAt)).to.be.within(before, BigInt(Date.now()));
    const message = {
      maker: body.cancel.maker,
      orderHashes: body.cancel.orderHashes,
      issuedAt: BigInt(body.cancel.issuedAt),
    };
    const typed = keeperMessageTypedData({ domain, primaryType: "CancelOrders", message });
    expect(await verifyTypedData({ address: account.address, signature: body.signature, ...typed })).to.equal(true);
    // the same message under another domain does not verify: the signature is bound to this Exchange
    const other = keeperMessageTypedData({ domain: { ...domain, chainId: 1 }, primaryType: "CancelOrders", message });
    expect(await verifyTypedData({ address: account.address, signature: body.signature, ...other })).to.equal(false);
  });

  it('cancelAll with an ethers signer sends marketId "0" by default and a signature the keeper can verify', async function () {
    const wallet = Wallet.createRandom();
    keeper.handler = (_req, res) => json(res, 200, { cancelled: [HASH_A] });
    const cancelled = await createKeeperClient({ url: keeper.url, domain }).cancelAll({ signer: wallet });
    expect(cancelled).to.deep.equal([HASH_A]);
    const body = JSON.parse(keeper.requests[0].body) as {
      cancelAll: { maker: Hex; marketId: string; issuedAt: string };
      signature: Hex;
    };
    expect(keeper.requests[0].url).to.equal("/v1/cancels/all");
    expect(body.cancelAll.maker).to.equal(wallet.address);
    expect(body.cancelAll.marketId).to.equal("0");
    const typed = keeperMessageTypedData({
      domain,
      primaryType: "CancelAll",
      message: { maker: body.cancelAll.maker, marketId: 0n, issuedAt: BigInt(body.cancelAll.issuedAt) },
    });
    // (`as never`: viem types a uint32 field as number, keeperMessageTypedData's message has a bigint)
    const verified = await verifyTypedData({
      address: wallet.address as Hex,
      signature: body.signature,
      ...typed,
    } as never);
    expect(verified).to.equal(true);
  });

  it("queries put their options in the query string and decode orders, trades and markets", async function () {
    const order = {
      maker: account.address,
      marketId: "1",
      isBuy: false,
      flags: "0",
      maxFeeBps: "10",
      expiry: "4102444800",
      nonce: "5",
      priceTicks: "2000",
      lots: "7",
    };
    const status = {
      hash: HASH_A,
      order,
      status: "cancelled",
      reason: "soft-cancel",
      filledLots: "2",
      remainingLots: "5",
      settledLots: "2",
      createdAt: 1,
      updatedAt: 2,
    };
    keeper.handler = (req, res) => {
      if (sessionAnswer(req, res)) return;
      if (req.url.startsWith("/v1/orders/")) return json(res, 200, { ...status, fills: [trade(1, "settled")] });
      if (req.url.startsWith("/v1/accounts/")) return json(res, 200, { orders: [status] });
      if (req.url.includes("/trades")) return json(res, 200, { trades: [trade(2, "skipped")] });
      return json(res, 200, {
        markets: [
          {
            marketId: "1",
            base: account.address,
            quote: account.address,
            lotSize: "10000000000000000",
            tickSize: "100",
            makerFeeBps: "5",
            takerFeeBps: "10",
            baseDecimals: 18,
            quoteDecimals: 6,
            riskLimits: { halted: false, bandBps: "500", maxLotsPerBlock: "0" },
            priceBounds: { available: true, minPriceTicks: "1900", maxPriceTicks: "2100" },
          },
        ],
      });
    };
    const client = createKeeperClient({ url: keeper.url, domain });
    await client.login({ signer: account });
    const detail = await client.getOrder(HASH_A, { limit: 10 });
    expect(detail.order).to.deep.equal({
      ...bigOrder,
      marketId: 1n,
      isBuy: false,
      flags: 0n,
      maxFeeBps: 10n,
      expiry: 4_102_444_800n,
      nonce: 5n,
      priceTicks: 2000n,
      lots: 7n,
    });
    expect([detail.status, detail.reason, detail.filledLots, detail.settledLots]).to.deep.equal([
      "cancelled",
      "soft-cancel",
      2n,
      2n,
    ]);
    expect(detail.fills?.[0].status).to.equal("settled");
    const open = await client.getOpenOrders(account.address, { limit: 5 });
    expect(open).to.have.lengthOf(1);
    expect(open[0].fills).to.equal(undefined);
    await client.getOpenOrders(account.address, { status: "all" });
    const trades = await client.getTrades(1n, { limit: 3 });
    expect(trades[0].status).to.equal("skipped");
    const [market] = await client.getMarkets();
    expect([market.lotSize, market.baseDecimals, market.quoteDecimals]).to.deep.equal([10n ** 16n, 18, 6]);
    expect(market.priceBounds).to.deep.equal({ available: true, minPriceTicks: 1900n, maxPriceTicks: 2100n });
    await client.getBook(1n, { depth: 3 }).catch(() => undefined);
    expect(keeper.requests.map((r) => `${r.method} ${r.url}`)).to.deep.equal([
      "POST /v1/sessions/challenge",
      "POST /v1/sessions",
      `GET /v1/orders/${HASH_A}?limit=10`,
      `GET /v1/accounts/${account.address}/orders?status=open&limit=5`,
      `GET /v1/accounts/${account.address}/orders?status=all`,
      "GET /v1/markets/1/trades?limit=3",
      "GET /v1/markets",
      "GET /v1/markets/1/book?depth=3",
    ]);
  });

  it("logs in with a signed FeedLogin, sends the session on per-account reads, and logs in again when it ends", async function () {
    const challenges: Hex[] = [];
    let valid = "";
    keeper.handler = (req, res) => {
      if (req.url === "/v1/sessions/challenge") {
        const challenge = `0x${String(challenges.length + 1).padStart(64, "0")}` as Hex;
        challenges.push(challenge);
        return json(res, 200, { challenge, expiresAt: 60_000 });
      }
      if (req.url === "/v1/sessions") {
        const body = JSON.parse(req.body) as { account: Hex; challenge: Hex; signature: Hex };
        valid = `token-${challenges.length}`;
        void verifyTypedData({
          address: account.address,
          signature: body.signature,
          ...keeperMessageTypedData({
            domain,
            primaryType: "FeedLogin",
            message: { account: account.address, challenge: body.challenge },
          }),
        } as never).then((ok) =>
          json(res, ok ? 201 : 401, ok ? { token: valid, account: body.account, expiresAt: 1 } : {}),
        );
        return;
      }
      if (req.headers.authorization !== `Bearer ${valid}`) {
        return json(res, 401, { error: { code: "SESSION_REQUIRED", message: "log in" } });
      }
      return json(res, 200, { orders: [], next: "5:0xabc" });
    };
    const client = createKeeperClient({ url: keeper.url, domain });
    await client.getOpenOrders(account.address).then(
      () => expect.fail("a per-account read without a session should throw"),
      (e: KeeperRequestError) => expect(e.code).to.equal("KEEPER_INVALID_ARGUMENT"),
    );
    expect(await client.login({ signer: account })).to.deep.equal({ account: account.address, expiresAt: 1 });
    expect(await client.getAccountOrders(account.address, { status: "all" })).to.deep.equal({
      orders: [],
      next: "5:0xabc",
    });
    valid = "rotated"; // the keeper restarted: the session is gone
    expect(await client.getOpenOrders(account.address)).to.deep.equal([]);
    expect(challenges).to.have.lengthOf(2);
    const reads = keeper.requests.filter((r) => r.url.startsWith("/v1/accounts/"));
    expect(reads.map((r) => r.headers.authorization)).to.deep.equal([
      "Bearer token-1",
      "Bearer token-1",
      "Bearer token-2",
    ]);
  });
});

/** Answers the login requests of a fake keeper: true when it did. */
function sessionAnswer(req: { url: string; body: string }, res: Parameters<typeof json>[0]): boolean {
  if (req.url === "/v1/sessions/challenge") {
    json(res, 200, { challenge: `0x${"c0".repeat(32)}`, expiresAt: 60_000 });
    return true;
  }
  if (req.url === "/v1/sessions") {
    json(res, 201, {
      token: "token",
      account: (JSON.parse(req.body) as { account: string }).account,
      expiresAt: 60_000,
    });
    return true;
  }
  return false;
}
