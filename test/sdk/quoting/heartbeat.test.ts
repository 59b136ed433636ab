import { expect } from "chai";
import { Heartbeat, type HeartbeatMiss, type HeartbeatTimer } from "@crossbook/sdk";

/** A timer the test moves by hand: `advance(ms)` runs what falls due, in order. */
function manualTimer() {
  let now = 0;
  let nextId = 1;
  const due = new Map<number, { at: number; callback: () => void }>();
  const timer: HeartbeatTimer = {
    now: () => now,
    setTimeout: (callback, ms) => {
      const id = nextId++;
      due.set(id, { at: now + ms, callback });
      return id;
    },
    clearTimeout: (handle) => void due.delete(handle as number),
  };
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  return {
    timer,
    pending: () => due.size,
    async advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const next = [...due.entries()].sort((a, b) => a[1].at - b[1].at)[0];
        if (next === undefined || next[1].at > until) break;
        due.delete(next[0]);
        now = next[1].at;
        next[1].callback();
        await flush();
      }
      now = until;
      await flush();
    },
    async settle() {
      await flush();
    },
  };
}

describe("sdk/quoting Heartbeat", function () {
  it("renews at start and then every interval after the previous renewal", async function () {
    const t = manualTimer();
    const at: number[] = [];
    const heartbeat = new Heartbeat({
      intervalMs: 1_000,
      timer: t.timer,
      renew: async () => void at.push(t.timer.now()),
    });
    heartbeat.start();
    await t.settle();
    await t.advance(3_500);
    expect(at).to.deep.equal([0, 1_000, 2_000, 3_000]);
    expect(heartbeat.renewed).to.equal(4);
    heartbeat.stop();
    expect(t.pending()).to.equal(0);
    await t.advance(5_000);
    expect(at).to.have.length(4);
  });

  it("reports a failed renewal with the count in a row, retries sooner, and counts from 0 again after a success", async function () {
    const t = manualTimer();
    const misses: HeartbeatMiss[] = [];
    let failing = 0;
    const heartbeat = new Heartbeat({
      intervalMs: 1_000,
      retryMs: 100,
      timer: t.timer,
      renew: async () => {
        if (failing > 0) {
          failing--;
          throw new Error("node down");
        }
      },
      onMiss: (m) => misses.push(m),
    });
    heartbeat.start();
    await t.settle();
    failing = 2;
    await t.advance(1_000); // fails at 1,000
    await t.advance(100); // fails again at 1,100
    expect(misses.map((m) => [m.reason, m.consecutive, m.sinceLastRenewMs])).to.deep.equal([
      ["failed", 1, 1_000],
      ["failed", 2, 1_100],
    ]);
    expect((misses[0].error as Error).message).to.equal("node down");
    expect(heartbeat.misses).to.equal(2);
    await t.advance(100); // succeeds at 1,200: late (1,200 ms after the last success)
    expect(misses.at(-1)).to.deep.include({ reason: "late", consecutive: 3, sinceLastRenewMs: 1_200 });
    await t.advance(1_000);
    expect(heartbeat.misses).to.equal(0);
    heartbeat.stop();
  });

  it("joins a renewal under way instead of starting a second one", async function () {
    const t = manualTimer();
    let calls = 0;
    let release: () => void = () => {};
    const heartbeat = new Heartbeat({
      intervalMs: 1_000,
      timer: t.timer,
      renew: () => {
        calls++;
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    const first = heartbeat.beat();
    const second = heartbeat.beat();
    expect(calls).to.equal(1);
    release();
    expect(await first).to.equal(true);
    expect(await second).to.equal(true);
    expect(t.pending()).to.equal(0); // not started: beat() alone schedules nothing
  });
});
