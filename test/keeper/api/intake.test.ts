/**
 * Order entry's intake (`keeper/src/api/intake.ts`): at most `maxInFlight` signed requests inside
 * the keeper; past that, each client address waits its turn, round robin — a flood from one
 * address never puts another address's request behind the flood. Tasks are resolved by hand: no
 * timing is involved.
 */
import { expect } from "chai";
import { ApiError } from "../../../keeper/src/api/errors";
import { Intake } from "../../../keeper/src/api/intake";
import { readRiskContext } from "../../../keeper/src/risk";
import { publicClient } from "../../sdk/support";
import { http, newTrader, orderOf, signedBody, startKeeper, type Keeper, type Trader } from "./support";

/** A task that records its start and finishes when the test says so. */
function task(started: string[], name: string) {
  let finish!: () => void;
  let fail!: (e: Error) => void;
  const done = new Promise<string>((resolve, reject) => {
    finish = () => resolve(name);
    fail = reject;
  });
  return {
    run: () => {
      started.push(name);
      return done;
    },
    finish,
    fail,
  };
}

const turns = () => new Promise((resolve) => setImmediate(resolve));

describe("keeper: order entry's intake", function () {
  it("lets maxInFlight in, then serves the waiting addresses in turn, not in arrival order", async () => {
    const intake = new Intake({ maxInFlight: 2, maxQueuedPerClient: 100, maxQueued: 1_000 });
    const started: string[] = [];
    const flood = Array.from({ length: 6 }, (_, i) => task(started, `a${i}`));
    const honest = task(started, "b0");
    const answers = flood.map((t) => intake.run("a", t.run));
    const honestAnswer = intake.run("b", honest.run);
    await turns();
    expect(started).to.deep.equal(["a0", "a1"]);
    expect(intake.queued).to.equal(5);
    flood[0].finish();
    await turns();
    expect(started).to.deep.equal(["a0", "a1", "a2"]); // a was first in the round; it goes last now
    flood[1].finish();
    await turns();
    expect(started).to.deep.equal(["a0", "a1", "a2", "b0"]); // b's request, before a's four others
    honest.finish();
    expect(await honestAnswer).to.equal("b0");
    await turns();
    expect(started).to.deep.equal(["a0", "a1", "a2", "b0", "a3"]);
    for (const t of flood) t.finish();
    expect(await Promise.all(answers)).to.deep.equal(["a0", "a1", "a2", "a3", "a4", "a5"]);
    expect([intake.active, intake.queued]).to.deep.equal([0, 0]);
  });

  it("frees the slot of a task that throws", async () => {
    const intake = new Intake({ maxInFlight: 1, maxQueuedPerClient: 100, maxQueued: 1_000 });
    const started: string[] = [];
    const [first, second] = [task(started, "x"), task(started, "y")];
    const failed = intake.run("a", first.run);
    const next = intake.run("a", second.run);
    first.fail(new Error("refused"));
    await expect(failed).to.be.rejectedWith("refused");
    await turns();
    expect(started).to.deep.equal(["x", "y"]);
    second.finish();
    expect(await next).to.equal("y");
    expect(intake.active).to.equal(0);
  });

  it("refuses an address with maxQueuedPerClient requests waiting, and only that address", async () => {
    const intake = new Intake({ maxInFlight: 1, maxQueuedPerClient: 2, maxQueued: 1_000 });
    const started: string[] = [];
    const tasks = Array.from({ length: 3 }, (_, i) => task(started, `a${i}`));
    const runs = tasks.map((t) => intake.run("a", t.run));
    const refused = await intake.run("a", task(started, "a3").run).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(ApiError);
    expect(refused).to.include({ code: "RATE_LIMITED", retryAfterSeconds: 1 });
    const other = task(started, "b0");
    const otherRun = intake.run("b", other.run);
    for (const t of tasks) t.finish();
    other.finish();
    expect(await Promise.all([...runs, otherRun])).to.deep.equal(["a0", "a1", "a2", "b0"]);
    expect(started).to.not.include("a3");
  });

  it("refuses every address while maxQueued requests wait in all: many addresses cannot each queue their share", async () => {
    const intake = new Intake({ maxInFlight: 1, maxQueuedPerClient: 2, maxQueued: 3 });
    const started: string[] = [];
    const first = task(started, "a0");
    const runs = [intake.run("a", first.run)];
    // Three strangers' addresses, one waiting request each: the keeper's whole waiting room.
    const waiting = ["b", "c", "d"].map((client) => task(started, `${client}0`));
    runs.push(...waiting.map((t, i) => intake.run(["b", "c", "d"][i] as string, t.run)));
    expect(intake.queued).to.equal(3);
    const refused = await intake.run("e", task(started, "e0").run).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(ApiError);
    expect(refused).to.include({ code: "RATE_LIMITED", retryAfterSeconds: 1 });
    // A turn frees a place in the waiting room: the next address may wait again.
    first.finish();
    await turns();
    expect(intake.queued).to.equal(2);
    const later = task(started, "e1");
    runs.push(intake.run("e", later.run));
    expect(intake.queued).to.equal(3);
    for (const t of [...waiting, later]) t.finish();
    expect(await Promise.all(runs)).to.deep.equal(["a0", "b0", "c0", "d0", "e1"]);
    expect(started).to.not.include("e0");
    expect([intake.active, intake.queued]).to.deep.equal([0, 0]);
  });
  it("lets a request that steps aside give its slot to the next in turn, at most maxQueuedPerClient aside per address", async () => {
    const intake = new Intake({ maxInFlight: 1, maxQueuedPerClient: 1, maxQueued: 1_000 });
    const started: string[] = [];
    const [a0, a1, b0] = ["a0", "a1", "b0"].map((name) => task(started, name));
    let leaveA0!: () => boolean;
    let leaveA1!: () => boolean;
    const answers = [
      intake.run("a", (leave) => ((leaveA0 = leave), a0.run())),
      intake.run("a", (leave) => ((leaveA1 = leave), a1.run())),
      intake.run("b", b0.run),
    ];
    await turns();
    expect(started).to.deep.equal(["a0"]);
    // a0 waits for something that needs no slot (its account's earlier orders): the next goes in.
    expect(leaveA0()).to.equal(true);
    await turns();
    expect(started).to.deep.equal(["a0", "a1"]);
    expect(intake.active).to.equal(1);
    // Address a has maxQueuedPerClient (1) aside already: a1 keeps its slot, b0 waits for it.
    expect(leaveA1()).to.equal(false);
    a0.finish(); // a0 left its slot: finishing frees none
    await turns();
    expect(started).to.deep.equal(["a0", "a1"]);
    a1.finish();
    await turns();
    expect(started).to.deep.equal(["a0", "a1", "b0"]);
    b0.finish();
    expect(await Promise.all(answers)).to.deep.equal(["a0", "a1", "b0"]);
    expect(intake.active).to.equal(0);
  });
  it("puts at most maxQueued requests aside over every address: many addresses cannot each put their share aside", async () => {
    const intake = new Intake({ maxInFlight: 3, maxQueuedPerClient: 5, maxQueued: 2 });
    const started: string[] = [];
    const tasks = ["a0", "b0", "c0"].map((name) => task(started, name));
    const leaves: (() => boolean)[] = [];
    const answers = tasks.map((t, i) =>
      intake.run(["a", "b", "c"][i] as string, (leave) => (leaves.push(leave), t.run())),
    );
    await turns();
    expect(started).to.deep.equal(["a0", "b0", "c0"]);
    // Each address is far below its own share (5), but two are aside over all: the third keeps its slot.
    expect(leaves.map((leave) => leave())).to.deep.equal([true, true, false]);
    expect(intake.active).to.equal(1);
    // One aside finishes: another may step aside again.
    tasks[0].finish();
    await turns();
    expect(leaves[2]()).to.equal(true);
    expect(intake.active).to.equal(0);
    for (const t of tasks) t.finish();
    expect(await Promise.all(answers)).to.deep.equal(["a0", "b0", "c0"]);
  });
  describe("over HTTP", function () {
    it("lets another address's order in while an order waits in the engine behind its own account's", async function () {
      // Two slots. Alice's first order is held in its risk check; her second, behind it in her
      // account's queue, steps aside; so bob's order, from another address, is answered meanwhile.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let reachedGate!: () => void;
      const atGate = new Promise<void>((resolve) => (reachedGate = resolve));
      let aliceChecks = 0;
      const k: Keeper = await startKeeper({
        api: { intake: { maxInFlight: 2, maxQueuedPerClient: 100, maxQueued: 1_000 }, trustProxy: ["loopback"] },
        engine: {
          readRiskContext: async (signed, state) => {
            if (signed.order.maker === alice.address && aliceChecks++ === 0) {
              reachedGate();
              await gate;
            }
            return readRiskContext(publicClient, k.env.addresses.exchange, signed, state);
          },
        },
      });
      const alice = await newTrader(k.env);
      const bob = await newTrader(k.env);
      try {
        const send = async (trader: Trader, from: string, priceTicks: bigint) =>
          http(
            k.api.url,
            "POST",
            "/v1/orders",
            await signedBody(k, trader, orderOf(trader, { isBuy: false, lots: 1n, priceTicks })),
            { "x-forwarded-for": from },
          );
        const first = send(alice, "10.0.0.1", 200_000n);
        await atGate;
        const second = send(alice, "10.0.0.1", 200_001n);
        const bobs = await send(bob, "10.0.0.2", 200_002n);
        expect(bobs.status, JSON.stringify(bobs.body)).to.equal(201);
        release();
        expect((await first).status).to.equal(201);
        expect((await second).status).to.equal(201);
      } finally {
        release();
        await k.close();
      }
    });
  });
});
