/**
 * Reservations across shards: one account trading in two shards never has more reserved in total
 * than its balance. Each shard holds a **claim** per account and token in
 * `crossbook_cluster.claims` — an amount it may reserve locally without asking anyone — and keeps:
 *
 * - `claim ≥ what it reserves` for every account and token: an order that would reserve more than
 *   the claim raises it first (`cover`), inside the account's turn in the engine (an account's
 *   orders are checked and placed one at a time), before the order is placed;
 * - `Σ claims ≤ balance`: a raise (`crossbook_cluster.raise_claim`) locks the account and token
 *   (an advisory transaction lock), sums the other shards' claims and grants the raise only within
 *   `balance - others`; else the order is refused `INSUFFICIENT_BALANCE`. Nothing else ever raises
 *   a claim. It costs one PostgreSQL round trip, shared by every raise asked while the one before
 *   was in flight (`raise_claims`, see `raise`).
 * - A raise takes **headroom**: what the order needs plus `headroomPercent` of what is then still
 *   free (`balance - others - need`), computed under the same lock, so that an account's claim
 *   grows geometrically and its next orders need no round trip. That headroom is balance another
 *   shard cannot claim until this one lowers it (one hold after the raise); 0 asks for exactly
 *   what is needed.
 *
 * Claims are lowered lazily (`lower`, on a timer), never below what the shard reserved over the
 * last few seconds (fills that settle lower the balance only once every shard's cached balance
 * shows it) and never for an account whose order is being checked or placed. A crash leaves claims
 * too high, which refuses (never overcommits) until the shard's next leader takes them over at
 * promotion (`reset`: each at least what its books and unsettled fills reserve) and lowers them to
 * that after the hold. Every write is fenced with the shard's lease term
 * (`crossbook_fence`): a deposed leader can neither raise nor lower. Orders within the claim cost
 * nothing; an order beyond it costs one round trip. See keeper/README.md, "Shards".
 */
import { getAddress, type Address } from "viem";
import type pg from "pg";
import type { Logger } from "../log";
import type { Fact } from "../risk/fact";

/** Keyed by account and token, both lower-case. */
const keyOf = (account: string, token: string) => `${account.toLowerCase()}:${token.toLowerCase()}`;

/** Creates the claims table and its functions (idempotent; serialised with the directory's lock). */
export async function ensureClaims(client: pg.Client): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(7246874)"); // the cluster directory's lock
    await client.query("CREATE SCHEMA IF NOT EXISTS crossbook_cluster");
    await client.query(CLAIMS_SQL);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/**
 * The functions run in the caller's session, whose `search_path` is its shard's schema: the
 * unqualified `crossbook_fence` is that shard's own fence (its lease row, held FOR KEY SHARE until the
 * commit, so that a takeover waits for a claim write in flight and every later one of the old term fails).
 */
const CLAIMS_SQL = `
  CREATE TABLE IF NOT EXISTS crossbook_cluster.claims (
    account  TEXT NOT NULL,
    token    TEXT NOT NULL,
    shard    TEXT NOT NULL,
    amount   NUMERIC(78, 0) NOT NULL CHECK (amount > 0),
    PRIMARY KEY (account, token, shard)
  );
  -- What is free for shard p_shard (p_balance less the other shards' claims); when p_want fits, its
  -- claim raised to p_want plus p_headroom_pct percent of what is then still free (rounded down),
  -- unchanged otherwise. The caller compares p_want with the answer and computes the same grant.
  CREATE OR REPLACE FUNCTION crossbook_cluster.raise_claim(
    p_account TEXT, p_token TEXT, p_shard TEXT, p_want NUMERIC, p_balance NUMERIC, p_term BIGINT,
    p_headroom_pct INTEGER
  ) RETURNS NUMERIC LANGUAGE plpgsql AS $$
    DECLARE others NUMERIC;
    BEGIN
      PERFORM crossbook_fence(p_term);
      PERFORM pg_advisory_xact_lock(7246875, hashtext(p_account || ':' || p_token));
      SELECT COALESCE(SUM(amount), 0) INTO others FROM crossbook_cluster.claims
        WHERE account = p_account AND token = p_token AND shard <> p_shard;
      IF p_want <= p_balance - others THEN
        INSERT INTO crossbook_cluster.claims AS c (account, token, shard, amount)
          VALUES (p_account, p_token, p_shard,
                  p_want + div((p_balance - others - p_want) * GREATEST(LEAST(p_headroom_pct, 100), 0), 100))
          ON CONFLICT (account, token, shard) DO UPDATE SET amount = GREATEST(c.amount, excluded.amount);
      END IF;
      RETURN p_balance - others;
    END $$;
  -- raise_claim for several accounts and tokens in one transaction (the raises that waited for the
  -- shard's round trip before them), taken in the order of their locks, so that two shards' batches
  -- never wait for each other in a cycle; the answers in the order given.
  CREATE OR REPLACE FUNCTION crossbook_cluster.raise_claims(
    p_accounts TEXT[], p_tokens TEXT[], p_shard TEXT, p_wants NUMERIC[], p_balances NUMERIC[], p_term BIGINT,
    p_headroom_pct INTEGER
  ) RETURNS NUMERIC[] LANGUAGE plpgsql AS $$
    DECLARE
      frees NUMERIC[] := array_fill(NULL::NUMERIC, ARRAY[cardinality(p_accounts)]);
      r RECORD;
    BEGIN
      FOR r IN SELECT v.i FROM unnest(p_accounts, p_tokens) WITH ORDINALITY AS v(account, token, i)
               ORDER BY hashtext(v.account || ':' || v.token), v.i LOOP
        frees[r.i] := crossbook_cluster.raise_claim(p_accounts[r.i], p_tokens[r.i], p_shard, p_wants[r.i],
                                                    p_balances[r.i], p_term, p_headroom_pct);
      END LOOP;
      RETURN frees;
    END $$;
  -- Lowers shard p_shard's claims to the amounts given (never raises one); 0 removes the row.
  CREATE OR REPLACE FUNCTION crossbook_cluster.lower_claims(
    p_shard TEXT, p_accounts TEXT[], p_tokens TEXT[], p_amounts NUMERIC[], p_term BIGINT
  ) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM crossbook_fence(p_term);
      DELETE FROM crossbook_cluster.claims c USING unnest(p_accounts, p_tokens, p_amounts) AS v(account, token, amount)
        WHERE c.shard = p_shard AND c.account = v.account AND c.token = v.token AND v.amount = 0;
      UPDATE crossbook_cluster.claims c SET amount = v.amount
        FROM unnest(p_accounts, p_tokens, p_amounts) AS v(account, token, amount)
        WHERE c.shard = p_shard AND c.account = v.account AND c.token = v.token AND c.amount > v.amount;
    END $$;
  -- A new leader's claims: at least what its books and unsettled fills reserve (what the last
  -- leader left stays, and comes down through lower_claims after the hold).
  CREATE OR REPLACE FUNCTION crossbook_cluster.reset_claims(
    p_shard TEXT, p_accounts TEXT[], p_tokens TEXT[], p_amounts NUMERIC[], p_term BIGINT
  ) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM crossbook_fence(p_term);
      INSERT INTO crossbook_cluster.claims AS c (account, token, shard, amount)
        SELECT v.account, v.token, p_shard, v.amount
          FROM unnest(p_accounts, p_tokens, p_amounts) AS v(account, token, amount) WHERE v.amount > 0
        ON CONFLICT (account, token, shard) DO UPDATE SET amount = GREATEST(c.amount, excluded.amount);
    END $$;
`;

/** A shard's claims as PostgreSQL holds them: account and token (lower-case) → amount. */
export async function readClaims(client: pg.Client, shard: string): Promise<Map<string, bigint>> {
  const rows = (
    await client.query("SELECT account, token, amount::text AS amount FROM crossbook_cluster.claims WHERE shard = $1", [
      shard,
    ])
  ).rows as { account: string; token: string; amount: string }[];
  return new Map(rows.map((r) => [keyOf(r.account, r.token), BigInt(r.amount)]));
}

/** The answer to `cover`: covered, or what was free for this shard (balance less the other shards' claims). */
export type Cover = { readonly ok: true } | { readonly ok: false; readonly free: bigint };

/** What an account reserves in this shard, by token (lower-case); undefined while it is about to change. */
export type ReservedBy = (account: Address) => ReadonlyMap<string, bigint> | undefined;

const COVERED: Cover = { ok: true };

/**
 * The most raises one round trip carries. Each holds an advisory lock until its transaction ends,
 * and PostgreSQL's lock table is shared and small (64 × `max_connections` by default): so the
 * batch's size does not rest on how many orders order entry lets in at once.
 */
export const MAX_RAISES_A_ROUND = 256;

/** A raise waiting for its round trip (`ShardClaims.raise`). */
interface WaitingRaise {
  readonly key: string;
  readonly account: Address;
  readonly token: Address;
  readonly total: bigint;
  readonly balance: bigint;
  readonly resolve: (cover: Cover) => void;
  readonly reject: (error: unknown) => void;
}

/** One shard leader's claims: its own connection (a raise never queues behind a flush), its term. */
export class ShardClaims {
  /** The claims this leader holds (account:token → amount, and the token lower-case), as it last wrote them. */
  private readonly held = new Map<string, { account: Address; token: Address; tokenKey: string; amount: bigint }>();
  /** The lease term the writes are fenced with; none while this keeper does not lead. */
  term: number | undefined;
  /** Round trips that raised claims (or tried to), for the measures: one for all the raises it carried. */
  raises = 0;
  /** Raises waiting for the round trip in flight (`raise`), sent together once it lands. */
  private waiting: WaitingRaise[] = [];
  /** Whether a round trip of raises is in flight. */
  private raising = false;

  /** What each held claim's account reserved at each lowering within the last `holdMs`. */
  private readonly recent = new Map<string, { at: number; amount: bigint }[]>();

  private constructor(
    private readonly client: pg.Client,
    readonly shard: string,
    private readonly log: Logger,
    private readonly holdMs: number,
    private readonly clock: () => number,
    private readonly headroomPercent: number,
  ) {}

  /**
   * Connects (`connect`: to the shard's URL, whose `search_path` is its schema). A claim comes down
   * only to the most its account reserved over the last `holdMs` (see `lower`). A raise takes
   * `headroomPercent` (0 ..= 100, 0 by default) of what is left free after the order's need.
   */
  static async open(
    connect: () => pg.Client,
    shard: string,
    log: Logger,
    options: { holdMs: number; clock?: () => number; headroomPercent?: number },
  ): Promise<ShardClaims> {
    const headroom = options.headroomPercent ?? 0;
    if (!Number.isInteger(headroom) || headroom < 0 || headroom > 100) {
      throw new RangeError(`claims: headroomPercent must be an integer from 0 to 100, not ${headroom}`);
    }
    const client = connect();
    await client.connect();
    await ensureClaims(client);
    return new ShardClaims(client, shard, log, options.holdMs, options.clock ?? Date.now, headroom);
  }

  /** What this leader may reserve of `token` for `account` without asking. */
  claimOf(account: Address, token: Address): bigint {
    return this.held.get(keyOf(account, token))?.amount ?? 0n;
  }

  /**
   * Makes the claim of `account` on `token` at least `total` (what the shard would reserve with the
   * order): at once when it is already, else with one round trip that raises it when `balance`
   * less the other shards' claims covers it, to `total` plus the headroom. The claim granted
   * counts as reserved now for `lower`: it stays for one hold. Call it inside the account's turn.
   * Answers at once (no promise) when the claim covers it already. Throws (or rejects) when
   * PostgreSQL cannot answer or this keeper no longer leads.
   */
  cover(account: Address, token: Address, total: bigint, balance: bigint): Fact<Cover> {
    const key = keyOf(account, token);
    const held = this.held.get(key);
    if (held !== undefined && total <= held.amount) return COVERED;
    if (total <= 0n) return COVERED;
    return this.raise(key, account, token, total, balance);
  }

  /**
   * `cover`'s round trip: raises the claim `key` (of `account` on `token`) to at least `total` if
   * `balance` allows. The claims connection runs one query at a time, so raises asked while one is
   * in flight wait for it and then go together, in one round trip (`raise_claims`): at a few
   * hundred raises a second (a shard's accounts all growing their orders) one at a time, each
   * waited 100–180 ms behind the others with its order's intake slot held (SCALING.md, fifteenth
   * pass).
   */
  private raise(key: string, account: Address, token: Address, total: bigint, balance: bigint): Promise<Cover> {
    if (this.term === undefined) return Promise.reject(this.notLeading());
    return new Promise<Cover>((resolve, reject) => {
      this.waiting.push({ key, account, token, total, balance, resolve, reject });
      if (!this.raising) void this.sendRaises();
    });
  }

  private notLeading(): Error {
    return new Error(`shard ${this.shard}: this keeper does not lead; no claim can be raised`);
  }

  /** Sends the waiting raises, up to `MAX_RAISES_A_ROUND` in one round trip, until none waits. */
  private async sendRaises(): Promise<void> {
    this.raising = true;
    try {
      while (this.waiting.length > 0) {
        const raises = this.waiting.splice(0, MAX_RAISES_A_ROUND);
        const term = this.term;
        if (term === undefined) {
          const error = this.notLeading();
          for (const r of raises) r.reject(error);
          continue;
        }
        this.raises++;
        let frees: string[];
        try {
          frees = await this.roundTrip(raises, term);
        } catch (error) {
          // The round trip is one transaction: what fails it (the fence of a lapsed term, a lost
          // connection) is the shard's, not one raise's, so every raise it carried fails with it.
          for (const r of raises) r.reject(error);
          continue;
        }
        raises.forEach((r, i) => r.resolve(this.raised(r, BigInt(frees[i]))));
      }
    } finally {
      this.raising = false;
    }
  }

  /**
   * One round trip for `raises`: what was free for each, in order. A raise alone goes as
   * `raise_claim` itself: a batch of one cost 1.1–1.6× as much in `scripts/bench-claims.ts`
   * (four pairs, taking turns).
   */
  private async roundTrip(raises: readonly WaitingRaise[], term: number): Promise<string[]> {
    const accounts = raises.map((r) => r.account.toLowerCase());
    const tokens = raises.map((r) => r.token.toLowerCase());
    const wants = raises.map((r) => r.total.toString());
    const balances = raises.map((r) => r.balance.toString());
    if (raises.length === 1) {
      const { rows } = await this.client.query(
        "SELECT crossbook_cluster.raise_claim($1, $2, $3, $4, $5, $6, $7)::text AS free",
        [accounts[0], tokens[0], this.shard, wants[0], balances[0], term, this.headroomPercent],
      );
      return [(rows[0] as { free: string }).free];
    }
    const { rows } = await this.client.query(
      "SELECT crossbook_cluster.raise_claims($1, $2, $3, $4::numeric[], $5::numeric[], $6, $7)::text[] AS frees",
      [accounts, tokens, this.shard, wants, balances, term, this.headroomPercent],
    );
    return (rows[0] as { frees: string[] }).frees;
  }

  /** What a raise answered: covered (the claim as `raise_claim` granted it), or what was free. */
  private raised(r: WaitingRaise, free: bigint): Cover {
    const { key, account, token, total } = r;
    if (total > free) return { ok: false, free };
    // What raise_claim granted (PostgreSQL keeps the higher of it and what it held).
    const granted = total + ((free - total) * BigInt(this.headroomPercent)) / 100n;
    const now = this.held.get(key);
    if (now === undefined || now.amount < granted) {
      this.held.set(key, { account, token, tokenKey: token.toLowerCase(), amount: granted });
    }
    if (granted > total) this.hold(key, this.clock(), granted);
    return COVERED;
  }

  /**
   * Notes that `amount` counts as reserved for `key` at `at`, and answers the most of what counted
   * within the last `holdMs`. A sample that the new one outlasts and does not undercut can never be
   * that most again: it is dropped (its object reused), so that an account whose reservation holds
   * still keeps one sample and costs no garbage at each lowering.
   */
  private hold(key: string, at: number, amount: bigint): bigint {
    let samples = this.recent.get(key);
    if (samples === undefined) this.recent.set(key, (samples = []));
    let most = amount;
    let kept = 0;
    let spare: { at: number; amount: bigint } | undefined;
    for (const sample of samples) {
      if (at - sample.at >= this.holdMs || (sample.at <= at && sample.amount <= amount)) {
        spare ??= sample;
        continue;
      }
      samples[kept++] = sample;
      if (sample.amount > most) most = sample.amount;
    }
    samples.length = kept;
    if (spare === undefined) samples.push({ at, amount });
    else {
      spare.at = at;
      spare.amount = amount;
      samples.push(spare);
    }
    return most;
  }

  /**
   * Lowers every claim above the most the shard reserved at the lowerings of the last `holdMs`
   * (`reservedBy`; an account it answers undefined for is left as it is). The hold is for fills
   * that settle: they lower the balance and the reservation together, and another shard whose cached
   * balance does not show the settlement yet must still count them in this shard's claim; so
   * `holdMs` is more than a shard's cached balance may lag the chain. The new amounts count here at
   * once, before PostgreSQL has them: a raise after this asks again, and PostgreSQL holds the
   * higher amount meanwhile. Returns how many claims were lowered.
   */
  async lower(reservedBy: ReservedBy): Promise<number> {
    const term = this.term;
    if (term === undefined) return 0;
    const accounts: string[] = [];
    const tokens: string[] = [];
    const amounts: string[] = [];
    const byAccount = new Map<Address, ReadonlyMap<string, bigint> | undefined>();
    const now = this.clock();
    for (const [key, held] of this.held) {
      if (!byAccount.has(held.account)) byAccount.set(held.account, reservedBy(held.account));
      const reserved = byAccount.get(held.account);
      if (reserved === undefined) continue;
      const amount = this.hold(key, now, reserved.get(held.tokenKey) ?? 0n);
      if (amount >= held.amount) continue;
      if (amount === 0n) {
        this.held.delete(key);
        this.recent.delete(key);
      } else this.held.set(key, { ...held, amount });
      accounts.push(held.account.toLowerCase());
      tokens.push(held.tokenKey);
      amounts.push(amount.toString());
    }
    if (accounts.length === 0) return 0;
    await this.client.query("SELECT crossbook_cluster.lower_claims($1, $2, $3, $4, $5)", [
      this.shard,
      accounts,
      tokens,
      amounts,
      term,
    ]);
    return accounts.length;
  }

  /**
   * A new leader's claims (term `term`): each at least what `reservations` says its account
   * reserves (every account with orders resting or fills unsettled in the shard), what the last
   * leader left kept as it is and held as if reserved now, so that `lower` brings each down to the
   * shard's reservation after the hold.
   */
  async reset(term: number, reservations: ReadonlyMap<Address, ReadonlyMap<string, bigint>>): Promise<void> {
    this.held.clear();
    this.recent.clear();
    const accounts: string[] = [];
    const tokens: string[] = [];
    const amounts: string[] = [];
    for (const [account, byToken] of reservations) {
      for (const [token, amount] of byToken) {
        if (amount <= 0n) continue;
        accounts.push(account.toLowerCase());
        tokens.push(token.toLowerCase());
        amounts.push(amount.toString());
      }
    }
    await this.client.query("SELECT crossbook_cluster.reset_claims($1, $2, $3, $4, $5)", [
      this.shard,
      accounts,
      tokens,
      amounts,
      term,
    ]);
    const now = this.clock();
    for (const [key, amount] of await readClaims(this.client, this.shard)) {
      const [account, token] = key.split(":");
      this.held.set(key, { account: getAddress(account), token: getAddress(token), tokenKey: token, amount });
      this.recent.set(key, [{ at: now, amount }]);
    }
    this.term = term;
    this.log.info(
      { shard: this.shard, term, claims: this.held.size },
      "claims taken over, at least what the books reserve",
    );
  }

  async end(): Promise<void> {
    this.term = undefined;
    await this.client.end().catch(() => {});
  }
}
