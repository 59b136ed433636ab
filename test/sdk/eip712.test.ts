import { expect } from "chai";
import { hashTypedData, keccak256, stringToHex } from "viem";
import {
  EIP712_DOMAIN_TYPEHASH,
  ORDER_TYPEHASH,
  ORDER_TYPE_STRING,
  domainSeparator,
  exchangeDomain,
  orderTypedData,
  orderTypes,
  DomainError,
} from "@crossbook/sdk";
import { VECTORS, VECTOR_FILE } from "./support";

describe("sdk/eip712", function () {
  it("ORDER_TYPEHASH is keccak256 of ORDER_TYPE_STRING, and both are the committed vectors'", function () {
    expect(ORDER_TYPE_STRING).to.equal(VECTOR_FILE.typeString);
    expect(keccak256(stringToHex(ORDER_TYPE_STRING))).to.equal(ORDER_TYPEHASH);
    expect(ORDER_TYPEHASH).to.equal(VECTOR_FILE.typeHash);
  });

  it("orderTypes are the committed vectors' types", function () {
    expect(orderTypes).to.deep.equal(VECTOR_FILE.types);
  });

  it("EIP712_DOMAIN_TYPEHASH is keccak256 of the domain's type string", function () {
    expect(
      keccak256(stringToHex("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")),
    ).to.equal(EIP712_DOMAIN_TYPEHASH);
  });

  it("domainSeparator reproduces every vector's domain separator", function () {
    for (const v of VECTORS) expect(domainSeparator(v.domain), v.name).to.equal(v.domainSeparator);
  });

  it("orderTypedData hashed by viem's hashTypedData reproduces every vector's digest", function () {
    for (const v of VECTORS) expect(hashTypedData(orderTypedData(v)), v.name).to.equal(v.digest);
  });

  it("exchangeDomain takes a number or a bigint chain id and always names Crossbook version 1", function () {
    const verifyingContract = VECTORS[0].domain.verifyingContract;
    expect(exchangeDomain({ chainId: 31337, verifyingContract })).to.deep.equal({
      name: "Crossbook",
      version: "1",
      chainId: 31337n,
      verifyingContract,
    });
    expect(exchangeDomain({ chainId: 31337n, verifyingContract })).to.deep.equal(
      exchangeDomain({ chainId: 31337, verifyingContract }),
    );
  });

  it("domainSeparator rejects a malformed verifying contract or chain id with DOMAIN_INVALID", function () {
    for (const domain of [
      { chainId: 1, verifyingContract: "0x1234" },
      { chainId: 1.5, verifyingContract: VECTORS[0].domain.verifyingContract },
      { chainId: -1n, verifyingContract: VECTORS[0].domain.verifyingContract },
    ]) {
      expect(() => domainSeparator(domain as never))
        .to.throw(DomainError)
        .with.property("code", "DOMAIN_INVALID");
    }
  });
});
