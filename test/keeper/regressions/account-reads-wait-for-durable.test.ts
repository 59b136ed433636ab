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
import type { PostgresDatabase } from "../../../keeper/src/store";
import { freshDatabase, holdNextQuery, type HeldQuery } from "../../helpers/postgres";
import { askAndTaker, bearer, http, login, startKeeper, type Keeper } from "../api/support";
import { until } from "../leader/support";

describe("regression (issue 13, finding 9): a per-account read never shows what is not durable (postgres)", function () {
  this.timeout(60_000);
  let k: Keeper;
  let held: HeldQuery | undefined;
  before(async () => {
    k = await startKeeper({ location: await freshDatabase() });
  });
  after(async () => {
    held?.release();
    await k?.store.durable().catch(() => undefined);
    await k?.close().catch(() => undefined);
  });

  it("answers STOPPED, not the fill, when the flush that carries it is refused", async () => {
    const { maker: alice, ask, take } = await askAndTaker(k);
    const { hash } = ask;
    const session = bearer(await login(k, alice));
    const before = await http(k.api.url, "GET", `/v1/orders/${hash}`, undefined, session);
    expect([before.status, before.body.filledLots]).to.deep.equal([200, "0"]);
    await k.store.durable();

    held = holdNextQuery(k.store.database as PostgresDatabase);
    const taking = take(4n);
    await until(
      "the fill in the working copy",
      async () => String(k.store.committed.getOrder(hash as never)?.filledLots),
      (lots) => lots === "4",
    );
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
