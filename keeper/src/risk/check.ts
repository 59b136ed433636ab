/**
 * The keeper's pre-trade check: a pure decision over an order, its signature and a `RiskContext`.
 * No I/O, no clock: the same inputs always give the same answer. It is `async` only because ECDSA
 * recovery may be (it is done in memory, by `keeper/src/sigcheck`, unless the context carries the
 * signer already).
 */
import { isAddressEqual, type Hex } from "viem";
import {
  FILL_OR_KILL,
  IMMEDIATE_OR_CANCEL,
  KNOWN_FLAGS,
  MAX_UINT64,
  POST_ONLY,
  validateOrder,
  type ExchangeDomainParameters,
  type Order,
} from "@crossbook/sdk";
import { recoverOrderSigner } from "../sigcheck";
import { feeBpsOf, orderReservation } from "./reservation";
import { RiskCode, type RiskContext, type RiskDecision } from "./types";

const ACCEPT: RiskDecision = { ok: true };

function reject(code: RiskCode, message: string): RiskDecision {
  return { ok: false, code, message };
}

/**
 * Whether `signature` is an ECDSA signature of the order by its maker, under `domain`: the
 * keeper's one recovery (`keeper/src/sigcheck`, native libsecp256k1), whose rule is the SDK's and
 * the Exchange's.
 */
export async function recoversToMaker(
  order: Order,
  signature: Hex,
  domain: ExchangeDomainParameters,
): Promise<boolean> {
  const signer = await recoverOrderSigner(order, signature, domain);
  return signer !== undefined && isAddressEqual(signer, order.maker);
}

/**
 * Whether the Exchange would fill `order` now, as far as it can be told before the order enters the
 * book: `{ ok: true }`, or the first problem found as a stable `code` and a one-sentence `message`.
 * Checks run in the Exchange's own order (pause, market, signature, expiry, nonce floor,
 * cancel-after, fill state, fee, halt, reference, band, velocity, window, funds), so that an order
 * with several problems gets the code of the `SkipReason` the chain would give it. See
 * keeper/README.md, "Risk", for what is left to settlement.
 */
export async function checkOrder(order: Order, signature: Hex, context: RiskContext): Promise<RiskDecision> {
  return (
    checkOrderNow(order, context) ??
    (checkOrderNow(order, context, await recoversToMaker(order, signature, context.domain)) as RiskDecision)
  );
}

/**
 * `checkOrder` without an await: its decision, or undefined when it needs the signature recovered
 * (an EOA's and the context carries no signer). `recovered`: whether the recovery found the maker,
 * when it was done. The engine asks this first: an order whose signer is known (every order behind
 * a gateway, and the engine's own precheck) pays for no promise here.
 */
export function checkOrderNow(order: Order, context: RiskContext, recovered?: boolean): RiskDecision | undefined {
  // ── Shape: what no chain state can fix.
  const { problems } = validateOrder({ order });
  const encoding = problems.find(
    (p) => !["ZERO", "UNKNOWN_FLAGS", "CONFLICTING_FLAGS", "BAD_CHECKSUM"].includes(p.code),
  );
  if (encoding !== undefined)
    return reject(RiskCode.INVALID_ORDER, `The order's ${encoding.field} ${encoding.message}.`);
  if ((order.flags & ~KNOWN_FLAGS) !== 0n) {
    return reject(RiskCode.INVALID_FLAGS, `Flags ${order.flags} have bits other than POST_ONLY, IOC and FOK.`);
  }
  if ((order.flags & POST_ONLY) !== 0n && (order.flags & (IMMEDIATE_OR_CANCEL | FILL_OR_KILL)) !== 0n) {
    return reject(
      RiskCode.INVALID_FLAGS,
      `Flags ${order.flags} combine POST_ONLY with IOC or FOK: it could never fill.`,
    );
  }
  if (order.lots === 0n) return reject(RiskCode.ZERO_LOTS, "The order is for 0 lots.");
  if (order.priceTicks === 0n) return reject(RiskCode.ZERO_PRICE, "The order's price is 0 ticks.");

  // ── The keeper's own view of the chain.
  const { domain, chainDomain } = context;
  if (
    BigInt(domain.chainId) !== BigInt(chainDomain.chainId) ||
    !isAddressEqual(domain.verifyingContract, chainDomain.verifyingContract)
  ) {
    return reject(
      RiskCode.WRONG_DOMAIN,
      `The keeper signs for Exchange ${domain.verifyingContract} on chain ${domain.chainId}, ` +
        `but the chain reports ${chainDomain.verifyingContract} on chain ${chainDomain.chainId}.`,
    );
  }
  if (context.paused) return reject(RiskCode.PAUSED, "The Exchange is paused: nothing settles until it is unpaused.");
  const market = context.market;
  if (market === undefined || market.marketId !== order.marketId) {
    return reject(RiskCode.UNKNOWN_MARKET, `Market ${order.marketId} is not listed on the Exchange.`);
  }

  // ── The order itself (the Exchange's `_checkOrder`).
  if (context.signature.kind === "contract") {
    if (!context.signature.approves) {
      return reject(
        RiskCode.SIGNATURE_REJECTED,
        `The contract wallet ${order.maker} does not approve the order's signature (ERC-1271).`,
      );
    }
  } else {
    const signer = context.signature.signer;
    const byMaker = signer !== undefined ? signer !== null && isAddressEqual(signer, order.maker) : recovered;
    if (byMaker === undefined) return undefined;
    if (!byMaker) return reject(RiskCode.BAD_SIGNATURE, `The signature does not recover to the maker ${order.maker}.`);
  }
  const now = context.timestamp;
  if (now > order.expiry) {
    return reject(RiskCode.EXPIRED, `The order expired at ${order.expiry}; the chain's time is ${now}.`);
  }
  if (order.nonce < context.minNonce) {
    return reject(
      RiskCode.NONCE_BELOW_FLOOR,
      `Nonce ${order.nonce} is below the maker's nonce floor of ${context.minNonce}.`,
    );
  }
  const horizon = context.horizonSeconds ?? 0n;
  if (context.cancelAfter !== 0n && now + horizon > context.cancelAfter) {
    return reject(
      RiskCode.CANCEL_AFTER_PASSED,
      horizon === 0n
        ? `The maker's cancel-after deadline ${context.cancelAfter} has passed; the chain's time is ${now}.`
        : `The maker's cancel-after deadline ${context.cancelAfter} falls within the keeper's settlement horizon ` +
            `(${horizon} s after the chain's time ${now}).`,
    );
  }

  // ── Fill state under the nonce.
  if (context.filled === MAX_UINT64) return reject(RiskCode.CANCELLED, `Nonce ${order.nonce} is cancelled on-chain.`);
  if (context.filled >= order.lots) {
    return reject(
      RiskCode.NONCE_USED_UP,
      `Nonce ${order.nonce} has ${context.filled} lots filled on-chain, nothing left of the order's ${order.lots}.`,
    );
  }
  if (context.nonceInUse) {
    return reject(RiskCode.DUPLICATE_NONCE, `Another open order of ${order.maker} uses nonce ${order.nonce}.`);
  }
  const remaining = order.lots - context.filled;

  // ── Fees, then the market's limits (the Exchange's `_executeFill`).
  const feeBps = feeBpsOf(order, market);
  if (feeBps > order.maxFeeBps) {
    return reject(
      RiskCode.MAX_FEE_TOO_LOW,
      `The order accepts at most ${order.maxFeeBps} bps of fee, but can be charged ${feeBps} bps ` +
        `(maker ${market.makerFeeBps}, taker ${market.takerFeeBps}).`,
    );
  }
  const limits = context.riskLimits;
  if (limits.halted) return reject(RiskCode.MARKET_HALTED, `Market ${order.marketId} is halted.`);
  if (limits.bandBps !== 0n) {
    const bounds = context.priceBounds;
    if (!bounds.available) {
      return reject(
        RiskCode.NO_REFERENCE_PRICE,
        `Market ${order.marketId} has a ${limits.bandBps} bps band but no usable reference price.`,
      );
    }
    if (order.priceTicks < bounds.minPriceTicks || order.priceTicks > bounds.maxPriceTicks) {
      return reject(
        RiskCode.PRICE_OUTSIDE_BAND,
        `Price ${order.priceTicks} is outside the band [${bounds.minPriceTicks}, ${bounds.maxPriceTicks}] ticks.`,
      );
    }
  }
  if (limits.maxLotsPerBlock !== 0n && remaining > limits.maxLotsPerBlock) {
    return reject(
      RiskCode.VELOCITY_LIMIT,
      `The order's ${remaining} lots exceed the market's limit of ${limits.maxLotsPerBlock} lots per block.`,
    );
  }
  const window = context.windowLimit;
  if (window.windowSeconds !== 0n) {
    if (remaining > window.maxLots) {
      return reject(
        RiskCode.WINDOW_LIMIT,
        `The order's ${remaining} lots exceed the maker's own limit of ${window.maxLots} lots per ${window.windowSeconds} s.`,
      );
    }
    const open = window.windowStart !== 0n && now < window.windowStart + window.windowSeconds;
    const free = open ? (window.usedLots >= window.maxLots ? 0n : window.maxLots - window.usedLots) : window.maxLots;
    const fok = (order.flags & FILL_OR_KILL) !== 0n;
    const ioc = (order.flags & IMMEDIATE_OR_CANCEL) !== 0n;
    if ((fok && remaining > free) || (ioc && free === 0n)) {
      return reject(
        RiskCode.WINDOW_LIMIT,
        `The maker's window has ${free} of ${window.maxLots} lots left, too few for an immediate order of ${remaining}.`,
      );
    }
  }

  // ── Funds: the balance less what the maker's other open orders reserve.
  const need = orderReservation(order, remaining, market);
  const side = order.isBuy ? "quote" : "base";
  const balance = context.balances[side];
  const reserved = context.reservedByOpenOrders[side];
  if (balance < reserved + need.atoms) {
    const free = balance > reserved ? balance - reserved : 0n;
    return reject(
      RiskCode.INSUFFICIENT_BALANCE,
      `The order needs ${need.atoms} ${side} atoms${order.isBuy ? " (fee included)" : ""}, but the maker has ` +
        `${free} free (balance ${balance}, ${reserved} reserved by its open orders).`,
    );
  }
  return ACCEPT;
}
