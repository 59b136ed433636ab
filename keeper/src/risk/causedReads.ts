/**
 * The keeper's cached chain reads as one job asks for them, for the node-call metrics
 * (`keeper/src/metrics/rpc.ts`): the order path reads through `new CausedReads(reads, "order")`,
 * settlement through its own, so a fact missing from the memo is read through that job's client.
 */
import type { Address, Hex } from "viem";
import type { ExchangeDomainParameters, Order } from "@crossbook/sdk";
import type { RpcCause } from "../metrics/rpc";
import type { CachedChainReads, RiskReads } from "./reads";

/**
 * `CachedChainReads` as one job asks for its facts: what one of them not in
 * the memo costs the node is counted under `cause`. The block's facts (`sync`, `currentBlock`,
 * cancels) are the shared ones.
 */
export class CausedReads implements RiskReads {
  readonly recoverSigner?: RiskReads["recoverSigner"];

  constructor(
    private readonly reads: CachedChainReads,
    private readonly cause: RpcCause,
  ) {
    if (reads.recoverSigner !== undefined) this.recoverSigner = reads.recoverSigner;
  }

  domain() {
    return this.reads.domain(this.cause);
  }
  market(marketId: bigint) {
    return this.reads.market(marketId, this.cause);
  }
  riskLimits(marketId: bigint) {
    return this.reads.riskLimits(marketId, this.cause);
  }
  priceBounds(marketId: bigint) {
    return this.reads.priceBounds(marketId, this.cause);
  }
  paused() {
    return this.reads.paused(this.cause);
  }
  minNonce(maker: Address) {
    return this.reads.minNonce(maker, this.cause);
  }
  pendingMinNonce(maker: Address) {
    return this.reads.pendingMinNonce(maker, this.cause);
  }
  withdrawalRequested(account: Address, token: Address) {
    return this.reads.withdrawalRequested(account, token, this.cause);
  }
  cancelAfter(maker: Address) {
    return this.reads.cancelAfter(maker, this.cause);
  }
  windowLimit(maker: Address, marketId: bigint) {
    return this.reads.windowLimit(maker, marketId, this.cause);
  }
  filled(maker: Address, nonce: bigint) {
    return this.reads.filled(maker, nonce, this.cause);
  }
  code(account: Address) {
    return this.reads.code(account, this.cause);
  }
  timestamp() {
    return this.reads.timestamp(this.cause);
  }
  balance(account: Address, token: Address) {
    return this.reads.balance(account, token, this.cause);
  }
  contractApproves(order: Order, signature: Hex, domain: ExchangeDomainParameters) {
    return this.reads.contractApproves(order, signature, domain, this.cause);
  }
  sync(): Promise<void> {
    return this.reads.sync();
  }
  get currentBlock() {
    return this.reads.currentBlock;
  }
  cancelInForceBy(maker: Address, nonce: bigint, timestamp: bigint): boolean {
    return this.reads.cancelInForceBy(maker, nonce, timestamp);
  }
}
