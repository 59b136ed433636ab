/**
 * The settlement module's seam with metrics and logs: every attempt ends in one named outcome.
 * See keeper/README.md, "Settlement", for what the operator does about each.
 */
import type { Hex } from "viem";

export const Outcome = {
  /** A batch was mined, confirmed and reconciled (its fills settled, or skipped by the chain). */
  SETTLED: "settled",
  /**
   * Fills the keeper skipped before sending: the pre-send check found the chain would skip them (a
   * nonce cancelled on-chain since, an expiry, …: the chain's reason name), or the simulation blamed
   * them (by the error's fill or order index, or by bisection: a taker group that reverts alone;
   * reason `KEEPER_SIMULATION_<Error>`). Their takers are matched again at once.
   */
  SKIPPED: "skipped",
  /**
   * Nothing was sent this block (paused exchange, RPC failure, a revert that bisection could not
   * pin on any part of the batch): backoff.
   */
  RETRY_NEXT_BLOCK: "retry-next-block",
  /** A stuck transaction was replaced: same nonce, both fees bumped. */
  REPLACED: "replaced",
  /**
   * A stuck transaction cannot be replaced: raising both fees by the bump would pass a cap. Said
   * once per batch; the reason names the setting to raise. Settlement's health reports it until the
   * batch is mined.
   */
  REPLACEMENT_CAPPED: "replacement-capped",
  /** The node lost a transaction whose nonce is unused: the same signed bytes were broadcast again. */
  RESENT: "resent",
  /**
   * No transaction of the batch's nonce will be mined — another transaction of the keeper's account
   * was found using the nonce, or the receipt stayed absent `dropAfterBlocks` blocks after the
   * nonce was used: its fills are pending again.
   */
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
  /** The gas limit signed: the gas model's plus the headroom, simulated under; else the node's estimate plus the headroom. */
  readonly gas: bigint;
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
}

/** What readiness and metrics ask of settlement. */
export interface SettlementHealth {
  /** A batch that cannot be replaced (fee caps) and is not mined: what to do about it. */
  readonly stuck?: string;
  /** The keeper account's ETH balance at the last step (wei). */
  readonly balance?: bigint;
  /** The balance is below `minKeeperBalance`: what to do about it. */
  readonly lowBalance?: string;
  /** Settlement stopped on a fatal error (a store write failed). */
  readonly fatal?: string;
}

export interface SettlementEvents {
  outcome: [SettlementOutcome];
  sent: [SentBatch];
  /** A store write failed: settlement has stopped; the process must restart (it rebuilds from the file). */
  fatal: [Error];
}
