/**
 * Settlement: turns the store's pending fills into `settle` transactions and their receipts back
 * into the store and the books (through `Engine.reconcile`), one step per new block.
 *
 * What it promises:
 * - A batch is simulated (`eth_call`, then `eth_estimateGas`) before it is sent; fills a revert
 *   blames are skipped (`KEEPER_SIMULATION_<Error>`) so they never block the queue. A revert that
 *   names no fill is bisected over the batch's taker groups (`bisect.ts`): only groups that revert
 *   alone are skipped; when the batch reverts but its halves do not, the halves go as separate
 *   batches. At most `maxSimulationsPerBlock` simulations are made per block.
 * - A transaction is signed locally and recorded in the store (`markBatchSent`, with its raw bytes)
 *   before it is broadcast: after a crash, its fate is looked up, never guessed.
 * - At most one batch is unmined at a time; its nonce is tracked here. A batch not mined after
 *   `replaceAfterBlocks` is replaced (same nonce, fees bumped, within the caps); one the node lost
 *   is broadcast again unchanged; one whose nonce was used by another transaction (for
 *   `confirmations` blocks) is dropped and its fills become pending again.
 * - A mined batch is reconciled after `confirmations` blocks, from a receipt fetched again then: a
 *   reorg before that sends it back to waiting; one after is detected and logged as an error.
 * - No fill is sent twice: a fill goes back to pending only when no transaction of its nonce can
 *   still be mined (reverted, or the nonce consumed by another transaction).
 * - Every step ends in a named `Outcome`, logged and emitted (`outcome` event and `onOutcome`);
 *   every batch sent is reported once (`sent` event and `onSent`).
 */
import { EventEmitter } from "node:events";
import {
  encodeFunctionData,
  keccak256,
  parseTransaction,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type TransactionReceipt,
} from "viem";
import { decodeContractError, exchangeAbi, parseSettlementLogs, settleArgs, type SignedOrder } from "@crossbook/sdk";
import type { KeeperConfig } from "../config";
import type { Engine, FillOutcome, Logger } from "../engine";
import { silentLogger } from "../engine";
import type { Store, StoredFill } from "../store";
import {
  assemble,
  buildBatch,
  canonicalOrder,
  DEFAULT_GAS_MODEL,
  isDue,
  type GasModel,
  type PlannedBatch,
} from "./batcher";
import { bisect, type Verdict } from "./bisect";
import { blamedFills, KEEPER_SKIP_PREFIX, takerGroups, TRANSIENT_ERRORS } from "./isolate";
import { Outcome, type SentBatch, type SettlementEvents, type SettlementOutcome } from "./types";

/** One simulation of a `settle` call, as `SettlementOptions.simulate` receives it. */
export interface SimulateCall {
  readonly account: Address;
  readonly to: Address;
  readonly data: Hex;
  /** The store's fill ids behind `data`, in `fills` order. */
  readonly fillIds: readonly number[];
}

export interface SettlementOptions {
  readonly engine: Engine;
  readonly store: Store;
  /** Reads the chain and broadcasts raw transactions. */
  readonly client: PublicClient;
  /** The keeper's account (it holds KEEPER_ROLE); signs locally. */
  readonly account: LocalAccount;
  readonly exchange: Address;
  readonly config: Pick<KeeperConfig, "batch" | "fees" | "confirmations">;
  /** Blocks without a receipt before a transaction is replaced (default 3). */
  readonly replaceAfterBlocks?: number;
  /** Percent added to the node's gas estimate (default 25): ERC-1271 wallets need their allowance. */
  readonly gasHeadroomPercent?: number;
  readonly gasModel?: GasModel;
  /** How many blocks after reconciliation a batch is still checked for a deep reorg (default 64). */
  readonly reorgWatchBlocks?: number;
  /** Most `eth_call` simulations in one block, bisection included (default 64). */
  readonly maxSimulationsPerBlock?: number;
  /**
   * Simulates a `settle` call; resolves when it would succeed, throws the node's error when it
   * reverts. Default: `client.call`. A seam for tests (a revert only some combination triggers).
   */
  readonly simulate?: (call: SimulateCall) => Promise<void>;
  /** Longest backoff, in blocks (default 32). */
  readonly maxBackoffBlocks?: number;
  /** Calls `onBlock` on each new block; returns the unsubscribe. Default: `client.watchBlockNumber`. */
  readonly watchBlocks?: (onBlock: () => void) => () => void;
  readonly clock?: () => number;
  readonly log?: Logger;
  readonly onOutcome?: (outcome: SettlementOutcome) => void;
  /** Called once per batch sent (signed, recorded, broadcast); replacements are outcomes, not sends. */
  readonly onSent?: (sent: SentBatch) => void;
}

/** What a failed simulation leads to in `sendNext`. */
type Next =
  /** Some fills were skipped: build the batch again without them. */
  | { readonly kind: "again" }
  /** Send exactly these fills (one passing part of a batch whose parts interact). */
  | { readonly kind: "only"; readonly fillIds: readonly number[] }
  /** The step ends (backoff recorded). */
  | { readonly kind: "stop" };

/** One signed transaction of a batch's nonce. */
interface SentTx {
  readonly batchId: number;
  readonly txHash: Hex;
  readonly rawTx?: Hex;
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
}

/** A batch whose fate is open: its nonce, its transactions (oldest first), and where it was mined. */
interface Inflight {
  readonly nonce: bigint;
  readonly txs: SentTx[];
  /** Fill ids in the order of the `settle` call's `fills`. */
  readonly fillIds: readonly number[];
  /** The head when the newest transaction was sent (or the batch recovered). */
  sentAtHead: bigint;
  mined?: { readonly tx: SentTx; readonly blockNumber: bigint; readonly blockHash: Hex };
}

/** A reconciled batch, watched for a reorg deeper than the confirmations. */
interface Final {
  readonly batchId: number;
  readonly txHash: Hex;
  readonly blockNumber: bigint;
  readonly blockHash: Hex;
}

export class Settlement extends EventEmitter<SettlementEvents> {
  private readonly o: Required<
    Pick<
      SettlementOptions,
      | "replaceAfterBlocks"
      | "gasHeadroomPercent"
      | "gasModel"
      | "reorgWatchBlocks"
      | "maxBackoffBlocks"
      | "maxSimulationsPerBlock"
    >
  > &
    SettlementOptions;
  private readonly clock: () => number;
  private readonly log: Logger;
  private inflight: Inflight[] = [];
  private finals: Final[] = [];
  private nextNonce: bigint | undefined;
  private chainId: number | undefined;
  private failures = 0;
  private notBefore = 0n;
  private running: Promise<void> | undefined;
  private again = false;
  private unwatch: (() => void) | undefined;
  /** Simulations left in the current step. */
  private simulationsLeft = 0;

  constructor(options: SettlementOptions) {
    super();
    this.o = {
      replaceAfterBlocks: 3,
      gasHeadroomPercent: 25,
      gasModel: DEFAULT_GAS_MODEL,
      reorgWatchBlocks: 64,
      maxBackoffBlocks: 32,
      maxSimulationsPerBlock: 64,
      ...options,
    };
    for (const [name, value, least] of [
      ["replaceAfterBlocks", this.o.replaceAfterBlocks, 1],
      ["gasHeadroomPercent", this.o.gasHeadroomPercent, 0],
      ["maxSimulationsPerBlock", this.o.maxSimulationsPerBlock, 1],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < least) {
        throw new Error(`Settlement: ${name} must be an integer of at least ${least}, got ${value}`);
      }
    }
    this.clock = options.clock ?? Date.now;
    this.log = options.log ?? silentLogger;
  }

  /**
   * Recovers the batches the store says were sent (see `recover`), then steps on every new block.
   */
  async start(): Promise<void> {
    await this.recover();
    await this.tick();
    const watch =
      this.o.watchBlocks ??
      ((onBlock: () => void) =>
        this.o.client.watchBlockNumber({ onBlockNumber: () => onBlock(), emitMissed: false, poll: true }));
    this.unwatch = watch(() => void this.tick());
  }

  /** Stops watching blocks and waits for the step in progress. Nothing is lost: the store has it all. */
  async stop(): Promise<void> {
    this.unwatch?.();
    this.unwatch = undefined;
    this.again = false;
    await this.running;
  }

  /** The batches in flight (unmined or awaiting confirmations). */
  get inFlight(): number {
    return this.inflight.length;
  }

  /**
   * Loads every batch whose fate the store does not know (`store.pendingBatches()`), grouped by
   * nonce, and reads the nonce to start from. The next `tick` then decides each one: a receipt of
   * any of its transactions → mined (reconciled after the confirmations); none, and its nonce used
   * for `confirmations` blocks → dropped (fills pending again); none, and the nonce unused → the
   * stored raw transaction is broadcast again if the node does not have it.
   */
  async recover(): Promise<void> {
    const client = this.o.client;
    this.chainId = await client.getChainId();
    const head = await client.getBlockNumber({ cacheTime: 0 });
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
        return { nonce, txs, fillIds: canonicalOrder(fills).map((f) => f.id), sentAtHead: head };
      });
    const pendingCount = BigInt(await client.getTransactionCount({ address: this.address, blockTag: "pending" }));
    const maxStored = this.inflight.reduce((m, b) => (b.nonce + 1n > m ? b.nonce + 1n : m), 0n);
    this.nextNonce = pendingCount > maxStored ? pendingCount : maxStored;
    this.log.info(
      { batches: this.inflight.length, nonces: this.inflight.map((b) => b.nonce), nextNonce: this.nextNonce, head },
      "settlement recovered the batches in flight",
    );
  }

  /**
   * One step: follows every batch in flight, then sends the next due batch if none is unmined.
   * Steps never overlap; a block that arrives during a step triggers one more step after it.
   */
  tick(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.step();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private get address(): Address {
    return this.o.account.address;
  }

  private async step(): Promise<void> {
    if (this.chainId === undefined) await this.recover();
    let head: bigint;
    try {
      head = await this.o.client.getBlockNumber({ cacheTime: 0 });
    } catch (error) {
      this.log.warn({ err: message(error) }, "settlement could not read the head; next block");
      return;
    }
    try {
      await this.watchFinals(head);
      for (const batch of [...this.inflight]) await this.follow(batch, head);
      if (this.inflight.every((b) => b.mined !== undefined) && head >= this.notBefore) await this.sendNext(head);
    } catch (error) {
      // An RPC failure mid-step: the store is consistent after each write; the next block picks up.
      this.backoff(head);
      this.record({
        outcome: Outcome.RETRY_NEXT_BLOCK,
        head,
        fillIds: [],
        reason: message(error),
        retryAtBlock: this.notBefore,
      });
    }
  }

  // ------------------------------------------------------------ in flight

  private async follow(batch: Inflight, head: bigint): Promise<void> {
    const confirmations = BigInt(this.o.config.confirmations);
    if (batch.mined !== undefined) {
      const receipt = await this.receipt(batch.mined.tx.txHash);
      if (receipt === undefined || receipt.blockHash !== batch.mined.blockHash) {
        this.record({
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
    const usedCount = BigInt(
      await this.o.client.getTransactionCount({ address: this.address, blockNumber: usedBlock }),
    );
    for (const tx of [...batch.txs].reverse()) {
      const receipt = await this.receipt(tx.txHash);
      if (receipt === undefined) continue;
      batch.mined = { tx, blockNumber: receipt.blockNumber, blockHash: receipt.blockHash };
      this.log.info(
        { batchId: tx.batchId, txHash: tx.txHash, blockNumber: receipt.blockNumber, status: receipt.status },
        "batch mined; waiting for confirmations",
      );
      if (head - receipt.blockNumber >= confirmations) await this.finish(batch, tx, receipt, head);
      return;
    }
    const current = batch.txs[batch.txs.length - 1] as SentTx;
    if (usedCount > batch.nonce) {
      // None of this nonce's transactions is in the chain, and the nonce has been used for
      // `confirmations` blocks by another transaction: none of them can be mined any more.
      this.o.store.markBatchDropped(current.batchId, this.clock());
      this.remove(batch);
      this.nextNonce = undefined; // read again from the node before the next send
      this.record({
        outcome: Outcome.DROPPED,
        head,
        batchId: current.batchId,
        txHash: current.txHash,
        nonce: batch.nonce,
        fillIds: batch.fillIds,
        reason: `nonce ${batch.nonce} used by another transaction`,
      });
      return;
    }
    if (!(await this.known(current.txHash))) {
      if (current.rawTx === undefined) return; // nothing to resend: wait for the nonce to tell
      try {
        await this.o.client.sendRawTransaction({ serializedTransaction: current.rawTx });
        batch.sentAtHead = head;
        this.record({
          outcome: Outcome.RESENT,
          head,
          batchId: current.batchId,
          txHash: current.txHash,
          nonce: batch.nonce,
          fillIds: batch.fillIds,
        });
      } catch (error) {
        this.log.warn({ batchId: current.batchId, txHash: current.txHash, err: message(error) }, "resend refused");
      }
      return;
    }
    if (head - batch.sentAtHead >= BigInt(this.o.replaceAfterBlocks)) await this.replace(batch, current, head);
  }

  private async replace(batch: Inflight, current: SentTx, head: bigint): Promise<void> {
    if (current.rawTx === undefined) return;
    const { fees } = this.o.config;
    const bump = (v: bigint) => (v * BigInt(100 + fees.replacementBumpPercent) + 99n) / 100n;
    const wanted = {
      maxFeePerGas: bump(current.maxFeePerGas),
      maxPriorityFeePerGas: bump(current.maxPriorityFeePerGas),
    };
    const market = await this.marketFees();
    const maxPriorityFeePerGas = min(
      max(wanted.maxPriorityFeePerGas, market.maxPriorityFeePerGas),
      fees.maxPriorityFeePerGas,
    );
    const maxFeePerGas = min(max(wanted.maxFeePerGas, market.maxFeePerGas), fees.maxFeePerGas);
    batch.sentAtHead = head; // whatever happens, wait another `replaceAfterBlocks`
    if (maxFeePerGas < wanted.maxFeePerGas || maxPriorityFeePerGas < wanted.maxPriorityFeePerGas) {
      this.log.warn(
        { batchId: current.batchId, txHash: current.txHash, wanted, caps: fees },
        "stuck batch cannot be replaced: the fee caps are reached",
      );
      return;
    }
    const old = parseTransaction(current.rawTx);
    const signed = await this.sign({
      nonce: batch.nonce,
      data: old.data as Hex,
      gas: old.gas as bigint,
      maxFeePerGas,
      maxPriorityFeePerGas: min(maxPriorityFeePerGas, maxFeePerGas),
    });
    const batchId = this.o.store.markBatchReplaced(current.batchId, signed.record, this.clock());
    const tx: SentTx = { batchId, ...signed.record };
    batch.txs.push(tx);
    await this.broadcast(tx);
    this.record({
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
    const at = this.clock();
    const base = { head, batchId: tx.batchId, txHash: tx.txHash, nonce: batch.nonce, fillIds: batch.fillIds };
    this.remove(batch);
    if (receipt.status !== "success") {
      this.o.store.markBatchReverted(tx.batchId, receipt.blockNumber, at);
      this.backoff(head);
      this.record({
        ...base,
        outcome: Outcome.REVERTED,
        blockNumber: receipt.blockNumber,
        gasUsed: receipt.gasUsed,
        reason: "the settle transaction reverted on-chain",
        retryAtBlock: this.notBefore,
      });
      return;
    }
    const { trades, skippedFills } = parseSettlementLogs({ logs: receipt.logs, exchange: this.o.exchange });
    const reasons = new Map<number, string>();
    for (const s of skippedFills) {
      const id = batch.fillIds[Number(s.fillIndex)];
      if (id === undefined) {
        this.log.error({ ...base, fillIndex: s.fillIndex }, "FillSkipped names a fill index beyond the batch");
        continue;
      }
      reasons.set(id, s.reasonName ?? `SkipReason${s.reason}`);
    }
    const outcomes: FillOutcome[] = batch.fillIds.map((id) =>
      reasons.has(id) ? { id, settled: false, reason: reasons.get(id) as string } : { id, settled: true },
    );
    const settled = outcomes.filter((f) => f.settled).length;
    if (settled !== trades.length) {
      this.log.error(
        { ...base, expectedTrades: settled, tradedEvents: trades.length, skippedEvents: skippedFills.length },
        "settlement mismatch: Traded events do not match the fills without FillSkipped",
      );
    }
    const stored = batch.fillIds.map((id) => this.o.store.getFill(id) as StoredFill);
    const last = this.o.store.lastReconciledBlock();
    const lastReconciledBlock = last !== undefined && last > receipt.blockNumber ? last : receipt.blockNumber;
    if (stored.every((f) => f.status === "sent")) {
      this.o.engine.reconcile({
        fills: outcomes,
        txHash: tx.txHash,
        blockNumber: receipt.blockNumber,
        lastReconciledBlock,
      });
    } else if (stored.some((f) => f.status === "sent")) {
      this.log.error({ ...base }, "batch half reconciled: some fills are no longer sent; reconciling the rest");
      const open = new Set(stored.filter((f) => f.status === "sent").map((f) => f.id));
      this.o.engine.reconcile({
        fills: outcomes.filter((f) => open.has(f.id)),
        txHash: tx.txHash,
        blockNumber: receipt.blockNumber,
        lastReconciledBlock,
      });
    } // else: reconciled before a crash that came before markBatchMined
    this.o.store.markBatchMined(tx.batchId, receipt.blockNumber, at);
    this.finals.push({
      batchId: tx.batchId,
      txHash: tx.txHash,
      blockNumber: receipt.blockNumber,
      blockHash: receipt.blockHash,
    });
    this.failures = 0;
    const skipReasons: Record<string, number> = {};
    for (const r of reasons.values()) skipReasons[r] = (skipReasons[r] ?? 0) + 1;
    this.record({
      ...base,
      outcome: Outcome.SETTLED,
      blockNumber: receipt.blockNumber,
      settled,
      skipped: reasons.size,
      skipReasons,
      gasUsed: receipt.gasUsed,
      gasPerFill: receipt.gasUsed / BigInt(Math.max(1, batch.fillIds.length)),
      // Order-to-settlement latency: the fills the chain executed, not the ones it skipped.
      latenciesMs: stored.filter((f) => !reasons.has(f.id)).map((f) => at - f.createdAt),
    });
  }

  /** Re-reads the receipts of recently reconciled batches: one that moved is a reorg beyond the confirmations. */
  private async watchFinals(head: bigint): Promise<void> {
    const horizon = head - BigInt(this.o.reorgWatchBlocks);
    this.finals = this.finals.filter((f) => f.blockNumber > horizon);
    for (const f of [...this.finals]) {
      const receipt = await this.receipt(f.txHash);
      if (receipt !== undefined && receipt.blockHash === f.blockHash) continue;
      this.finals = this.finals.filter((x) => x !== f);
      const outcome: SettlementOutcome = {
        outcome: Outcome.REORG_BEYOND_CONFIRMATIONS,
        head,
        batchId: f.batchId,
        txHash: f.txHash,
        fillIds: [],
        blockNumber: f.blockNumber,
        reason: receipt === undefined ? "receipt gone" : `now in block ${receipt.blockNumber} (${receipt.blockHash})`,
      };
      this.log.error(
        { ...outcome },
        "reorg deeper than the confirmations: a reconciled batch moved; check the store against the chain",
      );
      this.emitOutcome(outcome);
    }
  }

  // ---------------------------------------------------------------- send

  private async sendNext(head: bigint): Promise<void> {
    this.simulationsLeft = this.o.maxSimulationsPerBlock;
    let only: readonly number[] | undefined;
    // Each pass either sends, waits, or skips some fills (then tries again without them).
    for (let pass = 0; pass < 8; pass++) {
      let batch: PlannedBatch | undefined;
      if (only !== undefined) batch = this.part(only);
      else {
        batch = buildBatch(this.o.store.pendingFills(), this.lookup, this.o.config.batch, this.o.gasModel);
        if (batch === undefined || !isDue(batch, this.o.config.batch, this.clock())) return;
      }
      if (this.simulationsLeft <= 0) {
        this.log.warn(
          { fillIds: batch.fillIds, maxSimulationsPerBlock: this.o.maxSimulationsPerBlock },
          "simulation budget of this block spent; the next block goes on",
        );
        return;
      }
      const data = encodeFunctionData({ abi: exchangeAbi, functionName: "settle", args: settleArgs(batch) });
      let gas: bigint;
      try {
        await this.simulate(batch.fillIds, data);
        gas = await this.o.client.estimateGas({ account: this.address, to: this.o.exchange, data });
      } catch (error) {
        const next = await this.onSimulationFailure(batch, error, head);
        if (next.kind === "stop") return;
        only = next.kind === "only" ? next.fillIds : undefined;
        continue;
      }
      await this.send(batch, data, (gas * BigInt(100 + this.o.gasHeadroomPercent)) / 100n, head);
      return;
    }
  }

  private async send(batch: PlannedBatch, data: Hex, gas: bigint, head: bigint): Promise<void> {
    // With nothing in flight every nonce of ours is settled one way or another: the node's count
    // is the truth (it also moves past nonces another sender used). Otherwise, count locally.
    if (this.nextNonce === undefined || this.inflight.length === 0) {
      this.nextNonce = BigInt(await this.o.client.getTransactionCount({ address: this.address, blockTag: "pending" }));
    }
    const nonce = this.nextNonce;
    const fees = await this.marketFees();
    const signed = await this.sign({ nonce, data, gas, ...fees });
    const batchId = this.o.store.markBatchSent(signed.record, batch.fillIds, this.clock());
    this.nextNonce = nonce + 1n;
    const tx: SentTx = { batchId, ...signed.record };
    this.inflight.push({ nonce, txs: [tx], fillIds: batch.fillIds, sentAtHead: head });
    this.log.info({ batchId, txHash: tx.txHash, nonce, fills: batch.fillIds.length, gas, ...fees }, "batch sent");
    await this.broadcast(tx);
    this.emitSent({ head, batchId, txHash: tx.txHash, nonce, fillIds: batch.fillIds, gas, ...fees });
  }

  /** Broadcasts a recorded transaction; a refusal is logged, and the next step finds its fate. */
  private async broadcast(tx: SentTx): Promise<void> {
    try {
      await this.o.client.sendRawTransaction({ serializedTransaction: tx.rawTx as Hex });
    } catch (error) {
      this.log.warn(
        { batchId: tx.batchId, txHash: tx.txHash, err: message(error) },
        "broadcast refused; the next block checks its fate",
      );
    }
  }

  /**
   * A simulation failed: skip the fills the error blames, or bisect when it blames none (a
   * revert without data too); a transient error or a failure to answer ends the step with a backoff.
   */
  private async onSimulationFailure(batch: PlannedBatch, error: unknown, head: bigint): Promise<Next> {
    const decoded = decodeContractError({ error });
    if (decoded === undefined) {
      return isRevert(error) ? this.bisect(batch, "Revert", head) : this.retry(head, batch.fillIds, message(error));
    }
    if (TRANSIENT_ERRORS.has(decoded.errorName)) return this.retry(head, batch.fillIds, decoded.errorName);
    const blamed = blamedFills(batch, decoded);
    if (blamed.length === 0) return this.bisect(batch, decoded.errorName, head);
    this.skip(
      blamed.map((i) => batch.fillIds[i] as number),
      decoded.errorName,
      head,
    );
    // The engine answers an unknown skip reason by pulling the taker; an order the error names
    // (a bad signature, say) would otherwise rest again and be matched again: pull it too.
    const named = decoded.namedArgs.orderIndex;
    const culprit = typeof named === "bigint" ? batch.orderHashes[Number(named)] : undefined;
    if (culprit !== undefined) this.o.engine.cancel(culprit, { reason: `${KEEPER_SKIP_PREFIX}${decoded.errorName}` });
    return { kind: "again" };
  }

  /**
   * The batch reverted with `errorName`, which blames no fill: bisect its taker groups. Groups
   * that revert alone are skipped; if none does but parts pass alone, the first part is sent
   * (the rest follow from the next block); if nothing was learnt, back off.
   */
  private async bisect(batch: PlannedBatch, errorName: string, head: bigint): Promise<Next> {
    const groups = takerGroups(batch);
    const fillIdsOf = (units: readonly number[]) =>
      units.flatMap((u) => (groups[u] as number[]).map((i) => batch.fillIds[i] as number));
    const result = await bisect({
      units: groups.length,
      errorName,
      maxSimulations: this.simulationsLeft,
      simulate: async (units): Promise<Verdict> => {
        const part = this.part(fillIdsOf(units));
        const data = encodeFunctionData({ abi: exchangeAbi, functionName: "settle", args: settleArgs(part) });
        try {
          await this.simulate(part.fillIds, data);
          return { ok: true };
        } catch (error) {
          return verdictOf(error);
        }
      },
    });
    this.log.info(
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
      const byError = new Map<string, number[]>();
      for (const { unit, errorName: name } of result.failing) {
        byError.set(name, [...(byError.get(name) ?? []), ...fillIdsOf([unit])]);
      }
      for (const [name, fillIds] of byError) this.skip(fillIds, name, head);
      return { kind: "again" };
    }
    const first = result.passing[0];
    if (first !== undefined) {
      this.log.warn(
        { errorName, fillIds: batch.fillIds, parts: result.passing.map(fillIdsOf) },
        "the batch reverts but no taker group does alone: sending its parts as separate batches",
      );
      return { kind: "only", fillIds: fillIdsOf(first) };
    }
    this.log.error(
      { errorName, fillIds: batch.fillIds, stoppedBy: result.stoppedBy },
      "simulation reverted, and bisection pinned it on no part of the batch",
    );
    return this.retry(
      head,
      batch.fillIds,
      result.stoppedBy === undefined ? errorName : `${errorName} (${result.stoppedBy})`,
    );
  }

  /** Skips fills after a failed simulation, as `KEEPER_SIMULATION_<errorName>`. */
  private skip(fillIds: readonly number[], errorName: string, head: bigint): void {
    const reason = `${KEEPER_SKIP_PREFIX}${errorName}`;
    this.o.engine.reconcile({
      fills: fillIds.map((id) => ({ id, settled: false as const, reason })),
      blockNumber: head,
    });
    this.record({
      outcome: Outcome.SKIPPED,
      head,
      fillIds,
      reason,
      skipReasons: { [reason]: fillIds.length },
    });
  }

  /** Ends the step with a backoff. */
  private retry(head: bigint, fillIds: readonly number[], reason: string): Next {
    this.backoff(head);
    this.record({ outcome: Outcome.RETRY_NEXT_BLOCK, head, fillIds, reason, retryAtBlock: this.notBefore });
    return { kind: "stop" };
  }

  /** One `eth_call` of `settle`, counted against the block's budget; throws on a revert. */
  private async simulate(fillIds: readonly number[], data: Hex): Promise<void> {
    this.simulationsLeft--;
    const call: SimulateCall = { account: this.address, to: this.o.exchange, data, fillIds };
    if (this.o.simulate !== undefined) await this.o.simulate(call);
    else await this.o.client.call({ account: call.account, to: call.to, data: call.data });
  }

  /** The batch of exactly these (stored) fills, in canonical order. */
  private part(fillIds: readonly number[]): PlannedBatch {
    return assemble(
      fillIds.map((id) => this.o.store.getFill(id) as StoredFill),
      this.lookup,
      this.o.gasModel,
    );
  }

  // ------------------------------------------------------------- helpers

  private readonly lookup = (hash: Hex): SignedOrder | undefined => {
    const o = this.o.store.getOrder(hash);
    return o === undefined ? undefined : { order: o.order, signature: o.signature };
  };

  private async sign(tx: {
    nonce: bigint;
    data: Hex;
    gas: bigint;
    maxFeePerGas: bigint;
    maxPriorityFeePerGas: bigint;
  }) {
    if (this.chainId === undefined) this.chainId = await this.o.client.getChainId();
    const rawTx = await this.o.account.signTransaction({
      type: "eip1559",
      chainId: this.chainId,
      to: this.o.exchange,
      data: tx.data,
      nonce: Number(tx.nonce),
      gas: tx.gas,
      value: 0n,
      maxFeePerGas: tx.maxFeePerGas,
      maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
    });
    return {
      record: {
        txHash: keccak256(rawTx),
        rawTx,
        nonce: tx.nonce,
        maxFeePerGas: tx.maxFeePerGas,
        maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
      },
    };
  }

  /** The node's EIP-1559 fee estimate, within the configured caps. */
  private async marketFees(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    const caps = this.o.config.fees;
    const est = await this.o.client.estimateFeesPerGas();
    const maxFeePerGas = min(est.maxFeePerGas, caps.maxFeePerGas);
    const maxPriorityFeePerGas = min(min(est.maxPriorityFeePerGas, caps.maxPriorityFeePerGas), maxFeePerGas);
    return { maxFeePerGas, maxPriorityFeePerGas };
  }

  private async receipt(hash: Hex): Promise<TransactionReceipt | undefined> {
    try {
      return await this.o.client.getTransactionReceipt({ hash });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Whether the node knows the transaction (in its mempool or in a block). */
  private async known(hash: Hex): Promise<boolean> {
    try {
      return (await this.o.client.getTransaction({ hash })) != null;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  private remove(batch: Inflight): void {
    this.inflight = this.inflight.filter((b) => b !== batch);
  }

  /** Backoff after a failure: 1, 2, 4 … up to `maxBackoffBlocks` blocks; reset by a settled batch. */
  private backoff(head: bigint): void {
    this.failures++;
    const blocks = Math.min(2 ** (this.failures - 1), this.o.maxBackoffBlocks);
    this.notBefore = head + BigInt(blocks);
  }

  private record(outcome: SettlementOutcome): void {
    const fields = { ...outcome, fills: outcome.fillIds.length };
    const text = `settlement: ${outcome.outcome}`;
    switch (outcome.outcome) {
      case Outcome.SETTLED:
      case Outcome.REPLACED:
      case Outcome.RESENT:
        this.log.info(fields, text);
        break;
      case Outcome.REORG_BEYOND_CONFIRMATIONS:
        this.log.error(fields, text);
        break;
      default:
        this.log.warn(fields, text);
    }
    this.emitOutcome(outcome);
  }

  private emitSent(sent: SentBatch): void {
    this.emit("sent", sent);
    try {
      this.o.onSent?.(sent);
    } catch (error) {
      this.log.warn({ err: message(error) }, "onSent hook threw");
    }
  }

  private emitOutcome(outcome: SettlementOutcome): void {
    this.emit("outcome", outcome);
    try {
      this.o.onOutcome?.(outcome);
    } catch (error) {
      this.log.warn({ err: message(error) }, "onOutcome hook threw");
    }
  }
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

function message(error: unknown): string {
  if (typeof error === "object" && error !== null && "shortMessage" in error) return String(error.shortMessage);
  return error instanceof Error ? error.message : String(error);
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

function isNotFound(error: unknown): boolean {
  const name = typeof error === "object" && error !== null ? (error as { name?: string }).name : undefined;
  return name === "TransactionReceiptNotFoundError" || name === "TransactionNotFoundError";
}
