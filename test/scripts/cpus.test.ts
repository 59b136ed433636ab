/**
 * Where a benchmark's processes run (scripts/lib/cpus.ts): the split of a machine's cores between
 * the process under test and the others, and a child held to its cores from its start, read back
 * from the kernel (`/proc/<pid>/status`).
 */
import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { hasTaskset, heldTo, splitCpus, yieldCpu } from "../../scripts/lib/cpus";
import { spawnManaged } from "../../scripts/lib/processes";

/** The cores the kernel lets `pid`'s main thread run on, as `/proc` lists them ("0", "1-3"). */
function allowedCpus(pid: number): string {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Cpus_allowed_list:"));
  return (line ?? "").split(":")[1].trim();
}

/** The niceness of each thread of `pid`, by `/proc/<pid>/task/<tid>/stat` (its 19th field). */
function threadNiceness(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    // The command name may hold spaces: the fields after it start at its closing parenthesis.
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
  });
}

describe("bench CPU placement (scripts/lib/cpus.ts)", function () {
  it("gives the process under test the upper half of the cores and the others the lower", function () {
    if (!hasTaskset()) this.skip();
    expect(splitCpus(2)).to.deep.equal({ others: "0", tested: "1" });
    expect(splitCpus(3)).to.deep.equal({ others: "0", tested: "1-2" });
    expect(splitCpus(8)).to.deep.equal({ others: "0-3", tested: "4-7" });
  });

  it("splits nothing on one core", function () {
    expect(splitCpus(1)).to.equal(undefined);
  });

  it("runs a command as it is without cores, and under taskset with them", function () {
    expect(heldTo(undefined, "node", ["-e", "1"])).to.deep.equal({ command: "node", args: ["-e", "1"] });
    expect(heldTo("1", "node", ["-e", "1"])).to.deep.equal({
      command: "taskset",
      args: ["-c", "1", "node", "-e", "1"],
    });
  });

  it("holds a managed child to its cores from its start", async function () {
    if (!hasTaskset() || !process.platform.startsWith("linux")) this.skip();
    // Core 0 exists on every machine; the test process itself may run anywhere.
    const script = "console.log('up'); setTimeout(() => {}, 30000)";
    const child = spawnManaged("held", process.execPath, ["-e", script], { cpus: "0" });
    try {
      await child.waitFor(/^up$/, 20_000); // node itself runs: taskset set its cores before it started
      expect(allowedCpus(child.child.pid as number)).to.equal("0");
    } finally {
      await child.stop(1000);
    }
  });

  it("lowers every thread of a process, those it starts later too", async function () {
    if (!process.platform.startsWith("linux")) this.skip();
    // The child lowers itself, then starts the thread pool's threads (a pbkdf2 of its own) and says so.
    const script =
      "require('./scripts/lib/cpus').yieldCpu(7);" +
      "require('node:crypto').pbkdf2('a', 'b', 1, 32, 'sha256', () => console.log('up'));" +
      "setTimeout(() => {}, 30000)";
    const child = spawnManaged("yielding", process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script]);
    try {
      await child.waitFor(/^up$/, 60_000); // ts-node starts it: a bound for a busy machine, not a speed
      const niceness = threadNiceness(child.child.pid as number);
      // Node's own threads (V8's, the thread pool's four) were started both before and after the call.
      expect(niceness.length).to.be.greaterThan(5);
      expect(niceness.every((n) => n === 7)).to.equal(true, `threads at ${niceness.join(", ")}`);
    } finally {
      await child.stop(1000);
    }
  });

  it("refuses a niceness outside 0 ..= 19", function () {
    expect(() => yieldCpu(20)).to.throw(RangeError, /0 to 19/);
    expect(() => yieldCpu(-1)).to.throw(RangeError, /0 to 19/);
    expect(() => yieldCpu(1.5)).to.throw(RangeError, /0 to 19/);
  });
});
