/**
 * The feed writes a connection's socket at most once every `flushGapMs`: what is published sooner
 * waits for the next write, in one. A busy keeper commits a group every fsync of its log and each
 * group publishes its deltas; without the gap each group cost every connection a write. Counted on
 * the server's socket: the frames ws queues (`write`) and the writes that reach the kernel
 * (`_write`/`_writev`). No timing: the clock is the test's, and the held write is let go by the
 * feed's close.
 */
import { expect } from "chai";
import { Socket } from "node:net";
import { FeedClient, startKeeper, type Keeper } from "./support";

interface Counted {
  frames: number;
  writes: number;
}

/** Counts, on the server's side of the connection whose client port is `port`, frames and writes. */
function countServerWrites(port: number): { counted: Counted; framesReach(n: number): Promise<void>; stop(): void } {
  const proto = Socket.prototype as unknown as Record<"write" | "_write" | "_writev", (...args: unknown[]) => unknown>;
  const original = { write: proto.write, _write: proto._write, _writev: proto._writev };
  const counted: Counted = { frames: 0, writes: 0 };
  const waiters: { n: number; resolve: () => void }[] = [];
  const ours = (s: Socket) => s.remotePort === port;
  proto.write = function (this: Socket, ...args: unknown[]) {
    // A frame is its header and its payload, one or two writes: the payload names the error.
    if (ours(this) && String(args[0]).includes("BAD_JSON")) {
      counted.frames++;
      for (const w of waiters.filter((w) => counted.frames >= w.n)) w.resolve();
    }
    return original.write.apply(this, args);
  };
  proto._write = function (this: Socket, ...args: unknown[]) {
    if (ours(this)) counted.writes++;
    return original._write.apply(this, args);
  };
  proto._writev = function (this: Socket, ...args: unknown[]) {
    if (ours(this)) counted.writes++;
    return original._writev.apply(this, args);
  };
  return {
    counted,
    framesReach: (n) =>
      counted.frames >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve })),
    stop: () => Object.assign(proto, original),
  };
}

describe("keeper feed: one write per connection per flush gap", function () {
  this.timeout(60_000);
  let k: Keeper | undefined;

  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  /** Server writes before the close, and answers the client had then. */
  async function run(flushGapMs: number): Promise<{ writes: number; received: number }> {
    const now = 1_000_000;
    k = await startKeeper({ limits: { flushGapMs }, api: { clock: () => now } });
    const feed = await FeedClient.open(k.api.wsUrl);
    const port = (feed.ws as unknown as { _socket: Socket })._socket.localPort as number;
    const probe = countServerWrites(port);
    try {
      // Five bad messages, each answered (BAD_JSON) in its own run on the server: the client sends
      // the next once the server has queued the answer to the one before.
      for (let i = 1; i <= 5; i++) {
        feed.send("not json");
        await probe.framesReach(i);
      }
      const received = feed.messages.length;
      const writes = probe.counted.writes;
      await k.close(); // the feed's close writes what it holds, then the closing frames
      await feed.closed;
      // Nothing held was lost: every answer arrived, in order, before the close.
      expect(feed.messages.map((m) => m.code)).to.deep.equal(Array(5).fill("BAD_JSON"));
      return { writes, received };
    } finally {
      probe.stop();
      k = undefined;
    }
  }

  it("holds what a connection is sent within the gap for one write, and lets it go at close", async () => {
    const held = await run(60_000);
    // The first answer left at once (nothing was written before); the other four wait for the gap.
    expect(held.writes).to.equal(1);
    expect(held.received).to.be.at.most(1);
    // With no gap, each run's answer is its own write.
    const unheld = await run(0);
    expect(unheld.writes).to.equal(5);
  });
});
