/**
 * The leader's hold on its lease (`holdLease`), on an injected clock and a scripted lease
 * connection: it renews every eighth of the lease; it tolerates a stalled event loop or failing
 * renewals for as long as a quarter of the lease is left, and steps down before the lease can
 * lapse rather than after; a renewal that finds a newer term steps down at once; the store's
 * gate (`validFor`) closes at the same moment.
 */
import { expect } from "chai";
import type pg from "pg";
import { holdLease, leaseTiming, type Lease, type LeaseClock, type LeaseDb } from "../../../keeper/src/leader";

/** A manual clock: timers fire only when the test moves time. */
class ManualClock implements LeaseClock {
  private t = 1_000;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** Moves time by `ms`, firing each timer due on the way (at its time) and letting promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (next === undefined || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }

  /** The event loop stalled for `ms`: time moves, no timer fires until the end (then the overdue one, once). */
  async stall(ms: number): Promise<void> {
    this.t += ms;
    const due = this.timers.filter((t) => t.at <= this.t).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((t) => t.at > this.t);
    for (const t of due) {
      t.fn();
      await settle();
    }
  }
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/** A lease connection that answers renewals as told: held, another term, or an error; after `answerMs`. */
class ScriptedLease implements LeaseDb {
  renewals: number[] = [];
  answer: "held" | "newer" | "error" = "held";
  /** How long PostgreSQL takes to answer (on the manual clock): a renewal waiting for a row lock. */
  answerMs = 0;

  constructor(private readonly clock: ManualClock) {}

  query(text: string): Promise<pg.QueryResult> {
    expect(text).to.match(/^UPDATE leader_lease SET expires_at/);
    this.renewals.push(this.clock.now());
    const answer = this.answer;
    const answered = () =>
      answer === "error"
        ? Promise.reject(new Error("connection terminated"))
        : Promise.resolve({ rowCount: answer === "held" ? 1 : 0, rows: [] } as unknown as pg.QueryResult);
    if (this.answerMs === 0) return answered();
    return new Promise((resolve) => this.clock.setTimeout(() => resolve(answered()), this.answerMs));
  }
}

const LEASE_MS = 2_000;
const lease: Lease = { term: 7, holder: "a", url: "http://a", since: new Date(0), expiresAt: new Date(0) };

describe("keeper leader lease: renewals, lateness and stepping down before the lease lapses", () => {
  let clock: ManualClock;
  let db: ScriptedLease;
  let lost: string[];
  let late: number[];
  let roundTrips: number[];
  const hold = () =>
    holdLease({
      db,
      lease,
      leaseMs: LEASE_MS,
      acquiredAt: clock.now(),
      clock,
      onLate: (ms) => late.push(ms),
      onRenewed: (ms) => roundTrips.push(ms),
      onLost: (reason) => lost.push(reason),
    });

  beforeEach(() => {
    clock = new ManualClock();
    db = new ScriptedLease(clock);
    lost = [];
    late = [];
    roundTrips = [];
  });

  it("times the lease from --lease-ms: renew every eighth, step down with a quarter left", () => {
    expect(leaseTiming(2_000)).to.deep.equal({ renewMs: 250, marginMs: 500, tryMs: 250, pollMs: 500 });
  });

  it("renews every eighth of the lease, each success moving the end of what it may write", async () => {
    const held = hold();
    const start = clock.now();
    expect(held.validFor()).to.equal(LEASE_MS - 500);
    await clock.advance(1_000);
    expect(db.renewals.map((t) => t - start)).to.deep.equal([250, 500, 750, 1_000]);
    expect(held.validFor()).to.equal(LEASE_MS - 500); // renewed at the last tick, sent at 1,000
    expect(lost).to.deep.equal([]);
    expect(late).to.deep.equal([]);
    held.stop();
    await clock.advance(5_000);
    expect(db.renewals).to.have.length(4);
    expect(lost).to.deep.equal([]);
  });

  it("rides out a loop stall of a second: late, reported, still the leader", async () => {
    const held = hold();
    await clock.advance(250);
    await clock.stall(1_000); // the next tick was due at 500, fires at 1,250
    expect(late).to.deep.equal([750]);
    expect(lost).to.deep.equal([]);
    expect(held.validFor()).to.equal(LEASE_MS - 500); // the late tick renewed at once (sent then)
    await clock.advance(250);
    expect(held.validFor()).to.equal(LEASE_MS - 500);
    expect(lost).to.deep.equal([]);
  });

  it("steps down after a stall that ate the margin, sending nothing more", async () => {
    const held = hold();
    await clock.advance(250); // renewed: valid until 250 + 2,000 less the margin
    const sent = db.renewals.length;
    await clock.stall(1_600); // the tick fires at 1,850: 400 ms of lease left, less than the margin
    expect(lost).to.have.length(1);
    expect(lost[0]).to.match(/no renewal for 1600 ms .* stepping down before the lease can lapse/);
    expect(held.validFor()).to.be.at.most(0); // the store's gate is closed too
    expect(db.renewals).to.have.length(sent);
    await clock.advance(5_000);
    expect(lost).to.have.length(1);
    expect(db.renewals).to.have.length(sent);
  });

  it("keeps trying while renewals fail and steps down a quarter lease before the lease could lapse", async () => {
    hold();
    await clock.advance(250);
    const lastGood = db.renewals[0];
    db.answer = "error";
    await clock.advance(1_499);
    expect(lost).to.deep.equal([]);
    await clock.advance(1);
    expect(lost).to.have.length(1);
    // Stepped down at lastGood + 1,500: the server's lease (from the same send) runs to lastGood + 2,000.
    expect(clock.now()).to.equal(lastGood + LEASE_MS - 500);
    expect(db.renewals.length).to.be.greaterThan(1);
  });

  it("reports each renewal's answer time, and steps down when answers come too late to keep the margin", async () => {
    // bench:shard saw this: renewals sent on time whose answers waited in PostgreSQL for a row lock.
    hold();
    await clock.advance(250);
    expect(roundTrips).to.deep.equal([0]);
    db.answerMs = 400; // each answer comes 400 ms after its send; one renewal in flight at a time
    await clock.advance(1_000); // sent at +500 (answered at +900) and at +1,000 (in flight)
    expect(roundTrips).to.deep.equal([0, 400]);
    db.answerMs = 1_600;
    await clock.advance(1_500); // +1,000's answer at +1,400; the next, sent at +1,500, not before +3,100
    expect(roundTrips).to.deep.equal([0, 400, 400]);
    // The lease runs from +1,000's send: with a quarter left (+2,500) the leader steps down.
    expect(lost).to.have.length(1);
    expect(lost[0]).to.match(/no renewal for 1500 ms .* stepping down before the lease can lapse/);
    await clock.advance(1_000); // the late answer comes after the step-down: nothing more is reported
    expect(roundTrips).to.deep.equal([0, 400, 400]);
  });

  it("steps down at once when a renewal finds a newer term", async () => {
    const held = hold();
    await clock.advance(250);
    db.answer = "newer";
    await clock.advance(250);
    expect(lost).to.deep.equal(["the lease has a newer term than 7"]);
    const renewals = db.renewals.length;
    await clock.advance(2_000);
    expect(db.renewals).to.have.length(renewals);
    expect(held.term).to.equal(7);
  });
});
