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
  const traderActions = await ethers.deployContract("TraderActions", [], deployer);
  const factory = await ethers.getContractFactory("Exchange", {
    signer: deployer,
    libraries: {
      MarketConfig: await marketConfig.getAddress(),
      WindowLimit: await windowLimit.getAddress(),
      TraderActions: await traderActions.getAddress(),
    },
  });
  const exchange = await factory.deploy(admin);
  await exchange.waitForDeployment();
  return exchange;
}

/**
 * Hands the Exchange's DEFAULT_ADMIN_ROLE to a new OpenZeppelin TimelockController, as in
 * production: the admin's changes (markets, fees, risk parameters, unpause, resume) then wait
 * `minDelaySeconds`, while the guardian's pause and halt stay immediate. The caller must hold the
 * admin role (it renounces it); the timelock has no admin of its own. Returns the timelock.
 */
export async function handAdminToTimelock(
  ethers: HardhatRuntimeEnvironment["ethers"],
  exchange: Awaited<ReturnType<typeof deployExchange>>,
  options: { minDelaySeconds: bigint; proposers: string[]; executors: string[] },
  admin: Signer,
) {
  const timelock = await ethers.deployContract(
    "TimelockController",
    [options.minDelaySeconds, options.proposers, options.executors, ethers.ZeroAddress],
    admin,
  );
  await timelock.waitForDeployment();
  const adminRole = await exchange.DEFAULT_ADMIN_ROLE();
  await (await exchange.connect(admin).grantRole(adminRole, await timelock.getAddress())).wait();
  await (await exchange.connect(admin).renounceRole(adminRole, await admin.getAddress())).wait();
  return timelock;
}
