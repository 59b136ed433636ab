/**
 * Deploys a whole local market on a running node and funds its traders: what the demo, the
 * end-to-end test and the API benchmark run before starting the keeper.
 *
 *   CROSSBOOK_LOCALHOST_URL=http://127.0.0.1:8545 npx hardhat run scripts/setup-local.ts --network localhost
 *
 * Environment: `CROSSBOOK_DEPLOYMENTS_PATH` (where the deployments file goes), `CROSSBOOK_TRADERS`
 * (how many traders to fund, node accounts 2.., default 6).
 */
import hre from "hardhat";
import { runDeploy } from "./deploy";
import { fundTraders } from "./lib/market";
import { FIRST_TRADER_INDEX } from "./lib/accounts";

/** What each trader deposits: enough for a few minutes of market making at the local prices. */
export const TRADER_DEPOSITS = { WETH: "200", USDC: "2000000", WBTC: "10" } as const;

async function main(): Promise<void> {
  const { deployment } = await runDeploy();
  const count = Number(process.env.CROSSBOOK_TRADERS ?? "6");
  const signers = await hre.ethers.getSigners();
  const traders = signers.slice(FIRST_TRADER_INDEX, FIRST_TRADER_INDEX + count);
  if (traders.length < count)
    throw new Error(`the node has only ${signers.length} accounts; asked for ${count} traders`);
  await fundTraders(hre, deployment, traders, TRADER_DEPOSITS);
  console.log(`funded ${traders.length} traders with ${JSON.stringify(TRADER_DEPOSITS)}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
