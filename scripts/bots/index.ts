/**
 * The bots for in-process use (the demo, tests): run functions, their options, events and
 * counters, and the pure decisions they are made of.
 */
export { runMarketMaker, type MarketMakerOptions } from "./lib/marketMaker";
export { runTaker, seededRandom, type TakerOptions } from "./lib/taker";
export type { BotControl, BotEvent } from "./lib/events";
export type { BotStats, ConnectOptions } from "./lib/context";
export * from "./lib/quoting";
export * from "./lib/taking";
