/**
 * The gas scenarios of `npm run bench:gas`, shared with the snapshot check in `npm test`.
 *
 * Each scenario deploys a fresh Exchange, funds its traders with both tokens, and settles two
 * rounds of the same fills with new orders; gas per fill is the settle receipt's gasUsed divided
 * by the number of fills, so the 21,000 base cost and the calldata are included.
 *
 *   distinct       maker_i sells to taker_i, every pair a different two accounts
 *   market-maker   one maker with MM_RESTING_ORDERS resting asks, each taker buys from one of them
 *
 * and each again "+limits": the market has a price feed, a 5% band around it and a velocity
 * limit; every maker has a cancel-after deadline (a market maker's heartbeat), and the market
 * maker also a window limit on its lots per hour. No limit is reached: this measures what the
 * checks cost a fill that passes them.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { BaseWallet } from "ethers";
import { exchangeDomain, ORDER_TYPES, type Fill, type Order } from "../../test/helpers/orders";
import { deployExchange } from "./deploy";

export const BATCH_SIZES = [1, 10, 50] as const;
export const MM_RESTING_ORDERS = 5;
const LOT_SIZE = 10n ** 16n;
const TICK_SIZE = 100n;
const PRICE_TICKS = 300_000n;
const LOTS = 10n;

export const SCENARIOS = ["distinct", "market-maker", "distinct+limits", "market-maker+limits"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
export interface GasFigure {
  scenario: ScenarioName;
  fills: number;
  round: 1 | 2;
  gasPerFill: number;
}

/** The name of a figure in snapshots/gas.json. */
export function snapshotKey(figure: GasFigure): string {
  return `${figure.scenario} ${figure.fills} fills round ${figure.round}`;
}

export async function measureGasScenarios(
  hre: HardhatRuntimeEnvironment,
  onFigure: (figure: GasFigure) => void = () => {},
): Promise<GasFigure[]> {
  const figures: GasFigure[] = [];
  for (const scenario of SCENARIOS) {
    for (const fills of BATCH_SIZES) {
      for (const figure of await measureScenario(hre, scenario, fills)) {
        figures.push(figure);
        onFigure(figure);
      }
    }
  }
  return figures;
}

export async function measureScenario(
  hre: HardhatRuntimeEnvironment,
  scenario: ScenarioName,
  fillCount: number,
): Promise<GasFigure[]> {
  const { ethers } = hre;
  const [admin] = await ethers.getSigners();
  const Token = await ethers.getContractFactory("MockERC20");
  const base = await Token.deploy("Wrapped Ether", "WETH", 18);
  const quote = await Token.deploy("USD Coin", "USDC", 6);
  const exchange = await deployExchange(ethers, admin.address);
  await exchange.grantRole(await exchange.KEEPER_ROLE(), admin.address);
  await exchange.listMarket(base, quote, LOT_SIZE, TICK_SIZE, 5, 10);
  const exchangeAddress = await exchange.getAddress();
  const domain = exchangeDomain((await ethers.provider.getNetwork()).chainId, exchangeAddress);

  const distinct = scenario.startsWith("distinct");
  const makerCount = distinct ? fillCount : 1;
  const traders = Array.from(
    { length: makerCount + fillCount },
    (_, i) => new ethers.Wallet(ethers.id(`crossbook gas ${scenario} ${fillCount} ${i}`), ethers.provider),
  );
  const makers = traders.slice(0, makerCount);
  const takers = traders.slice(makerCount);
  const funding = 10n ** 30n;
  for (const trader of traders) {
    await ethers.provider.send("hardhat_setBalance", [trader.address, "0x56BC75E2D63100000"]);
    for (const token of [base, quote]) {
      await token.mint(trader.address, funding);
      await token.connect(trader).approve(exchangeAddress, funding);
      await exchange.connect(trader).deposit(token, funding);
    }
  }
  if (scenario.endsWith("+limits")) {
    // 3,000 quote per base with 8 decimals = PRICE_TICKS ticks per lot for these sizes.
    const feed = await ethers.deployContract("MockPriceFeed", [8, 3_000n * 10n ** 8n]);
    await exchange.setPriceFeed(1, feed, 3_600);
    await exchange.setPriceBand(1, 500, 0);
    await exchange.setVelocityLimit(1, 1_000_000);
    const heartbeat = BigInt((await ethers.provider.getBlock("latest"))!.timestamp) + 86_400n;
    for (const maker of makers) await exchange.connect(maker).setCancelAfter(heartbeat);
    if (!distinct) await exchange.connect(makers[0]).setWindowLimit(1, 1_000_000, 3_600);
    // A tighter limit takes effect after the firmness delay: measure fills it applies to.
    await ethers.provider.send("evm_increaseTime", [Number(await exchange.firmnessDelay())]);
    await ethers.provider.send("evm_mine", []);
  }

  const figures: GasFigure[] = [];
  for (const round of [1, 2] as const) {
    const orders: Order[] = [];
    const signers: BaseWallet[] = [];
    const fills: Fill[] = [];
    const order = (maker: BaseWallet, isBuy: boolean, nonce: bigint, lots: bigint): Order => ({
      maker: maker.address,
      marketId: 1n,
      isBuy,
      flags: 0n,
      maxFeeBps: 100n,
      expiry: 2n ** 40n - 1n,
      nonce,
      priceTicks: PRICE_TICKS,
      lots,
    });
    if (distinct) {
      for (let i = 0; i < fillCount; i++) {
        orders.push(order(makers[i], false, BigInt(round), LOTS), order(takers[i], true, BigInt(round), LOTS));
        signers.push(makers[i], takers[i]);
        fills.push({ makerIndex: BigInt(2 * i), takerIndex: BigInt(2 * i + 1), lots: LOTS });
      }
    } else {
      const resting = Math.min(MM_RESTING_ORDERS, fillCount);
      const perOrder = BigInt(Math.ceil(fillCount / resting)) * LOTS;
      for (let k = 0; k < resting; k++) {
        orders.push(order(makers[0], false, BigInt(round * MM_RESTING_ORDERS + k), perOrder));
        signers.push(makers[0]);
      }
      for (let i = 0; i < fillCount; i++) {
        orders.push(order(takers[i], true, BigInt(round), LOTS));
        signers.push(takers[i]);
        fills.push({ makerIndex: BigInt(i % resting), takerIndex: BigInt(resting + i), lots: LOTS });
      }
    }
    const signatures = await Promise.all(orders.map((o, i) => signers[i].signTypedData(domain, ORDER_TYPES, o)));
    const tx = await exchange.settle(orders, signatures, fills);
    const receipt = await tx.wait();
    if (!receipt) throw new Error("settle receipt missing");
    const traded = receipt.logs.filter((log) => exchange.interface.parseLog(log)?.name === "Traded").length;
    if (traded !== fillCount) throw new Error(`${scenario} round ${round}: ${traded} of ${fillCount} fills traded`);
    figures.push({ scenario, fills: fillCount, round, gasPerFill: Math.round(Number(receipt.gasUsed) / fillCount) });
  }
  return figures;
}
