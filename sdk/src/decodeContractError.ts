import { BaseError, ContractFunctionRevertedError, decodeErrorResult, isHex, type Abi, type Hex } from "viem";
import { ChainActionError, ContractRevertError, CrossbookError } from "./errors";
import { erc20ErrorsAbi, exchangeAbi } from "./generated/exchangeAbi";

/** The parameters of `decodeContractError`. */
export interface DecodeContractErrorParameters {
  /**
   * What a failed call threw (a viem error such as `ContractFunctionExecutionError`, an ethers
   * `CALL_EXCEPTION`, a JSON-RPC error with `data`), or the raw revert data itself.
   */
  error: unknown;
  /** More errors to know, besides the Exchange's and the ERC-20 ones (a wallet's, say). */
  abi?: Abi | undefined;
}

/** A revert decoded into its custom error. */
export interface DecodedContractError {
  /** The custom error's name: `"InsufficientBalance"` (or `"Error"` / `"Panic"` for Solidity's own). */
  errorName: string;
  /** Its arguments, in order. */
  args: readonly unknown[];
  /** Its arguments by parameter name: `{ token, available, requested }`. */
  namedArgs: Record<string, unknown>;
  /** The raw revert data. */
  data: Hex;
}

/** The decoded error, or `undefined` when there is no revert data or no known error matches it. */
export type DecodeContractErrorReturnType = DecodedContractError | undefined;

// Marked pure so that a bundle that never decodes a revert leaves it, and with it the whole ABI, out.
const KNOWN_ERRORS: Abi = /* @__PURE__ */ (() =>
  [...exchangeAbi, ...erc20ErrorsAbi].filter((i) => i.type === "error"))();

/**
 * Decodes a contract revert into the custom error's name and arguments, using the Exchange's ABI
 * (and the ERC-20 errors a deposit can bubble up, and Solidity's `Error(string)` and `Panic`).
 * Takes what a failed call threw — from viem or ethers — or the raw revert data.
 *
 * @example
 * import { decodeContractError } from "@crossbook/sdk";
 * decodeContractError({
 *   error:
 *     "0xdb42144d000000000000000000000000e7f1725e7734ce288f8367e1bb143e90bb3f051200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000005",
 * });
 * // { errorName: "InsufficientBalance", args: ["0xe7f1…0512", 0n, 5n], namedArgs: { token: "0xe7f1…0512", available: 0n, requested: 5n }, data: "0xdb42…" }
 */
export function decodeContractError(parameters: DecodeContractErrorParameters): DecodeContractErrorReturnType {
  const data = findRevertData(parameters.error);
  if (data === undefined || data.length < 10) return undefined;
  const abi = parameters.abi === undefined ? KNOWN_ERRORS : [...KNOWN_ERRORS, ...parameters.abi];
  try {
    const decoded = decodeErrorResult({ abi, data });
    const args = (decoded.args ?? []) as readonly unknown[];
    const inputs: readonly { name?: string | undefined }[] =
      decoded.abiItem.type === "error" ? decoded.abiItem.inputs : [];
    const namedArgs: Record<string, unknown> = {};
    inputs.forEach((input, i) => {
      namedArgs[input.name || String(i)] = args[i];
    });
    return { errorName: decoded.errorName, args, namedArgs, data };
  } catch {
    return undefined; // a selector no known ABI has
  }
}

/** The revert data carried somewhere in `error` (or `error` itself, when it is hex). */
function findRevertData(error: unknown, depth = 0): Hex | undefined {
  if (typeof error === "string") return isHex(error) ? error : undefined;
  if (typeof error !== "object" || error === null || depth > 8) return undefined;
  const e = error as Record<string, unknown>;
  if (typeof e.raw === "string" && isHex(e.raw)) return e.raw; // viem ContractFunctionRevertedError
  if (typeof e.data === "string" && isHex(e.data)) return e.data; // viem RawContractError, ethers, JSON-RPC errors
  if (typeof e.data === "object" && e.data !== null) {
    const nested = (e.data as Record<string, unknown>).data;
    if (typeof nested === "string" && isHex(nested)) return nested;
  }
  for (const key of ["cause", "error", "info"]) {
    const found = findRevertData(e[key], depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function formatArg(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return `[${value.map(formatArg).join(", ")}]`;
  return String(value);
}

/**
 * Turns what a chain call threw into a `CrossbookError`: a `ContractRevertError` with the decoded
 * custom error when the call reverted, else a `ChainActionError` (`CHAIN_REQUEST_FAILED`).
 * @internal used by the chain actions.
 */
export function toCrossbookError(error: unknown, functionName: string): CrossbookError {
  if (error instanceof CrossbookError) return error;
  const decoded = decodeContractError({ error });
  if (decoded !== undefined) {
    const args = Object.entries(decoded.namedArgs)
      .map(([name, value]) => `${name}: ${formatArg(value)}`)
      .join(", ");
    return new ContractRevertError(`${functionName} reverted: ${decoded.errorName}(${args})`, {
      ...decoded,
      functionName,
      cause: error,
    });
  }
  const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null;
  if (reverted instanceof ContractFunctionRevertedError) {
    return new ContractRevertError(`${functionName} reverted${reverted.reason ? `: ${reverted.reason}` : ""}`, {
      errorName: undefined,
      args: [],
      namedArgs: {},
      data: reverted.raw,
      functionName,
      cause: error,
    });
  }
  const message =
    error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error);
  return new ChainActionError(`${functionName} failed: ${message}`, { code: "CHAIN_REQUEST_FAILED", cause: error });
}
