/**
 * How a Node server accepts a burst of connections: how many per turn of its event loop, and how
 * long the last of the burst waits when each turn has other work (as the keeper's turns have under
 * attack). `npx ts-node --transpile-only scripts/bench-attack/accepts.ts [connections] [turn ms]`
 * (defaults 50 and 20).
 *
 * A client process opens the connections at once while the server's loop is busy (500 ms); then every turn
 * of the server's loop does `turn ms` of work (a busy wait standing in for the requests it reads),
 * and the server counts the connections each turn accepted. On Node 20 (libuv 1.46) it accepts
 * one a turn however many wait in the kernel's queue, so the last waits about `connections` turns;
 * with `acceptors` handles, about `connections / acceptors` turns.
 */
import { fork } from "node:child_process";
import { createServer as createHttpServer } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { addAcceptors } from "../../keeper/src/api/acceptors";

if (process.argv[2] === "client") {
  const [port, count] = [Number(process.argv[3]), Number(process.argv[4])];
  const sockets: Socket[] = [];
  process.on("message", (message) => {
    if (message === "go") {
      for (let i = 0; i < count; i++) sockets.push(connect(port, "127.0.0.1").on("error", () => undefined));
      return;
    }
    for (const s of sockets) s.destroy();
    process.exit(0);
  });
  process.send?.("ready");
} else {
  const connections = Number(process.argv[2] ?? 50);
  const turnMs = Number(process.argv[3] ?? 20);
  const acceptorCount = Number(process.argv[4] ?? 1);
  const busy = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until) {
      // the turn's other work
    }
  };
  let acceptedThisTurn = 0;
  let accepted = 0;
  const perTurn: number[] = [];
  let started = 0;
  const server = createHttpServer();
  server.on("connection", (socket: Socket) => {
    socket.on("error", () => undefined);
    acceptedThisTurn++;
    accepted++;
  });
  server.listen(0, "127.0.0.1", async () => {
    const acceptors = await addAcceptors(server, { count: acceptorCount });
    const { port } = server.address() as AddressInfo;
    const client = fork(__filename, ["client", String(port), String(connections)], {
      execArgv: process.execArgv,
    });
    // The connections arrive while the loop is busy: all of them wait in the kernel's queue.
    client.once("message", () => {
      client.send("go");
      busy(500);
      started = performance.now();
      const turn = () => {
        perTurn.push(acceptedThisTurn);
        acceptedThisTurn = 0;
        if (accepted < connections) {
          busy(turnMs);
          setImmediate(turn);
          return;
        }
        const waited = performance.now() - started;
        const counts = perTurn.filter((n) => n > 0);
        console.log(
          `node ${process.version} (libuv ${process.versions.uv}): ${connections} connections waiting, ` +
            `${turnMs} ms of work a turn, ${acceptors.count} acceptors: accepted over ${perTurn.length} turns, ` +
            `at most ${Math.max(...counts)} in one turn; the last after ${waited.toFixed(0)} ms`,
        );
        client.send("done");
        acceptors.close();
        server.close();
      };
      setImmediate(turn);
    });
  });
}
