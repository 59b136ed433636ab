/**
 * Issue 13, the attack benchmark: a client flooding the keeper past one of its address's budgets
 * had every request parsed and answered with 429, as fast as it sent them, and the event loop spent
 * on that was the honest clients' latency. Now it gets one 429 (with `Retry-After`), and then none
 * of its connections is read until that time has passed; another address is served meanwhile. And
 * HTTP connections are capped per address, as the feed's are.
 *
 *   127.0.0.1: 200, 200, 429 (Retry-After: 1) → the next request waits, unanswered …
 *   127.0.0.2: 200 meanwhile
 *   clock + 1 s → 127.0.0.1's waiting request is read and answered 200 (its budget refilled)
 */
import { Agent, request } from "node:http";
import { expect } from "chai";
import { manualClock } from "../support";
import { startKeeper, type Keeper } from "../api/support";

interface Answer {
  status: number;
  retryAfter?: string;
}

function get(url: string, agent: Agent, path = "/v1/health"): Promise<Answer> {
  const u = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, agent }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string }));
    });
    req.on("error", reject);
    req.end();
  });
}

const agentFrom = (localAddress: string, maxSockets = 1) =>
  new Agent({ keepAlive: true, maxSockets, localAddress } as ConstructorParameters<typeof Agent>[0]);

describe("regression (issue 13, bench:attack): a flood is not read", function () {
  let k: Keeper | undefined;
  const agents: Agent[] = [];
  afterEach(async () => {
    for (const a of agents.splice(0)) a.destroy();
    await k?.close();
    k = undefined;
  });

  it("answers the first request over the address's budget with 429, then reads none of its until Retry-After", async () => {
    const clock = manualClock();
    k = await startKeeper({ limits: { perIpPerSecond: 2 }, api: { clock: clock.now } });
    const flooder = agentFrom("127.0.0.1");
    const other = agentFrom("127.0.0.2");
    agents.push(flooder, other);
    expect((await get(k.api.url, flooder)).status).to.equal(200);
    expect((await get(k.api.url, flooder)).status).to.equal(200);
    expect(await get(k.api.url, flooder)).to.deep.equal({ status: 429, retryAfter: "1" });
    let waiting: Answer | undefined;
    const next = get(k.api.url, flooder).then((a) => (waiting = a));
    // Another address is served while the flooder's request waits in its socket, unread (read
    // at once, it would have been refused: the clock has not moved, its budget is still spent).
    expect((await get(k.api.url, other)).status).to.equal(200);
    expect(waiting).to.equal(undefined);
    clock.advance(1000);
    expect(await next).to.deep.equal({ status: 200, retryAfter: undefined });
  });

  it("closes an HTTP connection beyond the address's cap", async () => {
    k = await startKeeper({ limits: { maxHttpConnectionsPerIp: 2 } });
    const three = agentFrom("127.0.0.3", 3);
    agents.push(three);
    // Three requests at once need three connections: the third is closed unanswered.
    const answers = await Promise.allSettled([0, 1, 2].map(() => get(k!.api.url, three, "/v1/health")));
    expect(answers.map((a) => a.status).sort()).to.deep.equal(["fulfilled", "fulfilled", "rejected"]);
    // Another address is not affected.
    const other = agentFrom("127.0.0.4");
    agents.push(other);
    expect((await get(k.api.url, other)).status).to.equal(200);
  });
});
