import { expect } from "chai";
import { ApiError } from "../../../keeper/src/api/errors";
import { parse, submitOrderBody, submitOrderBodyAtOnce } from "../../../keeper/src/api/schemas";

const MAX_UINT64 = ((1n << 64n) - 1n).toString();
const order = {
  maker: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
  marketId: "1",
  isBuy: true,
  flags: "1",
  maxFeeBps: "10",
  expiry: "4102444800",
  nonce: "7",
  priceTicks: "190000",
  lots: "3",
};
const signature = `0x${"ab".repeat(65)}`;
const body = (o: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) => ({
  order: { ...order, ...o },
  signature,
  ...rest,
});

describe("keeper API: an order's body parsed without zod", () => {
  it("gives what the schema gives for the bodies order entry gets", () => {
    const bodies = [
      body(),
      body({ maker: "0x70997970C51812DC3A010C7D01B50E0D17DC79C8", isBuy: false }),
      body({ marketId: 1, flags: 0, maxFeeBps: 65535, expiry: 1099511627775, nonce: 0, lots: 9007199254740991 }),
      body({ nonce: MAX_UINT64, priceTicks: MAX_UINT64, lots: MAX_UINT64, marketId: "4294967295", flags: "255" }),
      { signature, order },
    ];
    for (const [i, b] of bodies.entries()) {
      const atOnce = submitOrderBodyAtOnce(b);
      expect(atOnce, String(i)).to.not.equal(undefined);
      expect(atOnce, String(i)).to.deep.equal(submitOrderBody.parse(b));
      expect(JSON.stringify(Object.keys(atOnce!.order))).to.equal(
        JSON.stringify(Object.keys(submitOrderBody.parse(b).order)),
      );
    }
  });

  it("leaves every body the schema refuses (or might) to the schema, whose refusal parse gives as before", () => {
    const refused: unknown[] = [
      body({ lots: "-1" }),
      body({ lots: "01" }),
      body({ lots: "1.5" }),
      body({ lots: 1.5 }),
      body({ lots: -1 }),
      body({ lots: 9007199254740992 }),
      body({ lots: `${MAX_UINT64}0` }),
      body({ marketId: "4294967296" }),
      body({ flags: 256 }),
      body({ maxFeeBps: "65536" }),
      body({ expiry: "1099511627776" }),
      body({ isBuy: "true" }),
      body({ maker: "0x1234" }),
      body({ maker: `0x${"g".repeat(40)}` }),
      body({ extra: 1 }),
      body({}, { extra: 1 }),
      body({}, { signature: "0xabc" }),
      body({}, { signature: 42 }),
      { order },
      { order: null, signature },
      { order: [order], signature },
      [body()],
      "a body",
      null,
    ];
    for (const [i, b] of refused.entries()) {
      expect(submitOrderBodyAtOnce(b), String(i)).to.equal(undefined);
      const zod = submitOrderBody.safeParse(b);
      expect(zod.success, String(i)).to.equal(false);
      expect(() => parse(submitOrderBody, b, "body"), String(i)).to.throw(ApiError, "invalid body");
    }
  });
});
