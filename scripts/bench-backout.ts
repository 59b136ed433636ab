/**
 * `npm run bench:backout` (issue 12): a market maker quotes, a taker is matched against it, and then
 * tries to back out of the fill on-chain before the keeper's batch lands — by each path: `cancel`
 * of its nonce, `cancelUpTo` above it, `requestWithdraw` + `withdraw` of its funds, an earlier
 * `setCancelAfter`, a tighter `setWindowLimit`. The keeper is the real one (store, engine with
 * cached chain facts, `followBlock`, settlement with its pre-send check and simulation), in-process
 * on the Hardhat network; the batch lands 2 s of chain time after the taker's action (settlement
 * takes 0.5–4 s). Each path runs `--rounds` times (a fresh taker each round) with the deployed
 * firmness delay (30 s) and with `setFirmnessDelay(0)` — every action immediate, the contract as
 * it was before firm matches — and reports the fills that settled and those backed out, by reason,
 * with the maker's loss: each backed-out fill is one the taker walked away from (adverse to the
 * maker), valued at a 1% move of the fill's notional.
 *
 *   npm run bench:backout                 # 5 rounds per path and delay
 *   ROUNDS=20 npm run bench:backout
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { createPublicClient, custom, defineChain, type Address, type Hex, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { signOrder, type Order } from "@crossbook/sdk";
import { Engine } from "../keeper/src/engine";
import { followBlock } from "../keeper/src/keeper";
import { CachedChainReads, readRiskContextFrom } from "../keeper/src/risk";
import { Settlement } from "../keeper/src/settlement";
import { Store } from "../keeper/src/store";
import { deployExchange } from "./lib/deploy";

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const LOT_SIZE = 10n ** 16n;
const TICK_SIZE = 100n;
const PRICE = 200_000n;
const LOTS = 4n;
/** Chain seconds between the taker's action and the block its batch lands in. */
const LANDING_SECONDS = 2;

type Ethers = typeof hre.ethers;
type Signer = Awaited<ReturnType<Ethers["getSigners"]>>[number];
type Exchange = Awaited<ReturnType<typeof deployExchange>>;
type Token = import("../typechain-types").MockERC20;

interface World {
  exchange: Exchange;
  base: Token;
  quote: Token;
  admin: Signer;
  maker: Signer;
  domain: { chainId: number; verifyingContract: Address };
  keeper: { engine: Engine; store: Store; reads: CachedChainReads; settlement: Settlement };
}

/** One way out of a matched fill, as the taker (a fresh account holding quote) takes it on-chain. */
const PATHS: Record<string, (w: World, taker: Signer, nonce: bigint) => Promise<void>> = {
  cancel: async (w, taker, nonce) => {
    await (await w.exchange.connect(taker).cancel([nonce])).wait();
  },
  cancelUpTo: async (w, taker, nonce) => {
    await (await w.exchange.connect(taker).cancelUpTo(nonce + 1n)).wait();
  },
  withdraw: async (w, taker) => {
    const token = await w.quote.getAddress();
    const balance = await w.exchange.balanceOf(taker.address, token);
    await (await w.exchange.connect(taker).requestWithdraw(token, balance)).wait();
    // Takes effect at once with no delay; with the delay it reverts (WithdrawalNotYetEffective).
    await w.exchange
      .connect(taker)
      .withdraw(token, balance)
      .then((tx) => tx.wait())
      .catch(() => undefined);
  },
  cancelAfter: async (w, taker) => {
    const now = BigInt((await hre.ethers.provider.getBlock("latest"))!.timestamp);
    await (await w.exchange.connect(taker).setCancelAfter(now + 1n)).wait();
  },
  windowLimit: async (w, taker) => {
    await (await w.exchange.connect(taker).setWindowLimit(1, 1, 3600)).wait();
  },
};

async function rpc(method: string, params: unknown[] = []): Promise<unknown> {
  return hre.network.provider.send(method, params);
}

async function deploy(): Promise<World> {
  const ethers = hre.ethers;
  const [admin, maker] = await ethers.getSigners();
  const base = await ethers.deployContract("MockERC20", ["Wrapped Ether", "WETH", 18]);
  const quote = await ethers.deployContract("MockERC20", ["USD Coin", "USDC", 6]);
  const exchange = await deployExchange(ethers, admin!.address);
  await (await exchange.listMarket(base, quote, LOT_SIZE, TICK_SIZE, 5, 10)).wait();
  const exchangeAddress = (await exchange.getAddress()) as Address;
  const { chainId } = await ethers.provider.getNetwork();
  const domain = { chainId: Number(chainId), verifyingContract: exchangeAddress };
  await fund(exchange, base, maker!, 10_000n * LOT_SIZE);

  const keeperAccount = privateKeyToAccount(generatePrivateKey());
  await rpc("hardhat_setBalance", [keeperAccount.address, "0x8ac7230489e80000"]);
  await (await exchange.grantRole(await exchange.KEEPER_ROLE(), keeperAccount.address)).wait();
  const chain = defineChain({
    id: Number(chainId),
    name: "hardhat",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: ["http://127.0.0.1:8545"] } },
  });
  const client = createPublicClient({
    chain,
    transport: custom(hre.network.provider, { retryCount: 0 }),
    pollingInterval: 10,
  }) as PublicClient;
  const dir = mkdtempSync(join(tmpdir(), "crossbook-backout-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const store = Store.open(join(dir, "keeper.db"));
  const reads = new CachedChainReads(client, exchangeAddress, {
    startBlock: 0n,
    nonceSeen: (m, n) => store.hasNonce(m, n),
  });
  const engine = await Engine.open({
    store,
    markets: [1n],
    domain,
    readRiskContext: (signed, state) => readRiskContextFrom(reads, exchangeAddress, signed, state),
    freshen: () => reads.refresh(),
    horizonSeconds: 10,
  });
  const settlement = new Settlement({
    engine,
    store,
    client,
    reads,
    account: keeperAccount,
    exchange: exchangeAddress,
    config: {
      batch: { maxFills: 50, maxGas: 10_000_000n, maxWaitMs: 0 },
      fees: { maxFeePerGas: 500n * 10n ** 9n, maxPriorityFeePerGas: 2n * 10n ** 9n, replacementBumpPercent: 15 },
      confirmations: 0,
    },
    watchBlocks: () => () => {},
  });
  await settlement.start();
  return { exchange, base, quote, admin: admin!, maker: maker!, domain, keeper: { engine, store, reads, settlement } };
}

async function fund(exchange: Exchange, token: Token, trader: Signer, amount: bigint): Promise<void> {
  await (await token.mint(trader.address, amount)).wait();
  await (await token.connect(trader).approve(await exchange.getAddress(), amount)).wait();
  await (await exchange.connect(trader).deposit(await token.getAddress(), amount)).wait();
}

let makerNonce = 0n;

/** One round: the maker quotes, a fresh taker is matched, backs out by `path`, the keeper settles. */
async function round(w: World, path: string): Promise<string> {
  const { engine, store, reads, settlement } = w.keeper;
  const wallet = hre.ethers.Wallet.createRandom().connect(hre.ethers.provider);
  await rpc("hardhat_setBalance", [wallet.address, "0x8ac7230489e80000"]);
  const taker = wallet as unknown as Signer;
  // Exactly what the taker's 4 lots cost, taker fee included.
  await fund(w.exchange, w.quote, taker, LOTS * PRICE * TICK_SIZE * 2n);

  const place = async (signer: Signer, order: Order) => {
    const signature = (await signOrder({ signer: signer as never, order, domain: w.domain })) as Hex;
    const result = await engine.submit({ order, signature });
    if (!result.ok) throw new Error(`${path}: order refused ${result.code}: ${result.message}`);
    return result;
  };
  const fields = { marketId: 1n, flags: 0n, maxFeeBps: 100n, expiry: 4_102_444_800n, priceTicks: PRICE, lots: LOTS };
  await place(w.maker, { ...fields, maker: w.maker.address as Address, isBuy: false, nonce: ++makerNonce });
  const takerNonce = 1n;
  const taken = await place(taker, { ...fields, maker: taker.address as Address, isBuy: true, nonce: takerNonce });
  const fillId = taken.trades[0]?.fillId;
  if (fillId === undefined) throw new Error(`${path}: the taker was not matched`);

  // The taker backs out on-chain; the keeper's batch lands LANDING_SECONDS later.
  await PATHS[path]!(w, taker, takerNonce);
  await followBlock(reads, engine);
  await rpc("evm_increaseTime", [LANDING_SECONDS]);
  for (
    let i = 0;
    i < 3 && store.getFill(fillId)?.status !== "settled" && store.getFill(fillId)?.status !== "skipped";
    i++
  ) {
    await settlement.tick();
    await rpc("evm_mine");
    await settlement.tick();
  }
  const fill = store.getFill(fillId);
  return fill?.status === "settled" ? "settled" : `${fill?.status ?? "unknown"} ${fill?.skipReason ?? ""}`.trim();
}

async function main() {
  const w = await deploy();
  const notional = LOTS * PRICE * TICK_SIZE;
  const rows: string[] = [];
  console.log(
    `back-out benchmark: ${ROUNDS} rounds per path and delay; a taker matched for ${LOTS} lots at ${PRICE} ticks ` +
      `(${notional} quote atoms) backs out on-chain; its batch lands ${LANDING_SECONDS} s later`,
  );
  for (const delay of [0, 30]) {
    await (await w.exchange.connect(w.admin).setFirmnessDelay(delay)).wait();
    for (const path of Object.keys(PATHS)) {
      const outcomes: string[] = [];
      for (let i = 0; i < ROUNDS; i++) outcomes.push(await round(w, path));
      const settled = outcomes.filter((o) => o === "settled").length;
      const reasons = [...new Set(outcomes.filter((o) => o !== "settled"))]
        .map((r) => `${r} ×${outcomes.filter((o) => o === r).length}`)
        .join(", ");
      // A walked-away fill costs the maker the move it was hedging against: 1% of notional, say.
      const loss = (BigInt(ROUNDS - settled) * notional) / 100n;
      rows.push(
        `${(delay === 0 ? "before (D = 0)" : "after (D = 30 s)").padEnd(17)} ${path.padEnd(12)} ` +
          `${String(settled).padStart(2)}/${ROUNDS} settled   backed out ${ROUNDS - settled}` +
          `${reasons === "" ? "" : ` (${reasons})`}   maker's loss at a 1% move: ${loss} quote atoms`,
      );
      console.log(rows[rows.length - 1]);
    }
  }
  await w.keeper.settlement.stop();
  w.keeper.store.close();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
