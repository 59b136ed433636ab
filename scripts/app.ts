/**
 * `npm run app`: builds the trading page (app/) and serves it against any keeper and node.
 *
 *   npm run app -- --keeper-url http://127.0.0.1:8080 --rpc-url http://127.0.0.1:8545 --exchange 0x…
 *
 * The markets come from the keeper, their tokens from the chain (scripts/lib/appServer.ts). It prints
 * the page's URL and serves until Ctrl-C.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { getAddress, isAddress, type Address, type Hex } from "viem";
import { APP_DIST, buildApp, pageConfigFromKeeper, startAppServer } from "./lib/appServer";
import { readDeployment } from "./lib/market";
import type { PageConfig } from "../app/src/config";

const env = process.env;

export const USAGE = `npm run app -- [options]

Builds the trading page and serves it on loopback, proxying /v1 (HTTP and the feed) to the keeper.

Options (environment variable in brackets):
  --keeper-url <url>    the keeper's base URL [CROSSBOOK_KEEPER_URL] (default http://127.0.0.1:8080)
  --rpc-url <url>       the chain's JSON-RPC URL the page reads with; it must allow the page's
                        origin (CORS; hardhat node does) [CROSSBOOK_RPC_URL] (default http://127.0.0.1:8545)
  --exchange <address>  the Exchange the keeper serves [CROSSBOOK_EXCHANGE]
  --deployment <file>   take the Exchange from a deployments file (default: deployments/localhost.json,
                        when --exchange is not given and the file exists)
  --burner-key <key>    offer this funded account as "demo account" (local chains and loopback only)
                        [CROSSBOOK_BURNER_KEY]
  --host <host>         where to listen (default 127.0.0.1)
  --port <port>         (default 5173; 0: any free port)
  --no-build            serve app/dist as it was last built
  --help, -h            this text`;

class UsageError extends Error {}

interface AppOptions {
  keeperUrl: string;
  rpcUrl: string;
  exchange: Address;
  burnerKey: Hex | undefined;
  host: string;
  port: number;
  build: boolean;
}

function parseAppArgs(argv: string[]): AppOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      "keeper-url": { type: "string" },
      "rpc-url": { type: "string" },
      exchange: { type: "string" },
      deployment: { type: "string" },
      "burner-key": { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      "no-build": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const url = (flag: string, value: string) => {
    if (!/^https?:\/\/\S+$/.test(value))
      throw new UsageError(`${flag} must be an http(s) URL, got ${JSON.stringify(value)}`);
    return value.replace(/\/$/, "");
  };
  let exchange = values.exchange ?? env.CROSSBOOK_EXCHANGE;
  const deploymentPath = values.deployment ?? join(__dirname, "..", "deployments", "localhost.json");
  if (exchange === undefined && (values.deployment !== undefined || existsSync(deploymentPath))) {
    exchange = readDeployment(deploymentPath).exchange;
  }
  if (exchange === undefined) throw new UsageError("--exchange is needed (or --deployment, or CROSSBOOK_EXCHANGE)");
  if (!isAddress(exchange, { strict: false }))
    throw new UsageError(`--exchange must be an address, got ${JSON.stringify(exchange)}`);
  const burnerKey = values["burner-key"] ?? env.CROSSBOOK_BURNER_KEY;
  if (burnerKey !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(burnerKey)) {
    throw new UsageError("--burner-key must be 0x and 64 hex digits");
  }
  const port = Number(values.port ?? "5173");
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`--port must be 0..65535, got ${values.port}`);
  return {
    keeperUrl: url("--keeper-url", values["keeper-url"] ?? env.CROSSBOOK_KEEPER_URL ?? "http://127.0.0.1:8080"),
    rpcUrl: url("--rpc-url", values["rpc-url"] ?? env.CROSSBOOK_RPC_URL ?? "http://127.0.0.1:8545"),
    exchange: getAddress(exchange),
    burnerKey: burnerKey as Hex | undefined,
    host: values.host ?? "127.0.0.1",
    port,
    build: !values["no-build"],
  };
}

/** Resolves with an exit code, or `undefined` once the page is served (the process then serves until stopped). */
async function main(argv: string[]): Promise<number | undefined> {
  let options: AppOptions | "help";
  try {
    options = parseAppArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError) && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") !== true) {
      throw error;
    }
    console.error(`app: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === "help") {
    console.log(USAGE);
    return 0;
  }
  let config: PageConfig;
  try {
    config = await pageConfigFromKeeper(options);
  } catch (error) {
    const reason = (error as { shortMessage?: string }).shortMessage ?? (error as Error).message.split("\n")[0];
    console.error(`app: cannot read the markets (keeper ${options.keeperUrl}, node ${options.rpcUrl}): ${reason}`);
    return 1;
  }
  console.log(
    `app: ${config.chainName}, Exchange ${config.exchange}, markets ${config.markets.map((m) => m.name).join(", ")}`,
  );
  if (options.build) {
    console.log("app: building the page…");
    await buildApp(APP_DIST, (line) => console.log(`[vite] ${line}`));
  } else if (!existsSync(join(APP_DIST, "index.html"))) {
    console.error(`app: ${APP_DIST} has no build; run without --no-build`);
    return 1;
  }
  const server = await startAppServer({
    distDir: APP_DIST,
    config,
    keeperUrl: options.keeperUrl,
    host: options.host,
    port: options.port,
    log: (line) => console.log(`[server] ${line}`),
  });
  console.log(
    `app: the page is at ${server.url} (keeper ${options.keeperUrl}, node ${options.rpcUrl}); Ctrl-C stops it`,
  );
  await new Promise<void>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolve());
  });
  await server.close();
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`app: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
