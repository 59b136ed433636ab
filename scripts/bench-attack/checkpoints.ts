/**
 * What SQLite's checkpoints cost the thread that commits, with them in the COMMIT (SQLite's
 * default: the writer checkpoints when the log passes 1,000 pages) and with them in a child process
 * (`LogCheckpointer`, keeper/src/store/checkpointer.ts; the keeper's way, with the writer's own
 * restart of a log past `RESTART_LOG_FRAMES`). Writes `groups` commits of 5 rows of 600 bytes
 * (about an order's row and its indexes), about 500 a second, to a fresh file in WAL mode with
 * `synchronous=NORMAL`, as the keeper's store does, and times each COMMIT on this thread: the
 * median, the 99.9th percentile, the longest, and how many took over 5 ms; and the log's file size
 * at the end, and the writer's restarts. Each mode runs `rounds` times, taking turns.
 *
 *   npx ts-node --transpile-only scripts/bench-attack/checkpoints.ts [groups=6000] [rounds=3]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "libsql";
import { LogCheckpointer, RESTART_LOG_FRAMES } from "../../keeper/src/store/checkpointer";

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
  db.exec("PRAGMA busy_timeout = 5000"); // as the keeper's store
  let child: LogCheckpointer | undefined;
  const restarts: number[] = [];
  if (mode === "in a child") {
    db.exec("PRAGMA wal_autocheckpoint = 0");
    child = LogCheckpointer.start(file, {
      onLost: () => console.error("the child was lost"),
      // As the keeper's store does (between transactions: reports come during the turns below).
      onReport: (report) => {
        if (report.log <= RESTART_LOG_FRAMES) return;
        const started = performance.now();
        db.exec("PRAGMA wal_checkpoint(RESTART)");
        restarts.push(performance.now() - started);
      },
    });
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
    // 10 commits, then 20 ms for the rest of the keeper's work: about 500 commits a second (the
    // keeper under bench:attack commits about 100 group commits a second).
    if (g % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // What the log holds on disk now: SQLite starts it again from its beginning once all of it is copied.
  const logBytes = statSync(`${file}-wal`).size;
  await child?.stop();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  commits.sort((a, b) => a - b);
  const at = (q: number) => commits[Math.min(commits.length - 1, Math.floor(q * commits.length))].toFixed(2);
  const slow = commits.filter((ms) => ms > 5);
  return (
    `${mode.padEnd(13)}: COMMIT p50 ${at(0.5)} ms, p99.9 ${at(0.999)} ms, max ${commits[commits.length - 1].toFixed(1)} ms; ` +
    `${slow.length} over 5 ms (${slow.reduce((a, b) => a + b, 0).toFixed(0)} ms in all); ` +
    `the log's file ${(logBytes / 1e6).toFixed(1)} MB at the end` +
    (mode === "in a child"
      ? `; ${restarts.length} restarts by the writer (${restarts.map((ms) => ms.toFixed(1)).join(", ")} ms)`
      : "")
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
