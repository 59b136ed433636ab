/** Batch settlement: the pure batcher, simulation blame, and the `Settlement` loop. See keeper/README.md, "Settlement". */
export {
  assemble,
  buildBatch,
  canonicalOrder,
  DEFAULT_GAS_MODEL,
  estimateGas,
  isDue,
  oversizeFills,
  type BatchLimits,
  type GasModel,
  type OrderLookup,
  type PlannedBatch,
} from "./batcher";
export { bisect, halves, type BisectionResult, type BisectParameters, type Verdict } from "./bisect";
export { blamedFills, KEEPER_SKIP_PREFIX, takerGroups, TRANSIENT_ERRORS } from "./isolate";
export { BatchChecker, calldata, type ChainFacts, type Decision, type SimulateCall } from "./check";
export { receiptOutcomes, type ReceiptOutcomes } from "./receipt";
export { Settlement, SettlementStartError, type SettlementOptions } from "./settlement";
export * from "./types";
