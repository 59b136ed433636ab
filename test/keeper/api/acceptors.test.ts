/**
 * `addAcceptors` (keeper/src/api/acceptors.ts): more handles on one listening socket, so that a
 * burst of connections waiting in the kernel's queue is accepted several a turn of the event loop.
 *
 * The burst is made by a client process while this one's event loop is held (a busy wait until the
 * client says every connection is established), so every connection waits in the kernel's queue
 * when the loop turns again; then the turns are counted with `setImmediate`. Counts, not times.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addAcceptors, type Acceptors } from "../../../keeper/src/api/acceptors";
import { guardConnections } from "../../../keeper/src/api/connections";
import type { Logger } from "../../../keeper/src/log";

/** Opens `count` connections, writes a file once all are established, sends each a GET, reports the answers. */
const CLIENT = `
const net = require("node:net");
const fs = require("node:fs");
process.once("message", ({ port, count, established }) => {
  let connected = 0, answered = 0, closed = 0;
  for (let i = 0; i < count; i++) {
    const socket = net.connect(port, "127.0.0.1");
    let text = "";
    socket.on("connect", () => {
      if (++connected === count) fs.writeFileSync(established, "");
      socket.write("GET / HTTP/1.1\\r\\nHost: test\\r\\nConnection: close\\r\\n\\r\\n");
    });
    socket.on("data", (d) => (text += d));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      if (text.startsWith("HTTP/1.1 200")) answered++;
      if (++closed === count) process.send({ answered }, () => process.exit(0));
    });
  }
});`;

interface Burst {
  /** Connections the server accepted in each turn of its event loop, from the first turn after the hold. */
  readonly perTurn: readonly number[];
  /** Connections that got a 200 to their request. */
  readonly answered: number;
}

/** `count` connections arrive while the loop is held; then the turns are counted until all are in. */
async function burst(server: Server, count: number): Promise<Burst> {
  const dir = mkdtempSync(join(tmpdir(), "crossbook-acceptors-"));
  const established = join(dir, "established");
  let acceptedThisTurn = 0;
  let accepted = 0;
  const onConnection = () => {
    acceptedThisTurn++;
    accepted++;
  };
  server.on("connection", onConnection);
  const client = spawn(process.execPath, ["-e", CLIENT], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    await new Promise<void>((ok, ko) => client.once("spawn", ok).once("error", ko));
    const answered = new Promise<number>((ok) => client.once("message", (m: { answered: number }) => ok(m.answered)));
    client.send({ port: (server.address() as AddressInfo).port, count, established });
    // Hold the event loop until the kernel has established every connection (the client's side of each
    // handshake): they all wait in the listening socket's queue, none accepted yet.
    const deadline = Date.now() + 30_000;
    while (!existsSync(established)) {
      if (Date.now() > deadline) throw new Error("the client did not establish its connections in 30 s");
    }
    expect(accepted, "accepted while the loop was held").to.equal(0);
    const perTurn: number[] = [];
    acceptedThisTurn = 0;
    while (accepted < count) {
      await new Promise((turn) => setImmediate(turn));
      perTurn.push(acceptedThisTurn);
      acceptedThisTurn = 0;
      if (perTurn.length > 10 * count) throw new Error(`only ${accepted} of ${count} accepted`);
    }
    return { perTurn, answered: await answered };
  } finally {
    server.off("connection", onConnection);
    client.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("keeper API: several accepting handles on one listening socket (api/acceptors.ts)", function () {
  this.timeout(60_000);

  let server: Server;
  let acceptors: Acceptors | undefined;

  beforeEach(async () => {
    server = createServer((_request, response) => response.end("ok"));
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  });

  afterEach(async () => {
    acceptors?.close();
    acceptors = undefined;
    await new Promise((closed) => server.close(closed));
  });

  it("on Node 20 a listening handle accepts one connection a turn, however many wait (the premise)", async () => {
    const { perTurn, answered } = await burst(server, 24);
    expect(Math.max(...perTurn)).to.equal(1);
    expect(perTurn.filter((n) => n > 0)).to.have.length(24);
    expect(answered).to.equal(24);
  });

  it("accepts up to `count` a turn with `count` handles, each connection served by the HTTP server", async () => {
    acceptors = await addAcceptors(server, { count: 8 });
    expect(acceptors.count).to.equal(8);
    const { perTurn, answered } = await burst(server, 40);
    expect(Math.max(...perTurn))
      .to.be.greaterThan(1)
      .and.at.most(8);
    // 40 waiting, 8 a turn: 5 turns with accepts (a connection whose handshake ends as a turn
    // starts can take one more).
    expect(perTurn.filter((n) => n > 0).length).to.be.at.most(6);
    expect(answered, "every connection answered by the server's request handler").to.equal(40);
  });

  it("caps an address's connections that the added handles accepted as the server's own (the guard sees them)", async () => {
    // One address, at most 2 connections open at once: a burst of 24 accepted 8 a turn cannot all
    // be served. Were the added handles' connections not handed to the server's `connection`
    // listeners, the guard would not see them and all 24 would be answered.
    guardConnections(server, { maxPerAddress: 2 });
    acceptors = await addAcceptors(server, { count: 8 });
    const { answered } = await burst(server, 24);
    expect(answered).to.be.at.least(2).and.below(24);
  });

  it("stops the added handles with `close`: the port then refuses connections", async () => {
    acceptors = await addAcceptors(server, { count: 4 });
    const { port } = server.address() as AddressInfo;
    acceptors.close();
    expect(acceptors.count).to.equal(1);
    await new Promise((closed) => server.close(closed));
    // The child held a copy of the socket until it exited: the port accepted into its backlog before.
    await acceptors.childGone;
    const refused = await new Promise<string>((ok) => {
      const socket: Socket = connect(port, "127.0.0.1");
      socket.on("connect", () => {
        socket.destroy();
        ok("connected");
      });
      socket.on("error", (error: NodeJS.ErrnoException) => ok(error.code ?? error.message));
    });
    expect(refused).to.equal("ECONNREFUSED");
    // afterEach closes it again: listen anew so that it can.
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  });

  it("keeps the server's own handle, and says so, when the child cannot start", async () => {
    const warnings: string[] = [];
    const log: Logger = {
      debug() {},
      info() {},
      error() {},
      warn: (_o: object, message: string) => void warnings.push(message),
    };
    acceptors = await addAcceptors(server, { count: 8, log, execPath: "/nonexistent/node" });
    expect(acceptors.count).to.equal(1);
    expect(warnings).to.deep.equal(["fewer acceptors than asked"]);
    const { answered } = await burst(server, 4);
    expect(answered).to.equal(4);
  });
});
