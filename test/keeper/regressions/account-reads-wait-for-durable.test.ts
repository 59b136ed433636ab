/**
 * Issue 13, finding 9 ("GET reads show a match before it is durable"), on PostgreSQL: the
 * per-account reads answered from the store's working copy, which holds a commit a flush before
 * PostgreSQL does. A maker reading its order in that window saw a fill that a lost flush then
 * erased. Now such a read is answered once every commit it could show is durable, and `STOPPED` if
 * that commit failed.
 *
 *   alice's ask rests; the next flush is held; bob's bid takes 4 lots (in the working copy only)
 *     → alice reads her ask (by hash, by nonce, her open orders); the flush is refused
 *     → every read answers 503 STOPPED, never the fill PostgreSQL does not have
 */
import { expect } from "chai";
import { askAndTaker, bearer, http, login } from "../api/support";
import { keeperWithHeldFlushes, takeWithFlushHeld } from "./heldFlush";

describe("regression (issue 13, finding 9): a per-account read never shows what is not durable (postgres)", function () {
  this.timeout(60_000);
  const suite = keeperWithHeldFlushes();

  it("answers STOPPED, not the fill, when the flush that carries it is refused", async () => {
    const k = suite.keeper;
    const { maker: alice, ask, take } = await askAndTaker(k);
    const { hash } = ask;
    const session = bearer(await login(k, alice));
    const before = await http(k.api.url, "GET", `/v1/orders/${hash}`, undefined, session);
    expect([before.status, before.body.filledLots]).to.deep.equal([200, "0"]);
    const { held, taking } = await takeWithFlushHeld(suite, () => take(4n));
    const reads = [
      http(k.api.url, "GET", `/v1/orders/${hash}`, undefined, session),
      http(k.api.url, "GET", `/v1/accounts/${alice.address}/orders/by-nonce/${ask.order.nonce}`, undefined, session),
      http(k.api.url, "GET", `/v1/accounts/${alice.address}/orders?status=open`, undefined, session),
    ];
    held.refuse(new Error("the connection was lost"));
    const answers = await Promise.all(reads);
    expect(answers.map((a) => [a.status, a.body.error?.code])).to.deep.equal([
      [503, "STOPPED"],
      [503, "STOPPED"],
      [503, "STOPPED"],
    ]);
    expect((await taking).status).to.equal(503);
  });
});
