/**
 * A gateway's view of the shards: the directory (`readShards`, read again every quarter lease and at
 * once when a leader refuses or its socket closes) and one WebSocket per shard leader on the
 * gateways' channel (keeper/src/api/gatewayChannel.ts), over which each request is one frame and
 * each answer one frame, matched by id. The frames queued in the same turn of the event loop go out
 * as one message (a JSON array, at most `CHANNEL_MESSAGE_BYTES`); the shard answers with arrays too.
 */
import WebSocket from "ws";
import type pg from "pg";
import type { Logger } from "../log";
import {
  CLUSTER_SECRET_HEADER,
  GATEWAY_CHANNEL_PATH,
  type ForwardedAnswer,
  type ForwardedRequest,
} from "../api/gatewayChannel";
import { readShards, type ShardEntry } from "./registry";

/** A socket to a leader that closed (or never opened) with requests in flight: they may be retried. */
export class LinkLost extends Error {
  override readonly name = "LinkLost";
}

/**
 * The most bytes one message of the channel carries (a frame larger than that goes alone): no more
 * than the shard's limit on a WebSocket message, its `bodyBytes` (16 KiB by default).
 */
export const CHANNEL_MESSAGE_BYTES = 16 * 1024;

/** One WebSocket to one shard leader: requests out, answers back by id. */
export class ShardLink {
  private readonly socket: WebSocket;
  private readonly pending = new Map<number, { resolve: (a: ForwardedAnswer) => void; reject: (e: Error) => void }>();
  private readonly opened: Promise<void>;
  private nextId = 1;
  /** Frames (as JSON) waiting for the end of this turn of the event loop, and their bytes. */
  private queued: string[] = [];
  private queuedBytes = 0;
  /** Messages and frames sent, messages and answers received (the tests count them). */
  readonly counts = { messagesSent: 0, framesSent: 0, messagesReceived: 0, answersReceived: 0 };
  closed = false;

  constructor(
    readonly url: string,
    secret: string,
    private readonly onClose: (link: ShardLink) => void,
  ) {
    const wsUrl = `${url.replace(/^http/, "ws")}${GATEWAY_CHANNEL_PATH}`;
    this.socket = new WebSocket(wsUrl, { headers: { [CLUSTER_SECRET_HEADER]: secret }, perMessageDeflate: false });
    this.opened = new Promise((resolve, reject) => {
      this.socket.once("open", () => resolve());
      this.socket.once("error", (error) => reject(new LinkLost(`${url}: ${error.message}`)));
    });
    this.opened.catch(() => {});
    this.socket.on("error", () => {}); // "close" follows
    this.socket.on("message", (data: Buffer) => {
      const parsed = JSON.parse(data.toString("utf8")) as ForwardedAnswer | ForwardedAnswer[];
      const answers = Array.isArray(parsed) ? parsed : [parsed];
      this.counts.messagesReceived++;
      this.counts.answersReceived += answers.length;
      for (const answer of answers) {
        const waiter = this.pending.get(answer.id);
        if (waiter === undefined) continue;
        this.pending.delete(answer.id);
        waiter.resolve(answer);
      }
    });
    this.socket.on("close", () => {
      this.closed = true;
      for (const waiter of this.pending.values()) waiter.reject(new LinkLost(`${url}: the socket closed`));
      this.pending.clear();
      this.onClose(this);
    });
  }

  async request(frame: Omit<ForwardedRequest, "id">): Promise<ForwardedAnswer> {
    await this.opened;
    if (this.closed) throw new LinkLost(`${this.url}: the socket closed`);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.enqueue(JSON.stringify({ ...frame, id }));
    });
  }

  /** Queues a frame for this turn's message (sending what is queued first if it would not fit). */
  private enqueue(text: string): void {
    const bytes = Buffer.byteLength(text);
    // The array's brackets and commas: one byte a frame.
    if (this.queued.length > 0 && this.queuedBytes + bytes + this.queued.length + 2 > CHANNEL_MESSAGE_BYTES) {
      this.flush();
    }
    this.queued.push(text);
    this.queuedBytes += bytes;
    if (this.queued.length === 1) setImmediate(() => this.flush());
  }

  /** Sends what is queued: one frame as it is, several as one array. */
  private flush(): void {
    const frames = this.queued;
    if (frames.length === 0) return;
    this.queued = [];
    this.queuedBytes = 0;
    if (this.closed) return; // their waiters were refused with LinkLost
    this.counts.messagesSent++;
    this.counts.framesSent += frames.length;
    this.socket.send(frames.length === 1 ? frames[0] : `[${frames.join(",")}]`);
  }

  close(): void {
    this.socket.close();
  }
}

/** The directory, cached, and the links to the leaders it names. */
export class ShardDirectory {
  private shards: ShardEntry[] = [];
  private byMarket = new Map<string, ShardEntry>();
  private readonly links = new Map<string, ShardLink>();
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly db: pg.Client,
    private readonly options: { secret: string; refreshMs: number; log: Logger },
  ) {}

  /** Reads the directory now and then every `refreshMs`. */
  async start(): Promise<void> {
    await this.refresh();
    const loop = () => {
      this.timer = setTimeout(() => void this.refresh().finally(() => !this.stopped && loop()), this.options.refreshMs);
    };
    loop();
  }

  /** Reads the directory again (one read at a time: a caller during one waits for it). */
  refresh(): Promise<void> {
    this.reading ??= readShards(this.db)
      .then((shards) => {
        this.shards = shards;
        this.byMarket = new Map(shards.flatMap((s) => s.markets.map((m) => [m.toString(), s] as const)));
      })
      .catch((error: unknown) =>
        this.options.log.warn({ err: String(error) }, "gateway: the directory could not be read"),
      )
      .finally(() => (this.reading = undefined));
    return this.reading;
  }

  get all(): readonly ShardEntry[] {
    return this.shards;
  }

  shardOf(marketId: bigint): ShardEntry | undefined {
    return this.byMarket.get(marketId.toString());
  }

  byName(name: string): ShardEntry | undefined {
    return this.shards.find((s) => s.name === name);
  }

  /** The link to `url` (opened on first use; a closed one is replaced). */
  link(url: string): ShardLink {
    let link = this.links.get(url);
    if (link === undefined || link.closed) {
      link = new ShardLink(url, this.options.secret, (closed) => {
        if (this.links.get(closed.url) === closed) this.links.delete(closed.url);
        if (!this.stopped) void this.refresh();
      });
      this.links.set(url, link);
    }
    return link;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }
}
