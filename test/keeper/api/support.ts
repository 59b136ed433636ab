/**
 * The API tests' harness: a real keeper (store in a temp file, engine, risk reads against the
 * in-process Hardhat network) behind `startApi` on a free loopback port, traders with local viem
 * keys funded on the Exchange, and small clients: `http` (global fetch) and `FeedClient` (ws).
 */
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import WebSocket from "ws";
import { toHex, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import {
  hashOrder,
  keeperMessageTypedData,
  signOrder,
  type CancelAllMessage,
  type CancelOrdersMessage,
  type Order,
} from "@crossbook/sdk";
import type { Engine, EngineOptions } from "../../../keeper/src/engine";
import { Store } from "../../../keeper/src/store";
import { Metrics } from "../../../keeper/src/metrics";
import { recoverOrderSigner } from "../../../keeper/src/sigcheck";
import { SignerMemo } from "../../../keeper/src/sigcheck/signerMemo";
import type { ApiLimits, ApiOptions, RunningApi } from "../../../keeper/src/api";
import { LOT_SIZE } from "../../helpers/fixture";
import { ethers, fund, hre, publicClient, sdkFixture, type SdkEnv } from "../../sdk/support";
import { openEngine, serveApi, tempDatabase } from "../support";

export interface Trader {
  account: PrivateKeyAccount;
  address: Address;
  nextNonce: bigint;
}

export interface Keeper {
  env: SdkEnv;
  store: Store;
  engine: Engine;
  metrics: Metrics;
  api: RunningApi;
  dir: string;
  /** The database file. */
  path: string;
  close(): Promise<void>;
}

export interface StartKeeperOptions {
  limits?: Partial<ApiLimits>;
  env?: SdkEnv;
  isReady?: () => { ready: boolean; missing: string[] };
  /** Engine options (the engine's chain reads are direct by default; see `cachedReads`). */
  engine?: Partial<EngineOptions> | ((store: Store) => Partial<EngineOptions>);
  /** API options (`clock`, `trustProxy`, `chain`, …). */
  api?: Partial<ApiOptions>;
  /** The store: a PostgreSQL URL (`freshDatabase()`); a fresh SQLite file by default. */
  location?: string;
}

/** Starts a keeper on a fresh Exchange (market 1) and a fresh store (file, or `location`). */
export async function startKeeper(options: StartKeeperOptions = {}): Promise<Keeper> {
  const env = options.env ?? (await sdkFixture());
  const path = tempDatabase("crossbook-api-");
  const dir = dirname(path);
  const store = options.location === undefined ? Store.open(path) : await Store.connect(options.location);
  const chain = { exchange: env.addresses.exchange, domain: env.sdkDomain };
  const engineOptions = typeof options.engine === "function" ? options.engine(store) : options.engine;
  const engine = await openEngine(store, chain, engineOptions);
  const metrics = new Metrics({ defaultMetrics: false });
  const api = await serveApi(engine, store, chain, {
    metrics,
    limits: options.limits,
    isReady: options.isReady,
    ...options.api,
  });
  return {
    env,
    store,
    engine,
    metrics,
    api,
    dir,
    path,
    async close() {
      await api.close();
      await store.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A keeper with the gateways' channel under `clusterSecret`, which believes the signers a gateway
 * vouches for through a memo made as keeper.ts makes it (`new SignerMemo()`); `recoveredHere`
 * lists the orders (by hash) whose signature the engine recovered itself.
 */
export async function startVouchingKeeper(clusterSecret: string): Promise<{ k: Keeper; recoveredHere: string[] }> {
  const memo = new SignerMemo();
  const recoveredHere: string[] = [];
  const k: Keeper = await startKeeper({
    engine: {
      recoverSigner: (order, signature, domain) => {
        const known = memo.get(order, signature, domain);
        if (known !== undefined) return known;
        recoveredHere.push(hashOrder({ order, domain }));
        return recoverOrderSigner(order, signature, domain);
      },
    },
    api: {
      clusterSecret,
      trustSigner: (order, signature, signer) => memo.vouch(order, signature, k.env.sdkDomain, signer),
    },
  });
  return { k, recoveredHere };
}

/** A new trader with `base` and `quote` deposited on the Exchange (0: none). */
export async function newTrader(env: SdkEnv, base = 1_000n * LOT_SIZE, quote = 10n ** 15n): Promise<Trader> {
  const key = generatePrivateKey();
  const account = privateKeyToAccount(key);
  await hre.network.provider.send("hardhat_setBalance", [account.address, toHex(10n ** 19n)]);
  const wallet = new ethers.Wallet(key, ethers.provider) as unknown as SdkEnv["alice"];
  if (base > 0n) await fund(env.exchange, env.base, wallet, base);
  if (quote > 0n) await fund(env.exchange, env.quote, wallet, quote);
  return { account, address: account.address, nextNonce: 1n };
}

/** An order of `trader` in market 1 with a fresh nonce and defaults for the rest. */
export function orderOf(trader: Trader, fields: Partial<Order> & Pick<Order, "isBuy">): Order {
  return {
    maker: trader.address,
    marketId: 1n,
    flags: 0n,
    maxFeeBps: 100n,
    expiry: 4_102_444_800n,
    nonce: trader.nextNonce++,
    priceTicks: 200_000n,
    lots: 10n,
    ...fields,
  };
}

/** An order as JSON: every integer a decimal string. */
export function wireOrder(o: Order): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === "bigint" ? v.toString() : v]));
}

export async function signedBody(k: Keeper, trader: Trader, o: Order) {
  const signature = await signOrder({ signer: trader.account, order: o, domain: k.env.sdkDomain });
  return { order: wireOrder(o), signature };
}

/**
 * Rests a sell of `trader` at `priceTicks` through the keeper at `url` (a process's, say, with no
 * `Keeper` around it) and expects it accepted.
 */
export async function placeAsk(url: string, env: SdkEnv, trader: Trader, priceTicks: bigint): Promise<void> {
  const k = { env, api: { url } } as unknown as Keeper;
  const body = await signedBody(k, trader, orderOf(trader, { isBuy: false, priceTicks }));
  const placed = await http(url, "POST", "/v1/orders", body);
  if (placed.status !== 201) throw new Error(`order not accepted: ${placed.status} ${JSON.stringify(placed.body)}`);
}

export async function cancelBody(k: Keeper, trader: Trader, hashes: Hex[], issuedAt = BigInt(Date.now())) {
  const message: CancelOrdersMessage = { maker: trader.address, orderHashes: hashes, issuedAt };
  const signature = await trader.account.signTypedData(
    keeperMessageTypedData({ domain: k.env.sdkDomain, primaryType: "CancelOrders", message }) as never,
  );
  return { cancel: { maker: trader.address, orderHashes: hashes, issuedAt: issuedAt.toString() }, signature };
}

/** Logs `trader` in over HTTP (a challenge, then its signed `FeedLogin`): the session's bearer token. */
export async function login(k: Keeper, trader: Trader, headers: Record<string, string> = {}): Promise<string> {
  const challenge = await http(k.api.url, "POST", "/v1/sessions/challenge", {}, headers);
  if (challenge.status !== 200) throw new Error(`challenge refused: ${JSON.stringify(challenge.body)}`);
  const signature = await trader.account.signTypedData(
    keeperMessageTypedData({
      domain: k.env.sdkDomain,
      primaryType: "FeedLogin",
      message: { account: trader.address, challenge: challenge.body.challenge },
    }) as never,
  );
  const session = await http(
    k.api.url,
    "POST",
    "/v1/sessions",
    { account: trader.address, challenge: challenge.body.challenge, signature },
    headers,
  );
  if (session.status !== 201) throw new Error(`login refused: ${JSON.stringify(session.body)}`);
  return session.body.token as string;
}

/** Logs `trader` in on the feed connection `feed` (a challenge, then its signed `FeedLogin`). */
export async function feedLogin(feed: FeedClient, k: Keeper, trader: Trader): Promise<void> {
  const from = feed.messages.length;
  feed.send({ op: "challenge" });
  const { challenge } = await feed.next((m) => m.type === "challenge", 10_000, from);
  const signature = await trader.account.signTypedData(
    keeperMessageTypedData({
      domain: k.env.sdkDomain,
      primaryType: "FeedLogin",
      message: { account: trader.address, challenge },
    }) as never,
  );
  feed.send({ op: "login", account: trader.address, signature });
  await feed.next((m) => m.type === "login", 10_000, from);
}

/** The price of `askAndTaker`'s orders. */
export const CROSSING_PRICE = 200_000n;

/**
 * Two new funded traders; the first's ask of 10 lots rests (answered 201). `take(lots)` posts the
 * second's bid at the same price (it takes that many lots) and resolves with its answer.
 */
export async function askAndTaker(k: Keeper) {
  const maker = await newTrader(k.env);
  const taker = await newTrader(k.env);
  const order = orderOf(maker, { isBuy: false, priceTicks: CROSSING_PRICE, lots: 10n });
  const placed = await http(k.api.url, "POST", "/v1/orders", await signedBody(k, maker, order));
  if (placed.status !== 201) throw new Error(`the ask was refused: ${JSON.stringify(placed.body)}`);
  const take = async (lots: bigint) =>
    http(
      k.api.url,
      "POST",
      "/v1/orders",
      await signedBody(k, taker, orderOf(taker, { isBuy: true, priceTicks: CROSSING_PRICE, lots })),
    );
  return { maker, taker, ask: { order, hash: placed.body.hash as Hex }, take };
}

/** The header that carries a session. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export async function cancelAllBody(k: Keeper, trader: Trader, marketId = 0n, issuedAt = BigInt(Date.now())) {
  const message: CancelAllMessage = { maker: trader.address, marketId, issuedAt };
  const signature = await trader.account.signTypedData(
    keeperMessageTypedData({ domain: k.env.sdkDomain, primaryType: "CancelAll", message }) as never,
  );
  return {
    cancelAll: { maker: trader.address, marketId: marketId.toString(), issuedAt: issuedAt.toString() },
    signature,
  };
}

/**
 * Makes every COMMIT of the keeper's database throw what `refuse` throws (a full disk; a deposed
 * leader's refused flush), until the returned function puts the database back.
 */
export function refuseCommits(k: Keeper, refuse: () => never): () => void {
  const handle = (k.store.database as unknown as { handle: { exec(sql: string): unknown } }).handle;
  const exec = handle.exec.bind(handle);
  handle.exec = (sql: string) => (/^\s*COMMIT/i.test(sql) ? refuse() : exec(sql));
  return () => {
    handle.exec = exec;
  };
}

export interface HttpAnswer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

/** One request; `body` an object (sent as JSON) or a raw string. */
export async function http(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] ??= "application/json";
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (e.g. /metrics)
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

type Message = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A feed client that keeps every message it receives and waits for the ones a test expects. */
export class FeedClient {
  readonly messages: Message[] = [];
  readonly ws: WebSocket;
  closeCode?: number;
  private waiters: { test: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string, options?: WebSocket.ClientOptions) {
    this.ws = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
    this.closed = new Promise((resolve) =>
      this.ws.once("close", (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
    this.ws.on("error", () => undefined);
    this.ws.on("message", (data) => {
      const m = JSON.parse(data.toString()) as Message;
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(m)) return true;
        w.resolve(m);
        return false;
      });
    });
  }

  static async open(url: string, options?: WebSocket.ClientOptions): Promise<FeedClient> {
    const c = new FeedClient(url, options);
    await c.opened;
    return c;
  }

  send(m: unknown): void {
    this.ws.send(typeof m === "string" ? m : JSON.stringify(m));
  }

  /**
   * Resolves once everything the server sent this connection before now has arrived: the feed
   * answers in order, and it may write a message a few ms after the answer of the request that
   * made it (`flushGapMs`), so a check that a message did not come waits for this first.
   */
  async barrier(): Promise<void> {
    const from = this.messages.length;
    this.send("barrier: not json");
    await this.next((m) => m.type === "error" && m.code === "BAD_JSON", 10_000, from);
  }

  /** The first message (already received or to come) that passes `test`, after index `from`. */
  next(test: (m: Message) => boolean, timeoutMs = 10_000, from = 0): Promise<Message> {
    const seen = this.messages.slice(from).find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no matching feed message within ${timeoutMs} ms; the last received: ${JSON.stringify(this.messages.slice(-3))}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        test,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** A book as a map `side:price → {lots, orders}`, built from a snapshot and deltas. */
export class BookReplica {
  levels = new Map<string, { lots: string; orders: number }>();
  seq = -1;

  applySnapshot(m: Message): void {
    this.levels.clear();
    for (const l of m.bids) this.levels.set(`bid:${l.priceTicks}`, { lots: l.lots, orders: l.orders });
    for (const l of m.asks) this.levels.set(`ask:${l.priceTicks}`, { lots: l.lots, orders: l.orders });
    this.seq = m.seq;
  }

  /** Applies a delta; false when it is not the next one (a gap, or an old message). */
  applyDelta(m: Message): boolean {
    if (m.seq <= this.seq) return true; // already in the snapshot
    if (m.seq !== this.seq + 1) return false;
    for (const l of m.levels) {
      const key = `${l.side}:${l.priceTicks}`;
      if (l.lots === "0") this.levels.delete(key);
      else this.levels.set(key, { lots: l.lots, orders: l.orders });
    }
    this.seq = m.seq;
    return true;
  }

  /** The same shape as `GET /book` (bids descending, asks ascending). */
  toBook(): { bids: Message[]; asks: Message[] } {
    const side = (s: string, desc: boolean) =>
      [...this.levels.entries()]
        .filter(([k]) => k.startsWith(s + ":"))
        .map(([k, v]) => ({ priceTicks: k.split(":")[1], lots: v.lots, orders: v.orders }))
        .sort((a, b) => {
          const d = BigInt(a.priceTicks) - BigInt(b.priceTicks);
          return (desc ? -1 : 1) * (d > 0n ? 1 : d < 0n ? -1 : 0);
        });
    return { bids: side("bid", true), asks: side("ask", false) };
  }
}

export { publicClient, LOT_SIZE };
