/**
 * Pure batch building: which pending fills go into the next `settle` call, in which order, and
 * with which `orders` array. No I/O, no clock reads (the caller passes `now`).
 *
 * What it promises:
 * - The fills of one market are contiguous (the contract reverts with `MarketNotContiguous`
 *   otherwise), and the fills of one taker are contiguous, in match (fill id) order — what a
 *   fill-or-kill taker needs (`FillOrKillNotContiguous`, `FillOrKillSizeMismatch`).
 * - A fill-or-kill taker's fills are never split across batches.
 * - Each order appears once in `orders`; fills point at it by index.
 * - The order of a batch's fills is a function of the set of fills alone (`canonicalOrder`): after a
 *   restart, the store's fill ids of a batch give back the exact `fills` array that was sent, so a
 *   `FillSkipped.fillIndex` maps to the right fill.
 */
import type { Hex } from "viem";
import { FILL_OR_KILL, type Fill, type SignedOrder } from "@crossbook/sdk";
import type { StoredFill } from "../store";

/** Gas estimate of a batch before simulation: `base + perFill * fills`. */
export interface GasModel {
  readonly base: bigint;
  readonly perFill: bigint;
}

/**
 * Conservative defaults from the committed gas snapshot (snapshots/gas.json): a one-fill batch
 * with risk limits costs ~180k; each further fill up to ~100k with first-touch storage.
 */
export const DEFAULT_GAS_MODEL: GasModel = { base: 80_000n, perFill: 100_000n };

export interface BatchLimits {
  readonly maxFills: number;
  readonly maxGas: bigint;
  readonly maxWaitMs: number;
}

/** A batch ready for simulation: the `settle` arguments and the fill ids behind them, in the same order. */
export interface PlannedBatch {
  /** The store's fill ids, in `fills` order. */
  readonly fillIds: readonly number[];
  /** `settle`'s `fills`, indexes into `orders`. */
  readonly fills: readonly Fill[];
  readonly orders: readonly SignedOrder[];
  /** The keeper's hash of each entry of `orders`. */
  readonly orderHashes: readonly Hex[];
  /** `fills[i]`'s taker is fill-or-kill. */
  readonly fillOrKill: readonly boolean[];
  readonly estimatedGas: bigint;
  /** `createdAt` of the oldest fill, ms. */
  readonly oldestAt: number;
  /** No more fills fit (count or gas), or more fills are waiting than fit. */
  readonly full: boolean;
}

/** The signed order of a hash, as the store holds it (`store.getOrder`). */
export type OrderLookup = (hash: Hex) => SignedOrder | undefined;

export function estimateGas(fills: number, model: GasModel = DEFAULT_GAS_MODEL): bigint {
  return fills === 0 ? 0n : model.base + model.perFill * BigInt(fills);
}

const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The order in which a set of fills executes: by market (ascending), then by taker (the taker
 * whose first fill is oldest first), then by fill id. Depends on the set only, not its order.
 */
export function canonicalOrder<F extends Pick<StoredFill, "id" | "market" | "takerHash">>(fills: readonly F[]): F[] {
  const firstOfTaker = new Map<string, number>();
  for (const f of fills) {
    const key = `${f.market}:${f.takerHash}`;
    const seen = firstOfTaker.get(key);
    if (seen === undefined || f.id < seen) firstOfTaker.set(key, f.id);
  }
  return [...fills].sort(
    (a, b) =>
      cmp(a.market, b.market) ||
      (firstOfTaker.get(`${a.market}:${a.takerHash}`) as number) -
        (firstOfTaker.get(`${b.market}:${b.takerHash}`) as number) ||
      a.id - b.id,
  );
}

/**
 * The `settle` arguments of a set of fills, in canonical order. Throws when an order is missing
 * from `lookup` (the store lost it: a bug worth stopping for).
 */
export function assemble(
  fills: readonly StoredFill[],
  lookup: OrderLookup,
  model: GasModel = DEFAULT_GAS_MODEL,
  full = false,
): PlannedBatch {
  const ordered = canonicalOrder(fills);
  const orders: SignedOrder[] = [];
  const orderHashes: Hex[] = [];
  const index = new Map<Hex, bigint>();
  const indexOf = (hash: Hex): bigint => {
    const known = index.get(hash);
    if (known !== undefined) return known;
    const signed = lookup(hash);
    if (signed === undefined) throw new Error(`batcher: order ${hash} of a pending fill is not in the store`);
    const i = BigInt(orders.length);
    orders.push(signed);
    orderHashes.push(hash);
    index.set(hash, i);
    return i;
  };
  const out: Fill[] = [];
  const fillOrKill: boolean[] = [];
  for (const f of ordered) {
    const makerIndex = indexOf(f.makerHash);
    const takerIndex = indexOf(f.takerHash);
    out.push({ makerIndex, takerIndex, lots: f.lots });
    fillOrKill.push(((orders[Number(takerIndex)] as SignedOrder).order.flags & FILL_OR_KILL) !== 0n);
  }
  return {
    fillIds: ordered.map((f) => f.id),
    fills: out,
    orders,
    orderHashes,
    fillOrKill,
    estimatedGas: estimateGas(ordered.length, model),
    oldestAt: ordered.reduce((m, f) => Math.min(m, f.createdAt), Number.POSITIVE_INFINITY),
    full,
  };
}

/**
 * The next batch from the pending fills (oldest first, as `store.pendingFills()` gives them):
 * whole taker groups, taken fairly across taker accounts (`fairly`: round-robin, each account's
 * oldest first), while they fit `maxFills` and `maxGas`. A plain taker's group
 * may be cut to fill the batch; a fill-or-kill taker's group never is (an oversize one is sent
 * alone). With `lotsPerBlock` (a market's velocity limit), each market's lots stay within it, as
 * the chain counts them for the block the batch lands in: a group that no longer fits closes its
 * market for this batch (the next block takes it first), other markets go on. `undefined` when
 * nothing is pending.
 */
export function buildBatch(
  pending: readonly StoredFill[],
  lookup: OrderLookup,
  limits: BatchLimits,
  model: GasModel = DEFAULT_GAS_MODEL,
  lotsPerBlock: ReadonlyMap<bigint, bigint> = new Map(),
): PlannedBatch | undefined {
  if (pending.length === 0) return undefined;
  if (limits.maxFills < 1) throw new Error("batcher: maxFills must be at least 1");
  const groups = new Map<string, StoredFill[]>();
  for (const f of [...pending].sort((a, b) => a.id - b.id)) {
    const key = `${f.market}:${f.takerHash}`;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [f]);
    else group.push(f);
  }
  const capacity = Math.max(1, Math.min(limits.maxFills, fitsInGas(limits.maxGas, model)));
  const chosen: StoredFill[] = [];
  const lotsLeft = new Map(lotsPerBlock);
  const closed = new Set<bigint>();
  let full = false;
  for (const group of fairly([...groups.values()], lookup)) {
    const market = (group[0] as StoredFill).market;
    if (closed.has(market)) continue;
    const taker = lookup((group[0] as StoredFill).takerHash);
    const fok = taker !== undefined && (taker.order.flags & FILL_OR_KILL) !== 0n;
    const budget = lotsLeft.get(market);
    // What of the group fits the market's lots left this block: a prefix, or (fill-or-kill) all or nothing.
    let fitting = group;
    if (budget !== undefined) {
      let lots = 0n;
      let n = 0;
      while (n < group.length && lots + (group[n] as StoredFill).lots <= budget)
        lots += (group[n++] as StoredFill).lots;
      fitting = fok && n < group.length ? [] : group.slice(0, n);
      if (fitting.length < group.length) closed.add(market);
      if (fitting.length === 0) continue;
    }
    const room = capacity - chosen.length;
    const taken =
      fitting.length <= room ? fitting : fok ? (chosen.length === 0 ? fitting : []) : fitting.slice(0, room);
    if (taken.length < fitting.length) full = true;
    chosen.push(...taken);
    if (budget !== undefined) lotsLeft.set(market, budget - taken.reduce((sum, f) => sum + f.lots, 0n));
    if (full || chosen.length >= capacity) break;
  }
  if (chosen.length >= capacity) full = true;
  if (chosen.length === 0) return undefined;
  return assemble(chosen, lookup, model, full);
}

/**
 * Pending fills that can never settle: larger than their market's lots per block (the limit was
 * lowered after they matched). The chain would skip them every block.
 */
export function oversizeFills(pending: readonly StoredFill[], lotsPerBlock: ReadonlyMap<bigint, bigint>): StoredFill[] {
  return pending.filter((f) => {
    const limit = lotsPerBlock.get(f.market);
    return limit !== undefined && f.lots > limit;
  });
}

/**
 * Taker groups (oldest first) in the order they go into batches: round-robin over the taker
 * accounts — each account's oldest group, then each one's second, … — accounts in the order of their
 * oldest group. One account that floods the backlog (wash trades) gets its share of each batch,
 * not all of it; each account's own groups keep their order.
 */
function fairly(groups: readonly StoredFill[][], lookup: OrderLookup): StoredFill[][] {
  const byAccount = new Map<string, StoredFill[][]>();
  for (const group of groups) {
    const account = lookup((group[0] as StoredFill).takerHash)?.order.maker.toLowerCase() ?? "";
    const own = byAccount.get(account);
    if (own === undefined) byAccount.set(account, [group]);
    else own.push(group);
  }
  const out: StoredFill[][] = [];
  const queues = [...byAccount.values()];
  for (let round = 0; out.length < groups.length; round++) {
    for (const queue of queues) if (round < queue.length) out.push(queue[round] as StoredFill[]);
  }
  return out;
}

/** How many fills fit in `maxGas` under the model. */
function fitsInGas(maxGas: bigint, model: GasModel): number {
  if (maxGas < model.base + model.perFill) return 1;
  const n = (maxGas - model.base) / model.perFill;
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/** A batch is due when it is full, or when its oldest fill has waited `maxWaitMs`. */
export function isDue(batch: PlannedBatch, limits: BatchLimits, now: number): boolean {
  return batch.full || now - batch.oldestAt >= limits.maxWaitMs;
}
