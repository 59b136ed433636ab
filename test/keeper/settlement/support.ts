/**
 * Shared setup of the settlement tests: the Exchange fixture, a local keeper account with
 * KEEPER_ROLE, and a keeper (store file + engine + settlement) that can be thrown away and opened
 * again on the same file, as after a crash. Blocks are driven by hand: `tick()` is one step.
 */
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { signOrder, type Order } from "@crossbook/sdk";
import type { Engine, EngineOptions } from "../../../keeper/src/engine";
import {
  Settlement,
  type SentBatch,
  type SettlementOptions,
  type SettlementOutcome,
} from "../../../keeper/src/settlement";
import { Store } from "../../../keeper/src/store";
import { CachedChainReads } from "../../../keeper/src/risk";
import { LOT_SIZE } from "../../helpers/fixture";
import { fund, hre, order, publicClient, sdkFixture, type SdkEnv } from "../../sdk/support";
import { openEngine, tempDatabase } from "../support";

export const GWEI = 1_000_000_000n;

export const CONFIG: SettlementOptions["config"] = {
  batch: { maxFills: 50, maxGas: 10_000_000n, maxWaitMs: 0 },
  fees: { maxFeePerGas: 500n * GWEI, maxPriorityFeePerGas: 2n * GWEI, replacementBumpPercent: 15 },
  confirmations: 1,
};

export async function settlementFixture() {
  const env = await sdkFixture();
  const keeperAccount = privateKeyToAccount(generatePrivateKey());
  await hre.network.provider.send("hardhat_setBalance", [keeperAccount.address, "0x8ac7230489e80000"]);
  await (await env.exchange.grantRole(await env.exchange.KEEPER_ROLE(), keeperAccount.address)).wait();
  // Everyone holds plenty of both tokens inside the Exchange.
  for (const trader of [env.alice, env.bob, env.carol, env.dave]) {
    await fund(env.exchange, env.base, trader, 1_000n * LOT_SIZE);
    await fund(env.exchange, env.quote, trader, 10n ** 13n);
  }
  return { ...env, keeperAccount };
}

export type Env = Awaited<ReturnType<typeof settlementFixture>>;

/** A keeper on a database file: store, engine and settlement, with every outcome and every batch sent collected. */
export interface Keeper {
  readonly store: Store;
  readonly engine: Engine;
  readonly settlement: Settlement;
  readonly outcomes: SettlementOutcome[];
  readonly sent: SentBatch[];
}

/** A keeper database in a fresh temporary directory. */
export const tempDb = () => tempDatabase("crossbook-settlement-");

export async function openKeeper(
  env: Env,
  dbPath: string,
  options: Partial<SettlementOptions> & { account?: PrivateKeyAccount; engineOptions?: Partial<EngineOptions> } = {},
): Promise<Keeper> {
  const { engineOptions, ...settlementOptions } = options;
  const store = Store.open(dbPath);
  const engine = await openEngine(store, { exchange: env.addresses.exchange, domain: env.sdkDomain }, engineOptions);
  const outcomes: SettlementOutcome[] = [];
  const sent: SentBatch[] = [];
  const client = settlementOptions.client ?? publicClient;
  // The chain facts settlement's pre-send check and velocity budget read, as keeper.ts wires them.
  const reads = new CachedChainReads(client, env.addresses.exchange, {
    startBlock: 0n,
    nonceSeen: (maker, nonce) => store.hasNonce(maker, nonce),
  });
  const settlement = new Settlement({
    engine,
    store,
    client,
    reads,
    account: settlementOptions.account ?? env.keeperAccount,
    exchange: env.addresses.exchange,
    config: CONFIG,
    watchBlocks: () => () => {},
    onOutcome: (o) => outcomes.push(o),
    onSent: (b) => sent.push(b),
    ...settlementOptions,
  });
  return { store, engine, settlement, outcomes, sent };
}

/** Signs and submits an order of market 1; throws when the keeper refuses it. */
export async function submit(
  keeper: Keeper,
  env: SdkEnv,
  signer: SdkEnv["alice"],
  fields: Partial<Order> & Pick<Order, "isBuy" | "nonce">,
): Promise<Hex> {
  const o = order({ maker: signer.address as Address, ...fields });
  const signature = await signOrder({ signer, order: o, domain: env.sdkDomain });
  const result = await keeper.engine.submit({ order: o, signature });
  if (!result.ok) throw new Error(`order refused: ${result.code} ${result.message}`);
  return result.hash;
}

/** Alice rests an ask of 10 lots and Bob takes all of it: one pending fill of market 1. */
export async function matchAliceWithBob(keeper: Keeper, env: Env): Promise<void> {
  await submit(keeper, env, env.alice, { isBuy: false, nonce: 1n, lots: 10n });
  await submit(keeper, env, env.bob, { isBuy: true, nonce: 1n, lots: 10n });
}

/** Mines a block and lets settlement take its step, `blocks` times. */
export async function advance(keeper: Keeper, blocks = 1): Promise<void> {
  for (let i = 0; i < blocks; i++) {
    await mine();
    await keeper.settlement.tick();
  }
}

export async function mine(blocks = 1): Promise<void> {
  for (let i = 0; i < blocks; i++) await hre.network.provider.send("evm_mine", []);
}

export async function setAutomine(on: boolean): Promise<void> {
  await hre.network.provider.send("evm_setAutomine", [on]);
}

/** How many `Traded` events the Exchange has emitted since block 0. */
export async function tradedCount(env: Env): Promise<number> {
  const logs = await env.exchange.queryFilter(env.exchange.filters.Traded(), 0, "latest");
  return logs.length;
}

export function names(outcomes: readonly SettlementOutcome[]): string[] {
  return outcomes.map((o) => o.outcome);
}
