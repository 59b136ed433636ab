/**
 * What the two bot CLIs share: reading typed option values with clear errors, the private key
 * from an environment variable (never from a flag, so it stays out of shell history and `ps`),
 * and running a bot until SIGINT/SIGTERM with a clean exit.
 */
import type { Hex } from "viem";
import type { BotStats } from "./context";
import type { BotControl } from "./events";

/** A bad command line: the CLI prints the message and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** An integer option in `[min, max]`, or its default when absent. */
export function intOption(values: Record<string, unknown>, name: string, fallback: number, min: number, max: number) {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const text = String(raw);
  if (!/^-?[0-9]+$/.test(text)) throw new UsageError(`--${name} must be a whole number, got "${text}"`);
  const value = Number(text);
  if (value < min || value > max) throw new UsageError(`--${name} must be from ${min} to ${max}, got ${value}`);
  return value;
}

/** A number option in `[min, max]`, or its default when absent. */
export function numberOption(
  values: Record<string, unknown>,
  name: string,
  fallback: number,
  min: number,
  max: number,
) {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (String(raw).trim() === "" || !Number.isFinite(value))
    throw new UsageError(`--${name} must be a number, got "${raw}"`);
  if (value < min || value > max) throw new UsageError(`--${name} must be from ${min} to ${max}, got ${value}`);
  return value;
}

/** A whole, non-negative bigint option (lots, ticks), or its default when absent. */
export function bigintOption(values: Record<string, unknown>, name: string, fallback: bigint, min = 0n): bigint {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const text = String(raw);
  if (!/^[0-9]+$/.test(text)) throw new UsageError(`--${name} must be a whole number, got "${text}"`);
  const value = BigInt(text);
  if (value < min) throw new UsageError(`--${name} must be at least ${min}, got ${value}`);
  return value;
}

/** The private key held by environment variable `name`. */
export function keyFromEnv(name: string, env: NodeJS.ProcessEnv = process.env): Hex {
  const value = env[name];
  if (value === undefined || value === "") {
    throw new UsageError(`Set the trader's private key in the environment variable ${name} (see --key-env)`);
  }
  const key = value.startsWith("0x") ? value : `0x${value}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new UsageError(`The environment variable ${name} must hold a private key: 64 hex digits, with or without 0x`);
  }
  return key as Hex;
}

/**
 * Runs a bot as a process: the first SIGINT or SIGTERM asks it to stop (it soft-cancels its
 * orders), a second one exits at once with 130. Exits 0 after a clean stop, 1 when the bot
 * could not start (or its deployments file is bad), 2 on a usage error.
 */
export async function runAsProcess<O>(
  usage: string,
  parse: (argv: string[]) => { help: true } | { help: false; options: O },
  start: (options: O, control: BotControl) => Promise<BotStats>,
): Promise<void> {
  let options: O;
  try {
    const parsed = parse(process.argv.slice(2));
    if (parsed.help) {
      console.log(usage);
      process.exit(0);
    }
    options = parsed.options;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`${(error as Error).message}\n\n${usage}`);
      process.exit(2);
    }
    console.error(error instanceof Error ? error.message : String(error)); // e.g. a bad deployments file
    process.exit(1);
  }
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      console.error(`${name} again: exiting without cleaning up`);
      process.exit(130);
    }
    console.error(`${name}: stopping (soft-cancelling orders)…`);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await start(options, { signal: controller.signal });
    process.exit(0);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(error instanceof UsageError ? 2 : 1);
  }
}
