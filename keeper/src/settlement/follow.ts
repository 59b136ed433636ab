/**
 * Following the batches sent: recover them from the store after a restart, follow each one block
 * by block (mined? confirmed? stuck? lost? its nonce used by another transaction?), replace a stuck
 * one, and finish a confirmed one (its receipt's outcomes to the engine). Every step ends in a
 * named outcome, reported to the host.
 *
 * What it promises:
 * - No fill is sent twice: a batch's fills go back to pending only when no transaction of its
 *   nonce can still be mined — it reverted, or its nonce was used by a transaction proven not to
 *   be one of its own (found in the block where the account's count passed the nonce), or its
 *   receipt stayed absent `dropAfterBlocks` blocks after the nonce was used (a receipt lookup that
 *   fails once, behind a lagging RPC index, drops nothing).
 * - A replacement raises both fees by the bump, within the caps; when that passes a cap, the batch
 *   is reported once as `replacement-capped`, naming the setting to raise.
 * - A mined batch is reconciled after `confirmations` blocks, from a receipt fetched again then; a
 *   reorg before that sends it back to waiting; one after is reported (reconciled batches are
 *   watched for `reorgWatchBlocks`).
 */
import { parseTransaction, type Address, type Hex, type TransactionReceipt } from "viem";
import type { KeeperConfig } from "../config";
import type { Engine } from "../engine";
import type { Logger } from "../log";
import type { Store, StoredFill } from "../store";
import { canonicalOrder } from "./batcher";
import { receiptOutcomes } from "./receipt";
import { max, message, min, type KeeperTransactions, type SentTx } from "./transactions";
import { Outcome, type SettlementOutcome } from "./types";

/** A batch whose fate is open: its nonce, its transactions (oldest first), and where it was mined. */
interface Inflight {
  readonly nonce: bigint;
  readonly txs: SentTx[];
  /** Fill ids in the order of the `settle` call's `fills`. */
  readonly fillIds: readonly number[];
  /** The head when the batch was first sent (or recovered). */
  readonly firstSentAtHead: bigint;
  /** The head when the newest transaction was sent (or the batch recovered). */
  sentAtHead: bigint;
  mined?: { readonly tx: SentTx; readonly blockNumber: bigint; readonly blockHash: Hex };
  /** The first head at which the nonce was seen used with no receipt of ours. */
  nonceUsedSince?: bigint;
  /** The batch cannot be replaced within the fee caps (reported once): why. */
  capped?: string;
}

/** A reconciled batch, watched for a reorg deeper than the confirmations. */
interface Final {
  readonly batchId: number;
  readonly txHash: Hex;
  readonly blockNumber: bigint;
  readonly blockHash: Hex;
}

/** What the follower asks of settlement. */
export interface FollowerHost {
  /** Logs and reports an outcome. */
  record(outcome: SettlementOutcome): void;
  /** Backs off after a failure; the first block a batch may be sent again. */
  backoff(head: bigint): bigint;
  /** A batch settled: failures are over. */
  settled(): void;
  /** The keeper's next nonce must be read from the node again. */
  forgetNonce(): void;
  /** Runs a store or engine write; a failure is fatal (rethrown as such). */
  write<T>(fn: () => T): T;
}

export interface FollowerOptions {
  readonly store: Store;
  readonly engine: Engine;
  readonly txs: KeeperTransactions;
  readonly exchange: Address;
  readonly config: Pick<KeeperConfig, "fees" | "confirmations">;
  readonly replaceAfterBlocks: number;
  readonly dropAfterBlocks: number;
  readonly reorgWatchBlocks: number;
  readonly clock: () => number;
  readonly log: Logger;
  readonly host: FollowerHost;
}

export class Follower {
  private inflight: Inflight[] = [];
  private finals: Final[] = [];

  constructor(private readonly o: FollowerOptions) {}

  /** Batches in flight (unmined or awaiting confirmations). */
  get size(): number {
    return this.inflight.length;
  }

  /** Whether every batch in flight is mined (a new one may go: a stuck nonce would block it anyway). */
  get allMined(): boolean {
    return this.inflight.every((b) => b.mined !== undefined);
  }

  /** The highest nonce in flight plus one (0 when none). */
  get nextNonce(): bigint {
    return this.inflight.reduce((m, b) => (b.nonce + 1n > m ? b.nonce + 1n : m), 0n);
  }

  /** Why a batch is stuck, if one is. */
  get stuck(): string | undefined {
    return this.inflight.find((b) => b.capped !== undefined && b.mined === undefined)?.capped;
  }

  /**
   * Loads every batch whose fate the store does not know (`store.pendingBatches()`), grouped by
   * nonce; the next `follow` decides each one.
   */
  recover(head: bigint): void {
    const byNonce = new Map<bigint, SentTx[]>();
    const fillsByNonce = new Map<bigint, number[]>();
    for (const b of this.o.store.pendingBatches()) {
      const txs = byNonce.get(b.nonce) ?? [];
      txs.push({
        batchId: b.id,
        txHash: b.txHash,
        ...(b.rawTx === undefined ? {} : { rawTx: b.rawTx }),
        maxFeePerGas: b.maxFeePerGas,
        maxPriorityFeePerGas: b.maxPriorityFeePerGas,
      });
      byNonce.set(b.nonce, txs);
      if (b.fillIds.length > 0) fillsByNonce.set(b.nonce, [...(fillsByNonce.get(b.nonce) ?? []), ...b.fillIds]);
    }
    this.inflight = [...byNonce.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([nonce, txs]) => {
        const fills = (fillsByNonce.get(nonce) ?? []).map((id) => this.o.store.getFill(id) as StoredFill);
        return { nonce, txs, fillIds: canonicalOrder(fills).map((f) => f.id), firstSentAtHead: head, sentAtHead: head };
      });
  }

  /** A batch just sent. */
  add(nonce: bigint, tx: SentTx, fillIds: readonly number[], head: bigint): void {
    this.inflight.push({ nonce, txs: [tx], fillIds, firstSentAtHead: head, sentAtHead: head });
  }

  /** One block: re-checks reconciled batches, then follows every batch in flight. */
  async step(head: bigint): Promise<void> {
    await this.watchFinals(head);
    for (const batch of [...this.inflight]) await this.follow(batch, head);
  }

  private async follow(batch: Inflight, head: bigint): Promise<void> {
    const { txs } = this.o;
    const confirmations = BigInt(this.o.config.confirmations);
    if (batch.mined !== undefined) {
      const receipt = await txs.receipt(batch.mined.tx.txHash);
      if (receipt === undefined || receipt.blockHash !== batch.mined.blockHash) {
        this.o.host.record({
          outcome: Outcome.REORG,
          head,
          batchId: batch.mined.tx.batchId,
          txHash: batch.mined.tx.txHash,
          nonce: batch.nonce,
          fillIds: batch.fillIds,
          blockNumber: batch.mined.blockNumber,
          reason: receipt === undefined ? "receipt gone" : `now in block ${receipt.blockNumber} (${receipt.blockHash})`,
        });
        batch.mined = undefined;
        batch.sentAtHead = head;
      } else {
        if (head - receipt.blockNumber >= confirmations) await this.finish(batch, batch.mined.tx, receipt, head);
        return;
      }
    }
    // Nonce first, receipts second: a transaction mined in between is then seen by its receipt.
    const usedBlock = head >= confirmations ? head - confirmations : 0n;
    const usedCount = await txs.nonceAt(usedBlock);
    for (const tx of [...batch.txs].reverse()) {
      const receipt = await txs.receipt(tx.txHash);
      if (receipt === undefined) continue;
      batch.mined = { tx, blockNumber: receipt.blockNumber, blockHash: receipt.blockHash };
      batch.nonceUsedSince = undefined;
      this.o.log.info(
        { batchId: tx.batchId, txHash: tx.txHash, blockNumber: receipt.blockNumber, status: receipt.status },
        "batch mined; waiting for confirmations",
      );
      if (head - receipt.blockNumber >= confirmations) await this.finish(batch, tx, receipt, head);
      return;
    }
    const current = batch.txs[batch.txs.length - 1] as SentTx;
    if (usedCount > batch.nonce) {
      await this.nonceUsed(batch, current, head, usedBlock);
      return;
    }
    if (!(await txs.known(current.txHash))) {
      if (current.rawTx === undefined) return; // nothing to resend: wait for the nonce to tell
      const refused = await txs.broadcast(current.rawTx);
      if (refused !== undefined) {
        this.o.log.warn({ batchId: current.batchId, txHash: current.txHash, err: message(refused) }, "resend refused");
        return;
      }
      batch.sentAtHead = head;
      this.o.host.record({
        outcome: Outcome.RESENT,
        head,
        batchId: current.batchId,
        txHash: current.txHash,
        nonce: batch.nonce,
        fillIds: batch.fillIds,
      });
      return;
    }
    if (head - batch.sentAtHead >= BigInt(this.o.replaceAfterBlocks)) await this.replace(batch, current, head);
  }

  /**
   * The batch's nonce is used (`confirmations` deep) and no transaction of ours has a receipt. The
   * block where the nonce was used shows which transaction used it: another → dropped; one of ours
   * → mined, its receipt not served yet (wait). When no block can show it, the receipt may stay
   * absent `dropAfterBlocks` blocks before the batch is dropped.
   */
  private async nonceUsed(batch: Inflight, current: SentTx, head: bigint, usedBlock: bigint): Promise<void> {
    batch.nonceUsedSince ??= head;
    const from = batch.firstSentAtHead > 0n ? batch.firstSentAtHead - 1n : 0n;
    const user = await this.o.txs.minedWithNonce(batch.nonce, from < usedBlock ? from : 0n, usedBlock);
    const ours = user !== undefined && batch.txs.some((t) => t.txHash.toLowerCase() === user.hash.toLowerCase());
    if (ours) {
      this.o.log.warn(
        { batchId: current.batchId, txHash: user.hash, block: user.block },
        "the batch's transaction is in the chain but the node serves no receipt yet: waiting",
      );
      return;
    }
    const absent = head - batch.nonceUsedSince;
    if (user === undefined && absent < BigInt(this.o.dropAfterBlocks)) {
      this.o.log.warn(
        { batchId: current.batchId, nonce: batch.nonce, blocks: absent, dropAfterBlocks: this.o.dropAfterBlocks },
        "the batch's nonce is used and no receipt is served, and no block shows by what: waiting",
      );
      return;
    }
    this.o.host.write(() => this.o.store.markBatchDropped(current.batchId, this.o.clock()));
    this.remove(batch);
    this.o.host.forgetNonce();
    this.o.host.record({
      outcome: Outcome.DROPPED,
      head,
      batchId: current.batchId,
      txHash: current.txHash,
      nonce: batch.nonce,
      fillIds: batch.fillIds,
      reason:
        user !== undefined
          ? `nonce ${batch.nonce} used by another transaction, ${user.hash} in block ${user.block}`
          : `nonce ${batch.nonce} used, and no receipt of the batch for ${absent} blocks`,
    });
  }

  private async replace(batch: Inflight, current: SentTx, head: bigint): Promise<void> {
    if (current.rawTx === undefined) return;
    const { fees } = this.o.config;
    const bump = (v: bigint) => (v * BigInt(100 + fees.replacementBumpPercent) + 99n) / 100n;
    const market = await this.o.txs.marketFees();
    // A node takes a replacement only if both fees rise by its bump: at least ours, more if the market did.
    const maxPriorityFeePerGas = max(bump(current.maxPriorityFeePerGas), market.maxPriorityFeePerGas);
    const maxFeePerGas = max(max(bump(current.maxFeePerGas), market.maxFeePerGas), maxPriorityFeePerGas);
    batch.sentAtHead = head; // whatever happens, wait another `replaceAfterBlocks`
    const over = [
      ...(maxPriorityFeePerGas > fees.maxPriorityFeePerGas
        ? [
            `fees.maxPriorityFeePerGas (${fees.maxPriorityFeePerGas} wei; the replacement needs ${maxPriorityFeePerGas})`,
          ]
        : []),
      ...(maxFeePerGas > fees.maxFeePerGas
        ? [`fees.maxFeePerGas (${fees.maxFeePerGas} wei; the replacement needs ${maxFeePerGas})`]
        : []),
    ];
    if (over.length > 0) {
      if (batch.capped !== undefined) return; // reported already
      batch.capped = `batch ${current.batchId} (nonce ${batch.nonce}) is stuck: raise ${over.join(" and ")}, or wait for fees to fall`;
      this.o.host.record({
        outcome: Outcome.REPLACEMENT_CAPPED,
        head,
        batchId: current.batchId,
        txHash: current.txHash,
        nonce: batch.nonce,
        fillIds: batch.fillIds,
        maxFeePerGas: current.maxFeePerGas,
        maxPriorityFeePerGas: current.maxPriorityFeePerGas,
        reason: batch.capped,
      });
      return;
    }
    batch.capped = undefined;
    const old = parseTransaction(current.rawTx);
    const signed = await this.o.txs.sign({
      nonce: batch.nonce,
      data: old.data as Hex,
      gas: old.gas as bigint,
      maxFeePerGas,
      maxPriorityFeePerGas: min(maxPriorityFeePerGas, maxFeePerGas),
    });
    const batchId = this.o.host.write(() => this.o.store.markBatchReplaced(current.batchId, signed, this.o.clock()));
    if (this.o.store.backend === "postgres") await this.o.store.durable(); // recorded before broadcast
    const tx: SentTx = { batchId, ...signed };
    batch.txs.push(tx);
    const refused = await this.o.txs.broadcast(signed.rawTx);
    if (refused !== undefined) {
      this.o.log.warn(
        { batchId, txHash: tx.txHash, err: message(refused) },
        "broadcast refused; the next block checks its fate",
      );
    }
    this.o.host.record({
      outcome: Outcome.REPLACED,
      head,
      batchId,
      txHash: tx.txHash,
      nonce: batch.nonce,
      fillIds: batch.fillIds,
      maxFeePerGas: tx.maxFeePerGas,
      maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
      reason: `replaces ${current.txHash}`,
    });
  }

  /** The batch's transaction `tx` is confirmed: reconcile its fills, or release them if it reverted. */
  private async finish(batch: Inflight, tx: SentTx, receipt: TransactionReceipt, head: bigint): Promise<void> {
    const at = this.o.clock();
    const base = { head, batchId: tx.batchId, txHash: tx.txHash, nonce: batch.nonce, fillIds: batch.fillIds };
    const { store, engine, host } = this.o;
    if (receipt.status !== "success") {
      host.write(() => store.markBatchReverted(tx.batchId, receipt.blockNumber, at));
      this.remove(batch);
      const retryAtBlock = host.backoff(head);
      host.record({
        ...base,
        outcome: Outcome.REVERTED,
        blockNumber: receipt.blockNumber,
        gasUsed: receipt.gasUsed,
        reason: "the settle transaction reverted on-chain",
        retryAtBlock,
      });
      return;
    }
    const outcomes = receiptOutcomes(receipt, { fillIds: batch.fillIds, exchange: this.o.exchange });
    for (const problem of outcomes.problems) this.o.log.error({ ...base, problem }, "settlement mismatch");
    const stored = batch.fillIds.map((id) => store.getFill(id) as StoredFill);
    const last = store.lastReconciledBlock();
    const lastReconciledBlock = last !== undefined && last > receipt.blockNumber ? last : receipt.blockNumber;
    const open = new Set(stored.filter((f) => f.status === "sent").map((f) => f.id));
    if (open.size > 0) {
      if (open.size < stored.length) {
        this.o.log.error({ ...base }, "batch half reconciled: some fills are no longer sent; reconciling the rest");
      }
      host.write(() =>
        engine.reconcile({
          fills: outcomes.fills.filter((f) => open.has(f.id)),
          txHash: tx.txHash,
          blockNumber: receipt.blockNumber,
          lastReconciledBlock,
        }),
      );
    } // else: reconciled before a crash that came before markBatchMined
    host.write(() => store.markBatchMined(tx.batchId, receipt.blockNumber, at));
    this.remove(batch);
    this.finals.push({
      batchId: tx.batchId,
      txHash: tx.txHash,
      blockNumber: receipt.blockNumber,
      blockHash: receipt.blockHash,
    });
    host.settled();
    const skipped = outcomes.fills.length - outcomes.settled;
    host.record({
      ...base,
      outcome: Outcome.SETTLED,
      blockNumber: receipt.blockNumber,
      settled: outcomes.settled,
      skipped,
      skipReasons: outcomes.skipReasons,
      gasUsed: receipt.gasUsed,
      gasPerFill: receipt.gasUsed / BigInt(Math.max(1, batch.fillIds.length)),
      // Match-to-settlement latency: the fills the chain executed, not the ones it skipped.
      latenciesMs: stored
        .filter((f) => outcomes.fills.some((o) => o.id === f.id && o.settled))
        .map((f) => at - f.createdAt),
    });
  }

  /** Re-reads the receipts of recently reconciled batches: one that moved is a reorg beyond the confirmations. */
  private async watchFinals(head: bigint): Promise<void> {
    const horizon = head - BigInt(this.o.reorgWatchBlocks);
    this.finals = this.finals.filter((f) => f.blockNumber > horizon);
    for (const f of [...this.finals]) {
      const receipt = await this.o.txs.receipt(f.txHash);
      if (receipt !== undefined && receipt.blockHash === f.blockHash) continue;
      this.finals = this.finals.filter((x) => x !== f);
      this.o.host.record({
        outcome: Outcome.REORG_BEYOND_CONFIRMATIONS,
        head,
        batchId: f.batchId,
        txHash: f.txHash,
        fillIds: [],
        blockNumber: f.blockNumber,
        reason: receipt === undefined ? "receipt gone" : `now in block ${receipt.blockNumber} (${receipt.blockHash})`,
      });
    }
  }

  private remove(batch: Inflight): void {
    this.inflight = this.inflight.filter((b) => b !== batch);
  }
}
