/**
 * The chain layer of the risk check: reads everything `checkOrder` needs with the SDK's read
 * actions, in two rounds of parallel reads, and adds the keeper's own state.
 */
import type { Address, Hex } from "viem";
import {
  MAX_UINT64,
  type ExchangeDomainParameters,
  type GetPriceBoundsReturnType,
  type GetRiskLimitsReturnType,
  type GetWindowLimitReturnType,
  type Market,
  type Order,
  type ReadClient,
  type SignedOrder,
} from "@crossbook/sdk";
import { allOf, isPending, mapFact, type Fact } from "./fact";
import { directReads, type CachedChainReads, type RiskReads } from "./reads";
import { listedOpenOrders } from "./reservation";
import type { OpenOrders, ReservingOrder, RiskContext, SignatureContext } from "./types";

/** What the keeper knows that the chain does not. */
export interface KeeperRiskState {
  /** The chain id the keeper is configured for (`config.chainId`). */
  chainId: bigint | number;
  /**
   * The maker's other orders that still hold funds, in any market: each with the lots not yet seen
   * to settle (resting remainder plus pending or sent fills). Leave the order being checked out.
   * A list, or the engine's `OpenOrders` (answered from totals it keeps, O(1) per order).
   */
  openOrders: readonly ReservingOrder[] | OpenOrders;
  /** Markets the keeper has already read (listed markets never change but for their fees). */
  markets?: ReadonlyMap<bigint, Market>;
  /**
   * Seconds within which the keeper lands what it matches (its settlement horizon): an order whose
   * cancel-after deadline falls within it is not matched (`RiskContext.horizonSeconds`). Default 0.
   */
  horizonSeconds?: bigint;
}

export async function readRiskContext(
  client: ReadClient,
  exchange: Address,
  signed: SignedOrder,
  keeperState: KeeperRiskState,
): Promise<RiskContext> {
  return readRiskContextFrom(directReads(client, exchange), exchange, signed, keeperState);
}

/**
 * `readRiskContext` over any source of chain facts (`RiskReads`): the keeper passes its
 * `CachedChainReads`, which answer most orders without an RPC call. When the source knows every
 * fact now (`Fact`), the context is assembled without an await: one promise, the answer's.
 */
export function readRiskContextFrom(
  reads: RiskReads,
  exchange: Address,
  signed: SignedOrder,
  keeperState: KeeperRiskState,
): Promise<RiskContext> {
  try {
    const context = riskContextOf(reads, exchange, signed, keeperState);
    return isPending(context) ? context : Promise.resolve(context);
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/**
 * Starts the reads of `order`'s facts that no reservation of the keeper's and no other order moves
 * (the first round's but the nonce's fill state and the block's timestamp, and the free balances of
 * the market's tokens when the market is known now), without waiting for them: an order that
 * waits behind its account's earlier ones finds them in the source's memo at its turn. Nothing is
 * returned and nothing thrown: a read that fails is asked again by the order's own risk read.
 */
export function readAheadOf(reads: RiskReads, order: Order): void {
  readAheadOfAccount(reads, order.maker, order.marketId);
}

/** `readAheadOf` for an order of `maker` in `marketId` not made yet (an account that just deposited, say). */
export function readAheadOfAccount(reads: RiskReads, maker: Address, marketId: bigint): void {
  try {
    for (const fact of standingFacts(reads, maker, marketId)) ignoreFailure(fact);
    const market = reads.market(marketId);
    if (isPending(market) || market === undefined) return;
    ignoreFailure(freeBalance(reads, maker, market.base));
    ignoreFailure(freeBalance(reads, maker, market.quote));
  } catch {
    // A source that throws at once: the order's own risk read meets it again and answers it.
  }
}

/**
 * The keeper's read ahead (`EngineOptions.readAhead`) over its cached reads: `readAheadOf` through
 * `orderReads` (the order path's view of `cached`), for a known account only, while the cache is
 * sound. Each fact is read once a block, as the order's own risk read would read it, so what a read
 * ahead costs the node is bounded by what the account's checks cost it already. A stranger's reads
 * wait for its turn and the budget of node work for strangers (`StrangerReadBudget`); while syncs
 * fail every ask is a node call (nothing is cached), so nothing is read ahead. Its asks are not
 * waits of an order (`CachedChainReads.quietly`).
 */
export function keeperReadAhead(
  cached: CachedChainReads,
  orderReads: RiskReads,
  known: (account: Address) => boolean,
): (order: Order) => void {
  return (order) => {
    if (known(order.maker) && !cached.health().failing) cached.quietly(() => readAheadOf(orderReads, order));
  };
}

function ignoreFailure(fact: Fact<unknown>): void {
  if (isPending(fact)) fact.catch(() => undefined);
}

/**
 * The first round's facts of the maker and the market (`readAheadOf` reads them ahead too); `market`
 * when the caller has asked for it already (a source without a memo would read it twice).
 */
function standingFacts(reads: RiskReads, maker: Address, marketId: bigint, market = reads.market(marketId)) {
  return [
    reads.domain(),
    market,
    reads.riskLimits(marketId),
    reads.priceBounds(marketId),
    reads.paused(),
    reads.minNonce(maker),
    reads.pendingMinNonce(maker),
    reads.cancelAfter(maker),
    reads.windowLimit(maker, marketId),
    reads.code(maker),
  ] as const;
}

/** The two rounds of reads, each awaited only if one of its facts is not known yet. */
function riskContextOf(
  reads: RiskReads,
  exchange: Address,
  signed: SignedOrder,
  keeperState: KeeperRiskState,
): Fact<RiskContext> {
  const { order } = signed;
  // The market known now (it almost always is), the maker's balances are asked with the first
  // round, not after it: an account's first order waits for one round trip to the node, not two.
  const market = reads.market(order.marketId);
  const balances = isPending(market) || market === undefined ? undefined : balancesOf(reads, order.maker, market);
  const first = allOf([
    ...standingFacts(reads, order.maker, order.marketId, market),
    reads.filled(order.maker, order.nonce),
    reads.timestamp(),
  ]);
  if (!isPending(first)) return secondRound(reads, exchange, signed, keeperState, first, balances);
  // Awaited by the second round; if the first round fails, nothing awaits it.
  if (balances !== undefined) ignoreFailure(balances);
  return first.then((facts) => secondRound(reads, exchange, signed, keeperState, facts, balances));
}

type FirstRound = [
  ExchangeDomainParameters,
  Market | undefined,
  GetRiskLimitsReturnType | undefined,
  GetPriceBoundsReturnType | undefined,
  boolean,
  bigint,
  bigint,
  bigint,
  GetWindowLimitReturnType,
  Hex | undefined,
  bigint,
  bigint,
];

function secondRound(
  reads: RiskReads,
  exchange: Address,
  signed: SignedOrder,
  keeperState: KeeperRiskState,
  facts: FirstRound,
  /** The maker's free balances of the market's tokens, when asked with the first round. */
  balancesAsked: Fact<{ base: bigint; quote: bigint }> | undefined,
): Fact<RiskContext> {
  const { order, signature } = signed;
  const maker = order.maker;
  const { marketId, nonce } = order;
  const domain = { chainId: keeperState.chainId, verifyingContract: exchange };
  const [
    chainDomain,
    market,
    riskLimits,
    priceBounds,
    paused,
    minNonce,
    pendingMinNonce,
    cancelAfter,
    windowLimit,
    code,
    filled,
    timestamp,
  ] = facts;
  const isContract = code !== undefined && code !== "0x";
  const open = isOpenOrders(keeperState.openOrders) ? keeperState.openOrders : listedOpenOrders(keeperState.openOrders);

  // Second round: what depends on the market's tokens, the other orders' markets, and the signature.
  const otherMarketReads: Fact<Market | undefined>[] = [];
  for (const id of open.marketIds()) {
    if (id !== marketId && !keeperState.markets?.has(id)) otherMarketReads.push(reads.market(id));
  }
  const second = allOf([
    balancesAsked ?? (market === undefined ? { base: 0n, quote: 0n } : balancesOf(reads, maker, market)),
    signatureContextOf(reads, isContract, order, signature, domain),
    allOf(otherMarketReads),
  ]);
  return mapFact(second, ([balances, signatureContext, otherMarkets]) => {
    /** The order's market, else another order's just read, else one the keeper knew (no map built an order). */
    const marketOf = (id: bigint): Market | undefined => {
      if (market !== undefined && market.marketId === id) return market;
      for (const m of otherMarkets) if (m !== undefined && m.marketId === id) return m;
      return keeperState.markets?.get(id);
    };
    return {
      domain,
      chainDomain: { chainId: chainDomain.chainId, verifyingContract: chainDomain.verifyingContract },
      market,
      riskLimits: riskLimits ?? { halted: false, bandBps: 0n, maxLotsPerBlock: 0n },
      priceBounds: priceBounds ?? { available: true, minPriceTicks: 0n, maxPriceTicks: MAX_UINT64 },
      paused,
      balances,
      // A floor raise or a tighter window limit waiting for the firmness delay stops matching at once.
      minNonce: pendingMinNonce > minNonce ? pendingMinNonce : minNonce,
      cancelAfter,
      windowLimit: tighterWindow(windowLimit),
      filled,
      timestamp,
      horizonSeconds: keeperState.horizonSeconds ?? 0n,
      signature: signatureContext,
      reservedByOpenOrders: market === undefined ? { base: 0n, quote: 0n } : open.reserved(marketOf, market),
      nonceInUse: open.nonceInUse(nonce),
    };
  });
}

/** The free balances of the market's two tokens: at once when both are known. */
function balancesOf(reads: RiskReads, maker: Address, market: Market): Fact<{ base: bigint; quote: bigint }> {
  const base = freeBalance(reads, maker, market.base);
  const quote = freeBalance(reads, maker, market.quote);
  if (!isPending(base) && !isPending(quote)) return { base, quote };
  return mapFact(allOf([base, quote]), ([b, q]) => ({ base: b, quote: q }));
}

function isOpenOrders(open: readonly ReservingOrder[] | OpenOrders): open is OpenOrders {
  return !Array.isArray(open);
}

function signatureContextOf(
  reads: RiskReads,
  isContract: boolean,
  order: SignedOrder["order"],
  signature: SignedOrder["signature"],
  domain: { chainId: bigint | number; verifyingContract: Address },
): Fact<SignatureContext> {
  if (isContract) {
    return mapFact(reads.contractApproves(order, signature, domain), (approves) => ({ kind: "contract", approves }));
  }
  if (reads.recoverSigner === undefined) return { kind: "eoa" };
  return mapFact(reads.recoverSigner(order, signature, domain), (signer) => ({ kind: "eoa", signer: signer ?? null }));
}

/**
 * The balance the keeper may match against: the account's balance less its standing withdrawal
 * request (once the firmness delay has passed, `withdraw` takes it whatever the keeper matched).
 */
function freeBalance(reads: RiskReads, account: Address, token: Address): Fact<bigint> {
  const balance = reads.balance(account, token);
  const requested = reads.withdrawalRequested(account, token);
  // Both known (most orders): no array or closure built.
  if (!isPending(balance) && !isPending(requested)) return freeOf(balance, requested);
  return mapFact(allOf([balance, requested]), ([b, r]) => freeOf(b, r));
}

const freeOf = (balance: bigint, requested: bigint) => (balance > requested ? balance - requested : 0n);

/**
 * The window limit a fill matched now must fit: the one in force, or a scheduled change when it is
 * tighter (a lower cap, or a limit where there was none) — in force on-chain after the firmness
 * delay, so a fill landing later meets it. A looser change waits until it is in force.
 */
export function tighterWindow(limit: GetWindowLimitReturnType): GetWindowLimitReturnType {
  if (limit.pendingEffectiveAt === 0n || limit.pendingWindowSeconds === 0n) return limit;
  if (limit.windowSeconds !== 0n && limit.pendingMaxLots >= limit.maxLots) return limit;
  return {
    ...limit,
    maxLots: limit.pendingMaxLots,
    windowSeconds: limit.windowSeconds === 0n ? limit.pendingWindowSeconds : limit.windowSeconds,
  };
}
