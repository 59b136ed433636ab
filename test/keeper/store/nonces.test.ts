import { expect } from "chai";
import type { Address } from "viem";
import { HighestNonces } from "../../../keeper/src/store/nonces";

const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Address;
const BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" as Address;
const CAROL = "0x90F79bf6EB2c4f870365E785982E1f101E93b906" as Address;

/** Memory over a table of highest nonces, counting the table's reads. */
function over(table: Map<Address, bigint>, capacity?: number) {
  const reads: Address[] = [];
  const nonces = new HighestNonces((account) => {
    reads.push(account);
    return table.get(account) ?? -1n;
  }, capacity);
  return { nonces, reads };
}

describe("keeper store: each account's highest nonce held (HighestNonces)", () => {
  it("reads an account once, then answers above its highest from memory", () => {
    const { nonces, reads } = over(new Map([[ALICE, 5n]]));
    expect(nonces.above(ALICE, 6n)).to.equal(true);
    expect(nonces.above(ALICE, 5n)).to.equal(false);
    expect(nonces.above(BOB, 0n)).to.equal(true); // holds none
    expect(reads).to.deep.equal([ALICE, BOB]);
  });

  it("raises an account it holds when an order is stored, and leaves one it never read to the table", () => {
    const table = new Map([[ALICE, 5n]]);
    const { nonces, reads } = over(table);
    nonces.above(ALICE, 0n);
    nonces.stored(ALICE, 9n);
    nonces.stored(ALICE, 7n); // never lowered
    expect(nonces.above(ALICE, 9n)).to.equal(false);
    expect(nonces.above(ALICE, 10n)).to.equal(true);
    nonces.stored(BOB, 3n); // not held: read in full at its first use
    table.set(BOB, 3n);
    expect(nonces.above(BOB, 3n)).to.equal(false);
    expect(reads).to.deep.equal([ALICE, BOB]);
  });

  it("reads every account again once it forgot them", () => {
    const { nonces, reads } = over(new Map([[ALICE, 5n]]));
    nonces.above(ALICE, 0n);
    nonces.forget();
    nonces.above(ALICE, 0n);
    expect(reads).to.deep.equal([ALICE, ALICE]);
  });

  it("holds at most its capacity of accounts: past it, every one is read again at its next use", () => {
    const { nonces, reads } = over(new Map([[ALICE, 5n]]), 2);
    nonces.above(ALICE, 0n);
    nonces.above(BOB, 0n);
    nonces.above(CAROL, 0n); // a third account: the two before are dropped
    expect(nonces.above(ALICE, 6n)).to.equal(true);
    expect(nonces.above(ALICE, 5n)).to.equal(false);
    expect(reads).to.deep.equal([ALICE, BOB, CAROL, ALICE]);
  });
});
