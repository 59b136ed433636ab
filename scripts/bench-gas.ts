/**
 * `npm run bench:gas`: gas per fill of `Exchange.settle` in the named scenarios of
 * scripts/lib/gas-scenarios.ts, printed as a table and written to snapshots/gas.json (committed;
 * `npm test` fails when a figure grows by more than 2%).
 */
import hre from "hardhat";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { measureGasScenarios } from "./lib/gas-scenarios";

async function main() {
  console.log("scenario       fills  round  gas/fill");
  const figures = await measureGasScenarios(hre, (f) =>
    console.log(
      `${f.scenario.padEnd(14)} ${String(f.fills).padStart(5)}  ${String(f.round).padStart(5)}  ${String(f.gasPerFill).padStart(8)}`,
    ),
  );
  const snapshot = Object.fromEntries(
    figures.map((f) => [`${f.scenario} ${f.fills} fills round ${f.round}`, f.gasPerFill]),
  );
  const path = join(__dirname, "..", "snapshots", "gas.json");
  writeFileSync(path, JSON.stringify(snapshot, null, 2) + "\n");
  console.log(`wrote ${path}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
