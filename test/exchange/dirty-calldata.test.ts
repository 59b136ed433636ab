/**
 * `settle` copies each order and fill from calldata with assembly (contracts/libraries/
 * OrderCalldata.sol). These tests send calldata whose fields carry bits beyond their Solidity type,
 * which a plain ABI decoder rejects, and check that the copy rejects it too — for every field of
 * `Order` and `Fill` — while the same calldata with clean fields settles.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { signedPair, batchOf, deployFunded, fill } from "./support";

/** Field widths in bits, in struct order. */
const ORDER_FIELDS: [string, number][] = [
  ["maker", 160],
  ["marketId", 32],
  ["isBuy", 1],
  ["flags", 8],
  ["maxFeeBps", 16],
  ["expiry", 40],
  ["nonce", 64],
  ["priceTicks", 64],
  ["lots", 64],
];
const FILL_FIELDS: [string, number][] = [
  ["makerIndex", 32],
  ["takerIndex", 32],
  ["lots", 64],
];

/** Sets bit `bit` of the 32-byte word at byte offset `offset` of the hex calldata `data`. */
function setBit(data: string, offset: number, bit: number): string {
  const bytes = Buffer.from(data.slice(2), "hex");
  bytes[offset + 31 - Math.floor(bit / 8)] |= 1 << (bit % 8);
  return "0x" + bytes.toString("hex");
}

async function deployBatch() {
  const env = await deployFunded();
  const { maker, taker } = await signedPair(env);
  const [orders, signatures] = batchOf([maker, taker]);
  const fills = [fill(0, 1, 1n)];
  const data = env.exchange.interface.encodeFunctionData("settle", [orders, signatures, fills]);
  // settle(orders, signatures, fills): three head words, then `orders` (length, 9 words per order),
  // then `signatures`, then `fills` (length, 3 words per fill), as their head offsets say.
  const word = (i: number) => BigInt("0x" + data.slice(10 + 64 * i, 10 + 64 * (i + 1)));
  const ordersAt = 4 + Number(word(0)) + 32; // the first order's first word (4: the selector)
  const fillsAt = 4 + Number(word(2)) + 32;
  return { ...env, data, ordersAt, fillsAt };
}

describe("Exchange settle: dirty calldata", function () {
  it("settles the clean calldata", async function () {
    const { exchange, keeper, data } = await loadFixture(deployBatch);
    await expect(keeper.sendTransaction({ to: exchange, data })).to.emit(exchange, "Traded");
  });

  for (const [index, [name, bits]] of ORDER_FIELDS.entries()) {
    it(`reverts for a taker order whose ${name} has a bit set beyond its ${bits} bits`, async function () {
      const { exchange, keeper, data, ordersAt } = await loadFixture(deployBatch);
      const dirty = setBit(data, ordersAt + 32 * (9 + index), bits);
      await expect(keeper.sendTransaction({ to: exchange, data: dirty })).to.be.revertedWithoutReason();
      expect(await exchange.filled(keeper.address, 1n)).to.equal(0n);
    });

    it(`reverts for a maker order whose ${name} has the top bit of its word set`, async function () {
      const { exchange, keeper, data, ordersAt } = await loadFixture(deployBatch);
      await expect(
        keeper.sendTransaction({ to: exchange, data: setBit(data, ordersAt + 32 * index, 255) }),
      ).to.be.revertedWithoutReason();
    });
  }

  for (const [index, [name, bits]] of FILL_FIELDS.entries()) {
    it(`reverts for a fill whose ${name} has a bit set beyond its ${bits} bits`, async function () {
      const { exchange, keeper, data, fillsAt } = await loadFixture(deployBatch);
      await expect(
        keeper.sendTransaction({ to: exchange, data: setBit(data, fillsAt + 32 * index, bits) }),
      ).to.be.revertedWithoutReason();
    });
  }
});
