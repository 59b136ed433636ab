import { expect } from "chai";
import { IdIndex } from "../../../keeper/src/book/ids";
import { NONE } from "../../../keeper/src/book/store";

/**
 * An index over `ids` (handle n is ids[n]), with every id added under the hash `hashOf` gives it
 * (by default the index's own).
 */
function indexOf(ids: string[], hashOf?: (id: string, n: number) => number): IdIndex {
  const index = new IdIndex(ids);
  ids.forEach((id, n) => index.add(hashOf === undefined ? index.hash(id) : hashOf(id, n), n));
  return index;
}

describe("IdIndex", function () {
  it("finds ids that share one hash, and keeps finding the others as each is deleted", function () {
    const ids = Array.from({ length: 40 }, (_, n) => `same-${n}`);
    const index = indexOf(ids, () => 7);
    expect(ids.map((id) => index.get(id, 7))).to.deep.equal(ids.map((_, n) => n));
    // Delete from the middle of the run, then its ends: the backward shift keeps every probe whole.
    const order = [20, 0, 39, 5, 33, ...Array.from({ length: 40 }, (_, n) => n)].filter(
      (n, i, a) => a.indexOf(n) === i,
    );
    const gone = new Set<number>();
    for (const n of order) {
      index.delete(7, n);
      gone.add(n);
      expect(ids.map((id) => index.get(id, 7))).to.deep.equal(ids.map((_, m) => (gone.has(m) ? NONE : m)));
    }
    expect(index.size).to.equal(0);
  });

  it("keeps a run that wraps past the last slot of the table findable when an entry before the wrap leaves", function () {
    // The table starts with 2,048 slots: hashes 2,046 and 2,047 and 0 make one run across its end.
    const ids = ["a", "b", "c", "d", "e"];
    const hashes = [2046, 2046, 2047, 2046, 0];
    const index = indexOf(ids, (_, n) => hashes[n]);
    index.delete(2046, 0);
    index.delete(2047, 2);
    expect(ids.map((id, n) => index.get(id, hashes[n]))).to.deep.equal([NONE, 1, NONE, 3, 4]);
    expect(index.handles().sort()).to.deep.equal([1, 3, 4]);
  });

  it("leaves in place an entry past the end of the table whose own slot is after the freed one", function () {
    // w (hash 2,047) sits in slot 0 behind z; freeing slot 2,045 must not pull it before its own slot.
    const ids = ["x", "y", "z", "w"];
    const hashes = [2045, 2046, 2047, 2047];
    const index = indexOf(ids, (_, n) => hashes[n]);
    index.delete(2045, 0);
    expect(ids.map((id, n) => index.get(id, hashes[n]))).to.deep.equal([NONE, 1, 2, 3]);
  });

  it("grows past its first size and finds every id, by its own hash, after each deletion", function () {
    const ids = Array.from({ length: 5000 }, (_, n) => "0x" + n.toString(16).padStart(64, "0"));
    const index = indexOf(ids);
    expect(index.size).to.equal(5000);
    for (let n = 0; n < 5000; n += 2) index.delete(index.hash(ids[n]), n);
    const found = ids.map((id) => index.get(id, index.hash(id)));
    expect(found).to.deep.equal(ids.map((_, n) => (n % 2 === 0 ? NONE : n)));
    expect(index.handles().length).to.equal(2500);
  });

  it("hashes every character of a short id and the last 16 of a long one", function () {
    const index = new IdIndex([]);
    expect(index.hash("order-1")).to.not.equal(index.hash("order-2"));
    expect(index.hash("1-order")).to.not.equal(index.hash("2-order"));
    const long = "0x" + "ab".repeat(32);
    const lastChanged = long.slice(0, -1) + "c";
    const sixteenthFromEnd = long.slice(0, -16) + "c" + long.slice(-15);
    expect(index.hash(long)).to.not.equal(index.hash(lastChanged));
    expect(index.hash(long)).to.not.equal(index.hash(sixteenthFromEnd));
    expect(index.hash(long)).to.equal(index.hash(long.slice()));
  });

  it("finds long ids that differ only before their last 16 characters, which share a hash", function () {
    const tail = "0123456789abcdef";
    const ids = Array.from({ length: 50 }, (_, n) => `0x${n.toString(16).padStart(48, "0")}${tail}`);
    const index = indexOf(ids);
    expect(new Set(ids.map((id) => index.hash(id))).size).to.equal(1);
    expect(ids.map((id) => index.get(id, index.hash(id)))).to.deep.equal(ids.map((_, n) => n));
    index.delete(index.hash(ids[0]), 0);
    expect(index.get(ids[0], index.hash(ids[0]))).to.equal(NONE);
    expect(index.get(ids[49], index.hash(ids[49]))).to.equal(49);
    // An odd length: the last character is read alone.
    expect(index.hash("order-12")).to.not.equal(index.hash("order-123"));
    expect(index.hash("order-123")).to.not.equal(index.hash("order-124"));
  });
});
