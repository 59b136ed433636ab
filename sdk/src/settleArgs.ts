import type { ContractFunctionArgs, Hex } from "viem";
import { exchangeAbi } from "./generated/exchangeAbi";
import type { Fill, SignedOrder } from "./types";

/** The arguments of `Exchange.settle` as viem types them (`uint32` and narrower as `number`). */
export type SettleArgs = ContractFunctionArgs<typeof exchangeAbi, "nonpayable", "settle">;

/** The parameters of `settleArgs`. */
export interface SettleArgsParameters {
  /** The batch's signed orders; fills point at them by index. */
  orders: readonly SignedOrder[];
  /** The fills, in the order they execute. */
  fills: readonly Fill[];
}

/** `[orders, signatures, fills]`, ready for viem's `writeContract({ functionName: "settle", args })`. */
export type SettleArgsReturnType = SettleArgs;

/**
 * The arguments of a keeper's `Exchange.settle(orders, signatures, fills)` call, built from signed
 * orders and fills: the SDK's `bigint` fields become the `number`s viem expects for `uint32` and
 * narrower types. Only an account with the Exchange's `KEEPER_ROLE` may call `settle`; a trader
 * never does.
 *
 * @example
 * import { createWalletClient, http } from "viem";
 * import { privateKeyToAccount } from "viem/accounts";
 * import { hardhat } from "viem/chains";
 * import { exchangeAbi, settleArgs, type Fill, type SignedOrder } from "@crossbook/sdk";
 * const keeper = createWalletClient({
 *   account: privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
 *   chain: hardhat,
 *   transport: http(),
 * });
 * declare const ask: SignedOrder, bid: SignedOrder; // signed by their makers with signOrder
 * const fills: Fill[] = [{ makerIndex: 0n, takerIndex: 1n, lots: 25n }];
 * await keeper.writeContract({
 *   address: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707",
 *   abi: exchangeAbi,
 *   functionName: "settle",
 *   args: settleArgs({ orders: [ask, bid], fills }),
 * });
 */
export function settleArgs(parameters: SettleArgsParameters): SettleArgsReturnType {
  const orders = parameters.orders.map(({ order }) => ({
    maker: order.maker,
    marketId: Number(order.marketId),
    isBuy: order.isBuy,
    flags: Number(order.flags),
    maxFeeBps: Number(order.maxFeeBps),
    expiry: Number(order.expiry),
    nonce: order.nonce,
    priceTicks: order.priceTicks,
    lots: order.lots,
  }));
  const signatures: Hex[] = parameters.orders.map(({ signature }) => signature);
  const fills = parameters.fills.map((fill) => ({
    makerIndex: Number(fill.makerIndex),
    takerIndex: Number(fill.takerIndex),
    lots: fill.lots,
  }));
  return [orders, signatures, fills];
}
