import { z } from "zod";
import { getAddress, isAddress, type Address, type Hex } from "viem";

/**
 * The keeper's configuration: one zod schema over one table of settings. Each setting has a path
 * in the config file, an environment variable, usually a flag, a default (or none: required), and
 * a parser that accepts the JSON value of the file or the string of the environment and the flag.
 * See keeper/README.md, "Config".
 */

/** Where the keeper's signing key comes from. The key is never read from a flag or the file. */
export type KeeperKeySource =
  | { readonly kind: "env"; readonly privateKey: Hex }
  | { readonly kind: "keystore"; readonly path: string; readonly password: string };

/** The validated configuration. Every on-chain quantity is a `bigint`. */
export interface KeeperConfig {
  readonly rpcUrl: string;
  readonly chainId: number;
  /** The Exchange contract, checksummed. */
  readonly exchange: Address;
  readonly key: KeeperKeySource;
  readonly databasePath: string;
  /** Market ids (`uint32`, from 1), ascending, without duplicates. */
  readonly markets: readonly bigint[];
  readonly batch: {
    /** A batch is sent when it holds this many fills… */
    readonly maxFills: number;
    /** …or when its estimated gas reaches this… */
    readonly maxGas: bigint;
    /** …or when its oldest fill has waited this long. */
    readonly maxWaitMs: number;
  };
  readonly fees: {
    /** Cap on the EIP-1559 `maxFeePerGas`, in wei: the keeper never bids more. */
    readonly maxFeePerGas: bigint;
    /** Cap on the EIP-1559 `maxPriorityFeePerGas`, in wei. */
    readonly maxPriorityFeePerGas: bigint;
    /** A replacement transaction raises both fees by this percent (nodes require ≥ 10). */
    readonly replacementBumpPercent: number;
  };
  /** Blocks on top of the receipt's block before a batch counts as final. */
  readonly confirmations: number;
  readonly settlement: {
    /** Blocks without a receipt before a batch's transaction is replaced (same nonce, fees bumped). */
    readonly replaceAfterBlocks: number;
    /** Percent added to the node's gas estimate of a batch (ERC-1271 wallets need their allowance). */
    readonly gasHeadroomPercent: number;
  };
  readonly api: { readonly host: string; readonly port: number };
  /** The first block whose Exchange events matter (its deploy block): where the keeper starts reading. */
  readonly startBlock: bigint;
  /** How often the keeper asks the node for a new block. */
  readonly pollIntervalMs: number;
  /** The most orders one account may have resting, over every market. */
  readonly maxOpenOrdersPerAccount: number;
  readonly logLevel: LogLevel;
}

/** A leaf parser: the value, or the text of what was expected. */
type Parse<T> = (value: unknown) => { ok: true; value: T } | { ok: false; expected: string };

/** One setting: its place in the file, its environment variable and flag, its default. */
export interface Setting {
  /** Dotted path in the config file and in the problems: `batch.maxFills`. */
  readonly path: string;
  readonly env: string;
  /** Without the leading `--`; absent for the secrets, which only come from the environment. */
  readonly flag?: string;
  /** Raw default, as it would appear in the file; absent: required (or, for the key, see below). */
  readonly default?: unknown;
  /** Whether the value is secret: it is never repeated in a problem message. */
  readonly secret?: boolean;
  /** Whether the setting may be given in the config file (the secrets may not). */
  readonly inFile: boolean;
  readonly parse: Parse<unknown>;
}

const ok = <T>(value: T) => ({ ok: true as const, value });
const bad = (expected: string) => ({ ok: false as const, expected });

function integer(min: bigint, max: bigint, what = "an integer"): Parse<bigint> {
  const expected = `${what} from ${min} to ${max}`;
  return (v) => {
    let n: bigint;
    if (typeof v === "number" && Number.isSafeInteger(v)) n = BigInt(v);
    else if (typeof v === "string" && /^[0-9]+$/.test(v.trim())) n = BigInt(v.trim());
    else return bad(expected);
    return n >= min && n <= max ? ok(n) : bad(expected);
  };
}

function smallInt(min: number, max: number, what?: string): Parse<number> {
  const p = integer(BigInt(min), BigInt(max), what);
  return (v) => {
    const r = p(v);
    return r.ok ? ok(Number(r.value)) : r;
  };
}

const nonEmptyString: Parse<string> = (v) =>
  typeof v === "string" && v.trim() !== "" ? ok(v.trim()) : bad("a non-empty string");

const rpcUrl: Parse<string> = (v) => {
  const expected = "an http(s) or ws(s) URL, like http://127.0.0.1:8545";
  if (typeof v !== "string") return bad(expected);
  try {
    const url = new URL(v.trim());
    return ["http:", "https:", "ws:", "wss:"].includes(url.protocol) ? ok(v.trim()) : bad(expected);
  } catch {
    return bad(expected);
  }
};

const address: Parse<Address> = (v) =>
  typeof v === "string" && isAddress(v.trim(), { strict: false })
    ? ok(getAddress(v.trim()))
    : bad("a 20-byte hex address, 0x followed by 40 hex digits");

const privateKey: Parse<Hex> = (v) =>
  typeof v === "string" && /^0x[0-9a-fA-F]{64}$/.test(v.trim()) && !/^0x0{64}$/.test(v.trim())
    ? ok(v.trim().toLowerCase() as Hex)
    : bad("a private key, 0x followed by 64 hex digits, not zero");

const MAX_UINT32 = (1n << 32n) - 1n;
const marketId = integer(1n, MAX_UINT32, "a market id");
const markets: Parse<bigint[]> = (v) => {
  const expected = `a non-empty list of distinct market ids from 1 to ${MAX_UINT32} (in env and flags: comma-separated, like 1,2)`;
  const items = typeof v === "string" ? v.split(",").map((s) => s.trim()) : Array.isArray(v) ? v : undefined;
  if (items === undefined || items.length === 0) return bad(expected);
  const ids: bigint[] = [];
  for (const item of items) {
    const r = marketId(item);
    if (!r.ok || ids.includes(r.value)) return bad(expected);
    ids.push(r.value);
  }
  return ok(ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
};

const GWEI = 1_000_000_000n;
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
/** How much the keeper logs (pino's levels). */
export type LogLevel = (typeof LOG_LEVELS)[number];
const MAX_UINT256 = (1n << 256n) - 1n;
const wei = integer(1n, MAX_UINT256, "an amount of wei (a whole number)");

/** Every setting, in the order of the README's table. */
export const SETTINGS: readonly Setting[] = [
  { path: "rpcUrl", env: "CROSSBOOK_RPC_URL", flag: "rpc-url", inFile: true, parse: rpcUrl },
  {
    path: "chainId",
    env: "CROSSBOOK_CHAIN_ID",
    flag: "chain-id",
    inFile: true,
    parse: smallInt(1, Number.MAX_SAFE_INTEGER, "a chain id"),
  },
  { path: "exchange", env: "CROSSBOOK_EXCHANGE", flag: "exchange", inFile: true, parse: address },
  { path: "keeperKey", env: "CROSSBOOK_KEEPER_KEY", secret: true, inFile: false, parse: privateKey },
  { path: "keystorePath", env: "CROSSBOOK_KEYSTORE_PATH", flag: "keystore-path", inFile: true, parse: nonEmptyString },
  {
    path: "keystorePassword",
    env: "CROSSBOOK_KEYSTORE_PASSWORD",
    secret: true,
    inFile: false,
    parse: (v) => (typeof v === "string" ? ok(v) : bad("a string")),
  },
  {
    path: "databasePath",
    env: "CROSSBOOK_DATABASE",
    flag: "database",
    default: "./crossbook-keeper.db",
    inFile: true,
    parse: nonEmptyString,
  },
  { path: "markets", env: "CROSSBOOK_MARKETS", flag: "markets", inFile: true, parse: markets },
  {
    path: "batch.maxFills",
    env: "CROSSBOOK_BATCH_MAX_FILLS",
    flag: "batch-max-fills",
    default: 50,
    inFile: true,
    parse: smallInt(1, 1000),
  },
  {
    path: "batch.maxGas",
    env: "CROSSBOOK_BATCH_MAX_GAS",
    flag: "batch-max-gas",
    default: "10000000",
    inFile: true,
    parse: integer(21_000n, 1_000_000_000n, "an amount of gas"),
  },
  {
    path: "batch.maxWaitMs",
    env: "CROSSBOOK_BATCH_MAX_WAIT_MS",
    flag: "batch-max-wait-ms",
    default: 2000,
    inFile: true,
    parse: smallInt(0, 3_600_000, "a number of milliseconds"),
  },
  {
    path: "fees.maxFeePerGas",
    env: "CROSSBOOK_MAX_FEE_PER_GAS",
    flag: "max-fee-per-gas",
    default: (200n * GWEI).toString(),
    inFile: true,
    parse: wei,
  },
  {
    path: "fees.maxPriorityFeePerGas",
    env: "CROSSBOOK_MAX_PRIORITY_FEE_PER_GAS",
    flag: "max-priority-fee-per-gas",
    default: (2n * GWEI).toString(),
    inFile: true,
    parse: wei,
  },
  {
    path: "fees.replacementBumpPercent",
    env: "CROSSBOOK_FEE_BUMP_PERCENT",
    flag: "fee-bump-percent",
    default: 15,
    inFile: true,
    parse: smallInt(10, 1000, "a percent"),
  },
  {
    path: "confirmations",
    env: "CROSSBOOK_CONFIRMATIONS",
    flag: "confirmations",
    default: 2,
    inFile: true,
    parse: smallInt(0, 1000, "a number of blocks"),
  },
  {
    path: "settlement.replaceAfterBlocks",
    env: "CROSSBOOK_REPLACE_AFTER_BLOCKS",
    flag: "replace-after-blocks",
    default: 3,
    inFile: true,
    parse: smallInt(1, 1000, "a number of blocks"),
  },
  {
    path: "settlement.gasHeadroomPercent",
    env: "CROSSBOOK_GAS_HEADROOM_PERCENT",
    flag: "gas-headroom-percent",
    default: 25,
    inFile: true,
    parse: smallInt(0, 400, "a percent"),
  },
  {
    path: "api.host",
    env: "CROSSBOOK_API_HOST",
    flag: "api-host",
    default: "127.0.0.1",
    inFile: true,
    parse: nonEmptyString,
  },
  {
    path: "api.port",
    env: "CROSSBOOK_API_PORT",
    flag: "api-port",
    default: 8080,
    inFile: true,
    parse: smallInt(0, 65535, "a TCP port (0: any free one)"),
  },
  {
    path: "startBlock",
    env: "CROSSBOOK_START_BLOCK",
    flag: "start-block",
    default: 0,
    inFile: true,
    parse: integer(0n, (1n << 64n) - 1n, "a block number"),
  },
  {
    path: "pollIntervalMs",
    env: "CROSSBOOK_POLL_INTERVAL_MS",
    flag: "poll-interval-ms",
    default: 1000,
    inFile: true,
    parse: smallInt(50, 60_000, "a number of milliseconds"),
  },
  {
    path: "maxOpenOrdersPerAccount",
    env: "CROSSBOOK_MAX_OPEN_ORDERS",
    flag: "max-open-orders",
    default: 1000,
    inFile: true,
    parse: smallInt(1, 1_000_000, "a number of orders"),
  },
  {
    path: "logLevel",
    env: "CROSSBOOK_LOG_LEVEL",
    flag: "log-level",
    default: "info",
    inFile: true,
    parse: (v) =>
      typeof v === "string" && LOG_LEVELS.includes(v.trim() as LogLevel)
        ? ok(v.trim())
        : bad(`one of ${LOG_LEVELS.join(", ")}`),
  },
];

/** One raw value with where it came from, for the problem messages. */
export interface Sourced {
  readonly value: unknown;
  /** `file keeper.json`, `env CROSSBOOK_CHAIN_ID`, `flag --chain-id` or `default`. */
  readonly source: string;
}

/** Raw settings by path, every path present (`null`: not given), after layering file < environment < flags. */
export type RawSettings = Readonly<Record<string, Sourced | null>>;

/** What a leaf that failed to parse holds, so that the checks across leaves can tell it from "absent". */
const INVALID = Symbol("invalid");

function leaf(setting: Setting) {
  return z
    .custom<Sourced | null>((v) => v === null || typeof v === "object")
    .transform((sourced, ctx) => {
      const input =
        sourced ?? (setting.default === undefined ? undefined : { value: setting.default, source: "default" });
      if (input === undefined) return undefined; // required-ness is checked below, with the key rules
      const r = setting.parse(input.value);
      if (r.ok) return r.value;
      const shown = setting.secret ? "a value (hidden)" : JSON.stringify(input.value);
      ctx.addIssue({ code: "custom", message: `got ${shown} from ${input.source}; expected ${r.expected}` });
      return INVALID;
    });
}

const REQUIRED = ["rpcUrl", "chainId", "exchange", "markets"];

/** The schema: raw settings by path in, `KeeperConfig` out, or one issue per problem. */
export const configSchema = z
  .object(Object.fromEntries(SETTINGS.map((s) => [s.path, leaf(s)])))
  // Runs even when a leaf failed (`when`), so that every problem is reported at once.
  .superRefine(
    (v, ctx) => {
      const where = (p: string) => {
        const s = SETTINGS.find((x) => x.path === p)!;
        return `env ${s.env}${s.flag ? `, flag --${s.flag}` : ""}${s.inFile ? ` or file key "${p}"` : ""}`;
      };
      for (const p of REQUIRED) {
        if (v[p] === undefined)
          ctx.addIssue({ code: "custom", path: [p], message: `is missing; set it with ${where(p)}` });
      }
      const hasKey = v.keeperKey !== undefined;
      const hasStore = v.keystorePath !== undefined;
      if (hasKey && hasStore) {
        ctx.addIssue({
          code: "custom",
          path: ["keeperKey"],
          message:
            "is given twice: both CROSSBOOK_KEEPER_KEY and a keystore path are set; expected exactly one of them",
        });
      } else if (hasStore && v.keystorePassword === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["keystorePassword"],
          message: "is missing; a keystore needs its password in env CROSSBOOK_KEYSTORE_PASSWORD",
        });
      } else if (!hasKey && !hasStore) {
        ctx.addIssue({
          code: "custom",
          path: ["keeperKey"],
          message:
            'is missing; expected env CROSSBOOK_KEEPER_KEY (a private key), or a keystore file (env CROSSBOOK_KEYSTORE_PATH, flag --keystore-path or file key "keystorePath") with env CROSSBOOK_KEYSTORE_PASSWORD',
        });
      }
      const maxFee = v["fees.maxFeePerGas"];
      const tip = v["fees.maxPriorityFeePerGas"];
      if (typeof maxFee === "bigint" && typeof tip === "bigint" && tip > maxFee) {
        ctx.addIssue({
          code: "custom",
          path: ["fees.maxPriorityFeePerGas"],
          message: `is ${tip} wei, above fees.maxFeePerGas (${maxFee} wei); expected at most the max fee`,
        });
      }
    },
    { when: () => true },
  )
  // Only reached without issues: every leaf parsed, every required one present.
  .transform((v): KeeperConfig => {
    const key: KeeperKeySource =
      v.keeperKey !== undefined
        ? { kind: "env", privateKey: v.keeperKey as Hex }
        : { kind: "keystore", path: v.keystorePath as string, password: v.keystorePassword as string };
    return {
      rpcUrl: v.rpcUrl as string,
      chainId: v.chainId as number,
      exchange: v.exchange as Address,
      key,
      databasePath: v.databasePath as string,
      markets: v.markets as bigint[],
      batch: {
        maxFills: v["batch.maxFills"] as number,
        maxGas: v["batch.maxGas"] as bigint,
        maxWaitMs: v["batch.maxWaitMs"] as number,
      },
      fees: {
        maxFeePerGas: v["fees.maxFeePerGas"] as bigint,
        maxPriorityFeePerGas: v["fees.maxPriorityFeePerGas"] as bigint,
        replacementBumpPercent: v["fees.replacementBumpPercent"] as number,
      },
      confirmations: v.confirmations as number,
      settlement: {
        replaceAfterBlocks: v["settlement.replaceAfterBlocks"] as number,
        gasHeadroomPercent: v["settlement.gasHeadroomPercent"] as number,
      },
      api: { host: v["api.host"] as string, port: v["api.port"] as number },
      startBlock: v.startBlock as bigint,
      pollIntervalMs: v.pollIntervalMs as number,
      maxOpenOrdersPerAccount: v.maxOpenOrdersPerAccount as number,
      logLevel: v.logLevel as LogLevel,
    };
  });
