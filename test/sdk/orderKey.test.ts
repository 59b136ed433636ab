import { expect } from "chai";
import fc from "fast-check";
import { getAddress, type Address, type Hex } from "viem";
import { MAX_UINT64, OrderKeyError, decodeOrderKey, encodeOrderKey } from "@crossbook/sdk";

const arbitraryAddress = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((b) => getAddress(`0x${Buffer.from(b).toString("hex")}`));

describe("sdk/orderKey", function () {
  it("packs the account into bytes 0-19 and the nonce into bytes 20-27, as Exchange._emitTraded does", function () {
    const account: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    expect(encodeOrderKey({ account, nonce: 7n })).to.equal(
      "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266000000000000000700000000",
    );
    fc.assert(
      fc.property(arbitraryAddress, fc.bigInt(0n, MAX_UINT64), (account, nonce) => {
        // The contract's formula: (uint256(uint160(account)) << 96) | (uint256(nonce) << 32).
        const expected = "0x" + ((BigInt(account) << 96n) | (nonce << 32n)).toString(16).padStart(64, "0");
        expect(encodeOrderKey({ account, nonce })).to.equal(expected);
      }),
    );
  });

  it("decodes what it encodes, with the account checksummed", function () {
    fc.assert(
      fc.property(arbitraryAddress, fc.bigInt(0n, MAX_UINT64), (account, nonce) => {
        expect(decodeOrderKey(encodeOrderKey({ account: account.toLowerCase() as Address, nonce }))).to.deep.equal({
          account,
          nonce,
        });
      }),
    );
  });

  it("rejects a key that is not 32 bytes of hex, or whose last 4 bytes are not zero", function () {
    const good = encodeOrderKey({ account: "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", nonce: 1n });
    for (const key of [good.slice(0, 64), `${good}00`, `${good.slice(0, 65)}1`, "0x" + "zz".repeat(32)] as Hex[]) {
      expect(() => decodeOrderKey(key), key)
        .to.throw(OrderKeyError)
        .with.property("code", "ORDER_KEY_INVALID");
    }
  });

  it("rejects a nonce beyond uint64, a negative one or a bad account", function () {
    const account: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    expect(() => encodeOrderKey({ account, nonce: MAX_UINT64 + 1n })).to.throw(OrderKeyError);
    expect(() => encodeOrderKey({ account, nonce: -1n })).to.throw(OrderKeyError);
    expect(() => encodeOrderKey({ account: "0x1234", nonce: 1n })).to.throw(OrderKeyError);
  });
});
