/**
 * Checking a batch before it is sent: what the chain would do with it, in three steps.
 *
 * 1. The pre-send check: each order's facts that can make the chain skip its fills whatever the
 *    batch does — a nonce whose on-chain cancel is in force by the next block, an expiry, a nonce floor, a cancel-after deadline, a
 *    halted market — read at the chain's head (the cancellations from the events up to it). A fill
 *    the check shows skipped is never sent: it is skipped by the keeper with the chain's reason, and
 *    its taker is matched again (a fill-or-kill taker's whole run goes).
 * 2. The simulation: `eth_call` of `settle` with the gas limit the batch's gas model gives, plus
 *    the headroom; when it passes, that limit is signed as it is (the same execution with the same
 *    gas passes on-chain too), and no `eth_estimateGas` is asked (each costs the node a search of
 *    many executions: 1.2–1.4 s on a saturated node). Only when it fails without an error that names
 *    a cause other than gas (out of gas: a revert without data; `InsufficientGasFor…`) is it simulated
 *    again without a limit, and its gas asked of `eth_estimateGas` (plus the headroom), as before.
 * 3. When the simulation reverts: an error naming an order blames its fills (and the order is a
 *    culprit, pulled before anything is matched against it again); one naming a fill blames that
 *    fill; one naming nothing is bisected over the batch's taker groups (`bisect.ts`). At most
 *    `maxSimulationsPerBlock` simulations per block.
 */
import { encodeFunctionData, type Address, type Hex, type PublicClient } from "viem";
import {
  decodeContractError,
  exchangeAbi,
  settleArgs,
  type GetRiskLimitsReturnType,
  type SkipReasonName,
} from "@crossbook/sdk";
import type { Logger } from "../log";
import type { Fact } from "../risk/fact";
import type { PlannedBatch } from "./batcher";
import { bisect, type Verdict } from "./bisect";
import { blamedFills, KEEPER_SKIP_PREFIX, takerGroups, TRANSIENT_ERRORS } from "./isolate";
import { message } from "./transactions";

/** The chain facts the pre-send check reads (the keeper's `CachedChainReads`: a memo per block). */
export interface ChainFacts {
  /** Moves the facts to the chain's head (and reads the `OrderCancelled` events up to it). */
  sync(): Promise<void>;
  /** The head the facts are of. */
  readonly currentBlock: { readonly number: bigint; readonly timestamp: bigint } | undefined;
  /** Whether a cancel the keeper has read is in force on-chain at `timestamp` (firm matches: not before). */
  cancelInForceBy(maker: Address, nonce: bigint, timestamp: bigint): boolean;
  // Each fact is its value when the facts know it now, else a promise of it (`Fact`).
  minNonce(maker: Address): Fact<bigint>;
  cancelAfter(maker: Address): Fact<bigint>;
  riskLimits(marketId: bigint): Fact<Pick<GetRiskLimitsReturnType, "halted" | "maxLotsPerBlock"> | undefined>;
}

/** One simulation of a `settle` call, as `SettlementOptions.simulate` receives it. */
export interface SimulateCall {
  readonly account: Address;
  readonly to: Address;
  readonly data: Hex;
  /** The store's fill ids behind `data`, in `fills` order. */
  readonly fillIds: readonly number[];
  /** The gas limit to simulate under (absent: the node's cap). */
  readonly gas?: bigint;
}

/** A fill the keeper skips before sending, and why. */
export interface KeeperSkip {
  readonly id: number;
  readonly reason: string;
}

/** What to do with a batch. */
export type Decision =
  /** Send it, with this calldata and gas limit. */
  | { readonly kind: "send"; readonly data: Hex; readonly gas: bigint }
  /** Skip these fills (never sent), pulling the culprits first; then build the batch again. */
  | {
      readonly kind: "skip";
      readonly fills: readonly KeeperSkip[];
      readonly culprits: readonly { readonly hash: Hex; readonly reason: string }[];
      /** For the outcome: the error or the chain's reason. */
      readonly reason: string;
    }
  /** Send exactly these fills (one passing part of a batch whose parts interact). */
  | { readonly kind: "only"; readonly fillIds: readonly number[] }
  /** Nothing to send this block (back off). */
  | { readonly kind: "retry"; readonly reason: string }
  /** The block's simulation budget is spent: the next block goes on (no backoff). */
  | { readonly kind: "wait" };

export interface BatchCheckerOptions {
  readonly client: PublicClient;
  readonly exchange: Address;
  /** The keeper's account: simulations run from it. */
  readonly from: Address;
  readonly facts: ChainFacts;
  readonly gasHeadroomPercent: number;
  readonly maxSimulationsPerBlock: number;
  /** Simulates a `settle` call; throws the node's error when it reverts. Default: `client.call`. */
  readonly simulate?: (call: SimulateCall) => Promise<void>;
  readonly log: Logger;
}

export class BatchChecker {
  /** Simulations left in the current block. */
  private simulationsLeft = 0;

  constructor(private readonly o: BatchCheckerOptions) {}

  /** A new block: a new simulation budget. */
  newBlock(): void {
    this.simulationsLeft = this.o.maxSimulationsPerBlock;
  }

  /** What to do with `batch`; `part` builds the batch of a subset of its fills (for bisection). */
  async check(batch: PlannedBatch, part: (fillIds: readonly number[]) => PlannedBatch): Promise<Decision> {
    const predicted = await this.predictSkips(batch);
    if (predicted.length > 0) {
      const reasons = [...new Set(predicted.map((s) => s.reason))].join(", ");
      return { kind: "skip", fills: predicted, culprits: [], reason: reasons };
    }
    if (this.simulationsLeft <= 0) {
      this.o.log.warn(
        { fillIds: batch.fillIds, maxSimulationsPerBlock: this.o.maxSimulationsPerBlock },
        "simulation budget of this block spent; the next block goes on",
      );
      return { kind: "wait" };
    }
    const data = calldata(batch);
    const limit = (batch.estimatedGas * BigInt(100 + this.o.gasHeadroomPercent)) / 100n;
    try {
      await this.simulate(batch.fillIds, data, limit);
      return { kind: "send", data, gas: limit };
    } catch (error) {
      // A named cause other than gas fails the same way without a limit: answered at once.
      const decoded = decodeContractError({ error });
      if (decoded !== undefined && !GAS_ERRORS.has(decoded.errorName)) return this.onFailure(batch, error, part);
      if (this.simulationsLeft <= 0) return { kind: "wait" };
    }
    try {
      await this.simulate(batch.fillIds, data);
      const gas = await this.o.client.estimateGas({ account: this.o.from, to: this.o.exchange, data });
      return { kind: "send", data, gas: (gas * BigInt(100 + this.o.gasHeadroomPercent)) / 100n };
    } catch (error) {
      return this.onFailure(batch, error, part);
    }
  }

  /**
   * The fills the chain would skip for a fact of one of their orders, read at the head: the maker's
   * reasons first, then the taker's, then the market's. A fill-or-kill taker's run goes whole.
   */
  private async predictSkips(batch: PlannedBatch): Promise<KeeperSkip[]> {
    const facts = this.o.facts;
    try {
      await facts.sync();
    } catch (error) {
      // The facts fall back to direct reads; the chain catches whatever they miss.
      this.o.log.warn({ err: message(error) }, "pre-send check: the chain's events could not be read");
    }
    const head = facts.currentBlock;
    if (head === undefined) return [];
    // A transaction is mined in a later block, whose timestamp is at least one more.
    const next = head.timestamp + 1n;
    const byOrder = new Map<number, Promise<string | undefined>>();
    const orderProblem = (index: number) => {
      let known = byOrder.get(index);
      if (known === undefined) {
        const { order } = batch.orders[index] as PlannedBatch["orders"][number];
        known = (async () => {
          // A cancel asked on-chain but not in force yet does not stop a fill matched before it (firm).
          if (facts.cancelInForceBy(order.maker, order.nonce, next)) return "Cancelled";
          if (order.expiry < next) return "Expired";
          if (order.nonce < (await facts.minNonce(order.maker))) return "NonceBelowFloor";
          const deadline = await facts.cancelAfter(order.maker);
          if (deadline !== 0n && next > deadline) return "CancelAfterPassed";
          return undefined;
        })();
        byOrder.set(index, known);
      }
      return known;
    };
    const skips = new Map<number, string>();
    for (let i = 0; i < batch.fills.length; i++) {
      const fill = batch.fills[i] as PlannedBatch["fills"][number];
      const market = (batch.orders[Number(fill.makerIndex)] as PlannedBatch["orders"][number]).order.marketId;
      const maker = await orderProblem(Number(fill.makerIndex));
      const taker = maker === undefined ? await orderProblem(Number(fill.takerIndex)) : undefined;
      const halted = maker === undefined && taker === undefined && (await facts.riskLimits(market))?.halted === true;
      const reason: SkipReasonName | undefined =
        maker !== undefined
          ? (`Maker${maker}` as SkipReasonName)
          : taker !== undefined
            ? (`Taker${taker}` as SkipReasonName)
            : halted
              ? "MarketHalted"
              : undefined;
      if (reason !== undefined) skips.set(i, reason);
    }
    // A fill-or-kill run executes whole or not at all: the rest of a run with a skipped fill goes too.
    for (const i of [...skips.keys()]) {
      if (!batch.fillOrKill[i]) continue;
      const taker = (batch.fills[i] as PlannedBatch["fills"][number]).takerIndex;
      batch.fills.forEach((f, j) => {
        if (f.takerIndex === taker && !skips.has(j)) skips.set(j, "FillOrKillIncomplete");
      });
    }
    return [...skips.entries()]
      .sort(([a], [b]) => a - b)
      .map(([i, reason]) => ({ id: batch.fillIds[i] as number, reason }));
  }

  /**
   * A simulation failed: skip the fills the error blames, or bisect when it blames none (a revert
   * without data too); a transient error or a failure to answer ends the step with a backoff.
   */
  private async onFailure(
    batch: PlannedBatch,
    error: unknown,
    part: (fillIds: readonly number[]) => PlannedBatch,
  ): Promise<Decision> {
    const decoded = decodeContractError({ error });
    if (decoded === undefined) {
      return isRevert(error) ? this.bisect(batch, "Revert", part) : { kind: "retry", reason: message(error) };
    }
    if (TRANSIENT_ERRORS.has(decoded.errorName)) return { kind: "retry", reason: decoded.errorName };
    const blamed = blamedFills(batch, decoded);
    if (blamed.length === 0) return this.bisect(batch, decoded.errorName, part);
    const reason = `${KEEPER_SKIP_PREFIX}${decoded.errorName}`;
    // An order the error names (a bad signature, say) would rest again and be matched again: it goes first.
    const named = decoded.namedArgs.orderIndex;
    const culprit = typeof named === "bigint" ? batch.orderHashes[Number(named)] : undefined;
    return {
      kind: "skip",
      fills: blamed.map((i) => ({ id: batch.fillIds[i] as number, reason })),
      culprits: culprit === undefined ? [] : [{ hash: culprit, reason }],
      reason,
    };
  }

  /**
   * The batch reverted with `errorName`, which blames no fill: bisect its taker groups. Groups
   * that revert alone are skipped; if none does but parts pass alone, the first part is sent
   * (the rest follow from the next block); if nothing was learnt, back off.
   */
  private async bisect(
    batch: PlannedBatch,
    errorName: string,
    part: (fillIds: readonly number[]) => PlannedBatch,
  ): Promise<Decision> {
    const groups = takerGroups(batch);
    const fillIdsOf = (units: readonly number[]) =>
      units.flatMap((u) => (groups[u] as number[]).map((i) => batch.fillIds[i] as number));
    const result = await bisect({
      units: groups.length,
      errorName,
      maxSimulations: this.simulationsLeft,
      simulate: async (units): Promise<Verdict> => {
        const planned = part(fillIdsOf(units));
        try {
          await this.simulate(planned.fillIds, calldata(planned));
          return { ok: true };
        } catch (error) {
          return verdictOf(error);
        }
      },
    });
    this.o.log.info(
      {
        errorName,
        fillIds: batch.fillIds,
        groups: groups.length,
        simulations: result.simulations,
        failing: result.failing,
        passing: result.passing.length,
        unresolved: result.unresolved.length,
        stoppedBy: result.stoppedBy,
      },
      "simulation revert named no fill: bisected the batch's taker groups",
    );
    if (result.failing.length > 0) {
      const fills = result.failing.flatMap(({ unit, errorName: name }) =>
        fillIdsOf([unit]).map((id) => ({ id, reason: `${KEEPER_SKIP_PREFIX}${name}` })),
      );
      return { kind: "skip", fills, culprits: [], reason: [...new Set(fills.map((f) => f.reason))].join(", ") };
    }
    const first = result.passing[0];
    if (first !== undefined) {
      this.o.log.warn(
        { errorName, fillIds: batch.fillIds, parts: result.passing.map(fillIdsOf) },
        "the batch reverts but no taker group does alone: sending its parts as separate batches",
      );
      return { kind: "only", fillIds: fillIdsOf(first) };
    }
    this.o.log.error(
      { errorName, fillIds: batch.fillIds, stoppedBy: result.stoppedBy },
      "simulation reverted, and bisection pinned it on no part of the batch",
    );
    return { kind: "retry", reason: result.stoppedBy === undefined ? errorName : `${errorName} (${result.stoppedBy})` };
  }

  /** One `eth_call` of `settle` (under `gas` when given), counted against the block's budget; throws on a revert. */
  private async simulate(fillIds: readonly number[], data: Hex, gas?: bigint): Promise<void> {
    this.simulationsLeft--;
    const call: SimulateCall = {
      account: this.o.from,
      to: this.o.exchange,
      data,
      fillIds,
      ...(gas === undefined ? {} : { gas }),
    };
    if (this.o.simulate !== undefined) await this.o.simulate(call);
    else
      await this.o.client.call({
        account: call.account,
        to: call.to,
        data: call.data,
        ...(gas === undefined ? {} : { gas }),
      });
  }
}

/** The errors of a call given too little gas (beside a revert without data: out of gas). */
const GAS_ERRORS: ReadonlySet<string> = new Set(["InsufficientGasForWallet", "InsufficientGasForPriceFeed"]);

/** The `settle` calldata of a planned batch. */
export function calldata(batch: PlannedBatch): Hex {
  return encodeFunctionData({ abi: exchangeAbi, functionName: "settle", args: settleArgs(batch) });
}

/** A sub-simulation's verdict: a decoded revert fails; a revert without known data fails as `Revert`. */
function verdictOf(error: unknown): Verdict {
  const decoded = decodeContractError({ error });
  if (decoded !== undefined) {
    return TRANSIENT_ERRORS.has(decoded.errorName)
      ? { ok: "unknown", reason: decoded.errorName }
      : { ok: false, errorName: decoded.errorName };
  }
  return isRevert(error) ? { ok: false, errorName: "Revert" } : { ok: "unknown", reason: message(error) };
}

/** Whether the node said the call reverted (as opposed to failing to answer). */
function isRevert(error: unknown, depth = 0): boolean {
  if (typeof error !== "object" || error === null || depth > 8) return false;
  const e = error as { name?: unknown; cause?: unknown };
  if (e.name === "ExecutionRevertedError" || e.name === "ContractFunctionRevertedError") return true;
  return isRevert(e.cause, depth + 1);
}
