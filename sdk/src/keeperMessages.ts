/**
 * The signed messages a trader sends the keeper besides orders: soft cancels and the feed login.
 * EIP-712 under the same domain as orders (the Exchange's), so that a message signed for one
 * chain or one Exchange means nothing to another. The keeper checks them off-chain only: the
 * Exchange never sees them (an on-chain `cancel` is the hard guarantee).
 */
import type { Address, Hex } from "viem";
import { exchangeDomain, type ExchangeDomainParameters } from "./eip712";

/** EIP-712 types of the keeper's messages. */
export const keeperMessageTypes = {
  /** Soft-cancel these orders of `maker` (each hash as `hashOrder` gives it). */
  CancelOrders: [
    { name: "maker", type: "address" },
    { name: "orderHashes", type: "bytes32[]" },
    { name: "issuedAt", type: "uint64" },
  ],
  /** Soft-cancel every order of `maker` in `marketId` (0: every market) accepted at or before `issuedAt`. */
  CancelAll: [
    { name: "maker", type: "address" },
    { name: "marketId", type: "uint32" },
    { name: "issuedAt", type: "uint64" },
  ],
  /**
   * The keeper's dead-man switch: soft-cancel every order of `account` once the keeper's clock
   * passes `at` (unix ms) unless a later message moves it; `at = 0` clears it. Each message's
   * `issuedAt` must be later than the last one the keeper took for the account.
   */
  ScheduleCancel: [
    { name: "account", type: "address" },
    { name: "at", type: "uint64" },
    { name: "issuedAt", type: "uint64" },
  ],
  /** Proves control of `account` to open its private feed channel: `challenge` comes from the keeper. */
  FeedLogin: [
    { name: "account", type: "address" },
    { name: "challenge", type: "bytes32" },
  ],
} as const;

/** `issuedAt` is unix milliseconds; the keeper refuses a message more than this far from its clock. */
export const KEEPER_MESSAGE_MAX_SKEW_MS = 300_000;

export interface CancelOrdersMessage {
  maker: Address;
  orderHashes: readonly Hex[];
  /** Unix milliseconds. */
  issuedAt: bigint;
}

export interface CancelAllMessage {
  maker: Address;
  /** `0n` for every market. */
  marketId: bigint;
  /** Unix milliseconds: orders the keeper accepted after this are not cancelled (a replay cannot reach them). */
  issuedAt: bigint;
}

export interface ScheduleCancelMessage {
  account: Address;
  /** Unix milliseconds of the keeper's clock when every order of `account` is soft-cancelled; `0n` clears the schedule. */
  at: bigint;
  /** Unix milliseconds; later than the last `ScheduleCancel` the keeper took for the account (an older one is a replay). */
  issuedAt: bigint;
}

/** The message of each keeper message type. */
export interface KeeperMessageOf {
  CancelOrders: CancelOrdersMessage;
  CancelAll: CancelAllMessage;
  ScheduleCancel: ScheduleCancelMessage;
  FeedLogin: FeedLoginMessage;
}

export interface FeedLoginMessage {
  account: Address;
  challenge: Hex;
}

/**
 * The typed data of a keeper message, for viem's `signTypedData` / `verifyTypedData` (or an ethers
 * signer's `signTypedData` with `types` minus the primary type's domain).
 *
 * @example
 * import { keeperMessageTypedData } from "@crossbook/sdk";
 * const typedData = keeperMessageTypedData({
 *   domain: { chainId: 31337, verifyingContract: "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707" },
 *   primaryType: "CancelAll",
 *   message: { maker: "0xCB3504f6d0D7C9eC65a4F0548D6C3c521bF82C03", marketId: 0n, issuedAt: BigInt(Date.now()) },
 * });
 * // const signature = await walletClient.signTypedData({ account, ...typedData });
 */
export function keeperMessageTypedData<P extends keyof typeof keeperMessageTypes>(parameters: {
  domain: ExchangeDomainParameters;
  primaryType: P;
  message: KeeperMessageOf[P];
}): KeeperMessageTypedData<P> {
  return {
    domain: exchangeDomain(parameters.domain),
    types: { [parameters.primaryType]: keeperMessageTypes[parameters.primaryType].map((f) => ({ ...f })) },
    primaryType: parameters.primaryType,
    message: parameters.message as unknown as Record<string, unknown>,
  };
}

/**
 * What `keeperMessageTypedData` returns: typed loosely (a message of any fields) so that viem's
 * `signTypedData` and `verifyTypedData` take it as is — their strict typing would want the
 * `uint32` market id as a `number`, while the SDK keeps every integer a `bigint`.
 */
export interface KeeperMessageTypedData<P extends keyof typeof keeperMessageTypes> {
  domain: ReturnType<typeof exchangeDomain>;
  types: Record<string, { name: string; type: string }[]>;
  primaryType: P;
  message: Record<string, unknown>;
}
