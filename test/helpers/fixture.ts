import { ethers } from "hardhat";
import { deployExchange as deployLinkedExchange } from "../../scripts/lib/deploy";
import { exchangeDomain } from "./orders";

export const LOT_SIZE = 10n ** 16n; // 0.01 base (18 decimals) per lot
export const TICK_SIZE = 100n; // 0.0001 quote (6 decimals) per lot per tick
export const MAKER_FEE_BPS = 5n;
export const TAKER_FEE_BPS = 10n;

/**
 * Deploys an Exchange with one market (id 1): an 18-decimal base and a 6-decimal quote, maker fee
 * 5 bps and taker fee 10 bps. Signers: admin (also the fee recipient), keeper, then traders.
 */
export async function deployExchange() {
  const [admin, keeper, alice, bob, carol, dave, outsider] = await ethers.getSigners();
  const Token = await ethers.getContractFactory("MockERC20");
  const base = await Token.deploy("Wrapped Ether", "WETH", 18);
  const quote = await Token.deploy("USD Coin", "USDC", 6);
  const exchange = await deployLinkedExchange(ethers, admin.address);
  await exchange.grantRole(await exchange.KEEPER_ROLE(), keeper.address);
  await exchange.listMarket(base, quote, LOT_SIZE, TICK_SIZE, MAKER_FEE_BPS, TAKER_FEE_BPS);
  const { chainId } = await ethers.provider.getNetwork();
  const domain = exchangeDomain(chainId, await exchange.getAddress());
  return { exchange, base, quote, domain, admin, keeper, alice, bob, carol, dave, outsider };
}

/** Mints `amount` of `token` to `trader` and deposits it all into the Exchange. */
export async function fund(
  exchange: Awaited<ReturnType<typeof deployExchange>>["exchange"],
  token: Awaited<ReturnType<typeof deployExchange>>["base"],
  trader: Awaited<ReturnType<typeof deployExchange>>["alice"],
  amount: bigint,
) {
  await token.mint(trader.address, amount);
  await token.connect(trader).approve(await exchange.getAddress(), amount);
  await exchange.connect(trader).deposit(await token.getAddress(), amount);
}
