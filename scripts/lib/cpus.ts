/**
 * Where a benchmark's processes run: on a machine of a few cores, the process under test (the
 * keeper) can be held to cores of its own, and everything else (its chain node, honest traders,
 * attackers, load generators) to the rest, as they run on other machines in a deployment.
 * Otherwise another process's own CPU — an attacker signing at full speed — takes the keeper's
 * cores, which no defence over the network can answer and no deployment sees. Linux only
 * (`taskset`, from util-linux); elsewhere, or on one core, everything shares the machine's cores.
 */
import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";

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
