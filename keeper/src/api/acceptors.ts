/**
 * More than one accepted connection a turn of the event loop.
 *
 * Node 20 (libuv 1.46) accepts one connection per listening handle per turn of its event loop,
 * however many wait in the kernel's queue (`scripts/bench-attack/accepts.ts` shows it). A busy
 * keeper's turns last milliseconds, so a burst of connections — an attacker opening hundreds at
 * once — is accepted one a turn, and an honest client's new connection waits behind all of them
 * before its first byte is read (keeper/README.md, "Under attack", seventh pass). Node ≥ 22.12 has
 * `reusePort` for several listeners on one port; Node 20 has not.
 *
 * What this does instead: it gives the listening socket more handles. Each handle is a file
 * descriptor of the same socket, registered with the event loop on its own, and each accepts one
 * connection a turn, so `count` handles accept up to `count` a turn from the one queue, in its
 * order. Node cannot duplicate a descriptor itself, so a short-lived child process does it: the
 * server's handle goes to the child and comes back over their IPC channel (each pass through the
 * channel is a new descriptor, `SCM_RIGHTS`). The child never watches the socket (a raw handle is
 * not listened on by the receiver), so it never accepts a connection itself, and it exits once it
 * has handed the copies back. Every connection an extra handle accepts goes to the HTTP server as
 * its own would (`connection`), so the connection guard, the timing of the accept and the
 * server's own tracking see it alike.
 *
 * If the child cannot start or does not answer in time, the server keeps the handles it has (at
 * least its own) and says so: never a reason not to start.
 */
import { spawn } from "node:child_process";
import type { Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { silentLogger, type Logger } from "../log";

/** The child: hands every handle it gets back, closes its copy once sent, and exits when let go. */
const DUPLICATOR = `process.on("message", (_m, handle) => {
  if (handle !== undefined) process.send("copy", handle, undefined, () => handle.close());
});
process.on("disconnect", () => process.exit(0));`;

export interface AcceptorsOptions {
  /** How many handles accept in all, the server's own included (1: nothing is added). */
  readonly count: number;
  readonly log?: Logger;
  /** How long the child may take to hand the copies back (default 5 s). */
  readonly timeoutMs?: number;
  /** The node binary that runs the child (default: this process's). */
  readonly execPath?: string;
}

export interface Acceptors {
  /** Handles accepting in all, the server's own included. */
  readonly count: number;
  /** Stops the added handles accepting (the server's own closes with the server). */
  close(): void;
  /**
   * Resolves once the child that copied the handles is gone (at once if none was started). Until
   * then it may still hold a copy of the listening socket, and the port accepts connections into
   * its backlog even after `close` and the server's own close.
   */
  readonly childGone: Promise<void>;
}

/** The listening socket's handle, as `net` keeps it (undefined before `listen`). */
function handleOf(server: Server): { fd?: number } | undefined {
  return (server as unknown as { _handle?: { fd?: number } })._handle ?? undefined;
}

/**
 * Adds `count - 1` accepting handles to a listening HTTP server. Resolves once they accept (or
 * with fewer, logged, if the child failed); `close` them when the server closes.
 */
export async function addAcceptors(server: HttpServer, options: AcceptorsOptions): Promise<Acceptors> {
  const log = options.log ?? silentLogger;
  const extras: Server[] = [];
  let childGone: () => void = () => {};
  const acceptors: Acceptors = {
    childGone: new Promise<void>((resolve) => (childGone = resolve)),
    get count() {
      return 1 + extras.length;
    },
    close() {
      for (const extra of extras.splice(0)) extra.close();
    },
  };
  const wanted = Math.max(0, Math.floor(options.count) - 1);
  const own = handleOf(server);
  if (wanted === 0 || own === undefined || typeof own.fd !== "number" || own.fd < 0) {
    if (wanted > 0) log.warn({ wanted: options.count }, "extra acceptors need a listening TCP socket: one acceptor");
    childGone(); // none was started
    return acceptors;
  }
  await new Promise<void>((done) => {
    let finished = false;
    const child = spawn(options.execPath ?? process.execPath, ["-e", DUPLICATOR], {
      stdio: ["ignore", "ignore", "ignore", "ipc"],
      // A bare node with an empty environment: no preloaded modules (NODE_OPTIONS) that would slow
      // its start, and none of the keeper's secrets (its key may be in CROSSBOOK_KEEPER_KEY).
      env: {},
    });
    const finish = (problem?: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (child.connected) child.disconnect();
      if (problem !== undefined) {
        child.kill();
        log.warn({ wanted: options.count, accepting: acceptors.count, problem }, "fewer acceptors than asked");
      }
      done();
    };
    const timer = setTimeout(
      () => finish("the child did not hand the copies back in time"),
      options.timeoutMs ?? 5_000,
    );
    child.on("error", (error) => {
      childGone(); // it never ran (or is gone)
      finish(error.message);
    });
    child.on("exit", (code) => {
      childGone();
      finish(`the child exited (${code}) before handing every copy back`);
    });
    child.on("message", (_message, handle) => {
      if (handle === undefined) return;
      // A copy that comes after the wait ended is closed, or the socket would outlive the server.
      if (finished) return void (handle as { close?: () => void }).close?.();
      // The same socket under a new descriptor, already listening: accept on it too.
      const extra = createServer({ allowHalfOpen: true, noDelay: true }, (socket: Socket) => {
        server.emit("connection", socket);
      });
      extra.on("error", (error) => log.warn({ err: error.message }, "an extra acceptor failed"));
      extra.listen(handle as never);
      extras.push(extra);
      if (extras.length === wanted) finish();
    });
    for (let i = 0; i < wanted; i++) child.send("copy", own as never);
  });
  return acceptors;
}
