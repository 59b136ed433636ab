import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  FILL_OR_KILL,
  IMMEDIATE_OR_CANCEL,
  KNOWN_FLAGS,
  MAX_UINT64,
  POST_ONLY,
  SkipReason,
  orderTypes,
} from "@crossbook/sdk";
import * as helpers from "../helpers/orders";

const INTERFACE = readFileSync(join(__dirname, "..", "..", "contracts", "interfaces", "IExchange.sol"), "utf8");

/** The body of `struct name { … }` or `enum name { … }` in IExchange.sol. */
function block(kind: "struct" | "enum", name: string): string {
  const match = new RegExp(`${kind}\\s+${name}\\s*\\{([^}]*)\\}`).exec(INTERFACE);
  expect(match, `${kind} ${name} in IExchange.sol`).to.not.equal(null);
  return match![1]
    .split("\n")
    .map((line) => line.replace(/\/\/.*$/, "").trim())
    .join(" ");
}

/** `[type, name]` of each field of a Solidity struct, in order. */
function structFields(name: string): [string, string][] {
  return block("struct", name)
    .split(";")
    .map((field) => field.trim())
    .filter((field) => field !== "")
    .map((field) => field.split(/\s+/) as [string, string]);
}

describe("sdk/types", function () {
  it("SkipReason mirrors IExchange.SkipReason exactly: every name, in order, with its code", function () {
    const solidity = block("enum", "SkipReason")
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name !== "");
    const sdk = Object.keys(SkipReason).filter((key) => Number.isNaN(Number(key)));
    expect(sdk).to.deep.equal(solidity);
    solidity.forEach((name, code) => expect(SkipReason[name as keyof typeof SkipReason], name).to.equal(code));
  });

  it("SkipReason agrees with the codes the contract tests use", function () {
    for (const [name, code] of Object.entries(helpers.SkipReason)) {
      expect(SkipReason[name as keyof typeof SkipReason], name).to.equal(code);
    }
  });

  it("Order's EIP-712 fields mirror IExchange.Order field by field: same names, types and order", function () {
    expect(orderTypes.Order.map((f) => [f.type, f.name])).to.deep.equal(structFields("Order"));
  });

  it("the flags are bits 0, 1 and 2, as IExchange.Order documents", function () {
    expect([POST_ONLY, IMMEDIATE_OR_CANCEL, FILL_OR_KILL]).to.deep.equal([1n, 2n, 4n]);
    expect(KNOWN_FLAGS).to.equal(7n);
    expect(INTERFACE).to.match(/bit 0 POST_ONLY, bit 1 IMMEDIATE_OR_CANCEL, bit 2 FILL_OR_KILL/);
    expect(MAX_UINT64).to.equal(2n ** 64n - 1n);
  });

  it("Fill mirrors IExchange.Fill field by field", function () {
    expect(structFields("Fill")).to.deep.equal([
      ["uint32", "makerIndex"],
      ["uint32", "takerIndex"],
      ["uint64", "lots"],
    ]);
  });
});
