/**
 * The feed writes a connection's publications at most once every `flushGapMs`: what is published
 * sooner waits for the next write, in one. A busy keeper commits a group every fsync of its log and
 * each group publishes its deltas; without the gap each group cost every connection a write. An
 * answer to the client's own message is written at once, with what the connection held. Counted on
 * the server's socket: the frames ws queues (`write`) and the writes that reach the kernel
 * (`_write`/`_writev`). No timing: the clock is the test's, and what is held is let go by a reply.
 */
import { expect } from "chai";
import { Socket } from "node:net";
import { FeedClient, http, newTrader, orderOf, signedBody, startKeeper, type Keeper } from "./support";

/** Counts the writes that reach the kernel on the server's side of the connection from `port`. */
function countServerWrites(port: number): { writes(): number; stop(): void } {
  const proto = Socket.prototype as unknown as Record<"_write" | "_writev", (...args: unknown[]) => unknown>;
  const original = { _write: proto._write, _writev: proto._writev };
  let writes = 0;
  proto._write = function (this: Socket, ...args: unknown[]) {
    if (this.remotePort === port) writes++;
    return original._write.apply(this, args);
  };
  proto._writev = function (this: Socket, ...args: unknown[]) {
    if (this.remotePort === port) writes++;
    return original._writev.apply(this, args);
  };
  return { writes: () => writes, stop: () => Object.assign(proto, original) };
}

describe("keeper feed: a connection's publications in one write per flush gap", function () {
  this.timeout(120_000);
  let k: Keeper | undefined;

  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  /**
   * Five orders, one after another (each its own group commit, its delta published before its
   * answer), to a book subscriber; then a bad message (an error) and a subscription (a reply) of
   * the subscriber's own. The server's writes to the subscriber after its snapshot: before the
   * reply, and the reply's own.
   */
  async function run(flushGapMs: number): Promise<{ beforeReply: number; received: number; withReply: number }> {
    k = await startKeeper({ limits: { flushGapMs }, api: { clock: () => 1_000_000 } });
    const trader = await newTrader(k.env);
    const feed = await FeedClient.open(k.api.wsUrl);
    feed.send({ op: "subscribe", channel: "book", marketId: "1" });
    await feed.next((m) => m.type === "snapshot" && m.channel === "book");
    const port = (feed.ws as unknown as { _socket: Socket })._socket.localPort as number;
    const probe = countServerWrites(port);
    try {
      for (let i = 0; i < 5; i++) {
        const placed = await http(
          k.api.url,
          "POST",
          "/v1/orders",
          await signedBody(k, trader, orderOf(trader, { isBuy: true, priceTicks: 1_000n + BigInt(i), lots: 1n })),
        );
        expect(placed.status, JSON.stringify(placed.body)).to.equal(201);
      }
      const beforeReply = probe.writes();
      const received = feed.messages.filter((m) => m.type === "delta").length;
      // An error waits like a publication: a flood of messages past the budget gets no write each.
      feed.send("not json");
      // A reply is written at once, and what the connection held goes first, in order.
      feed.send({ op: "subscribe", channel: "trades", marketId: "1" });
      await feed.next((m) => m.type === "snapshot" && m.channel === "trades");
      const kinds = feed.messages
        .slice(2)
        .map((m) => (m.type === "delta" ? `delta ${m.levels[0].priceTicks}` : m.type));
      expect(kinds).to.deep.equal([
        ...["1000", "1001", "1002", "1003", "1004"].map((p) => `delta ${p}`),
        "error",
        "subscribed",
        "snapshot",
      ]);
      return { beforeReply, received, withReply: probe.writes() - beforeReply };
    } finally {
      probe.stop();
      feed.close();
    }
  }

  it("holds what is published within the gap, and an error, and writes them with the subscriber's next reply", async () => {
    const held = await run(60_000);
    // The first delta left at once (nothing was published before); the other four wait.
    expect(held.beforeReply).to.equal(1);
    expect(held.received).to.be.at.most(1);
    expect(held.withReply).to.equal(1);
    await k?.close();
    k = undefined;
    // With no gap, each delta is its own write.
    const unheld = await run(0);
    expect(unheld.beforeReply).to.equal(5);
  });

  it("writes what it holds before the closing frames when the keeper stops", async () => {
    k = await startKeeper({ limits: { flushGapMs: 60_000 }, api: { clock: () => 1_000_000 } });
    const trader = await newTrader(k.env);
    const feed = await FeedClient.open(k.api.wsUrl);
    feed.send({ op: "subscribe", channel: "book", marketId: "1" });
    await feed.next((m) => m.type === "snapshot" && m.channel === "book");
    for (const priceTicks of [1_000n, 1_001n, 1_002n]) {
      const body = await signedBody(k, trader, orderOf(trader, { isBuy: true, priceTicks, lots: 1n }));
      expect((await http(k.api.url, "POST", "/v1/orders", body)).status).to.equal(201);
    }
    await k.close(); // the second and third deltas are held for an hour: only the close lets them go
    k = undefined;
    expect(await feed.closed).to.equal(1001);
    const deltas = feed.messages.filter((m) => m.type === "delta").map((m) => m.levels[0].priceTicks);
    expect(deltas).to.deep.equal(["1000", "1001", "1002"]);
  });
});
