export {
  Engine,
  EXPIRY_SLICE,
  NotLeadingError,
  PUBLISH_SLICE,
  SLICE_BUDGET_MS,
  type EngineOptions,
  type ReadRiskContext,
} from "./engine";
export * from "./types";
