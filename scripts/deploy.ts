/**
 * `npm run deploy -- --network localhost` (or `npx hardhat run scripts/deploy.ts --network localhost`):
 * deploys a whole local market (scripts/lib/market.ts) on a running node, prints a summary and
 * writes `deployments/<network>.json`.
 *
 *   npx hardhat node                                   # in one terminal
 *   npm run deploy -- --network localhost              # in another
 *
 * The first signer of the network deploys and is admin, guardian and fee recipient; the keeper is
 * `CROSSBOOK_KEEPER_ADDRESS` or else the second signer. `CROSSBOOK_DEPLOYMENTS_PATH` writes the file
 * elsewhere. On Hardhat's in-process network (no `--network`) nothing is written unless that path is
 * given: that chain is gone when the script ends.
 */
import hre from "hardhat";
import { deployLocalMarket, describeDeployment, type DeployLocalMarketReturnType } from "./lib/market";

/** Deploys with the signers and environment described above; `log` receives the summary lines. */
export async function runDeploy(
  env: Readonly<Record<string, string | undefined>> = process.env,
  log: (line: string) => void = console.log,
): Promise<DeployLocalMarketReturnType> {
  const [deployer, second] = await hre.ethers.getSigners();
  if (deployer === undefined) throw new Error(`The network "${hre.network.name}" has no signer to deploy with`);
  const keeper = env.CROSSBOOK_KEEPER_ADDRESS?.trim() || second?.address;
  if (keeper === undefined) {
    throw new Error(
      `The network "${hre.network.name}" has one signer: set CROSSBOOK_KEEPER_ADDRESS to the keeper's address`,
    );
  }
  const path = env.CROSSBOOK_DEPLOYMENTS_PATH?.trim() || undefined;
  // an explicit path is a request to write, even on the in-process network
  const result = await deployLocalMarket(hre, { keeper, deployer, path, write: path !== undefined ? true : undefined });
  for (const line of describeDeployment(result.deployment)) log(line);
  log(
    result.path === undefined
      ? `on the in-process "hardhat" network: no deployments file written (deploy to a node with --network localhost)`
      : `wrote ${result.path}`,
  );
  return result;
}

if (require.main === module) {
  runDeploy().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
