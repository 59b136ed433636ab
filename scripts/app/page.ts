/**
 * The trading page for a local market (the demo, the browser tests, bench:app): gives the page's
 * burner account some tokens in its wallet (so that Deposit has something to move; setup-local already
 * funded its Exchange balance), builds the page and serves it with the burner key.
 */
import { createWalletClient, http, parseAbi, publicActions } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { parseAmount } from "@crossbook/sdk";
import { localAccountKey } from "../lib/accounts";
import { buildApp, pageConfigFromDeployment, startAppServer, type AppServer } from "../lib/appServer";
import type { Deployment, TokenSymbol } from "../lib/market";

/** What the burner holds in its wallet besides its Exchange balance. */
export const PAGE_WALLET_TOKENS: Readonly<Record<TokenSymbol, string>> = { WETH: "10", USDC: "50000", WBTC: "1" };

const MOCK_ERC20_ABI = parseAbi(["function mint(address to, uint256 amount)"]);

export interface ServePageParameters {
  readonly deployment: Deployment;
  readonly rpcUrl: string;
  readonly keeperUrl: string;
  /** The local node account the page offers as its demo account (setup-local must have funded it). */
  readonly burnerIndex: number;
  /** Where to build the page. */
  readonly distDir: string;
  readonly log?: (line: string) => void;
}

/** Mints the burner's wallet tokens, builds the page into `distDir` and serves it. */
export async function servePage(parameters: ServePageParameters): Promise<AppServer> {
  const { deployment, rpcUrl, keeperUrl, distDir } = parameters;
  const burnerKey = localAccountKey(parameters.burnerIndex);
  const account = privateKeyToAccount(burnerKey);
  const client = createWalletClient({ account, transport: http(rpcUrl, { retryCount: 0 }) }).extend(publicActions);
  const mint = async () => {
    for (const [symbol, amount] of Object.entries(PAGE_WALLET_TOKENS) as [TokenSymbol, string][]) {
      const token = deployment.tokens[symbol];
      const hash = await client.writeContract({
        address: token.address,
        abi: MOCK_ERC20_ABI,
        functionName: "mint",
        args: [account.address, parseAmount({ amount, decimals: token.decimals })],
        chain: null,
      });
      await client.waitForTransactionReceipt({ hash });
    }
  };
  await Promise.all([buildApp(distDir, parameters.log), mint()]);
  return startAppServer({
    distDir,
    config: pageConfigFromDeployment(deployment, { rpcUrl, burnerKey }),
    keeperUrl,
    log: parameters.log,
  });
}
