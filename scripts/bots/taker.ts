/**
 * `npm run taker -- …`: the taker bot as a process (scripts/bots/lib/taker.ts does the work;
 * `runTaker` is exported for running it in-process). Run with `--help` for the options.
 */
import { parseArgs } from "node:util";
import { findMarket, readDeployment } from "../lib/market";
import { UsageError, bigintOption, intOption, keyFromEnv, numberOption, runAsProcess } from "./lib/cli";
import { runTaker, type TakerOptions } from "./lib/taker";

export { runTaker, type TakerOptions } from "./lib/taker";

export const TAKER_USAGE = `Usage: npm run taker -- [options]

Sends marketable limit and IOC orders to a Crossbook keeper at a steady rate: buy or sell at
random, priced through the best opposite level of the book plus a few ticks of slippage, inside
the market's band. A marketable limit order's resting remainder is soft-cancelled after
--rest-ms; on SIGINT/SIGTERM it soft-cancels whatever still rests and exits 0.
The trader's private key is read from an environment variable, never from a flag.

Connections:
  --keeper URL            keeper base URL                          [http://127.0.0.1:8080]
  --rpc URL               JSON-RPC URL of the chain                [http://127.0.0.1:8545]
  --deployment PATH       deployments file                         [deployments/localhost.json]
  --market NAME           market name in the deployment            [WETH/USDC]
  --key-env VAR           environment variable holding the key     [TAKER_KEY]
Orders:
  --rate N                orders per second (may be fractional)    [2]
  --ioc-share X           share of IOC orders, 0..1                [0.5]
  --max-lots N            lots per order drawn from 1..N           [5]
  --slippage-ticks N      ticks through the best opposite level    [5]
  --rest-ms N             soft-cancel a resting remainder after    [2000]
  --order-ttl SECONDS     order expiry after signing               [60]
  --seed N                seed the random choices (reproducible)   [random]
  -h, --help              this text

Example:
  TAKER_KEY=0x… npm run taker -- --market WETH/USDC --rate 2 --ioc-share 0.5 --max-lots 5`;

/** The `TakerOptions` of a command line (without the key, read from the environment). */
export function parseTakerArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      keeper: { type: "string", default: "http://127.0.0.1:8080" },
      rpc: { type: "string", default: "http://127.0.0.1:8545" },
      deployment: { type: "string", default: "deployments/localhost.json" },
      market: { type: "string", default: "WETH/USDC" },
      "key-env": { type: "string", default: "TAKER_KEY" },
      rate: { type: "string" },
      "ioc-share": { type: "string" },
      "max-lots": { type: "string" },
      "slippage-ticks": { type: "string" },
      "rest-ms": { type: "string" },
      "order-ttl": { type: "string" },
      seed: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return { help: true as const };
  const deployment = readDeployment(values.deployment);
  const market = findMarket(deployment, values.market);
  const rate = numberOption(values, "rate", 2, 0, 100);
  if (rate === 0) throw new UsageError("--rate must be above 0");
  const options: TakerOptions = {
    keeperUrl: values.keeper,
    rpcUrl: values.rpc,
    deployment,
    market: market.name,
    privateKey: keyFromEnv(values["key-env"], env),
    rate,
    iocShare: numberOption(values, "ioc-share", 0.5, 0, 1),
    maxLots: bigintOption(values, "max-lots", 5n, 1n),
    slippageTicks: bigintOption(values, "slippage-ticks", 5n),
    restMs: intOption(values, "rest-ms", 2_000, 0, 3_600_000),
    orderTtlSeconds: intOption(values, "order-ttl", 60, 1, 365 * 86_400),
    seed: values.seed === undefined ? undefined : intOption(values, "seed", 0, 0, 2 ** 32 - 1),
    log: (line) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`),
  };
  return { help: false as const, options };
}

if (require.main === module) {
  void runAsProcess(TAKER_USAGE, parseTakerArgs, runTaker);
}
