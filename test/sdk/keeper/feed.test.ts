/**
 * The keeper feed client against a stand-in keeper that plays the protocol message by message: the
 * local book from snapshot + deltas, a `seq` gap answered by a resubscription, a dropped connection
 * answered by a reconnect with backoff, no update lost or repeated across the seam, trades
 * deduplicated, the private orders login, and `close()` leaving nothing behind.
 */
import { expect } from "chai";
import { verifyTypedData, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import WebSocket, { type WebSocket as ServerSocket } from "ws";
import {
  createKeeperFeed,
  keeperMessageTypedData,
  type KeeperBook,
  type KeeperFeed,
  type KeeperFeedStatus,
  type KeeperTrade,
} from "@crossbook/sdk";
import { FakeKeeper } from "./fakeKeeper";
import { ManualClock } from "./manualClock";

const domain = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000c0ffe" } as const;
const HASH = `0x${"ab".repeat(32)}` as Hex;
const ACCOUNT = "0x00000000000000000000000000000000000000a1";

/** An `onStatus` that records the states that matter here among the data. */
const statusOf = (seen: string[]) => (s: KeeperFeedStatus) => {
  if (s.state === "live" || s.state === "resyncing") seen.push(s.state);
};

/** The keeper's side of one market's book: the truth the client's copy must equal at every seq. */
class TruthBook {
  seq = 0;
  readonly bids = new Map<string, { lots: string; orders: number }>();
  readonly asks = new Map<string, { lots: string; orders: number }>();
  /** The book as the SDK reports it, by seq. */
  readonly history = new Map<bigint, { bids: string[]; asks: string[] }>();

  /** Sets one level and returns the delta message that says so. */
  change(side: "bid" | "ask", price: number, lots: number, orders = 1) {
    const map = side === "bid" ? this.bids : this.asks;
    if (lots === 0) map.delete(String(price));
    else map.set(String(price), { lots: String(lots), orders });
    this.seq += 1;
    this.history.set(BigInt(this.seq), this.summary());
    return {
      type: "delta",
      channel: "book",
      marketId: "1",
      seq: String(this.seq),
      levels: [{ side, priceTicks: String(price), lots: String(lots), orders: lots === 0 ? 0 : orders }],
    };
  }

  snapshot() {
    const levels = (map: Map<string, { lots: string; orders: number }>) =>
      [...map].map(([priceTicks, l]) => ({ priceTicks, lots: l.lots, orders: l.orders }));
    return {
      type: "snapshot",
      channel: "book",
      marketId: "1",
      seq: String(this.seq),
      bids: levels(this.bids),
      asks: levels(this.asks),
    };
  }

  summary() {
    const sorted = (map: Map<string, { lots: string }>, desc: boolean) =>
      [...map]
        .sort(([a], [b]) => (desc ? Number(b) - Number(a) : Number(a) - Number(b)))
        .map(([p, l]) => `${p}x${l.lots}`);
    return { bids: sorted(this.bids, true), asks: sorted(this.asks, false) };
  }
}

function summary(book: KeeperBook) {
  return {
    bids: book.bids.map((l) => `${l.priceTicks}x${l.lots}`),
    asks: book.asks.map((l) => `${l.priceTicks}x${l.lots}`),
  };
}

function trade(fillId: number, status: "matched" | "settled") {
  return {
    fillId,
    marketId: "1",
    makerHash: HASH,
    takerHash: HASH,
    maker: "0x00000000000000000000000000000000000000a1",
    taker: "0x00000000000000000000000000000000000000b2",
    makerIsBuy: true,
    priceTicks: "100",
    lots: "1",
    status,
    at: 1,
    ...(status === "settled" ? { txHash: HASH } : {}),
  };
}

const subscribes = (keeper: FakeKeeper, socket: ServerSocket, channel: string) =>
  keeper.received.filter((r) => r.socket === socket && r.message.op === "subscribe" && r.message.channel === channel);

/** Resolves once `test()` holds, checking as the event loop turns (real sockets), or fails after 5 s. */
async function eventually(test: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The heartbeat's probe (sdk/src/keeper/feed.ts). */
const PROBE = { op: "unsubscribe", channel: "trades", marketId: "0" };

/** `ws`'s WebSocket, also recording every message the feed sends, as it sends it. */
function recordingWebSocket(sent: Record<string, unknown>[]) {
  return class RecordingWebSocket extends WebSocket {
    override send(data: unknown, ...rest: unknown[]): void {
      sent.push(JSON.parse(String(data)) as Record<string, unknown>);
      (WebSocket.prototype.send as (...args: unknown[]) => void).call(this, data, ...rest);
    }
  };
}

describe("sdk/keeper: feed", function () {
  let keeper: FakeKeeper;
  let feed: KeeperFeed | undefined;
  beforeEach(async () => {
    keeper = await FakeKeeper.start();
  });
  afterEach(async () => {
    feed?.close();
    feed = undefined;
    await keeper.close();
  });

  it("keeps the book from a snapshot and in-order deltas, and ignores deltas already in the snapshot", async function () {
    const truth = new TruthBook();
    truth.change("bid", 100, 5);
    truth.change("ask", 110, 3);
    keeper.onMessage = (socket, m) => {
      if (m.op === "subscribe" && m.channel === "book") keeper.send(socket, truth.snapshot());
    };
    const seen: { seq: bigint; book: KeeperBook }[] = [];
    feed = createKeeperFeed({ wsUrl: keeper.wsUrl, WebSocket });
    feed.subscribeBook(1n, { onBook: (book, seq) => (seen.push({ seq, book }), keeper.wake()) });
    await keeper.until(() => seen.length === 1, "the snapshot");
    expect(seen[0].seq).to.equal(2n);
    expect(subscribes(keeper, keeper.socket, "book")[0].message).to.deep.equal({
      op: "subscribe",
      channel: "book",
      marketId: "1",
    });

    // a delta the snapshot already includes (seq 2) is stale; then 3, 4, 5 in order
    keeper.send(keeper.socket, {
      type: "delta",
      channel: "book",
      marketId: "1",
      seq: "2",
      levels: [{ side: "bid", priceTicks: "100", lots: "0", orders: 0 }],
    });
    keeper.send(keeper.socket, truth.change("bid", 101, 2));
    keeper.send(keeper.socket, truth.change("bid", 100, 0));
    keeper.send(keeper.socket, truth.change("ask", 109, 4, 2));
    await keeper.until(() => seen.length === 4, "three deltas");
    expect(seen.map((s) => s.seq)).to.deep.equal([2n, 3n, 4n, 5n]);
    for (const { seq, book } of seen) expect(summary(book), `seq ${seq}`).to.deep.equal(truth.history.get(seq));
    expect(seen[3].book.asks[0]).to.deep.equal({ priceTicks: 109n, lots: 4n, orders: 2 });
  });

  it("on a seq gap it resubscribes and resyncs from the new snapshot, never showing a book with a hole", async function () {
    const truth = new TruthBook();
    truth.change("bid", 100, 5);
    keeper.onMessage = (socket, m) => {
      if (m.op === "subscribe" && m.channel === "book") keeper.send(socket, truth.snapshot());
    };
    const seen: bigint[] = [];
    const statuses: KeeperFeedStatus[] = [];
    feed = createKeeperFeed({ wsUrl: keeper.wsUrl, WebSocket });
    feed.subscribeBook(1n, {
      onBook: (book, seq) => {
        expect(summary(book), `seq ${seq}`).to.deep.equal(truth.history.get(seq));
        seen.push(seq);
        keeper.wake();
      },
      onStatus: (s) => statuses.push(s),
    });
    await keeper.until(() => seen.length === 1, "the snapshot");
    keeper.send(keeper.socket, truth.change("bid", 99, 1)); // seq 2
    truth.change("ask", 120, 7); // seq 3: lost
    keeper.send(keeper.socket, truth.change("ask", 121, 1)); // seq 4: a gap
    await keeper.until(() => seen.length === 3, "the resync");
    const ops = keeper.received.map((r) => `${r.message.op} ${r.message.channel}`);
    expect(ops).to.deep.equal(["subscribe book", "unsubscribe book", "subscribe book"]);
    expect(seen).to.deep.equal([1n, 2n, 4n]);
    expect(statuses.map((s) => s.state)).to.include("resyncing");
    keeper.send(keeper.socket, truth.change("ask", 120, 0)); // seq 5 applies on the resynced book
    await keeper.until(() => seen.length === 4, "a delta after the resync");
    expect(seen).to.deep.equal([1n, 2n, 4n, 5n]);
  });

  it("reconnects with backoff after the connection drops, resubscribes, and loses or repeats no update", async function () {
    const truth = new TruthBook();
    truth.change("bid", 100, 5);
    keeper.onMessage = (socket, m) => {
      if (m.op === "subscribe" && m.channel === "book") keeper.send(socket, truth.snapshot());
      if (m.op === "subscribe" && m.channel === "trades") {
        keeper.send(socket, {
          type: "snapshot",
          channel: "trades",
          marketId: "1",
          seq: "2",
          trades: [trade(1, "matched"), trade(1, "settled")],
        });
      }
    };
    const books: { seq: bigint; book: KeeperBook }[] = [];
    const trades: KeeperTrade[] = [];
    const statuses: KeeperFeedStatus[] = [];
    feed = createKeeperFeed({ wsUrl: keeper.wsUrl, WebSocket, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    feed.subscribeBook(1n, {
      onBook: (book, seq) => (books.push({ seq, book }), keeper.wake()),
      onTrade: (t) => (trades.push(t), keeper.wake()),
      onStatus: (s) => statuses.push(s),
    });
    await keeper.until(() => books.length === 1 && trades.length === 2, "the snapshots");
    keeper.send(keeper.socket, truth.change("ask", 110, 2)); // seq 2
    await keeper.until(() => books.length === 2, "a delta");

    // The connection drops; the book changes meanwhile; a trade happens and another settles.
    const first = keeper.socket;
    first.terminate();
    truth.change("ask", 110, 0); // seq 3
    truth.change("bid", 101, 9); // seq 4
    keeper.onMessage = (socket, m) => {
      if (m.op === "subscribe" && m.channel === "book") keeper.send(socket, truth.snapshot());
      if (m.op === "subscribe" && m.channel === "trades") {
        const recent = [trade(1, "matched"), trade(1, "settled"), trade(2, "matched"), trade(2, "settled")];
        keeper.send(socket, { type: "snapshot", channel: "trades", marketId: "1", seq: "4", trades: recent });
      }
    };
    await keeper.until(() => books.length === 3 && trades.length === 4, "the resubscription", 5_000);
    expect(keeper.connections).to.have.lengthOf(2);
    expect(subscribes(keeper, keeper.socket, "book")).to.have.lengthOf(1);
    expect(subscribes(keeper, keeper.socket, "trades")).to.have.lengthOf(1);
    keeper.send(keeper.socket, truth.change("bid", 101, 0)); // seq 5
    keeper.send(keeper.socket, {
      type: "trade",
      channel: "trades",
      marketId: "1",
      seq: "5",
      trade: trade(2, "settled"),
    }); // a repeat
    keeper.send(keeper.socket, {
      type: "trade",
      channel: "trades",
      marketId: "1",
      seq: "6",
      trade: trade(3, "matched"),
    });
    await keeper.until(() => books.length === 4 && trades.length === 5, "updates after the reconnect");

    expect(books.map((b) => b.seq)).to.deep.equal([1n, 2n, 4n, 5n]);
    for (const { seq, book } of books) expect(summary(book), `seq ${seq}`).to.deep.equal(truth.history.get(seq));
    expect(trades.map((t) => `${t.fillId}:${t.status}`)).to.deep.equal([
      "1:matched",
      "1:settled",
      "2:matched",
      "2:settled",
      "3:matched",
    ]);
    const disconnected = statuses.find((s) => s.state === "disconnected");
    expect(disconnected).to.deep.include({ state: "disconnected", attempt: 1, delayMs: 50 });
  });

  it("backs off exponentially while the keeper is down, and close() then leaves no timer or socket", async function () {
    const url = keeper.wsUrl;
    await keeper.close();
    const clock = new ManualClock();
    const statuses: KeeperFeedStatus[] = [];
    const disconnects = () => statuses.flatMap((s) => (s.state === "disconnected" ? [s.delayMs] : []));
    feed = createKeeperFeed({ wsUrl: url, WebSocket, clock, reconnect: { initialDelayMs: 20, maxDelayMs: 80 } });
    feed.subscribeBook(1n, { onBook: () => {}, onStatus: (s) => statuses.push(s) });
    for (let attempt = 1; attempt <= 4; attempt++) {
      await eventually(() => disconnects().length === attempt, `refused attempt ${attempt}`);
      clock.advance(disconnects()[attempt - 1]); // the next attempt, exactly when it is due
    }
    expect(disconnects().slice(0, 4)).to.deep.equal([20, 40, 80, 80]);
    await eventually(() => disconnects().length === 5, "the fifth refusal");
    feed.close();
    expect(statuses[statuses.length - 1]).to.deep.equal({ state: "closed" });
    expect(clock.pending).to.equal(0); // no reconnect, connect or heartbeat timer left
    const count = statuses.length;
    clock.advance(60_000);
    expect(statuses).to.have.lengthOf(count); // no attempt after close
    keeper = await FakeKeeper.start(); // for afterEach
  });

  it("close() on a live connection closes the socket and stops every callback", async function () {
    const truth = new TruthBook();
    truth.change("bid", 100, 5);
    keeper.onMessage = (socket, m) => {
      if (m.op === "subscribe") keeper.send(socket, truth.snapshot());
    };
    let calls = 0;
    feed = createKeeperFeed({ wsUrl: keeper.wsUrl, WebSocket });
    feed.subscribeBook(1n, { onBook: () => (calls++, keeper.wake()) });
    await keeper.until(() => calls === 1, "the snapshot");
    const socket = keeper.socket;
    const closed = new Promise<number>((resolve) => socket.on("close", (code) => resolve(code)));
    feed.close();
    expect(await closed).to.equal(1000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(keeper.connections).to.have.lengthOf(1);
    expect(calls).to.equal(1);
    expect(() => feed!.subscribeBook(1n, { onBook: () => {} })).to.throw(/closed/);
  });

  it("the private orders channel: challenge, a FeedLogin the keeper can verify, login, subscribe, updates once each", async function () {
    const account = privateKeyToAccount(generatePrivateKey());
    const challenge = `0x${"5c".repeat(32)}` as Hex;
    let loginSignature: Hex | undefined;
    const update = (seq: number, event: string, filled: string) => ({
      type: "order",
      channel: "orders",
      account: account.address,
      seq: String(seq),
      update: {
        hash: HASH,
        marketId: "1",
        event,
        status: event === "filled" ? "filled" : "open",
        filledLots: filled,
        remainingLots: "0",
        at: 5,
      },
    });
    keeper.onMessage = (socket, m) => {
      if (m.op === "challenge") keeper.send(socket, { type: "challenge", challenge });
      if (m.op === "login") {
        loginSignature = m.signature as Hex;
        keeper.send(socket, { type: "login", account: m.account });
      }
      if (m.op === "subscribe" && m.channel === "orders") {
        keeper.send(socket, { type: "snapshot", channel: "orders", account: account.address, seq: "3", orders: [] });
        keeper.send(socket, update(4, "accepted", "0"));
        keeper.send(socket, update(4, "accepted", "0")); // a repeat: dropped
        keeper.send(socket, update(5, "filled", "5"));
      }
    };
    const updates: string[] = [];
    let snapshots = 0;
    feed = createKeeperFeed({ wsUrl: keeper.wsUrl, WebSocket, domain });
    feed.subscribeOrders({
      signer: account,
      onSnapshot: () => snapshots++,
      onUpdate: (u) => (updates.push(`${u.event} ${u.filledLots}`), keeper.wake()),
    });
    await keeper.until(() => updates.length === 2, "two updates");
    expect(keeper.received.map((r) => r.message.op)).to.deep.equal(["challenge", "login", "subscribe"]);
    expect(keeper.received[1].message.account).to.equal(account.address);
    const typed = keeperMessageTypedData({
      domain,
      primaryType: "FeedLogin",
      message: { account: account.address, challenge },
    });
    expect(await verifyTypedData({ address: account.address, signature: loginSignature!, ...typed })).to.equal(true);
    expect(updates).to.deep.equal(["accepted 0", "filled 5"]);
    expect(snapshots).to.equal(1);

    // after a drop, it logs in again on the new connection
    keeper.socket.terminate();
    await keeper.until(
      () => keeper.connections.length === 2 && subscribes(keeper, keeper.socket, "orders").length === 1,
      "a new login",
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(updates).to.deep.equal(["accepted 0", "filled 5"]); // the same updates again are not repeated
    expect(snapshots).to.equal(2);
  });

  const gapCases = [
    {
      channel: "trades",
      subscribe: (f: KeeperFeed, seen: string[]) =>
        f.subscribeTrades(1n, { onTrade: (t) => seen.push(`${t.fillId}:${t.status}`), onStatus: statusOf(seen) }),
      snapshot: (seq: number, fills: number[]) => ({
        type: "snapshot",
        channel: "trades",
        marketId: "1",
        seq: String(seq),
        trades: fills.map((id) => trade(id, "matched")),
      }),
      update: (seq: number, id: number) => ({
        type: "trade",
        channel: "trades",
        marketId: "1",
        seq: String(seq),
        trade: trade(id, "matched"),
      }),
      delivered: (id: number) => `${id}:matched`,
      resync: ["unsubscribe trades", "subscribe trades"],
    },
    {
      channel: "orders",
      subscribe: (f: KeeperFeed, seen: string[]) =>
        f.subscribeOrders({
          signer: privateKeyToAccount(generatePrivateKey()),
          onUpdate: (u) => seen.push(`${u.fillId}:${u.event}`),
          onStatus: statusOf(seen),
        }),
      snapshot: (seq: number) => ({
        type: "snapshot",
        channel: "orders",
        account: ACCOUNT,
        seq: String(seq),
        orders: [],
      }),
      update: (seq: number, id: number) => ({
        type: "order",
        channel: "orders",
        account: ACCOUNT,
        seq: String(seq),
        update: {
          hash: HASH,
          marketId: "1",
          event: "partially-filled",
          status: "partially-filled",
          filledLots: String(id),
          remainingLots: "9",
          fillId: id,
          at: 5,
        },
      }),
      delivered: (id: number) => `${id}:partially-filled`,
      resync: ["subscribe orders"],
    },
  ];
  for (const c of gapCases) {
    it(`the ${c.channel} channel on the same sequenced channel: stale dropped, a gap resyncs and its message still arrives once`, async function () {
      let seq = 0;
      keeper.onMessage = (socket, m) => {
        if (m.op === "challenge") keeper.send(socket, { type: "challenge", challenge: HASH });
        if (m.op === "login") keeper.send(socket, { type: "login", account: m.account });
        if (m.op === "subscribe" && m.channel === c.channel)
          keeper.send(socket, c.snapshot(seq, seq === 0 ? [] : [3, 4]));
      };
      const seen: string[] = [];
      feed = createKeeperFeed({ wsUrl: keeper.wsUrl, WebSocket, domain });
      c.subscribe(feed, seen);
      await eventually(() => seen.includes("live"), "the snapshot");
      keeper.send(keeper.socket, c.update(1, 1));
      keeper.send(keeper.socket, c.update(1, 1)); // stale: not again
      keeper.send(keeper.socket, c.update(2, 2));
      keeper.send(keeper.socket, c.update(4, 4)); // seq 3 lost: a gap
      seq = 4;
      await eventually(() => seen.filter((s) => s === "live").length === 2, "the resync");
      keeper.send(keeper.socket, c.update(5, 5));
      await eventually(() => seen.includes(c.delivered(5)), "an update after the resync");
      const requests = keeper.received
        .map((r) => `${r.message.op} ${r.message.channel ?? ""}`.trim())
        .filter((r) => !r.startsWith("challenge") && !r.startsWith("login"));
      expect(requests).to.deep.equal([`subscribe ${c.channel}`, ...c.resync]);
      const expected = ["live", c.delivered(1), c.delivered(2), "resyncing", c.delivered(4), "live"];
      if (c.channel === "trades") expected.push(c.delivered(3)); // the new snapshot's trades, 4 not again
      expect(seen).to.deep.equal([...expected, c.delivered(5)]);
    });
  }

  it("asks for the login challenge again, later and later, while the keeper refuses it for its per-address budget", async function () {
    const account = privateKeyToAccount(generatePrivateKey());
    const clock = new ManualClock();
    let refusals = 2;
    keeper.onMessage = (socket, m) => {
      if (m.op === "challenge" && refusals > 0) {
        refusals -= 1;
        keeper.send(socket, { type: "error", code: "RATE_LIMITED", message: "too many logins from this address" });
      } else if (m.op === "challenge") keeper.send(socket, { type: "challenge", challenge: `0x${"5c".repeat(32)}` });
      if (m.op === "login") keeper.send(socket, { type: "login", account: m.account });
      if (m.op === "subscribe" && m.channel === "orders") {
        keeper.send(socket, { type: "snapshot", channel: "orders", account: account.address, seq: "1", orders: [] });
      }
    };
    const errors: string[] = [];
    let live = false;
    feed = createKeeperFeed({ wsUrl: keeper.wsUrl, WebSocket, domain, clock, heartbeat: false });
    feed.subscribeOrders({
      signer: account,
      onSnapshot: () => (live = true),
      onUpdate: () => undefined,
      onError: (e) => errors.push(e.message),
    });
    const challenges = () => keeper.received.filter((r) => r.message.op === "challenge").length;
    /** Polls `test` (the refusal reaches the client after the keeper's last message: nothing wakes `until`). */
    const eventually = async (test: () => boolean, what: string) => {
      for (let i = 0; i < 6_000 && !test(); i++) await new Promise((r) => setTimeout(r, 5)); // up to 30 s on a busy machine
      expect(test(), what).to.equal(true);
    };
    await eventually(() => challenges() === 1 && clock.pending > 0, "the first refusal");
    clock.advance(499);
    expect(challenges()).to.equal(1); // not before half a second
    clock.advance(1);
    await eventually(() => challenges() === 2 && clock.pending > 0, "the second refusal");
    clock.advance(999);
    expect(challenges()).to.equal(2); // then after twice as long
    clock.advance(1);
    await eventually(() => live, "the login, at the third ask");
    expect(keeper.received.map((r) => r.message.op)).to.deep.equal([
      "challenge",
      "challenge",
      "challenge",
      "login",
      "subscribe",
    ]);
    expect(errors).to.deep.equal([]); // a refusal the feed answers itself is no error of the caller's
  });

  describe("heartbeat", function () {
    /** The keeper side of one market's book, answering every book subscription with a snapshot. */
    function serveBook(truth: TruthBook, answerProbe: boolean) {
      keeper.onMessage = (socket, m) => {
        if (m.op === "subscribe" && m.channel === "book") keeper.send(socket, truth.snapshot());
        if (answerProbe && m.op === "unsubscribe" && m.marketId === "0") {
          keeper.send(socket, { type: "unsubscribed", channel: "trades", marketId: "0" });
          keeper.send(socket, truth.change("bid", 90 + truth.seq, 1)); // to know when the answer has arrived
        }
      };
    }

    it("drops a connection that stays silent after a probe, without waiting for the server, and resyncs on a new one", async function () {
      const truth = new TruthBook();
      truth.change("bid", 100, 5);
      serveBook(truth, false);
      const clock = new ManualClock();
      const sent: Record<string, unknown>[] = [];
      const seqs: bigint[] = [];
      const statuses: KeeperFeedStatus[] = [];
      feed = createKeeperFeed({
        wsUrl: keeper.wsUrl,
        WebSocket: recordingWebSocket(sent),
        clock,
        heartbeat: { intervalMs: 15_000, timeoutMs: 10_000 },
        reconnect: { initialDelayMs: 250 },
      });
      feed.subscribeBook(1n, {
        onBook: (_b, seq) => (seqs.push(seq), keeper.wake()),
        onStatus: (s) => statuses.push(s),
      });
      await keeper.until(() => seqs.length === 1, "the snapshot");
      const first = keeper.socket;
      let closedByClient = false;
      first.on("close", () => ((closedByClient = true), keeper.wake()));
      const probes = () => sent.filter((m) => m.marketId === "0");

      clock.advance(14_999);
      expect(probes()).to.have.lengthOf(0);
      clock.advance(1); // 15 s without a message: probe
      expect(probes()).to.deep.equal([PROBE]);
      await keeper.until(() => keeper.received.some((r) => r.message.marketId === "0"), "the probe at the keeper");
      clock.advance(9_999);
      expect(statuses.filter((s) => s.state === "disconnected")).to.have.lengthOf(0);
      clock.advance(1); // 10 s more, nothing: dead
      const dropped = statuses.filter((s) => s.state === "disconnected");
      expect(dropped).to.have.lengthOf(1);
      expect(dropped[0]).to.deep.include({
        attempt: 1,
        delayMs: 250,
        reason: "no message from the keeper for 25000 ms",
      });
      await keeper.until(() => closedByClient, "the client to close the silent connection");

      truth.change("ask", 110, 2); // meanwhile
      clock.advance(250);
      await keeper.until(() => seqs.length === 2, "a new connection and a new snapshot");
      expect(keeper.connections).to.have.lengthOf(2);
      expect(seqs).to.deep.equal([1n, 2n]);
      expect(statuses[statuses.length - 1]).to.deep.equal({ state: "live" });
    });

    it("keeps a connection whose keeper answers the probe, and never probes one with traffic", async function () {
      const truth = new TruthBook();
      truth.change("bid", 100, 5);
      serveBook(truth, true);
      const clock = new ManualClock();
      const sent: Record<string, unknown>[] = [];
      const seqs: bigint[] = [];
      const statuses: KeeperFeedStatus[] = [];
      feed = createKeeperFeed({ wsUrl: keeper.wsUrl, WebSocket: recordingWebSocket(sent), clock });
      feed.subscribeBook(1n, {
        onBook: (_b, seq) => (seqs.push(seq), keeper.wake()),
        onStatus: (s) => statuses.push(s),
      });
      await keeper.until(() => seqs.length === 1, "the snapshot");
      const probes = () => sent.filter((m) => m.marketId === "0").length;

      // a delta every 10 s: never 15 s of silence, never a probe
      for (let i = 0; i < 5; i++) {
        clock.advance(10_000);
        keeper.send(keeper.socket, truth.change("ask", 200 + i, 1));
        await keeper.until(() => seqs.length === 2 + i, `delta ${i}`);
      }
      expect(probes()).to.equal(0);

      // then silence: one probe, answered — and the connection stays
      clock.advance(15_000);
      expect(probes()).to.equal(1);
      await keeper.until(() => seqs.length === 7, "the answer to the probe");
      clock.advance(10_000);
      expect(statuses.some((s) => s.state === "disconnected")).to.equal(false);
      clock.advance(15_000);
      expect(probes()).to.equal(2); // probed again after another 15 s of silence
      expect(keeper.connections).to.have.lengthOf(1);
    });

    it("can be turned off", async function () {
      const clock = new ManualClock();
      const sent: Record<string, unknown>[] = [];
      keeper.onMessage = (socket, m) => {
        if (m.op === "subscribe") keeper.send(socket, new TruthBook().snapshot());
      };
      let snapshots = 0;
      feed = createKeeperFeed({ wsUrl: keeper.wsUrl, WebSocket: recordingWebSocket(sent), clock, heartbeat: false });
      feed.subscribeBook(1n, { onBook: () => (snapshots++, keeper.wake()) });
      await keeper.until(() => snapshots === 1, "the snapshot");
      expect(clock.pending).to.equal(0);
      clock.advance(3_600_000);
      expect(sent.map((m) => m.op)).to.deep.equal(["subscribe"]);
    });
  });

  it("a keeper error message reaches onError with the keeper's code", async function () {
    keeper.onMessage = (socket) =>
      keeper.send(socket, { type: "error", code: "MARKET_NOT_SERVED", message: "market 9 is not served" });
    const errors: { code: string; message: string }[] = [];
    feed = createKeeperFeed({ wsUrl: keeper.wsUrl, WebSocket });
    feed.subscribeBook(9n, { onBook: () => {}, onError: (e) => (errors.push(e), keeper.wake()) });
    await keeper.until(() => errors.length === 1, "the error");
    expect(errors[0]).to.deep.include({ code: "MARKET_NOT_SERVED", message: "market 9 is not served" });
  });

  it("refuses what it cannot do with KEEPER_INVALID_ARGUMENT", function () {
    expect(() => createKeeperFeed({ wsUrl: "http://127.0.0.1:1/v1/ws", WebSocket })).to.throw(/ws:\/\/ or wss:\/\//);
    feed = createKeeperFeed({ wsUrl: keeper.wsUrl, WebSocket }); // no domain: the login cannot be signed
    const signer = privateKeyToAccount(generatePrivateKey());
    try {
      feed.subscribeOrders({ signer, onUpdate: () => {} });
      expect.fail("expected a refusal");
    } catch (error) {
      expect((error as { code?: string }).code).to.equal("KEEPER_INVALID_ARGUMENT");
    }
  });
});
