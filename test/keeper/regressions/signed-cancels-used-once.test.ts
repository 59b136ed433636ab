/**
 * Issue 13, finding 8: a signed `CancelAll` could be replayed. Its cut-off was computed at each
 * arrival — `min(issuedAt, now)` — so a message signed with a clock running ahead, replayed later in
 * its ±5 minute window, cancelled orders placed after the original arrived. Now a signed cancel is
 * used once (its hash remembered until it expires) and its cut-off is fixed at first arrival.
 *
 *   T     alice's cancel-all (issuedAt T+4 min) arrives: order A cancelled
 *   T+1   alice places order B
 *   T+2   the same message again → 409 CANCEL_REPLAYED, B still open
 */
import { expect } from "chai";
import { manualClock } from "../support";
import {
  cancelAllBody,
  cancelBody,
  http,
  newTrader,
  orderOf,
  signedBody,
  startKeeper,
  type Keeper,
} from "../api/support";

describe("regression (issue 13, finding 8): a signed cancel is used once", function () {
  let k: Keeper;
  const clock = manualClock();
  before(async () => {
    k = await startKeeper({ api: { clock: clock.now }, engine: { clock: clock.now } });
  });
  after(async () => {
    await k?.close();
  });

  it("does not let a replayed cancel-all reach orders placed after it first arrived", async () => {
    const alice = await newTrader(k.env);
    const place = async (priceTicks: bigint) =>
      (
        await http(
          k.api.url,
          "POST",
          "/v1/orders",
          await signedBody(k, alice, orderOf(alice, { isBuy: false, priceTicks })),
        )
      ).body.hash as string;
    const a = await place(300_000n);
    const message = await cancelAllBody(k, alice, 0n, BigInt(clock.now() + 240_000));
    const first = await http(k.api.url, "POST", "/v1/cancels/all", message);
    expect(first.status).to.equal(200);
    expect(first.body.cancelled).to.deep.equal([a]);
    clock.advance(60_000);
    const b = await place(300_100n);
    clock.advance(60_000);
    const replay = await http(k.api.url, "POST", "/v1/cancels/all", message);
    expect([replay.status, replay.body.error?.code]).to.deep.equal([409, "CANCEL_REPLAYED"]);
    expect(k.store.getOrder(b as `0x${string}`)?.status).to.equal("open");
  });

  it("refuses a replayed cancel of orders", async () => {
    const bob = await newTrader(k.env);
    const placed = await http(
      k.api.url,
      "POST",
      "/v1/orders",
      await signedBody(k, bob, orderOf(bob, { isBuy: true, priceTicks: 1_000n })),
    );
    const body = await cancelBody(k, bob, [placed.body.hash], BigInt(clock.now()));
    expect((await http(k.api.url, "POST", "/v1/cancels", body)).body.results[0].outcome).to.equal("cancelled");
    const replay = await http(k.api.url, "POST", "/v1/cancels", body);
    expect([replay.status, replay.body.error?.code]).to.deep.equal([409, "CANCEL_REPLAYED"]);
  });
});
