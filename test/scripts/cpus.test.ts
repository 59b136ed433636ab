/**
 * Where a benchmark's processes run (scripts/lib/cpus.ts): the split of a machine's cores between
 * the process under test and the others, and a child held to its cores from its start, read back
 * from the kernel (`/proc/<pid>/status`).
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { hasTaskset, heldTo, splitCpus } from "../../scripts/lib/cpus";
import { spawnManaged } from "../../scripts/lib/processes";

/** The cores the kernel lets `pid`'s main thread run on, as `/proc` lists them ("0", "1-3"). */
function allowedCpus(pid: number): string {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Cpus_allowed_list:"));
  return (line ?? "").split(":")[1].trim();
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
});
