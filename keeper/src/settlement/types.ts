/**
 * The settlement module's seam with metrics and logs: every attempt ends in one named outcome.
 * See keeper/README.md, "Settlement", for what the operator does about each.
 */
import type { Hex } from "viem";

export const Outcome = {
  /** A batch was mined, confirmed and reconciled (its fills settled, or skipped by the chain). */
  SETTLED: "settled",
  /**
   * Simulation blamed some fills (by the error's fill or order index, or by bisection: a taker
   * group that reverts alone): the keeper skipped them (reason `KEEPER_SIMULATION_<Error>`).
   */
  SKIPPED: "skipped",
  /**
   * Nothing was sent this block (paused exchange, RPC failure, a revert that bisection could not
   * pin on any part of the batch): backoff.
   */
  RETRY_NEXT_BLOCK: "retry-next-block",
  /** A stuck transaction was replaced: same nonce, fees bumped. */
  REPLACED: "replaced",
  /** The node lost a transaction whose nonce is unused: the same signed bytes were broadcast again. */
  RESENT: "resent",
  /** The batch's nonce was used by another transaction: its fills are pending again. */
  DROPPED: "dropped",
  /** The batch's transaction was mined and reverted: its fills are pending again; backoff. */
  REVERTED: "reverted",
  /** A mined, not yet confirmed, batch left the chain (or moved to another block): waiting again. */
  REORG: "reorg",
  /** A batch already reconciled is no longer in the chain where it was: needs an operator. */
  REORG_BEYOND_CONFIRMATIONS: "reorg-beyond-confirmations",
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** One attempt's outcome, as logged and as `onOutcome` / the `outcome` event receive it. */
export interface SettlementOutcome {
  readonly outcome: Outcome;
  /** The chain head when the outcome was decided. */
  readonly head: bigint;
  readonly batchId?: number;
  readonly txHash?: Hex;
  readonly nonce?: bigint;
  /** The fills concerned (the batch's, or the ones skipped). */
  readonly fillIds: readonly number[];
  /** For `settled`: fills the chain executed, and fills it skipped (by reason). */
  readonly settled?: number;
  readonly skipped?: number;
  readonly skipReasons?: Readonly<Record<string, number>>;
  readonly blockNumber?: bigint;
  readonly gasUsed?: bigint;
  readonly gasPerFill?: bigint;
  /** For `settled`: per executed fill (skipped ones left out), ms from its match to its reconciliation. */
  readonly latenciesMs?: readonly number[];
  /** For `skipped`, `retry-next-block`, `reverted`: what went wrong (error name or message). */
  readonly reason?: string;
  /** For outcomes with a backoff: the first block at which a new batch may be sent. */
  readonly retryAtBlock?: bigint;
  readonly maxFeePerGas?: bigint;
  readonly maxPriorityFeePerGas?: bigint;
}

/** A batch signed, recorded and broadcast (`sent` event and `onSent`); its fate comes later as an outcome. */
export interface SentBatch {
  /** The chain head when it was sent. */
  readonly head: bigint;
  readonly batchId: number;
  readonly txHash: Hex;
  readonly nonce: bigint;
  /** The batch's fills, in the order of the `settle` call's `fills`. */
  readonly fillIds: readonly number[];
  /** The gas limit signed (the node's estimate plus the headroom). */
  readonly gas: bigint;
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
}

export interface SettlementEvents {
  outcome: [SettlementOutcome];
  sent: [SentBatch];
}
