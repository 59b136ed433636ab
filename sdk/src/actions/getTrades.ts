import type { Address, BlockNumber, BlockTag } from "viem";
import { getContractEvents } from "viem/actions";
import { exchangeAbi } from "../generated/exchangeAbi";
import { toTrade, type Trade } from "../parseSettlementLogs";
import { reading, type ReadClient } from "./internal";

/** The parameters of `getTrades`. */
export interface GetTradesParameters {
  /** The Exchange's address. */
  exchange: Address;
  /** Only this market's trades (the market id is an indexed topic). */
  marketId?: bigint | undefined;
  /** The first block to read (default `"earliest"`; public RPC nodes limit the range of one query). */
  fromBlock?: BlockNumber | BlockTag | undefined;
  /** The last block to read (default `"latest"`). */
  toBlock?: BlockNumber | BlockTag | undefined;
}

/** The trades, oldest first. */
export type GetTradesReturnType = Trade[];

/**
 * Reads the executed fills (`Traded` events) of the Exchange in a block range, decoded: market,
 * both orders' `(account, nonce)`, the maker's side, price and size — the tape.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { hardhat } from "viem/chains";
 * import { formatLots, formatPriceTicks, getTrades } from "@crossbook/sdk";
 * const client = createPublicClient({ chain: hardhat, transport: http() });
 * const market = { baseDecimals: 18, quoteDecimals: 6, lotSize: 10n ** 16n, tickSize: 100n };
 * for (const trade of await getTrades(client, { exchange: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707", marketId: 1n })) {
 *   console.log(formatLots({ lots: trade.lots, market }), "at", formatPriceTicks({ priceTicks: trade.priceTicks, market }));
 * }
 */
export async function getTrades(client: ReadClient, parameters: GetTradesParameters): Promise<GetTradesReturnType> {
  const { exchange, marketId, fromBlock = "earliest", toBlock = "latest" } = parameters;
  const events = await reading("getLogs(Traded)", () =>
    getContractEvents(client, {
      address: exchange,
      abi: exchangeAbi,
      eventName: "Traded",
      args: marketId === undefined ? undefined : { marketId: Number(marketId) },
      fromBlock,
      toBlock,
    }),
  );
  return events.map((event) => toTrade(event.args as Parameters<typeof toTrade>[0], event));
}
