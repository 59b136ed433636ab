/**
 * Settlement: turns the store's pending fills into `settle` transactions and their receipts back
 * into the store and the books (through `Engine.reconcile`), one step per new block. Three jobs,
 * three files: following sent transactions (`follow.ts`), checking a batch before sending it
 * (`check.ts`), and reading a receipt's outcomes (`receipt.ts`, pure). This file runs the steps
 * and sends.
 *
 * What it promises:
 * - A batch is built from a window of the oldest pending fills (never the whole backlog), within
 *   each market's velocity limit (`maxLotsPerBlock`, as the chain counts it per block), checked
 *   (`check.ts`), signed locally and recorded in the store (`markBatchSent`, with its raw bytes)
 *   before it is broadcast: after a crash, its fate is looked up, never guessed.
 * - At most one batch is unmined at a time; its nonce is tracked here.
 * - Every step ends in a named `Outcome`, logged and emitted (`outcome` event and `onOutcome`);
 *   every batch sent is reported once (`sent` event and `onSent`).
 * - A store write that fails is fatal: settlement stops and emits `fatal` (the keeper exits; a
 *   restart rebuilds from the file), never a retry that would leave fills `sent`.
 * - At start it checks that the node serves the keeper's state `confirmations` blocks back, and
 *   refuses to start with the depth the node does serve.
 * - Each step reads the keeper's ETH balance: `health()` reports it, and warns below `minKeeperBalance`.
 */
import { EventEmitter } from "node:events";
import type { Address, Hex, LocalAccount, PublicClient } from "viem";
import { FILL_OR_KILL, type SignedOrder } from "@crossbook/sdk";
import type { KeeperConfig } from "../config";
import type { Engine } from "../engine";
import { silentLogger, type Logger } from "../log";
import type { Store, StoredFill } from "../store";
import {
  assemble,
  buildBatch,
  DEFAULT_GAS_MODEL,
  isDue,
  oversizeFills,
  type GasModel,
  type PlannedBatch,
} from "./batcher";
import { BatchChecker, type ChainFacts, type SimulateCall } from "./check";
import { Follower } from "./follow";
import { KEEPER_SKIP_PREFIX } from "./isolate";
import { KeeperTransactions, message } from "./transactions";
import { Outcome, type SentBatch, type SettlementEvents, type SettlementHealth, type SettlementOutcome } from "./types";

export type { SimulateCall } from "./check";

export interface SettlementOptions {
  readonly engine: Engine;
  readonly store: Store;
  /** Reads the chain and broadcasts raw transactions. */
  readonly client: PublicClient;
  /** The keeper's account (it holds KEEPER_ROLE); signs locally. */
  readonly account: LocalAccount;
  readonly exchange: Address;
  readonly config: Pick<KeeperConfig, "batch" | "fees" | "confirmations">;
  /** The chain facts the pre-send check and the velocity budget read (the keeper's `CachedChainReads`). */
  readonly reads: ChainFacts;
  /** Blocks without a receipt before a transaction is replaced (default 3). */
  readonly replaceAfterBlocks?: number;
  /** Percent added to the node's gas estimate (default 25): ERC-1271 wallets need their allowance. */
  readonly gasHeadroomPercent?: number;
  /** Blocks a used nonce's receipt may stay absent, nothing proving what used it, before the batch is dropped (default 12). */
  readonly dropAfterBlocks?: number;
  /** Wei: below this the keeper's balance is reported low (default 0: never). */
  readonly minKeeperBalance?: bigint;
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

/** Settlement could not start (the node does not serve what the configuration needs): one message, for the operator. */
export class SettlementStartError extends Error {
  override readonly name = "SettlementStartError";
}

/** A write to the store (or through the engine) failed: settlement stops. */
class FatalError extends Error {
  override readonly name = "FatalError";
}

/** Pending fills read per step: twice a full batch, so that whole taker groups and other markets fit. */
const WINDOW_BATCHES = 2;

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
      | "dropAfterBlocks"
      | "minKeeperBalance"
    >
  > &
    SettlementOptions;
  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly txs: KeeperTransactions;
  private readonly follower: Follower;
  private readonly checker: BatchChecker;
  private nextNonce: bigint | undefined;
  private recovered = false;
  private failures = 0;
  private notBefore = 0n;
  private stepping: Promise<void> | undefined;
  private again = false;
  private unwatch: (() => void) | undefined;
  private halted: Error | undefined;
  private balance: bigint | undefined;
  private lowBalanceWarned = false;

  constructor(options: SettlementOptions) {
    super();
    this.o = {
      replaceAfterBlocks: 3,
      gasHeadroomPercent: 25,
      gasModel: DEFAULT_GAS_MODEL,
      reorgWatchBlocks: 64,
      maxBackoffBlocks: 32,
      maxSimulationsPerBlock: 64,
      dropAfterBlocks: 12,
      minKeeperBalance: 0n,
      ...options,
    };
    for (const [name, value, least] of [
      ["replaceAfterBlocks", this.o.replaceAfterBlocks, 1],
      ["gasHeadroomPercent", this.o.gasHeadroomPercent, 0],
      ["maxSimulationsPerBlock", this.o.maxSimulationsPerBlock, 1],
      ["dropAfterBlocks", this.o.dropAfterBlocks, 1],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < least) {
        throw new Error(`Settlement: ${name} must be an integer of at least ${least}, got ${value}`);
      }
    }
    this.clock = options.clock ?? Date.now;
    this.log = options.log ?? silentLogger;
    this.txs = new KeeperTransactions(options.client, options.account, options.exchange, options.config.fees);
    this.follower = new Follower({
      store: options.store,
      engine: options.engine,
      txs: this.txs,
      exchange: options.exchange,
      config: options.config,
      replaceAfterBlocks: this.o.replaceAfterBlocks,
      dropAfterBlocks: this.o.dropAfterBlocks,
      reorgWatchBlocks: this.o.reorgWatchBlocks,
      clock: this.clock,
      log: this.log,
      host: {
        record: (outcome) => this.record(outcome),
        backoff: (head) => this.backoff(head),
        settled: () => (this.failures = 0),
        forgetNonce: () => (this.nextNonce = undefined),
        write: (fn) => this.write(fn),
      },
    });
    this.checker = new BatchChecker({
      client: options.client,
      exchange: options.exchange,
      from: options.account.address,
      facts: options.reads,
      gasHeadroomPercent: this.o.gasHeadroomPercent,
      maxSimulationsPerBlock: this.o.maxSimulationsPerBlock,
      simulate: options.simulate,
      log: this.log,
    });
  }

  /**
   * Checks that the node serves what the configuration needs, recovers the batches the store says
   * were sent (see `recover`), then steps on every new block. Throws `SettlementStartError`.
   */
  async start(): Promise<void> {
    await this.checkStateDepth();
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
    await this.stepping;
  }

  /** Whether settlement is running (false once stopped by a fatal error). */
  get running(): boolean {
    return this.halted === undefined;
  }

  /** The batches in flight (unmined or awaiting confirmations). */
  get inFlight(): number {
    return this.follower.size;
  }

  /** What readiness and the metrics report of settlement. */
  health(): SettlementHealth {
    const stuck = this.follower.stuck;
    const low =
      this.balance !== undefined && this.balance < this.o.minKeeperBalance
        ? `keeper balance ${this.balance} wei is below ${this.o.minKeeperBalance} (settlement.minKeeperBalance): fund ${this.txs.address}`
        : undefined;
    return {
      ...(stuck === undefined ? {} : { stuck }),
      ...(this.balance === undefined ? {} : { balance: this.balance }),
      ...(low === undefined ? {} : { lowBalance: low }),
      ...(this.halted === undefined ? {} : { fatal: this.halted.message }),
    };
  }

  /**
   * That the node serves the keeper's nonce `confirmations` blocks back (settlement reads it there
   * each block): on a pruned node, the deepest depth it serves is found and named.
   */
  private async checkStateDepth(): Promise<void> {
    const confirmations = BigInt(this.o.config.confirmations);
    const head = await this.o.client.getBlockNumber({ cacheTime: 0 });
    const servesDepth = async (depth: bigint) => {
      try {
        await this.txs.nonceAt(head - depth);
        return true;
      } catch {
        return false;
      }
    };
    const wanted = confirmations < head ? confirmations : head;
    if (wanted === 0n || (await servesDepth(wanted))) {
      this.log.info({ confirmations: this.o.config.confirmations }, `the node serves state ${wanted} blocks back`);
      return;
    }
    let low = 0n; // served
    let high = wanted; // not served
    while (high - low > 1n) {
      const mid = (low + high) / 2n;
      if (await servesDepth(mid)) low = mid;
      else high = mid;
    }
    throw new SettlementStartError(
      `confirmations ${confirmations}: the node serves the keeper's state only ${low} blocks back, and settlement ` +
        `reads it ${confirmations} blocks back; lower --confirmations to ${low} or use a node that keeps more state`,
    );
  }

  /**
   * Loads every batch whose fate the store does not know (`store.pendingBatches()`), grouped by
   * nonce, and reads the nonce to start from. The next step decides each one: a receipt of any of
   * its transactions → mined (reconciled after the confirmations); the nonce used by another
   * transaction → dropped (fills pending again); the nonce unused → the stored raw transaction is
   * broadcast again if the node does not have it.
   */
  async recover(): Promise<void> {
    const head = await this.o.client.getBlockNumber({ cacheTime: 0 });
    this.follower.recover(head);
    const pendingCount = await this.txs.nonceAt("pending");
    const maxStored = this.follower.nextNonce;
    this.nextNonce = pendingCount > maxStored ? pendingCount : maxStored;
    this.recovered = true;
    this.log.info(
      { batches: this.follower.size, nextNonce: this.nextNonce, head },
      "settlement recovered the batches in flight",
    );
  }

  /**
   * One step: follows every batch in flight, then sends the next due batch if none is unmined.
   * Steps never overlap; a block that arrives during a step triggers one more step after it.
   */
  tick(): Promise<void> {
    if (this.stepping !== undefined) {
      this.again = true;
      return this.stepping;
    }
    this.stepping = (async () => {
      try {
        do {
          this.again = false;
          await this.step();
        } while (this.again && this.halted === undefined);
      } finally {
        this.stepping = undefined;
      }
    })();
    return this.stepping;
  }

  private async step(): Promise<void> {
    if (this.halted !== undefined) return;
    if (!this.recovered) await this.recover();
    let head: bigint;
    try {
      head = await this.o.client.getBlockNumber({ cacheTime: 0 });
    } catch (error) {
      this.log.warn({ err: message(error) }, "settlement could not read the head; next block");
      return;
    }
    try {
      await this.watchBalance();
      await this.follower.step(head);
      if (this.follower.allMined && head >= this.notBefore) await this.sendNext(head);
    } catch (error) {
      if (error instanceof FatalError) {
        this.halt(error);
        return;
      }
      // An RPC failure mid-step: the store is consistent after each write; the next block picks up.
      this.record({
        outcome: Outcome.RETRY_NEXT_BLOCK,
        head,
        fillIds: [],
        reason: message(error),
        retryAtBlock: this.backoff(head),
      });
    }
  }

  /** Stops for good after a failed write (a restart rebuilds from the file). */
  private halt(error: FatalError): void {
    const cause = (error.cause as Error | undefined) ?? error;
    this.halted = cause;
    this.unwatch?.();
    this.unwatch = undefined;
    this.log.error({ err: cause.message }, "settlement: a store write failed; settlement stops");
    this.emit("fatal", cause);
  }

  /** Runs a store (or engine) write; a failure stops settlement. */
  private write<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      const cause = error instanceof Error ? error : new Error(String(error));
      throw new FatalError(cause.message, { cause });
    }
  }

  private async watchBalance(): Promise<void> {
    try {
      this.balance = await this.txs.balance();
    } catch (error) {
      this.log.warn({ err: message(error) }, "settlement could not read the keeper's balance");
      return;
    }
    const low = this.balance < this.o.minKeeperBalance;
    if (low && !this.lowBalanceWarned) {
      this.log.warn(
        { balance: this.balance, minKeeperBalance: this.o.minKeeperBalance, keeper: this.txs.address },
        "the keeper's balance is below settlement.minKeeperBalance: fund it, or settlement stops when it runs out",
      );
    }
    this.lowBalanceWarned = low;
  }

  // ---------------------------------------------------------------- send

  private async sendNext(head: bigint): Promise<void> {
    this.checker.newBlock();
    let only: readonly number[] | undefined;
    // Each pass either sends, waits, or skips some fills (then tries again without them).
    for (let pass = 0; pass < 8; pass++) {
      let batch: PlannedBatch | undefined;
      if (only !== undefined) batch = this.part(only);
      else {
        const next = await this.nextBatch();
        if (next.oversize.length > 0) {
          // Larger than the market's lots per block (lowered since they matched): they can never settle.
          const reason = `${KEEPER_SKIP_PREFIX}VelocityLimitReached`;
          this.skip(
            next.oversize.map((f) => ({ id: f.id, reason })),
            next.oversize.map((f) => ({ hash: f.takerHash, reason })),
            reason,
            head,
          );
          continue;
        }
        batch = next.batch;
        if (batch === undefined || !isDue(batch, this.o.config.batch, this.clock())) return;
      }
      const decision = await this.checker.check(batch, (ids) => this.part(ids));
      switch (decision.kind) {
        case "send":
          await this.send(batch, decision.data, decision.gas, head);
          return;
        case "skip":
          this.skip(decision.fills, decision.culprits, decision.reason, head);
          only = undefined;
          continue;
        case "only":
          only = decision.fillIds;
          continue;
        case "retry":
          this.record({
            outcome: Outcome.RETRY_NEXT_BLOCK,
            head,
            fillIds: batch.fillIds,
            reason: decision.reason,
            retryAtBlock: this.backoff(head),
          });
          return;
        case "wait":
          return;
      }
    }
  }

  /**
   * The next batch: from a window of the oldest pending fills (twice a batch; a fill-or-kill run at
   * its end read whole; when one taker account holds most of it, also the oldest fills of the
   * others), taken fairly across taker accounts, within each market's lots per block; and the fills
   * of the window that can never fit a block.
   */
  private async nextBatch(): Promise<{ batch?: PlannedBatch; oversize: StoredFill[] }> {
    const limits = this.o.config.batch;
    const window = this.o.store.pendingFills(limits.maxFills * WINDOW_BATCHES);
    if (window.length === 0) return { oversize: [] };
    const last = window[window.length - 1] as StoredFill;
    const lastTaker = this.lookup(last.takerHash);
    if (lastTaker !== undefined && (lastTaker.order.flags & FILL_OR_KILL) !== 0n) {
      const seen = new Set(window.map((f) => f.id));
      for (const f of this.o.store.pendingFillsOfTaker(last.takerHash)) if (!seen.has(f.id)) window.push(f);
    }
    // One account's fills filling the window (wash trades, say) must not hide everyone else's.
    const byTaker = new Map<Address, number>();
    for (const f of window) {
      const taker = this.lookup(f.takerHash)?.order.maker;
      if (taker !== undefined) byTaker.set(taker, (byTaker.get(taker) ?? 0) + 1);
    }
    const [top, most] = [...byTaker.entries()].reduce((a, b) => (b[1] > a[1] ? b : a), ["0x" as Address, 0]);
    if (most > limits.maxFills / 2) {
      const seen = new Set(window.map((f) => f.id));
      for (const f of this.o.store.pendingFillsNotTakenBy(top, limits.maxFills)) if (!seen.has(f.id)) window.push(f);
    }
    const lotsPerBlock = new Map<bigint, bigint>();
    for (const market of new Set(window.map((f) => f.market))) {
      const risk = await this.o.reads.riskLimits(market);
      if (risk !== undefined && risk.maxLotsPerBlock !== 0n) lotsPerBlock.set(market, risk.maxLotsPerBlock);
    }
    const oversize = oversizeFills(window, lotsPerBlock);
    if (oversize.length > 0) return { oversize };
    return { batch: buildBatch(window, this.lookup, limits, this.o.gasModel, lotsPerBlock), oversize };
  }

  private async send(batch: PlannedBatch, data: Hex, gas: bigint, head: bigint): Promise<void> {
    // With nothing in flight every nonce of ours is settled one way or another: the node's count
    // is the truth (it also moves past nonces another sender used). Otherwise, count locally.
    if (this.nextNonce === undefined || this.follower.size === 0) this.nextNonce = await this.txs.nonceAt("pending");
    const nonce = this.nextNonce;
    const fees = await this.txs.marketFees();
    const signed = await this.txs.sign({ nonce, data, gas, ...fees });
    const batchId = this.write(() => this.o.store.markBatchSent(signed, batch.fillIds, this.clock()));
    // Recorded before broadcast: with PostgreSQL the commit reaches the server asynchronously.
    if (this.o.store.backend === "postgres") await this.o.store.durable();
    this.nextNonce = nonce + 1n;
    this.follower.add(nonce, { batchId, ...signed }, batch.fillIds, head);
    this.log.info({ batchId, txHash: signed.txHash, nonce, fills: batch.fillIds.length, gas, ...fees }, "batch sent");
    const refused = await this.txs.broadcast(signed.rawTx);
    if (refused !== undefined) {
      this.log.warn(
        { batchId, txHash: signed.txHash, err: message(refused) },
        "broadcast refused; the next block checks its fate",
      );
    }
    this.emitSent({ head, batchId, txHash: signed.txHash, nonce, fillIds: batch.fillIds, gas, ...fees });
  }

  /** Skips fills before sending (they never reach the chain): the engine pulls the culprits and matches the takers again. */
  private skip(
    fills: readonly { id: number; reason: string }[],
    culprits: readonly { hash: Hex; reason: string }[],
    reason: string,
    head: bigint,
  ): void {
    this.write(() =>
      this.o.engine.reconcile({
        fills: fills.map((f) => ({ id: f.id, settled: false as const, reason: f.reason })),
        blockNumber: head,
        neverSent: true,
        culprits,
      }),
    );
    const skipReasons: Record<string, number> = {};
    for (const f of fills) skipReasons[f.reason] = (skipReasons[f.reason] ?? 0) + 1;
    this.record({ outcome: Outcome.SKIPPED, head, fillIds: fills.map((f) => f.id), reason, skipReasons });
  }

  /** The batch of exactly these (stored) fills, in canonical order. */
  private part(fillIds: readonly number[]): PlannedBatch {
    return assemble(
      fillIds.map((id) => this.o.store.getFill(id) as StoredFill),
      this.lookup,
      this.o.gasModel,
    );
  }

  private readonly lookup = (hash: Hex): SignedOrder | undefined => {
    const o = this.o.store.getOrder(hash);
    return o === undefined ? undefined : { order: o.order, signature: o.signature };
  };

  /** Backoff after a failure: 1, 2, 4 … up to `maxBackoffBlocks` blocks; reset by a settled batch. */
  private backoff(head: bigint): bigint {
    this.failures++;
    const blocks = Math.min(2 ** (this.failures - 1), this.o.maxBackoffBlocks);
    this.notBefore = head + BigInt(blocks);
    return this.notBefore;
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
      case Outcome.REPLACEMENT_CAPPED:
        this.log.error(fields, text);
        break;
      default:
        this.log.warn(fields, text);
    }
    this.emit("outcome", outcome);
    try {
      this.o.onOutcome?.(outcome);
    } catch (error) {
      this.log.warn({ err: message(error) }, "onOutcome hook threw");
    }
  }

  private emitSent(sent: SentBatch): void {
    this.emit("sent", sent);
    try {
      this.o.onSent?.(sent);
    } catch (error) {
      this.log.warn({ err: message(error) }, "onSent hook threw");
    }
  }
}
