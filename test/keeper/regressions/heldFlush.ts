/**
 * Suites on a keeper over a fresh PostgreSQL whose next flush a test holds (issue 13, finding 9):
 * a match then sits committed in the keeper's working copy and not yet in PostgreSQL, the window in
 * which nothing may be shown that the shared database does not have.
 */
import type { PostgresDatabase } from "../../../keeper/src/store";
import { freshDatabase, holdNextQuery, type HeldQuery } from "../../helpers/postgres";
import { startKeeper, type FeedClient, type Keeper } from "../api/support";
import { until } from "../leader/support";

export interface HeldFlushSuite {
  keeper: Keeper;
  /** The flush held now (released after the suite, so that a held order's answer is out before the API closes). */
  held?: HeldQuery;
  /** A feed connection of the test's, closed after the suite. */
  feed?: FeedClient;
}

/** Starts the suite's keeper before its tests, and after them lets the held flush go and closes it all. */
export function keeperWithHeldFlushes(): HeldFlushSuite {
  const suite = {} as HeldFlushSuite;
  before(async () => {
    suite.keeper = await startKeeper({ location: await freshDatabase() });
  });
  after(async () => {
    suite.held?.release();
    suite.feed?.close();
    await suite.keeper?.store.durable().catch(() => undefined);
    await suite.keeper?.close().catch(() => undefined);
  });
  return suite;
}

/**
 * Holds the keeper's next flush and sends `take`'s order: resolves once its fill is in the working
 * copy (market 1), with the held flush and the order's answer still to come.
 */
export async function takeWithFlushHeld<T>(suite: HeldFlushSuite, take: () => Promise<T>) {
  const k = suite.keeper;
  await k.store.durable();
  const fillsBefore = k.store.committed.recentFills(1n, 1000).length;
  const held = (suite.held = holdNextQuery(k.store.database as PostgresDatabase));
  const taking = take();
  await until(
    "the fill in the working copy",
    async () => k.store.committed.recentFills(1n, 1000).length,
    (n) => n === fillsBefore + 1,
  );
  return { held, taking };
}
