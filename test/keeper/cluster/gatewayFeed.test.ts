/**
 * A gateway's feed in front of a stand-in shard (a WebSocket server that records what reaches it):
 * each order goes upstream with the signer the gateway recovered, and a connection's messages go
 * upstream in the order the trader sent them, however long a recovery takes.
 */
import { expect } from "chai";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import type { Address } from "viem";
import { attachGatewayFeed } from "../../../keeper/src/cluster/gatewayFeed";
import type { ShardDirectory } from "../../../keeper/src/cluster/shardLinks";
import { Sessions } from "../../../keeper/src/api/sessions";
import { silentLogger } from "../../../keeper/src/log";

type Json = Record<string, unknown>;

const MAKER = "0x1111111111111111111111111111111111111111" as Address;
const order = (nonce: number) => ({
  maker: MAKER,
  marketId: "1",
  isBuy: true,
  flags: "0",
  maxFeeBps: "30",
  expiry: "4102444800",
  nonce: String(nonce),
  priceTicks: "2000",
  lots: "1",
});
const SIGNATURE = `0x${"ab".repeat(65)}`;

describe("gateway feed: what goes upstream to a shard", function () {
  this.timeout(30_000);
  let shard: WebSocketServer;
  let gateway: WebSocketServer;
  const received: Json[] = [];
  /** Recoveries the test lets finish (`finish`), in the order they were asked for. */
  const recoveries: { nonce: string; finish: (signer: Address | undefined) => void }[] = [];
  let trader: WebSocket;

  before(async () => {
    shard = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await once(shard, "listening");
    shard.on("connection", (ws) => ws.on("message", (data: Buffer) => received.push(JSON.parse(data.toString()))));
    const shardUrl = `http://127.0.0.1:${(shard.address() as AddressInfo).port}`;
    const entry = { name: "a", markets: [1n], leaderUrl: shardUrl };
    const directory = {
      all: [entry],
      byName: (name: string) => (name === "a" ? entry : undefined),
      shardOf: (marketId: bigint) => (marketId === 1n ? entry : undefined),
      refresh: async () => {},
    } as unknown as ShardDirectory;
    gateway = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await once(gateway, "listening");
    gateway.on("connection", (ws) =>
      attachGatewayFeed(ws, "10.0.0.1", {
        directory,
        secret: "a cluster secret for the tests",
        sessions: new Sessions({ ttlMs: 60_000, challengeTtlMs: 60_000, clock: () => 0 }),
        log: silentLogger,
        verifyLogin: async () => false,
        signerOf: (o) => new Promise((finish) => recoveries.push({ nonce: o.nonce.toString(), finish })),
      }),
    );
    trader = new WebSocket(`ws://127.0.0.1:${(gateway.address() as AddressInfo).port}`);
    await once(trader, "open");
  });
  after(async () => {
    trader?.close();
    gateway?.close();
    shard?.close();
  });

  /** Waits until `test` holds, a turn of the event loop at a time (no clock: the test's timeout bounds it). */
  async function until(test: () => boolean): Promise<void> {
    while (!test()) await new Promise((r) => setImmediate(r));
  }

  it("sends each order with its recovered signer, behind the messages sent before it", async () => {
    trader.send(JSON.stringify({ op: "place", id: "p1", order: order(1), signature: SIGNATURE }));
    trader.send(JSON.stringify({ op: "cancelOnDisconnect", id: "c1", enabled: true }));
    trader.send(
      JSON.stringify({
        op: "batch",
        id: "b1",
        actions: [{ cancel: { nonce: "7" } }, { place: { order: order(2), signature: SIGNATURE } }],
      }),
    );
    // Both recoveries run at once; the batch's finishes first, the place's is not done: nothing
    // goes upstream, since nothing may overtake the place.
    await until(() => recoveries.length === 2);
    expect(recoveries.map((r) => r.nonce)).to.deep.equal(["1", "2"]);
    recoveries[1].finish(MAKER);
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(received).to.deep.equal([]);
    recoveries[0].finish(MAKER);
    await until(() => received.length === 3);
    expect(received.map((m) => m.op)).to.deep.equal(["place", "cancelOnDisconnect", "batch"]);
    expect(received[0].signer).to.equal(MAKER);
    expect(received[1]).to.not.have.any.keys("signer", "signers");
    expect(received[2].signers).to.deep.equal({ 1: MAKER });
    // Upstream, under the gateway's ids, never the client's.
    expect(received.map((m) => m.id)).to.not.include.members(["p1", "c1", "b1"]);
  });

  it("never passes on a signer the trader wrote into its message (the shard would believe it)", async () => {
    received.length = 0;
    recoveries.length = 0;
    const forger = "0x2222222222222222222222222222222222222222";
    trader.send(
      JSON.stringify({ op: "place", id: "f1", order: order(4), signature: SIGNATURE, signer: MAKER, signers: {} }),
    );
    trader.send(
      JSON.stringify({
        op: "batch",
        id: "f2",
        actions: [{ place: { order: order(5), signature: SIGNATURE } }],
        signers: { 0: MAKER, 1: forger },
      }),
    );
    trader.send(JSON.stringify({ op: "cancelOnDisconnect", id: "f3", enabled: true, signer: MAKER }));
    await until(() => recoveries.length === 2);
    recoveries[0].finish(undefined); // the gateway recovered nobody: the shard must recover it itself
    recoveries[1].finish(undefined);
    await until(() => received.length === 3);
    for (const m of received) expect(m).to.not.have.any.keys("signer", "signers");
    recoveries.length = 0;
  });

  it("sends an order whose signer is not its maker without one (the shard checks it)", async () => {
    received.length = 0;
    trader.send(JSON.stringify({ op: "place", id: "p2", order: order(3), signature: SIGNATURE }));
    await until(() => recoveries.length === 1);
    recoveries[0].finish(undefined);
    await until(() => received.length === 1);
    expect(received[0]).to.not.have.property("signer");
  });
});
