/**
 * SQLite's checkpoints off the event loop.
 *
 * In WAL mode a commit appends to the log, and a checkpoint copies the log's pages into the
 * database file, with an fsync of the log before and of the file after. By default SQLite runs one
 * inside the COMMIT that takes the log past 1,000 pages, on the thread that commits: the keeper's
 * event loop. Under a busy market that is about one COMMIT in 160 that holds the loop for the copy
 * and two fsyncs (10–12 ms each on an idle machine here: `scripts/bench-attack/checkpoints.ts`),
 * and every request waits behind it.
 *
 * Here the keeper's writer connection never checkpoints (`wal_autocheckpoint = 0`). A child
 * process holds a connection of its own to the same file and runs a PASSIVE checkpoint every
 * `intervalMs`: it copies what the log holds that no reader still needs, without taking the
 * writer's lock, so the writer goes on committing meanwhile. What the copy costs is the child's,
 * on another core when there is one. The log starts again from its beginning only when the writer
 * begins a transaction with all of it copied (SQLite does that by itself); under commits that never
 * pause, a commit lands during each of the child's checkpoints and the log's file would grow
 * without bound. So past `RESTART_LOG_FRAMES` the writer runs a RESTART checkpoint itself, between
 * its transactions: it copies what the child has not yet, and starts the log again. That is one
 * stall per some 64 MB of log, in place of one per 4 MB (`scripts/bench-attack/checkpoints.ts`).
 *
 * The child is a plain `node -e` script with its own libsql connection: a process of its own, so
 * the copy and its fsyncs never run on the keeper's threads (a worker thread was not tried). It
 * exits when the keeper does (its IPC channel closes). If it cannot start, or dies, the writer
 * takes the checkpoints back (`wal_autocheckpoint` as SQLite's default) and the keeper logs a
 * warning: never a reason to stop, nothing lost (a checkpoint is safe to interrupt), only the
 * stalls return.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { silentLogger, type Logger } from "../log";

/** SQLite's own default: the writer checkpoints when the log passes this many pages. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

/** A log of more frames than this (4 KB pages: about 64 MB) is started again by the writer itself. */
export const RESTART_LOG_FRAMES = 16 * SQLITE_AUTOCHECKPOINT_PAGES;

/** What one PASSIVE checkpoint found: the log's frames, and how many of them are in the file now. */
export interface CheckpointReport {
  readonly log: number;
  readonly checkpointed: number;
}

/** The child: a PASSIVE checkpoint every interval, each reported; gone when the keeper is. */
const CHECKPOINTER = `const { libsql, file, intervalMs } = JSON.parse(process.argv[1]);
const Database = require(libsql);
const db = new Database(file);
const tick = () => {
  const [row] = db.pragma("wal_checkpoint(PASSIVE)");
  if (!process.connected) return; // the keeper is gone: "disconnect" ends this process
  process.send({ log: row.log, checkpointed: row.checkpointed });
  setTimeout(tick, intervalMs);
};
process.on("disconnect", () => process.exit(0));
tick();`;

export interface CheckpointerOptions {
  /** How often the child checkpoints (default 250 ms). */
  readonly intervalMs?: number;
  readonly log?: Logger;
  /** The node binary that runs the child (default: this process's). */
  readonly execPath?: string;
  /** Told once if the child cannot start or dies before `stop`: the writer takes the checkpoints back. */
  readonly onLost: () => void;
  /** Told each report, on this process's event loop (the writer bounds the log: `SqliteDatabase`). */
  readonly onReport?: (report: CheckpointReport) => void;
}

/** A child process that checkpoints a SQLite file's log (`LogCheckpointer.start`). */
export class LogCheckpointer {
  private stopped = false;
  private readonly waiters: ((report: CheckpointReport) => void)[] = [];
  private last: CheckpointReport | undefined;
  /** Resolves once the child has exited. */
  readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    options: CheckpointerOptions,
  ) {
    const log = options.log ?? silentLogger;
    let lost = false;
    const lose = (reason: string) => {
      if (this.stopped || lost) return;
      lost = true;
      log.warn({ reason }, "the log's checkpoints run on the event loop again: their child process is gone");
      options.onLost();
    };
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        lose(`exited (${signal ?? code})`);
        resolve();
      });
      child.once("error", (error) => {
        lose(error.message);
        resolve();
      });
    });
    child.on("message", (message) => {
      const report = message as CheckpointReport;
      this.last = report;
      options.onReport?.(report);
      for (const resolve of this.waiters.splice(0)) resolve(report);
    });
  }

  /** Starts the child for the database file at `file`. */
  static start(file: string, options: CheckpointerOptions): LogCheckpointer {
    const config = JSON.stringify({ libsql: require.resolve("libsql"), file, intervalMs: options.intervalMs ?? 250 });
    const child = spawn(options.execPath ?? process.execPath, ["-e", CHECKPOINTER, config], {
      // Not the keeper's environment, which may hold its key.
      env: {},
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    // It never keeps the keeper's process alive: it goes when the keeper does.
    child.unref();
    child.channel?.unref();
    return new LogCheckpointer(child, options);
  }

  /** The child's process id (undefined if it could not start). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The child's last report (the log's size for the metrics), undefined before the first. */
  get lastReport(): CheckpointReport | undefined {
    return this.last;
  }

  /** Resolves with the child's next report. */
  next(): Promise<CheckpointReport> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Stops the child at once (a checkpoint cut short is safe: SQLite finishes or redoes it), and
   * without telling `onLost`. Resolves once it has exited.
   */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.ref(); // whoever awaits the exit is kept alive until it comes
      this.child.kill("SIGKILL");
    }
    return this.exited;
  }
}
