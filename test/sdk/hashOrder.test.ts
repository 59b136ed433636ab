import { expect } from "chai";
import fc from "fast-check";
import { hashTypedData, type Address } from "viem";
import {
  MAX_UINT16,
  MAX_UINT32,
  MAX_UINT40,
  MAX_UINT64,
  MAX_UINT8,
  OrderValidationError,
  hashOrder,
  hashOrderStruct,
  orderTypedData,
  sdkReady,
  type Order,
} from "@crossbook/sdk";
import { setKeccakFallback, usesWebAssembly } from "@crossbook/sdk/hashing";
import { VECTORS } from "./support";

/** Any order whose fields fit their Solidity types. */
export const arbitraryOrder: fc.Arbitrary<Order> = fc.record({
  maker: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString("hex")}` as Address),
  marketId: fc.bigInt(0n, MAX_UINT32),
  isBuy: fc.boolean(),
  flags: fc.bigInt(0n, MAX_UINT8),
  maxFeeBps: fc.bigInt(0n, MAX_UINT16),
  expiry: fc.bigInt(0n, MAX_UINT40),
  nonce: fc.bigInt(0n, MAX_UINT64),
  priceTicks: fc.bigInt(0n, MAX_UINT64),
  lots: fc.bigInt(0n, MAX_UINT64),
});

const arbitraryDomain = fc.record({
  chainId: fc.oneof(fc.integer({ min: 1, max: 2 ** 40 }), fc.bigInt(1n, 2n ** 256n - 1n)),
  verifyingContract: fc
    .uint8Array({ minLength: 20, maxLength: 20 })
    .map((b) => `0x${Buffer.from(b).toString("hex")}` as Address),
});

describe("sdk/hashOrder", function () {
  before(async function () {
    await sdkReady(); // the tests below run on WebAssembly unless they say otherwise
  });

  it("reproduces every committed vector's digest and struct hash", function () {
    for (const v of VECTORS) {
      expect(hashOrder(v), v.name).to.equal(v.digest);
      expect(hashOrderStruct(v), v.name).to.equal(v.structHash);
    }
  });

  it("equals viem's hashTypedData on any order and domain", function () {
    fc.assert(
      fc.property(arbitraryOrder, arbitraryDomain, (order, domain) => {
        expect(hashOrder({ order, domain })).to.equal(hashTypedData(orderTypedData({ order, domain })));
      }),
      { numRuns: 300 },
    );
  });

  it("gives the same digests without WebAssembly (viem's keccak256)", function () {
    expect(usesWebAssembly()).to.equal(true);
    const withWasm = VECTORS.map(hashOrder);
    setKeccakFallback(true);
    try {
      expect(usesWebAssembly()).to.equal(false);
      expect(VECTORS.map(hashOrder)).to.deep.equal(withWasm);
      expect(VECTORS.map((v) => hashOrder(v))).to.deep.equal(VECTORS.map((v) => v.digest));
    } finally {
      setKeccakFallback(false);
    }
  });

  it("accepts a maker in any letter case", function () {
    const v = VECTORS[0];
    for (const maker of [v.order.maker.toLowerCase(), `0x${v.order.maker.slice(2).toUpperCase()}`] as Address[]) {
      expect(hashOrder({ order: { ...v.order, maker }, domain: v.domain })).to.equal(v.digest);
    }
  });

  it("hashes for the domain given, not one cached for another (also when a domain object is changed in place)", function () {
    const v = VECTORS[0];
    const domain = { ...v.domain };
    const first = hashOrder({ order: v.order, domain });
    domain.chainId = 1n;
    const second = hashOrder({ order: v.order, domain });
    expect(second).to.not.equal(first);
    expect(second).to.equal(hashTypedData(orderTypedData({ order: v.order, domain })));
    expect(hashOrder({ order: v.order, domain: { ...domain, chainId: 31337 } })).to.equal(first);
  });

  it("throws an OrderValidationError naming every field that cannot be encoded, and hashes nothing wrongly", function () {
    const v = VECTORS[0];
    const bad = { ...v.order, maker: "0x12", marketId: MAX_UINT32 + 1n, flags: 1, lots: -1n } as unknown as Order;
    let caught: unknown;
    try {
      hashOrder({ order: bad, domain: v.domain });
    } catch (error) {
      caught = error;
    }
    expect(caught).to.be.instanceOf(OrderValidationError);
    const problems = (caught as OrderValidationError).problems.map((p) => [p.field, p.code]);
    expect(problems).to.deep.equal([
      ["maker", "INVALID_ADDRESS"],
      ["marketId", "TOO_LARGE"],
      ["flags", "WRONG_TYPE"],
      ["lots", "NEGATIVE"],
    ]);
    expect(hashOrder(v)).to.equal(v.digest); // the failed call left nothing behind
  });

  it("rejects a value one above each field's width", function () {
    const v = VECTORS[0];
    const widths: [keyof Order, bigint][] = [
      ["marketId", MAX_UINT32],
      ["flags", MAX_UINT8],
      ["maxFeeBps", MAX_UINT16],
      ["expiry", MAX_UINT40],
      ["nonce", MAX_UINT64],
      ["priceTicks", MAX_UINT64],
      ["lots", MAX_UINT64],
    ];
    for (const [field, max] of widths) {
      expect(() => hashOrder({ order: { ...v.order, [field]: max }, domain: v.domain }), field).to.not.throw();
      expect(() => hashOrder({ order: { ...v.order, [field]: max + 1n }, domain: v.domain }), field).to.throw(
        OrderValidationError,
        field,
      );
    }
  });
});
