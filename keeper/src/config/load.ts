import { configSchema, SETTINGS, type KeeperConfig, type Sourced } from "./schema";

/** The inputs of `loadConfig`: everything it reads, injected, so that it is pure over them. */
export interface LoadConfigParameters {
  /** Command-line arguments after the program name: `process.argv.slice(2)`. */
  readonly argv: readonly string[];
  /** The environment: `process.env`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads the config file named by `--config` or `CROSSBOOK_CONFIG`, as UTF-8; throws if it cannot. */
  readonly readFile: (path: string) => string;
}

/** The config, or every problem found, one message each: `path: what is wrong; what is expected`. */
export type LoadConfigReturnType =
  { readonly ok: true; readonly config: KeeperConfig } | { readonly ok: false; readonly problems: readonly string[] };

/** Flags that would carry a secret. Refused by name, with the reason, whatever their value. */
const SECRET_FLAGS = ["keeper-key", "key", "private-key", "privatekey", "keystore-password", "password", "mnemonic"];
const SECRET_REFUSAL =
  "the keeper key is never taken from a flag (a flag shows in the process list and the shell history); " +
  "expected env CROSSBOOK_KEEPER_KEY, or --keystore-path with env CROSSBOOK_KEYSTORE_PASSWORD";
/** File keys that would carry a secret. */
const SECRET_FILE_KEYS = ["keeperKey", "privateKey", "key", "keystorePassword", "password", "mnemonic"];

/**
 * Loads the keeper's configuration from, in increasing precedence, an optional JSON file
 * (`--config <path>` or `CROSSBOOK_CONFIG`), the environment (`CROSSBOOK_…`) and flags, then
 * validates it against `configSchema`. Reads nothing but its parameters.
 *
 * @example
 * const result = loadConfig({ argv: process.argv.slice(2), env: process.env, readFile: (p) => fs.readFileSync(p, "utf8") });
 * if (!result.ok) { for (const p of result.problems) console.error(p); process.exit(2); }
 */
export function loadConfig({ argv, env, readFile }: LoadConfigParameters): LoadConfigReturnType {
  const problems: string[] = [];
  const flags = parseFlags(argv, problems);

  const raw: Record<string, Sourced | null> = Object.fromEntries(SETTINGS.map((s) => [s.path, null]));
  const configPath = flags.get("config") ?? nonEmpty(env.CROSSBOOK_CONFIG);
  if (configPath !== undefined) readConfigFile(configPath, readFile, raw, problems);
  for (const s of SETTINGS) {
    const value = nonEmpty(env[s.env]);
    if (value !== undefined) raw[s.path] = { value, source: `env ${s.env}` };
  }
  for (const s of SETTINGS) {
    if (s.flag === undefined) continue;
    const value = flags.get(s.flag);
    if (value !== undefined) raw[s.path] = { value, source: `flag --${s.flag}` };
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join(".")}: ${issue.message}`);
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, config: parsed.data };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

const KNOWN_FLAGS = new Set(["config", ...SETTINGS.flatMap((s) => (s.flag ? [s.flag] : []))]);

/** `--name value` and `--name=value`; the last of a repeated flag wins. */
function parseFlags(argv: readonly string[], problems: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) {
      problems.push(`argument "${arg}": unexpected; expected flags of the form --name value or --name=value`);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = (eq === -1 ? arg.slice(2) : arg.slice(2, eq)).toLowerCase();
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) value = argv[++i];
    if (SECRET_FLAGS.includes(name)) {
      problems.push(`flag --${name}: refused; ${SECRET_REFUSAL}`);
      continue;
    }
    if (!KNOWN_FLAGS.has(name)) {
      problems.push(`flag --${name}: unknown; expected one of ${[...KNOWN_FLAGS].map((f) => `--${f}`).join(", ")}`);
      continue;
    }
    if (value === undefined) {
      problems.push(`flag --${name}: has no value; expected --${name} <value> or --${name}=<value>`);
      continue;
    }
    flags.set(name, value);
  }
  return flags;
}

const FILE_PATHS = new Set(SETTINGS.filter((s) => s.inFile).map((s) => s.path));
const FILE_GROUPS = new Set([...FILE_PATHS].filter((p) => p.includes(".")).map((p) => p.split(".")[0]));

function readConfigFile(
  path: string,
  readFile: (path: string) => string,
  raw: Record<string, Sourced | null>,
  problems: string[],
): void {
  let json: unknown;
  try {
    json = JSON.parse(readFile(path));
  } catch (e) {
    const why =
      e instanceof SyntaxError ? `is not valid JSON (${e.message})` : `cannot be read (${(e as Error).message})`;
    problems.push(`config file ${path}: ${why}; expected a readable JSON object`);
    return;
  }
  if (!isObject(json)) {
    problems.push(`config file ${path}: is ${describe(json)}; expected a JSON object`);
    return;
  }
  const source = `file ${path}`;
  const visit = (object: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(object)) {
      const p = prefix + key;
      if (SECRET_FILE_KEYS.includes(key)) {
        problems.push(
          `${p}: refused in the config file; the keeper key and keystore password come only from the environment (CROSSBOOK_KEEPER_KEY, CROSSBOOK_KEYSTORE_PASSWORD)`,
        );
      } else if (prefix === "" && FILE_GROUPS.has(key)) {
        if (isObject(value)) visit(value, `${key}.`);
        else
          problems.push(
            `${p}: is ${describe(value)}; expected an object with ${[...FILE_PATHS].filter((x) => x.startsWith(`${key}.`)).join(", ")}`,
          );
      } else if (FILE_PATHS.has(p)) {
        if (value !== null) raw[p] = { value, source };
      } else {
        problems.push(`${p}: unknown key in file ${path}; expected one of ${[...FILE_PATHS].join(", ")}`);
      }
    }
  };
  visit(json, "");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`;
}
