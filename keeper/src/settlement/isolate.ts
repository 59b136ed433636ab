/**
 * Pure: which fills of a batch a simulation revert blames, from the decoded custom error.
 *
 * The Exchange's keeper-mistake errors name the fill (`fillIndex`) and often the order
 * (`orderIndex`). An error naming an order blames every fill that uses it; an error naming only a
 * fill blames that fill. A blamed fill of a fill-or-kill taker blames the taker's whole run (it
 * executes all or nothing). An error that names no fill blames nothing here: the caller bisects.
 */
import type { DecodedContractError } from "@crossbook/sdk";
import type { PlannedBatch } from "./batcher";

/** Errors that are not the batch's fault: retry later, blame no fill. */
export const TRANSIENT_ERRORS: ReadonlySet<string> = new Set(["EnforcedPause", "InsufficientGasForWallet"]);

/** The prefix of the skip reason of a fill the keeper drops after a failed simulation. */
export const KEEPER_SKIP_PREFIX = "KEEPER_SIMULATION_";

/** Positions (indexes into `batch.fills`) of the fills the error blames, ascending; empty if none named. */
export function blamedFills(batch: PlannedBatch, error: DecodedContractError): number[] {
  if (TRANSIENT_ERRORS.has(error.errorName)) return [];
  const fillIndex = asIndex(error.namedArgs.fillIndex);
  const orderIndex = asIndex(error.namedArgs.orderIndex);
  const blamed = new Set<number>();
  if (orderIndex !== undefined && orderIndex < batch.orders.length) {
    batch.fills.forEach((f, i) => {
      if (Number(f.makerIndex) === orderIndex || Number(f.takerIndex) === orderIndex) blamed.add(i);
    });
  } else if (fillIndex !== undefined && fillIndex < batch.fills.length) {
    blamed.add(fillIndex);
  }
  // A fill-or-kill run goes together.
  for (const i of [...blamed]) {
    if (!batch.fillOrKill[i]) continue;
    const taker = (batch.fills[i] as PlannedBatch["fills"][number]).takerIndex;
    batch.fills.forEach((f, j) => {
      if (f.takerIndex === taker) blamed.add(j);
    });
  }
  return [...blamed].sort((a, b) => a - b);
}

/**
 * The batch's taker groups (positions of fills sharing a taker, contiguous by construction): the
 * units a bisection tries alone.
 */
export function takerGroups(batch: PlannedBatch): number[][] {
  const groups: number[][] = [];
  batch.fills.forEach((f, i) => {
    const last = groups[groups.length - 1];
    if (last !== undefined && batch.fills[last[0] as number]?.takerIndex === f.takerIndex) last.push(i);
    else groups.push([i]);
  });
  return groups;
}

function asIndex(value: unknown): number | undefined {
  if (typeof value === "bigint") return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  return undefined;
}
