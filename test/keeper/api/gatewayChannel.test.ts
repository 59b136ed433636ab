import { expect } from "chai";
import WebSocket from "ws";
import type { Address, Hex } from "viem";
import { hashOrder, type ExchangeDomainParameters, type Order } from "@crossbook/sdk";
import {
  CLUSTER_SECRET_HEADER,
  GATEWAY_CHANNEL_PATH,
  type ForwardedAnswer,
  type ForwardedRequest,
} from "../../../keeper/src/api/gatewayChannel";
import { recoverOrderSigner } from "../../../keeper/src/sigcheck";
import { http, newTrader, orderOf, signedBody, startKeeper, type Keeper, type Trader } from "./support";

const SECRET = "a cluster secret for the tests";

/** Opens the channel with `secret`; resolves with the socket, or rejects with the upgrade's status. */
function openChannel(k: Keeper, secret?: string): Promise<WebSocket> {
  const url = `${k.api.url.replace("http", "ws")}${GATEWAY_CHANNEL_PATH}`;
  const ws = new WebSocket(url, { headers: secret === undefined ? {} : { [CLUSTER_SECRET_HEADER]: secret } });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

function forward(ws: WebSocket, frame: ForwardedRequest): Promise<ForwardedAnswer> {
  return new Promise((resolve) => {
    const onMessage = (data: Buffer) => {
      const answer = JSON.parse(data.toString()) as ForwardedAnswer;
      if (answer.id !== frame.id) return;
      ws.off("message", onMessage);
      resolve(answer);
    };
    ws.on("message", onMessage);
    ws.send(JSON.stringify(frame));
  });
}

describe("keeper API: the gateways' channel (cluster secret only)", function () {
  this.timeout(120_000);
  let k: Keeper;
  let trader: Trader;
  /** Signatures the engine recovered itself, by order hash. */
  const recoveredHere: string[] = [];

  before(async () => {
    const memo = new Map<string, Promise<Address | undefined>>();
    const key = (order: Order, signature: Hex, domain: ExchangeDomainParameters) =>
      hashOrder({ order, domain }) + signature.slice(2);
    k = await startKeeper({
      engine: {
        recoverSigner: (order, signature, domain) => {
          const known = memo.get(key(order, signature, domain));
          if (known !== undefined) return known;
          recoveredHere.push(hashOrder({ order, domain }));
          return recoverOrderSigner(order, signature, domain);
        },
      },
      api: {
        clusterSecret: SECRET,
        trustSigner: (order, signature, signer) => {
          memo.set(key(order, signature, k.env.sdkDomain), Promise.resolve(signer));
        },
      },
    });
    trader = await newTrader(k.env);
  });
  after(async () => k?.close());

  it("refuses the upgrade without the secret or with another one", async () => {
    expect(await openChannel(k).catch((e: Error) => e.message)).to.equal("status 403");
    expect(await openChannel(k, "not the secret").catch((e: Error) => e.message)).to.equal("status 403");
  });

  it("runs a forwarded order through the keeper's routes and believes the gateway's signer", async () => {
    const ws = await openChannel(k, SECRET);
    try {
      const order = orderOf(trader, { isBuy: true, priceTicks: 190_000n });
      const answer = await forward(ws, {
        id: 7,
        method: "POST",
        url: "/v1/orders",
        headers: { "content-type": "application/json" },
        body: await signedBody(k, trader, order),
        client: "10.1.2.3",
        signer: trader.address,
      });
      expect(answer.id).to.equal(7);
      expect(answer.status).to.equal(201);
      const hash = hashOrder({ order, domain: k.env.sdkDomain });
      expect((answer.body as { hash: string }).hash).to.equal(hash);
      expect(recoveredHere).to.not.include(hash); // the keeper did not recover it again

      // A read, and a refusal with its code, come back as they are.
      const book = await forward(ws, { id: 8, method: "GET", url: "/v1/markets/1/book", client: "10.1.2.3" });
      expect(book.status).to.equal(200);
      expect((book.body as { bids: unknown[] }).bids).to.have.length(1);
      const missing = await forward(ws, { id: 9, method: "GET", url: "/v1/markets/9/book", client: "10.1.2.3" });
      expect(missing.status).to.equal(404);
      expect((missing.body as { error: { code: string } }).error.code).to.equal("MARKET_NOT_SERVED");
    } finally {
      ws.close();
    }
  });

  it("never believes a signer that a client sends over HTTP", async () => {
    const order = orderOf(trader, { isBuy: true, priceTicks: 180_000n });
    const body = await signedBody(k, trader, order);
    const withField = await http(k.api.url, "POST", "/v1/orders", { ...body, signer: trader.address });
    expect(withField.status).to.equal(400);
    const res = await http(k.api.url, "POST", "/v1/orders", body, { "x-crossbook-signer": trader.address });
    expect(res.status).to.equal(201);
    expect(recoveredHere).to.include(hashOrder({ order, domain: k.env.sdkDomain })); // recovered here
  });

  it("has no channel without a secret", async () => {
    const plain = await startKeeper({ env: k.env });
    try {
      const res = await http(plain.api.url, "GET", GATEWAY_CHANNEL_PATH);
      expect(res.status).to.equal(404);
      expect(await openChannel(plain, SECRET).catch((e: Error) => e.message)).to.equal("status 404");
    } finally {
      await plain.close();
    }
  });
});
