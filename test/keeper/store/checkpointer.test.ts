/**
 * The log's checkpoints in a child process (keeper/src/store/checkpointer.ts): the writer never
 * checkpoints while the child runs, the child copies the log into the database file, a lost child
 * gives the checkpoints back to the writer, and a closed database leaves no log and no child. Real
 * files and a real child process; the tests wait for the child's reports, not for time.
 */
import { expect } from "chai";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteDatabase } from "../../../keeper/src/store/database";
import type { LogCheckpointer } from "../../../keeper/src/store/checkpointer";
import { Store } from "../../../keeper/src/store";
import { Metrics } from "../../../keeper/src/metrics";
import type { Logger } from "../../../keeper/src/log";

/** A logger that keeps its warnings. */
function warnings(): { log: Logger; said: string[] } {
  const said: string[] = [];
  const log: Logger = { debug() {}, info() {}, error() {}, warn: (_fields, message) => said.push(message) };
  return { log, said };
}

/** Writes `rows` rows of 1 KB in transactions of 100. */
function write(db: SqliteDatabase, rows: number): void {
  db.run("CREATE TABLE IF NOT EXISTS scratch (id INTEGER PRIMARY KEY, body BLOB)");
  for (let done = 0; done < rows; done += 100) {
    db.transaction(() => {
      for (let i = 0; i < 100; i++) db.run("INSERT INTO scratch (body) VALUES (randomblob(1024))");
    });
  }
}

/** Whether a process with this id still runs. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("keeper store: the log's checkpoints in a child process", function () {
  let dir: string;
  let path: string;
  let db: SqliteDatabase | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "crossbook-checkpoints-"));
    path = join(dir, "keeper.db");
  });

  afterEach(async () => {
    db?.close();
    await db?.shutdown();
    db = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const checkpointer = (d: SqliteDatabase): LogCheckpointer => d.checkpointer as LogCheckpointer;

  it("copies the log into the file while the writer never checkpoints", async () => {
    db = SqliteDatabase.open(path, { checkpoints: { intervalMs: 10 } });
    expect(db.pragma("wal_autocheckpoint")).to.equal(0);
    const before = statSync(path).size;
    write(db, 3_000); // about 3 MB in the log
    // Until a report finds the whole log copied (the writer alone would never copy it).
    let report = await checkpointer(db).next();
    for (let n = 0; n < 1_000 && !(report.log > 0 && report.checkpointed === report.log); n++) {
      report = await checkpointer(db).next();
    }
    expect(report.checkpointed).to.equal(report.log).and.to.be.greaterThan(0);
    expect(statSync(path).size - before).to.be.greaterThan(3_000 * 1024);
  });

  it("starts a long log again itself when the child's report says it is past the bound", async () => {
    // The child checkpoints once at its start and then not for an hour: only the writer can copy.
    db = SqliteDatabase.open(path, { checkpoints: { intervalMs: 3_600_000, restartFrames: 200 } });
    const child = checkpointer(db);
    await child.next();
    write(db, 1_000); // about 1 MB: some 300 frames
    const before = statSync(path).size;
    // A report within the bound changes nothing; one past it makes the writer checkpoint and restart.
    const report = (log: number) =>
      (child as unknown as { child: NodeJS.EventEmitter }).child.emit("message", { log, checkpointed: 0 });
    report(150);
    expect(statSync(path).size).to.equal(before);
    report(300);
    expect(statSync(path).size - before).to.be.greaterThan(1_000 * 1024);
  });

  it("starts it again right after the open group's COMMIT when a group is open at the report", async () => {
    db = SqliteDatabase.open(path, { checkpoints: { intervalMs: 3_600_000, restartFrames: 200 } });
    const child = checkpointer(db);
    await child.next();
    write(db, 1_000);
    const before = statSync(path).size;
    const opened = db;
    opened.grouped(() => opened.run("INSERT INTO scratch (body) VALUES (randomblob(1024))"));
    (child as unknown as { child: NodeJS.EventEmitter }).child.emit("message", { log: 300, checkpointed: 0 });
    expect(statSync(path).size).to.equal(before); // not inside the group's transaction
    opened.commitGroup();
    expect(statSync(path).size - before).to.be.greaterThan(1_000 * 1024);
  });

  it("gives the checkpoints back to the writer when the child dies", async () => {
    const { log, said } = warnings();
    db = SqliteDatabase.open(path, { checkpoints: { intervalMs: 10, log } });
    const child = checkpointer(db);
    process.kill(child.pid as number, "SIGKILL");
    await child.exited;
    expect(db.pragma("wal_autocheckpoint")).to.equal(1000);
    expect(said).to.deep.equal(["the log's checkpoints run on the event loop again: their child process is gone"]);
  });

  it("gives them back when the child cannot start", async () => {
    const { log, said } = warnings();
    db = SqliteDatabase.open(path, { checkpoints: { log, execPath: join(dir, "no-such-node") } });
    await checkpointer(db).exited;
    expect(db.pragma("wal_autocheckpoint")).to.equal(1000);
    expect(said).to.have.length(1);
  });

  it("leaves no log and no child once closed", async () => {
    const { log, said } = warnings();
    const opened = SqliteDatabase.open(path, { checkpoints: { intervalMs: 10, log } });
    const pid = checkpointer(opened).pid as number;
    write(opened, 500);
    opened.close();
    await opened.shutdown();
    expect(alive(pid)).to.equal(false);
    expect(!existsSync(`${path}-wal`) || statSync(`${path}-wal`).size === 0).to.equal(true);
    expect(said).to.deep.equal([]); // a stop is not a loss
  });

  it("tells the metrics the log's frames and how many were copied, as of the child's last report", async () => {
    const store = Store.open(path, { checkpoints: { intervalMs: 10 } });
    db = store.database;
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.watch(undefined as never, store); // no engine: only the store's gauges have values
    write(db, 1_000);
    let report = await checkpointer(db).next();
    for (let n = 0; n < 1_000 && report.log === 0; n++) report = await checkpointer(db).next();
    // Read in one step with the text: a report comes on the event loop, never between the two.
    const last = checkpointer(db).lastReport as { log: number; checkpointed: number };
    const { body } = await metrics.text();
    expect(last.log).to.be.greaterThan(0);
    expect(body).to.include(`crossbook_store_log_frames{frames="log"} ${last.log}\n`);
    expect(body).to.include(`crossbook_store_log_frames{frames="checkpointed"} ${last.checkpointed}\n`);

    // Without the child (a PostgreSQL keeper's working copy, a test's store) the gauge has no value.
    const other = Store.open(join(dir, "other.db"));
    const quiet = new Metrics({ defaultMetrics: false });
    quiet.watch(undefined as never, other);
    expect((await quiet.text()).body).not.to.match(/crossbook_store_log_frames\{/);
    other.close();
  });
});
