/** The keeper's configuration: one schema, from file, environment and flags. See keeper/README.md, "Config". */
export { loadConfig, type LoadConfigParameters, type LoadConfigReturnType } from "./load";
export { configSchema, SETTINGS, type KeeperConfig, type KeeperKeySource, type Setting } from "./schema";
