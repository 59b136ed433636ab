/**
 * The Crossbook SDK from deposit to a filled order and a withdrawal, on a local Hardhat network:
 *
 *   npx hardhat run scripts/sdk-example.ts                       # on Hardhat's in-process network
 *   npx hardhat node                                             # or: a node in one terminal …
 *   npx hardhat run scripts/sdk-example.ts --network localhost   # … and the example in another
 *
 *   alice ── sells 0.25 WETH at 1834.5 USDC, post-only ──▶  ◀── bob buys 0.25 WETH, paying up to 1840 USDC
 *                 settled at alice's price by a keeper stand-in (so that the example needs no keeper process)
 *
 * test/sdk/example.test.ts runs it, and sdk/README.md shows it whole.
 */
import hre from "hardhat";
import { createPublicClient, createWalletClient, custom, defineChain, type Address } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import {
  POST_ONLY,
  assertValidOrder,
  deposit,
  exchangeAbi,
  fillAmounts,
  formatAmount,
  formatLots,
  formatPriceTicks,
  getBalance,
  getExchangeDomain,
  getFirmnessDelay,
  getMarket,
  getOrderFillState,
  getWithdrawalRequest,
  parseLots,
  parsePriceTicks,
  parseSettlementLogs,
  requestWithdraw,
  settleArgs,
  signOrder,
  verifyOrderSignature,
  withdraw,
  type Order,
} from "@crossbook/sdk";
import { deployExchange } from "./lib/deploy";

/** Hardhat's development accounts (never hold real funds with them). */
const MNEMONIC = "test test test test test test test test test test test junk";
const localhost = defineChain({
  id: 31337,
  name: "Hardhat",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: ["http://127.0.0.1:8545"] } },
});

export async function runExample(log: (...line: unknown[]) => void = console.log) {
  // ── Setup (not the SDK): two mock tokens, an Exchange with one market, tokens for the traders ──
  const keeperAccount = mnemonicToAccount(MNEMONIC, { addressIndex: 1 });
  const aliceAccount = mnemonicToAccount(MNEMONIC, { addressIndex: 2 });
  const bobAccount = mnemonicToAccount(MNEMONIC, { addressIndex: 3 });
  const [admin] = await hre.ethers.getSigners();
  const weth = await hre.ethers.deployContract("MockERC20", ["Wrapped Ether", "WETH", 18]);
  const usdc = await hre.ethers.deployContract("MockERC20", ["USD Coin", "USDC", 6]);
  const exchangeContract = await deployExchange(hre.ethers, admin.address);
  await (await exchangeContract.grantRole(await exchangeContract.KEEPER_ROLE(), keeperAccount.address)).wait();
  // lots of 0.01 WETH, ticks of 100 USDC atoms per lot (a price step of 0.01 USDC), fees 5 and 10 bps
  await (await exchangeContract.listMarket(weth, usdc, 10n ** 16n, 100n, 5, 10)).wait();
  await (await weth.mint(aliceAccount.address, 10n ** 18n)).wait(); // 1 WETH
  await (await usdc.mint(bobAccount.address, 10_000n * 10n ** 6n)).wait(); // 10,000 USDC
  const exchange = (await exchangeContract.getAddress()) as Address;

  // ── 1. Clients. In a dapp: transport http("https://…") or custom(window.ethereum) ──
  const transport = custom(hre.network.provider);
  const publicClient = createPublicClient({ chain: localhost, transport });
  const alice = createWalletClient({ account: aliceAccount, chain: localhost, transport });
  const bob = createWalletClient({ account: bobAccount, chain: localhost, transport });

  // ── 2. The market and the Exchange's EIP-712 domain, read from the chain ──
  const domain = await getExchangeDomain(publicClient, { exchange });
  const market = await getMarket(publicClient, { exchange, marketId: 1n });
  const units = { ...market, baseDecimals: 18, quoteDecimals: 6 }; // the tokens' decimals()

  // ── 3. Exact sizes and prices from decimal strings (a typo like "0.255" throws, never rounds) ──
  const lots = parseLots({ amount: "0.25", market: units }); // 25n lots
  const askTicks = parsePriceTicks({ price: "1834.5", market: units }); // 183450n ticks
  const bidTicks = parsePriceTicks({ price: "1840", market: units });

  // ── 4. Deposits: alice the WETH she sells; bob the most he may pay, with the taker fee ──
  const sold = fillAmounts({ lots, priceTicks: askTicks, market: units });
  const most = fillAmounts({ lots, priceTicks: bidTicks, market: units, feeBps: market.takerFeeBps });
  for (const [client, token, amount] of [
    [alice, market.base, sold.baseAtoms],
    [bob, market.quote, most.quoteAtoms + most.feeAtoms],
  ] as const) {
    const { hash } = await deposit(client, { exchange, token, amount }); // approves first if needed
    await publicClient.waitForTransactionReceipt({ hash });
  }
  log(
    `deposited: alice ${formatLots({ lots, market: units })} WETH, bob ${formatAmount({ atoms: most.quoteAtoms + most.feeAtoms, decimals: 6 })} USDC`,
  );

  // ── 5. Orders: built, checked (every problem at once), signed (EIP-712) ──
  const now = (await publicClient.getBlock()).timestamp;
  const ask: Order = {
    maker: aliceAccount.address,
    marketId: market.marketId,
    isBuy: false,
    flags: POST_ONLY,
    maxFeeBps: market.makerFeeBps,
    expiry: now + 3600n,
    nonce: 1n,
    priceTicks: askTicks,
    lots,
  };
  const bid: Order = {
    ...ask,
    maker: bobAccount.address,
    isBuy: true,
    flags: 0n,
    maxFeeBps: market.takerFeeBps,
    priceTicks: bidTicks,
  };
  assertValidOrder({ order: ask, market, now });
  assertValidOrder({ order: bid, market, now });
  const signedAsk = { order: ask, signature: await signOrder({ signer: alice, order: ask, domain }) };
  const signedBid = { order: bid, signature: await signOrder({ signer: bob, order: bid, domain }) };
  for (const signed of [signedAsk, signedBid]) {
    if (!(await verifyOrderSignature(publicClient, { ...signed, domain }))) throw new Error("bad signature");
  }

  // ── 6. KEEPER STAND-IN (not what a trader does): a keeper (`npm run keeper`) matches orders sent
  //       with the SDK's keeper client and settles them; here an account with KEEPER_ROLE calls settle ──
  const keeper = createWalletClient({ account: keeperAccount, chain: localhost, transport });
  const settleHash = await keeper.writeContract({
    address: exchange,
    abi: exchangeAbi,
    functionName: "settle",
    args: settleArgs({ orders: [signedAsk, signedBid], fills: [{ makerIndex: 0n, takerIndex: 1n, lots }] }),
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash: settleHash });

  // ── 7. What happened, and what the chain says now ──
  const { trades, skippedFills } = parseSettlementLogs({ logs: receipt.logs, exchange });
  for (const trade of trades) {
    log(
      `traded ${formatLots({ lots: trade.lots, market: units })} WETH at ` +
        `${formatPriceTicks({ priceTicks: trade.priceTicks, market: units })} USDC ` +
        `(maker ${trade.makerOrder.account} nonce ${trade.makerOrder.nonce})`,
    );
  }
  const askState = await getOrderFillState(publicClient, { exchange, order: ask });
  const bidState = await getOrderFillState(publicClient, { exchange, order: bid });
  log(`ask filled ${askState.filled} of ${ask.lots} lots, bid filled ${bidState.filled} of ${bid.lots} lots`);
  const aliceUsdc = await getBalance(publicClient, { exchange, account: aliceAccount.address, token: market.quote });
  const bobWeth = await getBalance(publicClient, { exchange, account: bobAccount.address, token: market.base });
  log(
    `alice holds ${formatAmount({ atoms: aliceUsdc, decimals: 6 })} USDC on the Exchange, bob ${formatAmount({ atoms: bobWeth, decimals: 18 })} WETH`,
  );

  // ── 8. Withdraw: alice asks to take her USDC out, and does once the firmness delay has passed ──
  await publicClient.waitForTransactionReceipt({
    hash: await requestWithdraw(alice, { exchange, token: market.quote, amount: aliceUsdc }),
  });
  const { effectiveAt } = await getWithdrawalRequest(publicClient, {
    exchange,
    account: aliceAccount.address,
    token: market.quote,
  });
  log(`alice may withdraw from ${effectiveAt} (the firmness delay: fills matched before still settle)`);
  // On a real chain, wait until a block's time reaches `effectiveAt`; a local dev chain is moved on.
  await hre.network.provider.send("evm_increaseTime", [Number(await getFirmnessDelay(publicClient, { exchange }))]);
  await hre.network.provider.send("evm_mine", []);
  await publicClient.waitForTransactionReceipt({
    hash: await withdraw(alice, { exchange, token: market.quote, amount: aliceUsdc }),
  });
  log(`alice withdrew ${formatAmount({ atoms: aliceUsdc, decimals: 6 })} USDC`);

  return { exchange, market, ask, bid, trades, skippedFills, askState, bidState, aliceUsdc, bobWeth };
}

if (require.main === module) {
  runExample().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
