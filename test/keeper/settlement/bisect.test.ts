/**
 * The pure bisection of a batch whose simulation reverted without naming a fill: which units it
 * skips (only those that revert alone), which parts it lets go, what it leaves undecided, and
 * how many simulations that costs.
 */
import { expect } from "chai";
import { bisect, halves, type Verdict } from "../../../keeper/src/settlement";

/**
 * A fake chain: a set of units reverts when it holds a unit of `bad` (with that unit's error), or
 * every unit of one of the `together` combinations (with `Panic`). Records every simulated set.
 */
function chain(bad: ReadonlyMap<number, string>, together: readonly (readonly number[])[] = []) {
  const calls: number[][] = [];
  const simulate = async (units: readonly number[]): Promise<Verdict> => {
    expect(
      [...units].sort((a, b) => a - b),
      "units go in batch order",
    ).to.deep.equal(units);
    calls.push([...units]);
    const alone = units.find((u) => bad.has(u));
    if (alone !== undefined) return { ok: false, errorName: bad.get(alone) as string };
    if (together.some((combo) => combo.every((u) => units.includes(u)))) return { ok: false, errorName: "Panic" };
    return { ok: true };
  };
  return { simulate, calls };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("keeper/settlement: bisect", function () {
  it("halves a set, the first half the larger", function () {
    expect(halves([0, 1, 2, 3, 4])).to.deep.equal([
      [0, 1, 2],
      [3, 4],
    ]);
    expect(halves([7, 8])).to.deep.equal([[7], [8]]);
  });

  it("isolates one unit that reverts alone among eight with six simulations, and lets the rest go", async function () {
    const { simulate, calls } = chain(new Map([[5, "InvalidSignature"]]));
    const r = await bisect({ units: 8, errorName: "Panic", simulate, maxSimulations: 64 });
    expect(r.failing).to.deep.equal([{ unit: 5, errorName: "InvalidSignature" }]);
    expect(r.passing).to.deep.equal([[0, 1, 2, 3], [4], [6, 7]]);
    expect(r.unresolved).to.deep.equal([]);
    expect(r.simulations).to.equal(6); // 2 per level, 3 levels
    expect(calls).to.deep.equal([[0, 1, 2, 3], [4, 5, 6, 7], [4, 5], [4], [5], [6, 7]]); // depth first
    expect(r.stoppedBy).to.equal(undefined);
  });

  it("isolates two bad units, each with its own error", async function () {
    const { simulate } = chain(
      new Map([
        [0, "FillExceedsOrder"],
        [6, "Revert"],
      ]),
    );
    const r = await bisect({ units: 7, errorName: "Panic", simulate, maxSimulations: 64 });
    expect(r.failing).to.deep.equal([
      { unit: 0, errorName: "FillExceedsOrder" },
      { unit: 6, errorName: "Revert" },
    ]);
    expect([...r.passing.flat(), ...r.failing.map((f) => f.unit)].sort()).to.deep.equal(range(7));
  });

  it("when the batch reverts but both halves pass, sends the halves apart and skips nothing", async function () {
    const { simulate, calls } = chain(new Map(), [[1, 6]]);
    const r = await bisect({ units: 8, errorName: "Panic", simulate, maxSimulations: 64 });
    expect(r.failing).to.deep.equal([]);
    expect(r.passing).to.deep.equal([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(calls).to.have.lengthOf(2);
  });

  it("descends into the half where an interaction lives, and splits only that pair", async function () {
    const { simulate } = chain(new Map(), [[0, 1]]);
    const r = await bisect({ units: 8, errorName: "Panic", simulate, maxSimulations: 64 });
    expect(r.failing).to.deep.equal([]);
    expect(r.passing).to.deep.equal([[0], [1], [2, 3], [4, 5, 6, 7]]);
    expect(r.simulations).to.equal(6);
  });

  it("blames a batch of one unit with the batch's own error, without simulating again", async function () {
    const { simulate, calls } = chain(new Map([[0, "X"]]));
    const r = await bisect({ units: 1, errorName: "Panic", simulate, maxSimulations: 64 });
    expect(r.failing).to.deep.equal([{ unit: 0, errorName: "Panic" }]);
    expect(r.simulations).to.equal(0);
    expect(calls).to.deep.equal([]);
  });

  it("stops at the simulation budget and leaves the undecided parts unresolved", async function () {
    const { simulate } = chain(new Map([[5, "X"]]));
    const r = await bisect({ units: 8, errorName: "Panic", simulate, maxSimulations: 2 });
    expect(r.simulations).to.equal(2);
    expect(r.failing).to.deep.equal([]);
    expect(r.passing).to.deep.equal([[0, 1, 2, 3]]);
    expect(r.unresolved).to.deep.equal([
      [4, 5],
      [6, 7],
    ]);
    expect(r.stoppedBy).to.equal("simulation budget spent");
  });

  it("stops at a simulation that cannot decide (a pause, an RPC failure)", async function () {
    let n = 0;
    const r = await bisect({
      units: 4,
      errorName: "Panic",
      maxSimulations: 64,
      simulate: async () =>
        n++ === 0 ? { ok: false, errorName: "Panic" } : { ok: "unknown", reason: "EnforcedPause" },
    });
    // [0,1] reverts; [0] cannot be decided, and neither can anything after it.
    expect(r.failing).to.deep.equal([]);
    expect(r.passing).to.deep.equal([]);
    expect(r.unresolved).to.deep.equal([[0], [1], [2, 3]]);
    expect(r.stoppedBy).to.equal("EnforcedPause");
    expect(r.simulations).to.equal(2);
  });

  it("refuses an empty batch", async function () {
    const { simulate } = chain(new Map());
    let error: unknown;
    await bisect({ units: 0, errorName: "Panic", simulate, maxSimulations: 8 }).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/at least one unit, got 0/);
  });

  it("finds exactly the bad units of random batches, within 2·k·ceil(log2 n) simulations", async function () {
    // A small deterministic generator (LCG): a failing seed becomes a concrete test above.
    let seed = 12345;
    const next = (m: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % m;
    };
    for (let round = 0; round < 200; round++) {
      const n = 1 + next(40);
      const k = 1 + next(Math.min(n, 4));
      const bad = new Map<number, string>();
      while (bad.size < k) bad.set(next(n), `E${bad.size}`);
      const { simulate } = chain(bad);
      const r = await bisect({ units: n, errorName: "Panic", simulate, maxSimulations: 1_000 });
      const label = `round ${round}: n=${n} bad=${[...bad.keys()].join(",")}`;
      if (n === 1) expect(r.failing, label).to.deep.equal([{ unit: 0, errorName: "Panic" }]);
      else
        expect(r.failing, label).to.deep.equal(
          [...bad].sort(([a], [b]) => a - b).map(([unit, errorName]) => ({ unit, errorName })),
        );
      expect(
        [...r.passing.flat(), ...r.failing.map((f) => f.unit)].sort((a, b) => a - b),
        label,
      ).to.deep.equal(range(n));
      expect(r.unresolved, label).to.deep.equal([]);
      expect(r.simulations, label).to.be.at.most(2 * k * Math.ceil(Math.log2(n)));
    }
  });
});
