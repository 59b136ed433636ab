/**
 * `/v1/ready`: whether the keeper can do its job now, and if not, what is missing — each item a
 * sentence that tells the operator what to do. Pure: the keeper gathers the facts, this decides.
 */
import type { ChainFactsHealth } from "./risk";
import type { SettlementHealth } from "./settlement";

export interface ReadinessFacts {
  readonly engineRunning: boolean;
  /** When the last new block arrived (ms), and now. */
  readonly lastBlockAt: number;
  readonly now: number;
  /** The longest a quiet chain may go without a block. */
  readonly maxBlockAgeMs: number;
  readonly chainFacts: ChainFactsHealth;
  readonly maxStaleBlocks: number;
  readonly settlement: SettlementHealth;
}

export function readiness(f: ReadinessFacts): { ready: boolean; missing: string[] } {
  const missing: string[] = [];
  if (!f.engineRunning) missing.push("the engine stopped (a store write failed): restart the keeper");
  if (f.settlement.fatal !== undefined) missing.push(`settlement stopped: ${f.settlement.fatal}; restart the keeper`);
  if (f.now - f.lastBlockAt > f.maxBlockAgeMs) {
    missing.push(`no block from the node for ${Math.round(f.maxBlockAgeMs / 1000)} s: check the node`);
  }
  if (f.chainFacts.behindBlocks > BigInt(f.maxStaleBlocks)) {
    missing.push(
      `chain facts are ${f.chainFacts.behindBlocks} blocks behind the chain (more than maxStaleBlocks ${f.maxStaleBlocks})` +
        (f.chainFacts.failing ? ": the last sync failed; check the node (eth_getLogs limits?)" : ""),
    );
  }
  if (f.settlement.stuck !== undefined) missing.push(f.settlement.stuck);
  if (f.settlement.lowBalance !== undefined) missing.push(f.settlement.lowBalance);
  return { ready: missing.length === 0, missing };
}
