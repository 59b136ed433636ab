/**
 * Pure: what a mined `settle` transaction did to each fill of its batch, from its receipt's logs.
 * Testable without a chain: a receipt (or just its logs) in, one outcome per fill out.
 *
 * A fill with a `FillSkipped` event was skipped, with the event's reason name; every other fill of
 * the batch executed. The count of executed fills is checked against the `Traded` events, and a
 * `FillSkipped` naming an index beyond the batch is reported: both are keeper bugs, logged as errors.
 */
import type { Address, Log } from "viem";
import { parseSettlementLogs } from "@crossbook/sdk";
import type { FillOutcome } from "../engine";

export interface ReceiptOutcomes {
  /** One per fill of the batch, in the batch's order. */
  readonly fills: FillOutcome[];
  /** Fills the chain executed. */
  readonly settled: number;
  /** Skipped fills, by reason. */
  readonly skipReasons: Readonly<Record<string, number>>;
  /** What does not add up (a keeper bug to report), one sentence each. */
  readonly problems: readonly string[];
}

/**
 * The outcome of each fill of a batch (`fillIds`, in the order of the `settle` call's `fills`) from
 * the logs of its successful receipt. Logs of other contracts than `exchange` are ignored.
 */
export function receiptOutcomes(
  receipt: { readonly logs: readonly Log[] },
  batch: { readonly fillIds: readonly number[]; readonly exchange: Address },
): ReceiptOutcomes {
  const { trades, skippedFills } = parseSettlementLogs({ logs: receipt.logs, exchange: batch.exchange });
  const problems: string[] = [];
  const reasons = new Map<number, string>();
  for (const s of skippedFills) {
    const id = batch.fillIds[Number(s.fillIndex)];
    if (id === undefined) {
      problems.push(`FillSkipped names fill index ${s.fillIndex}, beyond the batch's ${batch.fillIds.length} fills`);
      continue;
    }
    reasons.set(id, s.reasonName ?? `SkipReason${s.reason}`);
  }
  const fills: FillOutcome[] = batch.fillIds.map((id) => {
    const reason = reasons.get(id);
    return reason === undefined ? { id, settled: true } : { id, settled: false, reason };
  });
  const settled = fills.filter((f) => f.settled).length;
  if (settled !== trades.length) {
    problems.push(
      `${trades.length} Traded events for ${settled} fills without FillSkipped (${skippedFills.length} FillSkipped events)`,
    );
  }
  const skipReasons: Record<string, number> = {};
  for (const r of reasons.values()) skipReasons[r] = (skipReasons[r] ?? 0) + 1;
  return { fills, settled, skipReasons, problems };
}
