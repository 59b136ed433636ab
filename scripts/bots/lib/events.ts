/**
 * What the bots report as they run, for a caller (the demo, a test) that runs them in-process:
 * each event comes with a snapshot of the bot's counters. Also the control both run functions take.
 */
import type { Address, Hex } from "viem";
import type { BotStats } from "./context";
import type { Side } from "./quoting";

/** One thing a bot did or saw. */
export type BotEvent =
  | { readonly type: "started"; readonly account: Address; readonly market: string; readonly firstNonce: bigint }
  /** The market maker brought its ladder in line (placed and cancelled orders this round). */
  | {
      readonly type: "quoted";
      readonly referenceTicks: bigint;
      readonly requoted: boolean;
      readonly placed: number;
      readonly cancelled: number;
      readonly liveBids: number;
      readonly liveAsks: number;
    }
  /** An order the keeper accepted (`status` as it answered: open, filled, cancelled for an IOC rest…). */
  | {
      readonly type: "accepted";
      readonly hash: Hex;
      readonly side: Side;
      readonly priceTicks: bigint;
      readonly lots: bigint;
      readonly ioc: boolean;
      readonly status: string;
      readonly filledLots: bigint;
    }
  /** The keeper refused an order or a cancel. */
  | { readonly type: "rejected"; readonly code: string; readonly message: string }
  /** More of one of the bot's orders filled. */
  | {
      readonly type: "fill";
      readonly hash: Hex;
      readonly side: Side;
      readonly priceTicks: bigint;
      readonly lots: bigint;
    }
  /** The market maker's cancel-after deadline was renewed on-chain (unix seconds). */
  | { readonly type: "heartbeat"; readonly deadline: bigint }
  /** A failure that was not a keeper refusal (keeper unreachable, RPC error…); the bot carries on. */
  | { readonly type: "error"; readonly code: string; readonly message: string }
  /** The bot stopped: its orders were soft-cancelled (`cancelled` of them still live). */
  | { readonly type: "stopped"; readonly cancelled: number };

/** How a caller stops and watches a bot. */
export interface BotControl {
  /** Aborting stops the bot: it soft-cancels its orders and the run's promise resolves with its counters. */
  signal?: AbortSignal | undefined;
  /** Called for each event, with the counters after it. */
  onEvent?: ((event: BotEvent, stats: BotStats) => void) | undefined;
}
