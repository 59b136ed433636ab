/**
 * The one way this project deploys an Exchange: its two linked libraries first (`MarketConfig`
 * and `WindowLimit` hold the admin's and accounts' setters, outside the Exchange's 24 KiB), then
 * the Exchange linked to them. Used by the tests, the benchmarks and the deploy script.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { Signer } from "ethers";

export async function deployExchange(ethers: HardhatRuntimeEnvironment["ethers"], admin: string, deployer?: Signer) {
  const marketConfig = await ethers.deployContract("MarketConfig", [], deployer);
  const windowLimit = await ethers.deployContract("WindowLimit", [], deployer);
  const factory = await ethers.getContractFactory("Exchange", {
    signer: deployer,
    libraries: {
      MarketConfig: await marketConfig.getAddress(),
      WindowLimit: await windowLimit.getAddress(),
    },
  });
  const exchange = await factory.deploy(admin);
  await exchange.waitForDeployment();
  return exchange;
}
