/**
 * A budget of node work for strangers: how many risk reads of accounts the keeper has no record of
 * (it never accepted an order of theirs, and never saw them deposit) may be under way at once. An attacker's fresh keys each cost a
 * dozen node calls that nothing cached answers; unbounded, they fill the node and the API's intake
 * with requests that wait on it, and honest orders wait behind them. Past the budget a stranger's
 * order is refused at once (`NodeBusyError`: `KEEPER_BUSY_FOR_NEW_ACCOUNTS`, `Retry-After: 1`); known accounts'
 * reads are never counted nor refused, so they go first.
 */

/** A stranger's risk read refused because the budget is spent: the order is refused, saying so. */
export class NodeBusyError extends Error {
  constructor(readonly limit: number) {
    super(
      `the keeper is already reading the chain for ${limit} orders of accounts it has no record of; ` +
        "try again in a second (accounts with an accepted order are not held to this)",
    );
    this.name = "NodeBusyError";
  }
}

/**
 * A stranger's order refused without a node read: no event since the Exchange's deployment can have
 * given its maker a balance (`CachedChainReads.neverCredited`), so it holds nothing to trade with.
 */
export class UncreditedAccountError extends Error {
  constructor(readonly account: string) {
    super(
      `${account} holds nothing on the Exchange: it never deposited, traded or received fees; ` +
        "deposit first (the keeper answers once it has read the deposit's block)",
    );
    this.name = "UncreditedAccountError";
  }
}

export class StrangerReadBudget {
  private inFlight = 0;

  /**
   * `limit`: stranger reads under way at once (0: no budget; the setting `maxStrangerReads`, 4 by
   * default: each read costs a dozen node calls, so four keep about fifty of theirs in the node's
   * queue at most, beside settlement's and the known accounts' few).
   */
  constructor(readonly limit: number) {}

  /** Reads under way for strangers now. */
  get active(): number {
    return this.inFlight;
  }

  /**
   * Runs `read` now: counted when `known` is false, and refused (`NodeBusyError`) past the budget.
   * A known account's read is `read`'s own promise (no wrapper: the risk read of an order whose facts
   * are all cached resolves at the next turn).
   */
  run<T>(known: boolean, read: () => Promise<T>): Promise<T> {
    if (known || this.limit === 0) return read();
    return this.counted(read);
  }

  private async counted<T>(read: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.limit) throw new NodeBusyError(this.limit);
    this.inFlight++;
    try {
      return await read();
    } finally {
      this.inFlight--;
    }
  }
}
