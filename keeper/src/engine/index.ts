export { Engine, type EngineOptions, type ReadRiskContext } from "./engine";
export * from "./types";
