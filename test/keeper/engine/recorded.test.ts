/**
 * `RecentRecords`: what lets the engine skip its second duplicate read of an order (in its account's
 * turn) when nothing under that hash was recorded since the first (before the signature).
 */
import { expect } from "chai";
import type { Hex } from "viem";
import { RecentRecords } from "../../../keeper/src/engine/recorded";

const hashOf = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;

describe("RecentRecords", () => {
  it("knows an order absent at a mark is absent still when nothing under its hash was recorded since", () => {
    const records = new RecentRecords(8);
    records.recorded(hashOf(1));
    const mark = records.mark;
    records.recorded(hashOf(2));
    expect(records.notRecordedSince(hashOf(3), mark)).to.equal(true);
    expect(records.notRecordedSince(hashOf(2), mark)).to.equal(false); // recorded after the mark
  });

  it("answers 'not known' about a mark older than the oldest record it still keeps", () => {
    const records = new RecentRecords(2);
    const mark = records.mark;
    for (const n of [1, 2, 3]) records.recorded(hashOf(n)); // 1 forgotten
    expect(records.notRecordedSince(hashOf(1), mark)).to.equal(false);
    expect(records.notRecordedSince(hashOf(9), mark)).to.equal(false);
    const later = records.mark;
    expect(records.notRecordedSince(hashOf(9), later)).to.equal(true);
  });

  it("knows nothing about a mark before `forgetAll` (the store was rebuilt under the engine)", () => {
    const records = new RecentRecords();
    const mark = records.mark;
    records.forgetAll();
    expect(records.notRecordedSince(hashOf(1), mark)).to.equal(false);
    expect(records.notRecordedSince(hashOf(1), records.mark)).to.equal(true);
  });
});
