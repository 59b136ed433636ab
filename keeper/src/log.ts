/**
 * The keeper's structured logs: `Logger`, the pino-compatible subset every module takes (library
 * code defaults to `silentLogger`), and `createLogger`, pino writing one JSON object a line to
 * stderr by default (stdout stays free for a CLI's output), which is a full pino logger besides
 * (`child`, `flush`).
 */
import pino from "pino";

/** The pino-compatible subset of a structured logger the keeper uses. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** A logger that drops everything: the default of library code and of tests. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface CreateLoggerOptions {
  readonly level?: LogLevel;
  /** Where the lines go: a file descriptor (2 = stderr, the default) or a writable stream. */
  readonly destination?: number | NodeJS.WritableStream;
  /** Fields on every line, e.g. `{ service: "keeper" }`. */
  readonly base?: Record<string, unknown>;
}

export function createLogger(options: CreateLoggerOptions = {}): pino.Logger & Logger {
  const destination =
    options.destination === undefined || typeof options.destination === "number"
      ? pino.destination({ fd: options.destination ?? 2, sync: false })
      : options.destination;
  return pino(
    {
      level: options.level ?? "info",
      base: options.base ?? { service: "crossbook-keeper" },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Bigints are everywhere in the keeper's fields: write them as strings rather than throw.
      formatters: { log: (fields) => bigintsToStrings(fields) as Record<string, unknown> },
    },
    destination as pino.DestinationStream,
  );
}

function bigintsToStrings(value: unknown, depth = 0): unknown {
  if (typeof value === "bigint") return value.toString();
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => bigintsToStrings(v, depth + 1));
  if (value instanceof Error) return { message: value.message, name: value.name, stack: value.stack };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = bigintsToStrings(v, depth + 1);
  return out;
}
