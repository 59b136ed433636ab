/**
 * The machine-readable descriptions of the API — OpenAPI 3.1 at `/v1/openapi.json`, AsyncAPI 3.0 at
 * `/v1/asyncapi.json` — against a real keeper: every registered route documented, every documented
 * route there, examples valid, and real answers and feed messages valid against the published JSON
 * Schemas, checked with a JSON Schema validator (ajv, draft 2020-12) as a client in another
 * language would, not with the zod schemas they were generated from.
 */
import { expect } from "chai";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import { hashOrder } from "@crossbook/sdk";
import { ROUTE_DOCS, openApiDocument, openApiPath } from "../../../keeper/src/api/openapi";
import { submitOrderBody } from "../../../keeper/src/api/schemas";
import {
  bearer,
  cancelAllBody,
  cancelBody,
  FeedClient,
  feedLogin,
  http,
  login,
  newTrader,
  orderOf,
  signedBody,
  startKeeper,
  type HttpAnswer,
  type Keeper,
  type Trader,
} from "./support";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A validator over one document: schemas by JSON pointer into it (so `#/components/...` refs resolve). */
function validatorOf(document: Json, id: string) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ ...document, $id: id });
  const cache = new Map<string, ValidateFunction>();
  return (pointer: string, value: unknown): string[] => {
    let validate = cache.get(pointer);
    if (validate === undefined) {
      validate = ajv.getSchema(`${id}#${pointer}`);
      if (validate === undefined) throw new Error(`no schema at ${pointer}`);
      cache.set(pointer, validate);
    }
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

const escape = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");

describe("keeper/api: OpenAPI and AsyncAPI documents", function () {
  this.timeout(120_000);
  let k: Keeper;
  let alice: Trader;
  let bob: Trader;
  let openApi: Json;
  let asyncApi: Json;
  let checkOpenApi: ReturnType<typeof validatorOf>;
  let checkAsyncApi: ReturnType<typeof validatorOf>;

  /** Checks a real answer against the document's schema for its route and status. */
  function expectDocumented(method: string, route: string, answer: HttpAnswer) {
    const operation = openApi.paths[openApiPath(route)]?.[method.toLowerCase()];
    expect(operation, `${method} ${route} in the document`).to.not.equal(undefined);
    const response = operation.responses[String(answer.status)];
    expect(response, `${method} ${route} answering ${answer.status} (${JSON.stringify(answer.body)})`).to.not.equal(
      undefined,
    );
    const pointer = `/paths/${escape(openApiPath(route))}/${method.toLowerCase()}/responses/${answer.status}/content/application~1json/schema`;
    expect(checkOpenApi(pointer, answer.body), `${method} ${route} ${answer.status}`).to.deep.equal([]);
  }

  before(async function () {
    k = await startKeeper();
    alice = await newTrader(k.env);
    bob = await newTrader(k.env);
    openApi = (await http(k.api.url, "GET", "/v1/openapi.json")).body;
    asyncApi = (await http(k.api.url, "GET", "/v1/asyncapi.json")).body;
    checkOpenApi = validatorOf(openApi, "openapi.json");
    checkAsyncApi = validatorOf(asyncApi, "asyncapi.json");
  });

  after(async function () {
    await k?.close();
  });

  it("documents every route the server registered, and only those", async function () {
    expect(openApi.openapi).to.equal("3.1.0");
    expect(openApi["x-undocumented"], "routes registered without a description").to.equal(undefined);
    const documented = Object.entries(openApi.paths as Json).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    const described = Object.keys(ROUTE_DOCS).map((key) => {
      const [method, url] = key.split(" ");
      return `${method} ${openApiPath(url)}`;
    });
    // A description of a route the server no longer has would be listed here and not served.
    expect(documented.sort()).to.deep.equal(described.sort());
    // Every documented operation answers as a route (never NOT_FOUND or METHOD_NOT_ALLOWED), and a
    // path the document does not have is not served.
    for (const key of documented) {
      const [method, path] = key.split(" ");
      if (path === "/v1/ws") continue; // a WebSocket upgrade: the feed test below uses it
      const concrete = path
        .replace("{hash}", `0x${"00".repeat(32)}`)
        .replace("{address}", alice.address)
        .replace("{marketId}", "1");
      const answer = await http(k.api.url, method, concrete, method === "POST" ? {} : undefined);
      expect(answer.body?.error?.code, key).to.not.be.oneOf(["NOT_FOUND", "METHOD_NOT_ALLOWED"]);
    }
    expect((await http(k.api.url, "GET", "/v1/orders")).body.error.code).to.equal("METHOD_NOT_ALLOWED");
    expect((await http(k.api.url, "GET", "/v1/nothing")).body.error.code).to.equal("NOT_FOUND");
  });

  it("lists a registered route without a description as undocumented, and takes one declared on the route", function () {
    const doc = openApiDocument(
      [
        { method: "GET", url: "/v1/mm/quotes" },
        {
          method: "POST",
          url: "/v1/mm/orders",
          doc: { summary: "a route of another module", body: submitOrderBody, responses: {}, errors: ["BAD_REQUEST"] },
        },
      ],
      { version: "test" },
    );
    expect(doc["x-undocumented"]).to.deep.equal(["GET /v1/mm/quotes"]);
    const post = (doc.paths as Json)["/v1/mm/orders"].post;
    expect(post.requestBody.content["application/json"].schema.properties).to.have.keys("order", "signature");
    expect(
      post.responses["400"].content["application/json"].schema.allOf[1].properties.error.properties.code.enum,
    ).to.include("BAD_REQUEST");
  });

  it("has examples that validate against their own schemas", function () {
    let examples = 0;
    for (const [name, schema] of Object.entries(openApi.components.schemas as Json)) {
      for (const example of schema.examples ?? []) {
        expect(checkOpenApi(`/components/schemas/${name}`, example), name).to.deep.equal([]);
        examples++;
      }
    }
    for (const [path, ops] of Object.entries(openApi.paths as Json)) {
      for (const [method, op] of Object.entries(ops as Json)) {
        for (const [status, response] of Object.entries(op.responses as Json)) {
          const example = response.content?.["application/json"]?.example;
          if (example === undefined) continue;
          const pointer = `/paths/${escape(path)}/${method}/responses/${status}/content/application~1json/schema`;
          expect(checkOpenApi(pointer, example), `${method} ${path} ${status}`).to.deep.equal([]);
          examples++;
        }
      }
    }
    expect(examples).to.be.greaterThan(20);
    // An example that is wrong is caught: the validator is not a rubber stamp.
    expect(checkOpenApi("/components/schemas/Trade", { fillId: "12" })).to.not.deep.equal([]);
  });

  it("describes what a real keeper answers: every success and the refusals, over HTTP", async function () {
    const ask = orderOf(alice, { isBuy: false, priceTicks: 200_000n, lots: 10n });
    const askHash = hashOrder({ order: ask, domain: k.env.sdkDomain });
    expectDocumented(
      "POST",
      "/v1/orders",
      await http(k.api.url, "POST", "/v1/orders", await signedBody(k, alice, ask)),
    );
    const bid = orderOf(bob, { isBuy: true, priceTicks: 200_000n, lots: 4n });
    const taken = await http(k.api.url, "POST", "/v1/orders", await signedBody(k, bob, bid));
    expect(taken.body.trades).to.have.length(1);
    expectDocumented("POST", "/v1/orders", taken);
    const token = await login(k, alice);
    const get = (path: string, headers: Record<string, string> = {}) =>
      http(k.api.url, "GET", path, undefined, headers);
    expectDocumented("GET", "/v1/orders/:hash", await get(`/v1/orders/${askHash}`, bearer(token)));
    expectDocumented(
      "GET",
      "/v1/accounts/:address/orders",
      await get(`/v1/accounts/${alice.address}/orders?status=all`, bearer(token)),
    );
    expectDocumented("GET", "/v1/markets", await get("/v1/markets"));
    expectDocumented("GET", "/v1/markets/:marketId", await get("/v1/markets/1"));
    expectDocumented("GET", "/v1/markets/:marketId/book", await get("/v1/markets/1/book"));
    expectDocumented("GET", "/v1/markets/:marketId/trades", await get("/v1/markets/1/trades"));
    expectDocumented("GET", "/v1/health", await get("/v1/health"));
    expectDocumented("GET", "/v1/ready", await get("/v1/ready"));
    expectDocumented("POST", "/v1/sessions/challenge", await http(k.api.url, "POST", "/v1/sessions/challenge", {}));
    expectDocumented(
      "POST",
      "/v1/cancels",
      await http(k.api.url, "POST", "/v1/cancels", await cancelBody(k, alice, [askHash])),
    );
    expectDocumented(
      "POST",
      "/v1/cancels/all",
      await http(k.api.url, "POST", "/v1/cancels/all", await cancelAllBody(k, bob)),
    );
    // Refusals: each answers with the error body and a code the route's status lists.
    expectDocumented("GET", "/v1/orders/:hash", await get(`/v1/orders/${askHash}`));
    expectDocumented(
      "GET",
      "/v1/accounts/:address/orders",
      await get(`/v1/accounts/${bob.address}/orders`, bearer(token)),
    );
    expectDocumented("GET", "/v1/markets/:marketId/book", await get("/v1/markets/9/book"));
    expectDocumented("GET", "/v1/markets/:marketId/trades", await get("/v1/markets/1/trades?limit=0"));
    expectDocumented("POST", "/v1/orders", await http(k.api.url, "POST", "/v1/orders", { order: {} }));
    expectDocumented(
      "POST",
      "/v1/orders",
      await http(
        k.api.url,
        "POST",
        "/v1/orders",
        await signedBody(k, alice, orderOf(alice, { isBuy: true, marketId: 9n })),
      ),
    );
    // A code the route does not list fails the check.
    const wrong = { status: 404, body: { error: { code: "FORBIDDEN", message: "x" } }, headers: new Headers() };
    expect(() => expectDocumented("GET", "/v1/markets/:marketId/book", wrong)).to.throw();
  });

  it("describes every message the feed sends and takes (AsyncAPI), checked on a real session", async function () {
    expect(asyncApi.asyncapi).to.equal("3.0.0");
    const messages = asyncApi.channels.feed.messages as Json;
    const sent = asyncApi.operations.send.messages.map((m: Json) => m.$ref.split("/").pop() as string);
    const received = asyncApi.operations.receive.messages.map((m: Json) => m.$ref.split("/").pop() as string);
    const matching = (names: string[], m: unknown) =>
      names.filter((n) => checkAsyncApi(`/channels/feed/messages/${n}/payload`, m).length === 0);

    const feed = await FeedClient.open(k.api.wsUrl);
    try {
      const requests: Json[] = [
        { op: "subscribe", channel: "book", marketId: "1" },
        { op: "subscribe", channel: "trades", marketId: "1" },
        { op: "subscribe", channel: "book", marketId: "9" },
      ];
      for (const r of requests) feed.send(r);
      await feedLogin(feed, k, bob);
      feed.send({ op: "subscribe", channel: "orders" });
      await feed.next((m) => m.type === "snapshot" && m.channel === "orders");
      const ask = orderOf(alice, { isBuy: false, priceTicks: 200_000n, lots: 3n });
      await http(k.api.url, "POST", "/v1/orders", await signedBody(k, alice, ask));
      await http(
        k.api.url,
        "POST",
        "/v1/orders",
        await signedBody(k, bob, orderOf(bob, { isBuy: true, priceTicks: 200_000n, lots: 3n })),
      );
      await feed.next((m) => m.type === "order" && m.update.event === "filled");
      await feed.next((m) => m.type === "trade");
      feed.send({ op: "unsubscribe", channel: "trades", marketId: "1" });
      feed.send({ op: "unsubscribe", channel: "orders" });
      feed.send("not json");
      await feed.next((m) => m.type === "unsubscribed" && m.channel === "orders");
      await feed.next((m) => m.type === "error" && m.code === "BAD_JSON");

      const kinds = new Set<string>();
      for (const m of feed.messages) {
        const names = matching(received, m);
        expect(names, JSON.stringify(m)).to.have.length(1);
        kinds.add(names[0]);
      }
      expect([...kinds].sort()).to.include.members([
        "bookSnapshot",
        "bookDelta",
        "tradesSnapshot",
        "trade",
        "ordersSnapshot",
        "order",
        "challenge",
        "login",
        "marketAck",
        "ordersAck",
        "error",
      ]);
      // What the client sent is described too, each by exactly one message.
      for (const r of [
        ...requests,
        { op: "challenge" },
        { op: "subscribe", channel: "orders" },
        { op: "login", token: "v1.x" },
      ]) {
        expect(matching(sent, r), JSON.stringify(r)).to.have.length(1);
      }
      expect(matching(sent, { op: "subscribe", channel: "candles" })).to.deep.equal([]);
      expect(Object.keys(messages)).to.have.length(sent.length + received.length);
    } finally {
      feed.close();
    }
  });
});
