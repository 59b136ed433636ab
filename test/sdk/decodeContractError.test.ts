import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { encodeErrorResult, type Address } from "viem";
import {
  ChainActionError,
  ContractRevertError,
  CrossbookError,
  OrderValidationError,
  UnitsError,
  decodeContractError,
  erc20ErrorsAbi,
  exchangeAbi,
} from "@crossbook/sdk";
import { toCrossbookError } from "../../sdk/src/decodeContractError";
import { publicClient, sdkFixture } from "./support";

const TOKEN: Address = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const INSUFFICIENT = encodeErrorResult({ abi: exchangeAbi, errorName: "InsufficientBalance", args: [TOKEN, 0n, 5n] });

describe("sdk/decodeContractError", function () {
  it("decodes raw revert data into the custom error's name and arguments, positional and named", function () {
    expect(decodeContractError({ error: INSUFFICIENT })).to.deep.equal({
      errorName: "InsufficientBalance",
      args: [TOKEN, 0n, 5n],
      namedArgs: { token: TOKEN, available: 0n, requested: 5n },
      data: INSUFFICIENT,
    });
  });

  it("decodes an ERC-20 token's errors and Solidity's Error(string)", function () {
    const data = encodeErrorResult({
      abi: erc20ErrorsAbi,
      errorName: "ERC20InsufficientAllowance",
      args: [TOKEN, 1n, 2n],
    });
    expect(decodeContractError({ error: data })?.errorName).to.equal("ERC20InsufficientAllowance");
    const reason = encodeErrorResult({
      abi: [{ type: "error", name: "Error", inputs: [{ name: "message", type: "string" }] }],
      errorName: "Error",
      args: ["nope"],
    });
    expect(decodeContractError({ error: reason })).to.deep.include({ errorName: "Error", args: ["nope"] });
  });

  it("finds the revert data in a viem error (a failed eth_call on the Hardhat network)", async function () {
    const env = await loadFixture(sdkFixture);
    const error = await publicClient
      .simulateContract({
        address: env.addresses.exchange,
        abi: exchangeAbi,
        functionName: "withdraw",
        args: [TOKEN, 5n],
        account: env.alice.address as Address,
      })
      .catch((e: unknown) => e);
    // No withdrawal request stands: WithdrawalExceedsRequest(token, requested 0, amount 5).
    expect(decodeContractError({ error })).to.deep.include({
      errorName: "WithdrawalExceedsRequest",
      args: [TOKEN, 0n, 5n],
    });
  });

  it("finds the revert data in an ethers error (CALL_EXCEPTION)", async function () {
    const env = await loadFixture(sdkFixture);
    const error = await env.exchange
      .connect(env.alice)
      .withdraw.staticCall(TOKEN, 5n)
      .catch((e: unknown) => e);
    expect(decodeContractError({ error })).to.deep.include({ errorName: "WithdrawalExceedsRequest" });
  });

  it("finds nested data ({ data: { data } }) and a JSON-RPC error's data", function () {
    expect(decodeContractError({ error: { code: 3, data: { data: INSUFFICIENT } } })?.errorName).to.equal(
      "InsufficientBalance",
    );
    expect(decodeContractError({ error: new Error("x", { cause: { data: INSUFFICIENT } }) })?.errorName).to.equal(
      "InsufficientBalance",
    );
  });

  it("gives undefined for no data, an empty revert, or a selector no ABI knows (unless its ABI is given)", function () {
    expect(decodeContractError({ error: new Error("network down") })).to.equal(undefined);
    expect(decodeContractError({ error: "0x" })).to.equal(undefined);
    const walletError = [{ type: "error", name: "WalletRefuses", inputs: [] }] as const;
    const data = encodeErrorResult({ abi: walletError, errorName: "WalletRefuses" });
    expect(decodeContractError({ error: data })).to.equal(undefined);
    expect(decodeContractError({ error: data, abi: walletError })?.errorName).to.equal("WalletRefuses");
  });
});

describe("sdk/errors", function () {
  it("every SDK error is a CrossbookError with a stable code, details and cause", function () {
    const cause = new Error("root");
    const revert = toCrossbookError({ data: INSUFFICIENT, cause }, "withdraw");
    expect(revert).to.be.instanceOf(ContractRevertError).and.instanceOf(CrossbookError).and.instanceOf(Error);
    expect(revert).to.include({ code: "CONTRACT_REVERT", name: "ContractRevertError" });
    expect(revert.details).to.deep.include({ functionName: "withdraw", errorName: "InsufficientBalance" });

    const failed = toCrossbookError(cause, "withdraw");
    expect(failed).to.be.instanceOf(ChainActionError).with.property("code", "CHAIN_REQUEST_FAILED");
    expect(failed.cause).to.equal(cause);
    expect(failed.message).to.equal("withdraw failed: root");

    expect(new OrderValidationError([])).to.be.instanceOf(CrossbookError);
    expect(new UnitsError("x", { code: "UNITS_ZERO" })).to.include({ name: "UnitsError", code: "UNITS_ZERO" });
  });

  it("toCrossbookError passes a CrossbookError through unchanged", function () {
    const error = new UnitsError("x", { code: "UNITS_ZERO" });
    expect(toCrossbookError(error, "f")).to.equal(error);
  });
});
