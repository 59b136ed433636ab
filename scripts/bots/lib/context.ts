/**
 * What both bots share: connecting (deployments file → market, viem clients on an RPC URL or any
 * transport, the trader's key, the keeper client), reading the reference price and the band from
 * the chain, the counters they report, and an abortable sleep.
 */
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  type Hex,
  type PrivateKeyAccount,
  type PublicClient,
  type Transport,
  type WalletClient,
  type Chain,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  ChainClock,
  KeeperApiError,
  KeeperRequestError,
  chainNow as readChainTime,
  createKeeperClient,
  getPriceBounds,
  type ExchangeDomainParameters,
  type KeeperBook,
  type KeeperClient,
} from "@crossbook/sdk";
import { findMarket, readDeployment, type DeployedMarket, type Deployment } from "../../lib/market";
import { feedAnswerToTicks, type BestPrices, type PriceBounds } from "./quoting";

/** How a bot reaches the chain, the keeper and its market. */
export interface ConnectOptions {
  /** The keeper's base URL, e.g. `http://127.0.0.1:8080`. */
  keeperUrl: string;
  /** The keeper's feed; defaults to `keeperUrl`'s `/v1/ws` (ws:// for http://, wss:// for https://). */
  keeperWsUrl?: string | undefined;
  /** A JSON-RPC URL (e.g. `http://127.0.0.1:8545`); or pass `transport`. */
  rpcUrl?: string | undefined;
  /** A viem transport (e.g. `custom(hre.network.provider)` in-process); wins over `rpcUrl`. */
  transport?: Transport | undefined;
  /** The deployment, or the path of its deployments file. */
  deployment: Deployment | string;
  /** The market's name in the deployment, e.g. `WETH/USDC`. */
  market: string;
  /** The trader's private key (0x + 64 hex digits). The CLIs read it from an environment variable. */
  privateKey: Hex;
  /** How often viem polls for receipts [250 ms]. */
  pollingIntervalMs?: number | undefined;
}

/** A bot's connections. */
export interface BotConnection {
  readonly deployment: Deployment;
  readonly market: DeployedMarket;
  readonly account: PrivateKeyAccount;
  readonly publicClient: PublicClient;
  readonly walletClient: WalletClient<Transport, Chain, PrivateKeyAccount>;
  readonly keeper: KeeperClient;
  /** The keeper's WebSocket feed URL. */
  readonly keeperWsUrl: string;
  readonly domain: ExchangeDomainParameters;
  /** The chain's clock (the SDK's), fed with every block `chainNow` reads. */
  readonly clock: ChainClock;
}

/** Builds the clients; makes no request. Throws a clear error for a bad key, URL or market. */
export function connect(options: ConnectOptions): BotConnection {
  const deployment = typeof options.deployment === "string" ? readDeployment(options.deployment) : options.deployment;
  const market = findMarket(deployment, options.market);
  if (!/^0x[0-9a-fA-F]{64}$/.test(options.privateKey)) {
    throw new Error("The private key must be 0x followed by 64 hex digits");
  }
  const account = privateKeyToAccount(options.privateKey);
  const transport = options.transport ?? (options.rpcUrl === undefined ? undefined : http(options.rpcUrl));
  if (transport === undefined) throw new Error("Give the bot an RPC URL (rpcUrl) or a viem transport");
  const chain = defineChain({
    id: deployment.chainId,
    name: deployment.network,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [options.rpcUrl ?? "http://127.0.0.1:8545"] } },
  });
  const pollingInterval = options.pollingIntervalMs ?? 250;
  const publicClient = createPublicClient({ chain, transport, pollingInterval }) as PublicClient;
  const walletClient = createWalletClient({ account, chain, transport, pollingInterval });
  const domain = { chainId: deployment.chainId, verifyingContract: deployment.exchange } as const;
  const keeper = createKeeperClient({ url: options.keeperUrl, domain });
  const keeperWsUrl = options.keeperWsUrl ?? `${options.keeperUrl.replace(/^http/, "ws").replace(/\/+$/, "")}/v1/ws`;
  return {
    deployment,
    market,
    account,
    publicClient,
    walletClient,
    keeper,
    keeperWsUrl,
    domain,
    clock: new ChainClock(),
  };
}

const feedAbi = [
  {
    type: "function",
    name: "latestRoundData",
    stateMutability: "view",
    inputs: [],
    outputs: [
      { name: "roundId", type: "uint80" },
      { name: "answer", type: "int256" },
      { name: "startedAt", type: "uint256" },
      { name: "updatedAt", type: "uint256" },
      { name: "answeredInRound", type: "uint80" },
    ],
  },
] as const;

/** The market's feed price (`latestRoundData`) in ticks per lot. */
export async function readFeedTicks(connection: BotConnection): Promise<bigint> {
  const { market, publicClient } = connection;
  const [, answer] = await publicClient.readContract({
    address: market.feed.address,
    abi: feedAbi,
    functionName: "latestRoundData",
  });
  return feedAnswerToTicks({ answer, feedDecimals: market.feed.decimals, market });
}

/** The band a fill may have now, or undefined when the market has no usable reference. */
export async function readBounds(connection: BotConnection): Promise<PriceBounds | undefined> {
  const bounds = await getPriceBounds(connection.publicClient, {
    exchange: connection.deployment.exchange,
    marketId: connection.market.id,
  });
  return bounds.available ? bounds : undefined;
}

/** The best bid and ask of a keeper book. */
export function bestOf(book: KeeperBook): BestPrices {
  return { bestBid: book.bids[0]?.priceTicks, bestAsk: book.asks[0]?.priceTicks };
}

/**
 * The time the next block can have at the earliest, in unix seconds: the later of the chain's time
 * (the SDK's `chainNow`, which also feeds the connection's `ChainClock`) and the wall clock. A quiet
 * local node's latest block lags the wall clock, and its next block's time will not; a node whose
 * time was moved ahead (`evm_increaseTime`) is ahead of both. What deadlines and expiries count from.
 */
export async function chainNow(connection: BotConnection): Promise<bigint> {
  const chain = await readChainTime(connection.publicClient, { clock: connection.clock });
  const wall = BigInt(Math.floor(Date.now() / 1000));
  return chain > wall ? chain : wall;
}

/** What a bot has done so far. */
export interface BotStats {
  /** Orders submitted to the keeper. */
  ordersSent: number;
  /** Orders the keeper accepted. */
  accepted: number;
  /** Orders (and cancels) the keeper refused, by its error code. */
  rejected: Record<string, number>;
  /** Soft-cancel requests sent. */
  cancelsSent: number;
  /** Orders the keeper reported cancelled by them. */
  cancelled: number;
  /** Fill increments seen on the bot's orders. */
  fills: number;
  /** Lots filled on the bot's orders. */
  filledLots: bigint;
  /** Lots bought minus lots sold. */
  inventoryLots: bigint;
  /** Ladders quoted around a new reference (market maker). */
  requotes: number;
  /** Cancel-after renewals mined (market maker). */
  heartbeats: number;
  /** Orders not sent because there was nothing to take in the band (taker). */
  skipped: number;
  /** Failures that were not a keeper refusal (keeper unreachable, RPC errors…). */
  errors: number;
}

/** Fresh counters. */
export function emptyStats(): BotStats {
  return {
    ordersSent: 0,
    accepted: 0,
    rejected: {},
    cancelsSent: 0,
    cancelled: 0,
    fills: 0,
    filledLots: 0n,
    inventoryLots: 0n,
    requotes: 0,
    heartbeats: 0,
    skipped: 0,
    errors: 0,
  };
}

/** A copy of the counters (safe to keep). */
export function snapshotStats(stats: BotStats): BotStats {
  return { ...stats, rejected: { ...stats.rejected } };
}

/** How a failure is counted and reported: a keeper refusal's code, or `errors`. */
export function classifyError(error: unknown): {
  code: string;
  message: string;
  retryAfterMs?: number | undefined;
  refusal: boolean;
} {
  if (error instanceof KeeperApiError) {
    return { code: error.code, message: error.message, retryAfterMs: error.retryAfterMs, refusal: true };
  }
  if (error instanceof KeeperRequestError) return { code: error.code, message: error.message, refusal: false };
  const message = error instanceof Error ? error.message : String(error);
  return { code: "ERROR", message: message.split("\n")[0], refusal: false };
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** A short form of an address for log lines: `0x1234…abcd`. */
export function shortAddress(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}
