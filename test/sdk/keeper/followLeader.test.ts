/**
 * The keeper client with several keepers (`keepers: [...]`): a write a follower refuses with
 * NOT_LEADER goes again to the leader it names, if that URL is one of the configured keepers, and
 * later requests go there directly; a leader outside the list is never followed
 * (KEEPER_UNTRUSTED_LEADER); a client of one keeper passes NOT_LEADER through unchanged.
 */
import { expect } from "chai";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  KeeperApiError,
  KeeperRequestError,
  createKeeperClient,
  hashOrder,
  signOrder,
  type Order,
} from "@crossbook/sdk";
import { FakeKeeper, expectRejection, json, type Handler } from "./fakeKeeper";

const domain = { chainId: 31337, verifyingContract: "0x00000000000000000000000000000000000c0ffe" } as const;
const account = privateKeyToAccount(generatePrivateKey());
const order: Order = {
  maker: account.address,
  marketId: 1n,
  isBuy: true,
  flags: 0n,
  maxFeeBps: 10n,
  expiry: 4_102_444_800n,
  nonce: 1n,
  priceTicks: 100n,
  lots: 5n,
};
const hash = hashOrder({ order, domain });

/** A follower: every POST is NOT_LEADER naming `leader`. */
const follower =
  (leader: string): Handler =>
  (_req, res) =>
    json(
      res,
      503,
      { error: { code: "NOT_LEADER", message: "this keeper follows", details: { leader, term: 7 } } },
      { "retry-after": "1" },
    );

/** A leader: every POST /v1/orders is accepted. */
const leading: Handler = (_req, res) =>
  json(res, 201, { hash, status: "open", filledLots: "0", remainingLots: "5", trades: [] });

describe("sdk/keeper: client with several keepers follows NOT_LEADER to a configured leader", function () {
  let a: FakeKeeper;
  let b: FakeKeeper;
  beforeEach(async () => {
    a = await FakeKeeper.start();
    b = await FakeKeeper.start();
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it("sends order entry again to the leader the follower names, and goes there from then on", async () => {
    a.handler = follower(`${b.url}/`); // a trailing slash names the same keeper
    b.handler = leading;
    const client = createKeeperClient({ keepers: [a.url, b.url], domain });
    expect(client.url).to.equal(a.url);
    const signature = await signOrder({ signer: account, order, domain });
    const placed = await client.submitOrder({ order, signature });
    expect(placed).to.deep.include({ hash, status: "open" });
    expect(a.requests.map((r) => r.url)).to.deep.equal(["/v1/orders"]);
    expect(b.requests.map((r) => r.url)).to.deep.equal(["/v1/orders"]);
    expect(b.requests[0].body).to.equal(a.requests[0].body); // the same signed order, unchanged
    expect(client.url).to.equal(b.url);

    await client.submitOrder({ order: { ...order, nonce: 2n }, signature });
    expect(a.requests).to.have.length(1);
    expect(b.requests).to.have.length(2);
  });

  it("never follows a leader that is not among the configured keepers: KEEPER_UNTRUSTED_LEADER", async () => {
    a.handler = follower("http://attacker.example:8080");
    const client = createKeeperClient({ keepers: [a.url, b.url], domain });
    const signature = await signOrder({ signer: account, order, domain });
    const error = await expectRejection(client.submitOrder({ order, signature }));
    expect(error).to.be.instanceOf(KeeperRequestError);
    expect(error.code).to.equal("KEEPER_UNTRUSTED_LEADER");
    expect(error.details).to.deep.include({ leader: "http://attacker.example:8080", term: 7 });
    expect(b.requests).to.have.length(0);
    expect(client.url).to.equal(a.url);
  });

  it("stops after one try per keeper when the keepers name each other (no leader yet)", async () => {
    a.handler = follower(b.url);
    b.handler = follower(a.url);
    const client = createKeeperClient({ keepers: [a.url, b.url], domain });
    const signature = await signOrder({ signer: account, order, domain });
    const error = await expectRejection(client.submitOrder({ order, signature }));
    expect(error).to.be.instanceOf(KeeperApiError);
    expect(error.code).to.equal("NOT_LEADER");
    expect(a.requests.length + b.requests.length).to.be.at.most(3);
  });

  it("passes NOT_LEADER through unchanged for a client of one keeper", async () => {
    a.handler = follower(b.url);
    const client = createKeeperClient({ url: a.url, domain });
    const signature = await signOrder({ signer: account, order, domain });
    const error = await expectRejection(client.submitOrder({ order, signature }));
    expect(error).to.be.instanceOf(KeeperApiError);
    expect([error.code, (error as KeeperApiError).status]).to.deep.equal(["NOT_LEADER", 503]);
    expect(error.details).to.deep.equal({ leader: b.url, term: 7 });
    expect((error as KeeperApiError).retryAfterMs).to.equal(1000);
    expect(b.requests).to.have.length(0);
  });

  it("refuses an empty list and a URL of another scheme", () => {
    expect(() => createKeeperClient({ keepers: [], domain })).to.throw(KeeperRequestError, /at least one/);
    expect(() => createKeeperClient({ keepers: [a.url, "ftp://x"], domain })).to.throw(KeeperRequestError, /http/);
  });
});
