/**
 * The chain layer of the risk check: reads everything `checkOrder` needs with the SDK's read
 * actions, in two rounds of parallel reads, and adds the keeper's own state.
 */
import type { Address } from "viem";
import { getBlock, getCode } from "viem/actions";
import {
  ContractRevertError,
  MAX_UINT64,
  getBalance,
  getCancelAfter,
  getExchangeDomain,
  getFilled,
  getMarket,
  getMinNonce,
  getPaused,
  getPriceBounds,
  getRiskLimits,
  getWindowLimit,
  verifyOrderSignature,
  type Market,
  type ReadClient,
  type SignedOrder,
} from "../../../sdk/src";
import { reservedByOpenOrders } from "./reservation";
import type { ReservingOrder, RiskContext } from "./types";

/** What the keeper knows that the chain does not. */
export interface KeeperRiskState {
  /** The chain id the keeper is configured for (`config.chainId`). */
  chainId: bigint | number;
  /**
   * The maker's other orders that still hold funds, in any market: each with the lots not yet seen
   * to settle (resting remainder plus pending or sent fills). Leave the order being checked out.
   */
  openOrders: readonly ReservingOrder[];
  /** Markets the keeper has already read (listed markets never change but for their fees). */
  markets?: ReadonlyMap<bigint, Market>;
}

/** `undefined` for a market that is not listed (`MarketNotListed`); other failures throw. */
async function listedOrUndefined<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof ContractRevertError && error.errorName === "MarketNotListed") return undefined;
    throw error;
  }
}

/**
 * Reads the `RiskContext` of a signed order (the signature is needed for a contract wallet's
 * ERC-1271 answer, through the SDK's `verifyOrderSignature`) from the Exchange at `exchange`. The reads are independent
 * calls at the latest block (the SDK's actions take no block tag), so a block that arrives between
 * them can mix two blocks' state; settlement catches what this misses.
 */
export async function readRiskContext(
  client: ReadClient,
  exchange: Address,
  signed: SignedOrder,
  keeperState: KeeperRiskState,
): Promise<RiskContext> {
  const { order, signature } = signed;
  const maker = order.maker;
  const { marketId, nonce } = order;
  const [
    chainDomain,
    market,
    riskLimits,
    priceBounds,
    paused,
    minNonce,
    cancelAfter,
    windowLimit,
    filled,
    code,
    block,
  ] = await Promise.all([
    getExchangeDomain(client, { exchange }),
    listedOrUndefined(getMarket(client, { exchange, marketId })),
    listedOrUndefined(getRiskLimits(client, { exchange, marketId })),
    listedOrUndefined(getPriceBounds(client, { exchange, marketId })),
    getPaused(client, { exchange }),
    getMinNonce(client, { exchange, maker }),
    getCancelAfter(client, { exchange, account: maker }),
    getWindowLimit(client, { exchange, account: maker, marketId }),
    getFilled(client, { exchange, maker, nonce }),
    getCode(client, { address: maker }),
    getBlock(client, { blockTag: "latest" }),
  ]);
  const domain = { chainId: keeperState.chainId, verifyingContract: exchange };
  const isContract = code !== undefined && code !== "0x";

  // Second round: what depends on the market's tokens, the other orders' markets, and the wallet.
  const otherMarketIds = [...new Set(keeperState.openOrders.map((o) => o.order.marketId))].filter(
    (id) => id !== marketId && !keeperState.markets?.has(id),
  );
  const [balances, approves, otherMarkets] = await Promise.all([
    market === undefined
      ? Promise.resolve({ base: 0n, quote: 0n })
      : Promise.all([
          getBalance(client, { exchange, account: maker, token: market.base }),
          getBalance(client, { exchange, account: maker, token: market.quote }),
        ]).then(([base, quote]) => ({ base, quote })),
    isContract ? verifyOrderSignature(client, { order, signature, domain }) : Promise.resolve(false),
    Promise.all(otherMarketIds.map((id) => getMarket(client, { exchange, marketId: id }))),
  ]);
  const markets = new Map<bigint, Market>(keeperState.markets ?? []);
  for (const m of otherMarkets) markets.set(m.marketId, m);
  if (market !== undefined) markets.set(market.marketId, market);

  return {
    domain,
    chainDomain: { chainId: chainDomain.chainId, verifyingContract: chainDomain.verifyingContract },
    market,
    riskLimits: riskLimits ?? { halted: false, bandBps: 0n, maxLotsPerBlock: 0n },
    priceBounds: priceBounds ?? { available: true, minPriceTicks: 0n, maxPriceTicks: MAX_UINT64 },
    paused,
    balances,
    minNonce,
    cancelAfter,
    windowLimit,
    filled,
    timestamp: block.timestamp,
    signature: isContract ? { kind: "contract", approves } : { kind: "eoa" },
    reservedByOpenOrders:
      market === undefined
        ? { base: 0n, quote: 0n }
        : reservedByOpenOrders(keeperState.openOrders, (id) => markets.get(id), market),
    nonceInUse: keeperState.openOrders.some((o) => o.order.nonce === nonce),
  };
}
