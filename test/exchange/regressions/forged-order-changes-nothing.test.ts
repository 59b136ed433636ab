/**
 * Regression, review finding 1 (medium): a forged order changed a contract wallet's state.
 *
 * The keeper built an IMMEDIATE_OR_CANCEL order for an ERC-1271 wallet, with any nonce and a
 * signature the wallet rejects, and paired it with any order. The fill was skipped
 * (`MakerSignatureRejected`), yet after the call the wallet's `(maker, nonce)` read as cancelled — a
 * live, partly filled order killed, or a nonce never used burnt. The rule this file pins: nothing in
 * `settle` writes any state of an order whose signature was not accepted — its fill state, IOC or
 * FOK marks, its account's window use, the market's lots per block and last price.
 *
 *   victim (the wallet, or alice)  — a genuine order under nonce LIVE, 2 of its lots filled
 *   forged order of the victim     ⇄ honest orders of bob and carol  — skipped, nothing written
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { FILL_OR_KILL, IMMEDIATE_OR_CANCEL, SkipReason, makeOrder, signOrder } from "../../helpers/orders";
import {
  afterFirmness,
  balancesOf,
  deployFundedWithWallet,
  fill,
  outcomes,
  PRICE,
  settleAs,
  signed,
  WalletMode,
  type Signed,
} from "../support";

const LIVE = 5n;
const FRESH = 9n;

/** The funded fixture with a wallet; market 1 tracks its last price and lots per block; both victims have a window limit. */
async function deployForgery() {
  const env = await deployFundedWithWallet();
  const { exchange, wallet, walletOwner, alice, carol, keeper, domain } = env;
  await exchange.setPriceBand(1n, 1_000n, PRICE);
  await exchange.setVelocityLimit(1n, 1_000_000n);
  await exchange.connect(alice).setWindowLimit(1n, 1_000n, 3_600n);
  const setLimit = exchange.interface.encodeFunctionData("setWindowLimit", [1n, 1_000n, 3_600n]);
  await wallet.connect(walletOwner).execute(exchange, setLimit);
  await afterFirmness();
  // Each victim's genuine ask under LIVE fills 2 of its 10 lots.
  const walletAsk = makeOrder({ maker: await wallet.getAddress(), isBuy: false, nonce: LIVE, priceTicks: PRICE });
  const genuine: Signed[] = [
    { order: walletAsk, signature: await signOrder(walletOwner, domain, walletAsk) },
    await signed(alice, domain, { isBuy: false, nonce: LIVE }),
  ];
  const carolBid = await signed(carol, domain, { isBuy: true, nonce: 50n, lots: 100n });
  await settleAs(exchange, keeper, [...genuine, carolBid], [fill(0, 2, 2n), fill(1, 2, 2n)]);
  await mine(); // lots per block count from zero again: a forged fill that counted would show
  return env;
}

type Env = Awaited<ReturnType<typeof deployForgery>>;
type Forger = "a wallet that rejects it" | "an EOA it does not recover to";
type Role = "maker" | "taker" | "second maker of a fill-or-kill run";

/** An order of the victim that its signature does not authorise. */
async function forge(env: Env, forger: Forger, fields: { isBuy: boolean; nonce: bigint; flags: bigint; lots: bigint }) {
  if (forger === "a wallet that rejects it") {
    await env.wallet.connect(env.walletOwner).setMode(WalletMode.Reject);
    const order = makeOrder({ maker: await env.wallet.getAddress(), priceTicks: PRICE, ...fields });
    return { order, signature: await signOrder(env.walletOwner, env.domain, order) };
  }
  const order = makeOrder({ maker: env.alice.address, priceTicks: PRICE, ...fields });
  return { order, signature: await signOrder(env.dave, env.domain, order) };
}

/** The batch that uses the forged order in `role`, and the skips it must give. */
async function batchFor(env: Env, forger: Forger, role: Role, flags: bigint, nonce: bigint) {
  const { bob, carol, domain } = env;
  if (role === "maker") {
    const forged = await forge(env, forger, { isBuy: false, nonce, flags, lots: 4n });
    const bid = await signed(bob, domain, { isBuy: true, nonce: 20n });
    return { orders: [forged, bid], fills: [fill(0, 1, 3n)], skips: [[0, SkipReason.MakerSignatureRejected]] };
  }
  if (role === "taker") {
    const forged = await forge(env, forger, { isBuy: true, nonce, flags, lots: 4n });
    const bobAsk = await signed(bob, domain, { isBuy: false, nonce: 20n });
    const carolAsk = await signed(carol, domain, { isBuy: false, nonce: 20n });
    const fillOrKill = (flags & FILL_OR_KILL) !== 0n;
    return {
      orders: [bobAsk, carolAsk, forged],
      fills: [fill(0, 2, 2n), fill(1, 2, 2n)],
      skips: [
        [0, SkipReason.TakerSignatureRejected],
        [1, fillOrKill ? SkipReason.FillOrKillIncomplete : SkipReason.TakerSignatureRejected],
      ],
    };
  }
  // An honest fill-or-kill bid takes carol's ask (executed, then rolled back) and the forged ask.
  const forged = await forge(env, forger, { isBuy: false, nonce, flags, lots: 4n });
  const carolAsk = await signed(carol, domain, { isBuy: false, nonce: 20n });
  const bobBid = await signed(bob, domain, { isBuy: true, nonce: 20n, lots: 4n, flags: FILL_OR_KILL });
  return {
    orders: [carolAsk, forged, bobBid],
    fills: [fill(0, 2, 2n), fill(1, 2, 2n)],
    skips: [
      [0, SkipReason.FillOrKillIncomplete],
      [1, SkipReason.MakerSignatureRejected],
    ],
  };
}

/** Everything of the victim's account and order, and of market 1, that a settle call could write. */
async function stateOf(env: Env, victim: string, nonce: bigint) {
  const { exchange, base, quote } = env;
  const [, , , , , lastPriceTicks, lotsThisBlock] = await exchange.riskLimits(1n);
  return {
    filled: await exchange.filled(victim, nonce),
    window: [...(await exchange.windowLimit(victim, 1n))],
    balances: await balancesOf(exchange, [victim], [await base.getAddress(), await quote.getAddress()]),
    lastPriceTicks,
    lotsThisBlock,
  };
}

const CASES: [Role, bigint[]][] = [
  ["maker", [0n, IMMEDIATE_OR_CANCEL]],
  ["taker", [0n, IMMEDIATE_OR_CANCEL, FILL_OR_KILL, IMMEDIATE_OR_CANCEL | FILL_OR_KILL]],
  ["second maker of a fill-or-kill run", [0n, IMMEDIATE_OR_CANCEL]],
];
const FLAG_NAMES = new Map([
  [0n, "plain"],
  [IMMEDIATE_OR_CANCEL, "IOC"],
  [FILL_OR_KILL, "FOK"],
  [IMMEDIATE_OR_CANCEL | FILL_OR_KILL, "IOC|FOK"],
]);

describe("regression: a forged order changes nothing", function () {
  for (const forger of ["a wallet that rejects it", "an EOA it does not recover to"] as Forger[]) {
    for (const [role, flagSets] of CASES) {
      for (const flags of flagSets) {
        for (const [nonceName, nonce] of [
          ["a live, partly filled nonce", LIVE],
          ["a fresh nonce", FRESH],
        ] as const) {
          it(`a ${FLAG_NAMES.get(flags)} order forged for ${forger}, as ${role}, under ${nonceName}: skipped, and nothing of it written`, async function () {
            const env = await loadFixture(deployForgery);
            const victim = forger === "a wallet that rejects it" ? await env.wallet.getAddress() : env.alice.address;
            const { orders, fills, skips } = await batchFor(env, forger, role, flags, nonce);
            const before = await stateOf(env, victim, nonce);
            const tx = settleAs(env.exchange, env.keeper, orders, fills, 5_000_000n);
            const result = await outcomes(env.exchange, tx);
            expect(result.skipped).to.deep.equal(skips);
            expect(result.traded).to.deep.equal([]);
            const receipt = await ethers.provider.getTransactionReceipt((await tx).hash);
            const cancels = receipt!.logs
              .map((log) => env.exchange.interface.parseLog(log))
              .filter((e) => e?.name === "OrderCancelled" && e.args[0] === victim);
            expect(cancels, "an OrderCancelled for the forged order").to.deep.equal([]);
            expect(await stateOf(env, victim, nonce)).to.deep.equal(before);
          });
        }
      }
    }
  }
});
