/**
 * Pure bisection of a batch whose simulation reverted with an error that blames no fill.
 *
 * The batch is cut into units (its taker groups: a fill-or-kill run is never split). The failing
 * set is halved, each half simulated, and only failing halves are halved again, down to single
 * units. What it promises:
 * - A unit is reported `failing` only when it reverted **alone**, with its own error; nothing
 *   else is ever blamed.
 * - Every part reported `passing` simulated without a revert on its own. When a failing set has
 *   two passing halves (the revert needs both: an interaction), both halves are `passing`: the
 *   caller sends them as separate batches rather than stalling.
 * - Each failing set costs two simulations, so isolating `k` bad units among `n` costs at most
 *   about `2·k·log2(n)`; no more than `maxSimulations` are made. Whatever is left undecided
 *   (budget spent, or a simulation that could not run) is `unresolved`: neither sent nor skipped.
 * - The order of the units is kept in every part, so a part is a valid batch (markets and takers
 *   stay contiguous).
 *
 * The only effect is the injected `simulate`; the planning (`halves`, `bisect`) is pure.
 */

/** A simulation's verdict on a set of units. */
export type Verdict =
  | { readonly ok: true }
  /** Reverted with this (decoded) error name. */
  | { readonly ok: false; readonly errorName: string }
  /** Could not decide (RPC failure, a transient error such as `EnforcedPause`): stop bisecting. */
  | { readonly ok: "unknown"; readonly reason: string };

export interface BisectParameters {
  /** How many units the failing batch has (units are `0 .. units-1`, in batch order). */
  readonly units: number;
  /** The whole batch's own revert: used when it has a single unit (no extra simulation). */
  readonly errorName: string;
  /** Simulates the batch made of these units (ascending). */
  readonly simulate: (units: readonly number[]) => Promise<Verdict>;
  /** The most simulations this bisection may make. */
  readonly maxSimulations: number;
}

export interface BisectionResult {
  /** Single units that revert alone, each with its own error. */
  readonly failing: readonly { readonly unit: number; readonly errorName: string }[];
  /** Sets of units that simulated without a revert, in batch order. */
  readonly passing: readonly (readonly number[])[];
  /** Sets of units left undecided, in batch order. */
  readonly unresolved: readonly (readonly number[])[];
  /** Simulations made. */
  readonly simulations: number;
  /** Why bisection stopped early (a `Verdict.reason`, or the budget), if it did. */
  readonly stoppedBy?: string;
}

/** The two halves of a set of units (the first one the larger when the count is odd). */
export function halves<T>(units: readonly T[]): [T[], T[]] {
  const cut = Math.ceil(units.length / 2);
  return [units.slice(0, cut), units.slice(cut)];
}

/** Bisects a failing batch of `units` units; see the module comment for what it promises. */
export async function bisect(parameters: BisectParameters): Promise<BisectionResult> {
  const { simulate, maxSimulations } = parameters;
  if (!Number.isSafeInteger(parameters.units) || parameters.units < 1) {
    throw new Error(`bisect: a failing batch has at least one unit, got ${parameters.units}`);
  }
  const failing: { unit: number; errorName: string }[] = [];
  const decided: { units: readonly number[]; passing: boolean }[] = [];
  let simulations = 0;
  let stoppedBy: string | undefined;

  /** `set` failed with `errorName`: isolate its failing units. */
  const descend = async (set: readonly number[], errorName: string): Promise<void> => {
    if (set.length === 1) {
      failing.push({ unit: set[0] as number, errorName });
      return;
    }
    for (const half of halves(set)) {
      if (stoppedBy !== undefined || simulations >= maxSimulations) {
        stoppedBy ??= "simulation budget spent";
        decided.push({ units: half, passing: false });
        continue;
      }
      simulations++;
      const verdict = await simulate(half);
      if (verdict.ok === true) decided.push({ units: half, passing: true });
      else if (verdict.ok === false) await descend(half, verdict.errorName);
      else {
        stoppedBy = verdict.reason;
        decided.push({ units: half, passing: false });
      }
    }
  };
  await descend(
    Array.from({ length: parameters.units }, (_, i) => i),
    parameters.errorName,
  );

  const first = (units: readonly number[]) => units[0] as number;
  decided.sort((a, b) => first(a.units) - first(b.units));
  return {
    failing: failing.sort((a, b) => a.unit - b.unit),
    passing: decided.filter((d) => d.passing).map((d) => d.units),
    unresolved: decided.filter((d) => !d.passing).map((d) => d.units),
    simulations,
    ...(stoppedBy === undefined ? {} : { stoppedBy }),
  };
}
