/**
 * `npm run mm -- …`: the market-making bot as a process (scripts/bots/lib/marketMaker.ts does the
 * work; `runMarketMaker` is exported for running it in-process). Run with `--help` for the options.
 */
import { parseArgs } from "node:util";
import { parseLots } from "@crossbook/sdk";
import { findMarket, readDeployment } from "../lib/market";
import { UsageError, bigintOption, intOption, keyFromEnv, runAsProcess } from "./lib/cli";
import { runMarketMaker, type MarketMakerOptions } from "./lib/marketMaker";

export { runMarketMaker, type MarketMakerOptions } from "./lib/marketMaker";

export const MM_USAGE = `Usage: npm run mm -- [options]

Quotes a post-only ladder on both sides of a Crossbook market around a reference price, through
a keeper; requotes as the price moves, renews its cancel-after deadline on-chain as a heartbeat,
sets its own window limit, and soft-cancels everything on SIGINT/SIGTERM.
The trader's private key is read from an environment variable, never from a flag.

Connections:
  --keeper URL              keeper base URL                          [http://127.0.0.1:8080]
  --rpc URL                 JSON-RPC URL of the chain                [http://127.0.0.1:8545]
  --deployment PATH         deployments file                         [deployments/localhost.json]
  --market NAME             market name in the deployment            [WETH/USDC]
  --key-env VAR             environment variable holding the key     [MM_KEY]
Ladder:
  --levels N                orders per side                          [5]
  --spread-bps N            first level's distance from the reference [10]
  --spacing-bps N           distance between levels                  [10]
  --size AMOUNT             base tokens per order, e.g. 0.01 (whole lots)
  --lots N                  lots per order (instead of --size)       [10]
  --requote-bps N           move the ladder past this reference move [5]
  --interval-ms N           time between rounds                      [1000]
  --order-ttl SECONDS       order expiry after signing               [600]
  --reference feed|book     the market's price feed, or the book mid [feed]
  --skew-bps-per-lot N      move quotes against inventory, per lot   [0]
  --max-skew-bps N          cap on that skew                         [none]
  --max-inventory-lots N    stop adding to an inventory this large   [0: no limit]
Self-limits (on-chain):
  --cancel-after SECONDS    keep a cancel-after deadline this far ahead, renewed every third
                            of it; 0 turns the switch off            [60]
  --cancel-after-off-on-exit  turn the switch off when stopping (default: let it run out)
  --window-lots N           at most N lots filled per window         [100 × levels × lots]
  --window-seconds N        the window's length                      [60]
  --no-window-limit         leave the account's window limit as it is
  -h, --help                this text

Example:
  MM_KEY=0x… npm run mm -- --market WETH/USDC --levels 3 --size 0.01 --requote-bps 10`;

/** The `MarketMakerOptions` of a command line (without the key, read from the environment). */
export function parseMarketMakerArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      keeper: { type: "string", default: "http://127.0.0.1:8080" },
      rpc: { type: "string", default: "http://127.0.0.1:8545" },
      deployment: { type: "string", default: "deployments/localhost.json" },
      market: { type: "string", default: "WETH/USDC" },
      "key-env": { type: "string", default: "MM_KEY" },
      levels: { type: "string" },
      "spread-bps": { type: "string" },
      "spacing-bps": { type: "string" },
      size: { type: "string" },
      lots: { type: "string" },
      "requote-bps": { type: "string" },
      "interval-ms": { type: "string" },
      "order-ttl": { type: "string" },
      reference: { type: "string", default: "feed" },
      "skew-bps-per-lot": { type: "string" },
      "max-skew-bps": { type: "string" },
      "max-inventory-lots": { type: "string" },
      "cancel-after": { type: "string" },
      "cancel-after-off-on-exit": { type: "boolean", default: false },
      "window-lots": { type: "string" },
      "window-seconds": { type: "string" },
      "no-window-limit": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return { help: true as const };
  if (values.reference !== "feed" && values.reference !== "book") {
    throw new UsageError(`--reference must be "feed" or "book", got "${values.reference}"`);
  }
  if (values.size !== undefined && values.lots !== undefined) throw new UsageError("Give --size or --lots, not both");
  const deployment = readDeployment(values.deployment);
  const market = findMarket(deployment, values.market);
  let lotsPerLevel = bigintOption(values, "lots", 10n, 1n);
  if (values.size !== undefined) {
    try {
      lotsPerLevel = parseLots({ amount: values.size, market });
    } catch (error) {
      throw new UsageError(`--size: ${(error as Error).message}`);
    }
    if (lotsPerLevel < 1n) throw new UsageError("--size must be at least one lot");
  }
  const levels = intOption(values, "levels", 5, 1, 100);
  if (values["no-window-limit"] && (values["window-lots"] !== undefined || values["window-seconds"] !== undefined)) {
    throw new UsageError("--no-window-limit and --window-lots/--window-seconds contradict each other");
  }
  const options: MarketMakerOptions = {
    keeperUrl: values.keeper,
    rpcUrl: values.rpc,
    deployment,
    market: market.name,
    privateKey: keyFromEnv(values["key-env"], env),
    levels,
    spreadBps: intOption(values, "spread-bps", 10, 0, 9_999),
    spacingBps: intOption(values, "spacing-bps", 10, 0, 9_999),
    lotsPerLevel,
    requoteBps: intOption(values, "requote-bps", 5, 0, 10_000),
    intervalMs: intOption(values, "interval-ms", 1_000, 10, 3_600_000),
    orderTtlSeconds: intOption(values, "order-ttl", 600, 1, 365 * 86_400),
    reference: values.reference,
    skewBpsPerLot: intOption(values, "skew-bps-per-lot", 0, 0, 10_000),
    maxSkewBps: values["max-skew-bps"] === undefined ? undefined : intOption(values, "max-skew-bps", 0, 0, 9_999),
    maxInventoryLots: bigintOption(values, "max-inventory-lots", 0n),
    cancelAfterSeconds: intOption(values, "cancel-after", 60, 0, 365 * 86_400),
    cancelAfterOffOnExit: values["cancel-after-off-on-exit"],
    windowLimit: values["no-window-limit"]
      ? null
      : {
          maxLots: bigintOption(values, "window-lots", 100n * BigInt(levels) * lotsPerLevel, 1n),
          windowSeconds: intOption(values, "window-seconds", 60, 1, (1 << 24) - 1),
        },
    log: (line) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`),
  };
  return { help: false as const, options };
}

if (require.main === module) {
  void runAsProcess(MM_USAGE, parseMarketMakerArgs, runMarketMaker);
}
