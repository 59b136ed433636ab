/** The keeper's durable store: SQLite through libsql, or PostgreSQL through pg. See keeper/README.md, "Store". */
export { Store, StoreReads, type OpenFillLots } from "./store";
export { SqliteDatabase, StoreError, migrate, type LogFsync, type StoreErrorCode } from "./database";
export {
  PostgresDatabase,
  isPostgresUrl,
  migratePostgres,
  pgClient,
  type PostgresOptions,
  type Pulled,
} from "./postgres";
export { MIGRATIONS, POSTGRES_MIGRATIONS, type Migration } from "./migrations";
export * from "./types";
