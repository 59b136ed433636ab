import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  ContractRevertError,
  CrossbookError,
  exchangeDomain,
  getExchangeDomain,
  getFeeRecipient,
  getMarket,
  getMarketCount,
  hashOrder,
} from "@crossbook/sdk";
import { LOT_SIZE, MAKER_FEE_BPS, TAKER_FEE_BPS, TICK_SIZE } from "../../helpers/fixture";
import { order, publicClient, sdkFixture } from "../support";

describe("sdk/actions: markets, fee recipient, domain", function () {
  it("getMarket reads a listed market's parameters as bigints", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange, base, quote } = env.addresses;
    expect(await getMarket(publicClient, { exchange, marketId: 1n })).to.deep.equal({
      marketId: 1n,
      base,
      quote,
      lotSize: LOT_SIZE,
      tickSize: TICK_SIZE,
      makerFeeBps: MAKER_FEE_BPS,
      takerFeeBps: TAKER_FEE_BPS,
    });
  });

  it("getMarket of an id that is not listed throws MarketNotListed", async function () {
    const env = await loadFixture(sdkFixture);
    const error = await getMarket(publicClient, { exchange: env.addresses.exchange, marketId: 2n }).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ContractRevertError);
    expect(error).to.include({ errorName: "MarketNotListed" });
    expect((error as ContractRevertError).args).to.deep.equal([2]);
  });

  it("getMarketCount counts the listed markets and getFeeRecipient reads the admin", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange } = env.addresses;
    expect(await getMarketCount(publicClient, { exchange })).to.equal(1n);
    expect(await getFeeRecipient(publicClient, { exchange })).to.equal(env.admin.address);
  });

  it("getExchangeDomain reads the domain the Exchange hashes orders with", async function () {
    const env = await loadFixture(sdkFixture);
    const { exchange } = env.addresses;
    const domain = await getExchangeDomain(publicClient, { exchange });
    expect(domain).to.deep.equal(exchangeDomain(env.sdkDomain));
    const o = order({ maker: env.alice.address as `0x${string}`, isBuy: true, nonce: 5n });
    expect(hashOrder({ order: o, domain })).to.equal(await env.exchange.hashOrder(o));
  });

  it("getExchangeDomain of a contract that is not an Exchange throws a CrossbookError", async function () {
    const env = await loadFixture(sdkFixture);
    const error = await getExchangeDomain(publicClient, { exchange: env.addresses.base }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CrossbookError);
  });
});
