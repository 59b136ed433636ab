/** The keeper's pre-trade risk check. See keeper/README.md, "Risk". */
export { checkOrder, checkOrderNow, recoversToMaker } from "./check";
export {
  keeperReadAhead,
  readAheadOf,
  readAheadOfAccount,
  readRiskContext,
  readRiskContextFrom,
  type KeeperRiskState,
} from "./chain";
export {
  CachedChainReads,
  directReads,
  READ_AHEAD_BLOCKS,
  REREAD_BLOCKS,
  STEADY_BLOCKS,
  type CachedChainReadsOptions,
  type FactWait,
  type ChainFactsHealth,
  type RiskReads,
} from "./reads";
export { NodeBusyError, StrangerReadBudget, UncreditedAccountError } from "./budget";
export { allOf, isPending, mapFact, type Fact } from "./fact";
export { feeBpsOf, orderReservation, reservedByOpenOrders } from "./reservation";
export * from "./types";
