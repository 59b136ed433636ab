/**
 * The trading page's server (app/): builds the page with Vite and serves the build on loopback, with
 *
 *   /config.json  what the page is told: chain, Exchange, markets and tokens, the node's URL, and — on
 *                 a local chain served on loopback only — the demo's funded burner key;
 *   /v1/…         a proxy to the keeper, HTTP and the WebSocket feed: the keeper sends no CORS
 *                 headers, so the page talks to it from its own origin;
 *
 * and a Content-Security-Policy that lets the page reach only itself and the node. Used by
 * `npm run app` (scripts/app.ts), `npm run demo`, the browser tests and `npm run bench:app`.
 */
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createKeeperClient } from "@crossbook/sdk";
import { createPublicClient, erc20Abi, getAddress, http, type Address, type Hex } from "viem";
// Vite's types sit behind its `exports` map, which the project's `moduleResolution: node` does not read.
import type * as Vite from "vite/dist/node/index.js";
import type { InlineConfig, Logger, PreviewServer } from "vite/dist/node/index.js";
import {
  LOCAL_CHAIN_IDS,
  pageConfigJson,
  parsePageConfig,
  type PageConfig,
  type PageConfigJson,
  type PageMarketJson,
  type TokenInfo,
} from "../../app/src/config";
import type { Deployment } from "./market";

export const APP_DIR = join(__dirname, "..", "..", "app");
/** Where `npm run app` builds the page (the demo and the tests build into their own temporary directories). */
export const APP_DIST = join(APP_DIR, "dist");

/** Vite's Node API: ESM, which `require` loads on Node 20.19 and later. */
function loadVite(): typeof Vite {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("vite") as typeof Vite;
}

/** Vite's messages, to a function of ours (or nowhere). */
function logger(log: ((line: string) => void) | undefined): Logger {
  const say = (msg: string) => log?.(msg);
  const warned = new Set<string>();
  return {
    info: say,
    warn: say,
    warnOnce: (msg) => {
      if (!warned.has(msg)) say(msg);
      warned.add(msg);
    },
    error: say,
    clearScreen: () => undefined,
    hasErrorLogged: () => false,
    hasWarned: false,
  };
}

/** Builds the page (production, minified) into `outDir`. */
export async function buildApp(outDir: string, log?: (line: string) => void): Promise<void> {
  const { build } = loadVite();
  await build({
    configFile: join(APP_DIR, "vite.config.mts"),
    build: { outDir, emptyOutDir: true },
    customLogger: logger(log),
  } satisfies InlineConfig);
}

export interface AppServerOptions {
  /** A directory `buildApp` built into. */
  readonly distDir: string;
  readonly config: PageConfig;
  /** The keeper `/v1` is proxied to. */
  readonly keeperUrl: string;
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** Default: any free port. */
  readonly port?: number;
  /** Vite's messages (proxy errors while the keeper restarts, …). Default: dropped. */
  readonly log?: (line: string) => void;
}

export interface AppServer {
  /** `http://127.0.0.1:port/`. */
  readonly url: string;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

/** The page's Content-Security-Policy: its own origin (and the keeper's WebSocket through it), the node, WebAssembly for hashing. */
function contentSecurityPolicy(config: PageConfig): string {
  const connect = ["'self'", new URL(config.rpcUrl).origin];
  if (config.keeperUrl !== undefined) {
    const keeper = new URL(config.keeperUrl);
    connect.push(keeper.origin, `${keeper.protocol === "https:" ? "wss" : "ws"}://${keeper.host}`);
  }
  return [
    "default-src 'self'",
    // hash-wasm compiles its keccak from bytes (the SDK's fast order hashing).
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src ${connect.join(" ")}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Serves a built page; refuses to hand a burner key to anything but a local chain on loopback. */
export async function startAppServer(options: AppServerOptions): Promise<AppServer> {
  const host = options.host ?? "127.0.0.1";
  const config = parsePageConfig(pageConfigJson(options.config)); // what the page will read, checked here first
  if (config.burner !== undefined && !LOOPBACK.test(host)) {
    throw new Error(`a burner key is only served on loopback; --host ${host} would hand it to the network`);
  }
  const body = JSON.stringify(pageConfigJson(config));
  const { preview } = loadVite();
  const server: PreviewServer = await preview({
    configFile: false,
    root: APP_DIR,
    build: { outDir: options.distDir },
    customLogger: logger(options.log),
    preview: {
      host,
      port: options.port ?? 0,
      strictPort: true,
      open: false,
      // No cross-origin reads (Vite allows localhost origins by default): /config.json may hold a key.
      cors: false,
      headers: {
        "Content-Security-Policy": contentSecurityPolicy(config),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
      },
      proxy: { "/v1": { target: options.keeperUrl, changeOrigin: true, ws: true } },
    },
    plugins: [
      {
        name: "crossbook-page-config",
        configurePreviewServer(preview) {
          preview.middlewares.use("/config.json", (_request, response) => {
            response.setHeader("Content-Type", "application/json");
            response.setHeader("Cache-Control", "no-store");
            response.end(body);
          });
        },
      },
    ],
  } satisfies InlineConfig);
  const { port } = server.httpServer.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/`,
    close: () => server.close(),
  };
}

/** The page's configuration for a local deployment (scripts/lib/market.ts): everything is in the deployments file. */
export function pageConfigFromDeployment(
  deployment: Deployment,
  options: { rpcUrl: string; burnerKey?: Hex },
): PageConfig {
  const token = (t: { address: Address; symbol: string; decimals: number }): TokenInfo => ({
    address: t.address,
    symbol: t.symbol,
    decimals: t.decimals,
  });
  const json: PageConfigJson = {
    chainId: deployment.chainId,
    chainName: `${deployment.network === "localhost" ? "Local Hardhat node" : deployment.network} (${deployment.chainId})`,
    rpcUrl: options.rpcUrl,
    exchange: deployment.exchange,
    markets: deployment.markets.map((m) => ({
      id: m.id.toString(),
      name: m.name,
      base: token(deployment.tokens[m.baseSymbol]),
      quote: token(deployment.tokens[m.quoteSymbol]),
      lotSize: m.lotSize.toString(),
      tickSize: m.tickSize.toString(),
      makerFeeBps: m.makerFeeBps,
      takerFeeBps: m.takerFeeBps,
    })),
    ...(options.burnerKey === undefined ? {} : { burner: { privateKey: options.burnerKey } }),
  };
  return parsePageConfig(json);
}

/**
 * The page's configuration for any keeper: the chain id from the node, the markets from the keeper
 * (`GET /v1/markets`), each token's symbol and decimals from the chain.
 */
export async function pageConfigFromKeeper(options: {
  keeperUrl: string;
  rpcUrl: string;
  exchange: Address;
  burnerKey?: Hex;
}): Promise<PageConfig> {
  const chain = createPublicClient({ transport: http(options.rpcUrl, { retryCount: 1 }) });
  const chainId = await chain.getChainId();
  const exchange = getAddress(options.exchange);
  const keeper = createKeeperClient({ url: options.keeperUrl, domain: { chainId, verifyingContract: exchange } });
  const markets = await keeper.getMarkets();
  const tokens = new Map<Address, Promise<TokenInfo>>();
  const tokenInfo = (address: Address) => {
    let info = tokens.get(address);
    if (info === undefined) {
      info = Promise.all([
        chain.readContract({ address, abi: erc20Abi, functionName: "symbol" }),
        chain.readContract({ address, abi: erc20Abi, functionName: "decimals" }),
      ]).then(([symbol, decimals]) => ({ address, symbol, decimals }));
      tokens.set(address, info);
    }
    return info;
  };
  const marketJson = await Promise.all(
    markets.map(async (m): Promise<PageMarketJson> => {
      const [base, quote] = await Promise.all([tokenInfo(m.base), tokenInfo(m.quote)]);
      return {
        id: m.marketId.toString(),
        name: `${base.symbol}/${quote.symbol}`,
        base,
        quote,
        lotSize: m.lotSize.toString(),
        tickSize: m.tickSize.toString(),
        makerFeeBps: Number(m.makerFeeBps),
        takerFeeBps: Number(m.takerFeeBps),
      };
    }),
  );
  return parsePageConfig({
    chainId,
    chainName: LOCAL_CHAIN_IDS.includes(chainId) ? `Local chain (${chainId})` : `Chain ${chainId}`,
    rpcUrl: options.rpcUrl,
    exchange,
    markets: marketJson,
    ...(options.burnerKey === undefined ? {} : { burner: { privateKey: options.burnerKey } }),
  } satisfies PageConfigJson);
}
