export { Engine, EXPIRY_SLICE, type EngineOptions, type ReadRiskContext } from "./engine";
export * from "./types";
