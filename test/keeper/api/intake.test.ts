/**
 * Order entry's intake (`keeper/src/api/intake.ts`): at most `maxInFlight` signed requests inside
 * the keeper; past that, each client address waits its turn, round robin — a flood from one
 * address never puts another address's request behind the flood. Tasks are resolved by hand: no
 * timing is involved.
 */
import { expect } from "chai";
import { ApiError } from "../../../keeper/src/api/errors";
import { Intake } from "../../../keeper/src/api/intake";

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
});
