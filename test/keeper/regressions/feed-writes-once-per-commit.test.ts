/**
 * Issue 13, the attack benchmark: the feed wrote every message to every subscriber with a system
 * call of its own — a burst of wash trades published to 100 connections cost a write per message
 * and connection, and `writev` was a tenth of the keeper's time under attack. Now a connection's
 * messages published in one synchronous run (a group commit's hooks) leave in one write, in order,
 * before the answers that commit lets go.
 *
 *   a taker crosses a resting order → the subscriber gets the trade and the book's delta (two
 *   frames) from one write of the keeper's socket (before: one write each)
 */
import { Socket } from "node:net";
import { expect } from "chai";
import { IMMEDIATE_OR_CANCEL } from "@crossbook/sdk";
import { FeedClient, http, newTrader, orderOf, signedBody, startKeeper, type Keeper } from "../api/support";

describe("regression (issue 13, bench:attack): a feed connection's messages of one synchronous run leave in one write", function () {
  let k: Keeper | undefined;
  const writev = Socket.prototype._writev;
  const write = Socket.prototype._write;
  afterEach(async () => {
    Socket.prototype._writev = writev;
    Socket.prototype._write = write;
    await k?.close();
    k = undefined;
  });

  it("sends a trade and its book delta to a subscriber in one write", async () => {
    k = await startKeeper();
    const maker = await newTrader(k.env);
    const taker = await newTrader(k.env);
    const feed = await FeedClient.open(k.api.wsUrl);
    feed.send({ op: "subscribe", channel: "book", marketId: "1" });
    feed.send({ op: "subscribe", channel: "trades", marketId: "1" });
    await feed.next((m) => m.type === "snapshot" && m.channel === "book");
    await feed.next((m) => m.type === "snapshot" && m.channel === "trades");
    const resting = await http(
      k.api.url,
      "POST",
      "/v1/orders",
      await signedBody(k, maker, orderOf(maker, { isBuy: false, priceTicks: 200_000n, lots: 2n })),
    );
    expect(resting.status).to.equal(201);
    await feed.next((m) => m.type === "delta");
    const from = feed.messages.length;

    // Count the keeper's writes to this subscriber's connection (the keeper runs in this process).
    const port = (feed.ws as unknown as { _socket: Socket })._socket.localPort;
    let writes = 0;
    const counted = <F extends (...args: never[]) => unknown>(original: F) =>
      function (this: Socket, ...args: Parameters<F>) {
        if (this.remotePort === port) writes++;
        return original.apply(this, args);
      } as unknown as F;
    Socket.prototype._writev = counted(writev as (...args: never[]) => unknown) as typeof writev;
    Socket.prototype._write = counted(write as (...args: never[]) => unknown) as typeof write;

    const taking = orderOf(taker, { isBuy: true, priceTicks: 200_000n, lots: 1n, flags: IMMEDIATE_OR_CANCEL });
    const answer = await http(k.api.url, "POST", "/v1/orders", await signedBody(k, taker, taking));
    expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
    await feed.next((m) => m.type === "trade", 10_000, from);
    await feed.next((m) => m.type === "delta", 10_000, from);
    expect(feed.messages.slice(from).map((m) => m.type)).to.include.members(["trade", "delta"]);
    expect(writes).to.equal(1);
    feed.close();
  });
});
