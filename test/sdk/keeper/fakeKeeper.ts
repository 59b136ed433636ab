/**
 * A tiny stand-in keeper for the keeper client's unit tests: a node:http server whose every answer
 * the test decides, and a `ws` WebSocketServer on `/v1/ws` whose messages the test sends one by
 * one (or drops, or withholds) to put the client in exactly the situation under test.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { expect } from "chai";
import { CrossbookError } from "@crossbook/sdk";

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export type Handler = (request: RecordedRequest, response: ServerResponse) => void;

export class FakeKeeper {
  readonly requests: RecordedRequest[] = [];
  /** Every message a client sent, parsed, in order, with the connection it came on. */
  readonly received: { socket: WebSocket; message: Record<string, unknown> }[] = [];
  /** Every connection the feed opened, in order. */
  readonly connections: WebSocket[] = [];
  handler: Handler = (_request, response) => json(response, 404, { error: { code: "NOT_FOUND", message: "no" } });
  /** Called for every message a client sends (after it is recorded). */
  onMessage: (socket: WebSocket, message: Record<string, unknown>) => void = () => {};
  private waiters: { test: () => boolean; resolve: () => void }[] = [];

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
  ) {}

  static async start(): Promise<FakeKeeper> {
    let keeper: FakeKeeper | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const request = {
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        };
        keeper!.requests.push(request);
        keeper!.handler(request, res);
      });
    });
    const wss = new WebSocketServer({ server, path: "/v1/ws" });
    keeper = new FakeKeeper(server, wss);
    wss.on("connection", (socket) => {
      keeper!.connections.push(socket);
      socket.on("message", (data) => {
        const message = JSON.parse(data.toString()) as Record<string, unknown>;
        keeper!.received.push({ socket, message });
        keeper!.onMessage(socket, message);
        keeper!.wake();
      });
      keeper!.wake();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return keeper;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/ws`;
  }

  /** The connection the client is on now. */
  get socket(): WebSocket {
    return this.connections[this.connections.length - 1];
  }

  send(socket: WebSocket, message: unknown): void {
    socket.send(JSON.stringify(message));
  }

  /** Resolves once `test()` holds (checked after every connection and client message), or fails after `ms`. */
  async until(test: () => boolean, what: string, ms = 5_000): Promise<void> {
    if (test()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      this.waiters.push({
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Wakes waiters whose condition holds (also for conditions on client-side state: call it after a callback). */
  wake(): void {
    const ready = this.waiters.filter((w) => w.test());
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  async close(): Promise<void> {
    for (const socket of this.wss.clients) socket.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

/** The error a promise rejects with, which must be one of the SDK's; fails the test if it resolves. */
export async function expectRejection(promise: Promise<unknown>): Promise<CrossbookError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(CrossbookError);
    return error as CrossbookError;
  }
  expect.fail("expected a rejection");
}
