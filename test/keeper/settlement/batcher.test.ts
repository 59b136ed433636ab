/**
 * The pure batcher: grouping (markets contiguous, a taker's fills together in match order),
 * limits (count, gas, a fill-or-kill run never cut), due-ness, and blame from a decoded revert.
 */
import { expect } from "chai";
import type { Address, Hex } from "viem";
import { FILL_OR_KILL, type SignedOrder } from "@crossbook/sdk";
import {
  assemble,
  blamedFills,
  buildBatch,
  canonicalOrder,
  estimateGas,
  isDue,
  takerGroups,
  type BatchLimits,
} from "../../../keeper/src/settlement";
import type { StoredFill } from "../../../keeper/src/store";

const h = (n: number): Hex => `0x${n.toString(16).padStart(64, "0")}`;
const MAKER: Address = "0x00000000000000000000000000000000000000aa";

/** Order hashes 1..99; hash 50+ are fill-or-kill takers. */
function lookup(hash: Hex): SignedOrder | undefined {
  const n = Number(BigInt(hash));
  if (n === 0 || n >= 100) return undefined;
  return {
    order: {
      maker: MAKER,
      marketId: 1n,
      isBuy: n % 2 === 0,
      flags: n >= 50 ? FILL_OR_KILL : 0n,
      maxFeeBps: 10n,
      expiry: 1n << 39n,
      nonce: BigInt(n),
      priceTicks: 100n,
      lots: 10n,
    },
    signature: "0x",
  };
}

function fill(id: number, maker: number, taker: number, market = 1n, createdAt = 1_000): StoredFill {
  return {
    id,
    market,
    makerHash: h(maker),
    takerHash: h(taker),
    priceTicks: 100n,
    lots: 1n,
    status: "pending",
    createdAt,
    updatedAt: createdAt,
  };
}

const LIMITS: BatchLimits = { maxFills: 50, maxGas: 100_000_000n, maxWaitMs: 2_000 };

describe("keeper/settlement: batcher", function () {
  it("shares a batch fairly across taker accounts: a flood from one does not hold back another's fill", function () {
    //   takers 10..29 are one account's (wash), taker 30 another's, which matched last
    const washer = "0x00000000000000000000000000000000000000bb" as Address;
    const honest = "0x00000000000000000000000000000000000000cc" as Address;
    const accounts = (hash: Hex): SignedOrder | undefined => {
      const base = lookup(hash);
      if (base === undefined) return undefined;
      const n = Number(BigInt(hash));
      const maker = n >= 10 && n < 30 ? washer : n === 30 ? honest : MAKER;
      return { ...base, order: { ...base.order, maker } };
    };
    const pending = [...Array.from({ length: 20 }, (_, i) => fill(1 + i, 1, 10 + i)), fill(21, 1, 30)];
    const batch = buildBatch(pending, accounts, { ...LIMITS, maxFills: 4 })!;
    expect(batch.fillIds).to.have.length(4);
    expect(batch.fillIds).to.include(21);
  });

  it("keeps a market's lots per block: a group that does not fit closes the market for the batch, others go on", function () {
    const pending = [fill(1, 1, 10, 1n), { ...fill(2, 1, 11, 1n), lots: 5n }, fill(3, 1, 12, 1n), fill(4, 2, 13, 2n)];
    const batch = buildBatch(pending, lookup, LIMITS, undefined, new Map([[1n, 3n]]))!;
    // market 1 takes fill 1 (1 lot); fill 2 (5 lots) does not fit and closes it; market 2 goes on
    expect([...batch.fillIds].sort()).to.deep.equal([1, 4]);
  });

  it("puts the fills of one market together and a taker's fills together, in match order", function () {
    const fills = [
      fill(1, 1, 3, 2n),
      fill(2, 5, 7, 1n),
      fill(3, 1, 9, 2n),
      fill(4, 11, 7, 1n),
      fill(5, 13, 3, 2n),
      fill(6, 15, 9, 2n),
    ];
    const batch = buildBatch(fills, lookup, LIMITS) as NonNullable<ReturnType<typeof buildBatch>>;
    expect(batch.fillIds).to.deep.equal([2, 4, 1, 5, 3, 6]);
    // Each order once; fills point at it by index.
    expect(batch.orderHashes).to.have.lengthOf(new Set(batch.orderHashes).size);
    batch.fills.forEach((f, i) => {
      const stored = fills.find((x) => x.id === batch.fillIds[i]) as StoredFill;
      expect(batch.orderHashes[Number(f.makerIndex)]).to.equal(stored.makerHash);
      expect(batch.orderHashes[Number(f.takerIndex)]).to.equal(stored.takerHash);
    });
    expect(takerGroups(batch)).to.deep.equal([
      [0, 1],
      [2, 3],
      [4, 5],
    ]);
  });

  it("orders a set of fills the same whatever order it comes in (restart maps fill indexes back)", function () {
    const fills = [fill(8, 1, 3, 2n), fill(2, 5, 7), fill(5, 1, 9, 2n), fill(4, 11, 7), fill(9, 13, 3, 2n)];
    const a = canonicalOrder(fills).map((f) => f.id);
    const b = canonicalOrder([...fills].reverse()).map((f) => f.id);
    expect(a).to.deep.equal(b).and.deep.equal([2, 4, 5, 8, 9]);
    expect(assemble(fills, lookup).fillIds).to.deep.equal(a);
  });

  it("stops at maxFills, cutting a plain taker's run but never a fill-or-kill one", function () {
    const plain = [fill(1, 1, 3), fill(2, 5, 3), fill(3, 7, 3), fill(4, 9, 11)];
    const cut = buildBatch(plain, lookup, { ...LIMITS, maxFills: 2 });
    expect(cut?.fillIds).to.deep.equal([1, 2]);
    expect(cut?.full).to.equal(true);

    const fok = [fill(1, 1, 3), fill(2, 5, 51), fill(3, 7, 51), fill(4, 9, 51)];
    const held = buildBatch(fok, lookup, { ...LIMITS, maxFills: 3 });
    expect(held?.fillIds).to.deep.equal([1]); // the FOK run of 3 does not fit beside it
    const alone = buildBatch(fok.slice(1), lookup, { ...LIMITS, maxFills: 2 });
    expect(alone?.fillIds).to.deep.equal([2, 3, 4]); // oversize FOK run: sent alone, whole
    expect(alone?.fillOrKill).to.deep.equal([true, true, true]);
  });

  it("stops where the gas model reaches maxGas", function () {
    const fills = Array.from({ length: 10 }, (_, i) => fill(i + 1, 1 + 2 * i, 41 + 2 * i));
    const model = { base: 50_000n, perFill: 100_000n };
    const batch = buildBatch(fills, lookup, { ...LIMITS, maxGas: 450_000n }, model);
    expect(batch?.fillIds).to.have.lengthOf(4);
    expect(batch?.estimatedGas).to.equal(450_000n);
    expect(estimateGas(0, model)).to.equal(0n);
    // A gas limit below one fill still sends one fill at a time.
    expect(buildBatch(fills, lookup, { ...LIMITS, maxGas: 1n }, model)?.fillIds).to.deep.equal([1]);
  });

  it("is due when full or when its oldest fill has waited maxWaitMs", function () {
    const fills = [fill(1, 1, 3, 1n, 10_000), fill(2, 5, 7, 1n, 11_000)];
    const batch = buildBatch(fills, lookup, LIMITS) as NonNullable<ReturnType<typeof buildBatch>>;
    expect(batch.full).to.equal(false);
    expect(isDue(batch, LIMITS, 11_999)).to.equal(false);
    expect(isDue(batch, LIMITS, 12_000)).to.equal(true);
    const full = buildBatch(fills, lookup, { ...LIMITS, maxFills: 2 }) as NonNullable<ReturnType<typeof buildBatch>>;
    expect(isDue(full, LIMITS, 10_000)).to.equal(true);
    expect(buildBatch([], lookup, LIMITS)).to.equal(undefined);
  });

  it("refuses a fill whose order the store does not hold", function () {
    expect(() => buildBatch([fill(1, 1, 300)], lookup, LIMITS)).to.throw(/not in the store/);
  });

  it("blames every fill of a named order, a named fill, and a whole fill-or-kill run", function () {
    const batch = assemble([fill(1, 1, 3), fill(2, 5, 3), fill(3, 1, 7), fill(4, 9, 51), fill(5, 11, 51)], lookup);
    const orderIndex = (hash: Hex) => BigInt(batch.orderHashes.indexOf(hash));
    const named = (errorName: string, namedArgs: Record<string, unknown>) => ({
      errorName,
      args: [],
      namedArgs,
      data: "0x" as Hex,
    });
    // Order 1 (a maker in fills 1 and 3) has a bad signature.
    expect(batch.fillIds).to.deep.equal([1, 2, 3, 4, 5]);
    expect(
      blamedFills(batch, named("InvalidSignature", { fillIndex: 0n, orderIndex: orderIndex(h(1)) })),
    ).to.deep.equal([0, 2]);
    expect(blamedFills(batch, named("ZeroLotFill", { fillIndex: 1n }))).to.deep.equal([1]);
    const fokStart = batch.fillIds.indexOf(4);
    expect(blamedFills(batch, named("FillOrKillSizeMismatch", { fillIndex: BigInt(fokStart) }))).to.deep.equal([
      fokStart,
      fokStart + 1,
    ]);
    expect(blamedFills(batch, named("EnforcedPause", {}))).to.deep.equal([]);
    expect(blamedFills(batch, named("SomethingElse", {}))).to.deep.equal([]);
  });
});
