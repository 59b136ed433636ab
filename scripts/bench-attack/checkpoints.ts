/**
 * What SQLite's checkpoints cost the thread that commits, with them in the COMMIT (SQLite's
 * default: the writer checkpoints when the log passes 1,000 pages) and with them in a child process
 * (`LogCheckpointer`, keeper/src/store/checkpointer.ts; the keeper's way). Writes `groups` commits
 * of 5 rows of 600 bytes (about an order's row and its indexes) to a fresh file in WAL mode with
 * `synchronous=NORMAL`, as the keeper's store does, and times each COMMIT on this thread: the
 * median, the 99.9th percentile, the longest, and how many took over 5 ms. Each mode runs
 * `rounds` times, taking turns.
 *
 *   npx ts-node --transpile-only scripts/bench-attack/checkpoints.ts [groups=6000] [rounds=3]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "libsql";
import { LogCheckpointer } from "../../keeper/src/store/checkpointer";

const groups = Number(process.argv[2] ?? 6000);
const rounds = Number(process.argv[3] ?? 3);

async function run(mode: "in the commit" | "in a child"): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "bench-checkpoints-"));
  const file = join(dir, "keeper.db");
  const db = new Database(file);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, account TEXT, nonce TEXT, body BLOB)");
  db.exec("CREATE INDEX orders_by_account ON orders (account, nonce)");
  let child: LogCheckpointer | undefined;
  if (mode === "in a child") {
    db.exec("PRAGMA wal_autocheckpoint = 0");
    child = LogCheckpointer.start(file, { onLost: () => console.error("the child was lost") });
  }
  const insert = db.prepare("INSERT INTO orders (account, nonce, body) VALUES (?, ?, randomblob(600))");
  const commits: number[] = [];
  let nonce = 0;
  for (let g = 0; g < groups; g++) {
    db.exec("BEGIN IMMEDIATE");
    for (let i = 0; i < 5; i++) insert.run(`0x${(nonce % 997).toString(16).padStart(40, "0")}`, String(nonce++));
    const started = performance.now();
    db.exec("COMMIT");
    commits.push(performance.now() - started);
    // A turn of the event loop every 20 commits, as the keeper's commits come (the child's reports arrive).
    if (g % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
  }
  await child?.stop();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  commits.sort((a, b) => a - b);
  const at = (q: number) => commits[Math.min(commits.length - 1, Math.floor(q * commits.length))].toFixed(2);
  const slow = commits.filter((ms) => ms > 5);
  return (
    `${mode.padEnd(13)}: COMMIT p50 ${at(0.5)} ms, p99.9 ${at(0.999)} ms, max ${commits[commits.length - 1].toFixed(1)} ms; ` +
    `${slow.length} over 5 ms (${slow.reduce((a, b) => a + b, 0).toFixed(0)} ms in all)`
  );
}

async function main(): Promise<void> {
  console.log(`${groups} commits of 5 rows each, ${rounds} rounds per mode, taking turns`);
  for (let r = 1; r <= rounds; r++) {
    for (const mode of ["in the commit", "in a child"] as const)
      console.log(`round ${r}, checkpoints ${await run(mode)}`);
  }
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
