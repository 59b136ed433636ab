import { isAddressEqual, parseEventLogs, type Address, type Hash, type Log } from "viem";
import { exchangeAbi } from "./generated/exchangeAbi";
import { decodeOrderKey, type DecodeOrderKeyReturnType } from "./orderKey";
import { SkipReason, type SkipReasonName } from "./types";

/** Where an event was emitted (all `null` for a log of a pending block). */
export interface EventLocation {
  blockNumber: bigint | null;
  transactionHash: Hash | null;
  logIndex: number | null;
}

/** An executed fill: a `Traded` event, decoded. */
export interface Trade extends EventLocation {
  marketId: bigint;
  /** The maker order's `(account, nonce)`. */
  makerOrder: DecodeOrderKeyReturnType;
  /** The taker order's `(account, nonce)`. */
  takerOrder: DecodeOrderKeyReturnType;
  /** The maker's side; the taker's is the other one. */
  makerIsBuy: boolean;
  /** The fill's price: the maker's limit, in ticks per lot. */
  priceTicks: bigint;
  /** The fill's size, in lots. */
  lots: bigint;
}

/** A skipped fill: a `FillSkipped` event, decoded. */
export interface SkippedFill extends EventLocation {
  /** The fill's index in the `settle` call's `fills`. */
  fillIndex: bigint;
  /** Why it was skipped. */
  reason: SkipReason;
  /** The reason's name, or `undefined` for a code this SDK does not know (a newer contract). */
  reasonName: SkipReasonName | undefined;
}

/** The parameters of `parseSettlementLogs`. */
export interface ParseSettlementLogsParameters {
  /** Logs, as in a transaction receipt or from `getLogs`. */
  logs: readonly Log[];
  /** Keep only the events of this Exchange (recommended when the logs may come from other contracts). */
  exchange?: Address | undefined;
}

/** The `Traded` and `FillSkipped` events among the logs, in log order. */
export interface ParseSettlementLogsReturnType {
  trades: Trade[];
  skippedFills: SkippedFill[];
}

function locationOf(log: Log): EventLocation {
  return { blockNumber: log.blockNumber, transactionHash: log.transactionHash, logIndex: log.logIndex };
}

/**
 * A `Traded` event's decoded arguments as a `Trade`.
 * @internal shared with `getTrades`.
 */
export function toTrade(
  args: {
    marketId: number;
    makerOrder: `0x${string}`;
    takerOrder: `0x${string}`;
    makerIsBuy: boolean;
    priceTicks: bigint;
    lots: bigint;
  },
  log: Log,
): Trade {
  return {
    marketId: BigInt(args.marketId),
    makerOrder: decodeOrderKey(args.makerOrder),
    takerOrder: decodeOrderKey(args.takerOrder),
    makerIsBuy: args.makerIsBuy,
    priceTicks: args.priceTicks,
    lots: args.lots,
    ...locationOf(log),
  };
}

/**
 * A `FillSkipped` event's decoded arguments as a `SkippedFill`.
 * @internal shared with `getSkippedFills`.
 */
export function toSkippedFill(args: { fillIndex: bigint; reason: number }, log: Log): SkippedFill {
  const name = SkipReason[args.reason] as SkipReasonName | undefined;
  return { fillIndex: args.fillIndex, reason: args.reason as SkipReason, reasonName: name, ...locationOf(log) };
}

/**
 * Decodes the outcome of `settle` calls from logs — a receipt's, typically: each executed fill
 * (`Traded`) and each skipped one (`FillSkipped`, with its `SkipReason`).
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { parseSettlementLogs } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const receipt = await client.getTransactionReceipt({
 *   hash: "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
 * });
 * const { trades, skippedFills } = parseSettlementLogs({
 *   logs: receipt.logs,
 *   exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 * });
 */
export function parseSettlementLogs(parameters: ParseSettlementLogsParameters): ParseSettlementLogsReturnType {
  const { exchange } = parameters;
  const logs =
    exchange === undefined ? parameters.logs : parameters.logs.filter((l) => isAddressEqual(l.address, exchange));
  const trades: Trade[] = [];
  const skippedFills: SkippedFill[] = [];
  for (const event of parseEventLogs({ abi: exchangeAbi, logs: [...logs], eventName: ["Traded", "FillSkipped"] })) {
    if (event.eventName === "Traded") trades.push(toTrade(event.args, event));
    else skippedFills.push(toSkippedFill(event.args, event));
  }
  return { trades, skippedFills };
}
