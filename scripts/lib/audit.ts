/**
 * The end-of-market audit the demo prints and the end-to-end test asserts, checked against the
 * chain only (the keeper is asked what it reports, never trusted):
 *
 * 1. every trade the keeper reports settled is a `Traded` event of its transaction, and every
 *    `Traded` event is a trade the keeper reports — each exactly once;
 * 2. every account's internal balance of every token equals its deposits, less its withdrawals,
 *    plus what its trades moved, less the fees it paid (the fee recipient: plus every fee) —
 *    recomputed from the events with the contract's exact integer rules;
 * 3. the Exchange holds at least the sum of the internal balances of every token.
 */
import { erc20Abi, getAddress, parseAbiItem, type Address, type Hex, type PublicClient } from "viem";
import { getBalance, getTrades, type Trade } from "@crossbook/sdk";
import type { KeeperClient, KeeperTrade } from "@crossbook/sdk";
import type { Deployment } from "./market";

export interface AuditCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface AuditReport {
  readonly ok: boolean;
  readonly checks: AuditCheck[];
  readonly tradesOnChain: number;
  readonly tradesReportedSettled: number;
  readonly feesCollected: Record<string, bigint>;
}

const DEPOSITED = parseAbiItem("event Deposited(address indexed account, address indexed token, uint256 amount)");
const WITHDRAWN = parseAbiItem("event Withdrawn(address indexed account, address indexed token, uint256 amount)");
const BPS = 10_000n;

function add(map: Map<string, bigint>, account: Address, token: Address, delta: bigint): void {
  const key = `${getAddress(account)}:${getAddress(token)}`;
  map.set(key, (map.get(key) ?? 0n) + delta);
}

/** Every trade the keeper has of a market, newest first, page by page. */
export async function allTrades(keeper: KeeperClient, marketId: bigint): Promise<KeeperTrade[]> {
  const trades: KeeperTrade[] = [];
  for (let before: number | undefined; ;) {
    const page = await keeper.getTrades(marketId, { limit: 1000, before });
    trades.push(...page);
    if (page.length < 1000) return trades;
    before = page[page.length - 1].fillId;
  }
}

/** Runs the three checks. `feeRecipient` is the Exchange's (the deployment's roles.feeRecipient). */
export async function auditMarket(parameters: {
  client: PublicClient;
  deployment: Deployment;
  keeper: KeeperClient;
}): Promise<AuditReport> {
  const { client, deployment, keeper } = parameters;
  const exchange = deployment.exchange;
  const fromBlock = BigInt(deployment.deployBlock);
  const checks: AuditCheck[] = [];

  // ── 1. The keeper's settled trades ⇔ the chain's Traded events.
  const onChain: Trade[] = await getTrades(client, { exchange, fromBlock });
  const reported = (await Promise.all(deployment.markets.map((m) => allTrades(keeper, m.id)))).flat();
  const settled = reported.filter((t) => t.status === "settled");
  const key = (
    tx: Hex | null | undefined,
    maker: Address,
    taker: Address,
    price: bigint,
    lots: bigint,
    market: bigint,
  ) => `${tx}|${getAddress(maker)}|${getAddress(taker)}|${price}|${lots}|${market}`;
  const chainKeys = new Map<string, number>();
  for (const t of onChain) {
    const k = key(t.transactionHash, t.makerOrder.account, t.takerOrder.account, t.priceTicks, t.lots, t.marketId);
    chainKeys.set(k, (chainKeys.get(k) ?? 0) + 1);
  }
  let missing = 0;
  for (const t of settled) {
    const k = key(t.txHash, t.maker, t.taker, t.priceTicks, t.lots, t.marketId);
    const n = chainKeys.get(k) ?? 0;
    if (n === 0) missing++;
    else chainKeys.set(k, n - 1);
  }
  const unreported = [...chainKeys.values()].reduce((a, b) => a + b, 0);
  checks.push({
    name: "every settled fill the keeper reports is a Traded event, once",
    ok: missing === 0,
    detail: `${settled.length} reported settled, ${missing} without a matching Traded event`,
  });
  checks.push({
    name: "every Traded event is a fill the keeper reports settled",
    ok: unreported === 0,
    detail: `${onChain.length} Traded events, ${unreported} not reported by the keeper`,
  });

  // ── 2. Balances recomputed from events.
  const expected = new Map<string, bigint>();
  const [deposits, withdrawals] = await Promise.all([
    client.getLogs({ address: exchange, event: DEPOSITED, fromBlock }),
    client.getLogs({ address: exchange, event: WITHDRAWN, fromBlock }),
  ]);
  for (const d of deposits) add(expected, d.args.account as Address, d.args.token as Address, d.args.amount as bigint);
  for (const w of withdrawals)
    add(expected, w.args.account as Address, w.args.token as Address, -(w.args.amount as bigint));
  const feeRecipient = deployment.roles.feeRecipient as Address;
  const fees: Record<string, bigint> = {};
  for (const t of onChain) {
    const market = deployment.markets.find((m) => m.id === t.marketId);
    if (market === undefined)
      throw new Error(`a Traded event of market ${t.marketId}, which the deployment does not list`);
    const baseAtoms = t.lots * market.lotSize;
    const quoteAtoms = t.lots * t.priceTicks * market.tickSize;
    const makerFee = (quoteAtoms * BigInt(market.makerFeeBps)) / BPS;
    const takerFee = (quoteAtoms * BigInt(market.takerFeeBps)) / BPS;
    const buyer = t.makerIsBuy ? t.makerOrder.account : t.takerOrder.account;
    const seller = t.makerIsBuy ? t.takerOrder.account : t.makerOrder.account;
    const buyerFee = t.makerIsBuy ? makerFee : takerFee;
    const sellerFee = t.makerIsBuy ? takerFee : makerFee;
    add(expected, buyer, market.base, baseAtoms);
    add(expected, buyer, market.quote, -(quoteAtoms + buyerFee));
    add(expected, seller, market.base, -baseAtoms);
    add(expected, seller, market.quote, quoteAtoms - sellerFee);
    add(expected, feeRecipient, market.quote, makerFee + takerFee);
    fees[market.quoteSymbol] = (fees[market.quoteSymbol] ?? 0n) + makerFee + takerFee;
  }
  let wrong = 0;
  const problems: string[] = [];
  const tokens = Object.values(deployment.tokens).map((t) => getAddress(t.address));
  const accounts = new Set<Address>([getAddress(feeRecipient)]);
  for (const k of expected.keys()) accounts.add(k.split(":")[0] as Address);
  const internalSum = new Map<Address, bigint>();
  for (const account of accounts) {
    for (const token of tokens) {
      const actual = await getBalance(client, { exchange, account, token });
      internalSum.set(token, (internalSum.get(token) ?? 0n) + actual);
      const want = expected.get(`${account}:${token}`) ?? 0n;
      if (actual !== want) {
        wrong++;
        if (problems.length < 5) problems.push(`${account} ${token}: on-chain ${actual}, expected ${want}`);
      }
    }
  }
  checks.push({
    name: "every balance = deposits − withdrawals + trades − fees",
    ok: wrong === 0,
    detail:
      wrong === 0
        ? `${accounts.size} accounts × ${tokens.length} tokens match`
        : `${wrong} mismatches: ${problems.join("; ")}`,
  });

  // ── 3. Solvency.
  const short: string[] = [];
  for (const token of tokens) {
    const held = await client.readContract({
      address: token,
      abi: erc20Abi,
      functionName: "balanceOf",
      args: [exchange],
    });
    const owed = internalSum.get(token) ?? 0n;
    if (held < owed) short.push(`${token}: holds ${held}, owes ${owed}`);
  }
  checks.push({
    name: "the Exchange holds at least the sum of internal balances",
    ok: short.length === 0,
    detail: short.length === 0 ? `${tokens.length} tokens covered` : short.join("; "),
  });

  return {
    ok: checks.every((c) => c.ok),
    checks,
    tradesOnChain: onChain.length,
    tradesReportedSettled: settled.length,
    feesCollected: fees,
  };
}
