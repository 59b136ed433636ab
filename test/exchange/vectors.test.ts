/**
 * The EIP-712 test vectors of test/vectors/orders.json (written by scripts/make-test-vectors.ts with
 * ethers alone), checked against the contract: an Exchange placed at the vectors' verifying contract
 * must hash every vector's order to its digest and accept its signature in `settle`.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { TypedDataEncoder, keccak256, recoverAddress, toUtf8Bytes, verifyTypedData, computeAddress, id } from "ethers";
import type { Exchange } from "../../typechain-types";
import { LOT_SIZE, TICK_SIZE, deployExchange } from "../helpers/fixture";
import {
  FILL_OR_KILL,
  ORDER_TYPES,
  POST_ONLY,
  SkipReason,
  exchangeDomain,
  makeOrder,
  orderKey,
  signOrder,
  type Fill,
  type Order,
} from "../helpers/orders";
import { makeVectors } from "../../scripts/make-test-vectors";

interface VectorFile {
  typeString: string;
  typeHash: string;
  vectors: {
    name: string;
    privateKeyPreimage: string;
    privateKey: string;
    domain: { name: string; version: string; chainId: string; verifyingContract: string };
    domainSeparator: string;
    order: Record<keyof Order, string | boolean>;
    structHash: string;
    digest: string;
    signature: string;
  }[];
}

const FILE = JSON.parse(readFileSync(join(__dirname, "..", "vectors", "orders.json"), "utf8")) as VectorFile;
const VECTORS = FILE.vectors;
const VERIFYING_CONTRACT = VECTORS[0].domain.verifyingContract;

/** The vector's order with bigint numbers, as the contract and the helpers take it. */
function orderOf(v: VectorFile["vectors"][number]): Order {
  const o = v.order;
  return {
    maker: o.maker as string,
    marketId: BigInt(o.marketId as string),
    isBuy: o.isBuy as boolean,
    flags: BigInt(o.flags as string),
    maxFeeBps: BigInt(o.maxFeeBps as string),
    expiry: BigInt(o.expiry as string),
    nonce: BigInt(o.nonce as string),
    priceTicks: BigInt(o.priceTicks as string),
    lots: BigInt(o.lots as string),
  };
}

/**
 * The string of the `keccak256("…")` comment above `ORDER_TYPEHASH`, whose literal may be split into
 * adjacent pieces over several `///` lines: `keccak256("Order(…," "uint64 nonce,…)")`.
 */
function typeStringInComment(source: string): string {
  const lines = source.split("\n");
  const at = lines.findIndex((line) => /constant ORDER_TYPEHASH/.test(line));
  let start = at;
  while (start > 0 && lines[start - 1].trim().startsWith("///")) start -= 1;
  const comment = lines
    .slice(start, at)
    .map((line) => line.trim().replace(/^\/\/\/\s?/, ""))
    .join(" ");
  const call = comment.slice(comment.indexOf("keccak256(") + "keccak256(".length);
  let text = "";
  const literal = /\s*"([^"]*)"/y;
  for (let match = literal.exec(call); match; match = literal.exec(call)) text += match[1];
  return text;
}

/**
 * Deploys an Exchange at `address` for real: its creation code (as the fixture deployed it, linked
 * libraries and constructor argument included) is placed there and called, so that the constructor
 * runs with `address(this) == address` — roles, fee recipient and EIP-712 immutables all for that
 * address — and the runtime code it returns then replaces it.
 */
async function deployExchangeAt(address: string, like: Exchange): Promise<Exchange> {
  const creationCode = like.deploymentTransaction()!.data;
  await network.provider.send("hardhat_setCode", [address, creationCode]);
  const runtime = await ethers.provider.call({ to: address, data: "0x" });
  const [sender] = await ethers.getSigners();
  await (await sender.sendTransaction({ to: address, data: "0x" })).wait();
  await network.provider.send("hardhat_setCode", [address, runtime]);
  return like.attach(address) as Exchange;
}

/** An Exchange at the vectors' verifying contract with markets 1, 2 and 3 listed and a keeper. */
async function vectorExchangeFixture() {
  const { exchange: original, base, quote, admin, keeper, alice } = await deployExchange();
  const wbtc = await (await ethers.getContractFactory("MockERC20")).deploy("Wrapped Bitcoin", "WBTC", 8);
  const exchange = await deployExchangeAt(VERIFYING_CONTRACT, original);
  await exchange.grantRole(await exchange.KEEPER_ROLE(), keeper.address);
  await exchange.listMarket(base, quote, LOT_SIZE, TICK_SIZE, 5, 10);
  await exchange.listMarket(wbtc, base, 10n ** 4n, 7n, 0, 30);
  await exchange.listMarket(wbtc, quote, 10n ** 4n, 1n, 0, 0);
  const domain = exchangeDomain((await ethers.provider.getNetwork()).chainId, VERIFYING_CONTRACT);
  return { exchange, base, quote, admin, keeper, alice, domain };
}

describe("EIP-712 test vectors (test/vectors/orders.json)", function () {
  it("are exactly what scripts/make-test-vectors.ts writes", function () {
    expect(FILE).to.deep.equal(JSON.parse(JSON.stringify(makeVectors())));
  });

  it("cover buy and sell, every flag, zero and maximal fields, and more than one maker", function () {
    const orders = VECTORS.map(orderOf);
    expect(VECTORS.length).to.be.at.least(8);
    expect(new Set(orders.map((o) => o.isBuy)).size).to.equal(2);
    for (const flag of [1n, 2n, 4n])
      expect(
        orders.some((o) => (o.flags & flag) !== 0n),
        `flag ${flag}`,
      ).to.equal(true);
    expect(orders.some((o) => o.nonce === 0n && o.lots === 0n && o.priceTicks === 0n)).to.equal(true);
    expect(
      orders.some((o) => o.nonce === 2n ** 64n - 1n && o.expiry === 2n ** 40n - 1n && o.maxFeeBps === 65_535n),
    ).to.equal(true);
    expect(new Set(orders.map((o) => o.maker)).size).to.be.at.least(2);
  });

  it("recompute off-chain: keys, domain separators, struct hashes and digests, and each signature recovers to its maker", function () {
    for (const v of VECTORS) {
      const order = orderOf(v);
      const domain = exchangeDomain(BigInt(v.domain.chainId), v.domain.verifyingContract);
      expect(v.domain.name).to.equal("Crossbook");
      expect(v.domain.version).to.equal("1");
      expect(v.privateKey, v.name).to.equal(keccak256(toUtf8Bytes(v.privateKeyPreimage)));
      expect(order.maker, v.name).to.equal(computeAddress(v.privateKey));
      expect(v.domainSeparator, v.name).to.equal(TypedDataEncoder.hashDomain(domain));
      expect(v.structHash, v.name).to.equal(TypedDataEncoder.from(ORDER_TYPES).hash(order));
      expect(v.digest, v.name).to.equal(TypedDataEncoder.hash(domain, ORDER_TYPES, order));
      expect(v.digest, v.name).to.equal(keccak256(`0x1901${v.domainSeparator.slice(2)}${v.structHash.slice(2)}`));
      expect(ethers.getBytes(v.signature).length, v.name).to.equal(65);
      expect(recoverAddress(v.digest, v.signature), v.name).to.equal(order.maker);
      expect(verifyTypedData(domain, ORDER_TYPES, order, v.signature), v.name).to.equal(order.maker);
    }
  });

  it("name the type string whose keccak256 is OrderHashing.ORDER_TYPEHASH", function () {
    const source = readFileSync(join(__dirname, "..", "..", "contracts", "libraries", "OrderHashing.sol"), "utf8");
    const documented = typeStringInComment(source);
    const constant = /ORDER_TYPEHASH\s*=\s*(0x[0-9a-fA-F]{64})/.exec(source);
    expect(constant, "the ORDER_TYPEHASH constant").to.not.equal(null);
    expect(documented, "the type string in OrderHashing.sol's comment").to.equal(FILE.typeString);
    expect(id(documented)).to.equal(FILE.typeHash);
    expect(constant![1].toLowerCase()).to.equal(FILE.typeHash);
    expect(TypedDataEncoder.from(ORDER_TYPES).encodeType("Order")).to.equal(FILE.typeString);
  });

  it("hash to each vector's digest with hashOrder of the Exchange's runtime code copied to the verifying contract", async function () {
    const { exchange: original } = await loadFixture(deployExchange);
    expect((await ethers.provider.getNetwork()).chainId.toString()).to.equal(VECTORS[0].domain.chainId);
    // The copied code carries the original address's cached domain separator in its immutables;
    // OpenZeppelin's EIP712 rebuilds the separator when address(this) is not the cached one.
    await network.provider.send("hardhat_setCode", [
      VERIFYING_CONTRACT,
      await ethers.provider.getCode(await original.getAddress()),
    ]);
    const copied = original.attach(VERIFYING_CONTRACT) as Exchange;
    for (const v of VECTORS) {
      expect(await copied.hashOrder(orderOf(v)), v.name).to.equal(v.digest);
      expect(await original.hashOrder(orderOf(v)), `${v.name}, at another address`).to.not.equal(v.digest);
    }
  });

  it("hash to each vector's digest with hashOrder of an Exchange deployed at the verifying contract", async function () {
    const { exchange } = await loadFixture(vectorExchangeFixture);
    for (const v of VECTORS) expect(await exchange.hashOrder(orderOf(v)), v.name).to.equal(v.digest);
  });

  it("are accepted by settle, and the same orders with a damaged signature skip with the signature reason", async function () {
    const { exchange, keeper, alice, domain } = await loadFixture(vectorExchangeFixture);
    const settleable = VECTORS.map((v, i) => ({ v, i, order: orderOf(v) })).filter(
      ({ order }) => order.marketId >= 1n && order.marketId <= 3n && order.flags <= 7n && order.lots > 0n,
    );
    expect(settleable.length, "vectors settle can take").to.be.at.least(6);
    for (const [k, { v, order }] of settleable.entries()) {
      // A counter-order from alice at the vector's price: the vector makes if it is post-only, else takes.
      const vectorMakes = (order.flags & POST_ONLY) !== 0n;
      const lots = (order.flags & FILL_OR_KILL) !== 0n ? order.lots : 1n;
      const counter = makeOrder({
        maker: alice.address,
        marketId: order.marketId,
        isBuy: !order.isBuy,
        nonce: BigInt(k),
        priceTicks: order.priceTicks,
        lots,
      });
      const counterSignature = await signOrder(alice, domain, counter);
      const orders = vectorMakes ? [order, counter] : [counter, order];
      const fills: Fill[] = [{ makerIndex: 0n, takerIndex: 1n, lots }];
      const signatures = (signature: string) =>
        vectorMakes ? [signature, counterSignature] : [counterSignature, signature];

      const damaged = ethers.getBytes(v.signature);
      damaged[0] ^= 0x01; // r changes: the signature recovers to another address, or to none
      await expect(exchange.connect(keeper).settle(orders, signatures(ethers.hexlify(damaged)), fills), v.name)
        .to.emit(exchange, "FillSkipped")
        .withArgs(0n, vectorMakes ? SkipReason.MakerSignatureRejected : SkipReason.TakerSignatureRejected);

      // With the vector's own signature the fill goes through the signature check: it trades or is
      // skipped for a trader-side reason (these makers hold nothing), but never reverts.
      const receipt = (await (await exchange.connect(keeper).settle(orders, signatures(v.signature), fills)).wait())!;
      const outcomes = receipt.logs
        .map((log) => exchange.interface.parseLog(log))
        .filter((e) => e?.name === "Traded" || e?.name === "FillSkipped");
      expect(outcomes.length, v.name).to.equal(1);
      const reason = outcomes[0]!.name === "FillSkipped" ? Number(outcomes[0]!.args.reason) : SkipReason.None;
      expect([SkipReason.MakerSignatureRejected, SkipReason.TakerSignatureRejected], v.name).to.not.include(reason);
    }
  });

  it("settle the crossing pair of the first two vectors, one maker's post-only ask against the other's bid", async function () {
    const { exchange, base, quote, keeper } = await loadFixture(vectorExchangeFixture);
    const [bidVector, askVector] = VECTORS;
    const bid = orderOf(bidVector);
    const ask = orderOf(askVector);
    expect(bid.isBuy && !ask.isBuy && (ask.flags & POST_ONLY) !== 0n && bid.priceTicks >= ask.priceTicks).to.equal(
      true,
    );
    const lots = ask.lots;
    const quoteAtoms = lots * ask.priceTicks * TICK_SIZE;
    const takerFee = (quoteAtoms * 10n) / 10_000n;
    const makerFee = (quoteAtoms * 5n) / 10_000n;
    for (const [v, token, amount] of [
      [bidVector, quote, quoteAtoms + takerFee],
      [askVector, base, lots * LOT_SIZE],
    ] as const) {
      const wallet = new ethers.Wallet(v.privateKey, ethers.provider);
      await network.provider.send("hardhat_setBalance", [wallet.address, "0xde0b6b3a7640000"]);
      await token.mint(wallet.address, amount);
      await token.connect(wallet).approve(exchange, amount);
      await exchange.connect(wallet).deposit(token, amount);
    }
    await expect(
      exchange
        .connect(keeper)
        .settle([ask, bid], [askVector.signature, bidVector.signature], [{ makerIndex: 0n, takerIndex: 1n, lots }]),
    )
      .to.emit(exchange, "Traded")
      .withArgs(1n, orderKey(ask.maker, ask.nonce), orderKey(bid.maker, bid.nonce), false, ask.priceTicks, lots);
    expect(await exchange.balanceOf(bid.maker, await base.getAddress())).to.equal(lots * LOT_SIZE);
    expect(await exchange.balanceOf(ask.maker, await quote.getAddress())).to.equal(quoteAtoms - makerFee);
    expect(await exchange.filled(bid.maker, bid.nonce)).to.equal(lots);
  });
});
