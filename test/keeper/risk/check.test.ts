import { expect } from "chai";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  FILL_OR_KILL,
  IMMEDIATE_OR_CANCEL,
  MAX_ORDER_LOTS,
  MAX_UINT64,
  POST_ONLY,
  fillAmounts,
  signOrder,
  type Market,
  type Order,
} from "@crossbook/sdk";
import {
  RiskCode,
  checkOrder,
  feeBpsOf,
  orderReservation,
  reservedByOpenOrders,
  type RiskContext,
  type RiskDecision,
} from "../../../keeper/src/risk";

const account = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const other = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
const EXCHANGE: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const DOMAIN = { chainId: 31337n, verifyingContract: EXCHANGE };
const BASE: Address = "0x00000000000000000000000000000000000000b1";
const QUOTE: Address = "0x00000000000000000000000000000000000000c1";
const NOW = 1_800_000_000n;

const MARKET: Market = {
  marketId: 1n,
  base: BASE,
  quote: QUOTE,
  lotSize: 10n ** 16n,
  tickSize: 100n,
  makerFeeBps: 5n,
  takerFeeBps: 10n,
};

function order(fields: Partial<Order> = {}): Order {
  return {
    maker: account.address,
    marketId: 1n,
    isBuy: true,
    flags: 0n,
    maxFeeBps: 10n,
    expiry: NOW + 3600n,
    nonce: 7n,
    priceTicks: 3333n,
    lots: 3n,
    ...fields,
  };
}

function context(fields: Partial<RiskContext> = {}): RiskContext {
  return {
    domain: DOMAIN,
    chainDomain: DOMAIN,
    market: MARKET,
    riskLimits: { halted: false, bandBps: 0n, maxLotsPerBlock: 0n },
    priceBounds: { available: true, minPriceTicks: 0n, maxPriceTicks: MAX_UINT64 },
    paused: false,
    balances: { base: 10n ** 30n, quote: 10n ** 30n },
    minNonce: 0n,
    cancelAfter: 0n,
    windowLimit: { maxLots: 0n, windowSeconds: 0n, windowStart: 0n, usedLots: 0n },
    filled: 0n,
    timestamp: NOW,
    signature: { kind: "eoa" },
    reservedByOpenOrders: { base: 0n, quote: 0n },
    nonceInUse: false,
    ...fields,
  };
}

async function check(o: Order, ctx: RiskContext, signature?: Hex): Promise<RiskDecision> {
  return checkOrder(o, signature ?? (await signOrder({ signer: account, order: o, domain: DOMAIN })), ctx);
}

async function expectOk(o: Order, ctx: RiskContext = context()) {
  expect(await check(o, ctx)).to.deep.equal({ ok: true });
}

async function expectCode(o: Order, ctx: RiskContext, code: RiskCode, ...inMessage: string[]) {
  const decision = await check(o, ctx);
  expect(
    decision.ok,
    JSON.stringify(decision, (_, v) => (typeof v === "bigint" ? String(v) : v)),
  ).to.equal(false);
  if (decision.ok) return;
  expect(decision.code).to.equal(code);
  expect(decision.message).to.match(/^[A-Z].*\.$/);
  for (const part of inMessage) expect(decision.message).to.contain(part);
}

describe("keeper/risk: checkOrder (pure)", function () {
  it("accepts a good order", async function () {
    await expectOk(order());
  });

  it("INVALID_ORDER: a field outside its Solidity type", async function () {
    // Such an order cannot even be hashed, so it is checked before the signature.
    const decision = await checkOrder(order({ lots: MAX_UINT64 + 1n }), "0x", context());
    expect(decision).to.include({ ok: false, code: RiskCode.INVALID_ORDER });
    expect(decision.ok === false && decision.message)
      .to.contain("lots")
      .and.contain("uint64");
    // An order fits its types, but the Exchange takes at most MAX_ORDER_LOTS lots (settle would revert).
    await expectCode(order({ lots: MAX_ORDER_LOTS + 1n }), context(), RiskCode.INVALID_ORDER, "MAX_ORDER_LOTS");
    await expectOk(order({ lots: MAX_ORDER_LOTS }));
  });

  it("INVALID_FLAGS: unknown bits, or POST_ONLY with IOC or FOK", async function () {
    await expectCode(order({ flags: 8n }), context(), RiskCode.INVALID_FLAGS, "8");
    await expectCode(order({ flags: POST_ONLY | FILL_OR_KILL }), context(), RiskCode.INVALID_FLAGS);
    await expectCode(order({ flags: POST_ONLY | IMMEDIATE_OR_CANCEL }), context(), RiskCode.INVALID_FLAGS);
    await expectOk(order({ flags: POST_ONLY, maxFeeBps: 5n }));
    await expectOk(order({ flags: IMMEDIATE_OR_CANCEL | FILL_OR_KILL }));
  });

  it("ZERO_LOTS and ZERO_PRICE", async function () {
    await expectCode(order({ lots: 0n }), context(), RiskCode.ZERO_LOTS);
    await expectCode(order({ priceTicks: 0n }), context(), RiskCode.ZERO_PRICE);
    await expectOk(order({ lots: 1n, priceTicks: 1n }));
  });

  it("WRONG_DOMAIN: the chain reports another chain id or Exchange", async function () {
    await expectCode(order(), context({ chainDomain: { ...DOMAIN, chainId: 1n } }), RiskCode.WRONG_DOMAIN, "31337");
    await expectCode(
      order(),
      context({ chainDomain: { ...DOMAIN, verifyingContract: BASE } }),
      RiskCode.WRONG_DOMAIN,
      BASE,
    );
    // The same address in another spelling is the same domain.
    await expectOk(
      order(),
      context({ chainDomain: { ...DOMAIN, verifyingContract: EXCHANGE.toLowerCase() as Address } }),
    );
  });

  it("PAUSED", async function () {
    await expectCode(order(), context({ paused: true }), RiskCode.PAUSED);
  });

  it("UNKNOWN_MARKET: not listed, or not the market the context was read for", async function () {
    await expectCode(order(), context({ market: undefined }), RiskCode.UNKNOWN_MARKET, "Market 1");
    await expectCode(order({ marketId: 2n }), context(), RiskCode.UNKNOWN_MARKET, "Market 2");
    await expectCode(order({ marketId: 0n }), context(), RiskCode.UNKNOWN_MARKET);
  });

  it("BAD_SIGNATURE: an EOA signature of another key, another domain or another order", async function () {
    const o = order();
    const byOther = await signOrder({ signer: other, order: o, domain: DOMAIN });
    expect(await checkOrder(o, byOther, context())).to.include({ ok: false, code: RiskCode.BAD_SIGNATURE });
    const otherDomain = await signOrder({ signer: account, order: o, domain: { ...DOMAIN, chainId: 1n } });
    expect(await checkOrder(o, otherDomain, context())).to.include({ code: RiskCode.BAD_SIGNATURE });
    const otherOrder = await signOrder({ signer: account, order: { ...o, lots: 4n }, domain: DOMAIN });
    expect(await checkOrder(o, otherOrder, context())).to.include({ code: RiskCode.BAD_SIGNATURE });
    expect(await checkOrder(o, "0x1234", context())).to.include({ code: RiskCode.BAD_SIGNATURE });
    const good = await signOrder({ signer: account, order: o, domain: DOMAIN });
    expect(await checkOrder(o, good, context())).to.deep.equal({ ok: true });
  });

  it("SIGNATURE_REJECTED: a contract wallet that does not approve (the chain layer's answer)", async function () {
    const o = order();
    expect(await checkOrder(o, "0x", context({ signature: { kind: "contract", approves: false } }))).to.include({
      code: RiskCode.SIGNATURE_REJECTED,
    });
    expect(await checkOrder(o, "0x", context({ signature: { kind: "contract", approves: true } }))).to.deep.equal({
      ok: true,
    });
  });

  it("EXPIRED: valid while timestamp <= expiry", async function () {
    await expectOk(order({ expiry: NOW }));
    await expectCode(order({ expiry: NOW - 1n }), context(), RiskCode.EXPIRED, String(NOW - 1n), String(NOW));
  });

  it("NONCE_BELOW_FLOOR: the floor itself is alive", async function () {
    await expectOk(order({ nonce: 7n }), context({ minNonce: 7n }));
    await expectCode(order({ nonce: 7n }), context({ minNonce: 8n }), RiskCode.NONCE_BELOW_FLOOR, "7", "8");
  });

  it("CANCEL_AFTER_PASSED: fills while timestamp <= deadline; 0 is off", async function () {
    await expectOk(order(), context({ cancelAfter: NOW }));
    await expectOk(order(), context({ cancelAfter: 0n }));
    await expectCode(order(), context({ cancelAfter: NOW - 1n }), RiskCode.CANCEL_AFTER_PASSED, String(NOW - 1n));
  });

  it("CANCELLED: the nonce reads MAX_UINT64", async function () {
    await expectCode(order(), context({ filled: MAX_UINT64 }), RiskCode.CANCELLED, "Nonce 7");
    await expectOk(order({ lots: 3n }), context({ filled: 2n }));
  });

  it("NONCE_USED_UP: filled on-chain up to the order's size", async function () {
    await expectOk(order({ lots: 3n }), context({ filled: 2n }));
    await expectCode(order({ lots: 3n }), context({ filled: 3n }), RiskCode.NONCE_USED_UP, "3 lots filled");
  });

  it("DUPLICATE_NONCE: another open order of the maker uses the nonce", async function () {
    await expectCode(order(), context({ nonceInUse: true }), RiskCode.DUPLICATE_NONCE, "nonce 7");
  });

  it("MAX_FEE_TOO_LOW: the fee of every side the order can fill on", async function () {
    // Plain: the larger fee (taker, 10).
    await expectOk(order({ maxFeeBps: 10n }));
    await expectCode(order({ maxFeeBps: 9n }), context(), RiskCode.MAX_FEE_TOO_LOW, "9 bps", "10 bps");
    // POST_ONLY: the maker fee only.
    await expectOk(order({ flags: POST_ONLY, maxFeeBps: 5n }));
    await expectCode(order({ flags: POST_ONLY, maxFeeBps: 4n }), context(), RiskCode.MAX_FEE_TOO_LOW);
    // IOC / FOK: the taker fee only, even when the maker fee is higher.
    const makerDear = context({ market: { ...MARKET, makerFeeBps: 30n } });
    await expectOk(order({ flags: IMMEDIATE_OR_CANCEL, maxFeeBps: 10n }), makerDear);
    await expectCode(order({ flags: FILL_OR_KILL, maxFeeBps: 9n }), makerDear, RiskCode.MAX_FEE_TOO_LOW);
    await expectCode(order({ maxFeeBps: 29n }), makerDear, RiskCode.MAX_FEE_TOO_LOW, "30 bps");
  });

  it("MARKET_HALTED", async function () {
    await expectCode(
      order(),
      context({ riskLimits: { halted: true, bandBps: 0n, maxLotsPerBlock: 0n } }),
      RiskCode.MARKET_HALTED,
    );
  });

  it("NO_REFERENCE_PRICE: a band without a usable reference", async function () {
    const limits = { halted: false, bandBps: 500n, maxLotsPerBlock: 0n };
    await expectCode(
      order(),
      context({ riskLimits: limits, priceBounds: { available: false, minPriceTicks: 0n, maxPriceTicks: 0n } }),
      RiskCode.NO_REFERENCE_PRICE,
      "500 bps",
    );
  });

  it("PRICE_OUTSIDE_BAND: the bounds themselves are inside", async function () {
    const ctx = context({
      riskLimits: { halted: false, bandBps: 500n, maxLotsPerBlock: 0n },
      priceBounds: { available: true, minPriceTicks: 3000n, maxPriceTicks: 3500n },
    });
    await expectOk(order({ priceTicks: 3000n }), ctx);
    await expectOk(order({ priceTicks: 3500n }), ctx);
    await expectCode(order({ priceTicks: 2999n }), ctx, RiskCode.PRICE_OUTSIDE_BAND, "[3000, 3500]");
    await expectCode(order({ priceTicks: 3501n, isBuy: false }), ctx, RiskCode.PRICE_OUTSIDE_BAND, "3501");
    // Without a band the bounds are not consulted.
    await expectOk(
      order({ priceTicks: 1n }),
      context({ priceBounds: { available: false, minPriceTicks: 5n, maxPriceTicks: 5n } }),
    );
  });

  it("VELOCITY_LIMIT: only an order larger than the lots per block (what is left of it)", async function () {
    const ctx = (filled: bigint) =>
      context({ riskLimits: { halted: false, bandBps: 0n, maxLotsPerBlock: 3n }, filled });
    await expectOk(order({ lots: 3n }), ctx(0n));
    await expectCode(order({ lots: 4n }), ctx(0n), RiskCode.VELOCITY_LIMIT, "4 lots", "3 lots per block");
    await expectOk(order({ lots: 4n }), ctx(1n));
  });

  it("WINDOW_LIMIT: larger than the cap; an immediate order the open window cannot take", async function () {
    const win = (usedLots: bigint, windowStart = NOW - 10n) =>
      context({ windowLimit: { maxLots: 5n, windowSeconds: 60n, windowStart, usedLots } });
    await expectOk(order({ lots: 5n }), win(0n, 0n));
    await expectCode(order({ lots: 6n }), win(0n, 0n), RiskCode.WINDOW_LIMIT, "6 lots", "5 lots per 60 s");
    // A resting order may wait for the window to roll; FOK needs all of it now, IOC some.
    await expectOk(order({ lots: 3n }), win(5n));
    await expectOk(order({ lots: 3n, flags: FILL_OR_KILL }), win(2n));
    await expectCode(order({ lots: 3n, flags: FILL_OR_KILL }), win(3n), RiskCode.WINDOW_LIMIT, "2 of 5");
    await expectOk(order({ lots: 3n, flags: IMMEDIATE_OR_CANCEL }), win(4n));
    await expectCode(order({ lots: 3n, flags: IMMEDIATE_OR_CANCEL }), win(5n), RiskCode.WINDOW_LIMIT, "0 of 5");
    // A window that has ended (timestamp >= start + seconds) is empty again.
    await expectOk(order({ lots: 3n, flags: FILL_OR_KILL }), win(5n, NOW - 60n));
    await expectCode(order({ lots: 3n, flags: FILL_OR_KILL }), win(5n, NOW - 59n), RiskCode.WINDOW_LIMIT);
  });

  it("INSUFFICIENT_BALANCE: a buy needs quote + fee (rounded down) on top of what open orders reserve", async function () {
    // 3 lots at 3333 ticks of 100: 999,900 quote; 10 bps of it is 999.9, rounded down to 999.
    const o = order();
    expect(orderReservation(o, 3n, MARKET)).to.deep.equal({ token: QUOTE, atoms: 999_900n + 999n });
    const reserved = { base: 0n, quote: 700n };
    const exact = 999_900n + 999n + 700n;
    await expectOk(o, context({ balances: { base: 0n, quote: exact }, reservedByOpenOrders: reserved }));
    await expectCode(
      o,
      context({ balances: { base: 0n, quote: exact - 1n }, reservedByOpenOrders: reserved }),
      RiskCode.INSUFFICIENT_BALANCE,
      "needs 1000899 quote atoms",
      "1000898 free",
      "700 reserved",
    );
    // Only what is left under the nonce is needed: 1 lot of 3 filled leaves 666,600 + 666.
    await expectOk(o, context({ filled: 1n, balances: { base: 0n, quote: 666_600n + 666n } }));
    await expectCode(
      o,
      context({ filled: 1n, balances: { base: 0n, quote: 666_600n + 665n } }),
      RiskCode.INSUFFICIENT_BALANCE,
    );
  });

  it("INSUFFICIENT_BALANCE: a sell needs lots * lotSize of base, no fee", async function () {
    const o = order({ isBuy: false, lots: 3n });
    const reserved = { base: 10n ** 16n, quote: 0n };
    await expectOk(o, context({ balances: { base: 4n * 10n ** 16n, quote: 0n }, reservedByOpenOrders: reserved }));
    await expectCode(
      o,
      context({ balances: { base: 4n * 10n ** 16n - 1n, quote: 0n }, reservedByOpenOrders: reserved }),
      RiskCode.INSUFFICIENT_BALANCE,
      "base atoms",
    );
    // Reservations above the balance leave 0 free, not a negative number.
    await expectCode(
      o,
      context({ balances: { base: 1n, quote: 0n }, reservedByOpenOrders: reserved }),
      RiskCode.INSUFFICIENT_BALANCE,
      "0 free",
    );
  });

  it("reports the check the Exchange makes first when several fail", async function () {
    // Expired and halted and short of funds: the chain skips it as expired.
    const ctx = context({
      timestamp: NOW + 7200n,
      riskLimits: { halted: true, bandBps: 0n, maxLotsPerBlock: 0n },
      balances: { base: 0n, quote: 0n },
    });
    await expectCode(order(), ctx, RiskCode.EXPIRED);
  });
});

describe("keeper/risk: reservations (pure)", function () {
  const markets = new Map<bigint, Market>([
    [1n, MARKET],
    // Another market with the same quote token, and one whose base is this market's quote token.
    [
      2n,
      { ...MARKET, marketId: 2n, base: "0x00000000000000000000000000000000000000b2", tickSize: 7n, takerFeeBps: 30n },
    ],
    [3n, { ...MARKET, marketId: 3n, base: QUOTE, quote: "0x00000000000000000000000000000000000000c3", lotSize: 11n }],
  ]);

  it("feeBpsOf: maker for POST_ONLY, taker for IOC/FOK, the larger otherwise", function () {
    const m = { makerFeeBps: 5n, takerFeeBps: 10n };
    expect(feeBpsOf({ flags: POST_ONLY }, m)).to.equal(5n);
    expect(feeBpsOf({ flags: IMMEDIATE_OR_CANCEL }, m)).to.equal(10n);
    expect(feeBpsOf({ flags: FILL_OR_KILL }, { makerFeeBps: 30n, takerFeeBps: 10n })).to.equal(10n);
    expect(feeBpsOf({ flags: 0n }, { makerFeeBps: 30n, takerFeeBps: 10n })).to.equal(30n);
  });

  it("sums every token's reservations across markets, with each buy's fee rounded down", function () {
    const open = [
      { order: order({ marketId: 1n, priceTicks: 7n, flags: POST_ONLY }), lots: 1n }, // 700 quote, fee 0.35 → 0
      { order: order({ marketId: 1n, priceTicks: 3333n }), lots: 3n }, // 999,900 + 999
      { order: order({ marketId: 2n, priceTicks: 1000n }), lots: 5n }, // 35,000 + 105 (30 bps)
      { order: order({ marketId: 1n, isBuy: false }), lots: 2n }, // 2 * 10^16 base
      { order: order({ marketId: 3n, isBuy: false }), lots: 4n }, // 44 of market 3's base = this quote
      { order: order({ marketId: 2n, isBuy: false }), lots: 9n }, // another base: not counted
      { order: order({ marketId: 1n }), lots: 0n }, // nothing left: not counted
    ];
    const reserved = reservedByOpenOrders(open, (id) => markets.get(id), MARKET);
    expect(reserved).to.deep.equal({ base: 2n * 10n ** 16n, quote: 700n + 999_900n + 999n + 35_000n + 105n + 44n });
  });

  it("never reserves less than the fills of any split would take (fee rounding)", function () {
    const o = order({ priceTicks: 3333n });
    const whole = orderReservation(o, 7n, MARKET).atoms;
    for (let a = 1n; a < 7n; a++) {
      const pay = (lots: bigint) => {
        const { quoteAtoms, feeAtoms } = fillAmounts({ lots, priceTicks: 3333n, market: MARKET, feeBps: 10n });
        return quoteAtoms + feeAtoms;
      };
      expect(pay(a) + pay(7n - a) <= whole).to.equal(true);
    }
  });

  it("throws for an order of a market it does not know", function () {
    expect(() =>
      reservedByOpenOrders([{ order: order({ marketId: 9n }), lots: 1n }], () => undefined, MARKET),
    ).to.throw(/market 9/);
  });
});
