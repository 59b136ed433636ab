import { expect } from "chai";
import hre from "hardhat";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { measureGasScenarios, snapshotKey } from "../../scripts/lib/gas-scenarios";

/** A figure may grow by at most this share over the committed snapshot before `npm test` fails. */
const ALLOWED_GROWTH = 0.02;

describe("gas snapshot", function () {
  it("no settle scenario costs more than 2% above snapshots/gas.json (rerun `npm run bench:gas` to update)", async function () {
    const snapshot: Record<string, number> = JSON.parse(
      readFileSync(join(__dirname, "..", "..", "snapshots", "gas.json"), "utf8"),
    );
    const figures = await measureGasScenarios(hre);
    const grown: string[] = [];
    for (const figure of figures) {
      const key = snapshotKey(figure);
      const recorded = snapshot[key];
      expect(recorded, `snapshots/gas.json has no figure for "${key}"`).to.be.a("number");
      if (figure.gasPerFill > recorded * (1 + ALLOWED_GROWTH)) {
        grown.push(`${key}: ${figure.gasPerFill} gas/fill, snapshot ${recorded}`);
      }
    }
    expect(grown, `gas grew by more than ${ALLOWED_GROWTH * 100}%`).to.deep.equal([]);
  });
});
