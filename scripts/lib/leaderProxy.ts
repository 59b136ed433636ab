/**
 * What an operator puts in front of keepers that share a database: one URL that reaches whichever
 * keeper leads. Every HTTP request and WebSocket connection goes to `target()` (the chaos run and
 * the HA demo point it at the URL the lease names); with no target, or a target that refuses the
 * connection, a request is answered 503 `UNAVAILABLE`, as a load balancer with no healthy backend
 * would.
 *
 * It is also the witness of what clients were told: every order a keeper answered as accepted
 * (`201` of `POST /v1/orders`, an `ok` place or amend of `POST /v1/orders/batch`) is recorded with
 * its hash, so that a check can later demand that each is still in the store and the books. And it
 * can hold order entry (`hold`): new writes wait, the ones in flight finish — a quiet moment to
 * compare books and audit the chain while the bots keep running.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type AddressInfo } from "node:net";

/** An order a keeper answered as accepted. */
export interface AnsweredOrder {
  readonly hash: `0x${string}`;
  /** The keeper that answered (its API URL). */
  readonly keeper: string;
  /** `Date.now()` when the answer came. */
  readonly at: number;
}

export interface LeaderProxyOptions {
  /** The URL of the keeper to send to now (`http://host:port`), or undefined when none leads. */
  target: () => string | undefined;
  /** Called as an order-entry request is sent on to a keeper (the chaos run kills inside it). */
  onOrderForwarded?: (keeper: string) => void;
}

const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const ORDER_ENTRY = /^\/v1\/orders(\/batch)?\/?(\?|$)/;

export class LeaderProxy {
  /** Every order answered as accepted, by hash. */
  readonly answered = new Map<`0x${string}`, AnsweredOrder>();
  /** Order-entry requests sent on whose answer failed: the connection dropped (a killed keeper). */
  lostInFlight = 0;
  private server: Server | undefined;
  private inFlightWrites = 0;
  private held: (() => void)[] | undefined;
  private drained: (() => void)[] = [];

  constructor(private readonly options: LeaderProxyOptions) {}

  /** Listens on a free loopback port; resolves with the proxy's URL. */
  async listen(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on("upgrade", (req: IncomingMessage, socket, head: Buffer) => {
      const target = this.liveTarget();
      if (target === undefined) return socket.destroy();
      const upstream = connect(Number(target.port), target.hostname, () => {
        const headers: string[] = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2)
          headers.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        upstream.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join("\r\n")}\r\n\r\n`);
        if (head.length > 0) upstream.write(head);
        upstream.pipe(socket).pipe(upstream);
      });
      upstream.on("error", () => socket.destroy());
      socket.on("error", () => upstream.destroy());
      upstream.on("close", () => socket.destroy());
      socket.on("close", () => upstream.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Holds new writes (they wait, unanswered); resolves once the writes in flight are answered. */
  async hold(): Promise<void> {
    this.held ??= [];
    if (this.inFlightWrites > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  /** Sends the held writes on, and every later one at once. */
  release(): void {
    const waiting = this.held ?? [];
    this.held = undefined;
    for (const go of waiting) go();
  }

  async close(): Promise<void> {
    this.release();
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private liveTarget(): URL | undefined {
    const url = this.options.target();
    if (url === undefined) return undefined;
    const parsed = new URL(url);
    return parsed.port === "0" || parsed.port === "" ? undefined : parsed; // a leader not yet listening
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const write = WRITES.has(req.method ?? "");
    if (write && this.held !== undefined) {
      await new Promise<void>((resolve) => this.held?.push(resolve) ?? resolve());
      if (res.destroyed) return; // the client gave up while it was held: nothing to send on
    }
    const target = this.liveTarget();
    if (target === undefined) return unavailable(res, "no keeper leads right now");
    const orderEntry = req.method === "POST" && ORDER_ENTRY.test(req.url ?? "");
    if (write) this.inFlightWrites++;
    const keeper = target.origin;
    const done = () => {
      if (!write) return;
      this.inFlightWrites--;
      if (this.inFlightWrites === 0) for (const resolve of this.drained.splice(0)) resolve();
    };
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on("data", (c: Buffer) => chunks.push(c));
        answer.on("end", () => {
          const body = Buffer.concat(chunks);
          if (orderEntry) this.record(req.url ?? "", answer.statusCode ?? 0, body, keeper);
          const { "transfer-encoding": _te, connection: _c, "keep-alive": _k, ...headers } = answer.headers;
          res.writeHead(answer.statusCode ?? 502, { ...headers, "content-length": body.length });
          res.end(body);
          done();
        });
        answer.on("error", () => {
          if (orderEntry) this.lostInFlight++;
          unavailable(res, "the keeper's answer broke off");
          done();
        });
      },
    );
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      if (orderEntry && error.code !== "ECONNREFUSED") this.lostInFlight++;
      unavailable(res, `the keeper is unreachable (${error.code ?? error.message})`);
      done();
    });
    req.pipe(upstream);
    if (orderEntry) this.options.onOrderForwarded?.(keeper);
  }

  private record(path: string, status: number, body: Buffer, keeper: string): void {
    const at = Date.now();
    const add = (hash: unknown) => {
      if (typeof hash === "string")
        this.answered.set(hash as `0x${string}`, { hash: hash as `0x${string}`, keeper, at });
    };
    try {
      const parsed = JSON.parse(body.toString("utf8")) as {
        hash?: string;
        results?: { kind?: string; ok?: boolean; order?: { hash?: string } }[];
      };
      if (path.startsWith("/v1/orders/batch")) {
        if (status !== 200) return;
        for (const r of parsed.results ?? []) if (r.ok === true && r.kind !== "cancel") add(r.order?.hash);
      } else if (status === 201) add(parsed.hash);
    } catch {
      // Not JSON: not an acceptance.
    }
  }
}

function unavailable(res: ServerResponse, message: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(503, { "content-type": "application/json", "retry-after": "1" });
  res.end(JSON.stringify({ error: { code: "UNAVAILABLE", message } }));
}
