import { expect } from "chai";
import {
  FILL_OR_KILL,
  MAX_ORDER_LOTS,
  MAX_UINT32,
  OrderValidationError,
  POST_ONLY,
  assertValidOrder,
  validateOrder,
  type Market,
  type Order,
} from "@crossbook/sdk";

const GOOD: Order = {
  maker: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  marketId: 1n,
  isBuy: true,
  flags: 0n,
  maxFeeBps: 10n,
  expiry: 4_102_444_800n,
  nonce: 1n,
  priceTicks: 183_450n,
  lots: 25n,
};

const MARKET: Market = {
  marketId: 1n,
  base: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  quote: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
  lotSize: 10n ** 16n,
  tickSize: 100n,
  makerFeeBps: 5n,
  takerFeeBps: 10n,
};

const problemsOf = (order: object, context: { now?: bigint; market?: Market } = {}) =>
  validateOrder({ order, ...context }).problems.map((p) => `${p.field} ${p.code}`);

describe("sdk/validateOrder", function () {
  it("finds no problem in a good order", function () {
    expect(validateOrder({ order: GOOD, now: 1_700_000_000n, market: MARKET })).to.deep.equal({
      valid: true,
      problems: [],
    });
    expect(assertValidOrder({ order: GOOD })).to.equal(GOOD);
  });

  it("reports every problem of an order at once, not just the first", function () {
    const order = {
      maker: "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266", // checksum broken
      marketId: 0n,
      isBuy: "yes",
      flags: POST_ONLY | FILL_OR_KILL | 8n,
      maxFeeBps: 70_000n,
      expiry: 1_000n,
      nonce: 5,
      priceTicks: 0n,
    };
    expect(problemsOf(order, { now: 2_000n })).to.deep.equal([
      "isBuy WRONG_TYPE",
      "maxFeeBps TOO_LARGE",
      "nonce WRONG_TYPE",
      "lots MISSING",
      "maker BAD_CHECKSUM",
      "marketId ZERO",
      "flags UNKNOWN_FLAGS",
      "flags CONFLICTING_FLAGS",
      "priceTicks ZERO",
      "expiry EXPIRED",
    ]);
    const message = validateOrder({ order }).problems.find((p) => p.field === "nonce")!.message;
    expect(message).to.match(/write 5n/);
  });

  it("reports each field beyond its Solidity width, and negative numbers", function () {
    expect(problemsOf({ ...GOOD, marketId: MAX_UINT32 + 1n, lots: -1n, maker: "0x1234" })).to.deep.equal([
      "maker INVALID_ADDRESS",
      "marketId TOO_LARGE",
      "lots NEGATIVE",
    ]);
  });

  it("rejects more lots than the Exchange's MAX_ORDER_LOTS (2^63 - 1), though they fit in uint64", function () {
    expect(problemsOf({ ...GOOD, lots: MAX_ORDER_LOTS })).to.deep.equal([]);
    expect(problemsOf({ ...GOOD, lots: MAX_ORDER_LOTS + 1n })).to.deep.equal(["lots TOO_LARGE"]);
  });

  it("rejects the zero address as maker, and a non-object", function () {
    expect(problemsOf({ ...GOOD, maker: "0x0000000000000000000000000000000000000000" })).to.deep.equal([
      "maker ZERO_ADDRESS",
    ]);
    expect(validateOrder({ order: null as never }).problems.map((p) => p.code)).to.deep.equal(["WRONG_TYPE"]);
  });

  it("checks expiry against now: an order is valid up to and including its expiry second", function () {
    expect(problemsOf(GOOD, { now: GOOD.expiry })).to.deep.equal([]);
    expect(problemsOf(GOOD, { now: GOOD.expiry + 1n })).to.deep.equal(["expiry EXPIRED"]);
  });

  it("checks the market id and the fee of the side(s) the order can fill on against a market", function () {
    expect(problemsOf({ ...GOOD, marketId: 2n }, { market: MARKET })).to.deep.equal(["marketId MARKET_MISMATCH"]);
    // any order can make: it needs the lower of the two fees
    expect(problemsOf({ ...GOOD, maxFeeBps: 5n }, { market: MARKET })).to.deep.equal([]);
    expect(problemsOf({ ...GOOD, maxFeeBps: 4n }, { market: MARKET })).to.deep.equal(["maxFeeBps FEE_BELOW_MARKET"]);
    // post-only only makes; fill-or-kill only takes
    expect(problemsOf({ ...GOOD, flags: POST_ONLY, maxFeeBps: 5n }, { market: MARKET })).to.deep.equal([]);
    expect(problemsOf({ ...GOOD, flags: FILL_OR_KILL, maxFeeBps: 9n }, { market: MARKET })).to.deep.equal([
      "maxFeeBps FEE_BELOW_MARKET",
    ]);
  });

  it("assertValidOrder throws an OrderValidationError listing every problem", function () {
    expect(() => assertValidOrder({ order: { ...GOOD, lots: 0n, priceTicks: 0n } }))
      .to.throw(OrderValidationError, /2 problems/)
      .with.property("problems")
      .with.lengthOf(2);
  });
});
