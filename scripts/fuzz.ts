/**
 * `npm run fuzz -- --steps 100000 [--seed N] [--runs R] [--max-commands M]`: runs the Exchange's
 * stateful property test (test/exchange/Exchange.property.test.ts, its model and commands) until at
 * least `--steps` steps are done, from seed N up (each seed R runs of up to M commands), and prints
 * steps, fills traded and skipped per reason, and the firm matches it settled. A failure prints the
 * shrunk counterexample and the seed and path that replay it. `npm test` runs a short fixed run of
 * the same test.
 */
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "100000" },
    seed: { type: "string", default: "42" },
    runs: { type: "string", default: "10" },
    "max-commands": { type: "string", default: "200" },
    help: { type: "boolean", default: false },
  },
});

if (values.help) {
  console.log("npm run fuzz -- --steps 100000 [--seed 42] [--runs 10] [--max-commands 200]");
  process.exit(0);
}

for (const name of ["steps", "seed", "runs", "max-commands"] as const) {
  if (!/^\d+$/.test(values[name])) {
    console.error(`--${name} must be a whole number, got ${values[name]}`);
    process.exit(2);
  }
}

console.log(
  `fuzz: the Exchange's stateful property for at least ${values.steps} steps, seeds from ${values.seed} ` +
    `(${values.runs} runs of up to ${values["max-commands"]} commands a seed)`,
);
const result = spawnSync(
  "npx",
  ["hardhat", "test", "test/exchange/Exchange.property.test.ts", "--grep", "agrees with the model"],
  {
    stdio: "inherit",
    env: {
      ...process.env,
      PROPERTY_STEPS: values.steps,
      PROPERTY_SEED: values.seed,
      PROPERTY_RUNS: values.runs,
      PROPERTY_MAX_COMMANDS: values["max-commands"],
    },
  },
);
process.exitCode = result.status ?? 1;
