import { isIP } from "node:net";
import { z } from "zod";
import { getAddress, isAddress, type Address, type Hex } from "viem";
import { SHARD_NAME } from "../cluster/registry";

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
  /** A `postgres://` URL or a SQLite file path. */
  readonly databasePath: string;
  /** PostgreSQL only: how long the leader's lease lasts unrenewed (`leaseTiming`: renewed every eighth of it). */
  readonly leaseMs: number;
  /** Market ids (`uint32`, from 1), ascending, without duplicates. */
  readonly markets: readonly bigint[];
  /**
   * `crossbook-keeper shard` only: the shard's name (its PostgreSQL schema is `shard_<name>`, see
   * keeper/src/cluster). Absent: the single keeper.
   */
  readonly shardName?: string;
  /**
   * `crossbook-keeper shard` only: a raise of an account's claim asks for what the order needs plus
   * this percent (0 ..= 100) of what would then still be free for the shard, so that the next
   * orders need no round trip (keeper/src/cluster/claims.ts). 0: exactly what is needed.
   */
  readonly claimHeadroomPercent: number;
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
    /** The settlement backlog's bound: past it, orders that would take are refused (`SETTLEMENT_BACKLOG`). */
    readonly maxPendingFills: number;
    /** One account's share of the backlog, as taker. */
    readonly maxPendingFillsPerAccount: number;
    /** Blocks a used nonce's receipt may stay absent (nothing proving what used it) before its batch is dropped. */
    readonly dropAfterBlocks: number;
    /** Wei: below this, the keeper warns and is not ready (it cannot pay for batches for long). */
    readonly minKeeperBalance: bigint;
    /**
     * Seconds within which the keeper lands what it matches: an order whose cancel-after deadline
     * falls within them is not matched, and pulled from the book.
     */
    readonly horizonSeconds: number;
    /**
     * Seconds an account's orders that would take are refused (`TAKER_COOLDOWN`) after one of its
     * fills was skipped for a reason it caused (a residual option used); 0: never.
     */
    readonly takerCooldownSeconds: number;
  };
  readonly api: {
    readonly host: string;
    readonly port: number;
    /** Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed; empty: none. */
    readonly trustProxy: readonly string[];
    /** How long a session (bearer token) lasts. */
    readonly sessionTtlSeconds: number;
    /** Orders and cancels per second per account (burst: the same); each batch action counts one. */
    readonly perAccountPerSecond: number;
    /** The most actions one `POST /v1/orders/batch` carries. */
    readonly maxBatchActions: number;
    /** HTTP connections open at once from one client address; one beyond it is closed unread. */
    readonly maxHttpConnectionsPerIp: number;
    /** Handles on the listening socket, each accepting one connection a turn (api/acceptors.ts). */
    readonly acceptors: number;
    /** The shortest time between two writes to a feed connection (api/feed.ts, `flushGapMs`). */
    readonly feedFlushGapMs: number;
  };
  /** Per market: the least an order may be, in lots and in notional (quote atoms at its limit price); 0: none. */
  readonly minimums: ReadonlyMap<bigint, { readonly lots: bigint; readonly notional: bigint }>;
  /** The keeper is not ready while its cached chain facts are more than this many blocks behind the chain. */
  readonly maxStaleBlocks: number;
  /** The first block whose Exchange events matter (its deploy block): where the keeper starts reading. */
  readonly startBlock: bigint;
  /** How often the keeper asks the node for a new block. */
  readonly pollIntervalMs: number;
  /** The most orders one account may have resting, over every market. */
  readonly maxOpenOrdersPerAccount: number;
  /**
   * Risk reads of accounts the keeper has no record of (no accepted order, no deposit seen) under
   * way at once; past it their orders are refused `KEEPER_BUSY_FOR_NEW_ACCOUNTS`. 0: no limit.
   */
  readonly maxStrangerReads: number;
  /**
   * Accounts whose facts the keeper reads ahead of their next order, and keeps at once: the latest
   * depositors, at each block, and the accounts with open orders when a term starts (0: none).
   */
  readonly readAheadAccounts: number;
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

const shardName: Parse<string> = (v) =>
  typeof v === "string" && SHARD_NAME.test(v.trim())
    ? ok(v.trim())
    : bad("a shard name: 1 to 32 of a-z, 0-9 and _ (it names the PostgreSQL schema shard_<name>)");

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

/** Per-market amounts: `1:10,2:5` (env, flag) or `{ "1": "10", "2": 5 }` (file). */
function perMarket(what: string): Parse<Map<bigint, bigint>> {
  const expected = `pairs of a market id and ${what}, like 1:10,2:5 (in the file: an object { "1": "10" })`;
  const amount = integer(0n, (1n << 256n) - 1n);
  return (v) => {
    const entries =
      typeof v === "string"
        ? v.trim() === ""
          ? []
          : v.split(",").map((pair) => pair.split(":").map((x) => x.trim()))
        : typeof v === "object" && v !== null && !Array.isArray(v)
          ? Object.entries(v as Record<string, unknown>)
          : undefined;
    if (entries === undefined) return bad(expected);
    const out = new Map<bigint, bigint>();
    for (const entry of entries) {
      if (entry.length !== 2) return bad(expected);
      const id = marketId(entry[0]);
      const n = amount(entry[1]);
      if (!id.ok || !n.ok || out.has(id.value)) return bad(expected);
      out.set(id.value, n.value);
    }
    return ok(out);
  };
}

/** Addresses or CIDR ranges (`10.0.0.0/8`, `::1`): comma-separated in env and flags, a JSON array in the file. */
const addressList: Parse<string[]> = (v) => {
  const expected = "IP addresses or CIDR ranges, comma-separated, like 127.0.0.1,10.0.0.0/8";
  const items =
    typeof v === "string"
      ? v
          .split(",")
          .map((x) => x.trim())
          .filter((x) => x !== "")
      : Array.isArray(v)
        ? v
        : undefined;
  if (items === undefined) return bad(expected);
  for (const item of items) {
    if (typeof item !== "string") return bad(expected);
    const [ip, bits, extra] = item.split("/");
    const family = isIP(ip ?? "");
    if (family === 0 || extra !== undefined) return bad(expected);
    if (bits !== undefined && !(/^[0-9]+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)))
      return bad(expected);
  }
  return ok(items as string[]);
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
  {
    path: "leaseMs",
    env: "CROSSBOOK_LEASE_MS",
    flag: "lease-ms",
    default: 2000,
    inFile: true,
    parse: smallInt(300, 60_000, "milliseconds from 300 to 60000"),
  },
  { path: "markets", env: "CROSSBOOK_MARKETS", flag: "markets", inFile: true, parse: markets },
  { path: "shardName", env: "CROSSBOOK_SHARD_NAME", flag: "shard-name", inFile: true, parse: shardName },
  {
    path: "claimHeadroomPercent",
    env: "CROSSBOOK_CLAIM_HEADROOM_PERCENT",
    flag: "claim-headroom-percent",
    default: 50,
    inFile: true,
    parse: smallInt(0, 100, "a percent"),
  },
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
    path: "settlement.maxPendingFills",
    env: "CROSSBOOK_MAX_PENDING_FILLS",
    flag: "max-pending-fills",
    default: 10_000,
    inFile: true,
    parse: smallInt(1, 1_000_000, "a number of fills"),
  },
  {
    path: "settlement.maxPendingFillsPerAccount",
    env: "CROSSBOOK_MAX_PENDING_FILLS_PER_ACCOUNT",
    flag: "max-pending-fills-per-account",
    default: 1_000,
    inFile: true,
    parse: smallInt(1, 1_000_000, "a number of fills"),
  },
  {
    path: "settlement.dropAfterBlocks",
    env: "CROSSBOOK_DROP_AFTER_BLOCKS",
    flag: "drop-after-blocks",
    default: 12,
    inFile: true,
    parse: smallInt(1, 10_000, "a number of blocks"),
  },
  {
    path: "settlement.horizonSeconds",
    env: "CROSSBOOK_SETTLEMENT_HORIZON_SECONDS",
    flag: "settlement-horizon-seconds",
    default: 10,
    inFile: true,
    parse: smallInt(0, 300, "seconds"),
  },
  {
    path: "settlement.takerCooldownSeconds",
    env: "CROSSBOOK_TAKER_COOLDOWN_SECONDS",
    flag: "taker-cooldown-seconds",
    default: 300,
    inFile: true,
    parse: smallInt(0, 86_400, "seconds"),
  },
  {
    path: "settlement.minKeeperBalance",
    env: "CROSSBOOK_MIN_KEEPER_BALANCE",
    flag: "min-keeper-balance",
    default: (50_000_000n * GWEI).toString(),
    inFile: true,
    parse: integer(0n, MAX_UINT256, "an amount of wei (a whole number)"),
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
    path: "api.trustProxy",
    env: "CROSSBOOK_API_TRUST_PROXY",
    flag: "api-trust-proxy",
    default: [],
    inFile: true,
    parse: addressList,
  },
  {
    path: "api.sessionTtlSeconds",
    env: "CROSSBOOK_SESSION_TTL_SECONDS",
    flag: "session-ttl-seconds",
    default: 3600,
    inFile: true,
    parse: smallInt(60, 604_800, "a number of seconds"),
  },
  {
    path: "api.perAccountPerSecond",
    env: "CROSSBOOK_PER_ACCOUNT_PER_SECOND",
    flag: "per-account-per-second",
    default: 500,
    inFile: true,
    parse: smallInt(1, 100_000, "orders and cancels per second"),
  },
  {
    path: "api.maxBatchActions",
    env: "CROSSBOOK_MAX_BATCH_ACTIONS",
    flag: "max-batch-actions",
    default: 20,
    inFile: true,
    parse: smallInt(1, 100, "a number of actions (at most 100)"),
  },
  {
    path: "api.maxHttpConnectionsPerIp",
    env: "CROSSBOOK_MAX_HTTP_CONNECTIONS_PER_IP",
    flag: "max-http-connections-per-ip",
    default: 64,
    inFile: true,
    parse: smallInt(1, 100_000, "a number of connections"),
  },
  {
    path: "api.acceptors",
    env: "CROSSBOOK_API_ACCEPTORS",
    flag: "api-acceptors",
    default: 16,
    inFile: true,
    parse: smallInt(1, 64, "a number of accepting handles (at most 64)"),
  },
  {
    path: "api.feedFlushGapMs",
    env: "CROSSBOOK_FEED_FLUSH_GAP_MS",
    flag: "feed-flush-gap-ms",
    default: 5,
    inFile: true,
    parse: smallInt(0, 1000, "a number of milliseconds (at most 1,000)"),
  },
  {
    path: "minimums.lots",
    env: "CROSSBOOK_MIN_LOTS",
    flag: "min-lots",
    default: "",
    inFile: true,
    parse: perMarket("its least lots per order"),
  },
  {
    path: "minimums.notional",
    env: "CROSSBOOK_MIN_NOTIONAL",
    flag: "min-notional",
    default: "",
    inFile: true,
    parse: perMarket("its least notional per order in quote atoms"),
  },
  {
    path: "maxStaleBlocks",
    env: "CROSSBOOK_MAX_STALE_BLOCKS",
    flag: "max-stale-blocks",
    default: 3,
    inFile: true,
    parse: smallInt(1, 1000, "a number of blocks"),
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
    path: "maxStrangerReads",
    env: "CROSSBOOK_MAX_STRANGER_READS",
    flag: "max-stranger-reads",
    default: 4,
    inFile: true,
    parse: smallInt(0, 1_000, "a number of reads (0: no limit)"),
  },
  {
    path: "readAheadAccounts",
    env: "CROSSBOOK_READ_AHEAD_ACCOUNTS",
    flag: "read-ahead-accounts",
    default: 256,
    inFile: true,
    parse: smallInt(0, 4_096, "a number of accounts (0: none)"),
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
      for (const key of ["minimums.lots", "minimums.notional"]) {
        const minimums = v[key];
        const served = v.markets;
        if (!(minimums instanceof Map) || !Array.isArray(served)) continue;
        for (const id of minimums.keys()) {
          if (!served.includes(id)) {
            ctx.addIssue({
              code: "custom",
              path: [key],
              message: `names market ${id}, which is not in markets (${served.join(", ")}); expected only served markets`,
            });
          }
        }
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
      leaseMs: v.leaseMs as number,
      markets: v.markets as bigint[],
      ...(v.shardName === undefined ? {} : { shardName: v.shardName as string }),
      claimHeadroomPercent: v.claimHeadroomPercent as number,
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
        maxPendingFills: v["settlement.maxPendingFills"] as number,
        maxPendingFillsPerAccount: v["settlement.maxPendingFillsPerAccount"] as number,
        dropAfterBlocks: v["settlement.dropAfterBlocks"] as number,
        minKeeperBalance: v["settlement.minKeeperBalance"] as bigint,
        horizonSeconds: v["settlement.horizonSeconds"] as number,
        takerCooldownSeconds: v["settlement.takerCooldownSeconds"] as number,
      },
      api: {
        host: v["api.host"] as string,
        port: v["api.port"] as number,
        trustProxy: v["api.trustProxy"] as string[],
        sessionTtlSeconds: v["api.sessionTtlSeconds"] as number,
        perAccountPerSecond: v["api.perAccountPerSecond"] as number,
        maxBatchActions: v["api.maxBatchActions"] as number,
        maxHttpConnectionsPerIp: v["api.maxHttpConnectionsPerIp"] as number,
        acceptors: v["api.acceptors"] as number,
        feedFlushGapMs: v["api.feedFlushGapMs"] as number,
      },
      minimums: minimumsOf(v["minimums.lots"] as Map<bigint, bigint>, v["minimums.notional"] as Map<bigint, bigint>),
      maxStaleBlocks: v.maxStaleBlocks as number,
      startBlock: v.startBlock as bigint,
      pollIntervalMs: v.pollIntervalMs as number,
      maxOpenOrdersPerAccount: v.maxOpenOrdersPerAccount as number,
      maxStrangerReads: v.maxStrangerReads as number,
      readAheadAccounts: v.readAheadAccounts as number,
      logLevel: v.logLevel as LogLevel,
    };
  });

function minimumsOf(lots: Map<bigint, bigint>, notional: Map<bigint, bigint>): KeeperConfig["minimums"] {
  const out = new Map<bigint, { lots: bigint; notional: bigint }>();
  for (const id of new Set([...lots.keys(), ...notional.keys()])) {
    out.set(id, { lots: lots.get(id) ?? 0n, notional: notional.get(id) ?? 0n });
  }
  return out;
}
