/**
 * A real PostgreSQL for the tests: one embedded server per test run (scripts/lib/postgres.ts),
 * started on first use, stopped and removed after the last test. Each caller of `freshDatabase`
 * gets a new, empty database on it. No mock, no in-process imitation.
 */
import { Store, type PostgresDatabase } from "../../keeper/src/store";
import {
  createDatabase,
  startEmbeddedPostgres,
  stopEmbeddedPostgres,
  type LocalPostgres,
} from "../../scripts/lib/postgres";
import { tempDatabase } from "../keeper/support";

/** The store backends every parameterised suite runs against. */
export const BACKENDS = ["sqlite", "postgres"] as const;
export type Backend = (typeof BACKENDS)[number];

let server: Promise<LocalPostgres> | undefined;
let databases = 0;

/** The URL of a new, empty database on the test run's server (started on first call). */
export async function freshDatabase(): Promise<string> {
  server ??= startEmbeddedPostgres();
  const { port } = await server;
  return createDatabase(port, `crossbook_${process.pid}_${++databases}`);
}

/** A new, empty store location for `backend`: a file path, or a PostgreSQL URL. */
export async function freshLocation(backend: Backend): Promise<string> {
  return backend === "sqlite" ? tempDatabase(`crossbook-${backend}-`) : freshDatabase();
}

/** A new, empty store on `backend`, and its location (to open it again). */
export async function freshStore(backend: Backend): Promise<{ store: Store; location: string }> {
  const location = await freshLocation(backend);
  return { store: await Store.connect(location), location };
}

/** A query held by `holdNextQuery`. */
export interface HeldQuery {
  release(): void;
  refuse(error: Error): void;
}

/**
 * Holds the next query the layer sends PostgreSQL (a writer's next flush) until `release` (it is
 * sent then) or `refuse` (it fails with `error`, as a lost connection or a fence would fail it).
 */
export function holdNextQuery(database: PostgresDatabase): HeldQuery {
  const client = database.pg;
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  let open!: () => void;
  let fail!: (error: Error) => void;
  const gate = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  gate.catch(() => undefined);
  (client as unknown as { query: unknown }).query = async (...args: unknown[]) => {
    (client as unknown as { query: unknown }).query = query; // only the first
    await gate;
    return query(...args);
  };
  return { release: () => open(), refuse: (error) => fail(error) };
}

// The run's server goes after the last test (a root-level hook: mocha runs it once, at the end).
after(async function () {
  this.timeout(60_000);
  const started = await server?.catch(() => undefined);
  if (started !== undefined) await stopEmbeddedPostgres(started);
});
