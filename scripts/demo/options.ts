/**
 * The demo's command line: `npm run demo -- [--duration <seconds>] [--seed <n>] [--ha | --cluster] [--help]`.
 * Parsing is pure (no process, no exit), so that a bad flag is a clear error the caller prints.
 */

/** What the demo runs with. */
export interface DemoOptions {
  /** How long the bots trade, in seconds (the wind-down and the audit come after). */
  readonly durationSeconds: number;
  /** Seeds the feeds' random walk and the takers' choices, so that a run's inputs can be repeated. */
  readonly seed: number;
  /** `--ha`: two keepers on an embedded PostgreSQL, the leader killed halfway. */
  readonly ha: boolean;
  /** `--cluster`: two gateways in front of two market shards (a leader and a follower each) on an embedded PostgreSQL. */
  readonly cluster: boolean;
  /** `--help`: print the usage and do nothing else. */
  readonly help: boolean;
}

export const DEFAULT_DURATION_SECONDS = 60;
export const DEFAULT_SEED = 1;

export const USAGE = `npm run demo -- [options]

Starts a Hardhat node on a free loopback port, deploys two markets (WETH/USDC, WBTC/USDC), funds
traders, starts the keeper, serves the trading page (app/) with a funded demo account and prints its
URL, runs market makers and takers against both markets while the mock price feeds follow a random
walk, prints progress every 2 s, then stops the bots, waits for every fill to settle, checks the
result against the chain and stops everything it started. To trade on the page for longer, give a
longer --duration.

Options:
  --duration <seconds>   how long the bots trade [${DEFAULT_DURATION_SECONDS}]
  --seed <n>             seed of the price walk and the takers' choices [${DEFAULT_SEED}]
  --ha                   two keepers on an embedded PostgreSQL behind one URL that follows the
                         leader; the leader is killed (SIGKILL) halfway and the standby takes over
  --cluster              the scaled-out keeper: an embedded PostgreSQL, two market shards (one
                         market each, a leader and a follower each) and two gateways; half the bots
                         trade through each gateway
  --help, -h             this text

Exits 0 when every check passes, 1 when one fails or something broke, 2 for bad options.`;

/** Thrown for a flag the demo does not know or a value it cannot use; the message says which. */
export class DemoUsageError extends Error {
  override name = "DemoUsageError";
}

/** Parses the demo's arguments (without `node script`). */
export function parseDemoArgs(argv: readonly string[]): DemoOptions {
  let durationSeconds = DEFAULT_DURATION_SECONDS;
  let seed = DEFAULT_SEED;
  let help = false;
  let ha = false;
  let cluster = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith("--")) throw new DemoUsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--help":
      case "-h":
        help = true;
        break;
      case "--ha":
        if (inline !== undefined) throw new DemoUsageError("--ha takes no value");
        ha = true;
        break;
      case "--cluster":
        if (inline !== undefined) throw new DemoUsageError("--cluster takes no value");
        cluster = true;
        break;
      case "--duration": {
        const v = value();
        durationSeconds = Number(v);
        if (!/^[0-9]+(\.[0-9]+)?$/.test(v) || !(durationSeconds >= 1 && durationSeconds <= 86_400)) {
          throw new DemoUsageError(`--duration must be a number of seconds from 1 to 86400, got ${JSON.stringify(v)}`);
        }
        break;
      }
      case "--seed": {
        const v = value();
        seed = Number(v);
        if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(seed) || seed > 0xffffffff) {
          throw new DemoUsageError(`--seed must be a whole number from 0 to 4294967295, got ${JSON.stringify(v)}`);
        }
        break;
      }
      default:
        throw new DemoUsageError(`unknown option ${JSON.stringify(arg)}`);
    }
  }
  if (ha && cluster) throw new DemoUsageError("--ha and --cluster are two different set-ups: choose one");
  return { durationSeconds, seed, ha, cluster, help };
}
