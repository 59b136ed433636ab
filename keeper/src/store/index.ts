/** The keeper's durable store: SQLite through libsql. See keeper/README.md, "Store". */
export { Store, StoreError, StoreReads, migrate, type OpenFillLots, type StoreErrorCode } from "./store";
export { MIGRATIONS, type Migration } from "./migrations";
export * from "./types";
