/**
 * `npm run chaos -- [--kills N] [--seed S] [--lease-ms MS]`: the chaos run of scripts/lib/chaos.ts —
 * two keeper CLIs on an embedded PostgreSQL, bots trading through the SDK, the leader killed N
 * times (SIGKILL at seeded random moments, one SIGSTOP past the lease), every check after every
 * kill. Prints the takeover time of each kill, their p50, max and min, the checks and the load
 * average. Exits 0 only when every check passed.
 */
import { loadavg } from "node:os";
import { quantile, runChaos } from "./lib/chaos";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`--${name} needs a whole number, got ${process.argv[i + 1]}`);
  return value;
}

async function main(): Promise<number> {
  const kills = option("kills", 20);
  const seed = option("seed", 1);
  const leaseMs = option("lease-ms", 2000);
  const say = (line: string) => console.log(line);
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
  const loadBefore = load();
  const report = await runChaos({ kills, seed, leaseMs, say });
  const times = report.kills.map((k) => k.takeoverMs).sort((a, b) => a - b);
  const failed = report.checks.filter((c) => !c.ok);
  say(`\nchaos — ${kills} kills of the leader (seed ${seed}, lease ${leaseMs} ms)`);
  for (const k of report.kills) {
    say(
      `  kill ${String(k.index).padStart(2)} ${k.kind.padEnd(24)} ${k.from} → ${k.to}: ${k.takeoverMs} ms (${k.cutOff} answers cut off)`,
    );
  }
  if (times.length > 0) {
    say(
      `takeover (kill → first order accepted): p50 ${quantile(times, 0.5)} ms, max ${times[times.length - 1]} ms, min ${times[0]} ms`,
    );
  }
  say(
    report.unasked.length === 0
      ? "takeovers nobody asked for: none"
      : `takeovers nobody asked for: ${report.unasked.length}\n${report.unasked.map((u) => `  ${u}`).join("\n")}`,
  );
  say(`orders accepted ${report.answered}, bot errors ${report.botErrors} (refusals while no keeper led included)`);
  say(
    failed.length === 0
      ? `all ${report.checks.length} checks passed`
      : `${failed.length} of ${report.checks.length} checks FAILED:`,
  );
  for (const c of failed) say(`  ✘ ${c.name} — ${c.detail}`);
  say(`load average (1/5/15 min): before ${loadBefore}, after ${load()}`);
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`chaos: ${String((error as Error).stack ?? error)}`);
    process.exit(1);
  },
);
