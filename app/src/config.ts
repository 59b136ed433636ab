/**
 * What the server that serves the page tells it at `/config.json`: the chain, the Exchange, the
 * markets with their tokens, where the keeper and the node are, and — on a local chain only — a funded
 * burner key. scripts/lib/appServer.ts writes it (`PageConfigJson`), `parsePageConfig` reads it back.
 * Integers travel as decimal strings. Pure (no DOM, no SDK import): the server imports it too.
 */
import type { Address, Hex } from "viem";

/** An ERC-20 token of a market. */
export interface TokenInfo {
  readonly address: Address;
  readonly symbol: string;
  readonly decimals: number;
}

/** A market as `/config.json` carries it. */
export interface PageMarketJson {
  readonly id: string;
  /** `WETH/USDC`. */
  readonly name: string;
  readonly base: TokenInfo;
  readonly quote: TokenInfo;
  /** Base atoms per lot. */
  readonly lotSize: string;
  /** Quote atoms per lot per tick. */
  readonly tickSize: string;
  readonly makerFeeBps: number;
  readonly takerFeeBps: number;
}

/** `/config.json`. */
export interface PageConfigJson {
  readonly chainId: number;
  /** Shown to the person, and given to a wallet that does not know the chain yet. */
  readonly chainName: string;
  /** The JSON-RPC URL the page reads the chain with (balances, receipts); it must allow the page's origin (CORS). */
  readonly rpcUrl: string;
  readonly exchange: Address;
  /** The keeper's base URL; absent: the page's own origin (the app server proxies `/v1` to the keeper). */
  readonly keeperUrl?: string;
  readonly markets: readonly PageMarketJson[];
  /** A funded account's key that the page offers as "demo account": local chains only (scripts/lib/appServer.ts refuses others). */
  readonly burner?: { readonly privateKey: Hex };
}

/** A market as the page uses it: an SDK `MarketUnits` (lot, tick, decimals) with names and fees. */
export interface PageMarket {
  readonly id: bigint;
  readonly name: string;
  readonly base: TokenInfo;
  readonly quote: TokenInfo;
  readonly lotSize: bigint;
  readonly tickSize: bigint;
  readonly baseDecimals: number;
  readonly quoteDecimals: number;
  readonly makerFeeBps: bigint;
  readonly takerFeeBps: bigint;
}

/** `/config.json` parsed. */
export interface PageConfig {
  readonly chainId: number;
  readonly chainName: string;
  readonly rpcUrl: string;
  readonly exchange: Address;
  readonly keeperUrl: string | undefined;
  readonly markets: readonly PageMarket[];
  readonly burner: { readonly privateKey: Hex } | undefined;
}

/** `/config.json` is missing a field or has a wrong one; the message names it. */
export class PageConfigError extends Error {
  override name = "PageConfigError";
}

/** The chains on which a burner key may be handed to a page: Hardhat's and Anvil's/Ganache's local ids. */
export const LOCAL_CHAIN_IDS: readonly number[] = [31337, 1337];

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;
const DIGITS = /^[0-9]+$/;

function fail(path: string, expected: string): never {
  throw new PageConfigError(`The page's configuration is not valid: ${path} must be ${expected}`);
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(path, "an object");
  return value as Record<string, unknown>;
}

function string(value: unknown, path: string, pattern?: RegExp, expected = "a string"): string {
  if (typeof value !== "string" || value === "" || (pattern !== undefined && !pattern.test(value))) {
    fail(path, expected);
  }
  return value;
}

function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    fail(path, `a whole number from ${min} to ${max}`);
  }
  return value;
}

function positive(value: unknown, path: string): bigint {
  const n = BigInt(string(value, path, DIGITS, "a decimal string of digits"));
  if (n === 0n) fail(path, "above zero");
  return n;
}

function token(value: unknown, path: string): TokenInfo {
  const t = object(value, path);
  return {
    address: string(t.address, `${path}.address`, ADDRESS, "an address") as Address,
    symbol: string(t.symbol, `${path}.symbol`),
    decimals: integer(t.decimals, `${path}.decimals`, 0, 36),
  };
}

function market(value: unknown, path: string): PageMarket {
  const m = object(value, path);
  const base = token(m.base, `${path}.base`);
  const quote = token(m.quote, `${path}.quote`);
  return {
    id: positive(m.id, `${path}.id`),
    name: string(m.name, `${path}.name`),
    base,
    quote,
    lotSize: positive(m.lotSize, `${path}.lotSize`),
    tickSize: positive(m.tickSize, `${path}.tickSize`),
    baseDecimals: base.decimals,
    quoteDecimals: quote.decimals,
    makerFeeBps: BigInt(integer(m.makerFeeBps, `${path}.makerFeeBps`, 0, 10_000)),
    takerFeeBps: BigInt(integer(m.takerFeeBps, `${path}.takerFeeBps`, 0, 10_000)),
  };
}

/** Reads `/config.json`; throws a `PageConfigError` naming the first field at fault. */
export function parsePageConfig(json: unknown): PageConfig {
  const c = object(json, "config");
  const chainId = integer(c.chainId, "chainId", 1, Number.MAX_SAFE_INTEGER);
  if (!Array.isArray(c.markets) || c.markets.length === 0) fail("markets", "a list of at least one market");
  let burner: PageConfig["burner"];
  if (c.burner !== undefined) {
    if (!LOCAL_CHAIN_IDS.includes(chainId)) fail("burner", `absent on chain ${chainId} (local chains only)`);
    burner = { privateKey: string(object(c.burner, "burner").privateKey, "burner.privateKey", PRIVATE_KEY) as Hex };
  }
  return {
    chainId,
    chainName: string(c.chainName, "chainName"),
    rpcUrl: string(c.rpcUrl, "rpcUrl", /^https?:\/\//, "an http(s) URL"),
    exchange: string(c.exchange, "exchange", ADDRESS, "an address") as Address,
    keeperUrl:
      c.keeperUrl === undefined ? undefined : string(c.keeperUrl, "keeperUrl", /^https?:\/\//, "an http(s) URL"),
    markets: c.markets.map((m, i) => market(m, `markets.${i}`)),
    burner,
  };
}

/** The JSON form of a parsed configuration (what the server sends). */
export function pageConfigJson(config: PageConfig): PageConfigJson {
  const tokenJson = (t: TokenInfo): TokenInfo => ({ address: t.address, symbol: t.symbol, decimals: t.decimals });
  return {
    chainId: config.chainId,
    chainName: config.chainName,
    rpcUrl: config.rpcUrl,
    exchange: config.exchange,
    ...(config.keeperUrl === undefined ? {} : { keeperUrl: config.keeperUrl }),
    markets: config.markets.map((m) => ({
      id: m.id.toString(),
      name: m.name,
      base: tokenJson(m.base),
      quote: tokenJson(m.quote),
      lotSize: m.lotSize.toString(),
      tickSize: m.tickSize.toString(),
      makerFeeBps: Number(m.makerFeeBps),
      takerFeeBps: Number(m.takerFeeBps),
    })),
    ...(config.burner === undefined ? {} : { burner: { privateKey: config.burner.privateKey } }),
  };
}
