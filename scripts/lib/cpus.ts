/**
 * Where a benchmark's processes run: on a machine of a few cores, the process under test (the
 * keeper) can be held to cores of its own, and everything else (its chain node, honest traders,
 * attackers, load generators) to the rest, as they run on other machines in a deployment.
 * Otherwise another process's own CPU — an attacker signing at full speed — takes the keeper's
 * cores, which no defence over the network can answer and no deployment sees. Linux only
 * (`taskset`, from util-linux); elsewhere, or on one core, everything shares the machine's cores.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { availableParallelism, setPriority } from "node:os";

/** The cores of each side, as `taskset -c` lists them ("1", "2-3"). */
export interface CpuSplit {
  /** The process under test's. */
  readonly tested: string;
  /** Every other process's. */
  readonly others: string;
}

/** `taskset -c`'s list of the cores first…last. */
function coreList(first: number, last: number): string {
  return first === last ? String(first) : `${first}-${last}`;
}

/**
 * The split of this machine's cores: the lower half (rounded down, at least one) to the other
 * processes, the rest to the one under test. Undefined on one core or without `taskset`.
 */
export function splitCpus(cores = availableParallelism()): CpuSplit | undefined {
  if (cores < 2 || !hasTaskset()) return undefined;
  const others = Math.max(1, Math.floor(cores / 2));
  return { others: coreList(0, others - 1), tested: coreList(others, cores - 1) };
}

/** Whether `taskset` (util-linux) runs here. */
export function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Holds this process, every thread it has, and every process it starts from now on (unless told
 * otherwise: `taskset -c` in front of a command) to `cpus`.
 */
export function holdSelfTo(cpus: string): void {
  execFileSync("taskset", ["-a", "-p", "-c", cpus, String(process.pid)], { stdio: "ignore" });
}

/** `command args` held to `cpus` from its start (every thread it makes inherits it); as is without `cpus`. */
export function heldTo(
  cpus: string | undefined,
  command: string,
  args: readonly string[],
): { command: string; args: string[] } {
  return cpus === undefined
    ? { command, args: [...args] }
    : { command: "taskset", args: ["-c", cpus, command, ...args] };
}

/**
 * Lowers every thread of this process, and every thread it starts from now on, to `niceness` (0
 * ..= 19): while another process of the same cores wants the CPU, this one gets little of it, and
 * otherwise all it can use. For a load generator that stands for clients on other machines: their
 * own CPU takes nothing from the processes they share cores with here (a chain node, other
 * clients). Linux keeps a niceness per thread and a new thread takes its creator's, so each thread
 * already running is lowered by its id (`/proc/self/task`); elsewhere only the calling thread is.
 */
export function yieldCpu(niceness: number): void {
  checkNiceness(niceness);
  const threads = existsSync("/proc/self/task") ? readdirSync("/proc/self/task").map(Number) : [0];
  for (const thread of threads) {
    try {
      setPriority(thread, niceness);
    } catch (error) {
      // A thread that ended since the listing has nothing left to lower.
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }
}

/** `niceness` if it is one a process may take (a whole number from 0 to 19), else a `RangeError`. */
export function checkNiceness(niceness: number): number {
  if (!Number.isInteger(niceness) || niceness < 0 || niceness > 19) {
    throw new RangeError(`niceness must be a whole number from 0 to 19, got ${niceness}`);
  }
  return niceness;
}
