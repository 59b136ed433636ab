import type { Address, BlockNumber, BlockTag } from "viem";
import { getContractEvents } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { toSkippedFill, type SkippedFill } from "../parseSettlementLogs";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getSkippedFills`. */
export interface GetSkippedFillsParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** The first block to read (default `"earliest"`; public RPC nodes limit the range of one query). */
  fromBlock?: BlockNumber | BlockTag | undefined;
  /** The last block to read (default `"latest"`). */
  toBlock?: BlockNumber | BlockTag | undefined;
}

/** The skipped fills, oldest first. */
export type GetSkippedFillsReturnType = SkippedFill[];

/**
 * Reads the fills `settle` skipped (`FillSkipped` events) in a block range, each with its
 * `SkipReason`: what a trader changed after signing (a cancel, a balance, an expiry…). The event
 * names the fill by its index in its `settle` call; use `transactionHash` to find the call.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { getSkippedFills } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * for (const skipped of await getSkippedFills(client, { exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" })) {
 *   console.log(skipped.transactionHash, skipped.fillIndex, skipped.reasonName);
 * }
 */
export async function getSkippedFills(
  client: ReadClient,
  parameters: GetSkippedFillsParameters,
): Promise<GetSkippedFillsReturnType> {
  const { exchange, fromBlock = "earliest", toBlock = "latest" } = parameters;
  const events = await reading("getLogs(FillSkipped)", () =>
    getContractEvents(client, { address: exchange, abi: exchangeAbi, eventName: "FillSkipped", fromBlock, toBlock }),
  );
  return events.map((event) => toSkippedFill(event.args as Parameters<typeof toSkippedFill>[0], event));
}
