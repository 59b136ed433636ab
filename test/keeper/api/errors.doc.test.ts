/**
 * keeper/API.md's tables of error codes, order reasons and skip reasons, walked against what the
 * code defines and produces: every documented code is one the keeper can answer with (a producing
 * site in keeper/src, and a route or the feed that answers it), every code it can answer with is
 * documented under its one status, and the reasons a client reads are the ones the keeper writes.
 */
import { expect } from "chai";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  KEEPER_API_ERROR_CODES,
  KEEPER_CANCEL_REASONS,
  KEEPER_CANCEL_REASON_PREFIXES,
  SkipReason,
} from "@crossbook/sdk";
import { createPublicClient, custom } from "viem";
import { STATUS_OF } from "../../../keeper/src/api/errors";
import { ROUTE_DOCS, ROUTING_ERRORS, errorsOf } from "../../../keeper/src/api/openapi";
import { http, startKeeper } from "./support";

const ROOT = join(__dirname, "..", "..", "..");
const API_MD = readFileSync(join(ROOT, "keeper", "API.md"), "utf8");
const CODE = /`([A-Z][A-Z0-9_]+)`/g;

/** The rows of every markdown table in `text`, as cells (rule rows left out). */
function rows(text: string): string[][] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("|") && !/^\|[\s|:-]+\|$/.test(l))
    .map((l) =>
      l
        .slice(1, -1)
        .split("|")
        .map((c) => c.trim()),
    );
}

/** `code → status` as the status table gives them (a code listed twice fails). */
function documentedStatuses(): Map<string, number> {
  const statuses = new Map<string, number>();
  for (const [status, codes] of rows(API_MD).filter((r) => /^[1-5][0-9]{2}$/.test(r[0]) && r.length === 2)) {
    for (const [, code] of codes.matchAll(CODE)) {
      expect(statuses.has(code), `${code} listed under two statuses`).to.equal(false);
      statuses.set(code, Number(status));
    }
  }
  return statuses;
}

/** The feed's error codes, as the feed section lists them. */
function documentedFeedCodes(): string[] {
  const sentence = /for a bad message \(the connection stays open; codes:([^)]*)\)/.exec(API_MD.replace(/\n\s*/g, " "));
  expect(sentence, "the feed's list of error codes").to.not.equal(null);
  return [...sentence![1].matchAll(CODE)].map((m) => m[1]);
}

/** Every .ts file under `dir`, with its text. */
function sources(dir: string): { path: string; text: string }[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith(".ts") ? [{ path, text: readFileSync(path, "utf8") }] : [];
  });
}

describe("keeper/API.md: error codes, order reasons and skip reasons", function () {
  const statuses = documentedStatuses();
  const feedCodes = documentedFeedCodes();

  it("documents every code the SDK lists, and no other, each under the status the keeper answers it with", function () {
    expect(Object.fromEntries(statuses)).to.deep.equal({ ...STATUS_OF });
    const documented = new Set([...statuses.keys(), ...feedCodes]);
    expect([...documented].sort()).to.deep.equal([...KEEPER_API_ERROR_CODES].sort());
    // The feed-only codes have no HTTP status; the feed's others are HTTP codes too.
    expect(feedCodes.filter((c) => !statuses.has(c)).sort()).to.deep.equal(["BAD_LOGIN", "NOT_LOGGED_IN"]);
  });

  it("has every code answered by some route of the OpenAPI document, or by the router, or by the feed", function () {
    const answered = new Set<string>([...ROUTING_ERRORS, ...feedCodes]);
    for (const [key, doc] of Object.entries(ROUTE_DOCS))
      for (const c of errorsOf(key.split(" ")[0], doc)) answered.add(c);
    expect(KEEPER_API_ERROR_CODES.filter((c) => !answered.has(c))).to.deep.equal([]);
  });

  it("has a place in keeper/src that produces each code, and a test that expects it", function () {
    const keeper = sources(join(ROOT, "keeper", "src")).filter(
      // The tables that define codes and statuses are not where a code is produced.
      (f) => !/api[/\\](errors|openapi|responses)\.ts$|(risk|engine)[/\\]types\.ts$/.test(f.path),
    );
    const tests = sources(join(ROOT, "test"));
    const unproduced: string[] = [];
    const untested: string[] = [];
    for (const code of KEEPER_API_ERROR_CODES) {
      const producing = new RegExp(
        `(ApiError\\(\\s*|error\\(c, |code: |reject\\(|\\[|: |^\\s*)(RiskCode\\.|EngineCode\\.)?"?${code}"?\\s*[,)\\]]`,
        "m",
      );
      if (!keeper.some((f) => producing.test(f.text))) unproduced.push(code);
      if (!tests.some((f) => new RegExp(`["'.]${code}["'\\],)]`).test(f.text))) untested.push(code);
    }
    expect(unproduced, "codes with no producing site in keeper/src").to.deep.equal([]);
    expect(untested, "codes no test expects").to.deep.equal([]);
  });

  it("answers CHAIN_UNAVAILABLE when the chain cannot be read, and INTERNAL (with a request id, no stack) on a bug", async function () {
    this.timeout(120_000);
    const down = createPublicClient({
      transport: custom({
        request: async () => {
          throw new Error("the node is down");
        },
      }),
    });
    const k = await startKeeper({
      api: { chain: { client: down as never, exchange: "0x0000000000000000000000000000000000000001" } },
    });
    try {
      const markets = await http(k.api.url, "GET", "/v1/markets");
      expect([markets.status, markets.body.error.code]).to.deep.equal([503, "CHAIN_UNAVAILABLE"]);
      // A bug in a route: the store throws where it never should.
      Object.defineProperty(k.store, "committed", {
        get() {
          throw new Error("a bug");
        },
      });
      const trades = await http(k.api.url, "GET", "/v1/markets/1/trades");
      expect([trades.status, trades.body.error.code]).to.deep.equal([500, "INTERNAL"]);
      expect(trades.body.error.details.requestId).to.be.a("string");
      expect(JSON.stringify(trades.body)).to.not.contain("a bug");
    } finally {
      await k.close();
    }
  });

  it("lists the order reasons the SDK knows, and the keeper writes no other fixed reason", function () {
    const section = API_MD.slice(API_MD.indexOf("### Order reasons"), API_MD.indexOf("### Skip reasons"));
    const documented = rows(section)
      .map((r) => r[0])
      .flatMap((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]));
    const fixed = documented.filter((r) => !r.includes("<"));
    const prefixes = documented.filter((r) => r.includes("<")).map((r) => r.slice(0, r.indexOf("<")));
    expect(fixed.sort()).to.deep.equal([...KEEPER_CANCEL_REASONS].sort());
    expect(prefixes.sort()).to.deep.equal([...KEEPER_CANCEL_REASON_PREFIXES].sort());
    // The literal reasons the engine and the store cancel with: each documented, fixed or by its prefix.
    const written = [
      ...sources(join(ROOT, "keeper", "src", "engine")),
      ...sources(join(ROOT, "keeper", "src", "store")),
    ].flatMap((f) =>
      [
        ...f.text.matchAll(
          /(?:pull\([^;]*?|cancelOrder\([^;]*?|cancelLive\([^;]*?|"cancelled", |reason \?\? |reason = |reason: )["`]([a-zA-Z_-]+)(?:\$\{)?/g,
        ),
      ].map((m) => m[1]),
    );
    expect(written).to.include.members(["soft-cancel", "soft-cancel-all", "expired", "not-rested", "self-trade"]);
    const undocumented = written.filter(
      (r) =>
        !(KEEPER_CANCEL_REASONS as readonly string[]).includes(r) &&
        !KEEPER_CANCEL_REASON_PREFIXES.some((p) => r === p || `${r}-` === p || r.startsWith(p)),
    );
    expect([...new Set(undocumented)], "reasons keeper/src writes that API.md does not list").to.deep.equal([]);
  });

  it("maps every skip reason's number to its name as the Exchange emits them", function () {
    const section = API_MD.slice(API_MD.indexOf("### Skip reasons"), API_MD.indexOf("### Machine-readable"));
    const pairs = rows(section)
      .flatMap((r) => [
        [r[0], r[1]],
        [r[2], r[3]],
      ])
      .filter(([n]) => /^[0-9]+$/.test(n ?? ""))
      .map(([n, name]) => [Number(n), name.replace(/`/g, "")] as const);
    const expected = Object.entries(SkipReason)
      .filter(([, v]) => typeof v === "number" && v !== 0)
      .map(([name, v]) => [v as number, name] as const);
    expect([...pairs].sort((a, b) => a[0] - b[0])).to.deep.equal(expected.sort((a, b) => a[0] - b[0]));
  });
});
