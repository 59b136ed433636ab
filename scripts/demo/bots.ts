/**
 * The demo's traders: which bots run on which market with which settings, one node account each
 * (accounts 2.. in order, as setup-local funds them), all stopped by one AbortSignal. A bot that
 * cannot start rejects its promise; the caller decides what that means for the run.
 */
import type { Hex } from "viem";
import { runMarketMaker, runTaker, type BotEvent, type BotStats } from "../bots";
import { FIRST_TRADER_INDEX, localAccountKey } from "../lib/accounts";
import { LOCAL_MARKETS, type Deployment, type MarketName } from "../lib/market";

/** One bot of the demo and how it trades. */
export type BotSpec =
  | {
      readonly kind: "mm";
      readonly label: string;
      readonly levels: number;
      readonly spreadBps: number;
      readonly spacingBps: number;
      readonly lotsPerLevel: bigint;
      readonly intervalMs: number;
    }
  | {
      readonly kind: "taker";
      readonly label: string;
      readonly rate: number;
      readonly iocShare: number;
      readonly maxLots: bigint;
      /** How far through the best opposite level it prices, in bps of the market's initial price. */
      readonly slippageBps: number;
    };

/** Per market: a tight and a wide market maker, a busy taker and a slower IOC-only one that takes bigger. */
export const BOTS_PER_MARKET: readonly BotSpec[] = [
  { kind: "mm", label: "mm-tight", levels: 5, spreadBps: 8, spacingBps: 6, lotsPerLevel: 10n, intervalMs: 1_000 },
  { kind: "mm", label: "mm-wide", levels: 3, spreadBps: 25, spacingBps: 15, lotsPerLevel: 40n, intervalMs: 1_500 },
  { kind: "taker", label: "taker-fast", rate: 2, iocShare: 0.5, maxLots: 12n, slippageBps: 1 },
  { kind: "taker", label: "taker-ioc", rate: 0.7, iocShare: 1, maxLots: 40n, slippageBps: 30 },
];

/** How many node accounts the demo's bots use, one each (what setup-local must fund). */
export const TRADER_COUNT = LOCAL_MARKETS.length * BOTS_PER_MARKET.length;

/** A running bot. */
export interface RunningBot {
  readonly name: string;
  readonly market: MarketName;
  readonly kind: "mm" | "taker";
  readonly account: number;
  /** Its counters as of its latest event. */
  stats: BotStats | undefined;
  /** Resolves with its final counters after it stopped; rejects when it could not start. */
  readonly done: Promise<BotStats>;
}

/**
 * Starts every bot of `BOTS_PER_MARKET` on every market of the deployment. `onEvent` sees every
 * bot's events with the bot's name.
 */
export function startBots(parameters: {
  deployment: Deployment;
  /** Where the bots send their orders: bot k to `keeperUrls[k % length]` (several gateways share the bots). */
  keeperUrls: readonly string[];
  rpcUrl: string;
  seed: number;
  signal: AbortSignal;
  onEvent?: (bot: RunningBot, event: BotEvent) => void;
}): RunningBot[] {
  const { deployment, keeperUrls, rpcUrl, seed, signal } = parameters;
  const bots: RunningBot[] = [];
  let account = FIRST_TRADER_INDEX;
  for (const market of deployment.markets) {
    for (const spec of BOTS_PER_MARKET) {
      const name = `${spec.label} ${market.name}`;
      const privateKey: Hex = localAccountKey(account);
      const keeperUrl = keeperUrls[bots.length % keeperUrls.length];
      const connection = { keeperUrl, rpcUrl, deployment, market: market.name, privateKey, name };
      let bot: RunningBot;
      const control = {
        signal,
        onEvent: (event: BotEvent, stats: BotStats) => {
          bot.stats = stats;
          parameters.onEvent?.(bot, event);
        },
      };
      const done =
        spec.kind === "mm"
          ? runMarketMaker(
              {
                ...connection,
                levels: spec.levels,
                spreadBps: spec.spreadBps,
                spacingBps: spec.spacingBps,
                lotsPerLevel: spec.lotsPerLevel,
                intervalMs: spec.intervalMs,
              },
              control,
            )
          : runTaker(
              {
                ...connection,
                rate: spec.rate,
                iocShare: spec.iocShare,
                maxLots: spec.maxLots,
                slippageTicks: (market.initialPriceTicks * BigInt(spec.slippageBps)) / 10_000n,
                seed: seed + account,
              },
              control,
            );
      bot = { name, market: market.name, kind: spec.kind, account, stats: undefined, done };
      bot.done.then(
        (stats) => (bot.stats = stats),
        () => undefined, // the caller watches `done`; this only keeps a rejection from going unhandled here
      );
      bots.push(bot);
      account++;
    }
  }
  return bots;
}
