/**
 * Child processes that never outlive their parent: a Hardhat node on a free loopback port, the
 * keeper CLI, a deploy run. Each child is the leader of its own process group, so stopping it
 * stops whatever it started (npx, ts-node); every child still running when the parent exits — by
 * return, by an uncaught error or by SIGINT/SIGTERM — is killed with its group. Used by the demo,
 * the end-to-end test and the benchmarks.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { KEEPER_ACCOUNT_INDEX, localAccountKey } from "./accounts";
import { rpc } from "./bench";
import { heldTo } from "./cpus";
import { readDeployment, type Deployment } from "./market";

const ROOT = join(__dirname, "..", "..");
const BIN = join(ROOT, "node_modules", ".bin");

/** A port the OS says is free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject()));
    });
  });
}

export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) when the process has exited. */
  readonly exited: Promise<number | string>;
  /** Everything it wrote so far, stdout and stderr interleaved by line (last 2,000 lines). */
  output(): string;
  /** Resolves when a line matching `pattern` appears (rejects if the process exits first or on timeout). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM to its group, then SIGKILL after `graceMs`. Resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | string>;
  /** SIGKILL to its group at once: a crash. */
  kill(): Promise<number | string>;
}

const running = new Set<ManagedProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", () => {
    for (const p of running) killGroup(p.child, "SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      for (const p of running) killGroup(p.child, "SIGKILL");
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
}

/** Starts `command args` in its own process group with piped output. */
export function spawnManaged(
  name: string,
  command: string,
  args: readonly string[],
  /** `cpus`: the cores it runs on (`taskset -c`'s list; scripts/lib/cpus.ts); absent: any. */
  options: { env?: NodeJS.ProcessEnv; echo?: (line: string) => void; cpus?: string } = {},
): ManagedProcess {
  const held = heldTo(options.cpus, command, args);
  const child = spawn(held.command, held.args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return manage(name, child, options);
}

/**
 * Takes charge of a child started elsewhere (e.g. `fork` with an IPC channel): it must have been
 * started with `detached: true`, so that it leads its own process group. Its piped output, if
 * any, is kept and can be waited for, as with `spawnManaged`.
 */
export function manage(
  name: string,
  child: ChildProcess,
  options: { echo?: (line: string) => void } = {},
): ManagedProcess {
  installExitHooks();
  const lines: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void }>();
  const onData = (buffer: Buffer, carry: { rest: string }) => {
    const text = carry.rest + buffer.toString("utf8");
    const parts = text.split("\n");
    carry.rest = parts.pop() ?? "";
    for (const line of parts) {
      lines.push(line);
      if (lines.length > 2000) lines.shift();
      options.echo?.(line);
      for (const w of waiters) {
        if (w.pattern.test(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  };
  const out = { rest: "" };
  const err = { rest: "" };
  child.stdout?.on("data", (b: Buffer) => onData(b, out));
  child.stderr?.on("data", (b: Buffer) => onData(b, err));
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
    child.on("error", (error) => {
      lines.push(`spawn failed: ${error.message}`);
      resolve("spawn-error");
    });
  });
  const managed: ManagedProcess = {
    name,
    child,
    exited,
    output: () => lines.join("\n"),
    waitFor(pattern, timeoutMs = 60_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { pattern, resolve };
        waiters.add(waiter);
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms. Output:\n${tail(lines)}`));
        }, timeoutMs);
        void exited.then((code) => {
          if (!waiters.has(waiter)) return;
          waiters.delete(waiter);
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code}) before printing ${pattern}. Output:\n${tail(lines)}`));
        });
        const done = waiter.resolve;
        waiter.resolve = (line) => {
          clearTimeout(timer);
          done(line);
        };
      });
    },
    async stop(graceMs = 10_000) {
      killGroup(child, "SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      killGroup(child, "SIGKILL"); // anything the leader left behind in its group
      return code;
    },
    async kill() {
      killGroup(child, "SIGKILL");
      return exited;
    },
  };
  running.add(managed);
  void exited.then(() => {
    killGroup(child, "SIGKILL");
    running.delete(managed);
  });
  return managed;
}

function tail(lines: readonly string[]): string {
  return lines.slice(-40).join("\n");
}

/** Stops every managed process still running (SIGTERM, then SIGKILL). */
export async function stopAll(graceMs = 5_000): Promise<void> {
  await Promise.all([...running].map((p) => p.stop(graceMs)));
}

export interface LocalNode {
  readonly url: string;
  readonly port: number;
  readonly process: ManagedProcess;
}

/** Starts `hardhat node` on a free loopback port and waits until it answers JSON-RPC. */
export async function startHardhatNode(
  /**
   * `quiet`: the node does not log each JSON-RPC call (`hardhat_setLoggingEnabled`), as a chain
   * node in production does not; `npx hardhat node` logs them, and decodes each call to do so.
   */
  options: { port?: number; echo?: (line: string) => void; quiet?: boolean } = {},
): Promise<LocalNode> {
  const port = options.port ?? (await freePort());
  const proc = spawnManaged(
    "hardhat node",
    join(BIN, "hardhat"),
    ["node", "--hostname", "127.0.0.1", "--port", String(port)],
    {
      echo: options.echo,
    },
  );
  await proc.waitFor(/Started HTTP and WebSocket JSON-RPC server/, 120_000);
  const url = `http://127.0.0.1:${port}`;
  if (options.quiet === true) await rpc(url, "hardhat_setLoggingEnabled", [false], { attempts: 1 });
  return { url, port, process: proc };
}

/** Runs a Hardhat script against `nodeUrl` (`--network localhost`) to the end; throws with its output if it fails. */
export async function runHardhatScript(script: string, nodeUrl: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const proc = spawnManaged(`hardhat run ${script}`, join(BIN, "hardhat"), ["run", script, "--network", "localhost"], {
    env: { ...env, CROSSBOOK_LOCALHOST_URL: nodeUrl },
  });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`${script} failed (${code}):\n${tail(proc.output().split("\n"))}`);
  return proc.output();
}

/**
 * A Hardhat node with the local market deployed on it and `traders` local accounts funded
 * (scripts/setup-local.ts), its deployment file written in `dir`: what the end-to-end tests and the
 * process benchmarks start from.
 */
export async function startLocalMarket(
  dir: string,
  traders: number,
): Promise<{ node: LocalNode; deployment: Deployment }> {
  const node = await startHardhatNode();
  const path = join(dir, "deployment.json");
  await runHardhatScript("scripts/setup-local.ts", node.url, {
    CROSSBOOK_DEPLOYMENTS_PATH: path,
    CROSSBOOK_TRADERS: String(traders),
  });
  return { node, deployment: readDeployment(path) };
}

/**
 * Starts the keeper CLI (`keeper/src/cli.ts`) with these flags and environment; waits until it
 * listens. `nodeArgs` go to node itself (e.g. `--cpu-prof`, or `-r` a preload).
 */
export async function startKeeperProcess(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: { echo?: (line: string) => void; name?: string; nodeArgs?: readonly string[]; cpus?: string } = {},
): Promise<{ url: string; process: ManagedProcess }> {
  const nodeArgs = ["-r", "ts-node/register/transpile-only", ...(options.nodeArgs ?? []), "keeper/src/cli.ts"];
  const proc = spawnManaged(options.name ?? "keeper", process.execPath, [...nodeArgs, ...args], {
    env,
    echo: options.echo,
    cpus: options.cpus,
  });
  const line = await proc.waitFor(/crossbook-keeper listening on /, 120_000);
  const url = /listening on (\S+)/.exec(line)?.[1] ?? "";
  return { url, process: proc };
}

/**
 * Starts the keeper CLI for a local deployment: its chain, Exchange, markets and deploy block, the
 * node at `rpcUrl`, the database at `database`, any free API port, and the local keeper account's
 * key (scripts/lib/accounts.ts). `flags` come last, so they add to these or override them.
 */
export function startLocalKeeper(
  deployment: Pick<Deployment, "chainId" | "exchange" | "markets" | "deployBlock">,
  options: {
    rpcUrl: string;
    database: string;
    flags?: readonly string[];
    nodeArgs?: readonly string[];
    echo?: (line: string) => void;
    name?: string;
    cpus?: string;
  },
): Promise<{ url: string; process: ManagedProcess }> {
  const flags = [
    ...["--rpc-url", options.rpcUrl, "--chain-id", String(deployment.chainId), "--exchange", deployment.exchange],
    ...["--markets", deployment.markets.map((m) => m.id).join(","), "--start-block", String(deployment.deployBlock)],
    ...["--database", options.database, "--api-port", "0"],
    ...(options.flags ?? []),
  ];
  return startKeeperProcess(
    flags,
    { CROSSBOOK_KEEPER_KEY: localAccountKey(KEEPER_ACCOUNT_INDEX) },
    { echo: options.echo, name: options.name, nodeArgs: options.nodeArgs, cpus: options.cpus },
  );
}
