/**
 * The store's schema, as an ordered list of migrations. A migration is never edited once
 * released: a change to the schema is a new entry at the end. `version` counts up from 1.
 *
 * Quantities that are `uint64` (or wider) on-chain are TEXT decimal strings: SQLite's INTEGER is
 * a signed 64-bit number, which cannot hold 2^64-1. Timestamps are the caller's milliseconds.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "orders, fills, batches, meta",
    sql: `
      CREATE TABLE orders (
        hash            TEXT PRIMARY KEY,
        market          TEXT NOT NULL,
        account         TEXT NOT NULL,
        is_buy          INTEGER NOT NULL CHECK (is_buy IN (0, 1)),
        flags           TEXT NOT NULL,
        max_fee_bps     TEXT NOT NULL,
        expiry          TEXT NOT NULL,
        nonce           TEXT NOT NULL,
        price_ticks     TEXT NOT NULL,
        lots            TEXT NOT NULL,
        signature       TEXT NOT NULL,
        status          TEXT NOT NULL
                        CHECK (status IN ('open', 'partially-filled', 'filled', 'cancelled', 'rejected')),
        reason          TEXT,
        filled_lots     TEXT NOT NULL,
        seq             INTEGER,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX orders_live_by_market_seq ON orders (market, seq)
        WHERE status IN ('open', 'partially-filled');
      CREATE INDEX orders_by_account ON orders (account);

      CREATE TABLE batches (
        id                        INTEGER PRIMARY KEY AUTOINCREMENT,
        tx_hash                   TEXT NOT NULL UNIQUE,
        raw_tx                    TEXT,
        nonce                     TEXT NOT NULL,
        max_fee_per_gas           TEXT NOT NULL,
        max_priority_fee_per_gas  TEXT NOT NULL,
        status                    TEXT NOT NULL
                                  CHECK (status IN ('sent', 'mined', 'replaced', 'dropped', 'reverted')),
        block_number              TEXT,
        replaces                  INTEGER REFERENCES batches (id),
        created_at                INTEGER NOT NULL,
        updated_at                INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX batches_unfinished ON batches (status) WHERE status IN ('sent', 'replaced');

      CREATE TABLE fills (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        batch_id     INTEGER REFERENCES batches (id),
        market       TEXT NOT NULL,
        maker_hash   TEXT NOT NULL REFERENCES orders (hash),
        taker_hash   TEXT NOT NULL REFERENCES orders (hash),
        lots         TEXT NOT NULL,
        price_ticks  TEXT NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'settled', 'skipped')),
        skip_reason  TEXT,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        CHECK ((status = 'pending') = (batch_id IS NULL) OR status = 'skipped')
      ) STRICT;
      CREATE INDEX fills_by_status ON fills (status, id);
      CREATE INDEX fills_by_batch ON fills (batch_id);

      CREATE TABLE meta (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: "fills by order and by market",
    sql: `
      CREATE INDEX fills_by_maker ON fills (maker_hash);
      CREATE INDEX fills_by_taker ON fills (taker_hash);
      CREATE INDEX fills_by_market ON fills (market, id);
    `,
  },
  {
    version: 3,
    name: "live orders by account, orders by account and nonce",
    sql: `
      CREATE INDEX orders_live_by_account ON orders (account) WHERE status IN ('open', 'partially-filled');
      CREATE INDEX orders_by_account_nonce ON orders (account, nonce);
    `,
  },
  {
    version: 4,
    name: "refusals not stored; settled lots per order; fills by account; account pages; issue 13",
    sql: `
      DELETE FROM orders WHERE status = 'rejected';
      ALTER TABLE orders ADD COLUMN settled_lots TEXT NOT NULL DEFAULT '0';
      UPDATE orders SET settled_lots = (
        SELECT CAST(COALESCE(SUM(CAST(f.lots AS INTEGER)), 0) AS TEXT) FROM fills f
        WHERE f.status = 'settled' AND (f.maker_hash = orders.hash OR f.taker_hash = orders.hash)
      ) WHERE hash IN (SELECT maker_hash FROM fills WHERE status = 'settled' UNION SELECT taker_hash FROM fills WHERE status = 'settled');
      ALTER TABLE fills ADD COLUMN maker_account TEXT;
      ALTER TABLE fills ADD COLUMN taker_account TEXT;
      UPDATE fills SET
        maker_account = (SELECT account FROM orders WHERE hash = fills.maker_hash),
        taker_account = (SELECT account FROM orders WHERE hash = fills.taker_hash);
      DROP INDEX orders_by_account;
      DROP INDEX orders_live_by_account;
      CREATE INDEX orders_by_account_created ON orders (account, created_at, hash);
      CREATE INDEX orders_live_by_account_created ON orders (account, created_at, hash)
        WHERE status IN ('open', 'partially-filled');
      CREATE INDEX fills_open_by_maker_account ON fills (maker_account) WHERE status IN ('pending', 'sent');
      CREATE INDEX fills_open_by_taker_account ON fills (taker_account) WHERE status IN ('pending', 'sent');
    `,
  },
  {
    version: 5,
    name: "fills by account for the private fills channel; the fill a retry repeats; issue 16",
    sql: `
      ALTER TABLE fills ADD COLUMN retries INTEGER;
      CREATE INDEX fills_by_maker_account ON fills (maker_account, id);
      CREATE INDEX fills_by_taker_account ON fills (taker_account, id);
    `,
  },
  {
    version: 6,
    name: "each account's live orders kept in memory by the store, not indexed (issue 15)",
    sql: `
      DROP INDEX orders_live_by_account_created;
    `,
  },
];

/**
 * PostgreSQL's schema. It starts at version 4: the tables of SQLite's versions 1–4 in one step
 * (there was never a PostgreSQL store before them), with the same columns, so that the working
 * copy (SQLite) and the shared database hold the same rows. Integers are BIGINT (timestamps in
 * milliseconds do not fit INTEGER); on-chain quantities stay TEXT decimal strings. Version 5 is
 * PostgreSQL's own: the change revision every row carries (what a follower pulls), the leader
 * lease, and the fence every leader commit passes.
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 4,
    name: "orders, fills, batches, meta (SQLite's versions 1-4)",
    sql: `
      CREATE TABLE orders (
        hash            TEXT PRIMARY KEY,
        market          TEXT NOT NULL,
        account         TEXT NOT NULL,
        is_buy          INTEGER NOT NULL CHECK (is_buy IN (0, 1)),
        flags           TEXT NOT NULL,
        max_fee_bps     TEXT NOT NULL,
        expiry          TEXT NOT NULL,
        nonce           TEXT NOT NULL,
        price_ticks     TEXT NOT NULL,
        lots            TEXT NOT NULL,
        signature       TEXT NOT NULL,
        status          TEXT NOT NULL
                        CHECK (status IN ('open', 'partially-filled', 'filled', 'cancelled', 'rejected')),
        reason          TEXT,
        filled_lots     TEXT NOT NULL,
        seq             BIGINT,
        created_at      BIGINT NOT NULL,
        updated_at      BIGINT NOT NULL,
        settled_lots    TEXT NOT NULL DEFAULT '0'
      );
      CREATE INDEX orders_live_by_market_seq ON orders (market, seq) WHERE status IN ('open', 'partially-filled');
      CREATE INDEX orders_by_account_nonce ON orders (account, nonce);
      CREATE INDEX orders_by_account_created ON orders (account, created_at, hash);

      CREATE TABLE batches (
        id                        BIGINT PRIMARY KEY,
        tx_hash                   TEXT NOT NULL UNIQUE,
        raw_tx                    TEXT,
        nonce                     TEXT NOT NULL,
        max_fee_per_gas           TEXT NOT NULL,
        max_priority_fee_per_gas  TEXT NOT NULL,
        status                    TEXT NOT NULL
                                  CHECK (status IN ('sent', 'mined', 'replaced', 'dropped', 'reverted')),
        block_number              TEXT,
        replaces                  BIGINT REFERENCES batches (id),
        created_at                BIGINT NOT NULL,
        updated_at                BIGINT NOT NULL
      );

      CREATE TABLE fills (
        id             BIGINT PRIMARY KEY,
        batch_id       BIGINT REFERENCES batches (id),
        market         TEXT NOT NULL,
        maker_hash     TEXT NOT NULL REFERENCES orders (hash),
        taker_hash     TEXT NOT NULL REFERENCES orders (hash),
        lots           TEXT NOT NULL,
        price_ticks    TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'settled', 'skipped')),
        skip_reason    TEXT,
        created_at     BIGINT NOT NULL,
        updated_at     BIGINT NOT NULL,
        maker_account  TEXT,
        taker_account  TEXT,
        CHECK ((status = 'pending') = (batch_id IS NULL) OR status = 'skipped')
      );
      CREATE INDEX fills_by_batch ON fills (batch_id);

      CREATE TABLE meta (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: "change revisions, leader lease, fence",
    sql: `
      CREATE SEQUENCE crossbook_rev;
      CREATE FUNCTION crossbook_touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.rev := nextval('crossbook_rev'); RETURN NEW; END $$;
      ALTER TABLE orders ADD COLUMN rev BIGINT;
      ALTER TABLE batches ADD COLUMN rev BIGINT;
      ALTER TABLE fills ADD COLUMN rev BIGINT;
      ALTER TABLE meta ADD COLUMN rev BIGINT;
      CREATE TRIGGER orders_rev BEFORE INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION crossbook_touch();
      CREATE TRIGGER batches_rev BEFORE INSERT OR UPDATE ON batches FOR EACH ROW EXECUTE FUNCTION crossbook_touch();
      CREATE TRIGGER fills_rev BEFORE INSERT OR UPDATE ON fills FOR EACH ROW EXECUTE FUNCTION crossbook_touch();
      CREATE TRIGGER meta_rev BEFORE INSERT OR UPDATE ON meta FOR EACH ROW EXECUTE FUNCTION crossbook_touch();
      CREATE INDEX orders_by_rev ON orders (rev);
      CREATE INDEX batches_by_rev ON batches (rev);
      CREATE INDEX fills_by_rev ON fills (rev);
      CREATE INDEX meta_by_rev ON meta (rev);

      -- One row: who leads, under which term, until when (the server's clock decides expiry).
      CREATE TABLE leader_lease (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        term        BIGINT NOT NULL,
        holder      TEXT NOT NULL,
        url         TEXT NOT NULL,
        since       TIMESTAMPTZ NOT NULL,
        expires_at  TIMESTAMPTZ NOT NULL
      );
      -- Every leader commit starts with this: it fails unless the caller's term is still the
      -- lease's, and holds the lease row (FOR SHARE) until the commit, so that a takeover waits
      -- for a commit in flight and every later commit of the old term fails.
      CREATE FUNCTION crossbook_fence(t BIGINT) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM 1 FROM leader_lease WHERE id = 1 AND term = t FOR SHARE;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'crossbook fenced: term % no longer leads', t USING ERRCODE = 'CB001';
          END IF;
        END $$;
    `,
  },
  {
    version: 6,
    name: "SQLite's version 5: the fill a retry repeats, fills by account",
    sql: `
      ALTER TABLE fills ADD COLUMN retries BIGINT;
      CREATE INDEX fills_by_maker_account ON fills (maker_account, id);
      CREATE INDEX fills_by_taker_account ON fills (taker_account, id);
    `,
  },
  {
    version: 7,
    name: "the fence holds the lease row FOR KEY SHARE: a renewal never waits for a flush",
    sql: `
      -- A row lock FOR SHARE blocks every UPDATE of the row, the leader's own renewals included:
      -- under a stream of flushes a renewal waited behind fence after fence until the lease was
      -- nearly gone. FOR KEY SHARE blocks only an UPDATE that changes a key column. With the term
      -- made a key (the unique index), a takeover, which raises the term, still waits for every
      -- flush in flight and fences the old term after it; a renewal (expires_at) and the leader's
      -- URL do not wait.
      CREATE UNIQUE INDEX leader_lease_term ON leader_lease (term);
      CREATE OR REPLACE FUNCTION crossbook_fence(t BIGINT) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM 1 FROM leader_lease WHERE id = 1 AND term = t FOR KEY SHARE;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'crossbook fenced: term % no longer leads', t USING ERRCODE = 'CB001';
          END IF;
        END $$;
    `,
  },
];
