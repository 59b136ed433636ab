/**
 * The keeper's records as the API writes them (keeper/API.md): every integer that may exceed 2^53
 * as a decimal string, addresses checksummed, times in unix milliseconds. One function per shape,
 * shared by the HTTP routes and the feed so that both say the same thing, each returning the SDK's
 * type of that JSON (`@crossbook/sdk/keeper-wire`), which the SDK's decoders read: a field or a
 * state that one side has and the other lacks fails to compile.
 */
import type { Hex } from "viem";
import type { DepthLevel, LevelChange } from "../book";
import type { BatchOutcome, OrderUpdate, RecentRefusal, SubmitResult, TradeUpdate } from "../engine";
import type { StoreReads, StoredFill, StoredOrder } from "../store";
import {
  encodeOrder,
  type KeeperBatchResultJson,
  type KeeperLevelChangeJson,
  type KeeperLevelJson,
  type KeeperOrderStatusJson,
  type KeeperOrderUpdateJson,
  type KeeperSubmitResultJson,
  type KeeperTradeJson,
} from "@crossbook/sdk/keeper-wire";
import { STATUS_OF } from "./errors";

export const orderJson = encodeOrder;

export function tradeJson(t: TradeUpdate): KeeperTradeJson {
  return {
    fillId: t.fillId,
    marketId: t.marketId.toString(),
    makerHash: t.makerHash,
    takerHash: t.takerHash,
    maker: t.maker,
    taker: t.taker,
    makerIsBuy: t.makerIsBuy,
    priceTicks: t.priceTicks.toString(),
    lots: t.lots.toString(),
    status: t.status,
    ...(t.txHash === undefined ? {} : { txHash: t.txHash }),
    ...(t.skipReason === undefined ? {} : { skipReason: t.skipReason }),
    at: t.at,
  };
}
export type TradeJson = KeeperTradeJson;

/** A stored fill as a trade: its orders give the sides, its batch the transaction. */
export function storedTrade(store: StoreReads, f: StoredFill): TradeUpdate {
  const maker = store.getOrder(f.makerHash) as StoredOrder;
  const taker = store.getOrder(f.takerHash) as StoredOrder;
  const status = f.status === "settled" ? "settled" : f.status === "skipped" ? "skipped" : "matched";
  const txHash = status !== "matched" && f.batchId !== undefined ? store.getBatch(f.batchId)?.txHash : undefined;
  return {
    fillId: f.id,
    marketId: f.market,
    makerHash: f.makerHash,
    takerHash: f.takerHash,
    maker: maker.order.maker,
    taker: taker.order.maker,
    makerIsBuy: maker.order.isBuy,
    makerNonce: maker.order.nonce,
    takerNonce: taker.order.nonce,
    priceTicks: f.priceTicks,
    lots: f.lots,
    status,
    ...(txHash === undefined ? {} : { txHash }),
    ...(f.skipReason === undefined ? {} : { skipReason: f.skipReason }),
    at: status === "matched" ? f.createdAt : f.updatedAt,
  };
}

/**
 * An order's status without its fills (`GET /v1/accounts/.../orders`, the feed's orders snapshot).
 * Never its signature: the keeper serves it to no one (it authorises settlement).
 */
export function orderStatusJson(o: StoredOrder): KeeperOrderStatusJson {
  return {
    hash: o.hash,
    order: orderJson(o.order),
    status: o.status,
    ...(o.reason === undefined ? {} : { reason: o.reason }),
    filledLots: o.filledLots.toString(),
    remainingLots: o.remainingLots.toString(),
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
  };
}

/** `GET /v1/orders/{hash}`: the status, settled lots, and one page of fills (newest first). */
export function orderDetailJson(
  store: StoreReads,
  o: StoredOrder,
  fills: readonly StoredFill[],
): KeeperOrderStatusJson {
  return {
    ...orderStatusJson(o),
    settledLots: o.settledLots.toString(),
    fills: fills.map((f) => tradeJson(storedTrade(store, f))),
  };
}

/** `GET /v1/orders/{hash}` of an order refused a moment ago (refusals are not stored, only remembered a while). */
export function refusalJson(r: RecentRefusal): KeeperOrderStatusJson {
  return {
    hash: r.hash,
    order: orderJson(r.order),
    status: "rejected",
    reason: r.code,
    filledLots: "0",
    remainingLots: r.order.lots.toString(),
    settledLots: "0",
    fills: [],
    createdAt: r.at,
    updatedAt: r.at,
  };
}

export function levelJson(l: DepthLevel): KeeperLevelJson {
  return { priceTicks: l.priceTicks.toString(), lots: l.lots.toString(), orders: l.orders };
}

export function levelChangeJson(l: LevelChange): KeeperLevelChangeJson {
  return {
    side: l.isBuy ? "bid" : "ask",
    priceTicks: l.priceTicks.toString(),
    lots: l.lots.toString(),
    orders: l.orders,
  };
}

export function orderUpdateJson(u: OrderUpdate): KeeperOrderUpdateJson {
  return {
    hash: u.hash,
    marketId: u.marketId.toString(),
    event: u.event,
    status: u.status,
    filledLots: u.filledLots.toString(),
    remainingLots: u.remainingLots.toString(),
    ...(u.reason === undefined ? {} : { reason: u.reason }),
    ...(u.fillId === undefined ? {} : { fillId: u.fillId }),
    ...(u.txHash === undefined ? {} : { txHash: u.txHash }),
    at: u.at,
  };
}

/** An accepted order's answer (`POST /v1/orders`, a batch's place or amend): what matched at once. */
export function submitResultJson(store: StoreReads, r: Extract<SubmitResult, { ok: true }>): KeeperSubmitResultJson {
  const reason = r.status === "cancelled" ? store.getOrder(r.hash)?.reason : undefined;
  return {
    hash: r.hash,
    status: r.status,
    ...(reason === undefined ? {} : { reason }),
    filledLots: r.filledLots.toString(),
    remainingLots: r.remainingLots.toString(),
    trades: r.trades.map(tradeJson),
  };
}

/**
 * One action's answer in a batch: accepted, or refused with the status and code the same request
 * alone would get. A cancel of an order that is not the account's reads as not found.
 */
export function batchResultJson(store: StoreReads, o: BatchOutcome): KeeperBatchResultJson {
  if (o.kind === "cancel") {
    if (o.outcome === "cancelled") return { kind: "cancel", ok: true, hash: o.hash as Hex };
    const code = o.outcome === "not-open" ? "ORDER_NOT_OPEN" : "ORDER_NOT_FOUND";
    return {
      kind: "cancel",
      ok: false,
      status: STATUS_OF[code],
      code,
      message: o.outcome === "not-open" ? "the order is no longer open" : "no such order of this account",
      ...(o.hash === undefined || o.outcome === "not-owner" ? {} : { hash: o.hash }),
    };
  }
  const r = o.result;
  if (!r.ok) {
    return {
      kind: o.kind,
      ok: false,
      status: STATUS_OF[r.code],
      code: r.code,
      message: r.message,
      ...(r.hash === undefined ? {} : { hash: r.hash }),
    };
  }
  const order = submitResultJson(store, r);
  return o.kind === "amend"
    ? { kind: "amend", ok: true, order, replaced: o.replaced as Hex }
    : { kind: "place", ok: true, order };
}
