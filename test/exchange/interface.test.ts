import { expect } from "chai";
import { artifacts, ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { EXCHANGE_DOMAIN_NAME, EXCHANGE_DOMAIN_VERSION } from "@crossbook/sdk";
import { deployExchange } from "../helpers/fixture";

/** `function name(types)` of every function in an ABI. */
function functionsOf(abi: readonly { type: string; name?: string; inputs?: readonly { type: string }[] }[]): string[] {
  return abi
    .filter((f) => f.type === "function")
    .map((f) => `${f.name}(${(f.inputs ?? []).map((i) => i.type).join(",")})`)
    .sort();
}

/** What the Exchange has from OpenZeppelin's AccessControl (and ERC-165), documented there, not in IExchange. */
const ACCESS_CONTROL = [
  "DEFAULT_ADMIN_ROLE()",
  "getRoleAdmin(bytes32)",
  "grantRole(bytes32,address)",
  "hasRole(bytes32,address)",
  "renounceRole(bytes32,address)",
  "revokeRole(bytes32,address)",
  "supportsInterface(bytes4)",
];

describe("IExchange: the interface a client builds against", function () {
  it("declares every function of the Exchange but AccessControl's — eip712Domain, the roles and every public constant included", async function () {
    const exchange = functionsOf((await artifacts.readArtifact("Exchange")).abi);
    const declared = functionsOf((await artifacts.readArtifact("IExchange")).abi);
    expect(exchange.filter((f) => !declared.includes(f))).to.deep.equal(ACCESS_CONTROL);
    expect(declared).to.include.members([
      "eip712Domain()",
      "KEEPER_ROLE()",
      "GUARDIAN_ROLE()",
      "MAX_FEE_BPS()",
      "MAX_FIRMNESS_DELAY()",
      "MAX_ORDER_LOTS()",
      "LOOSEN_DELAY()",
      "ERC1271_GAS_LIMIT()",
    ]);
  });

  it("answers eip712Domain() with the domain keeper/API.md and the SDK give, and the documented constants", async function () {
    const { exchange } = await loadFixture(deployExchange);
    const { chainId } = await ethers.provider.getNetwork();
    const [fields, name, version, domainChainId, verifyingContract, salt, extensions] = await exchange.eip712Domain();
    expect(fields).to.equal("0x0f"); // name, version, chainId, verifyingContract
    expect([name, version]).to.deep.equal([EXCHANGE_DOMAIN_NAME, EXCHANGE_DOMAIN_VERSION]);
    expect(domainChainId).to.equal(chainId);
    expect(verifyingContract).to.equal(await exchange.getAddress());
    expect(salt).to.equal(ethers.ZeroHash);
    expect(extensions).to.deep.equal([]);
    expect(await exchange.KEEPER_ROLE()).to.equal(ethers.id("KEEPER_ROLE"));
    expect(await exchange.GUARDIAN_ROLE()).to.equal(ethers.id("GUARDIAN_ROLE"));
    expect(await exchange.MAX_FEE_BPS()).to.equal(100n);
  });
});
