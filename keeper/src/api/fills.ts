/**
 * The private `fills` channel of the feed (keeper/API.md, "Fills channel"): each fill of a logged-in
 * account once per side it has in it, with its order, price, lots and fee, then again each time its
 * settlement state changes (`matched` → `settled` with the transaction and block, or `skipped` with
 * the chain's reason; a fill matched again after a passing skip names the one it `retries`).
 *
 * Like the feed's other channels: numbered per account from 1 while someone listens, a snapshot on
 * subscribe (the account's newest fills, one indexed page of the store's committed state) carrying
 * the number of the last message it includes, and only what is committed is published (the engine
 * emits its trades after each commit). The connection, login and subscriptions are the feed's
 * (`./feed.ts`), reached through a `FillStreamHost`.
 */
import type { Address } from "viem";
import { getMarket, type KeeperFill, type ReadClient } from "@crossbook/sdk";
import type { KeeperFeedMessageJson, KeeperFillJson } from "@crossbook/sdk/keeper-wire";
import type { Engine, TradeUpdate } from "../engine";
import type { AccountFill, Store } from "../store";

/** Fills in a snapshot unless the subscribe asks for fewer or more (at most `MAX_FILLS_SNAPSHOT`). */
export const FILLS_SNAPSHOT = 100;
export const MAX_FILLS_SNAPSHOT = 1000;
/** How long the markets' fee rates are used before they are read again (in the background). */
const TERMS_TTL_MS = 60_000;
const BPS = 10_000n;

/** What the channel knows of a feed client. */
export interface FillClient {
  readonly account?: Address;
  readonly closed: boolean;
}

/** What the channel needs of the feed: its subscriptions, sequence numbers and sending. */
export interface FillStreamHost<C extends FillClient> {
  subscribers(key: string): ReadonlySet<C> | undefined;
  /** Adds a subscription; false (with an error sent) past the client's cap. */
  subscribe(c: C, key: string): boolean;
  /** Counts one more message of the channel and returns its number. */
  nextSeq(key: string): number;
  /** The number of the channel's last message (0 before the first). */
  seq(key: string): number;
  send(c: C, text: string): void;
  sendJson(c: C, message: KeeperFeedMessageJson): void;
  /** The market terms could not be read: the client is told `CHAIN_UNAVAILABLE`. */
  unavailable(c: C, message: string): void;
}

export interface FillStreamOptions<C extends FillClient> {
  readonly engine: Engine;
  readonly store: Store;
  readonly chain: ReadClient;
  readonly exchange: Address;
  readonly host: FillStreamHost<C>;
  readonly clock: () => number;
}

/** A market's terms a fee is computed from. */
interface FeeTerms {
  readonly tickSize: bigint;
  readonly makerFeeBps: bigint;
  readonly takerFeeBps: bigint;
}

/** The channel key of an account's fills. */
export const fillsKey = (account: Address) => `fills:${account.toLowerCase()}`;

export class FillStream<C extends FillClient> {
  private readonly terms = new Map<bigint, FeeTerms>();
  private termsRead: { at: number; read: Promise<void> } | undefined;
  private readonly onTrade = (t: TradeUpdate) => this.publish(t);

  constructor(private readonly options: FillStreamOptions<C>) {
    options.engine.on("trade", this.onTrade);
  }

  close(): void {
    this.options.engine.off("trade", this.onTrade);
  }

  /**
   * Subscribes a logged-in client to its account's fills: `subscribed`, then the snapshot of its
   * newest `limit` fills (oldest first), read in the same synchronous step as the subscription so
   * that no fill falls between the snapshot and the first message.
   */
  async subscribe(c: C, limit = FILLS_SNAPSHOT): Promise<void> {
    const account = c.account as Address;
    try {
      await this.readTerms();
    } catch (error) {
      if (!c.closed) this.options.host.unavailable(c, `the markets' fees could not be read: ${String(error)}`);
      return;
    }
    if (c.closed || c.account !== account) return; // gone, or logged in as another account meanwhile
    const { host, store } = this.options;
    const key = fillsKey(account);
    if (!host.subscribe(c, key)) return;
    host.sendJson(c, { type: "subscribed", channel: "fills" });
    const fills = store.committed
      .accountFills(account, Math.min(limit, MAX_FILLS_SNAPSHOT), this.options.engine.publishedFillsBefore())
      .reverse()
      .map((f) => this.storedJson(f));
    host.sendJson(c, { type: "snapshot", channel: "fills", account, seq: host.seq(key), fills });
  }

  /**
   * A page of the account's committed fills, newest first (ids below `before`), as the channel
   * writes them (`GET /v1/accounts/{address}/fills`): `next` is the `before` of the page after,
   * when this one is full. Rejects when the markets' fees cannot be read.
   */
  async page(account: Address, limit: number, before?: number): Promise<{ fills: KeeperFillJson[]; next?: string }> {
    await this.readTerms();
    const page = this.options.store.committed.accountFills(
      account,
      limit,
      this.options.engine.publishedFillsBefore(before),
    );
    const last = page.at(-1);
    return {
      fills: page.map((f) => this.storedJson(f)),
      ...(page.length === limit && last !== undefined ? { next: String(last.fill.id) } : {}),
    };
  }

  /** A trade of the engine, to its maker's and its taker's channels. */
  private publish(t: TradeUpdate): void {
    for (const side of ["maker", "taker"] as const) {
      const account = side === "maker" ? t.maker : t.taker;
      const key = fillsKey(account);
      // Counted only while someone listens (as the orders channel): a snapshot carries the count.
      const subscribers = this.options.host.subscribers(key);
      if (subscribers === undefined || subscribers.size === 0) continue;
      const seq = this.options.host.nextSeq(key);
      const text = JSON.stringify({
        type: "fill",
        channel: "fills",
        account,
        seq,
        fill: this.tradeJson(t, side),
      } satisfies KeeperFeedMessageJson);
      for (const c of subscribers) this.options.host.send(c, text);
    }
    // A refresh of the fee rates, when they are old, for the next messages.
    this.readTerms().catch(() => {});
  }

  private tradeJson(t: TradeUpdate, side: "maker" | "taker"): KeeperFillJson {
    const isBuy = side === "maker" ? t.makerIsBuy : !t.makerIsBuy;
    return fillJson({
      fillId: t.fillId,
      marketId: t.marketId,
      side,
      orderHash: side === "maker" ? t.makerHash : t.takerHash,
      nonce: side === "maker" ? t.makerNonce : t.takerNonce,
      isBuy,
      priceTicks: t.priceTicks,
      lots: t.lots,
      ...this.feeOf(t.marketId, side, t.lots, t.priceTicks),
      status: t.status,
      txHash: t.txHash,
      blockNumber: t.blockNumber,
      skipReason: t.skipReason,
      retries: t.retries,
      at: t.at,
    });
  }

  private storedJson(a: AccountFill): KeeperFillJson {
    const f = a.fill;
    const status = f.status === "settled" ? "settled" : f.status === "skipped" ? "skipped" : "matched";
    const onChain = status !== "matched";
    return fillJson({
      fillId: f.id,
      marketId: f.market,
      side: a.side,
      orderHash: a.orderHash,
      nonce: a.order.nonce,
      isBuy: a.order.isBuy,
      priceTicks: f.priceTicks,
      lots: f.lots,
      ...this.feeOf(f.market, a.side, f.lots, f.priceTicks),
      status,
      txHash: onChain ? a.txHash : undefined,
      blockNumber: onChain ? a.blockNumber : undefined,
      skipReason: f.skipReason,
      retries: f.retries,
      at: onChain ? f.updatedAt : f.createdAt,
    });
  }

  /** The fee of one side of a fill, as the Exchange charges it (in quote atoms, rounded down). */
  private feeOf(marketId: bigint, side: "maker" | "taker", lots: bigint, priceTicks: bigint) {
    const terms = this.terms.get(marketId);
    if (terms === undefined) return { feeBps: 0n, fee: 0n }; // not a served market: never published
    const feeBps = side === "maker" ? terms.makerFeeBps : terms.takerFeeBps;
    return { feeBps, fee: (lots * priceTicks * terms.tickSize * feeBps) / BPS };
  }

  /** Reads the served markets' fee rates when never read or older than `TERMS_TTL_MS`; resolves when known. */
  private readTerms(): Promise<void> {
    const now = this.options.clock();
    const last = this.termsRead;
    if (last !== undefined && (now - last.at < TERMS_TTL_MS || this.terms.size === 0)) return last.read;
    const { chain, exchange, engine } = this.options;
    const read = Promise.all(
      engine.markets.map(async (marketId) => {
        const m = await getMarket(chain, { exchange, marketId });
        this.terms.set(marketId, { tickSize: m.tickSize, makerFeeBps: m.makerFeeBps, takerFeeBps: m.takerFeeBps });
      }),
    ).then(() => undefined);
    this.termsRead = { at: now, read };
    read.catch(() => {
      if (this.termsRead?.read === read) this.termsRead = undefined; // the next subscribe asks again
    });
    // While a refresh is under way, the terms already known serve.
    return this.terms.size === engine.markets.length ? Promise.resolve() : read;
  }
}

/** A fill as the channel writes it: every on-chain integer a decimal string, absent fields left out. */
function fillJson(f: KeeperFill): KeeperFillJson {
  return {
    fillId: f.fillId,
    marketId: f.marketId.toString(),
    side: f.side,
    orderHash: f.orderHash,
    nonce: f.nonce.toString(),
    isBuy: f.isBuy,
    priceTicks: f.priceTicks.toString(),
    lots: f.lots.toString(),
    feeBps: f.feeBps.toString(),
    fee: f.fee.toString(),
    status: f.status,
    ...(f.txHash === undefined ? {} : { txHash: f.txHash }),
    ...(f.blockNumber === undefined ? {} : { blockNumber: f.blockNumber.toString() }),
    ...(f.skipReason === undefined ? {} : { skipReason: f.skipReason }),
    ...(f.retries === undefined ? {} : { retries: f.retries }),
    at: f.at,
  };
}
