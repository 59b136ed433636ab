/**
 * Issue 13, finding 5: one address could take every feed connection slot (10,000). Now each client
 * address has a cap of its own; another address still connects.
 *
 *   127.0.0.1: 3 connections (the cap) ✓, a 4th closed with 1013     127.0.0.2: connects ✓
 */
import { expect } from "chai";
import WebSocket from "ws";
import { FeedClient, startKeeper, type Keeper } from "../api/support";

function openFrom(url: string, localAddress: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress });
    const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
    ws.once("open", () => resolve({ ws, closed }));
    ws.once("error", reject);
  });
}

describe("regression (issue 13, finding 5): feed connections per address", function () {
  let k: Keeper;
  before(async () => {
    k = await startKeeper({ limits: { maxClientsPerIp: 3 } });
  });
  after(async () => {
    await k?.close();
  });

  it("closes a connection beyond the address's cap and still takes another address's", async () => {
    const three = await Promise.all([1, 2, 3].map(() => FeedClient.open(k.api.wsUrl)));
    const fourth = await FeedClient.open(k.api.wsUrl);
    expect(await fourth.closed).to.equal(1013);
    const other = await openFrom(k.api.wsUrl, "127.0.0.2");
    other.ws.send(JSON.stringify({ op: "subscribe", channel: "book", marketId: "1" }));
    const snapshot = await new Promise<{ type: string }>((r) =>
      other.ws.once("message", (d) => r(JSON.parse(d.toString()))),
    );
    expect(snapshot.type).to.equal("subscribed");
    // A slot freed is a slot to take again.
    three[0].close();
    await three[0].closed;
    const again = await FeedClient.open(k.api.wsUrl);
    again.send({ op: "subscribe", channel: "book", marketId: "1" });
    expect((await again.next((m) => m.type === "subscribed")).channel).to.equal("book");
    for (const c of [...three.slice(1), again]) c.close();
    other.ws.close();
  });
});
