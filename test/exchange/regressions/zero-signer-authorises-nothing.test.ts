/**
 * Regression, review finding 3 (low): `maker = address(0)` passed the signature check with any 65
 * bytes, since `ecrecover` answers zero for a signature it cannot recover. It moved nothing (the
 * zero address holds no balance), but an IMMEDIATE_OR_CANCEL order of it was marked dead, and a zero
 * signer must never authorise anything: its fills skip with the signature reasons.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { IMMEDIATE_OR_CANCEL, SkipReason, makeOrder } from "../../helpers/orders";
import { deployFunded, outcomes, PRICE, settleAs, signed, fill } from "../support";

/** 65 bytes that recover to nothing: a zero r and s, and v 27 or 28, or an invalid v. */
const UNRECOVERABLE = ["0x" + "00".repeat(64) + "1b", "0x" + "00".repeat(64) + "1c", "0x" + "11".repeat(64) + "00"];

describe("regression: a zero signer authorises nothing", function () {
  for (const signature of UNRECOVERABLE) {
    for (const flags of [0n, IMMEDIATE_OR_CANCEL]) {
      it(`skips the zero address's ${flags === 0n ? "plain" : "IOC"} order as maker and as taker (v ${signature.slice(-2)}), writing nothing`, async function () {
        const { exchange, keeper, domain, alice, bob } = await loadFixture(deployFunded);
        const zeroAsk = {
          order: makeOrder({ maker: ethers.ZeroAddress, isBuy: false, nonce: 3n, priceTicks: PRICE, flags }),
          signature,
        };
        const zeroBid = {
          order: makeOrder({ maker: ethers.ZeroAddress, isBuy: true, nonce: 4n, priceTicks: PRICE, flags }),
          signature,
        };
        const bid = await signed(bob, domain, { isBuy: true, nonce: 1n });
        const ask = await signed(alice, domain, { isBuy: false, nonce: 1n });
        const result = await outcomes(
          exchange,
          settleAs(exchange, keeper, [zeroAsk, bid, ask, zeroBid], [fill(0, 1, 1n), fill(2, 3, 1n)]),
        );
        expect(result.skipped).to.deep.equal([
          [0, SkipReason.MakerSignatureRejected],
          [1, SkipReason.TakerSignatureRejected],
        ]);
        expect(result.traded).to.deep.equal([]);
        expect(await exchange.filled(ethers.ZeroAddress, 3n)).to.equal(0n);
        expect(await exchange.filled(ethers.ZeroAddress, 4n)).to.equal(0n);
      });
    }
  }
});
