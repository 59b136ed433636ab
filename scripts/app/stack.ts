/**
 * Everything the page needs, as real processes on loopback, for the browser tests and bench:app:
 *
 *   hardhat node (free port, a block every 200 ms) ◀── setup-local: tokens, Exchange, 2 markets,
 *     ▲      ▲                                         traders: account 2 (the page's burner), 3
 *     │      keeper CLI (a fixed free port, so that a restarted keeper comes back where the page looks)
 *     │        ▲ /v1 proxied
 *     └── the page's server (scripts/lib/appServer.ts) ◀── Chromium
 *
 * plus a counterparty (account 3) that places orders through the SDK.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, http, type PublicClient } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { createKeeperClient, signOrder, type KeeperClient, type KeeperSubmitResult, type Order } from "@crossbook/sdk";
import { FIRST_TRADER_INDEX, localAccountKey } from "../lib/accounts";
import type { AppServer } from "../lib/appServer";
import type { Deployment } from "../lib/market";
import {
  freePort,
  startLocalMarket,
  startLocalKeeper,
  stopAll,
  type LocalNode,
  type ManagedProcess,
} from "../lib/processes";
import { servePage } from "./page";

/** The node account the page offers as its demo account, and the one the tests trade against it with. */
export const BURNER_INDEX = FIRST_TRADER_INDEX;
export const COUNTERPARTY_INDEX = FIRST_TRADER_INDEX + 1;

export interface PageStack {
  readonly dir: string;
  readonly node: LocalNode;
  readonly chain: PublicClient;
  readonly deployment: Deployment;
  readonly keeperUrl: string;
  readonly keeper: KeeperClient;
  readonly page: AppServer;
  /** The page's build that `page` serves. */
  readonly distDir: string;
  readonly burner: PrivateKeyAccount;
  readonly counterparty: PrivateKeyAccount;
  /** The keeper process now running. */
  keeperProcess(): ManagedProcess;
  /** Stops the keeper (SIGTERM; it must exit 0). */
  stopKeeper(): Promise<void>;
  /** Starts the keeper again on the same port and database. */
  startKeeper(): Promise<void>;
  /** Signs and submits an order of `trader` (the other fields default to a plain limit order good for a day). */
  place(
    trader: PrivateKeyAccount,
    fields: Pick<Order, "isBuy" | "priceTicks" | "lots"> & Partial<Order>,
  ): Promise<KeeperSubmitResult>;
  /** Stops every process and removes the directory. */
  stop(): Promise<void>;
}

export async function startPageStack(options: { log?: (line: string) => void } = {}): Promise<PageStack> {
  const dir = mkdtempSync(join(tmpdir(), "crossbook-page-"));
  try {
    const { node, deployment } = await startLocalMarket(dir, 2);
    const chain = createPublicClient({ transport: http(node.url, { retryCount: 0 }) }) as PublicClient;
    // A block every 200 ms besides one per transaction, so that settlements confirm on an idle chain.
    await chain.request({ method: "evm_setIntervalMining" as never, params: [200] as never });

    const keeperPort = await freePort();
    const launchKeeper = () =>
      startLocalKeeper(deployment, {
        rpcUrl: node.url,
        database: join(dir, "keeper.db"),
        flags: [
          ...["--confirmations", "1", "--batch-max-wait-ms", "100", "--poll-interval-ms", "100"],
          ...["--api-port", String(keeperPort), "--log-level", "warn"],
        ],
      });
    let keeperProcess = (await launchKeeper()).process;
    const keeperUrl = `http://127.0.0.1:${keeperPort}`;
    const domain = { chainId: deployment.chainId, verifyingContract: deployment.exchange };
    const keeper = createKeeperClient({ url: keeperUrl, domain });
    const distDir = join(dir, "app");
    const page = await servePage({
      deployment,
      rpcUrl: node.url,
      keeperUrl,
      burnerIndex: BURNER_INDEX,
      distDir,
      log: options.log,
    });
    let nonce = BigInt(Date.now()) * 1_000n;
    return {
      dir,
      node,
      chain,
      deployment,
      keeperUrl,
      keeper,
      page,
      distDir,
      burner: privateKeyToAccount(localAccountKey(BURNER_INDEX)),
      counterparty: privateKeyToAccount(localAccountKey(COUNTERPARTY_INDEX)),
      keeperProcess: () => keeperProcess,
      async stopKeeper() {
        const code = await keeperProcess.stop(15_000);
        if (code !== 0) throw new Error(`the keeper exited with ${code} on SIGTERM:\n${keeperProcess.output()}`);
      },
      async startKeeper() {
        keeperProcess = (await launchKeeper()).process;
      },
      async place(trader, fields) {
        const market = deployment.markets[0];
        const order: Order = {
          maker: trader.address,
          marketId: market.id,
          flags: 0n,
          maxFeeBps: BigInt(Math.max(market.makerFeeBps, market.takerFeeBps)),
          expiry: BigInt(Math.floor(Date.now() / 1000) + 86_400),
          nonce: nonce++,
          ...fields,
        };
        return keeper.submitOrder({ order, signature: await signOrder({ signer: trader, order, domain }) });
      },
      async stop() {
        await page.close();
        await stopAll();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
