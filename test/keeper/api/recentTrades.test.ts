/**
 * `RecentTrades` (keeper/src/api/feed.ts): a market's latest trades as its channel tells them, from
 * which a trades snapshot is made without reading the store.
 */
import { expect } from "chai";
import type { KeeperTradeJson } from "@crossbook/sdk/keeper-wire";
import { RecentTrades } from "../../../keeper/src/api/feed";

function trade(fillId: number, status: KeeperTradeJson["status"] = "matched"): KeeperTradeJson {
  return {
    fillId,
    marketId: "1",
    makerHash: `0x${"aa".repeat(32)}`,
    takerHash: `0x${"bb".repeat(32)}`,
    maker: `0x${"11".repeat(20)}`,
    taker: `0x${"22".repeat(20)}`,
    makerIsBuy: false,
    priceTicks: "200000",
    lots: "1",
    status,
    ...(status === "settled" ? { txHash: `0x${"cc".repeat(32)}` } : {}),
    at: 1_000 + fillId,
  };
}

const ids = (r: RecentTrades) => r.list().map((t) => t.fillId);

describe("feed: a market's recent trades, kept as told (RecentTrades)", () => {
  it("starts from the store's latest, oldest first, and keeps at most its size: the oldest leaves", () => {
    const recent = new RecentTrades(3, [trade(4), trade(5)]);
    expect(ids(recent)).to.deep.equal([4, 5]);
    recent.told(trade(6));
    recent.told(trade(7));
    expect(ids(recent)).to.deep.equal([5, 6, 7]);
  });

  it("replaces a kept fill where it stands when the channel tells of it again (settled)", () => {
    const recent = new RecentTrades(3, [trade(1), trade(2), trade(3)]);
    recent.told(trade(2, "settled"));
    expect(ids(recent)).to.deep.equal([1, 2, 3]);
    expect(recent.list()[1]).to.deep.equal(trade(2, "settled"));
  });

  it("ignores news of a fill no longer kept (it must not come back as the newest)", () => {
    const recent = new RecentTrades(2, [trade(1), trade(2)]);
    recent.told(trade(3));
    recent.told(trade(1, "settled"));
    expect(ids(recent)).to.deep.equal([2, 3]);
  });

  it("puts a fill told out of order in its place, when it is among the latest", () => {
    const recent = new RecentTrades(3, [trade(5), trade(7)]);
    recent.told(trade(6));
    expect(ids(recent)).to.deep.equal([5, 6, 7]);
    recent.told(trade(9));
    recent.told(trade(8));
    expect(ids(recent)).to.deep.equal([7, 8, 9]);
    recent.told(trade(4));
    expect(ids(recent)).to.deep.equal([7, 8, 9]);
  });
});
