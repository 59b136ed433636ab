/**
 * A whole local market in one call: the one deploy path of the demo, the end-to-end test, the
 * keeper's integration tests and `npm run deploy` (scripts/deploy.ts). It deploys mock tokens with
 * real-world decimals, Chainlink-style mock price feeds, the Exchange (through `deployExchange`, which
 * links its libraries) with its roles, and two markets with fees and risk limits; it writes what it
 * deployed to a deployments file, which `readDeployment` reads back and validates.
 *
 * Prices. Both markets quote in USDC and are sized so that **`priceTicks` is the price in cents of
 * USDC per whole base token**: 2,000 USDC per WETH is 200,000 ticks, 60,000.25 USDC per WBTC is
 * 6,000,025 ticks. In general (see sdk/src/units.ts)
 *
 *   price (USDC per base token) = priceTicks * tickSize * 10^baseDecimals / (lotSize * 10^quoteDecimals)
 *
 *   WETH/USDC  lot 0.001 WETH   (1e15 atoms)  tick 10 USDC atoms per lot  → step 0.01 USDC per WETH
 *   WBTC/USDC  lot 0.0001 WBTC  (1e4 atoms)   tick 1 USDC atom per lot    → step 0.01 USDC per WBTC
 *
 * so `parsePriceTicks` / `formatPriceTicks` of the SDK take each `DeployedMarket` as their `market`.
 * The feeds answer in USD with 8 decimals, like Chainlink's USD feeds (2,000 USDC per WETH is
 * `200_000_000_000`); the Exchange turns an answer into ticks per lot itself.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { getAddress, type Signer } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { z } from "zod";
import { formatAmount, formatPriceTicks, parseAmount, parsePriceTicks } from "@crossbook/sdk";
import { deployExchange } from "./deploy";

/** A checksummed address. */
export type Address = `0x${string}`;

/** The mock tokens of a local market. */
export type TokenSymbol = "WETH" | "USDC" | "WBTC";
/** The markets of a local market, by name. */
export type MarketName = "WETH/USDC" | "WBTC/USDC";

/** The decimals of the mock price feeds, as Chainlink's USD feeds. */
export const FEED_DECIMALS = 8;

/** The mock tokens: names, symbols and decimals as on mainnet. */
export const LOCAL_TOKENS: Readonly<Record<TokenSymbol, { name: string; decimals: number }>> = {
  WETH: { name: "Wrapped Ether", decimals: 18 },
  USDC: { name: "USD Coin", decimals: 6 },
  WBTC: { name: "Wrapped BTC", decimals: 8 },
};

/** The parameters of one local market, before it is listed. */
export interface LocalMarketSpec {
  readonly name: MarketName;
  readonly baseSymbol: TokenSymbol;
  readonly quoteSymbol: TokenSymbol;
  /** Base atoms per lot. */
  readonly lotSize: bigint;
  /** Quote atoms per lot per tick. */
  readonly tickSize: bigint;
  readonly makerFeeBps: number;
  readonly takerFeeBps: number;
  /** Fills more than this far from the feed's price are skipped (`PriceOutsideBand`). */
  readonly priceBandBps: number;
  /** The velocity limit: lots the market fills per block at most. */
  readonly maxLotsPerBlock: bigint;
  /** The feed's first answer, in USDC per whole base token (a decimal string). */
  readonly initialPrice: string;
}

/**
 * The two markets of a local deployment. Both: maker 2 bps, taker 5 bps, a 10% band around the feed.
 * Velocity limits: 1,000 WETH and 50 WBTC per block (1,000,000 and 500,000 lots), far above what
 * the demo trades but low enough to mean something.
 */
export const LOCAL_MARKETS: readonly LocalMarketSpec[] = [
  {
    name: "WETH/USDC",
    baseSymbol: "WETH",
    quoteSymbol: "USDC",
    lotSize: 10n ** 15n, // 0.001 WETH
    tickSize: 10n, // 10 USDC atoms per lot: 0.01 USDC per WETH
    makerFeeBps: 2,
    takerFeeBps: 5,
    priceBandBps: 1_000,
    maxLotsPerBlock: 1_000_000n,
    initialPrice: "2000",
  },
  {
    name: "WBTC/USDC",
    baseSymbol: "WBTC",
    quoteSymbol: "USDC",
    lotSize: 10n ** 4n, // 0.0001 WBTC
    tickSize: 1n, // 1 USDC atom per lot: 0.01 USDC per WBTC
    makerFeeBps: 2,
    takerFeeBps: 5,
    priceBandBps: 1_000,
    maxLotsPerBlock: 500_000n,
    initialPrice: "60000",
  },
];

/**
 * How old a feed answer may be before the band stops the market (`ReferencePriceUnavailable`): one
 * day, so that a market deployed by hand stays tradeable while it sits idle; the demo moves the
 * feeds every few seconds anyway. Chainlink's ETH/USD heartbeat is an hour: pass
 * `feedMaxAgeSeconds: 3600` to test staleness as on mainnet.
 */
export const DEFAULT_FEED_MAX_AGE_SECONDS = 86_400;

/** A deployed mock token. */
export interface DeployedToken {
  readonly address: Address;
  readonly name: string;
  readonly symbol: TokenSymbol;
  readonly decimals: number;
}

/** A market's price feed. */
export interface DeployedFeed {
  readonly address: Address;
  readonly decimals: number;
  readonly maxAgeSeconds: number;
}

/**
 * A listed market, as the Exchange holds it. Its `baseDecimals`, `quoteDecimals`, `lotSize` and
 * `tickSize` make it an SDK `MarketUnits`.
 */
export interface DeployedMarket {
  /** The Exchange's market id (`uint32`, from 1). */
  readonly id: bigint;
  readonly name: MarketName;
  readonly base: Address;
  readonly quote: Address;
  readonly baseSymbol: TokenSymbol;
  readonly quoteSymbol: TokenSymbol;
  readonly baseDecimals: number;
  readonly quoteDecimals: number;
  readonly lotSize: bigint;
  readonly tickSize: bigint;
  readonly makerFeeBps: number;
  readonly takerFeeBps: number;
  readonly priceBandBps: number;
  readonly maxLotsPerBlock: bigint;
  readonly feed: DeployedFeed;
  /** The feed's answer at deployment, in quote tokens per whole base token. */
  readonly initialPrice: string;
  /** The same in ticks per lot. */
  readonly initialPriceTicks: bigint;
}

/** Everything a deployment made: what `deployments/<network>.json` holds. */
export interface Deployment {
  /** The version of the file's format. */
  readonly format: 1;
  /** The Hardhat network it was deployed on (`localhost`, `hardhat`, …). */
  readonly network: string;
  readonly chainId: number;
  /** The block of the Exchange's deployment: where to start reading its events. */
  readonly deployBlock: number;
  readonly exchange: Address;
  readonly roles: {
    /** Holds DEFAULT_ADMIN_ROLE (the deployer). */
    readonly admin: Address;
    readonly keeper: Address;
    readonly guardian: Address;
    readonly feeRecipient: Address;
  };
  readonly tokens: Readonly<Record<TokenSymbol, DeployedToken>>;
  /** Ascending by id. */
  readonly markets: readonly DeployedMarket[];
}

/** The options of `deployLocalMarket`. */
export interface DeployLocalMarketOptions {
  /** The account granted KEEPER_ROLE (the only one that may call `settle`). */
  keeper: string;
  /** The account granted GUARDIAN_ROLE (pause, halt). Default: the deployer. */
  guardian?: string;
  /** The account that receives fees. Default: the deployer. */
  feeRecipient?: string;
  /** Deploys, and holds DEFAULT_ADMIN_ROLE. Default: the first signer of `hre`. */
  deployer?: Signer;
  /** Default: `DEFAULT_FEED_MAX_AGE_SECONDS`. */
  feedMaxAgeSeconds?: number;
  /** The feeds' first answers in USDC per base token, by market; default: `LOCAL_MARKETS`' prices. */
  initialPrices?: Partial<Record<MarketName, string>>;
  /**
   * Whether to write the deployments file. Default: yes, except on Hardhat's in-process network
   * (`hardhat`), which is gone when the process ends.
   */
  write?: boolean;
  /** Where to write it. Default: `deploymentPath(hre)`, `deployments/<network>.json` in the project. */
  path?: string;
}

/** What `deployLocalMarket` returns. */
export interface DeployLocalMarketReturnType {
  deployment: Deployment;
  /** The deployments file written, or `undefined` when none was. */
  path: string | undefined;
}

/** `deployments/<network>.json` in the Hardhat project of `hre`. */
export function deploymentPath(hre: HardhatRuntimeEnvironment, network = hre.network.name): string {
  return join(hre.config.paths.root, "deployments", `${network}.json`);
}

/**
 * Deploys a local market: WETH (18 decimals), USDC (6) and WBTC (8) mock tokens, an 8-decimal mock
 * feed per market, the Exchange with the deployer as admin, `keeper` as keeper, the guardian and the
 * fee recipient, and the markets of `LOCAL_MARKETS` (ids 1 and 2) with their fees, feed, band and
 * velocity limit. Writes the deployments file unless told not to (see `write`). Every transaction
 * is mined before the next is sent.
 *
 * @example
 * const [admin, keeper] = await hre.ethers.getSigners();
 * const { deployment, path } = await deployLocalMarket(hre, { keeper: keeper.address });
 */
export async function deployLocalMarket(
  hre: HardhatRuntimeEnvironment,
  options: DeployLocalMarketOptions,
): Promise<DeployLocalMarketReturnType> {
  const { ethers } = hre;
  const deployer = options.deployer ?? (await ethers.getSigners())[0];
  if (deployer === undefined) throw new Error(`The network "${hre.network.name}" has no signer to deploy with`);
  const admin = checksum(await deployer.getAddress(), "deployer");
  const keeper = checksum(options.keeper, "keeper");
  const guardian = checksum(options.guardian ?? admin, "guardian");
  const feeRecipient = checksum(options.feeRecipient ?? admin, "feeRecipient");
  const feedMaxAgeSeconds = options.feedMaxAgeSeconds ?? DEFAULT_FEED_MAX_AGE_SECONDS;
  if (!Number.isInteger(feedMaxAgeSeconds) || feedMaxAgeSeconds <= 0 || feedMaxAgeSeconds > 0xffffffff) {
    throw new Error(`feedMaxAgeSeconds must be a whole number of seconds from 1 to 2^32-1, got ${feedMaxAgeSeconds}`);
  }
  for (const name of Object.keys(options.initialPrices ?? {})) {
    if (!LOCAL_MARKETS.some((m) => m.name === name)) {
      throw new Error(`initialPrices names an unknown market "${name}"; the markets are ${marketNames()}`);
    }
  }

  const tokens = {} as Record<TokenSymbol, DeployedToken>;
  for (const symbol of Object.keys(LOCAL_TOKENS) as TokenSymbol[]) {
    const { name, decimals } = LOCAL_TOKENS[symbol];
    const token = await ethers.deployContract("MockERC20", [name, symbol, decimals], deployer);
    await token.waitForDeployment();
    tokens[symbol] = { address: checksum(await token.getAddress(), symbol), name, symbol, decimals };
  }

  const exchange = await deployExchange(ethers, admin, deployer);
  const deployReceipt = await exchange.deploymentTransaction()?.wait();
  if (deployReceipt == null) throw new Error("The Exchange's deployment transaction has no receipt");
  const exchangeAddress = checksum(await exchange.getAddress(), "exchange");
  const send = async (tx: Promise<{ wait(): Promise<unknown> }>) => void (await (await tx).wait());
  await send(exchange.grantRole(await exchange.KEEPER_ROLE(), keeper));
  await send(exchange.grantRole(await exchange.GUARDIAN_ROLE(), guardian));
  await send(exchange.setFeeRecipient(feeRecipient));

  const markets: DeployedMarket[] = [];
  for (const spec of LOCAL_MARKETS) {
    const base = tokens[spec.baseSymbol];
    const quote = tokens[spec.quoteSymbol];
    const initialPrice = options.initialPrices?.[spec.name] ?? spec.initialPrice;
    const units = { baseDecimals: base.decimals, quoteDecimals: quote.decimals, ...spec };
    const initialPriceTicks = parsePriceTicks({ price: initialPrice, market: units });
    const feed = await ethers.deployContract(
      "MockPriceFeed",
      [FEED_DECIMALS, feedAnswer(initialPrice, spec.name)],
      deployer,
    );
    await feed.waitForDeployment();

    const listing = await (
      await exchange.listMarket(
        base.address,
        quote.address,
        spec.lotSize,
        spec.tickSize,
        spec.makerFeeBps,
        spec.takerFeeBps,
      )
    ).wait();
    const listed = listing?.logs
      .map((log) => exchange.interface.parseLog(log))
      .find((parsed) => parsed?.name === "MarketListed");
    if (listed == null) throw new Error(`Listing ${spec.name} emitted no MarketListed event`);
    const id = BigInt(listed.args.marketId);
    const feedAddress = checksum(await feed.getAddress(), `${spec.name} feed`);
    await send(exchange.setPriceFeed(id, feedAddress, feedMaxAgeSeconds));
    await send(exchange.setPriceBand(id, spec.priceBandBps, 0n)); // 0: the reference is the feed
    await send(exchange.setVelocityLimit(id, spec.maxLotsPerBlock));

    markets.push({
      id,
      name: spec.name,
      base: base.address,
      quote: quote.address,
      baseSymbol: spec.baseSymbol,
      quoteSymbol: spec.quoteSymbol,
      baseDecimals: base.decimals,
      quoteDecimals: quote.decimals,
      lotSize: spec.lotSize,
      tickSize: spec.tickSize,
      makerFeeBps: spec.makerFeeBps,
      takerFeeBps: spec.takerFeeBps,
      priceBandBps: spec.priceBandBps,
      maxLotsPerBlock: spec.maxLotsPerBlock,
      feed: { address: feedAddress, decimals: FEED_DECIMALS, maxAgeSeconds: feedMaxAgeSeconds },
      initialPrice,
      initialPriceTicks,
    });
  }

  const deployment: Deployment = {
    format: 1,
    network: hre.network.name,
    chainId: Number((await ethers.provider.getNetwork()).chainId),
    deployBlock: deployReceipt.blockNumber,
    exchange: exchangeAddress,
    roles: { admin, keeper, guardian, feeRecipient },
    tokens,
    markets,
  };
  const write = options.write ?? hre.network.name !== "hardhat";
  const path = write ? (options.path ?? deploymentPath(hre)) : undefined;
  if (path !== undefined) writeDeployment(path, deployment);
  return { deployment, path };
}

/** Token amounts in whole tokens as decimal strings, by symbol: `{ WETH: "10", USDC: "50000" }`. */
export type FundAmounts = Partial<Record<TokenSymbol, string>>;

/** The options of `fundTraders`. */
export interface FundTradersOptions {
  /**
   * Ether (a decimal string) that `funder` sends each trader first, for gas: for fresh wallets.
   * Default: none.
   */
  gasEther?: string;
  /** Sends `gasEther`. Default: the first signer of `hre`. */
  funder?: Signer;
}

/**
 * Funds each trader on the Exchange: mints `amounts` of each mock token to the trader (the mocks
 * mint to anyone), then the trader approves and deposits it all, so that it ends up in the trader's
 * internal balance. The traders sign their own transactions and need ether for gas (see
 * `gasEther`). Returns the atoms deposited per trader, by symbol.
 *
 * @example
 * const [, , alice, bob] = await hre.ethers.getSigners();
 * await fundTraders(hre, deployment, [alice, bob], { WETH: "10", USDC: "50000", WBTC: "1" });
 */
export async function fundTraders(
  hre: HardhatRuntimeEnvironment,
  deployment: Deployment,
  traders: readonly Signer[],
  amounts: FundAmounts,
  options: FundTradersOptions = {},
): Promise<Partial<Record<TokenSymbol, bigint>>> {
  await assertDeployedHere(hre, deployment);
  const { ethers } = hre;
  const atoms: Partial<Record<TokenSymbol, bigint>> = {};
  for (const [symbol, amount] of Object.entries(amounts) as [string, string][]) {
    const token = (deployment.tokens as Record<string, DeployedToken | undefined>)[symbol];
    if (token === undefined) {
      throw new Error(
        `fundTraders: unknown token "${symbol}"; the tokens are ${Object.keys(deployment.tokens).join(", ")}`,
      );
    }
    atoms[token.symbol] = parseAmount({ amount, decimals: token.decimals });
  }
  const gasWei = options.gasEther === undefined ? 0n : parseAmount({ amount: options.gasEther, decimals: 18 });
  const funder = gasWei === 0n ? undefined : (options.funder ?? (await ethers.getSigners())[0]);

  for (const trader of traders) {
    const account = await trader.getAddress();
    if (funder !== undefined) await (await funder.sendTransaction({ to: account, value: gasWei })).wait();
    const exchange = await ethers.getContractAt("Exchange", deployment.exchange, trader);
    for (const [symbol, amount] of Object.entries(atoms) as [TokenSymbol, bigint][]) {
      const token = await ethers.getContractAt("MockERC20", deployment.tokens[symbol].address, trader);
      await (await token.mint(account, amount)).wait();
      await (await token.approve(deployment.exchange, amount)).wait();
      await (await exchange.deposit(deployment.tokens[symbol].address, amount)).wait();
    }
  }
  return atoms;
}

/**
 * Publishes a new answer on a market's mock feed, as of the latest block's time: `price` in quote
 * tokens per whole base token, at most 8 decimals (`"2013.57"`). The demo's random walk goes
 * through here. Returns the answer written (8 decimals).
 */
export async function setFeedPrice(
  hre: HardhatRuntimeEnvironment,
  deployment: Deployment,
  marketName: MarketName,
  price: string,
  signer?: Signer,
): Promise<bigint> {
  await assertDeployedHere(hre, deployment);
  const market = findMarket(deployment, marketName);
  const answer = feedAnswer(price, marketName);
  const feed = await hre.ethers.getContractAt("MockPriceFeed", market.feed.address, signer);
  await (await feed.setAnswer(answer)).wait();
  return answer;
}

/** The market named `name`, or an error that lists the markets there are. */
export function findMarket(deployment: Deployment, name: string): DeployedMarket {
  const market = deployment.markets.find((m) => m.name === name);
  if (market === undefined) {
    throw new Error(
      `No market "${name}" in the deployment; it has ${deployment.markets.map((m) => m.name).join(", ")}`,
    );
  }
  return market;
}

/** A human price (quote per base token) as an answer of an 8-decimal feed. */
function feedAnswer(price: string, marketName: string): bigint {
  try {
    return parseAmount({ amount: price, decimals: FEED_DECIMALS });
  } catch (cause) {
    throw new Error(
      `The ${marketName} feed price must be a positive decimal string with at most ${FEED_DECIMALS} decimals, ` +
        `got ${JSON.stringify(price)}`,
      { cause },
    );
  }
}

/** Refuses a deployment made on another chain, or whose Exchange has no code here. */
async function assertDeployedHere(hre: HardhatRuntimeEnvironment, deployment: Deployment): Promise<void> {
  const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
  if (chainId !== deployment.chainId) {
    throw new Error(
      `The deployment is for chain ${deployment.chainId} (network "${deployment.network}"), ` +
        `but network "${hre.network.name}" is chain ${chainId}`,
    );
  }
  if ((await hre.ethers.provider.getCode(deployment.exchange)) === "0x") {
    throw new Error(
      `No contract at the deployment's Exchange ${deployment.exchange} on network "${hre.network.name}": ` +
        `was the node restarted since the deployment? Deploy again.`,
    );
  }
}

function checksum(address: string, what: string): Address {
  try {
    return getAddressOrThrow(address);
  } catch {
    throw new Error(`The ${what} must be an address (0x and 40 hex digits), got ${JSON.stringify(address)}`);
  }
}

/** ethers' `getAddress`: accepts any case, refuses a mixed-case address with a wrong checksum. */
function getAddressOrThrow(address: string): Address {
  return getAddress(address) as Address;
}

function marketNames(): string {
  return LOCAL_MARKETS.map((m) => m.name).join(", ");
}

// ─── The deployments file ─────────────────────────────────────────────────────────────────────

/**
 * The file's form: the `Deployment` with its bigints as decimal strings, so that nothing loses
 * precision in JSON and a human can read it.
 */
const addressSchema = z
  .string()
  .refine((value) => {
    try {
      getAddressOrThrow(value);
      return true;
    } catch {
      return false;
    }
  }, "expected an address: 0x and 40 hex digits (a mixed-case one must have a valid checksum)")
  .transform((value) => getAddressOrThrow(value));
const integerString = (what: string, max: bigint) =>
  z
    .string()
    .regex(/^[0-9]+$/, `expected ${what} as a decimal string of digits`)
    .transform((value) => BigInt(value))
    .refine((value) => value > 0n && value <= max, `expected ${what} from 1 to ${max}`);
const bps = z.number().int().min(0).max(10_000);
const decimals = z.number().int().min(0).max(18);
const symbolSchema = z.enum(["WETH", "USDC", "WBTC"]);

const tokenSchema = z.object({ address: addressSchema, name: z.string().min(1), symbol: symbolSchema, decimals });
const marketSchema = z.object({
  id: z
    .number()
    .int()
    .min(1)
    .max(0xffffffff)
    .transform((value) => BigInt(value)),
  name: z.enum(["WETH/USDC", "WBTC/USDC"]),
  base: addressSchema,
  quote: addressSchema,
  baseSymbol: symbolSchema,
  quoteSymbol: symbolSchema,
  baseDecimals: decimals,
  quoteDecimals: decimals,
  lotSize: integerString("a lot size", (1n << 96n) - 1n),
  tickSize: integerString("a tick size", (1n << 96n) - 1n),
  makerFeeBps: bps,
  takerFeeBps: bps,
  priceBandBps: bps,
  maxLotsPerBlock: z
    .string()
    .regex(/^[0-9]+$/, "expected a number of lots as a decimal string of digits")
    .transform((value) => BigInt(value)),
  feed: z.object({ address: addressSchema, decimals, maxAgeSeconds: z.number().int().min(1).max(0xffffffff) }),
  initialPrice: z.string().regex(/^[0-9]+(\.[0-9]+)?$/, "expected a decimal string like 2000.5"),
  initialPriceTicks: integerString("a price in ticks", (1n << 64n) - 1n),
});
const deploymentSchema = z
  .object({
    format: z.literal(1),
    network: z.string().min(1),
    chainId: z.number().int().min(1),
    deployBlock: z.number().int().min(0),
    exchange: addressSchema,
    roles: z.object({
      admin: addressSchema,
      keeper: addressSchema,
      guardian: addressSchema,
      feeRecipient: addressSchema,
    }),
    tokens: z.object({ WETH: tokenSchema, USDC: tokenSchema, WBTC: tokenSchema }),
    markets: z.array(marketSchema).min(1),
  })
  .superRefine((d, ctx) => {
    for (const [key, token] of Object.entries(d.tokens)) {
      if (token.symbol !== key) {
        ctx.addIssue({ code: "custom", path: ["tokens", key, "symbol"], message: `expected "${key}"` });
      }
    }
    d.markets.forEach((m, i) => {
      const check = (field: string, ok: boolean, message: string) => {
        if (!ok) ctx.addIssue({ code: "custom", path: ["markets", i, field], message });
      };
      const base = d.tokens[m.baseSymbol];
      const quote = d.tokens[m.quoteSymbol];
      check("base", m.base === base.address, `expected the address of tokens.${m.baseSymbol}, ${base.address}`);
      check("quote", m.quote === quote.address, `expected the address of tokens.${m.quoteSymbol}, ${quote.address}`);
      check("baseDecimals", m.baseDecimals === base.decimals, `expected tokens.${m.baseSymbol}.decimals`);
      check("quoteDecimals", m.quoteDecimals === quote.decimals, `expected tokens.${m.quoteSymbol}.decimals`);
      check("id", i === 0 || m.id > d.markets[i - 1].id, "expected market ids in ascending order, each once");
    });
  });

/** Thrown by `readDeployment` for a file that is missing, not JSON, or not a deployment. */
export class DeploymentFileError extends Error {
  override name = "DeploymentFileError";
  /** One line per problem: `markets.0.lotSize: expected …`. */
  readonly problems: readonly string[];

  constructor(path: string, problems: readonly string[], cause?: unknown) {
    super(`${path} is not a valid Crossbook deployments file:\n  ${problems.join("\n  ")}`, { cause });
    this.problems = problems;
  }
}

/** A deployment as its file holds it: market ids as numbers, the other bigints as decimal strings. */
export function serializeDeployment(deployment: Deployment): string {
  const plain = (key: string, value: unknown) =>
    typeof value !== "bigint" ? value : key === "id" ? Number(value) : value.toString();
  return JSON.stringify(deployment, plain, 2) + "\n";
}

/** Writes `deployment` to `path` (creating its directory). */
export function writeDeployment(path: string, deployment: Deployment): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, serializeDeployment(deployment));
}

/**
 * Reads and validates a deployments file (as `deployLocalMarket` writes it). Throws a
 * `DeploymentFileError` listing every problem: a missing file (with the command that makes one),
 * text that is not JSON, or a field that is missing or wrong, by its path in the file.
 */
export function readDeployment(path: string): Deployment {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const problem =
      code === "ENOENT"
        ? "the file does not exist; deploy first: npx hardhat run scripts/setup-local.ts --network localhost (deploys and funds traders)"
        : `cannot read it (${code ?? String(cause)})`;
    throw new DeploymentFileError(path, [problem], cause);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DeploymentFileError(path, [`not JSON: ${(cause as Error).message}`], cause);
  }
  return parseDeployment(json, path);
}

/** Validates the parsed JSON of a deployments file; `source` names it in errors. */
export function parseDeployment(json: unknown, source = "deployment"): Deployment {
  const parsed = deploymentSchema.safeParse(json);
  if (!parsed.success) {
    throw new DeploymentFileError(
      source,
      parsed.error.issues.map(
        (issue) => `${issue.path.length === 0 ? "(root)" : issue.path.join(".")}: ${issue.message}`,
      ),
    );
  }
  return parsed.data as Deployment;
}

/** One line per token and market, prices in quote per base token: for logs and `npm run deploy`. */
export function describeDeployment(deployment: Deployment): string[] {
  const lines = [
    `network ${deployment.network} (chain ${deployment.chainId}), Exchange ${deployment.exchange} at block ${deployment.deployBlock}`,
    `admin ${deployment.roles.admin}, keeper ${deployment.roles.keeper}, guardian ${deployment.roles.guardian}, fees to ${deployment.roles.feeRecipient}`,
  ];
  for (const token of Object.values(deployment.tokens)) {
    lines.push(`${token.symbol.padEnd(4)} ${token.address} (${token.decimals} decimals)`);
  }
  for (const m of deployment.markets) {
    const lot = formatAmount({ atoms: m.lotSize, decimals: m.baseDecimals });
    const step = formatPriceTicks({ priceTicks: 1n, market: m });
    lines.push(
      `market ${m.id} ${m.name}: feed price ${m.initialPrice} ${m.quoteSymbol} (${m.initialPriceTicks} ticks), ` +
        `lot ${lot} ${m.baseSymbol}, price step ${step} ${m.quoteSymbol}`,
      `  fees ${m.makerFeeBps}/${m.takerFeeBps} bps maker/taker, band ${m.priceBandBps / 100}% around feed ` +
        `${m.feed.address} (answers valid ${m.feed.maxAgeSeconds} s), at most ${m.maxLotsPerBlock} lots per block`,
    );
  }
  return lines;
}
