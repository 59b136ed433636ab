/**
 * `npm run demo` (scripts/demo.ts): its pure parts — the command line, the keeper's metrics text,
 * the feeds' walk — and the whole command as a child process, run for 10 s and interrupted with
 * SIGINT mid-way: it must pass its checks, and in both cases leave no node, keeper or temp dir.
 */
import { expect } from "chai";
import { existsSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { MetricsSnapshot, quantileBucket } from "../../scripts/demo/metrics";
import { DEFAULT_DURATION_SECONDS, DemoUsageError, parseDemoArgs } from "../../scripts/demo/options";
import { nextAnswer } from "../../scripts/demo/priceWalk";
import { spawnManaged, type ManagedProcess } from "../../scripts/lib/processes";

const METRICS = `# HELP crossbook_orders_accepted_total Orders the keeper accepted, by market
# TYPE crossbook_orders_accepted_total counter
crossbook_orders_accepted_total{market="1"} 40
crossbook_orders_accepted_total{market="2"} 2
crossbook_orders_rejected_total{code="POST_ONLY_WOULD_CROSS"} 3
crossbook_batches_total{outcome="settled"} 5
crossbook_batches_total{outcome="skipped"} 1
crossbook_gas_per_fill_bucket{le="50000"} 1
crossbook_gas_per_fill_bucket{le="80000"} 4
crossbook_gas_per_fill_bucket{le="+Inf"} 5
crossbook_gas_per_fill_sum 400000
crossbook_gas_per_fill_count 5
crossbook_weird{path="a \\"quoted\\" \\\\ value"} 1.5e3
`;

describe("demo: command line", () => {
  it("defaults to a minute and reads --duration, --seed, --ha, --cluster and --help in both spellings", () => {
    expect(parseDemoArgs([])).to.deep.equal({
      durationSeconds: DEFAULT_DURATION_SECONDS,
      seed: 1,
      ha: false,
      cluster: false,
      help: false,
    });
    expect(parseDemoArgs(["--duration", "20", "--seed=7", "--ha"])).to.deep.equal({
      durationSeconds: 20,
      seed: 7,
      ha: true,
      cluster: false,
      help: false,
    });
    expect(parseDemoArgs(["--cluster"])).to.deep.include({ ha: false, cluster: true });
    expect(parseDemoArgs(["-h"]).help).to.equal(true);
    expect(() => parseDemoArgs(["--ha=yes"])).to.throw(DemoUsageError, /--ha takes no value/);
    expect(() => parseDemoArgs(["--cluster=2"])).to.throw(DemoUsageError, /--cluster takes no value/);
    expect(() => parseDemoArgs(["--ha", "--cluster"])).to.throw(DemoUsageError, /choose one/);
  });

  it("refuses an unknown flag, a missing value and a duration that is not a positive number", () => {
    expect(() => parseDemoArgs(["--durations", "5"])).to.throw(DemoUsageError, /unknown option "--durations"/);
    expect(() => parseDemoArgs(["--duration"])).to.throw(DemoUsageError, /--duration needs a value/);
    expect(() => parseDemoArgs(["--duration", "0"])).to.throw(DemoUsageError, /from 1 to 86400, got "0"/);
    expect(() => parseDemoArgs(["--duration", "ten"])).to.throw(DemoUsageError, /got "ten"/);
    expect(() => parseDemoArgs(["--seed", "-3"])).to.throw(DemoUsageError, /--seed must be a whole number/);
    expect(() => parseDemoArgs(["--seed", "--duration", "5"])).to.throw(DemoUsageError, /--seed needs a value/);
  });
});

describe("demo: the keeper's metrics text", () => {
  const snapshot = MetricsSnapshot.parse(METRICS);

  it("sums a counter over its labels, or over the labels asked for", () => {
    expect(snapshot.total("crossbook_orders_accepted_total")).to.equal(42);
    expect(snapshot.total("crossbook_batches_total", { outcome: "settled" })).to.equal(5);
    expect(snapshot.total("crossbook_batches_total", { outcome: "dropped" })).to.equal(0);
    expect(snapshot.samples.find((s) => s.name === "crossbook_weird")).to.deep.equal({
      name: "crossbook_weird",
      labels: { path: 'a "quoted" \\ value' },
      value: 1500,
    });
  });

  it("gives a histogram's mean and the bucket of its median and p90", () => {
    const gas = snapshot.histogram("crossbook_gas_per_fill");
    expect(gas.mean).to.equal(80_000);
    expect(quantileBucket(gas, 0.5)).to.deep.equal([50_000, 80_000]);
    expect(quantileBucket(gas, 0.2)).to.deep.equal([0, 50_000]);
    expect(quantileBucket(gas, 0.9)).to.deep.equal([80_000, Infinity]);
    const none = snapshot.histogram("crossbook_order_to_settlement_seconds");
    expect(none.mean).to.equal(undefined);
    expect(quantileBucket(none, 0.5)).to.equal(undefined);
  });

  it("refuses a line that is not a sample", () => {
    expect(() => MetricsSnapshot.parse("crossbook_x{a=1} 2")).to.throw(/not a Prometheus sample line/);
    expect(() => MetricsSnapshot.parse("crossbook_x abc")).to.throw(/not a Prometheus value/);
  });
});

describe("demo: the feeds' random walk", () => {
  it("moves an 8-decimal answer by at most the step, exactly, both ways", () => {
    const answer = 200_000_000_000n; // 2,000.00000000
    expect(nextAnswer(answer, 0, 30)).to.equal(199_400_000_000n); // −30 bps
    expect(nextAnswer(answer, 0.5, 30)).to.equal(answer);
    expect(nextAnswer(answer, 0.999999, 30)).to.equal(200_600_000_000n); // +30 bps
    expect(nextAnswer(1n, 0, 30)).to.equal(1n); // never down to zero
  });
});

/** Whether something still accepts connections on 127.0.0.1:`port` after a moment for a killed process to go. */
async function listening(port: number): Promise<boolean> {
  for (let i = 0; i < 10; i++) {
    if (!(await accepts(port))) return false;
    await new Promise((r) => setTimeout(r, 300));
  }
  return true;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** The node's, keeper's and page's ports and the temp dir, from the demo's output. */
function started(output: string): { nodePort: number; keeperPort: number; pagePort: number; dir: string } {
  const nodePort = Number(/node at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
  const keeperPort = Number(/keeper at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
  const pagePort = Number(/trading page is at http:\/\/127\.0\.0\.1:(\d+)\//.exec(output)?.[1]);
  const dir = /demo: working in (\S+);/.exec(output)?.[1] ?? "";
  return { nodePort, keeperPort, pagePort, dir };
}

describe("npm run demo, as a child process", function () {
  this.timeout(480_000);
  const BIN = join(__dirname, "..", "..", "node_modules", ".bin");
  let demo: ManagedProcess | undefined;

  afterEach(async () => {
    await demo?.stop();
  });

  function startDemo(args: string[]): ManagedProcess {
    return spawnManaged("demo", join(BIN, "ts-node"), ["--transpile-only", "scripts/demo.ts", ...args]);
  }

  it("runs a 10 s market, passes every check against the chain, and stops everything it started", async () => {
    demo = startDemo(["--duration", "10", "--seed", "3"]);
    const code = await demo.exited;
    const output = demo.output();
    expect(code, output).to.equal(0);
    expect(output).to.match(/^all checks passed \(\d+\)$/m);
    expect(output).not.to.match(/✘/);
    const settled = Number(/fills +\d+ matched \(.*\): (\d+) settled/.exec(output)?.[1]);
    expect(settled, "some fills settled").to.be.greaterThan(0);
    const { nodePort, keeperPort, pagePort, dir } = started(output);
    expect(await listening(nodePort), "the node still listens").to.equal(false);
    expect(await listening(keeperPort), "the keeper still listens").to.equal(false);
    expect(pagePort, "the page's URL is printed").to.be.greaterThan(0);
    expect(await listening(pagePort), "the page still listens").to.equal(false);
    expect(dir).to.match(/crossbook-demo-/);
    expect(existsSync(dir), `${dir} is left`).to.equal(false);
  });

  it("stops the node and the keeper and removes its temp dir when interrupted with SIGINT", async () => {
    demo = startDemo(["--duration", "60"]);
    await demo.waitFor(/^demo: trading for/, 300_000); // setup is ~15 s on a quiet machine; a loaded CI box takes far longer
    await demo.waitFor(/orders \d+ ok/, 60_000); // a progress line: the bots are trading
    const { nodePort, keeperPort, pagePort, dir } = started(demo.output());
    expect(await accepts(nodePort)).to.equal(true);
    expect(await accepts(keeperPort)).to.equal(true);
    expect(existsSync(dir)).to.equal(true);
    // The page is served, with its configuration (the demo account's key included: a local chain) and the keeper behind /v1.
    const page = `http://127.0.0.1:${pagePort}`;
    expect(await (await fetch(`${page}/`)).text()).to.match(/<div id="app">/);
    const config = (await (await fetch(`${page}/config.json`)).json()) as { chainId: number; burner?: unknown };
    expect(config.chainId).to.equal(31337);
    expect(config.burner).to.have.property("privateKey");
    const served = (await (await fetch(`${page}/v1/markets`)).json()) as { markets: unknown[] };
    expect(served.markets).to.have.length(2);
    process.kill(demo.child.pid as number, "SIGINT");
    expect(await demo.exited).to.equal(130);
    expect(await listening(nodePort), "the node still listens").to.equal(false);
    expect(await listening(keeperPort), "the keeper still listens").to.equal(false);
    expect(await listening(pagePort), "the page still listens").to.equal(false);
    expect(existsSync(dir), `${dir} is left`).to.equal(false);
  });
});
