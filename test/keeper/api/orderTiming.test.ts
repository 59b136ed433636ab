/**
 * Where an order's time inside the keeper goes (`keeper/src/api/orderTiming.ts`): each answer to
 * `POST /v1/orders` says its stages in `Server-Timing`, and `crossbook_order_http_stage_seconds`
 * counts them by account known or not. The timing clock is injected: it moves 1 ms per read.
 */
import { expect } from "chai";
import { Agent, request } from "node:http";
import { OrderTimer } from "../../../keeper/src/api/orderTiming";
import { http, newTrader, orderOf, signedBody, startKeeper, type Keeper, type Trader } from "./support";

/** A clock that moves `step` ms each time it is read. */
const steppingClock = (step = 1) => {
  let now = 0;
  return () => (now += step);
};

describe("keeper/api: an order's stage timing", function () {
  it("counts each stage from the previous one's end, and the total from the arrival", () => {
    const times = [100, 100.5, 112.5, 113, 143];
    const timer = new OrderTimer(() => times.shift() as number);
    timer.mark("body");
    timer.mark("intake");
    timer.mark("prepare");
    timer.mark("engine");
    expect(timer.durations()).to.deep.equal([
      { stage: "body", ms: 0.5 },
      { stage: "intake", ms: 12 },
      { stage: "prepare", ms: 0.5 },
      { stage: "engine", ms: 30 },
      { stage: "total", ms: 43 },
    ]);
    expect(timer.serverTiming()).to.equal(
      "body;dur=0.5, intake;dur=12.0, prepare;dur=0.5, engine;dur=30.0, total;dur=43.0",
    );
    // The engine's parts of `engine` follow the total, and are not counted in it again.
    timer.note("queue", 20);
    timer.note("commit", 7.25);
    expect(timer.serverTiming()).to.equal(
      "body;dur=0.5, intake;dur=12.0, prepare;dur=0.5, engine;dur=30.0, total;dur=43.0, queue;dur=20.0, commit;dur=7.3",
    );
  });

  it("says the arrival's wall-clock time when it is given", () => {
    const times = [5, 7];
    const timer = new OrderTimer(() => times.shift() as number, 1_700_000_000_000.5);
    timer.mark("body");
    expect(timer.serverTiming()).to.equal('body;dur=2.0, total;dur=2.0, arrival;desc="1700000000000.5"');
  });

  it("says, for a connection's first request, the time from the connection's accept to the arrival", () => {
    const times = [5, 7];
    const timer = new OrderTimer(() => times.shift() as number, 1_700_000_000_000.5, 1.5);
    timer.mark("body");
    expect(timer.serverTiming()).to.equal(
      'body;dur=2.0, total;dur=2.0, accept;dur=3.5, arrival;desc="1700000000000.5"',
    );
  });

  describe("over HTTP", function () {
    let k: Keeper;
    let alice: Trader;

    before(async function () {
      k = await startKeeper({
        api: { timingClock: steppingClock() },
        // As the keeper does: the engine tells the API an order's parts of `engine`.
        engine: { onOrderStage: (stage, _maker, ms, hash) => k.api.orderStage(hash, stage, ms) },
      });
      alice = await newTrader(k.env);
    });

    after(async function () {
      await k?.close();
    });

    it("answers each order with its stages, and counts them by account known or not", async function () {
      const stageCounts = async () => {
        const text = (await http(k.api.url, "GET", "/metrics")).body as string;
        return [...text.matchAll(/^crossbook_order_http_stage_seconds_count\{([^}]*)\} (\d+)$/gm)]
          .map((m) => `${m[1]} ${m[2]}`)
          .sort();
      };
      const sell = async (priceTicks: bigint) => {
        const body = await signedBody(k, alice, orderOf(alice, { isBuy: false, lots: 1n, priceTicks }));
        const answer = await http(k.api.url, "POST", "/v1/orders", body);
        expect(answer.status, JSON.stringify(answer.body)).to.equal(201);
        return answer;
      };
      const first = await sell(200_000n);
      // One clock read per stage's end: 1 ms each; then the engine's parts, by its own clock.
      const timing = first.headers.get("server-timing") ?? "";
      expect(timing.slice(0, timing.indexOf(", queue"))).to.equal(
        "body;dur=1.0, intake;dur=1.0, prepare;dur=1.0, engine;dur=1.0, reply;dur=1.0, total;dur=5.0",
      );
      expect(timing.slice(timing.indexOf("queue"))).to.match(
        /^queue;dur=[\d.]+, check;dur=[\d.]+, commit;dur=[\d.]+(, accept;dur=[\d.]+)?$/,
      );
      await sell(200_001n);
      const stages = ["body", "engine", "intake", "prepare", "reply", "total", "write"];
      // The first order's maker was a stranger; once it was accepted, the keeper knows it.
      expect(await stageCounts()).to.deep.equal(
        stages.flatMap((s) => [`stage="${s}",account="known" 1`, `stage="${s}",account="unknown" 1`]),
      );
      // Other routes carry no timing.
      expect((await http(k.api.url, "GET", "/v1/markets")).headers.get("server-timing")).to.equal(null);
    });

    it("says the wait from the connection's accept on a connection's first request only", async function () {
      // One connection for both orders: the first request on it says `accept`, the second does not.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const post = (body: string) =>
        new Promise<{ status: number; timing: string; reused: boolean }>((resolve, reject) => {
          const url = new URL("/v1/orders", k.api.url);
          const req = request(
            {
              host: url.hostname,
              port: url.port,
              path: url.pathname,
              method: "POST",
              agent,
              headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
            },
            (res) => {
              res.resume();
              res.on("end", () =>
                resolve({
                  status: res.statusCode ?? 0,
                  timing: String(res.headers["server-timing"]),
                  reused: req.reusedSocket,
                }),
              );
            },
          );
          req.on("error", reject);
          req.end(body);
        });
      try {
        const sell = async (priceTicks: bigint) =>
          post(JSON.stringify(await signedBody(k, alice, orderOf(alice, { isBuy: false, lots: 1n, priceTicks }))));
        const first = await sell(200_002n);
        expect(first.status).to.equal(201);
        expect(first.reused).to.equal(false);
        // The stepping clock: read at the accept, then at the request's arrival, 1 ms apart.
        expect(first.timing).to.match(/, accept;dur=1\.0$/);
        const second = await sell(200_003n);
        expect(second.status).to.equal(201);
        expect(second.reused).to.equal(true);
        expect(second.timing).to.not.include("accept;");
      } finally {
        agent.destroy();
      }
    });
  });
});
