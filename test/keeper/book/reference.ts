/**
 * A naive reference matcher for the property test of the book: the same rules as OrderBook, but
 * written the obvious way — one plain array of resting orders, filtered and sorted on every
 * operation — so that it is easy to check by reading.
 */
import {
  FILL_OR_KILL,
  IMMEDIATE_OR_CANCEL,
  MAX_BOOK_INTEGER,
  MAX_UINT64,
  POST_ONLY,
  type Depth,
  type DepthLevel,
  type Fill,
  type NewOrder,
  type PlaceResult,
  type RejectReason,
  type RestingOrder,
} from "../../../keeper/src/book";

type Mutable = { -readonly [K in keyof RestingOrder]: RestingOrder[K] };

export class ReferenceBook {
  private orders: Mutable[] = [];
  private seq = 0;

  /** One side's resting orders in priority order: best price, then earliest seq. */
  side(isBuy: boolean): RestingOrder[] {
    return this.orders
      .filter((o) => o.isBuy === isBuy)
      .sort((a, b) => (a.priceTicks === b.priceTicks ? a.seq - b.seq : priorityOfPrice(isBuy, a, b)))
      .map((o) => ({ ...o }));
  }

  depth(): Depth {
    return { bids: aggregate(this.side(true)), asks: aggregate(this.side(false)) };
  }

  place(order: NewOrder): PlaceResult {
    const invalid = this.invalid(order);
    if (invalid !== undefined) return rejected(order, invalid);
    const crossing = this.side(!order.isBuy).filter((o) =>
      order.isBuy ? o.priceTicks <= order.priceTicks : o.priceTicks >= order.priceTicks,
    );
    if (order.flags & POST_ONLY && crossing.length > 0) return rejected(order, "post-only-would-cross");
    if (order.flags & FILL_OR_KILL) {
      const available = crossing.filter((o) => o.account !== order.account).reduce((sum, o) => sum + o.lots, 0n);
      if (available < order.lots) return rejected(order, "fill-or-kill-unfillable");
    }
    const seq = this.seq++;
    const fills: Fill[] = [];
    const selfTradeCancelled: RestingOrder[] = [];
    let remaining = order.lots;
    for (const maker of crossing) {
      if (remaining === 0n) break;
      if (maker.account === order.account) {
        selfTradeCancelled.push(maker);
        this.remove(maker.id);
        continue;
      }
      const lots = maker.lots < remaining ? maker.lots : remaining;
      remaining -= lots;
      const live = this.find(maker.id) as Mutable;
      live.lots -= lots;
      fills.push({
        makerId: maker.id,
        takerId: order.id,
        priceTicks: maker.priceTicks,
        lots,
        makerRemainingLots: live.lots,
      });
      if (live.lots === 0n) this.remove(maker.id);
    }
    const rests = remaining > 0n && (order.flags & (IMMEDIATE_OR_CANCEL | FILL_OR_KILL)) === 0;
    if (rests) this.orders.push({ ...order, lots: remaining, seq });
    return { seq, fills, selfTradeCancelled, rested: rests, remainingLots: remaining, levels: [] };
  }

  cancel(id: string): RestingOrder | undefined {
    const order = this.find(id);
    if (order !== undefined) this.remove(id);
    return order && { ...order };
  }

  reduce(id: string, lots: bigint): RestingOrder | undefined {
    const order = this.find(id);
    if (order === undefined) return undefined;
    if (lots >= order.lots) return this.cancel(id);
    order.lots -= lots;
    return { ...order };
  }

  increase(id: string, lots: bigint): RestingOrder | undefined {
    const order = this.find(id);
    if (order === undefined) return undefined;
    order.lots += lots;
    return { ...order };
  }

  restore(order: RestingOrder): RejectReason | undefined {
    const invalid = this.invalid(order);
    if (invalid !== undefined) return invalid;
    if (order.flags & (IMMEDIATE_OR_CANCEL | FILL_OR_KILL)) return "never-rests";
    const crossed = this.orders.some(
      (o) =>
        o.isBuy !== order.isBuy && (order.isBuy ? o.priceTicks <= order.priceTicks : o.priceTicks >= order.priceTicks),
    );
    if (crossed) return "would-cross";
    const sameSeq = this.orders.some(
      (o) => o.isBuy === order.isBuy && o.priceTicks === order.priceTicks && o.seq === order.seq,
    );
    if (sameSeq) return "invalid-seq";
    this.orders.push({ ...order });
    this.seq = Math.max(this.seq, order.seq + 1);
    return undefined;
  }

  private invalid(order: NewOrder): RejectReason | undefined {
    if (this.find(order.id) !== undefined) return "duplicate-id";
    if (order.lots < 1n || order.lots > MAX_UINT64) return "invalid-lots";
    if (order.priceTicks < 1n || order.priceTicks > MAX_UINT64) return "invalid-price";
    if (![0, POST_ONLY, IMMEDIATE_OR_CANCEL, FILL_OR_KILL, IMMEDIATE_OR_CANCEL | FILL_OR_KILL].includes(order.flags)) {
      return "invalid-flags";
    }
    if (order.lots > MAX_BOOK_INTEGER || order.priceTicks > MAX_BOOK_INTEGER) return "too-large";
    return undefined;
  }

  private find(id: string): Mutable | undefined {
    return this.orders.find((o) => o.id === id);
  }

  private remove(id: string): void {
    this.orders = this.orders.filter((o) => o.id !== id);
  }
}

/** Sort comparator on price alone: higher bids first, lower asks first. */
function priorityOfPrice(isBuy: boolean, a: RestingOrder, b: RestingOrder): number {
  const better = isBuy ? a.priceTicks > b.priceTicks : a.priceTicks < b.priceTicks;
  return better ? -1 : 1;
}

function aggregate(orders: RestingOrder[]): DepthLevel[] {
  const levels: DepthLevel[] = [];
  for (const o of orders) {
    const last = levels[levels.length - 1];
    if (last !== undefined && last.priceTicks === o.priceTicks) {
      levels[levels.length - 1] = { priceTicks: o.priceTicks, lots: last.lots + o.lots, orders: last.orders + 1 };
    } else {
      levels.push({ priceTicks: o.priceTicks, lots: o.lots, orders: 1 });
    }
  }
  return levels;
}

function rejected(order: NewOrder, reason: RejectReason): PlaceResult {
  return {
    seq: -1,
    fills: [],
    selfTradeCancelled: [],
    rested: false,
    remainingLots: order.lots,
    rejected: reason,
    levels: [],
  };
}
