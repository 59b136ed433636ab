/**
 * The keeper's transactions, as the chain sees them: signing locally (EIP-1559, its own nonce),
 * fees within the caps, broadcasting, and looking transactions and receipts up — the I/O both
 * sending and following share.
 */
import { keccak256, type Address, type Hex, type LocalAccount, type PublicClient, type TransactionReceipt } from "viem";
import type { KeeperConfig } from "../config";
import type { NewBatch } from "../store";

/** One signed transaction of a batch's nonce. */
export interface SentTx {
  readonly batchId: number;
  readonly txHash: Hex;
  readonly rawTx?: Hex;
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
}

export interface Fees {
  readonly maxFeePerGas: bigint;
  readonly maxPriorityFeePerGas: bigint;
}

export class KeeperTransactions {
  private chainId: number | undefined;

  constructor(
    readonly client: PublicClient,
    private readonly account: LocalAccount,
    private readonly exchange: Address,
    private readonly caps: KeeperConfig["fees"],
  ) {}

  get address(): Address {
    return this.account.address;
  }

  /** Signs a `settle` transaction to the Exchange; what the store records before it is broadcast. */
  async sign(tx: { nonce: bigint; data: Hex; gas: bigint } & Fees): Promise<NewBatch & { rawTx: Hex }> {
    this.chainId ??= await this.client.getChainId();
    const rawTx = await this.account.signTransaction({
      type: "eip1559",
      chainId: this.chainId,
      to: this.exchange,
      data: tx.data,
      nonce: Number(tx.nonce),
      gas: tx.gas,
      value: 0n,
      maxFeePerGas: tx.maxFeePerGas,
      maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
    });
    return {
      txHash: keccak256(rawTx),
      rawTx,
      nonce: tx.nonce,
      maxFeePerGas: tx.maxFeePerGas,
      maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
    };
  }

  /** The node's EIP-1559 fee estimate, within the configured caps. */
  async marketFees(): Promise<Fees> {
    const est = await this.client.estimateFeesPerGas();
    const maxFeePerGas = min(est.maxFeePerGas, this.caps.maxFeePerGas);
    const maxPriorityFeePerGas = min(min(est.maxPriorityFeePerGas, this.caps.maxPriorityFeePerGas), maxFeePerGas);
    return { maxFeePerGas, maxPriorityFeePerGas };
  }

  /** The receipt of a transaction, or undefined when the node has none (not mined, or not served yet). */
  async receipt(hash: Hex): Promise<TransactionReceipt | undefined> {
    try {
      return await this.client.getTransactionReceipt({ hash });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Whether the node knows the transaction (in its mempool or in a block). */
  async known(hash: Hex): Promise<boolean> {
    try {
      return (await this.client.getTransaction({ hash })) != null;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** How many transactions of the keeper's account were mined by `block` (or are pending). */
  async nonceAt(block: bigint | "pending"): Promise<bigint> {
    return BigInt(
      await this.client.getTransactionCount(
        block === "pending"
          ? { address: this.address, blockTag: "pending" }
          : { address: this.address, blockNumber: block },
      ),
    );
  }

  /**
   * The hash of the keeper's transaction with `nonce` mined in the chain, found in the block where
   * the account's count first passed `nonce` (searched between `from` and `to`); undefined when the
   * node cannot show it (pruned state, no such block data).
   */
  async minedWithNonce(nonce: bigint, from: bigint, to: bigint): Promise<{ hash: Hex; block: bigint } | undefined> {
    let low = from; // count(low) <= nonce
    let high = to; // count(high) > nonce
    try {
      if ((await this.nonceAt(high)) <= nonce) return undefined;
      if (low > 0n && (await this.nonceAt(low)) > nonce) low = 0n;
      while (high - low > 1n) {
        const mid = (low + high) / 2n;
        if ((await this.nonceAt(mid)) > nonce) high = mid;
        else low = mid;
      }
      const block = await this.client.getBlock({ blockNumber: high, includeTransactions: true });
      const tx = block.transactions.find(
        (t) =>
          typeof t !== "string" && t.from.toLowerCase() === this.address.toLowerCase() && BigInt(t.nonce) === nonce,
      );
      return tx === undefined || typeof tx === "string" ? undefined : { hash: tx.hash, block: high };
    } catch {
      return undefined;
    }
  }

  /** Broadcasts a signed transaction; resolves to the node's refusal, if any. */
  async broadcast(rawTx: Hex): Promise<unknown> {
    try {
      await this.client.sendRawTransaction({ serializedTransaction: rawTx });
      return undefined;
    } catch (error) {
      return error;
    }
  }

  /** The keeper account's ETH balance. */
  balance(): Promise<bigint> {
    return this.client.getBalance({ address: this.address });
  }
}

export const min = (a: bigint, b: bigint) => (a < b ? a : b);
export const max = (a: bigint, b: bigint) => (a > b ? a : b);

/** A short text of any error (viem's `shortMessage` when there is one). */
export function message(error: unknown): string {
  if (typeof error === "object" && error !== null && "shortMessage" in error) return String(error.shortMessage);
  return error instanceof Error ? error.message : String(error);
}

function isNotFound(error: unknown): boolean {
  const name = typeof error === "object" && error !== null ? (error as { name?: string }).name : undefined;
  return name === "TransactionReceiptNotFoundError" || name === "TransactionNotFoundError";
}
