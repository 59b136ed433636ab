/** The keeper's pre-trade risk check. See keeper/README.md, "Risk". */
export { checkOrder, recoversToMaker } from "./check";
export { readRiskContext, type KeeperRiskState } from "./chain";
export { feeBpsOf, orderReservation, reservedByOpenOrders } from "./reservation";
export * from "./types";
